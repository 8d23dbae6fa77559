// Link extraction against what ssb-db 20's links index (ssb-msgs indexLinks) and ssb-links 3
// (links2) find in the same messages (tests/vectors/generated/links.json, made by
// tests/interop/js/gen_links_vectors.js).
#include <catch2/catch.hpp>

#include "ssb/links.h"
#include "support/vectors.h"

namespace ssb {
namespace {

using json::Value;

TEST_CASE("links are the ones ssb-db and ssb-links find", "[links]") {
  Value cases = *test::ReadVectorJson("generated/links.json").Find("cases");
  size_t passed = 0;
  for (const Value& c : cases.items()) {
    const Value& value = *c.Find("value");
    const Value& content = *c.Find("content");
    INFO("content " << json::Stringify(content));
    auto links = ExtractLinks(value, content);
    Value db = Value::Array(), l2 = Value::Array();
    for (const auto& l : links) {
      if (l.in_links) {
        Value e = Value::Object();
        e.Set("dest", Value::String(l.dest));
        e.Set("rel", Value::String(l.rel));
        db.Push(std::move(e));
      }
      if (l.in_links2) {
        Value e = Value::Object();
        e.Set("dest", Value::String(l.dest));
        e.Set("rel", *json::Parse(l.rel2, {.wtf8_input = true}));
        l2.Push(std::move(e));
      }
    }
    bool same_db = json::Stringify(db) == json::Stringify(*c.Find("links"));
    bool same_l2 = json::Stringify(l2) == json::Stringify(*c.Find("links2"));
    CHECK(json::Stringify(db) == json::Stringify(*c.Find("links")));
    CHECK(json::Stringify(l2) == json::Stringify(*c.Find("links2")));
    if (same_db && same_l2) ++passed;
  }
  test::ReportCount("links vs ssb-msgs indexLinks / ssb-links", passed, cases.size());
  CHECK(passed == cases.size());
}

}  // namespace
}  // namespace ssb
