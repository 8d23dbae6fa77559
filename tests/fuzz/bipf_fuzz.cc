// libFuzzer target for the bipf decoder (ssb/oldlog.h).
// Properties: no crash, no deep recursion, and for every accepted input
// decode(encode(v)) == v (as JSON text).
#include <cstdint>
#include <cstdlib>

#include "ssb/json.h"
#include "ssb/oldlog.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  auto rec = ssb::oldlog::DecodeDb2Record(in);
  auto v = ssb::oldlog::BipfDecode(in);
  if (!v.ok()) return 0;
  std::string again = ssb::oldlog::BipfEncode(*v);
  auto back = ssb::oldlog::BipfDecode(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(again.data()), again.size()));
  if (!back.ok() || ssb::json::Stringify(*back) != ssb::json::Stringify(*v)) std::abort();
  return 0;
}
