// Streaming readers of flume/log.offset and db2/log.bipf. Each holds one bounded window of
// the file; a damaged region becomes a kDamaged item and reading goes on after it.
#include <algorithm>
#include <cerrno>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "ssb/oldlog.h"

namespace ssb::oldlog {
namespace {

bool AllZero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i]) return false;
  return true;
}

uint32_t U32be(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

void Damaged(LogItem* item, uint64_t from, uint64_t to, std::string what) {
  item->kind = LogItem::Kind::kDamaged;
  item->offset = from;
  item->end = to;
  item->bytes = {};
  item->problem = std::move(what);
}

// formats/flume-log-offset.md: record = length data length end, all u32 big-endian.
class FlumeReader final : public LogReader {
 public:
  FlumeReader(UniqueFd fd, std::string path, uint64_t size, const ReaderOptions& opt)
      : fd_(std::move(fd)),
        path_(std::move(path)),
        size_(size),
        limit_(std::min(size, kFlumeMaxFileBytes)),
        max_record_(opt.max_record_bytes),
        // Room for the largest record we read, and for a resync scan to see a candidate's
        // trailer without leaving the window.
        window_(fd_.get(), path_, limit_, 2 * (size_t{opt.max_record_bytes} + 16)),
        pos_(opt.start) {}

  Result<bool> Next(LogItem* item) override {
    if (pos_ >= size_) return false;
    if (pos_ >= limit_) {
      // formats/flume-log-offset.md "Limits".
      Damaged(item, pos_, size_,
              "bytes past 4 GiB, where ssb-db's 32-bit record offsets cannot reach");
      pos_ = size_;
      return true;
    }
    if (pos_ + 4 > limit_) {
      Damaged(item, pos_, limit_, "an incomplete record at the end (an interrupted write)");
      pos_ = limit_;
      return true;
    }
    auto h = window_.Get(pos_, 4);
    if (!h.ok()) return h.status();
    if (!*h) return Shrunk(item);
    uint32_t len = U32be(*h);
    uint64_t end = pos_ + 12 + uint64_t{len};
    auto frame = FrameAt(pos_, len);
    if (!frame.ok()) return frame.status();
    if (!*frame) {
      // formats/flume-log-offset.md "Reading": resynchronise on the next well-formed frame.
      auto next = Resync(pos_ + 1);
      if (!next.ok()) return next.status();
      std::string what;
      if (end > limit_) {
        what = "a record whose length (" + std::to_string(len) + " bytes) runs past the end";
        if (*next >= limit_) what += " (an interrupted write)";
      } else {
        what = "a record whose closing length or end offset does not match its length";
      }
      Damaged(item, pos_, *next, std::move(what));
      pos_ = *next;
      return true;
    }
    item->offset = pos_;
    item->end = end;
    item->problem.clear();
    if (len > max_record_) {
      Damaged(item, pos_, end,
              "a record of " + std::to_string(len) + " bytes, over the limit of " +
                  std::to_string(max_record_));
      pos_ = end;
      return true;
    }
    auto data = window_.Get(pos_ + 4, len);
    if (!data.ok()) return data.status();
    if (!*data) return Shrunk(item);
    pos_ = end;
    // flumelog-offset's del() zero-fills the data and keeps the frame; a zero-length record
    // reads as deleted there too.
    if (AllZero(*data, len)) {
      item->kind = LogItem::Kind::kDeleted;
      item->bytes = {};
    } else {
      item->kind = LogItem::Kind::kRecord;
      item->bytes = std::span<const uint8_t>(*data, len);
    }
    return true;
  }

  uint64_t size() const override { return size_; }
  uint64_t position() const override { return pos_; }
  LogFormat format() const override { return LogFormat::kFlumeOffset; }

 private:
  // Whether a well-formed frame of data length `len` starts at `at`: its closing length
  // repeats `len` and its end field is the offset right after it.
  Result<bool> FrameAt(uint64_t at, uint32_t len) {
    uint64_t end = at + 12 + uint64_t{len};
    if (end > limit_) return false;
    const uint8_t* t = nullptr;
    uint8_t small[8];
    if (len <= max_record_) {
      auto w = window_.Get(at + 4 + len, 8);
      if (!w.ok()) return w.status();
      if (!*w) return false;
      t = *w;
    } else {
      // A frame too large for the window: read its trailer alone.
      auto got = PreadAll(fd_.get(), small, 8, at + 4 + len, path_);
      if (!got.ok()) return got.status();
      if (*got < 8) return false;
      t = small;
    }
    return U32be(t) == len && U32be(t + 4) == end;
  }

  // The first offset >= from where a well-formed frame (of at most max_record_ bytes) starts,
  // or limit_. Holes of sparse files are skipped without reading them.
  Result<uint64_t> Resync(uint64_t from) {
    uint64_t next_hole_check = from;
    for (uint64_t q = from; q + 12 <= limit_; ++q) {
      if (q >= next_hole_check) {
        uint64_t d = NextData(fd_.get(), q, limit_);
        // A frame may begin with up to 11 zero bytes (length 0, then its closing length)
        // before its first data byte.
        if (d > q + 11) q = d - 11;
        if (q + 12 > limit_) break;
        next_hole_check = q + (1u << 20);
      }
      auto h = window_.Get(q, 4);
      if (!h.ok()) return h.status();
      if (!*h) break;
      uint32_t len = U32be(*h);
      if (len > max_record_ || q + 12 + uint64_t{len} > limit_) continue;
      auto ok = FrameAt(q, len);
      if (!ok.ok()) return ok.status();
      if (*ok) return q;
    }
    return limit_;
  }

  Result<bool> Shrunk(LogItem* item) {
    // The file became shorter than when it was opened.
    Damaged(item, pos_, size_, "the file was truncated while it was read");
    pos_ = size_;
    return true;
  }

  UniqueFd fd_;
  std::string path_;
  uint64_t size_;
  uint64_t limit_;
  uint32_t max_record_;
  Window window_;
  uint64_t pos_;
};

// formats/db2-log-bipf.md: 64 KiB blocks of records (length u16 little-endian, data), each
// block ended by a zero length or its last byte.
class Db2Reader final : public LogReader {
 public:
  Db2Reader(UniqueFd fd, std::string path, uint64_t size, const ReaderOptions& opt)
      : fd_(std::move(fd)), path_(std::move(path)), size_(size), block_(kDb2BlockSize),
        pos_(opt.start) {}

  Result<bool> Next(LogItem* item) override {
    for (;;) {
      if (pos_ >= size_) return false;
      uint64_t block_start = pos_ - pos_ % kDb2BlockSize;
      uint64_t block_end = block_start + kDb2BlockSize;
      auto off = static_cast<size_t>(pos_ - block_start);
      if (loaded_ != block_start) {
        // A block that is a hole of a sparse file is all zeros: an empty block.
        uint64_t d = NextData(fd_.get(), block_start, size_);
        if (d >= block_end) {
          pos_ = std::max(block_end, d - d % kDb2BlockSize);
          continue;
        }
        auto got = PreadAll(fd_.get(), block_.data(), block_.size(), block_start, path_);
        if (!got.ok()) return got.status();
        loaded_ = block_start;
        block_len_ = *got;
        if (block_len_ < block_.size() && block_start + block_len_ < size_) {
          size_ = block_start + block_len_;  // the file shrank while we read it
        }
      }
      if (off + 2 > block_len_) {  // the block ends here
        pos_ = block_end;
        continue;
      }
      size_t len = block_[off] | size_t{block_[off + 1]} << 8;
      if (len == 0) {  // end of block
        pos_ = block_end;
        continue;
      }
      item->offset = pos_;
      if (off + 2 + len > kDb2BlockSize) {
        Damaged(item, pos_, std::min(block_end, size_),
                "a record length (" + std::to_string(len) + " bytes) past the end of its block");
        pos_ = block_end;
        return true;
      }
      if (off + 2 + len > block_len_) {
        Damaged(item, pos_, size_, "a record cut off by the end of the file");
        pos_ = size_;
        return true;
      }
      pos_ += 2 + len;
      item->end = pos_;
      item->problem.clear();
      const uint8_t* data = block_.data() + off + 2;
      if (AllZero(data, len)) {  // async-append-only-log's del()
        item->kind = LogItem::Kind::kDeleted;
        item->bytes = {};
      } else {
        item->kind = LogItem::Kind::kRecord;
        item->bytes = std::span<const uint8_t>(data, len);
      }
      return true;
    }
  }

  uint64_t size() const override { return size_; }
  uint64_t position() const override { return pos_; }
  LogFormat format() const override { return LogFormat::kDb2Bipf; }

 private:
  UniqueFd fd_;
  std::string path_;
  uint64_t size_;
  std::vector<uint8_t> block_;
  uint64_t loaded_ = UINT64_MAX;
  size_t block_len_ = 0;
  uint64_t pos_;
};

}  // namespace

Result<std::unique_ptr<LogReader>> LogReader::Open(const std::string& path, LogFormat format,
                                                   const ReaderOptions& options) {
  if (options.max_record_bytes == 0 || options.max_record_bytes > (64u << 20)) {
    return Status::InvalidArgument("max_record_bytes must be 1 byte .. 64 MiB");
  }
  int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (raw < 0) return ErrnoStatus("cannot open", path, errno);
  UniqueFd fd(raw);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("cannot stat", path, errno);
  // A FIFO or device in place of a log would block or never end.
  if (!S_ISREG(st.st_mode)) return Status::InvalidInput(path + " is not a regular file");
  auto size = static_cast<uint64_t>(st.st_size);
  if (options.start > size) {
    return Status::InvalidArgument("start offset " + std::to_string(options.start) +
                                   " is past the end of " + path);
  }
  if (format == LogFormat::kFlumeOffset) {
    return std::unique_ptr<LogReader>(
        std::make_unique<FlumeReader>(std::move(fd), path, size, options));
  }
  return std::unique_ptr<LogReader>(std::make_unique<Db2Reader>(std::move(fd), path, size, options));
}

}  // namespace ssb::oldlog
