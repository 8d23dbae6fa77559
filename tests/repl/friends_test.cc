// friends.* answers against ssb-friends 4.3.0's (tests/vectors/generated/friends.json, made by
// tests/interop/js/gen_friends_vectors.js with the real layered-graph and dynamic-dijkstra).
#include <catch2/catch.hpp>
#include <map>

#include "ssb/friends.h"
#include "support/vectors.h"

namespace ssb {
namespace {

using json::Value;

std::map<std::string, double> AsMap(const Value& v) {
  std::map<std::string, double> m;
  for (size_t i = 0; i < v.size(); ++i) m[v.keys()[i]] = v.items()[i].as_number();
  return m;
}

TEST_CASE("friends.hops gives what ssb-friends gives", "[friends]") {
  Value cases = *test::ReadVectorJson("generated/friends.json").Find("cases");
  size_t same = 0, total = 0;
  for (const Value& c : cases.items()) {
    std::string self = c.Find("self")->as_string();
    FriendsGraph g(self, static_cast<int>(c.Find("max")->as_number()));
    for (const Value& m : c.Find("messages")->items()) {
      g.Apply(m.items()[0].as_string(), m.items()[2], nullptr);
    }
    std::string other = c.Find("other")->as_string();
    struct Q {
      const char* key;
      Value got;
    } qs[] = {{"hops", g.Hops(std::nullopt, std::nullopt, false)},
              {"hops_max1", g.Hops(std::nullopt, 1, false)},
              {"hops_max4", g.Hops(std::nullopt, 4, false)},
              {"hops_reverse", g.Hops(std::nullopt, std::nullopt, true)},
              {"hops_other", g.Hops(other, std::nullopt, false)}};
    for (const auto& q : qs) {
      INFO(q.key << " of graph " << total / 5);
      ++total;
      // The same feeds at the same distances (the order of keys may differ where the JS heap
      // pops equal distances in another order).
      bool ok = AsMap(q.got) == AsMap(*c.Find(q.key));
      INFO("ours " << json::Stringify(q.got) << "\nssb-friends " << json::Stringify(*c.Find(q.key)));
      CHECK(ok);
      if (ok) ++same;
    }
  }
  test::ReportCount("friends.hops vs ssb-friends 4.3.0", same, total);
  CHECK(same == total);
}

TEST_CASE("friends: isFollowing, isBlocking, get's legacy values", "[friends]") {
  FriendsGraph g("@a", 2);
  auto contact = [](const std::string& to, const char* field, bool v) {
    Value c = Value::Object();
    c.Set("type", Value::String("contact"));
    c.Set("contact", Value::String(to));
    c.Set(field, Value::Bool(v));
    return c;
  };
  std::string a = "@AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.ed25519";
  std::string b = "@BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=.ed25519";
  std::string c = "@CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCA=.ed25519";
  std::vector<Value> changes;
  REQUIRE(g.Apply(a, contact(b, "following", true), &changes));
  REQUIRE(g.Apply(a, contact(c, "blocking", true), &changes));
  REQUIRE(g.Apply(b, contact(c, "following", false), &changes));
  CHECK(changes.size() == 3);
  CHECK(json::Stringify(changes[1]) == R"({"from":")" + a + R"(","to":")" + c + R"(","value":false})");
  CHECK(g.IsFollowing(a, b));
  CHECK_FALSE(g.IsFollowing(a, c));
  CHECK(g.IsBlocking(a, c));
  CHECK_FALSE(g.IsBlocking(b, c));
  Value src = Value::Object();
  src.Set("source", Value::String(a));
  CHECK(json::Stringify(g.Get(src)) == R"({")" + b + R"(":true,")" + c + R"(":false})");
  src.Set("dest", Value::String(b));
  CHECK(json::Stringify(g.Get(src)) == "true");
  Value dst = Value::Object();
  dst.Set("dest", Value::String(c));
  CHECK(json::Stringify(g.Get(dst)) == R"({")" + a + R"(":false,")" + b + R"(":null})");
  CHECK_FALSE(g.Apply(a, contact("not a feed", "following", true), nullptr));
}

}  // namespace
}  // namespace ssb
