// For the differential test (tests/interop/js/mfr_differential.js): reads {"items": [...],
// "queries": [...]} on stdin and prints one line per query: {"output": [...]} or
// {"error": "..."}.
#include <iostream>
#include <iterator>
#include <string>

#include "ssb/mfr.h"

int main() {
  std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  auto in = ssb::json::Parse(text);
  if (!in.ok() || !in->Find("items") || !in->Find("queries")) {
    std::cerr << "mfr_tool: expected {items, queries} on stdin\n";
    return 2;
  }
  const auto& items = in->Find("items")->items();
  for (const auto& query : in->Find("queries")->items()) {
    auto q = ssb::mfr::Query::Parse(query);
    auto out = q.ok() ? ssb::mfr::Run(*q, items)
                      : ssb::Result<std::vector<ssb::json::Value>>(q.status());
    ssb::json::Value line = ssb::json::Value::Object();
    if (out.ok()) {
      ssb::json::Value arr = ssb::json::Value::Array();
      for (auto& v : *out) arr.Push(std::move(v));
      line.Set("output", std::move(arr));
    } else {
      line.Set("error", ssb::json::Value::String(out.status().message()));
    }
    std::cout << ssb::json::Stringify(line) << "\n";
  }
  return 0;
}
