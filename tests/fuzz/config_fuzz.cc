// libFuzzer target: DATADIR/config, the one reader of sbot, sbot server and ssb-bundle.
#include <cstdlib>

#include "ssb/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  auto c = ssb::ParseConfig(s, "config");
  if (!c.ok()) {
    if (c.status().code() != ssb::Code::kInvalidArgument) std::abort();
    return 0;
  }
  if (c->hops < 0 || c->hops > 10 || c->blobs_max < 1 || c->inactivity_ms < 1000) std::abort();
  (void)ssb::ConfigWarnings(*c);
  return 0;
}
