// LineReader: blocks from read(2), lines handed out as views into the buffer.
#include "ssb/line_reader.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ssb/files.h"

namespace ssb {

LineReader::LineReader(int fd, std::string name, size_t max_line)
    : fd_(fd), name_(std::move(name)), max_line_(max_line) {}

bool LineReader::Fill() {
  if (eof_) return false;
  // Drop what was consumed before growing the buffer.
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  size_t old = buf_.size();
  buf_.resize(old + kBlockBytes);
  for (;;) {
    ssize_t n = ::read(fd_, buf_.data() + old, kBlockBytes);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error_ = ErrnoStatus("cannot read", name_, errno);
      eof_ = true;
      buf_.resize(old);
      return false;
    }
    buf_.resize(old + static_cast<size_t>(n));
    if (n == 0) eof_ = true;
    return n > 0;
  }
}

LineReader::Item LineReader::TooLong(uint64_t bytes) const {
  Item item;
  item.kind = Kind::kTooLong;
  item.skipped = bytes;
  item.status = Status::LimitExceeded(name_ + " line " + std::to_string(line_no_) + " is " +
                                      std::to_string(bytes) + " bytes, over the limit of " +
                                      std::to_string(max_line_) + "; skipped");
  return item;
}

LineReader::Item LineReader::Next() {
  Item item;
  size_t scanned = 0;  // bytes after pos_ known to hold no '\n'
  for (;;) {
    const char* base = buf_.data();
    size_t avail = buf_.size() - pos_;
    const void* nl = std::memchr(base + pos_ + scanned, '\n', avail - scanned);
    if (nl) {
      size_t end = static_cast<size_t>(static_cast<const char*>(nl) - base);
      ++line_no_;
      if (end - pos_ > max_line_) {  // over the limit though it came in one block
        item = TooLong(end - pos_);
      } else {
        item.kind = Kind::kLine;
        item.line = std::string_view(base + pos_, end - pos_);
      }
      pos_ = end + 1;
      return item;
    }
    scanned = avail;
    if (avail > max_line_) {
      // Too long: skip to the next newline without holding the rest.
      ++line_no_;
      uint64_t skipped = avail;
      buf_.clear();
      pos_ = 0;
      while (Fill()) {
        const void* end = std::memchr(buf_.data(), '\n', buf_.size());
        if (end) {
          size_t at = static_cast<size_t>(static_cast<const char*>(end) - buf_.data());
          skipped += at;
          pos_ = at + 1;
          break;
        }
        skipped += buf_.size();
        buf_.clear();
      }
      return TooLong(skipped);
    }
    // Fill() moves the unconsumed bytes to the front (pos_ = 0): `scanned` still counts them.
    if (!Fill()) {
      if (!error_.ok()) {
        item.kind = Kind::kError;
        item.status = error_;
        error_ = Status::Ok();
        return item;
      }
      if (pos_ < buf_.size()) {  // a last line without a newline (within the limit: see above)
        ++line_no_;
        item.kind = Kind::kLine;
        item.line = std::string_view(buf_.data() + pos_, buf_.size() - pos_);
        pos_ = buf_.size();
        return item;
      }
      item.kind = Kind::kEnd;
      return item;
    }
  }
}

}  // namespace ssb
