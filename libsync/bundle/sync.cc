// Export and import of bundles (formats/bundle.md "Export", "Import").
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <set>

#include "ssb/base64.h"
#include "ssb/box.h"
#include "ssb/bundle_sync.h"
#include "ssb/files.h"
#include "ssb/message.h"
#include "ssb/ref.h"

namespace ssb {
namespace {

constexpr size_t kRecordOverhead = 5;

// Blob ids mentioned anywhere in a message's JSON text.
void BlobRefs(std::string_view text, std::vector<std::string>* out) {
  for (size_t i = text.find('&'); i != std::string_view::npos; i = text.find('&', i + 1)) {
    if (i + 52 <= text.size() && IsStrictBlobId(text.substr(i, 52))) out->emplace_back(text.substr(i, 52));
  }
}

// An upper bound of the file size of a part with `body` uncompressed bytes and `ranges` ranges.
uint64_t PartBound(uint64_t body, size_t ranges, size_t blobs) {
  return 12 + 64 + 1024 + 400 * (ranges + 1) + 120 * blobs + body + body / 128 + 1024 + 56;
}

struct PartPlan {
  BundleHeader header;
};

class Planner {
 public:
  Planner(const ExportOptions& o, const std::string& exporter) : opt_(o) {
    Start();
    exporter_ = exporter;
  }

  // Adds a message of `author` at `seq`; starts a new part when this one is full.
  void AddMessage(const std::string& author, int64_t seq, const std::string& key,
                  const std::string& previous, std::string_view text) {
    uint64_t cost = kRecordOverhead + text.size();
    if (opt_.max_part && cur_.header.records > 0 &&
        PartBound(cur_.header.body_bytes + cost, cur_.header.ranges.size(), 0) > opt_.max_part) {
      CloseRange();
      Finish();
      Start();
    }
    if (!open_ || cur_.header.ranges.back().author != author) {
      CloseRange();
      BundleRange r;
      r.author = author;
      r.first = seq;
      r.previous = previous;
      cur_.header.ranges.push_back(r);
      hasher_ = RangeHasher();
      open_ = true;
    }
    BundleRange& r = cur_.header.ranges.back();
    r.last = seq;
    r.last_id = key;
    hasher_.Add(text);
    cur_.header.body_bytes += cost;
    cur_.header.records++;
  }

  void EndFeed() { CloseRange(); }

  void AddBlob(const std::string& id, uint64_t size) {
    uint64_t cost = kRecordOverhead + 32 + size;
    CloseRange();
    if (opt_.max_part && cur_.header.records > 0 &&
        PartBound(cur_.header.body_bytes + cost, cur_.header.ranges.size(),
                  cur_.header.blobs.size() + 1) > opt_.max_part) {
      Finish();
      Start();
    }
    cur_.header.blobs.push_back({id, size});
    cur_.header.body_bytes += cost;
    cur_.header.records++;
  }

  std::vector<PartPlan> Done() {
    CloseRange();
    if (cur_.header.records > 0) Finish();
    // The set id names this export: the same selection gives the same id (and bytes).
    std::string all;
    for (const auto& p : parts_) all += BundleHeaderSigningJson(p.header);
    std::string set = HexEncode(Sha256(std::span(reinterpret_cast<const uint8_t*>(all.data()), all.size())));
    uint32_t n = 0;
    for (auto& p : parts_) {
      p.header.set = set;
      p.header.part = ++n;
    }
    return std::move(parts_);
  }

 private:
  void Start() {
    cur_ = PartPlan();
    cur_.header.network = opt_.network;
    cur_.header.sign_key = opt_.sign_key;
    cur_.header.exporter = exporter_;
    open_ = false;
  }
  void CloseRange() {
    if (open_) cur_.header.ranges.back().sha256 = hasher_.FinishHex();
    open_ = false;
  }
  void Finish() { parts_.push_back(std::move(cur_)); }

  const ExportOptions& opt_;
  std::string exporter_;
  PartPlan cur_;
  bool open_ = false;
  RangeHasher hasher_;
  std::vector<PartPlan> parts_;
};

// Writes one planned part to fd, reading its messages from the store again.
Status WritePart(Store& store, BlobStore* blobs, const Keypair& exporter, const PartPlan& plan,
                 int level, int fd, uint64_t* written,
                 const std::function<void(uint64_t)>& tick) {
  auto w = BundleWriter::Start(fd, plan.header, exporter, level);
  if (!w.ok()) return w.status();
  for (const BundleRange& r : plan.header.ranges) {
    HistoryQuery q;
    q.author = r.author;
    q.start_seq = r.first;
    q.limit = r.count();
    Status inner;
    int64_t expect = r.first;
    SSB_RETURN_IF_ERROR(store.History(q, [&](const StoredMessage& m) {
      if (m.sequence != expect++) {
        inner = Status::Corruption("store changed during export: " + r.author);
        return false;
      }
      inner = (*w)->AddMessage(m.value_json);
      if (tick) tick(1);
      return inner.ok();
    }));
    SSB_RETURN_IF_ERROR(inner);
  }
  for (const BundleBlob& b : plan.header.blobs) {
    auto bytes = blobs->Get(b.id);
    if (!bytes.ok()) return bytes.status();
    SSB_RETURN_IF_ERROR((*w)->AddBlob(b.id, *bytes));
    if (tick) tick(1);
  }
  SSB_RETURN_IF_ERROR((*w)->Finish());
  *written += (*w)->bytes_written();
  return Status::Ok();
}

Status CheckFreeSpace(int dirfd, const std::string& dir, uint64_t need) {
  struct statvfs vfs;
  if (::fstatvfs(dirfd, &vfs) != 0) return Status::Ok();  // unknown: the write will tell
  uint64_t avail = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (avail < need) {
    return Status::NoSpace("not enough space in " + dir + ": need about " + std::to_string(need) +
                           " bytes, " + std::to_string(avail) + " available");
  }
  return Status::Ok();
}

}  // namespace

Result<ExportResult> ExportBundle(Store& store, BlobStore* blobs, const Keypair& exporter,
                                  const ExportOptions& opt, const std::string& out) {
  std::vector<std::string> authors;
  if (opt.all) {
    auto feeds = store.Feeds();
    if (!feeds.ok()) return feeds.status();
    for (const auto& f : *feeds) authors.push_back(f.author);
  } else {
    for (const auto& f : opt.feeds) {
      if (!IsFeedId(f)) return Status::InvalidArgument("not a feed id: " + f);
      authors.push_back(f);
    }
  }
  std::sort(authors.begin(), authors.end());
  authors.erase(std::unique(authors.begin(), authors.end()), authors.end());

  Planner planner(opt, exporter.id());
  ExportResult result;
  std::vector<std::string> own_refs, other_refs;
  for (const std::string& author : authors) {
    auto latest = store.Latest(author);
    if (!latest.ok()) return latest.status();
    if (!latest->has_value()) continue;
    int64_t from = 1;
    if (auto it = opt.since.find(author); it != opt.since.end()) from = std::max<int64_t>(1, it->second + 1);
    if (from > (*latest)->sequence) continue;
    std::string previous;
    if (from > 1) {
      auto prev = store.History(HistoryQuery{author, from - 1, 1, false});
      if (!prev.ok()) return prev.status();
      if (prev->empty()) return Status::Corruption("store lacks " + author + " at " + std::to_string(from - 1));
      previous = prev->front().key;
    }
    HistoryQuery q;
    q.author = author;
    q.start_seq = from;
    q.limit = (*latest)->sequence - from + 1;
    auto& refs = author == exporter.id() ? own_refs : other_refs;
    SSB_RETURN_IF_ERROR(store.History(q, [&](const StoredMessage& m) {
      planner.AddMessage(author, m.sequence, m.key, previous, m.value_json);
      previous = m.key;
      BlobRefs(m.value_json, &refs);
      ++result.messages;
      return true;
    }));
    planner.EndFeed();
  }
  // Blobs under the budget (formats/bundle.md "Export"): those a receiver asked for, in the
  // order its want file lists them; then those our own exported messages reference; then those
  // the other exported messages reference, each in order of first reference. A blob that does
  // not fit is skipped; one we do not hold is not shipped.
  if (blobs) {
    std::set<std::string> seen;
    uint64_t used = 0;
    const std::vector<std::string>* lists[] = {&opt.wanted_blobs, &own_refs, &other_refs};
    for (const auto* list : lists) {
      for (const auto& id : *list) {
        // A receiver's list is untrusted: "&…=Xsha256" names a blob we hold, but a bundle header
        // listing it under that spelling would be refused by every reader.
        if (!IsStrictBlobId(id) || !seen.insert(id).second) continue;
        auto size = blobs->Size(id);
        if (!size.ok() || used + *size > opt.blob_budget) continue;
        used += *size;
        planner.AddBlob(id, *size);
        ++result.blobs;
        if (list == &opt.wanted_blobs) ++result.wanted_blobs;
      }
    }
  }
  std::vector<PartPlan> parts = planner.Done();
  for (const auto& p : parts) {
    result.parts.push_back(p.header);
    result.body_bytes += p.header.body_bytes;
  }
  if (parts.empty() || opt.dry_run) return result;
  if (out == "-" && parts.size() > 1) {
    return Status::InvalidArgument("a split export (--max-part) cannot go to standard output");
  }
  uint64_t total_records = 0, done = 0;
  for (const auto& p : parts) total_records += p.header.records;
  auto tick = [&](uint64_t n) {
    done += n;
    if (opt.progress && (done % 1024 == 0 || done == total_records)) opt.progress(done, total_records);
  };
  if (out == "-") {
    SSB_RETURN_IF_ERROR(WritePart(store, blobs, exporter, parts[0], opt.level, 1, &result.bytes, tick));
    return result;
  }
  // Every file is made inside one directory descriptor, without following links: on a stick
  // (opt.out_dir_fd) a planted symlink must never send our bundle, or its deletion, elsewhere.
  std::string dir, base;
  UniqueFd own_dir;
  int dirfd = opt.out_dir_fd;
  if (dirfd >= 0) {
    dir = opt.out_dir_name;
    base = out;
  } else {
    dir = DirName(out);
    base = out.substr(out.rfind('/') == std::string::npos ? 0 : out.rfind('/') + 1);
    own_dir.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!own_dir) return ErrnoStatus("cannot open directory", dir, errno);
    dirfd = own_dir.get();
  }
  SSB_RETURN_IF_ERROR(CheckFreeSpace(dirfd, dir, PartBound(result.body_bytes, 0, 0) / 2));
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string name = parts.size() == 1 ? base : base + ".part" + std::to_string(i + 1);
    std::string tmp = TempPathFor(name);
    std::string shown = dir + "/" + name, shown_tmp = dir + "/" + tmp;
    UniqueFd fd(::openat(dirfd, tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!fd) return ErrnoStatus("cannot create", shown_tmp, errno);
    Status st = WritePart(store, blobs, exporter, parts[i], opt.level, fd.get(), &result.bytes, tick);
    if (st.ok() && ::fsync(fd.get()) != 0) st = ErrnoStatus("cannot sync", shown_tmp, errno);
    if (st.ok() && opt.verify_after_write) {
      // Read the part back from the medium before it gets its real name.
      auto r = BundleReader::OpenFd(fd.get(), shown_tmp);
      if (!r.ok()) st = r.status();
      while (st.ok()) {
        auto rec = (*r)->Next();
        if (!rec.ok()) st = Status::IoError("read-back of " + shown_tmp + " failed: " + rec.status().message());
        else if (!rec->has_value()) break;
      }
    }
    if (st.ok()) st = fd.Close(shown_tmp);
    fd.reset();
    if (st.ok() && ::renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) != 0) {
      st = ErrnoStatus("cannot rename to", shown, errno);
    }
    if (!st.ok()) {
      ::unlinkat(dirfd, tmp.c_str(), 0);
      return st;
    }
    if (::fsync(dirfd) != 0 && errno != EINVAL && errno != ENOTSUP) {
      return ErrnoStatus("cannot sync directory", dir, errno);
    }
    result.files.push_back(opt.out_dir_fd >= 0 ? name
                           : parts.size() == 1 ? out
                                               : out + ".part" + std::to_string(i + 1));
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Import is in import.cc.

Result<std::vector<ImportReport>> ImportPending(Store& store, BlobStore* blobs,
                                                const ImportOptions& opt) {
  std::vector<ImportReport> reports;
  if (opt.pending_dir.empty()) return reports;
  // Applying one part can unblock another: repeat until a round changes nothing.
  for (bool progress = true; progress;) {
    progress = false;
    std::vector<std::string> files;
    if (DIR* d = ::opendir(opt.pending_dir.c_str())) {
      while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n.size() > 11 && n.compare(n.size() - 11, 11, ".ssb-bundle") == 0) files.push_back(opt.pending_dir + "/" + n);
      }
      ::closedir(d);
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      ImportOptions o = opt;
      o.pending_dir.clear();  // already kept
      auto r = ImportBundle(store, blobs, f, o);
      if (!r.ok()) continue;  // damaged copies stay for inspection; they never apply
      if (r->changed()) progress = true;
      if (!r->pending) ::unlink(f.c_str());
      reports.push_back(std::move(r).value());
    }
  }
  return reports;
}

}  // namespace ssb
