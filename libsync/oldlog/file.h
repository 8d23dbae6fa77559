// File plumbing shared by the log readers and writers: positional reads and a bounded read
// window over a file that is read mostly front to back. (Descriptors and errno mapping are
// base's: ssb/files.h.)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ssb/files.h"
#include "ssb/status.h"

namespace ssb::oldlog {

// pread until `n` bytes or the end of the file; returns the bytes read.
Result<size_t> PreadAll(int fd, uint8_t* buf, size_t n, uint64_t pos, const std::string& path);

// Offset of the first byte at or after `pos` that is not in a hole of a sparse file, or `size`
// when only holes follow. Without SEEK_DATA support, `pos` itself.
uint64_t NextData(int fd, uint64_t pos, uint64_t size);

// Bytes [start, start + len) of a file, refilled on demand; holds at most `capacity` bytes.
class Window {
 public:
  Window(int fd, const std::string& path, uint64_t size, size_t capacity)
      : fd_(fd), path_(path), size_(size), buf_(capacity) {}

  // Bytes [pos, pos + n) or nullptr when they reach past the file's end.
  // REQUIRES: n <= capacity.
  Result<const uint8_t*> Get(uint64_t pos, size_t n);
  // The file's size (lowered if the file turned out shorter while reading).
  uint64_t size() const { return size_; }

 private:
  int fd_;
  const std::string& path_;
  uint64_t size_;
  std::vector<uint8_t> buf_;
  uint64_t start_ = 0;
  size_t len_ = 0;
};

}  // namespace ssb::oldlog
