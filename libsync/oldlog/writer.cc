// Writers of both log formats, framing records exactly as flumelog-offset and
// async-append-only-log do (tests compare the bytes with the JavaScript packages' output).
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "file.h"
#include "ssb/oldlog.h"

namespace ssb::oldlog {
namespace {

Status PwriteAll(int fd, const uint8_t* p, size_t n, uint64_t pos, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(pos));
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("cannot write", path, errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
    pos += static_cast<uint64_t>(w);
  }
  return Status::Ok();
}

void PutU32be(std::vector<uint8_t>* out, uint64_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<uint8_t>(v >> shift));
}

class FlumeWriter final : public LogWriter {
 public:
  FlumeWriter(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  ~FlumeWriter() override { (void)Flush(); }

  Result<uint64_t> Append(std::span<const uint8_t> data) override {
    if (data.empty()) return Status::InvalidArgument("an empty record reads as deleted");
    uint64_t start = written_ + buf_.size();
    uint64_t end = start + 12 + data.size();
    if (end > kFlumeMaxFileBytes) {
      return Status::InvalidArgument("a flume log cannot grow past 4 GiB (32-bit offsets)");
    }
    // formats/flume-log-offset.md "Records".
    PutU32be(&buf_, data.size());
    buf_.insert(buf_.end(), data.begin(), data.end());
    PutU32be(&buf_, data.size());
    PutU32be(&buf_, end);
    if (buf_.size() >= (1u << 20)) SSB_RETURN_IF_ERROR(Drain());
    return start;
  }

  Status Flush() override {
    SSB_RETURN_IF_ERROR(Drain());
    if (::fsync(fd_.get()) != 0) return ErrnoStatus("cannot fsync", path_, errno);
    return Status::Ok();
  }

 private:
  Status Drain() {
    SSB_RETURN_IF_ERROR(PwriteAll(fd_.get(), buf_.data(), buf_.size(), written_, path_));
    written_ += buf_.size();
    buf_.clear();
    return Status::Ok();
  }

  UniqueFd fd_;
  std::string path_;
  uint64_t written_ = 0;
  std::vector<uint8_t> buf_;
};

class Db2Writer final : public LogWriter {
 public:
  Db2Writer(UniqueFd fd, std::string path)
      : fd_(std::move(fd)), path_(std::move(path)), block_(kDb2BlockSize, 0) {}
  ~Db2Writer() override { (void)Flush(); }

  Result<uint64_t> Append(std::span<const uint8_t> data) override {
    // formats/db2-log-bipf.md "Blocks": a record and a following end-of-block mark must fit.
    if (data.empty()) return Status::InvalidArgument("an empty record would read as end of block");
    if (2 + data.size() + 2 > kDb2BlockSize) {
      return Status::InvalidArgument("a db2 record holds at most 65532 bytes");
    }
    if (in_block_ + 2 + data.size() + 2 > kDb2BlockSize) {
      SSB_RETURN_IF_ERROR(WriteBlock());
      ++block_index_;
      std::fill(block_.begin(), block_.end(), 0);
      in_block_ = 0;
    }
    uint64_t offset = block_index_ * kDb2BlockSize + in_block_;
    block_[in_block_] = static_cast<uint8_t>(data.size());
    block_[in_block_ + 1] = static_cast<uint8_t>(data.size() >> 8);
    std::memcpy(block_.data() + in_block_ + 2, data.data(), data.size());
    in_block_ += 2 + data.size();
    dirty_ = true;
    return offset;
  }

  Status Flush() override {
    if (dirty_) SSB_RETURN_IF_ERROR(WriteBlock());
    if (::fsync(fd_.get()) != 0) return ErrnoStatus("cannot fsync", path_, errno);
    return Status::Ok();
  }

 private:
  // The current block, whole (the JavaScript writer always writes full blocks).
  Status WriteBlock() {
    SSB_RETURN_IF_ERROR(
        PwriteAll(fd_.get(), block_.data(), block_.size(), block_index_ * kDb2BlockSize, path_));
    dirty_ = false;
    return Status::Ok();
  }

  UniqueFd fd_;
  std::string path_;
  std::vector<uint8_t> block_;
  uint64_t block_index_ = 0;
  size_t in_block_ = 0;
  bool dirty_ = false;
};

}  // namespace

Result<std::unique_ptr<LogWriter>> LogWriter::Create(const std::string& path, LogFormat format) {
  int raw = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (raw < 0) {
    if (errno == EEXIST) return Status::InvalidArgument(path + " exists already");
    return ErrnoStatus("cannot create", path, errno);
  }
  UniqueFd fd(raw);
  if (format == LogFormat::kFlumeOffset) {
    return std::unique_ptr<LogWriter>(std::make_unique<FlumeWriter>(std::move(fd), path));
  }
  return std::unique_ptr<LogWriter>(std::make_unique<Db2Writer>(std::move(fd), path));
}

}  // namespace ssb::oldlog
