// libFuzzer target for the feed-data JSON parser and the message validator.
// Properties: no crash, no hang, and parse(stringify(v)) == v for every accepted input.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ssb/json.h"
#include "ssb/message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ssb::json::ParseOptions opt;
  opt.max_bytes = 1 << 20;
  auto v = ssb::json::Parse(text, opt);
  if (!v.ok()) return 0;
  std::string compact = ssb::json::Stringify(*v);
  ssb::json::ParseOptions wtf8 = opt;
  wtf8.wtf8_input = true;
  auto again = ssb::json::Parse(compact, wtf8);
  if (!again.ok() || ssb::json::Stringify(*again) != compact) std::abort();
  ssb::Message msg = ssb::Message::FromValue(std::move(v).value());
  (void)ssb::Validate(msg, nullptr);
  ssb::FeedState prev{"%AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.sha256", 1};
  (void)ssb::Validate(msg, &prev, ssb::ValidateOptions::Strict());
  return 0;
}
