// LoadNodeConfig: DATADIR/config with ssb-config's keys over the defaults; a wrong value is an
// error naming the key.
#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include <sys/stat.h>

#include <filesystem>

#include "ssb/config.h"
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
      {R"([1,2])", "must hold a JSON object"},
      {R"({"port":)", "config"},
  };
  for (const auto& c : cases) {
    auto r = Load(dir, c.json);
    INFO(c.json);
    REQUIRE_FALSE(r.ok());
    INFO(r.status().ToString());
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK(r.status().message().find(c.key) != std::string::npos);
  }
}

TEST_CASE("config: one reader, wrong types of keys we use are errors, unknown keys warnings") {
  TempDir dir;
  auto load = [&](const std::string& json) {
    std::ofstream(dir.File("config"), std::ios::trunc) << json;
    return LoadConfig(dir.path());
  };
  struct Bad {
    const char* json;
    const char* key;
  } bad[] = {
      {R"({"caps":{"shs":42}})", "caps.shs"},
      {R"({"caps":{"sign":"short"}})", "caps.sign"},
      {R"({"caps":"main"})", "caps must be an object"},
      {R"({"host":7})", "host"},
      {R"({"seeds":"net:a:1~shs:x"})", "seeds"},
      {R"({"seeds":[1]})", "seeds"},
      {R"({"connections":{"incoming":{"net":[{"port":"x"}]}}})", "connections.incoming.net[0].port"},
      {R"({"timers":{"inactivity":5}})", "timers.inactivity"},
      {R"({"blobs":{"max":0}})", "blobs.max"},
      {R"({"local":"no"})", "local"},
      {"caps = nope", "not valid JSON"},
  };
  for (const auto& b : bad) {
    auto r = load(b.json);
    INFO(b.json);
    REQUIRE_FALSE(r.ok());
    INFO(r.status().ToString());
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK(r.status().message().find(b.key) != std::string::npos);
    CHECK(r.status().message().find(dir.File("config")) != std::string::npos);
  }
  auto ok = load(R"({"caps":{"shs":"eDpGcDd2pneTOV5dasP2SlBx9G0aGRYkLXivalao5GE=",
                              "sign":"hIGLt2dl9HBavXumNjjOG2ERlXXzY3cuB+IMlnNVvTE="},
                     "port":"9010","prot":1,"friends":{"dunbar":150,"hopz":1},
                     "logging":{"level":"info"},"k\u00e9y":1})");
  REQUIRE(ok.ok());
  CHECK(ok->port == 9010);
  CHECK(ok->sign.has_value());
  CHECK(ok->shs != kMainNetKey);
  // Unknown keys are named (non-ASCII ones quoted); ssb-config's own are ignored quietly.
  CHECK(ok->unknown_keys == std::vector<std::string>{"prot", "\"k\\xc3\\xa9y\""});
  CHECK(ok->ignored_keys == std::vector<std::string>{"friends.dunbar", "friends.hopz", "logging"});
  auto warnings = ConfigWarnings(*ok);
  REQUIRE(warnings.size() == 2);
  CHECK(warnings[0].find("unknown key prot") != std::string::npos);
  CHECK(warnings[0].find(dir.File("config")) != std::string::npos);
  // A null caps.sign is the main network's "none".
  auto none = load(R"({"caps":{"sign":null}})");
  REQUIRE(none.ok());
  CHECK_FALSE(none->sign.has_value());
  // Something that is not a regular file, or far too large, is refused without being read.
  std::filesystem::remove(dir.File("config"));
  REQUIRE(::mkfifo(dir.File("config").c_str(), 0644) == 0);
  CHECK(LoadConfig(dir.path()).status().code() == Code::kInvalidArgument);
}

TEST_CASE("node config: rooms, pubs and the external host from the one reader") {
  TempDir dir;
  auto room = Load(dir, R"({"room":{"name":"Our room","max_attendants":10,"max_tunnel_bytes":1000},
                            "gossip":{"pub":false,"rooms":2},
                            "connections":{"incoming":{"net":[{"port":8008,
                              "external":["pub.example.org","other.example.org"]}]}}})");
  REQUIRE(room.ok());
  CHECK(room->room);  // an object turns the room on
  CHECK(room->room_name == "Our room");
  CHECK(room->room_limits.max_attendants == 10);
  CHECK(room->room_limits.max_tunnel_bytes == 1000);
  CHECK_FALSE(room->dial_pubs);
  CHECK(room->max_rooms == 2);
  CHECK(room->external == "pub.example.org");
  auto off = Load(dir, R"({"room":{"enabled":false,"name":"x"}})");
  REQUIRE(off.ok());
  CHECK_FALSE(off->room);
  struct Case {
    const char* json;
    const char* key;
  } cases[] = {
      {R"({"room":"yes"})", "room"},
      {R"({"room":{"max_tunnels":0}})", "room.max_tunnels"},
      {R"({"room":{"name":7}})", "room.name"},
      {R"({"gossip":{"rooms":51}})", "gossip.rooms"},
      {R"({"gossip":{"pub":"no"}})", "gossip.pub"},
      {R"({"connections":{"incoming":{"net":[{"external":"bad host!"}]}}})", "external"},
  };
  for (const auto& c : cases) {
    auto r = Load(dir, c.json);
    INFO(c.json);
    REQUIRE_FALSE(r.ok());
    INFO(r.status().ToString());
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK(r.status().message().find(c.key) != std::string::npos);
  }
}
