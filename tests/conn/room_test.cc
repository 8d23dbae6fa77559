// Rooms without sockets: the room's bookkeeping and limits, and how a client reads a room that
// tells the truth and one that lies.
#include "ssb/room.h"

#include <catch2/catch.hpp>

#include "ssb/ref.h"

namespace {

using ssb::PublicKey;
using ssb::json::Value;

PublicKey Key(uint8_t n) {
  PublicKey k{};
  k.fill(n);
  return k;
}

Value J(const std::string& text) {
  auto v = ssb::json::Parse(text);
  REQUIRE(v.ok());
  return std::move(v).value();
}

constexpr int64_t kNow = 1'700'000'000'000;

}  // namespace

TEST_CASE("room state: attendants join, reconnect and leave") {
  ssb::RoomState room(Key(0));
  CHECK(*room.Join(Key(1), 10) == true);
  CHECK(*room.Join(Key(2), 11) == true);
  CHECK(*room.Join(Key(1), 12) == false);  // reconnected: same attendant, new connection
  CHECK(room.ConnectionOf(Key(1)) == 12u);
  CHECK_FALSE(room.Join(Key(0), 13).ok());  // the room itself
  CHECK_FALSE(room.Leave(Key(1), 10));      // the old connection's close changes nothing
  CHECK(room.Attending(Key(1)));
  CHECK(ssb::json::Stringify(room.StateEvent()) ==
        "{\"type\":\"state\",\"ids\":[\"" + ssb::FeedIdFromKey(Key(1)) + "\",\"" +
            ssb::FeedIdFromKey(Key(2)) + "\"]}");
  CHECK(room.Leave(Key(1), 12));
  CHECK(room.Attendants() == std::vector<PublicKey>{Key(2)});
  CHECK(ssb::json::Stringify(ssb::RoomState::LeftEvent(Key(1))) ==
        "{\"type\":\"left\",\"id\":\"" + ssb::FeedIdFromKey(Key(1)) + "\"}");
}

TEST_CASE("room state: limits") {
  ssb::RoomLimits limits;
  limits.max_attendants = 3;
  limits.max_tunnels_per_peer = 2;
  limits.max_tunnel_opens_per_minute = 5;
  limits.max_tunnels = 4;
  limits.max_subscribers = 2;
  ssb::RoomState room(Key(0), limits);
  for (uint8_t i = 1; i <= 3; ++i) REQUIRE(room.Join(Key(i), i).ok());
  CHECK(room.Join(Key(4), 4).status().code() == ssb::Code::kLimitExceeded);

  SECTION("tunnels need an attending target that is not the origin or the room") {
    CHECK(room.OpenTunnel(Key(1), Key(9), kNow).code() == ssb::Code::kNotFound);
    CHECK(room.OpenTunnel(Key(1), Key(9), kNow).message() ==
          "could not connect to: " + ssb::FeedIdFromKey(Key(9)));
    CHECK_FALSE(room.OpenTunnel(Key(1), Key(1), kNow).ok());
    CHECK_FALSE(room.OpenTunnel(Key(1), Key(0), kNow).ok());
    CHECK(room.tunnels() == 0);
  }
  SECTION("tunnels per origin at once, and opens per minute (a peer in a loop)") {
    REQUIRE(room.OpenTunnel(Key(1), Key(2), kNow).ok());
    REQUIRE(room.OpenTunnel(Key(1), Key(3), kNow).ok());
    CHECK(room.OpenTunnel(Key(1), Key(2), kNow).code() == ssb::Code::kLimitExceeded);
    // Others are not affected by one origin's limit.
    CHECK(room.OpenTunnel(Key(2), Key(3), kNow).ok());
    // Closing and reopening in a loop: at most 5 opens within the minute.
    int opened = 2;
    for (int i = 0; i < 10; ++i) {
      room.CloseTunnel(Key(1));
      if (room.OpenTunnel(Key(1), Key(2), kNow + 100 + i).ok()) ++opened;
    }
    CHECK(opened == 5);
    room.CloseTunnel(Key(1));
    room.CloseTunnel(Key(1));
    // A minute later the origin may open again.
    CHECK(room.OpenTunnel(Key(1), Key(2), kNow + 61000).ok());
  }
  SECTION("tunnels in all") {
    REQUIRE(room.OpenTunnel(Key(1), Key(2), kNow).ok());
    REQUIRE(room.OpenTunnel(Key(2), Key(3), kNow).ok());
    REQUIRE(room.OpenTunnel(Key(3), Key(1), kNow).ok());
    REQUIRE(room.OpenTunnel(Key(3), Key(2), kNow).ok());
    CHECK(room.OpenTunnel(Key(1), Key(3), kNow).code() == ssb::Code::kLimitExceeded);
    room.CloseTunnel(Key(3));
    CHECK(room.OpenTunnel(Key(1), Key(3), kNow).ok());
    room.CloseTunnel(Key(7));  // never opened one: nothing changes
    CHECK(room.tunnels() == 4);
  }
  SECTION("subscribers") {
    REQUIRE(room.Subscribe().ok());
    REQUIRE(room.Subscribe().ok());
    CHECK(room.Subscribe().code() == ssb::Code::kLimitExceeded);
    room.Unsubscribe();
    CHECK(room.Subscribe().ok());
  }
}

TEST_CASE("room client: what ssb-room 1.3.0 and rooms 2.0 answer") {
  auto meta = ssb::ParseRoomMetadata(J(R"({"name":"r","membership":true,"features":["tunnel","room1"]})"));
  REQUIRE(meta.ok());
  CHECK(meta->name == "r");
  CHECK(meta->membership);
  CHECK(meta->attendants_api);
  CHECK_FALSE(ssb::ParseRoomMetadata(J("true")).ok());
  CHECK(ssb::ParseIsRoom(J("true")).ok());
  CHECK(ssb::ParseIsRoom(J(R"({"name":"x","description":"y"})"))->name == "x");
  CHECK(ssb::ParseIsRoom(J("false")).status().code() == ssb::Code::kNotFound);
  CHECK(ssb::ParseIsRoom(J("null")).status().code() == ssb::Code::kNotFound);
  // The texts a room that lacks room.metadata answers with.
  CHECK(ssb::IsMissingMethodError("method:room,metadata is not in list of allowed methods"));
  CHECK(ssb::IsMissingMethodError("no async:room,metadata"));
  CHECK_FALSE(ssb::IsMissingMethodError("something else"));
  // What our room answers reads back as a room.
  CHECK(ssb::ParseRoomMetadata(ssb::RoomState::MetadataAnswer("ours"))->name == "ours");
  CHECK(ssb::ParseIsRoom(ssb::RoomState::IsRoomAnswer("", "")).ok());
}

TEST_CASE("room client: attendants from events and endpoint lists") {
  const PublicKey self = Key(0xee), room = Key(0xdd);
  auto id = [](uint8_t n) { return "\"" + ssb::FeedIdFromKey(Key(n)) + "\""; };
  ssb::RoomAttendants a(self, room, 3);
  auto c = a.ApplyEvent(J(R"({"type":"state","ids":[)" + id(1) + "," + id(2) + "," + id(0xee) + "," + id(0xdd) + "]}"));
  REQUIRE(c.ok());
  CHECK(c->joined.size() == 2);  // ourselves and the room are not attendants to dial
  CHECK(a.ids().size() == 2);
  c = a.ApplyEvent(J(R"({"type":"joined","id":)" + id(3) + "}"));
  REQUIRE(c.ok());
  CHECK(c->joined == std::vector<PublicKey>{Key(3)});
  c = a.ApplyEvent(J(R"({"type":"joined","id":)" + id(3) + "}"));
  CHECK(c->joined.empty());  // a repeat changes nothing
  c = a.ApplyEvent(J(R"({"type":"left","id":)" + id(1) + "}"));
  CHECK(c->left == std::vector<PublicKey>{Key(1)});
  // Endpoint lists replace the whole set.
  c = a.ApplyEndpoints(J("[" + id(2) + "," + id(4) + "]"));
  REQUIRE(c.ok());
  CHECK(c->joined == std::vector<PublicKey>{Key(4)});
  CHECK(c->left == std::vector<PublicKey>{Key(3)});

  SECTION("a lying room") {
    CHECK(a.ApplyEvent(J(R"({"type":"joined","id":"@nope"})")).status().code() == ssb::Code::kInvalidInput);
    CHECK_FALSE(a.ApplyEvent(J(R"({"type":"joined"})")).ok());
    CHECK_FALSE(a.ApplyEvent(J(R"({"type":"party","id":)" + id(5) + "}")).ok());
    CHECK_FALSE(a.ApplyEvent(J(R"({"ids":[]})")).ok());
    CHECK_FALSE(a.ApplyEvent(J("[]")).ok());
    CHECK_FALSE(a.ApplyEndpoints(J(R"({"ids":[]})")).ok());
    CHECK_FALSE(a.ApplyEndpoints(J("[1,2]")).ok());
    CHECK(a.ids().size() == 2);  // unchanged by the lies
    // More attendants than we follow: the first ones are kept, the rest refused.
    std::string many = "[";
    for (int i = 1; i <= 200; ++i) many += std::string(i > 1 ? "," : "") + id(static_cast<uint8_t>(i));
    auto r = a.ApplyEndpoints(J(many + "]"));
    CHECK(r.status().code() == ssb::Code::kLimitExceeded);
    CHECK(a.ids().size() == 3);
    for (int i = 10; i < 200; ++i) {
      auto j = a.ApplyEvent(J(R"({"type":"joined","id":)" + id(static_cast<uint8_t>(i)) + "}"));
      CHECK_FALSE(j.ok());
    }
    CHECK(a.ids().size() == 3);
  }
}
