// map-filter-reduce against what the real one (3.2.2, as ssb-query 2.4 loads it) returned for
// the same queries over the same items (tests/vectors/generated/mfr_queries.json, made by
// tests/interop/js/gen_mfr_vectors.js), plus the limits that keep a hostile query bounded.
#include <catch2/catch.hpp>
#include <sstream>

#include "ssb/mfr.h"
#include "support/vectors.h"

namespace ssb {
namespace {

using json::Value;

// The items ssb-query hands map-filter-reduce: {key, value, timestamp, rts}.
std::vector<Value> Corpus() {
  std::vector<Value> items;
  std::istringstream in(test::ReadVectorFile("generated/feeds.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    auto v = json::Parse(line);
    REQUIRE(v.ok());
    Value item = std::move(v).value();
    double ts = item.Find("timestamp")->as_number();
    double claimed = item.Find("value")->Find("timestamp")->as_number();
    double rts = std::min(ts, claimed);
    item.Set("rts", Value::Number(rts == 0 ? ts : rts));
    items.push_back(std::move(item));
  }
  return items;
}

TEST_CASE("map-filter-reduce gives what the real one gives", "[mfr]") {
  const auto items = Corpus();
  REQUIRE(items.size() == 250);
  Value cases = *test::ReadVectorJson("generated/mfr_queries.json").Find("cases");
  size_t passed = 0;
  for (const Value& c : cases.items()) {
    const Value& query = *c.Find("query");
    INFO("query " << json::Stringify(query));
    auto q = mfr::Query::Parse(query);
    Result<std::vector<Value>> out = q.ok() ? mfr::Run(*q, items) : Result<std::vector<Value>>(q.status());
    if (const Value* err = c.Find("error")) {
      INFO("the real one threw: " << err->as_string());
      CHECK_FALSE(out.ok());
      if (!out.ok()) ++passed;
      continue;
    }
    INFO((out.ok() ? std::string() : out.status().ToString()));
    REQUIRE(out.ok());
    Value got = Value::Array();
    for (auto& v : *out) got.Push(v);
    const Value& want = *c.Find("output");
    CHECK(json::Stringify(got) == json::Stringify(want));
    if (json::Stringify(got) == json::Stringify(want)) ++passed;
  }
  test::ReportCount("map-filter-reduce vs map-filter-reduce 3.2.2", passed, cases.size());
  CHECK(passed == cases.size());
}

TEST_CASE("map-filter-reduce bounds a hostile query", "[mfr]") {
  // Deep nesting.
  std::string deep = "[{\"$filter\":";
  for (int i = 0; i < 40; ++i) deep += "{\"a\":";
  deep += "1";
  for (int i = 0; i < 40; ++i) deep += "}";
  deep += "}]";
  auto q = mfr::Query::Parse(*json::Parse(deep));
  REQUIRE_FALSE(q.ok());
  CHECK(q.status().code() == Code::kLimitExceeded);

  // Too many values.
  Value in = Value::Array();
  for (int i = 0; i < 5000; ++i) in.Push(Value::Number(i));
  Value f = Value::Object();
  Value op = Value::Object();
  op.Set("$in", in);
  Value seq = Value::Object();
  seq.Set("sequence", op);
  f.Set("$filter", seq);
  Value big = Value::Array();
  big.Push(f);
  q = mfr::Query::Parse(big);
  REQUIRE_FALSE(q.ok());
  CHECK(q.status().code() == Code::kLimitExceeded);

  // A $collect that would hold more than the limit.
  mfr::Limits limits;
  limits.max_held = 100;
  q = mfr::Query::Parse(*json::Parse(R"([{"$reduce": {"$collect": true}}])"), limits);
  REQUIRE(q.ok());
  std::vector<Value> items(101, Value::Number(1));
  auto out = mfr::Run(*q, items);
  REQUIRE_FALSE(out.ok());
  CHECK(out.status().code() == Code::kLimitExceeded);
  items.resize(100);
  CHECK(mfr::Run(*q, items).ok());

  // As many groups as items.
  q = mfr::Query::Parse(*json::Parse(R"([{"$reduce": {"k": true, "n": {"$count": true}}}])"), limits);
  REQUIRE(q.ok());
  std::vector<Value> distinct;
  for (int i = 0; i < 101; ++i) distinct.push_back(Value::Number(i));
  out = mfr::Run(*q, distinct);
  REQUIRE_FALSE(out.ok());
  CHECK(out.status().code() == Code::kLimitExceeded);
}

TEST_CASE("map-filter-reduce: a group reduce inside a path fails as JavaScript does", "[mfr]") {
  // Found by the mfr fuzz target: the group reduce turns the string it is given into an object
  // and then inserted into it as into an array (a crash). map-filter-reduce throws
  // "A.splice is not a function" for both of these (checked against 3.2.2).
  auto items = Corpus();
  for (const char* text : {R"([{"$map":{"f":["key","1",[{"$reduce":{",sum":["x"]}}],"s"]}}])",
                           R"([{"$map":["key",[{"$reduce":{"a":["b"]}}]]}])"}) {
    INFO(text);
    auto q = mfr::Query::Parse(*json::Parse(text));
    REQUIRE(q.ok());
    auto out = mfr::Run(*q, items);
    REQUIRE_FALSE(out.ok());
    CHECK(out.status().message() == "query: TypeError: A.splice is not a function");
  }
}

TEST_CASE("map-filter-reduce passes the sync marker through", "[mfr]") {
  auto q = mfr::Query::Parse(*json::Parse(R"([{"$filter": {"a": 1}}, {"$map": "a"}])"));
  REQUIRE(q.ok());
  mfr::Runner r(*q);
  std::vector<Value> out;
  REQUIRE(r.Push(*json::Parse(R"({"a": 1})"), &out).ok());
  REQUIRE(r.Push(*json::Parse(R"({"a": 2})"), &out).ok());
  REQUIRE(r.Push(*json::Parse(R"({"sync": true})"), &out).ok());
  REQUIRE(r.Finish(&out).ok());
  REQUIRE(out.size() == 2);
  CHECK(json::Stringify(out[0]) == "1");
  CHECK(json::Stringify(out[1]) == R"({"sync":true})");
}

}  // namespace
}  // namespace ssb
