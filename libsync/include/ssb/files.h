// Small file-system helpers with the durability rules the project relies on, and the one place
// that turns an errno into a Status.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ssb/status.h"

namespace ssb {

// Owns a file descriptor: closes it on scope exit. Movable, not copyable.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  // Gives up ownership: returns the descriptor (or -1) without closing it.
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes the owned descriptor (if any) and takes `fd` (-1: none).
  void reset(int fd = -1);
  // Closes now and reports the error close(2) gave (EINTR counts as closed). Ok when none owned.
  // `name` is used in the message.
  Status Close(std::string_view name);

 private:
  int fd_ = -1;
};

// THE errno → Status mapping of libsync: "<what> <path>: <strerror>" (or "<what>: <strerror>"
// when `path` is empty) with the code the errno deserves: kNoSpace (ENOSPC, EDQUOT, EFBIG: a
// full disk, a quota, FAT's 4 GiB file limit), kNotFound (ENOENT), kPermissionDenied
// (EACCES, EPERM, EROFS), else kIoError. Every system-call failure in the library goes through it, so that
// "disk full" is kNoSpace everywhere (and exit code 6 in both command-line tools).
Status ErrnoStatus(std::string_view what, std::string_view path, int err);

// Writes all of `data` to `fd`, retrying on EINTR and short writes. `name` names the file in
// the error. Error: ErrnoStatus("cannot write", name, errno) — kNoSpace when the disk is full.
Status WriteAll(int fd, std::span<const uint8_t> data, std::string_view name);
Status WriteAll(int fd, std::string_view data, std::string_view name);

// A fresh temp-file path next to `path`: "<path>.tmp-<pid>-<n>-<random>", unique per process
// (a counter) and across processes and machines sharing a medium (pid, random). Create it with
// O_CREAT | O_EXCL. Every temp file the project writes carries ".tmp-" so that IsTempName
// recognises the leftovers of a killed process.
std::string TempPathFor(const std::string& path);
// The same for a temp file inside directory `dir` that belongs to no final name yet (blobs):
// "<dir>/.tmp-<pid>-<n>-<random>".
std::string TempPathIn(const std::string& dir);
// True for a file name (not a path) that TempPathFor or TempPathIn made.
bool IsTempName(std::string_view name);

// Reads a whole file. Error: kNotFound, kIoError.
Result<std::string> ReadFile(const std::string& path);
// Reads a whole file of at most `max_bytes`, checking the size before reading (a larger file is
// kLimitExceeded and is never read): for files from outside. With `regular_only`, the file is
// opened O_NONBLOCK and must be a regular file (a FIFO or device is kInvalidInput, never waited
// on); with `no_follow`, a symlink is refused (kInvalidInput).
struct ReadLimits {
  uint64_t max_bytes = UINT64_MAX;
  bool regular_only = true;
  bool no_follow = false;
};
Result<std::string> ReadFileLimited(const std::string& path, const ReadLimits& limits);
// Reads all of `fd` (regular file) up to `max_bytes`, checking fstat's size first. `name` names
// it in errors.
Result<std::string> ReadFdLimited(int fd, std::string_view name, uint64_t max_bytes);
// Writes `data` to `path` atomically: a temp file in the same directory (TempPathFor), fsync,
// rename over `path`, fsync the directory. `mode` is applied to the new file.
// Error: kIoError, kNoSpace, kPermissionDenied.
Status WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode = 0644);
// mkdir -p with `mode` for directories it creates. Error: kIoError.
Status MakeDirs(const std::string& path, unsigned mode = 0700);
// fsync a directory so that renames inside it are durable.
Status SyncDir(const std::string& dir);
// Descriptor-relative helpers for untrusted directory trees (a shared USB stick): every name is
// one component inside a directory descriptor, nothing follows a symbolic link, nothing blocks
// on a FIFO. `shown` is how errors name the file or directory.
//
// Opens regular file `name` in `dirfd` for reading (O_NOFOLLOW | O_NONBLOCK, then fstat).
// Errors: kInvalidInput for a symbolic link, FIFO, device or directory; others from ErrnoStatus.
Result<UniqueFd> OpenRegularAt(int dirfd, const std::string& name, const std::string& shown);
// Opens directory `name` in `dirfd` (O_DIRECTORY | O_NOFOLLOW), creating it with `mode` first
// when `create`. Errors: kInvalidInput for a symbolic link or non-directory; ErrnoStatus.
Result<UniqueFd> OpenDirAt(int dirfd, const std::string& name, const std::string& shown,
                           bool create, unsigned mode = 0755);
// WriteFileAtomic inside `dirfd`: a TempPathFor(name) file created O_EXCL | O_NOFOLLOW, fsync,
// renamed over `name` (a symbolic link there is replaced, never followed), fsync of `dirfd`.
Status WriteFileAtomicAt(int dirfd, const std::string& name, std::string_view data,
                         unsigned mode, const std::string& shown_dir);
// The names in `dirfd` except "." and "..", sorted. Error: ErrnoStatus.
Result<std::vector<std::string>> ListDirAt(int dirfd, const std::string& shown);
// fsync of a directory descriptor; filesystems that refuse it (exFAT, FUSE) count as done.
Status SyncDirFd(int dirfd, const std::string& shown);

// The directory part of `path` ("." for a bare name, "/" for a file at the root).
std::string DirName(const std::string& path);

}  // namespace ssb
