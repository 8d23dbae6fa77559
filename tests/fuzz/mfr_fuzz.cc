// libFuzzer target for map-filter-reduce queries (query.read, links2.read): any query text must
// parse or fail with a Status, and running it over a few messages must end without a crash, a
// hang, or more held values than the limits allow.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ssb/json.h"
#include "ssb/mfr.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<ssb::json::Value> kItems = [] {
    std::vector<ssb::json::Value> items;
    for (const char* text : {
             R"({"key":"%a","value":{"author":"@x","sequence":1,"content":{"type":"post","text":"hi","mentions":[{"link":"@y"}]}},"timestamp":1,"rts":1})",
             R"({"key":"%b","value":{"author":"@y","sequence":2,"content":"abc.box"},"timestamp":2,"rts":2})",
             R"({"key":"%c","value":{"author":"@x","sequence":3,"content":{"type":"vote","vote":{"link":"%a","value":1}}},"timestamp":3,"rts":3})",
             R"({"sync":true})"}) {
      items.push_back(*ssb::json::Parse(text));
    }
    return items;
  }();
  ssb::json::ParseOptions opt;
  opt.max_bytes = 1 << 16;
  opt.max_depth = 64;
  auto v = ssb::json::Parse(std::string_view(reinterpret_cast<const char*>(data), size), opt);
  if (!v.ok()) return 0;
  ssb::mfr::Limits limits;
  limits.max_held = 64;
  auto q = ssb::mfr::Query::Parse(*v, limits);
  if (!q.ok()) return 0;
  (void)ssb::mfr::Run(*q, kItems);
  return 0;
}
