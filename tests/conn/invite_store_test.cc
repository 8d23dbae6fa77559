// The pub's invites: create, use up, expire, the file read back and read when damaged.
#include "ssb/invite_store.h"

#include <catch2/catch.hpp>

#include "ssb/invite.h"
#include "ssb/ref.h"
#include "support/vectors.h"

namespace {

ssb::PublicKey Key(uint8_t n) {
  ssb::PublicKey k{};
  k.fill(n);
  return k;
}

}  // namespace

TEST_CASE("invite store: a code is good for its uses, then expired") {
  ssb::InviteStore store;
  REQUIRE(store.Create(Key(1), 2, "welcome", 1000).ok());
  CHECK(store.Use(Key(9)).status().code() == ssb::Code::kNotFound);
  auto u1 = store.Use(Key(1));
  REQUIRE(u1.ok());
  CHECK(u1->note == "welcome");
  REQUIRE(store.Use(Key(1)).ok());
  auto u3 = store.Use(Key(1));
  CHECK(u3.status().code() == ssb::Code::kPermissionDenied);
  CHECK(u3.status().message() == "invite has expired");
  store.Unuse(Key(1));
  CHECK(store.Use(Key(1)).ok());

  CHECK(store.Create(Key(2), 0, "", 0).code() == ssb::Code::kInvalidArgument);
  CHECK(store.Create(Key(2), ssb::kMaxInviteUses + 1, "", 0).code() == ssb::Code::kInvalidArgument);
  CHECK(store.Create(Key(2), 1, std::string(ssb::kMaxInviteNoteBytes + 1, 'x'), 0).code() ==
        ssb::Code::kInvalidArgument);
}

TEST_CASE("invite store: the file") {
  ssb::InviteStore store;
  REQUIRE(store.Create(Key(1), 3, "n", 5).ok());
  REQUIRE(store.Use(Key(1)).ok());
  REQUIRE(store.Create(Key(2), 1, "", 6).ok());
  size_t skipped = 1;
  std::string warning;
  auto back = ssb::InviteStore::Parse(store.Serialize(), &skipped, &warning);
  CHECK(skipped == 0);
  CHECK(back.Serialize() == store.Serialize());
  REQUIRE(back.Find(Key(1)));
  CHECK(back.Find(Key(1))->used == 1);
  CHECK(back.Find(Key(1))->total == 3);

  // Damage: wrong types, negative and fractional counts, bad keys are skipped.
  std::string k = ssb::FeedIdFromKey(Key(3));
  std::string text = R"({"version":1,"invites":[
     {"guest":")" + k + R"(","total":2,"used":0},
     {"guest":")" + k + R"(","total":-1,"used":0},
     {"guest":")" + k + R"(","total":1.5,"used":0},
     {"guest":"@x","total":1,"used":0},
     {"guest":")" + k + R"(","total":0,"used":0}, 7]})";
  auto d = ssb::InviteStore::Parse(text, &skipped, &warning);
  CHECK(d.size() == 1);
  CHECK(skipped == 5);
  CHECK(ssb::InviteStore::Parse("garbage", &skipped, &warning).size() == 0);
  CHECK_FALSE(warning.empty());
}

TEST_CASE("invite store: used-up invites make room, unused ones are never dropped") {
  ssb::InviteStore store;
  for (size_t i = 0; i < ssb::kMaxInvites; ++i) {
    ssb::PublicKey k{};
    k[0] = static_cast<uint8_t>(i);
    k[1] = static_cast<uint8_t>(i >> 8);
    REQUIRE(store.Create(k, 1, "", static_cast<int64_t>(i)).ok());
  }
  CHECK(store.Create(Key(0xff), 1, "", 0).code() == ssb::Code::kLimitExceeded);
  ssb::PublicKey first{};
  REQUIRE(store.Use(first).ok());
  CHECK(store.Create(Key(0xff), 1, "", 0).ok());
  CHECK(store.Find(first) == nullptr);
  CHECK(store.size() == ssb::kMaxInvites);
}

TEST_CASE("invite messages: the fields and order ssb-invite publishes") {
  // The pub message carries the address as ssb-ref's parseAddress reads it from the code
  // (generated/invites.json's "pub", made by the real ssb-ref).
  ssb::json::Value doc = ssb::test::ReadVectorJson("generated/invites.json");
  size_t total = 0, passed = 0;
  for (const ssb::json::Value& c : ssb::test::At(doc, "valid").items()) {
    ++total;
    auto inv = ssb::ParseInviteCode(ssb::test::Str(c, "code"));
    REQUIRE(inv.ok());
    ssb::json::Value pub = ssb::PubAnnouncement(inv->pub);
    CHECK(ssb::json::Stringify(*pub.Find("address")) == ssb::json::Stringify(ssb::test::At(c, "pub")));
    if (ssb::json::Stringify(*pub.Find("address")) == ssb::json::Stringify(ssb::test::At(c, "pub"))) ++passed;
  }
  CHECK(passed == total);
  ssb::test::ReportCount("invites.json pub message addresses", passed, total);
  CHECK(ssb::json::Stringify(ssb::InviteAcceptFollow(Key(1))) ==
        R"({"type":"contact","following":true,"autofollow":true,"contact":")" + ssb::FeedIdFromKey(Key(1)) + R"("})");
  CHECK(ssb::json::Stringify(ssb::InviteUseFollow("@a", "")) ==
        R"({"type":"contact","contact":"@a","following":true,"pub":true})");
  CHECK(ssb::json::Stringify(ssb::InviteUseFollow("@a", "hi")) ==
        R"({"type":"contact","contact":"@a","following":true,"pub":true,"note":"hi"})");
}
