// The peer database: what it stores, its file (formats/peer-db.md) read back and read when
// damaged or hostile, and the dial plan (quotas, LAN first, backoff, redial, rooms, attendants).
#include "ssb/peer_db.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <random>

#include "ssb/base64.h"
#include "ssb/ref.h"

namespace {

using ssb::DialAddress;
using ssb::PeerDb;
using ssb::PeerSource;
using ssb::PublicKey;

PublicKey Key(uint8_t n) {
  PublicKey k{};
  k.fill(n);
  return k;
}

DialAddress Net(const std::string& host, uint16_t port, const PublicKey& key) {
  DialAddress a;
  a.net = {host, port, key};
  return a;
}

DialAddress Tunnel(const PublicKey& room, const PublicKey& target) {
  DialAddress a;
  a.kind = DialAddress::Kind::kTunnel;
  a.tunnel = {room, target};
  return a;
}

const PublicKey kSelf = Key(0xee);
constexpr int64_t kNow = 1'700'000'000'000;

}  // namespace

TEST_CASE("peer db: add, refresh, sources") {
  PeerDb db;
  auto a = db.Add(Net("10.0.0.1", 8008, Key(1)), PeerSource::kPub, kNow, kSelf);
  REQUIRE(a.ok());
  CHECK((*a)->source == PeerSource::kPub);
  // The owner naming the same address makes it theirs; a weaker source does not demote it.
  REQUIRE(db.Add(Net("10.0.0.1", 8008, Key(1)), PeerSource::kManual, kNow, kSelf).ok());
  REQUIRE(db.Add(Net("10.0.0.1", 8008, Key(1)), PeerSource::kLan, kNow, kSelf).ok());
  CHECK(db.size() == 1);
  CHECK(db.entries().begin()->second.source == PeerSource::kManual);
  // Our own key, and a tunnel to the room itself, are refused.
  CHECK_FALSE(db.Add(Net("10.0.0.9", 8008, kSelf), PeerSource::kManual, kNow, kSelf).ok());
  CHECK_FALSE(db.Add(Tunnel(Key(3), Key(3)), PeerSource::kRoom, kNow, kSelf).ok());
}

TEST_CASE("peer db: file round trip keeps what is stored, drops LAN and attendants") {
  PeerDb db;
  REQUIRE(db.Add(Net("pub.example.org", 8008, Key(1)), PeerSource::kInvite, kNow, kSelf).ok());
  REQUIRE(db.Add(Net("10.0.0.2", 8008, Key(2)), PeerSource::kLan, kNow, kSelf).ok());
  REQUIRE(db.Add(Net("203.0.113.9", 8009, Key(3)), PeerSource::kManual, kNow, kSelf).ok());
  REQUIRE(db.Add(Tunnel(Key(3), Key(4)), PeerSource::kRoom, kNow, kSelf).ok());
  db.MarkRoom(ssb::FormatAddress({"203.0.113.9", 8009, Key(3)}), "the room");
  ssb::DialLimits limits;
  std::string a1 = ssb::FormatAddress({"pub.example.org", 8008, Key(1)});
  db.DialStarted(a1, kNow);
  db.DialFailed(a1, kNow + 5, "cannot connect: refused", 7, limits);

  size_t skipped = 99;
  std::string warning = "x";
  PeerDb back = PeerDb::Parse(db.Serialize(), &skipped, &warning);
  CHECK(skipped == 0);
  CHECK(warning.empty());
  REQUIRE(back.size() == 2);
  const ssb::PeerEntry* e1 = back.Find(a1);
  REQUIRE(e1);
  CHECK(e1->source == PeerSource::kInvite);
  CHECK(e1->failures == 1);
  CHECK(e1->last_error == "cannot connect: refused");
  CHECK(e1->next_try == db.Find(a1)->next_try);
  const ssb::PeerEntry* room = back.Find(ssb::FormatAddress({"203.0.113.9", 8009, Key(3)}));
  REQUIRE(room);
  CHECK(room->room);
  CHECK(room->note == "the room");
  CHECK(back.Serialize() == db.Serialize());

  SECTION("Save and Load through a file") {
    char tmpl[] = "/tmp/peerdbXXXXXX";
    REQUIRE(mkdtemp(tmpl));
    std::string path = std::string(tmpl) + "/peers.json";
    REQUIRE(db.Save(path).ok());
    auto loaded = PeerDb::Load(path);
    REQUIRE(loaded.ok());
    CHECK(loaded->size() == 2);
    auto missing = PeerDb::Load(std::string(tmpl) + "/nope.json");
    REQUIRE(missing.ok());
    CHECK(missing->size() == 0);
    unlink(path.c_str());
    rmdir(tmpl);
  }
}

TEST_CASE("peer db: a damaged or hostile file never stops us") {
  size_t skipped = 0;
  std::string warning;
  for (std::string text : {std::string(""), std::string("null"), std::string("[1,2]"),
                           std::string("{\"version\":2,\"peers\":[]}"), std::string("{\"version\":1"),
                           std::string(5u << 20, '['), std::string("{\"version\":1,\"peers\":7}")}) {
    PeerDb db = PeerDb::Parse(text, &skipped, &warning);
    CHECK(db.size() == 0);
  }
  // Bad entries are skipped one by one; good ones survive.
  std::string key = ssb::Base64Encode(Key(1));
  std::string text = R"({"version":1,"peers":[
    {"address":"net:10.0.0.1:8008~shs:)" + key + R"(","source":"seed","failures":-4,"next_try":1e300},
    {"address":"net:10.0.0.1:8008~shs:)" + key + R"(","source":"seed"},
    {"address":"net:10.0.0.1:0~shs:)" + key + R"(","source":"seed"},
    {"address":"net:10.0.0.2:8008~shs:)" + key + R"(","source":"lan"},
    {"address":"net:10.0.0.3:8008~shs:)" + key + R"(","source":"nonsense"},
    {"address":5,"source":"seed"}, "string", null,
    {"address":"net:10.0.0.4:8008~shs:)" + key + R"(","source":"pub","last_error":")" +
                     std::string(10000, 'x') + R"("}]})";
  PeerDb db = PeerDb::Parse(text, &skipped, &warning);
  CHECK(db.size() == 2);
  CHECK(skipped == 7);
  CHECK_FALSE(warning.empty());
  const ssb::PeerEntry* e = db.Find("net:10.0.0.1:8008~shs:" + key);
  REQUIRE(e);
  CHECK(e->failures == 0);   // a negative count is read as none
  CHECK(e->next_try == 0);   // an absurd time is read as none
  CHECK(db.Find("net:10.0.0.4:8008~shs:" + key)->last_error.size() == ssb::kMaxPeerErrorBytes);

  SECTION("more entries than the limit are not all read") {
    std::string many = "{\"version\":1,\"peers\":[";
    for (size_t i = 0; i < ssb::kMaxPeerDbEntries + 50; ++i) {
      PublicKey k{};
      k[0] = static_cast<uint8_t>(i);
      k[1] = static_cast<uint8_t>(i >> 8);
      many += std::string(i ? "," : "") + "{\"address\":\"net:10.0.0.1:8008~shs:" +
              ssb::Base64Encode(k) + "\",\"source\":\"manual\"}";
    }
    many += "]}";
    PeerDb big = PeerDb::Parse(many, &skipped, &warning);
    CHECK(big.size() == ssb::kMaxPeerDbEntries);
    CHECK(skipped == 50);
  }
}

TEST_CASE("peer db: learned pubs are capped, the worst are dropped for new ones") {
  PeerDb db;
  ssb::DialLimits limits;
  for (size_t i = 0; i < ssb::kMaxLearnedPubs; ++i) {
    PublicKey k{};
    k[0] = static_cast<uint8_t>(i);
    k[1] = static_cast<uint8_t>(i >> 8);
    REQUIRE(db.Add(Net("203.0.113.1", 8008, k), PeerSource::kPub, kNow, kSelf).ok());
  }
  // None has failed: nothing to drop, the new one is refused.
  auto more = db.Add(Net("203.0.113.2", 8008, Key(0xaa)), PeerSource::kPub, kNow, kSelf);
  CHECK(more.status().code() == ssb::Code::kLimitExceeded);
  std::string bad = db.entries().begin()->first;
  db.DialStarted(bad, kNow);
  db.DialFailed(bad, kNow, "no", 0, limits);
  REQUIRE(db.Add(Net("203.0.113.2", 8008, Key(0xaa)), PeerSource::kPub, kNow, kSelf).ok());
  CHECK(db.Find(bad) == nullptr);
  CHECK(db.learned_pubs() == ssb::kMaxLearnedPubs);
  // The owner's addresses are never refused for lack of pub room.
  CHECK(db.Add(Net("203.0.113.3", 8008, Key(0xab)), PeerSource::kManual, kNow, kSelf).ok());
}

TEST_CASE("peer db: the dial plan") {
  PeerDb db;
  ssb::DialLimits limits;
  ssb::DialView view;

  SECTION("nothing known, nothing dialed") { CHECK(db.Plan(kNow, view, limits).empty()); }

  SECTION("LAN first, then the owner's choices, learned pubs last and within their quota") {
    REQUIRE(db.Add(Net("203.0.113.1", 8008, Key(1)), PeerSource::kPub, kNow, kSelf).ok());
    REQUIRE(db.Add(Net("203.0.113.2", 8008, Key(2)), PeerSource::kPub, kNow, kSelf).ok());
    REQUIRE(db.Add(Net("203.0.113.3", 8008, Key(3)), PeerSource::kSeed, kNow, kSelf).ok());
    REQUIRE(db.Add(Net("10.0.0.4", 8008, Key(4)), PeerSource::kLan, kNow, kSelf).ok());
    // Peer 3 also announced itself on the LAN: that address is dialed instead of its seed.
    REQUIRE(db.Add(Net("10.0.0.3", 8008, Key(3)), PeerSource::kLan, kNow, kSelf).ok());
    limits.max_pubs = 1;
    auto plan = db.Plan(kNow, view, limits);
    REQUIRE(plan.size() == 3);
    CHECK(plan[0].find("10.0.0.") != std::string::npos);
    CHECK(plan[1].find("10.0.0.") != std::string::npos);
    CHECK(plan[2].find("203.0.113.") != std::string::npos);  // one pub
    for (const auto& a : plan) CHECK(a.find("203.0.113.3") == std::string::npos);

    limits.dial_pubs = false;
    CHECK(db.Plan(kNow, view, limits).size() == 2);
    limits.max_peers = 1;
    CHECK(db.Plan(kNow, view, limits).size() == 1);
    view.outgoing_peers = 1;
    CHECK(db.Plan(kNow, view, limits).empty());
  }

  SECTION("connected peers and dials under way are skipped; failures back off") {
    std::string a = ssb::FormatAddress({"203.0.113.1", 8008, Key(1)});
    std::string b = ssb::FormatAddress({"203.0.113.2", 8008, Key(2)});
    REQUIRE(db.Add(Net("203.0.113.1", 8008, Key(1)), PeerSource::kSeed, kNow, kSelf).ok());
    REQUIRE(db.Add(Net("203.0.113.2", 8008, Key(2)), PeerSource::kSeed, kNow, kSelf).ok());
    view.connected.insert(Key(1));
    CHECK(db.Plan(kNow, view, limits) == std::vector<std::string>{b});
    db.DialStarted(b, kNow);
    CHECK(db.Plan(kNow, view, limits).empty());
    db.DialFailed(b, kNow, "refused", 0, limits);
    CHECK(db.Plan(kNow + 1000, view, limits).empty());      // 2 s after one failure
    CHECK(db.Plan(kNow + 2001, view, limits).size() == 1);
    for (int i = 0; i < 30; ++i) db.DialFailed(b, kNow, "refused", 0xffffffff, limits);
    // Never longer than the cap plus a quarter of jitter.
    CHECK(db.Find(b)->next_try <= kNow + limits.max_backoff_ms + limits.max_backoff_ms / 4);
    CHECK(db.Find(b)->next_try >= kNow + limits.max_backoff_ms);
    db.DialSucceeded(b, kNow);
    CHECK(db.Find(b)->failures == 0);
    // A drop is redialed soon, not at once.
    db.Dropped(b, kNow, limits);
    CHECK(db.Plan(kNow + 1, view, limits).empty());
    CHECK(db.Plan(kNow + limits.redial_ms, view, limits).size() == 1);
  }

  SECTION("rooms have their own quota; attendants need their room and our interest") {
    std::string room = ssb::FormatAddress({"203.0.113.9", 8008, Key(9)});
    REQUIRE(db.Add(Net("203.0.113.9", 8008, Key(9)), PeerSource::kManual, kNow, kSelf).ok());
    db.MarkRoom(room, "r");
    REQUIRE(db.Add(Tunnel(Key(9), Key(5)), PeerSource::kRoom, kNow, kSelf).ok());
    REQUIRE(db.Add(Tunnel(Key(9), Key(6)), PeerSource::kRoom, kNow, kSelf).ok());
    limits.max_peers = 0;
    CHECK(db.Plan(kNow, view, limits) == std::vector<std::string>{room});
    limits.max_peers = 8;
    view.connected.insert(Key(9));
    view.rooms_connected.insert(Key(9));
    view.rooms = 1;
    view.wanted = [](const PublicKey& k) { return k == Key(5); };
    auto plan = db.Plan(kNow, view, limits);
    REQUIRE(plan.size() == 1);
    CHECK(plan[0] == ssb::FormatTunnelAddress({Key(9), Key(5)}));
    // The room says 5 left: its tunnel address goes.
    db.RetainAttendants(Key(9), {Key(6)});
    CHECK(db.Plan(kNow, view, limits).empty());
    CHECK(db.size() == 2);
    view.rooms_connected.clear();
    view.wanted = nullptr;
    CHECK(db.Plan(kNow, view, limits).empty());  // no room connected: no tunnels
  }

  SECTION("LAN addresses are forgotten when no longer heard") {
    REQUIRE(db.Add(Net("10.0.0.4", 8008, Key(4)), PeerSource::kLan, kNow, kSelf).ok());
    db.Expire(kNow + 5000, limits);
    CHECK(db.size() == 1);
    db.Expire(kNow + 10001, limits);
    CHECK(db.size() == 0);
  }
}

TEST_CASE("pub messages: the addresses they announce") {
  auto parse = [](const std::string& text) {
    auto v = ssb::json::Parse(text);
    REQUIRE(v.ok());
    return ssb::PubMessageAddress(*v);
  };
  std::string key = "@2VB5k5WarS/kiuwK8wQCC9WPbxnszNrWX4HHS6GgmPA=.ed25519";
  auto a = parse(R"({"type":"pub","address":{"host":"pub.example.org","port":8008,"key":")" + key + R"("}})");
  REQUIRE(a);
  CHECK(a->host == "pub.example.org");
  CHECK(a->port == 8008);
  CHECK(ssb::FeedIdFromKey(a->key) == key);
  auto b = parse(R"({"type":"pub","address":"net:203.0.113.5:8010~shs:2VB5k5WarS/kiuwK8wQCC9WPbxnszNrWX4HHS6GgmPA="})");
  REQUIRE(b);
  CHECK(b->port == 8010);
  auto noport = parse(R"({"type":"pub","address":{"host":"203.0.113.5","key":")" + key + R"("}})");
  REQUIRE(noport);
  CHECK(noport->port == 8008);
  for (std::string bad : std::vector<std::string>{
           R"({"type":"post","address":{"host":"a.org","port":8008,"key":")" + key + R"("}})",
           R"({"type":"pub"})",
           R"({"type":"pub","address":{"host":"a.org","port":8008.5,"key":")" + key + R"("}})",
           R"({"type":"pub","address":{"host":"a.org","port":70000,"key":")" + key + R"("}})",
           R"({"type":"pub","address":{"host":"a.org","port":"8008","key":")" + key + R"("}})",
           R"({"type":"pub","address":{"host":"a org","port":8008,"key":")" + key + R"("}})",
           R"({"type":"pub","address":{"host":"a.org","port":8008,"key":"@nope.ed25519"}})",
           // A feed cannot send us to our own machine.
           R"({"type":"pub","address":{"host":"127.0.0.1","port":22,"key":")" + key + R"("}})",
           R"({"type":"pub","address":{"host":"localhost","port":8008,"key":")" + key + R"("}})",
           R"({"type":"pub","address":{"host":"::1","port":8008,"key":")" + key + R"("}})",
           R"({"type":"pub","address":{"host":"0.0.0.0","port":8008,"key":")" + key + R"("}})",
           R"({"type":"pub","address":"ws://a.org:80~shs:2VB5k5WarS/kiuwK8wQCC9WPbxnszNrWX4HHS6GgmPA="})",
           R"({"type":"pub","address":[1]})"}) {
    INFO(bad);
    CHECK_FALSE(parse(bad));
  }
}
