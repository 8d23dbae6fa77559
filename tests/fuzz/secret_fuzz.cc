// libFuzzer target: the ~/.ssb/secret file parser (ssb-keys' format, comments anywhere).
#include <cstdlib>

#include "ssb/keys.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ssb::CryptoInit();
  std::string_view s(reinterpret_cast<const char*>(data), size);
  auto k = ssb::ParseSecretFile(s);
  if (!k.ok()) return 0;
  // What parses is a real key pair, and the file we would write for it parses to the same.
  auto again = ssb::ParseSecretFile(ssb::FormatSecretFile(*k));
  if (!again.ok() || again->id() != k->id()) std::abort();
  return 0;
}
