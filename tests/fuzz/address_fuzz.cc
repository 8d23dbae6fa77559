// libFuzzer target: multiserver addresses (config seeds, pub announcements, gossip.connect).
#include <cstdlib>

#include "ssb/address.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  if (auto tree = ssb::ParseMultiserverTree(s); tree.ok()) {
    auto again = ssb::ParseMultiserverTree(ssb::FormatMultiserverTree(*tree));
    if (!again.ok() || again->size() != tree->size()) std::abort();
  }
  if (auto list = ssb::ParseMultiserver(s); list.ok()) {
    auto again = ssb::ParseMultiserver(ssb::FormatMultiserver(*list));
    if (!again.ok() || *again != *list) std::abort();
  }
  return 0;
}
