#include <catch2/catch.hpp>

#include "ssb/message.h"
#include "ssb/ref.h"

namespace {

ssb::Keypair TestKeys(uint8_t fill) {
  std::array<uint8_t, 32> seed;
  seed.fill(fill);
  return ssb::Keypair::FromSeed(seed);
}

ssb::json::Value Post(const std::string& text) {
  auto c = ssb::json::Value::Object();
  c.Set("type", ssb::json::Value::String("post"));
  c.Set("text", ssb::json::Value::String(text));
  return c;
}

}  // namespace

TEST_CASE("created messages validate in both modes and chain") {
  auto keys = TestKeys(1);
  auto m1 = ssb::CreateMessage(keys, nullptr, Post("hello"), 1700000000000);
  REQUIRE(m1.ok());
  CHECK(ssb::Validate(*m1, nullptr).ok());
  CHECK(ssb::Validate(*m1, nullptr, ssb::ValidateOptions::Strict()).ok());
  CHECK(m1->value().keys() == std::vector<std::string>{"previous", "sequence", "author",
                                                       "timestamp", "hash", "content",
                                                       "signature"});
  ssb::FeedState s1{m1->id(), 1};
  auto m2 = ssb::CreateMessage(keys, &s1, Post("second \xF0\x9F\x98\x80"), 1700000000001);
  REQUIRE(m2.ok());
  CHECK(ssb::Validate(*m2, &s1).ok());
  // The wire form parses back to the same message and id.
  auto again = ssb::Message::Parse(m2->Wire());
  REQUIRE(again.ok());
  CHECK(again->id() == m2->id());
  CHECK(ssb::Validate(*again, &s1).ok());
}

TEST_CASE("validation names the rule that failed") {
  auto keys = TestKeys(2);
  auto m1 = ssb::CreateMessage(keys, nullptr, Post("a"), 1);
  REQUIRE(m1.ok());
  ssb::FeedState s1{m1->id(), 1};
  auto m2 = ssb::CreateMessage(keys, &s1, Post("b"), 2);
  REQUIRE(m2.ok());

  SECTION("sequence gap") {
    ssb::FeedState s0{m1->id(), 0};
    auto st = ssb::Validate(*m2, &s0);
    CHECK(st.code() == ssb::Code::kInvalidMessage);
    CHECK(st.message().find("sequence") != std::string::npos);
  }
  SECTION("fork: right sequence, other previous") {
    ssb::FeedState other{"%AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.sha256", 1};
    CHECK(ssb::Validate(*m2, &other).code() == ssb::Code::kFork);
  }
  SECTION("not a first message") {
    CHECK(ssb::Validate(*m2, nullptr).code() == ssb::Code::kInvalidMessage);
  }
  SECTION("tampered content breaks the signature") {
    ssb::json::Value v = m2->value();
    v.Find("content")->Set("text", ssb::json::Value::String("c"));
    auto st = ssb::Validate(ssb::Message::FromValue(v), &s1);
    CHECK(st.code() == ssb::Code::kInvalidMessage);
    CHECK(st.message() == "invalid signature");
  }
  SECTION("reordered keys") {
    ssb::json::Value v = m2->value();
    ssb::json::Value w = ssb::json::Value::Object();
    for (const char* k : {"previous", "author", "sequence", "hash", "timestamp", "content",
                          "signature"}) {
      w.Set(k, *v.Find(k));
    }
    CHECK(ssb::Validate(ssb::Message::FromValue(w), &s1).message().find("order") !=
          std::string::npos);
  }
  SECTION("a different network's hmac key") {
    ssb::ValidateOptions opt;
    opt.hmac_key = ssb::HmacKey{};
    CHECK(ssb::Validate(*m2, &s1, opt).message() == "invalid signature");
  }
}

TEST_CASE("hmac-signed messages for test networks") {
  auto keys = TestKeys(3);
  ssb::HmacKey hk;
  hk.fill(7);
  auto m = ssb::CreateMessage(keys, nullptr, Post("on a test network"), 5, hk);
  REQUIRE(m.ok());
  ssb::ValidateOptions opt;
  opt.hmac_key = hk;
  CHECK(ssb::Validate(*m, nullptr, opt).ok());
  CHECK_FALSE(ssb::Validate(*m, nullptr).ok());
}

TEST_CASE("the 8192 UTF-16 limit applies to the signed message") {
  auto keys = TestKeys(4);
  auto too_big = ssb::CreateMessage(keys, nullptr, Post(std::string(8200, 'x')), 1);
  REQUIRE_FALSE(too_big.ok());
  CHECK(too_big.status().message().find("8192") != std::string::npos);
  // Find the largest text that fits: the result is exactly at the boundary.
  size_t lo = 7000, hi = 8200;
  while (lo + 1 < hi) {
    size_t mid = (lo + hi) / 2;
    (ssb::CreateMessage(keys, nullptr, Post(std::string(mid, 'x')), 1).ok() ? lo : hi) = mid;
  }
  auto fits = ssb::CreateMessage(keys, nullptr, Post(std::string(lo, 'x')), 1);
  REQUIRE(fits.ok());
  CHECK(fits->utf16_length() == 8192);
}

TEST_CASE("encrypted content strings follow ssb-validate's pattern") {
  auto keys = TestKeys(5);
  auto boxed = ssb::CreateMessage(keys, nullptr, ssb::json::Value::String("AAAA.box"), 1);
  REQUIRE(boxed.ok());
  CHECK(boxed->is_encrypted());
  auto bad = ssb::CreateMessage(keys, nullptr, ssb::json::Value::String("AAAA"), 1);
  CHECK_FALSE(bad.ok());
}

TEST_CASE("refs accept only canonical base64") {
  auto keys = TestKeys(6);
  CHECK(ssb::IsFeedId(keys.id()));
  CHECK(ssb::ParseFeedId(keys.id()).value() == keys.public_key());
  std::string id = keys.id();
  std::string url_safe = id;
  for (char& c : url_safe) c = c == '+' ? '-' : c == '/' ? '_' : c;
  if (url_safe != id) CHECK_FALSE(ssb::IsFeedId(url_safe));
  CHECK_FALSE(ssb::IsFeedId(id + " "));
  CHECK_FALSE(ssb::IsFeedId(id.substr(0, 44) + "B=.ed25519"));  // non-zero padding bits
  CHECK_FALSE(ssb::IsMsgId(id));
}

TEST_CASE("hostile messages: a missing or malformed signature is invalid, never a crash") {
  auto m = ssb::CreateMessage(TestKeys(6), nullptr, Post("hi"), 1);
  REQUIRE(m.ok());
  for (int variant = 0; variant < 4; ++variant) {
    ssb::json::Value v = m->value();
    if (variant == 0) v.Erase("signature");
    if (variant == 1) v.Set("signature", ssb::json::Value::Number(3));
    if (variant == 2) v.Set("signature", ssb::json::Value::String("AAAA"));
    if (variant == 3) v.Set("signature", ssb::json::Value::Array());
    auto msg = ssb::Message::FromValue(v);
    CHECK_FALSE(ssb::VerifyMessageSignature(msg, {}));
    CHECK_FALSE(ssb::Validate(msg, nullptr).ok());
    CHECK_FALSE(ssb::Validate(msg, nullptr, ssb::ValidateOptions::Strict()).ok());
  }
  // Not an object at all.
  for (const char* text : {"[]", "null", "\"x\"", "[1,2]"}) {
    auto msg = ssb::Message::Parse(text);
    REQUIRE(msg.ok());
    CHECK_FALSE(ssb::VerifyMessageSignature(*msg, {}));
  }
}

TEST_CASE("hostile messages: size and value-count limits bound a parse before it allocates") {
  // More values than any valid message can hold (each takes a line of its own in the signed
  // form), in text well under the size limit.
  std::string many = "[";
  for (int i = 0; i < 5000; ++i) many += i ? ",0" : "0";
  many += "]";
  auto v = ssb::Message::Parse(many);
  REQUIRE_FALSE(v.ok());
  CHECK(v.status().code() == ssb::Code::kLimitExceeded);
  // Text over the size limit is refused before parsing.
  auto big = ssb::Message::Parse("\"" + std::string(70000, 'a') + "\"");
  REQUIRE_FALSE(big.ok());
  CHECK(big.status().code() == ssb::Code::kLimitExceeded);
  // The largest valid message still parses, and its memory is reported.
  size_t lo = 7000, hi = 8200;
  while (lo + 1 < hi) {
    size_t mid = (lo + hi) / 2;
    (ssb::CreateMessage(TestKeys(4), nullptr, Post(std::string(mid, 'x')), 1).ok() ? lo : hi) = mid;
  }
  auto fits = ssb::CreateMessage(TestKeys(4), nullptr, Post(std::string(lo, 'x')), 1);
  REQUIRE(fits.ok());
  auto again = ssb::Message::Parse(fits->Wire());
  REQUIRE(again.ok());
  CHECK(again->id() == fits->id());
  CHECK(again->memory_bytes() > lo);
  CHECK(again->memory_bytes() < 64 * 1024);
  // A message of many small values at the 8192 limit has fewer than the value limit.
  auto arr = ssb::json::Value::Array();
  auto c = ssb::json::Value::Object();
  c.Set("type", ssb::json::Value::String("post"));
  for (int i = 0; i < 2000; ++i) arr.Push(ssb::json::Value::Number(0));
  c.Set("a", arr);
  auto dense = ssb::CreateMessage(TestKeys(4), nullptr, c, 1);
  CHECK_FALSE(dense.ok());  // over 8192 units long before it nears the value limit
}

TEST_CASE("bytes decode as Node decodes them, and WTF-8 allows lone surrogates only") {
  using ssb::json::DecodeUtf8;
  using ssb::json::IsWellFormedWtf8;
  CHECK(DecodeUtf8("caf\xC3\xA9") == "caf\xC3\xA9");
  // Each maximal ill-formed subpart becomes one U+FFFD (WHATWG): a cut 3-byte sequence is one,
  // a stray continuation byte is one, an overlong lead is one per byte.
  CHECK(DecodeUtf8("a\xE2\x82z") == "a\xEF\xBF\xBDz");
  CHECK(DecodeUtf8("\x80\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(DecodeUtf8("\xC0\xAFx\xF0") == "\xEF\xBF\xBD\xEF\xBF\xBDx\xEF\xBF\xBD");
  CHECK(IsWellFormedWtf8(std::string_view("ok \xE2\x82\xAC")));
  CHECK(IsWellFormedWtf8(std::string_view("\xED\xA0\x80 alone")));        // lone high surrogate
  CHECK(IsWellFormedWtf8(std::string_view("x\xED\xB0\x80")));             // lone low surrogate
  CHECK_FALSE(IsWellFormedWtf8(std::string_view("\xED\xA0\x80\xED\xB0\x80")));  // a pair: CESU-8
  CHECK_FALSE(IsWellFormedWtf8(std::string_view("ab\xFF")));
  CHECK_FALSE(IsWellFormedWtf8(std::string_view("\xED\xA0")));             // cut surrogate
}

TEST_CASE("text that is not UTF-8 is never signed") {
  // A Latin-1 "café" from a terminal: the bytes 63 61 66 E9.
  std::string latin1 = "caf\xE9";
  CHECK(ssb::json::FindInvalidUtf8(latin1) == 3);
  ssb::Status st = ssb::json::CheckUtf8(latin1, "option --text");
  REQUIRE_FALSE(st.ok());
  CHECK(st.code() == ssb::Code::kInvalidArgument);
  CHECK(st.message().find("option --text") != std::string::npos);
  CHECK(st.message().find("0xE9") != std::string::npos);
  CHECK(ssb::json::CheckUtf8("caf\xC3\xA9", "x").ok());
  // CESU-8 surrogates and overlongs are not UTF-8 either.
  CHECK_FALSE(ssb::json::CheckUtf8("\xED\xA0\x80", "x").ok());
  CHECK_FALSE(ssb::json::CheckUtf8("\xC0\xAF", "x").ok());

  auto bad = ssb::CreateMessage(TestKeys(7), nullptr, Post(latin1), 1);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == ssb::Code::kInvalidArgument);
  auto bad_key = Post("ok");
  bad_key.Set("k\xFF", ssb::json::Value::Bool(true));
  CHECK_FALSE(ssb::CreateMessage(TestKeys(7), nullptr, bad_key, 1).ok());
  // A lone surrogate is a JavaScript string like any other (it came from "\ud800" in JSON).
  auto lone = ssb::CreateMessage(TestKeys(7), nullptr, Post("\xED\xA0\x80"), 1);
  REQUIRE(lone.ok());
  // ... but a pair written as two 3-byte halves would be read back as one character.
  CHECK_FALSE(ssb::CreateMessage(TestKeys(7), nullptr, Post("\xED\xA0\xBD\xED\xB8\x80"), 1).ok());
  // What we sign verifies after a round trip through the wire form.
  auto good = ssb::CreateMessage(TestKeys(7), nullptr, Post("caf\xC3\xA9"), 1);
  REQUIRE(good.ok());
  auto back = ssb::Message::Parse(good->Wire());
  REQUIRE(back.ok());
  CHECK(back->id() == good->id());
  CHECK(ssb::Validate(*back, nullptr).ok());
}

TEST_CASE("an array value is signed as ssb-keys' for-in clone, built in linear time") {
  // ssb-keys clones with for-in: [a, b] is signed as {"0": a, "1": b}. A huge array (a muxrpc
  // body of 1 MiB holds ~500,000 small numbers) is handled in one pass, not one key search per
  // element (which took minutes: found by the json fuzz target).
  auto arr = ssb::json::Value::Array();
  for (int i = 0; i < 12; ++i) arr.Push(ssb::json::Value::Number(i * 10));
  auto clone = ssb::json::Value::Object();
  for (size_t i = 0; i < arr.size(); ++i) clone.Set(std::to_string(i), arr.items()[i]);
  auto m = ssb::Message::FromValue(arr);
  CHECK(m.signing_bytes() == ssb::json::StringifyPretty(clone));
  CHECK(m.signing_bytes().find("\"10\": 100") != std::string::npos);
  auto big = ssb::json::Value::Array();
  for (int i = 0; i < 500000; ++i) big.Push(ssb::json::Value::Number(i % 3));
  auto mb = ssb::Message::FromValue(std::move(big));
  CHECK(mb.signing_bytes().find("\"499999\": 1") != std::string::npos);
  CHECK_FALSE(ssb::Validate(mb, nullptr).ok());
}

TEST_CASE("ValidateAuthentic decides as Validate for messages CheckAuthentic passed") {
  auto keys = TestKeys(9);
  auto m1 = ssb::CreateMessage(keys, nullptr, Post("a"), 1);
  REQUIRE(m1.ok());
  ssb::FeedState s1{m1->id(), 1};
  auto m2 = ssb::CreateMessage(keys, &s1, Post("b"), 2);
  REQUIRE(m2.ok());
  ssb::FeedState s0{m1->id(), 0};
  ssb::FeedState other{"%AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.sha256", 1};
  ssb::FeedState s2{m2->id(), 2};
  for (const auto& opt : {ssb::ValidateOptions{}, ssb::ValidateOptions::Strict()}) {
    REQUIRE(ssb::CheckAuthentic(*m1, opt).ok());
    REQUIRE(ssb::CheckAuthentic(*m2, opt).ok());
    ssb::ValidateOptions chain = opt;
    chain.verify_signature = false;
    // Every state the chain can be in: first, next, gap, fork, behind, no predecessor.
    std::vector<std::pair<const ssb::Message*, const ssb::FeedState*>> cases = {
        {&*m1, nullptr}, {&*m2, &s1}, {&*m2, &s0}, {&*m2, &other}, {&*m2, &s2},
        {&*m2, nullptr}, {&*m1, &s1}};
    for (const auto& [m, prev] : cases) {
      ssb::Status full = ssb::Validate(*m, prev, opt);
      ssb::Status fast = ssb::ValidateAuthentic(*m, prev, chain);
      CHECK(fast.code() == full.code());
      CHECK(fast.message() == full.message());
    }
  }
}
