#include "ssb/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

namespace ssb {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Status UniqueFd::Close(std::string_view name) {
  if (fd_ < 0) return Status::Ok();
  int fd = release();
  // Linux releases the descriptor even when close reports EINTR: never retry.
  if (::close(fd) != 0 && errno != EINTR) return ErrnoStatus("cannot close", name, errno);
  return Status::Ok();
}

Status ErrnoStatus(std::string_view what, std::string_view path, int err) {
  std::string msg(what);
  if (!path.empty()) {
    msg += ' ';
    msg += path;
  }
  msg += ": ";
  msg += std::strerror(err);
  switch (err) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG: return Status::NoSpace(std::move(msg));
    case ENOENT: return Status::NotFound(std::move(msg));
    case EACCES:
    case EPERM:
    case EROFS: return Status::PermissionDenied(std::move(msg));
    default: return Status::IoError(std::move(msg));
  }
}

Status WriteAll(int fd, std::span<const uint8_t> data, std::string_view name) {
  const uint8_t* p = data.data();
  size_t n = data.size();
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("cannot write", name, errno);
    }
    if (w == 0) return ErrnoStatus("cannot write", name, EIO);
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

Status WriteAll(int fd, std::string_view data, std::string_view name) {
  return WriteAll(fd, std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()), name);
}

namespace {

std::string TempSuffix() {
  static std::atomic<uint64_t> counter{0};
  // Random per process: two machines writing to one shared stick can have the same pid.
  static const uint32_t tag = [] {
    std::random_device rd;
    return static_cast<uint32_t>(rd());
  }();
  char buf[64];
  std::snprintf(buf, sizeof buf, ".tmp-%ld-%llu-%08x", static_cast<long>(::getpid()),
                static_cast<unsigned long long>(counter.fetch_add(1)), tag);
  return buf;
}

}  // namespace

std::string TempPathFor(const std::string& path) { return path + TempSuffix(); }

std::string TempPathIn(const std::string& dir) { return dir + "/" + TempSuffix(); }

bool IsTempName(std::string_view name) { return name.find(".tmp-") != std::string_view::npos; }

std::string DirName(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Result<std::string> ReadFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoStatus("cannot open", path, errno);
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("cannot read", path, errno);
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

Result<std::string> ReadFdLimited(int fd, std::string_view name, uint64_t max_bytes) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus("cannot stat", name, errno);
  if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > max_bytes) {
    return Status::LimitExceeded(std::string(name) + " is " + std::to_string(st.st_size) +
                                 " bytes, over the limit of " + std::to_string(max_bytes));
  }
  std::string data;
  if (S_ISREG(st.st_mode)) data.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("cannot read", name, errno);
    }
    if (n == 0) break;
    // The file may grow while it is read: the limit holds for what is read, too.
    if (data.size() + static_cast<uint64_t>(n) > max_bytes) {
      return Status::LimitExceeded(std::string(name) + " is over the limit of " +
                                   std::to_string(max_bytes) + " bytes");
    }
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

Result<std::string> ReadFileLimited(const std::string& path, const ReadLimits& limits) {
  int flags = O_RDONLY | O_CLOEXEC;
  if (limits.regular_only) flags |= O_NONBLOCK;  // a FIFO must not block the open
  if (limits.no_follow) flags |= O_NOFOLLOW;
  UniqueFd fd(::open(path.c_str(), flags));
  if (!fd) {
    if (errno == ELOOP && limits.no_follow) {
      return Status::InvalidInput(path + " is a symbolic link (not followed)");
    }
    return ErrnoStatus("cannot open", path, errno);
  }
  if (limits.regular_only) {
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("cannot stat", path, errno);
    if (!S_ISREG(st.st_mode)) return Status::InvalidInput(path + " is not a regular file");
    int fl = ::fcntl(fd.get(), F_GETFL);
    if (fl >= 0) ::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK);
  }
  return ReadFdLimited(fd.get(), path, limits.max_bytes);
}

Result<UniqueFd> OpenRegularAt(int dirfd, const std::string& name, const std::string& shown) {
  UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    if (errno == ELOOP) return Status::InvalidInput(shown + " is a symbolic link (not followed)");
    if (errno == ENXIO) return Status::InvalidInput(shown + " is not a regular file");
    return ErrnoStatus("cannot open", shown, errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("cannot stat", shown, errno);
  if (!S_ISREG(st.st_mode)) return Status::InvalidInput(shown + " is not a regular file");
  // Regular files never block; reads then behave as usual.
  int fl = ::fcntl(fd.get(), F_GETFL);
  if (fl >= 0) ::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK);
  return fd;
}

Result<UniqueFd> OpenDirAt(int dirfd, const std::string& name, const std::string& shown,
                           bool create, unsigned mode) {
  if (create && ::mkdirat(dirfd, name.c_str(), mode) != 0 && errno != EEXIST) {
    return ErrnoStatus("cannot create directory", shown, errno);
  }
  UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    int err = errno;
    struct stat st;
    // O_DIRECTORY | O_NOFOLLOW on a link gives ENOTDIR (or ELOOP): say which it was.
    if (err == ELOOP || (err == ENOTDIR && ::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                         S_ISLNK(st.st_mode))) {
      return Status::InvalidInput(shown + " is a symbolic link (not followed)");
    }
    if (err == ENOTDIR) return Status::InvalidInput(shown + " is not a directory");
    return ErrnoStatus("cannot open directory", shown, err);
  }
  return fd;
}

Status SyncDirFd(int dirfd, const std::string& shown) {
  if (::fsync(dirfd) != 0 && errno != EINVAL && errno != ENOTSUP) {
    return ErrnoStatus("cannot sync directory", shown, errno);
  }
  return Status::Ok();
}

Status WriteFileAtomicAt(int dirfd, const std::string& name, std::string_view data,
                         unsigned mode, const std::string& shown_dir) {
  std::string tmp = TempPathFor(name);
  std::string shown_tmp = shown_dir + "/" + tmp;
  {
    UniqueFd fd(::openat(dirfd, tmp.c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
    if (!fd) return ErrnoStatus("cannot create", shown_tmp, errno);
    Status st = WriteAll(fd.get(), data, shown_tmp);
    if (st.ok() && (::fchmod(fd.get(), mode) != 0 || ::fsync(fd.get()) != 0)) {
      st = ErrnoStatus("cannot sync", shown_tmp, errno);
    }
    if (st.ok()) st = fd.Close(shown_tmp);
    if (!st.ok()) {
      ::unlinkat(dirfd, tmp.c_str(), 0);
      return st;
    }
  }
  if (::renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) != 0) {
    int err = errno;
    ::unlinkat(dirfd, tmp.c_str(), 0);
    return ErrnoStatus("cannot rename to", shown_dir + "/" + name, err);
  }
  return SyncDirFd(dirfd, shown_dir);
}

Result<std::vector<std::string>> ListDirAt(int dirfd, const std::string& shown) {
  int dup = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup < 0) return ErrnoStatus("cannot list", shown, errno);
  DIR* d = ::fdopendir(dup);
  if (!d) {
    int err = errno;
    ::close(dup);
    return ErrnoStatus("cannot list", shown, err);
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.push_back(e->d_name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Status SyncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return ErrnoStatus("cannot open directory", dir, errno);
  // Some filesystems (exFAT, FUSE) refuse fsync on directories; the rename is still done.
  if (::fsync(fd.get()) != 0 && errno != EINVAL && errno != ENOTSUP) {
    return ErrnoStatus("cannot sync directory", dir, errno);
  }
  return Status::Ok();
}

Status WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode) {
  std::string tmp = TempPathFor(path);
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (!fd) return ErrnoStatus("cannot create", tmp, errno);
    Status st = WriteAll(fd.get(), data, tmp);
    if (st.ok() && (::fchmod(fd.get(), mode) != 0 || ::fsync(fd.get()) != 0)) {
      st = ErrnoStatus("cannot sync", tmp, errno);
    }
    if (st.ok()) st = fd.Close(tmp);
    if (!st.ok()) {
      ::unlink(tmp.c_str());
      return st;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoStatus("cannot rename to", path, err);
  }
  return SyncDir(DirName(path));
}

Status MakeDirs(const std::string& path, unsigned mode) {
  if (path.empty()) return Status::InvalidArgument("empty directory path");
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    partial = path.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), mode) != 0 && errno != EEXIST) {
      return ErrnoStatus("cannot create directory", partial, errno);
    }
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus("cannot stat", path, errno);
  if (!S_ISDIR(st.st_mode)) return Status::IoError("not a directory: " + path);
  return Status::Ok();
}

}  // namespace ssb
