// Small file-system helpers with the durability rules the project relies on.
#pragma once

#include <string>
#include <string_view>

#include "ssb/status.h"

namespace ssb {

// Owns a file descriptor: closes it on scope exit.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// "<what> <path>: <strerror>" with the code the errno deserves: kNoSpace (ENOSPC, EDQUOT),
// kNotFound (ENOENT), kPermissionDenied (EACCES, EPERM, EROFS), else kIoError.
Status ErrnoStatus(const std::string& what, const std::string& path, int err);

// Reads a whole file. Error: kNotFound, kIoError.
Result<std::string> ReadFile(const std::string& path);
// Writes `data` to `path` atomically: a temp file in the same directory, fsync, rename over
// `path`, fsync the directory. `mode` is applied to the new file. Error: kIoError, kNoSpace.
Status WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode = 0644);
// mkdir -p with `mode` for directories it creates. Error: kIoError.
Status MakeDirs(const std::string& path, unsigned mode = 0700);
// fsync a directory so that renames inside it are durable.
Status SyncDir(const std::string& dir);

}  // namespace ssb
