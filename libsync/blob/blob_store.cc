#include "ssb/blob_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "ssb/base64.h"
#include "ssb/files.h"
#include "ssb/keys.h"
#include "ssb/ref.h"

namespace ssb {
namespace {

Status Errno(const std::string& what, const std::string& path) {
  return ErrnoStatus(what, path, errno);
}

// Incremental sha256 with a temp file: the common path of Add and AddFile.
class BlobWriter {
 public:
  BlobWriter(const std::string& dir, uint64_t max)
      : path_(TempPathIn(dir)),
        fd_(::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)),
        open_errno_(errno),
        max_(max) {}
  ~BlobWriter() {
    fd_.reset();
    if (!committed_) ::unlink(path_.c_str());
  }
  Status opened() const { return fd_ ? Status::Ok() : ErrnoStatus("cannot create", path_, open_errno_); }
  Status Write(const uint8_t* data, size_t n) {
    size_ += n;
    if (size_ > max_) {
      return Status::LimitExceeded("blob is larger than the limit of " + std::to_string(max_) +
                                   " bytes");
    }
    hash_.Update(data, n);
    return WriteAll(fd_.get(), std::span(data, n), path_);
  }
  Result<std::string> Finish() {
    if (::fsync(fd_.get()) != 0) return Errno("cannot sync", path_);
    SSB_RETURN_IF_ERROR(fd_.Close(path_));
    return BlobIdFromDigest(hash_.Final());
  }
  const std::string& path() const { return path_; }
  void committed() { committed_ = true; }

 private:
  std::string path_;
  UniqueFd fd_;
  int open_errno_;
  uint64_t max_;
  uint64_t size_ = 0;
  Sha256Stream hash_;
  bool committed_ = false;
};

}  // namespace

Result<BlobStore> BlobStore::Open(const std::string& dir, const BlobStoreOptions& options) {
  CryptoInit();
  std::string root = dir + "/sha256";
  if (options.read_only) {
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0 && errno != ENOENT) return Errno("cannot open", dir);
    return BlobStore(dir, options);
  }
  SSB_RETURN_IF_ERROR(MakeDirs(root, 0755));
  if (::access(root.c_str(), W_OK) != 0) return Errno("cannot write to", root);
  // A writer killed mid-write leaves a temp file; no reader ever looks at those.
  if (DIR* d = ::opendir(root.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.' && IsTempName(e->d_name)) {
        ::unlink((root + "/" + e->d_name).c_str());
      }
    }
    ::closedir(d);
  }
  return BlobStore(dir, options);
}

std::string BlobStore::PathFor(std::string_view id) const {
  auto digest = ParseHashId(id, '&');
  if (!digest) return {};
  std::string hex = HexEncode(*digest);
  return dir_ + "/sha256/" + hex.substr(0, 2) + "/" + hex.substr(2);
}

Result<std::string> BlobStore::Commit(const std::string& tmp_path, const std::string& id) {
  std::string path = PathFor(id);
  std::string sub = path.substr(0, path.rfind('/'));
  SSB_RETURN_IF_ERROR(MakeDirs(sub, 0755));
  if (::rename(tmp_path.c_str(), path.c_str()) != 0) return Errno("cannot rename to", path);
  SSB_RETURN_IF_ERROR(SyncDir(sub));
  return id;
}

Result<std::string> BlobStore::Add(std::span<const uint8_t> bytes) {
  if (opt_.read_only) return Status::PermissionDenied("blob store " + dir_ + " is read-only");
  if (bytes.size() > opt_.max_size) {
    return Status::LimitExceeded("blob of " + std::to_string(bytes.size()) +
                                 " bytes is larger than the limit of " +
                                 std::to_string(opt_.max_size));
  }
  std::string id = BlobIdFromDigest(Sha256(bytes));
  if (Has(id)) return id;
  BlobWriter w(dir_ + "/sha256", opt_.max_size);
  SSB_RETURN_IF_ERROR(w.opened());
  SSB_RETURN_IF_ERROR(w.Write(bytes.data(), bytes.size()));
  auto got = w.Finish();
  if (!got.ok()) return got.status();
  auto out = Commit(w.path(), id);
  if (out.ok()) w.committed();
  return out;
}

Status BlobStore::AddExpecting(std::string_view id, std::span<const uint8_t> bytes) {
  if (!IsBlobId(id)) return Status::InvalidArgument("not a blob id: " + std::string(id));
  std::string actual = BlobIdFromDigest(Sha256(bytes));
  if (actual != id) {
    return Status::InvalidInput("blob bytes hash to " + actual + ", not " + std::string(id));
  }
  auto r = Add(bytes);
  return r.ok() ? Status::Ok() : r.status();
}

Result<std::string> BlobStore::AddFile(const std::string& path) {
  if (opt_.read_only) return Status::PermissionDenied("blob store " + dir_ + " is read-only");
  UniqueFd in(path == "-" ? ::dup(0) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) return Errno("cannot open", path);
  BlobWriter w(dir_ + "/sha256", opt_.max_size);
  SSB_RETURN_IF_ERROR(w.opened());
  std::vector<uint8_t> buf(64 * 1024);
  for (;;) {
    ssize_t n = ::read(in.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot read", path);
    }
    if (n == 0) break;
    SSB_RETURN_IF_ERROR(w.Write(buf.data(), static_cast<size_t>(n)));
  }
  auto id = w.Finish();
  if (!id.ok()) return id.status();
  if (Has(*id)) return id;
  auto out = Commit(w.path(), *id);
  if (out.ok()) w.committed();
  return out;
}

bool BlobStore::Has(std::string_view id) const {
  std::string p = PathFor(id);
  struct stat st;
  return !p.empty() && ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<uint64_t> BlobStore::Size(std::string_view id) const {
  std::string p = PathFor(id);
  if (p.empty()) return Status::InvalidArgument("not a blob id: " + std::string(id));
  struct stat st;
  if (::stat(p.c_str(), &st) != 0) return Status::NotFound("no blob " + std::string(id));
  return static_cast<uint64_t>(st.st_size);
}

Result<std::vector<uint8_t>> BlobStore::Get(std::string_view id) const {
  std::string p = PathFor(id);
  if (p.empty()) return Status::InvalidArgument("not a blob id: " + std::string(id));
  auto data = ReadFile(p);
  if (!data.ok()) {
    if (data.status().code() == Code::kNotFound) return Status::NotFound("no blob " + std::string(id));
    return data.status();
  }
  std::vector<uint8_t> bytes(data->begin(), data->end());
  if (BlobIdFromDigest(Sha256(bytes)) != id) {
    return Status::Corruption("blob file " + p + " does not match its id " + std::string(id));
  }
  return bytes;
}

Result<std::vector<std::string>> BlobStore::List() const {
  std::vector<std::string> ids;
  std::string root = dir_ + "/sha256";
  DIR* top = ::opendir(root.c_str());
  if (!top) {
    if (errno == ENOENT) return ids;
    return Errno("cannot list", root);
  }
  while (dirent* e = ::readdir(top)) {
    std::string prefix = e->d_name;
    if (prefix.size() != 2 || !HexDecode(prefix)) continue;
    DIR* sub = ::opendir((root + "/" + prefix).c_str());
    if (!sub) continue;
    while (dirent* f = ::readdir(sub)) {
      auto bytes = HexDecode(prefix + f->d_name);  // skips junk such as .DS_Store or temp files
      if (!bytes || bytes->size() != 32) continue;
      Sha256Digest d;
      std::copy(bytes->begin(), bytes->end(), d.begin());
      ids.push_back(BlobIdFromDigest(d));
    }
    ::closedir(sub);
  }
  ::closedir(top);
  std::sort(ids.begin(), ids.end());
  return ids;
}

Status BlobStore::Remove(std::string_view id) {
  std::string p = PathFor(id);
  if (p.empty()) return Status::InvalidArgument("not a blob id: " + std::string(id));
  if (::unlink(p.c_str()) != 0) {
    if (errno == ENOENT) return Status::NotFound("no blob " + std::string(id));
    return Errno("cannot remove", p);
  }
  return Status::Ok();
}

}  // namespace ssb
