// Invite codes against generated/invites.json (made by the real ssb-ref 2.16.0 and ssb-keys
// 8.5.0, as ssb-invite 2.1.8 writes and reads codes), tunnel and dial addresses, and hostile
// codes.
#include "ssb/invite.h"

#include <catch2/catch.hpp>
#include <random>

#include "ssb/base64.h"
#include "ssb/ref.h"
#include "support/vectors.h"

using ssb::json::Value;
using namespace ssb::test;

TEST_CASE("invites.json: codes ssb-invite writes parse to its pub address and guest key") {
  Value doc = ReadVectorJson("generated/invites.json");
  size_t total = 0, passed = 0;
  for (const Value& c : At(doc, "valid").items()) {
    ++total;
    std::string code = Str(c, "code");
    INFO(code);
    auto inv = ssb::ParseInviteCode(code);
    REQUIRE(inv.ok());
    const Value& pub = At(c, "pub");
    CHECK(inv->pub.host == Str(pub, "host"));
    CHECK(inv->pub.port == static_cast<uint16_t>(At(pub, "port").as_number()));
    CHECK(ssb::FeedIdFromKey(inv->pub.key) == Str(pub, "key"));
    CHECK(inv->GuestKeys().id() == Str(c, "guest_id"));
    bool ok = inv->pub.host == Str(pub, "host") && inv->GuestKeys().id() == Str(c, "guest_id");
    if (c.Find("legacy")) {
      // Printing gives back exactly what ssb-invite's create and accept write.
      CHECK(ssb::FormatInviteLegacy(*inv) == Str(c, "legacy"));
      CHECK(ssb::FormatInviteMultiserver(*inv) == Str(c, "multiserver"));
      ok = ok && ssb::FormatInviteLegacy(*inv) == Str(c, "legacy") &&
           ssb::FormatInviteMultiserver(*inv) == Str(c, "multiserver");
    }
    if (ok) ++passed;
  }
  CHECK(passed == total);
  ReportCount("invites.json valid codes (pub address, guest key, both printed forms)", passed, total);
}

TEST_CASE("invites.json: codes ssb-invite refuses are refused with an error") {
  Value doc = ReadVectorJson("generated/invites.json");
  size_t total = 0, passed = 0;
  for (const Value& c : At(doc, "invalid").items()) {
    ++total;
    std::string code = Str(c, "code");
    INFO(code);
    auto inv = ssb::ParseInviteCode(code);
    CHECK_FALSE(inv.ok());
    if (!inv.ok()) {
      CHECK_FALSE(inv.status().message().empty());
      ++passed;
    }
  }
  CHECK(passed == total);
  ReportCount("invites.json invalid codes refused", passed, total);
}

TEST_CASE("invite codes: hostile input") {
  const std::string key = "@2VB5k5WarS/kiuwK8wQCC9WPbxnszNrWX4HHS6GgmPA=.ed25519";
  const std::string seed = "4Zhl9cspahYxMXEKFr9+Jb57zYGhS9uLQzElue11CUU=";
  SECTION("over the size limit") {
    std::string big = "1.2.3.4:8008:" + key + "~" + seed + std::string(5000, 'A');
    CHECK(ssb::ParseInviteCode(big).status().code() == ssb::Code::kLimitExceeded);
  }
  SECTION("a non-canonical seed (padding bits set) is refused") {
    std::string bad = seed;
    bad[42] = 'V';  // ...CUV= decodes to the same bytes with stray bits
    CHECK_FALSE(ssb::ParseInviteCode("1.2.3.4:8008:" + key + "~" + bad).ok());
  }
  SECTION("control bytes, NUL and non-ASCII in the host") {
    for (std::string host : {std::string("a\0b", 3), std::string("h\xc3\xa9.org"), std::string("a b"),
                             std::string("a/b"), std::string("")}) {
      CHECK_FALSE(ssb::ParseInviteCode(host + ":8008:" + key + "~" + seed).ok());
    }
  }
  SECTION("ws and onion invites are named, not dialed") {
    auto ws = ssb::ParseInviteCode("ws:1.2.3.4:8989~shs:" + key.substr(1, 44) + ":" + seed);
    CHECK(ws.status().code() == ssb::Code::kUnsupported);
    CHECK(ws.status().message().find("ws") != std::string::npos);
  }
  SECTION("a code over lines and with spaces around it is read") {
    auto inv = ssb::ParseInviteCode("  1.2.3.4:8008:" + key + "~" + seed + "\n");
    REQUIRE(inv.ok());
    CHECK(inv->pub.host == "1.2.3.4");
  }
  SECTION("random bytes never crash and never parse into a bad address") {
    std::mt19937 rng(1234);
    std::string alphabet = "0123456789:~@.=+/;!#\"abcdefghijklmnopqrstuvwxyzABC net shs ed25519\x01\xff";
    size_t parsed = 0;
    for (int i = 0; i < 20000; ++i) {
      std::string s;
      size_t n = rng() % 120;
      for (size_t k = 0; k < n; ++k) s += alphabet[rng() % alphabet.size()];
      if (rng() % 4 == 0) s = "1.2.3.4:8008:" + key + "~" + s;
      auto inv = ssb::ParseInviteCode(s);
      if (inv.ok()) {
        ++parsed;
        CHECK(ssb::IsValidHost(inv->pub.host));
        CHECK(inv->pub.port > 0);
        // What we print parses back to the same code.
        auto again = ssb::ParseInviteCode(ssb::FormatInviteMultiserver(*inv));
        REQUIRE(again.ok());
        CHECK(again->seed == inv->seed);
      }
    }
    CHECK(parsed < 20000);
  }
}

TEST_CASE("tunnel addresses: tunnel:@ROOM:@TARGET~shs:KEY") {
  const std::string room = "@2VB5k5WarS/kiuwK8wQCC9WPbxnszNrWX4HHS6GgmPA=.ed25519";
  const std::string target = "@chWVOIxVoHBR3x8Uod8J9r2VAC4xKiJcZ3owGRPsP2E=.ed25519";
  const std::string tkey = "chWVOIxVoHBR3x8Uod8J9r2VAC4xKiJcZ3owGRPsP2E=";
  // ssb-room-client 2.0.2's getAddress(key): `tunnel:${roomKey}:${key}~shs:${shs}`.
  std::string text = "tunnel:" + room + ":" + target + "~shs:" + tkey;
  auto t = ssb::ParseTunnelAddress(text);
  REQUIRE(t.ok());
  CHECK(ssb::FeedIdFromKey(t->portal) == room);
  CHECK(ssb::FeedIdFromKey(t->target) == target);
  CHECK(ssb::FormatTunnelAddress(*t) == text);
  auto d = ssb::ParseDialAddress(text);
  REQUIRE(d.ok());
  CHECK(d->kind == ssb::DialAddress::Kind::kTunnel);
  CHECK(d->key() == t->target);
  CHECK(ssb::FormatDialAddress(*d) == text);

  SECTION("refused") {
    // The shs key must be the target's: a room cannot make us authenticate someone else.
    CHECK_FALSE(ssb::ParseTunnelAddress("tunnel:" + room + ":" + target + "~shs:" + room.substr(1, 44)).ok());
    CHECK_FALSE(ssb::ParseTunnelAddress("tunnel:" + room + "~shs:" + tkey).ok());
    CHECK_FALSE(ssb::ParseTunnelAddress("tunnel:" + room + ":" + target).ok());
    CHECK_FALSE(ssb::ParseTunnelAddress("tunnel:nope:" + target + "~shs:" + tkey).ok());
    CHECK_FALSE(ssb::ParseTunnelAddress("tunnel:" + room + ":" + target + ":x~shs:" + tkey).ok());
    CHECK_FALSE(ssb::ParseTunnelAddress("net:1.2.3.4:8008~shs:" + tkey).ok());
  }
  SECTION("a net address is a dial address too") {
    auto n = ssb::ParseDialAddress("net:1.2.3.4:8008~shs:" + tkey);
    REQUIRE(n.ok());
    CHECK(n->kind == ssb::DialAddress::Kind::kNet);
    CHECK(n->net.port == 8008);
    CHECK(ssb::ParseDialAddress("ws:1.2.3.4:80~shs:" + tkey).status().code() == ssb::Code::kUnsupported);
  }
}
