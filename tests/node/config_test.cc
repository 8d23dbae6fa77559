// LoadNodeConfig: DATADIR/config with ssb-config's keys over the defaults; a wrong value is an
// error naming the key.
#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "ssb/node.h"
#include "store/store_test_util.h"

using namespace ssb;
using ssb::test::TempDir;

namespace {

Result<NodeConfig> Load(const TempDir& dir, const std::string& json) {
  std::ofstream(dir.File("config")) << json;
  return LoadNodeConfig(dir.path());
}

}  // namespace

TEST_CASE("node config: defaults without a file, ssb-config's keys over them") {
  TempDir dir;
  auto none = LoadNodeConfig(dir.path());
  REQUIRE(none.ok());
  CHECK(none->port == 8008);
  CHECK(none->hops == 2);
  CHECK(none->lan);
  CHECK(none->ebt);
  CHECK(none->network_key == kMainNetKey);

  auto c = Load(dir, R"({"caps":{"shs":"eDpGcDd2pneTOV5dasP2SlBx9G0aGRYkLXivalao5GE="},
                         "port":9009,"friends":{"hops":1},"lan":false,"ebt":false})");
  REQUIRE(c.ok());
  CHECK(c->port == 9009);
  CHECK(c->hops == 1);
  CHECK_FALSE(c->lan);
  CHECK_FALSE(c->ebt);
  CHECK(c->network_key != kMainNetKey);

  auto obj = Load(dir, R"({"ebt":{"enabled":false},"lan":{"enabled":true,"port":8010}})");
  REQUIRE(obj.ok());
  CHECK_FALSE(obj->ebt);
  CHECK(obj->lan);
  CHECK(obj->lan_port == 8010);
}

TEST_CASE("node config: a wrong value is refused, naming the key") {
  TempDir dir;
  struct Case {
    const char* json;
    const char* key;
  } cases[] = {
      {R"({"ebt":"yes"})", "ebt"},
      {R"({"ebt":{"enabled":1}})", "ebt.enabled"},
      {R"({"lan":{"enabled":"no"}})", "lan.enabled"},
      {R"({"port":70000})", "port"},
      {R"({"friends":{"hops":11}})", "hops"},
      {R"({"caps":{"shs":"short"}})", "caps.shs"},
      {R"({"lan":{"port":0}})", "lan.port"},
      {R"([1,2])", "not a JSON object"},
      {R"({"port":)", "config"},
  };
  for (const auto& c : cases) {
    auto r = Load(dir, c.json);
    INFO(c.json);
    REQUIRE_FALSE(r.ok());
    INFO(r.status().ToString());
    CHECK(r.status().code() == Code::kInvalidInput);
    CHECK(r.status().message().find(c.key) != std::string::npos);
  }
}
