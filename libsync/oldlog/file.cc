#include "file.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

namespace ssb::oldlog {

Result<size_t> PreadAll(int fd, uint8_t* buf, size_t n, uint64_t pos, const std::string& path) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, buf + got, n - got, static_cast<off_t>(pos + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("cannot read", path + " at byte " + std::to_string(pos + got), errno);
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

uint64_t NextData(int fd, uint64_t pos, uint64_t size) {
#ifdef SEEK_DATA
  off_t d = ::lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
  if (d < 0) return errno == ENXIO ? size : pos;
  return static_cast<uint64_t>(d) < size ? static_cast<uint64_t>(d) : size;
#else
  (void)fd;
  (void)size;
  return pos;
#endif
}

Result<const uint8_t*> Window::Get(uint64_t pos, size_t n) {
  if (pos > size_ || n > size_ - pos) return static_cast<const uint8_t*>(nullptr);
  if (pos >= start_ && pos + n <= start_ + len_) return buf_.data() + (pos - start_);
  size_t want = static_cast<size_t>(std::min<uint64_t>(buf_.size(), size_ - pos));
  auto got = PreadAll(fd_, buf_.data(), want, pos, path_);
  if (!got.ok()) return got.status();
  start_ = pos;
  len_ = *got;
  if (*got < want) size_ = pos + *got;  // the file shrank while we read it
  if (n > len_) return static_cast<const uint8_t*>(nullptr);
  return buf_.data();
}

}  // namespace ssb::oldlog
