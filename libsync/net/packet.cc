#include "ssb/packet.h"

namespace ssb::rpc {
namespace {

void PutU32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

uint32_t GetU32(const char* p) {
  auto b = [p](int i) { return static_cast<uint32_t>(static_cast<uint8_t>(p[i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

}  // namespace

bool AppendPacket(std::string* out, const Packet& p) {
  if (p.body.empty()) return false;
  uint8_t flags = static_cast<uint8_t>((p.stream ? 8 : 0) | (p.end ? 4 : 0) |
                                       static_cast<uint8_t>(p.type));
  out->push_back(static_cast<char>(flags));
  PutU32(out, static_cast<uint32_t>(p.body.size()));
  PutU32(out, static_cast<uint32_t>(p.req));
  out->append(p.body);
  return true;
}

void AppendGoodbye(std::string* out) { out->append(kHeaderSize, '\0'); }

Status PacketDecoder::Feed(std::string_view bytes) {
  if (!error_.ok()) return error_;
  if (goodbye_) {
    if (!bytes.empty()) error_ = Status::InvalidInput("packet-stream: bytes after the goodbye");
    return error_;
  }
  // Compact before growing, so a long session does not keep every byte it ever saw.
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
  while (buf_.size() - pos_ >= kHeaderSize) {
    const char* h = buf_.data() + pos_;
    uint32_t len = GetU32(h + 1);
    if (len == 0) {  // goodbye
      goodbye_ = true;
      if (buf_.size() - pos_ > kHeaderSize) {
        error_ = Status::InvalidInput("packet-stream: bytes after the goodbye");
        return error_;
      }
      pos_ = buf_.size();
      return Status::Ok();
    }
    if (len > max_body_) {
      error_ = Status::LimitExceeded("packet-stream: body of " + std::to_string(len) +
                                     " bytes is over the limit of " + std::to_string(max_body_));
      return error_;
    }
    uint8_t flags = static_cast<uint8_t>(h[0]);
    if ((flags & 3) == 3) {
      error_ = Status::InvalidInput("packet-stream: invalid body type 3");
      return error_;
    }
    if (buf_.size() - pos_ < kHeaderSize + len) break;
    Packet p;
    p.stream = flags & 8;
    p.end = flags & 4;
    p.type = static_cast<BodyType>(flags & 3);
    p.req = static_cast<int32_t>(GetU32(h + 5));
    p.body.assign(h + kHeaderSize, len);
    ready_.push_back(std::move(p));
    pos_ += kHeaderSize + len;
  }
  return Status::Ok();
}

bool PacketDecoder::Next(Packet* out) {
  if (ready_.empty()) return false;
  *out = std::move(ready_.front());
  ready_.pop_front();
  return true;
}

}  // namespace ssb::rpc
