// libFuzzer target: the stick marker and the file names a sync meets on a stick.
#include <cstdlib>

#include "ssb/files.h"
#include "ssb/stick.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  auto net = ssb::ParseStickMarker(s);
  if (net.ok() && net->size() != 64) std::abort();
  ssb::StickName kind = ssb::ClassifyStickName(s);
  // A temp file or a dot file is never taken for a bundle or a want file.
  if ((kind == ssb::StickName::kBundle || kind == ssb::StickName::kWant) &&
      (ssb::IsTempName(s) || s.empty() || s[0] == '.')) {
    std::abort();
  }
  return 0;
}
