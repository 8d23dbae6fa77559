// packet-stream framing under muxrpc (formats: ../PROTOCOL §5.1, packet-stream-codec 1.2).
//
//   byte 0     flags = stream << 3 | end_or_error << 2 | type     (high 4 bits ignored)
//   bytes 1..4 body length, uint32 big-endian
//   bytes 5..8 request number, int32 big-endian
//
// A header whose length is 0 is the goodbye (JS decoders treat any such header so), which is
// why an empty body can never be sent. Sans-IO: bytes in, packets out.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "ssb/status.h"

namespace ssb::rpc {

enum class BodyType : uint8_t { kBinary = 0, kString = 1, kJson = 2 };

inline constexpr size_t kHeaderSize = 9;
// Largest body the decoder accepts unless told otherwise. Messages are at most 8 KiB of
// UTF-16 (≤ 24 KiB UTF-8) and blob chunks 64 KiB; anything far bigger is an attack.
inline constexpr uint32_t kDefaultMaxBody = 1u << 20;

struct Packet {
  bool stream = false;
  bool end = false;  // end of stream, or an error (async responses)
  BodyType type = BodyType::kBinary;
  int32_t req = 0;
  std::string body;
};

// Appends the 9-byte header and the body. An empty body cannot be sent (the peer would read
// a goodbye): nothing is appended and false is returned.
bool AppendPacket(std::string* out, const Packet& p);
void AppendGoodbye(std::string* out);

// Incremental decoder: Feed() any split of the byte stream, then take packets with Next().
class PacketDecoder {
 public:
  explicit PacketDecoder(uint32_t max_body = kDefaultMaxBody) : max_body_(max_body) {}

  // Consumes `bytes`. Errors: kLimitExceeded for a body over the limit, kInvalidInput for
  // bytes after the goodbye or an invalid type (3). After an error the decoder is stuck.
  Status Feed(std::string_view bytes);
  // The next complete packet, if any.
  bool Next(Packet* out);
  bool goodbye() const { return goodbye_; }
  // Bytes buffered but not yet part of a complete packet.
  size_t pending_bytes() const { return buf_.size() - pos_; }

 private:
  uint32_t max_body_;
  std::string buf_;
  size_t pos_ = 0;
  std::deque<Packet> ready_;
  bool goodbye_ = false;
  Status error_;
};

}  // namespace ssb::rpc
