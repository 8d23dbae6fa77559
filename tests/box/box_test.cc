// private-box: known answers from the JavaScript packages, and our own round trips.
#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <sstream>

#include "ssb/base64.h"
#include "ssb/box.h"
#include "ssb/message.h"
#include "support/vectors.h"
#include "support/hex.h"

using ssb::json::Value;
using namespace ssb::test;

namespace {

ssb::Keypair KeyFromSeedHex(const std::string& hex) {
  auto seed = ssb::HexDecode(hex);
  REQUIRE(seed);
  REQUIRE(seed->size() == 32);
  return ssb::Keypair::FromSeed(std::span<const uint8_t, 32>(seed->data(), 32));
}

}  // namespace

TEST_CASE("private_box.json: deterministic encryption, decrypt matrix, limits, quirk") {
  Value doc = ReadVectorJson("generated/private_box.json");
  std::map<std::string, ssb::Keypair> keys;
  for (size_t i = 0; i < At(doc, "keys").size(); ++i) {
    const Value& k = At(doc, "keys").items()[i];
    ssb::Keypair kp = KeyFromSeedHex(Str(k, "seed_hex"));
    CHECK(kp.id() == Str(k, "id"));
    CHECK(ssb::HexEncode(*ssb::CurvePublicFromEd25519(kp.public_key())) ==
          Str(k, "curve25519_pk_hex"));
    CHECK(ssb::HexEncode(ssb::CurveSecretFromKeypair(kp)) == Str(k, "curve25519_sk_hex"));
    keys.emplace(At(doc, "keys").keys()[i], kp);
  }
  size_t total = 0, passed = 0;
  for (const Value& v : At(doc, "vectors").items()) {
    ++total;
    INFO(Str(v, "name"));
    std::vector<ssb::PublicKey> recps;
    for (const Value& r : At(v, "recipients").items()) recps.push_back(keys.at(r.as_string()).public_key());
    ssb::BoxRandomness rnd{HexArray<24>(Str(v, "nonce_hex")), HexArray<32>(Str(v, "body_key_hex")),
                           HexArray<32>(Str(v, "onetime_curve25519_sk_hex"))};
    auto boxed = ssb::BoxEncryptWith(Str(v, "plaintext_utf8"), recps, rnd);
    REQUIRE(boxed.ok());
    bool ok = *boxed == Str(v, "boxed");
    CHECK(*boxed == Str(v, "boxed"));
    const Value& can = At(v, "can_decrypt");
    for (size_t i = 0; i < can.size(); ++i) {
      auto plain = ssb::BoxDecrypt(Str(v, "boxed"), keys.at(can.keys()[i]));
      bool expect = can.items()[i].as_bool();
      CHECK(plain.has_value() == expect);
      if (expect) CHECK(*plain == Str(v, "plaintext_utf8"));
      ok = ok && plain.has_value() == expect && (!expect || *plain == Str(v, "plaintext_utf8"));
    }
    auto unbox = ssb::Base64DecodeCanonical(Str(v, "unbox_key_b64_first_recipient"));
    REQUIRE(unbox);
    REQUIRE(unbox->size() == 33);
    auto via_key = ssb::BoxDecryptWithUnboxKey(Str(v, "boxed"),
                                               std::span<const uint8_t, 33>(unbox->data(), 33));
    CHECK(via_key == std::optional<std::string>(Str(v, "plaintext_utf8")));
    passed += ok;
  }
  // Eight recipients are refused, as private-box refuses them.
  ++total;
  std::vector<ssb::PublicKey> eight(8, keys.at("alice").public_key());
  auto refused = ssb::BoxEncrypt("{}", eight);
  CHECK(refused.status().code() == ssb::Code::kInvalidArgument);
  passed += refused.status().code() == ssb::Code::kInvalidArgument;
  // The decoder probes an eighth slot, like the JavaScript one.
  ++total;
  const Value& quirk = At(doc, "quirk_eight_slots");
  auto heidi = ssb::BoxDecrypt(Str(quirk, "boxed"), keys.at("heidi"));
  CHECK(heidi.has_value());
  passed += heidi.has_value();
  ReportCount("private-box generated", passed, total);
}

TEST_CASE("private-box-rs: raw curve25519 keys") {
  Value doc = ReadVectorJson("private-box-rs/simple.json");
  auto ct = ssb::Base64DecodeCanonical(Str(doc, "cypherText"));
  REQUIRE(ct);
  size_t passed = 0, total = 0;
  for (const Value& k : At(doc, "keys").items()) {
    ++total;
    auto sk = ssb::Base64DecodeCanonical(Str(k, "secretKey"));
    REQUIRE(sk);
    ssb::CurveSecretKey csk;
    std::memcpy(csk.data(), sk->data(), 32);
    auto plain = ssb::BoxDecryptBytes(*ct, csk);
    REQUIRE(plain);
    CHECK(ssb::Base64Encode(std::span(reinterpret_cast<const uint8_t*>(plain->data()), plain->size())) ==
          Str(doc, "msg"));
    ++passed;
  }
  ReportCount("private-box-rs", passed, total);
}

TEST_CASE("private messages in feeds.jsonl decrypt for their recipients") {
  Value msgs = ReadVectorJson("generated/messages.json");
  std::map<std::string, ssb::Keypair> keys;  // by feed id
  for (size_t i = 0; i < At(msgs, "keys").size(); ++i) {
    ssb::Keypair kp = KeyFromSeedHex(Str(At(msgs, "keys").items()[i], "seed_hex"));
    keys.emplace(kp.id(), kp);
  }
  std::istringstream in(ReadVectorFile("generated/feeds.jsonl"));
  std::string line;
  size_t total = 0, passed = 0;
  while (std::getline(in, line)) {
    auto kvt = ssb::json::Parse(line);
    REQUIRE(kvt.ok());
    const Value& content = At(At(*kvt, "value"), "content");
    if (!content.is_string()) continue;
    ++total;
    std::string author = Str(At(*kvt, "value"), "author");
    auto plain = ssb::BoxDecrypt(content.as_string(), keys.at(author));
    REQUIRE(plain);
    auto parsed = ssb::json::Parse(*plain);
    REQUIRE(parsed.ok());
    // Every recipient listed in recps can read it; others cannot.
    bool ok = true;
    for (const Value& r : At(*parsed, "recps").items()) {
      auto it = keys.find(r.as_string());
      if (it != keys.end()) ok = ok && ssb::BoxDecrypt(content.as_string(), it->second) == plain;
    }
    for (auto& [id, kp] : keys) {
      bool listed = false;
      for (const Value& r : At(*parsed, "recps").items()) listed = listed || r.as_string() == id;
      if (!listed) ok = ok && !ssb::BoxDecrypt(content.as_string(), kp).has_value();
    }
    CHECK(ok);
    passed += ok;
  }
  ReportCount("feeds.jsonl private messages", passed, total);
  CHECK(total == 20);
}

TEST_CASE("round trip, wrong key, damaged and hostile input") {
  auto a = ssb::Keypair::Generate(), b = ssb::Keypair::Generate(), c = ssb::Keypair::Generate();
  std::vector<ssb::PublicKey> recps{a.public_key(), b.public_key()};
  auto boxed = ssb::BoxEncrypt(R"({"type":"post","text":"hi"})", recps);
  REQUIRE(boxed.ok());
  CHECK(ssb::BoxDecrypt(*boxed, a) == std::optional<std::string>(R"({"type":"post","text":"hi"})"));
  CHECK(ssb::BoxDecrypt(*boxed, b).has_value());
  CHECK_FALSE(ssb::BoxDecrypt(*boxed, c).has_value());
  std::string flipped = *boxed;
  flipped[60] = flipped[60] == 'A' ? 'B' : 'A';
  CHECK_FALSE(ssb::BoxDecrypt(flipped, a).has_value());
  for (const char* bad : {"", ".box", "AAAA.box", "not base64!.box", "AAAA"}) {
    CHECK_FALSE(ssb::BoxDecrypt(bad, a).has_value());
  }
  CHECK_FALSE(ssb::BoxDecrypt(std::string(200000, 'A') + ".box", a).has_value());
  CHECK(ssb::BoxEncrypt("{}", {}).status().code() == ssb::Code::kInvalidArgument);
}
