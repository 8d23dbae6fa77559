// Known-answer tests from tests/vectors: every count is printed as "VECTORS name: n/m".
#include <catch2/catch.hpp>

#include <map>

#include "ssb/base64.h"
#include "ssb/message.h"
#include "ssb/ref.h"
#include "support/vectors.h"

using ssb::json::Value;
using namespace ssb::test;

namespace {

std::optional<ssb::FeedState> StateFrom(const Value& v) {
  if (!v.is_object()) return std::nullopt;
  ssb::FeedState s;
  s.id = Str(v, "id");
  s.sequence = static_cast<int64_t>(At(v, "sequence").as_number());
  return s;
}

// ssb-validate's isInvalidHmacKey: null is "no key"; anything else must be canonical base64 of
// 32 bytes.
ssb::ValidateOptions OptionsFor(const Value& hmac, ssb::ValidationMode mode) {
  ssb::ValidateOptions opt;
  opt.mode = mode;
  if (hmac.is_null()) return opt;
  if (mode == ssb::ValidationMode::kStrict && hmac.is_bool() && !hmac.as_bool()) return opt;
  auto bytes = hmac.is_string() ? ssb::Base64DecodeCanonical(hmac.as_string()) : std::nullopt;
  if (!bytes || bytes->size() != 32) {
    opt.hmac_key_invalid = true;
    return opt;
  }
  ssb::HmacKey k;
  std::copy(bytes->begin(), bytes->end(), k.begin());
  opt.hmac_key = k;
  return opt;
}

ssb::Message ParseWire(const std::string& wire_wtf8) {
  ssb::json::ParseOptions opt;
  opt.wtf8_input = true;
  auto v = ssb::json::Parse(wire_wtf8, opt);
  REQUIRE(v.ok());
  return ssb::Message::FromValue(std::move(v).value());
}

}  // namespace

TEST_CASE("generated/messages.json: both validators, ids, signing strings, sizes") {
  Value doc = ReadVectorJson("generated/messages.json");
  size_t total = 0, ok_validate = 0, ok_strict = 0, ok_bytes = 0;
  for (const Value& e : At(doc, "entries").items()) {
    ++total;
    std::string name = Str(e, "name");
    ssb::Message msg = ParseWire(Str(e, "wire"));
    auto state = StateFrom(At(e, "state"));
    const ssb::FeedState* prev = state ? &*state : nullptr;
    const Value& expected = At(e, "expected");
    bool want_validate = At(At(expected, "ssb_validate_4_1_4"), "valid").as_bool();
    bool want_strict = At(At(expected, "ssb_classic_1_1_0"), "valid").as_bool();

    ssb::Status got_validate =
        ssb::Validate(msg, prev, OptionsFor(At(e, "hmac_key"), ssb::ValidationMode::kSsbValidate));
    ssb::Status got_strict =
        ssb::Validate(msg, prev, OptionsFor(At(e, "hmac_key"), ssb::ValidationMode::kStrict));
    INFO(name << ": ssb-validate says " << got_validate.ToString() << "; strict says "
              << got_strict.ToString());
    CHECK(got_validate.ok() == want_validate);
    CHECK(got_strict.ok() == want_strict);
    ok_validate += got_validate.ok() == want_validate;
    ok_strict += got_strict.ok() == want_strict;

    bool bytes_ok = msg.id() == Str(e, "id") && msg.signing_bytes() == Str(e, "signing_string") &&
                    msg.utf16_length() ==
                        static_cast<size_t>(At(e, "signed_json_utf16_length").as_number()) &&
                    msg.signing_bytes().size() ==
                        static_cast<size_t>(At(e, "signing_utf8_bytes").as_number());
    CHECK(msg.id() == Str(e, "id"));
    CHECK(msg.signing_bytes() == Str(e, "signing_string"));
    CHECK(msg.utf16_length() == static_cast<size_t>(At(e, "signed_json_utf16_length").as_number()));
    ok_bytes += bytes_ok;
  }
  ReportCount("generated/messages.json ssb-validate-4.1.4", ok_validate, total);
  ReportCount("generated/messages.json strict-vs-ssb-classic-1.1.0", ok_strict, total);
  ReportCount("generated/messages.json ids+signing+utf16", ok_bytes, total);
  CHECK(total == 147);
}

TEST_CASE("ssb-validation-dataset: validity and ids") {
  Value doc = ReadVectorJson("ssb-validation-dataset/data.json");
  size_t total = 0, passed = 0;
  for (const Value& e : doc.items()) {
    ++total;
    ssb::Message msg = ssb::Message::FromValue(At(e, "message"));
    auto state = StateFrom(At(e, "state"));
    ssb::Status st = ssb::Validate(msg, state ? &*state : nullptr,
                                   OptionsFor(At(e, "hmacKey"), ssb::ValidationMode::kSsbValidate));
    bool want = At(e, "valid").as_bool();
    INFO("entry " << total << " (" << Str(e, "error") << "): got " << st.ToString());
    CHECK(st.ok() == want);
    bool id_ok = !want || msg.id() == Str(e, "id");
    CHECK(id_ok);
    passed += (st.ok() == want) && id_ok;
  }
  ReportCount("ssb-validation-dataset", passed, total);
  CHECK(total == 126);
}

TEST_CASE("legacy-value-testdata: signing string, UTF-16 length, latin1 sha256") {
  Value doc = ReadVectorJson("legacy-value-testdata/legacy_value_testdata.json");
  ssb::json::ParseOptions opt;
  opt.wtf8_input = true;
  opt.max_depth = 100000;
  size_t total = 0, passed = 0;
  for (const Value& e : At(doc, "yay").items()) {
    ++total;
    auto v = ssb::json::Parse(Str(e, "input"), opt);
    INFO(Str(e, "name") << " input " << Str(e, "input"));
    REQUIRE(v.ok());
    std::string signing = ssb::json::StringifyPretty(*v);
    std::string latin1 = ssb::json::Latin1(signing);
    auto digest = ssb::Sha256(std::span(reinterpret_cast<const uint8_t*>(latin1.data()),
                                        latin1.size()));
    bool ok = signing == Str(e, "signing") &&
              ssb::json::Utf16Length(signing) ==
                  static_cast<size_t>(At(e, "length_utf16").as_number()) &&
              ssb::HexEncode(digest) == Str(e, "sha256_hex");
    CHECK(signing == Str(e, "signing"));
    CHECK(ssb::HexEncode(digest) == Str(e, "sha256_hex"));
    passed += ok;
  }
  ReportCount("legacy-value-testdata accept", passed, total);
  CHECK(total == 3316);

  // Hostile inputs: parsing must return (ok or an error), never crash or hang, and accept
  // exactly what Node's JSON.parse accepts (the fixture records its verdict).
  size_t rejects = 0, agree = 0;
  for (size_t i = 0; i < At(doc, "reject").keys().size(); ++i) {
    for (const Value& e : At(doc, "reject").items()[i].items()) {
      ++rejects;
      // Most inputs are text; some are raw bytes (ill-formed UTF-8), given as base64.
      auto v = ssb::json::Parse(Str(e, "input"), opt);
      if (At(e, "input_b64").is_string()) {
        auto raw = ssb::Base64DecodeCanonical(Str(e, "input_b64"));
        REQUIRE(raw);
        v = ssb::json::Parse(std::string(raw->begin(), raw->end()));
      }
      if (v.ok()) (void)ssb::json::StringifyPretty(*v);
      INFO(Str(e, "name"));
      CHECK(v.ok() == At(e, "node_json_parse").as_bool());
      agree += v.ok() == At(e, "node_json_parse").as_bool();
    }
  }
  ReportLine("VECTORS legacy-value-testdata reject inputs: " + std::to_string(agree) + "/" +
             std::to_string(rejects) +
             " handled without crash, accepted exactly when Node's JSON.parse accepts");
  CHECK(rejects == 2084);
}

TEST_CASE("real-feed-2018: chain and ids") {
  std::string text = ReadVectorFile("real-feed-2018/feed.jsonl");
  std::istringstream in(text);
  std::string line;
  size_t total = 0, passed = 0;
  std::optional<ssb::FeedState> prev;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ++total;
    auto kvt = ssb::json::Parse(line);
    REQUIRE(kvt.ok());
    ssb::Message msg = ssb::Message::FromValue(At(*kvt, "value"));
    ssb::Status st = ssb::Validate(msg, prev ? &*prev : nullptr);
    INFO("message " << total << ": " << st.ToString());
    CHECK(st.ok());
    CHECK(msg.id() == Str(*kvt, "key"));
    // The wire form we re-serialize is what was received.
    CHECK(msg.Wire() == ssb::json::Stringify(At(*kvt, "value")));
    if (st.ok() && msg.id() == Str(*kvt, "key")) ++passed;
    prev = ssb::FeedState{msg.id(), *msg.sequence()};
  }
  ReportCount("real-feed-2018", passed, total);
  CHECK(total == 235);
}

TEST_CASE("generated/feeds.jsonl: three interleaved chains") {
  std::istringstream in(ReadVectorFile("generated/feeds.jsonl"));
  std::string line;
  std::map<std::string, ssb::FeedState> feeds;
  size_t total = 0, passed = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ++total;
    auto kvt = ssb::json::Parse(line);
    REQUIRE(kvt.ok());
    ssb::Message msg = ssb::Message::FromValue(At(*kvt, "value"));
    std::string author(msg.author());
    auto it = feeds.find(author);
    ssb::Status st = ssb::Validate(msg, it == feeds.end() ? nullptr : &it->second,
                                   ssb::ValidateOptions::Strict());
    CHECK(st.ok());
    CHECK(msg.id() == Str(*kvt, "key"));
    passed += st.ok() && msg.id() == Str(*kvt, "key");
    feeds[author] = {msg.id(), *msg.sequence()};
  }
  ReportCount("generated/feeds.jsonl", passed, total);
  CHECK(total == 250);
}

TEST_CASE("refs_keys_blobs: sigils, key derivation, signatures, blob ids") {
  Value doc = ReadVectorJson("generated/refs_keys_blobs.json");
  size_t total = 0, passed = 0;
  for (const Value& r : At(doc, "refs").items()) {
    ++total;
    std::string in = Str(r, "input");
    INFO("ref " << in);
    bool ok = ssb::IsFeedId(in, true) == At(r, "isFeedId").as_bool() &&
              ssb::IsMsgId(in) == At(r, "isMsgId").as_bool() &&
              ssb::IsBlobId(in) == At(r, "isBlobId").as_bool() &&
              ssb::IsLink(in) == At(r, "isLink").as_bool();
    CHECK(ssb::IsFeedId(in, true) == At(r, "isFeedId").as_bool());
    CHECK(ssb::IsMsgId(in) == At(r, "isMsgId").as_bool());
    CHECK(ssb::IsBlobId(in) == At(r, "isBlobId").as_bool());
    CHECK(ssb::IsLink(in) == At(r, "isLink").as_bool());
    passed += ok;
  }
  for (const Value& k : At(doc, "keys").items()) {
    ++total;
    auto seed = ssb::HexDecode(Str(k, "seed_hex"));
    REQUIRE(seed);
    auto keys = ssb::Keypair::FromSeed(std::span<const uint8_t, 32>(seed->data(), 32));
    const Value& sign_test = At(k, "sign_test");
    std::string text = Str(sign_test, "message_utf8");
    auto sig = keys.Sign(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    bool ok = keys.id() == Str(k, "id") &&
              ssb::HexEncode(keys.secret_key()) == Str(k, "ed25519_sk_hex") &&
              ssb::Base64Encode(sig) + ".sig.ed25519" == Str(sign_test, "signature_b64");
    CHECK(keys.id() == Str(k, "id"));
    CHECK(ssb::Base64Encode(sig) + ".sig.ed25519" == Str(sign_test, "signature_b64"));
    if (At(sign_test, "hmac_key_b64").is_string()) {
      auto hk = ssb::Base64DecodeCanonical(Str(sign_test, "hmac_key_b64"));
      REQUIRE(hk);
      ssb::HmacKey h;
      std::copy(hk->begin(), hk->end(), h.begin());
      auto mac = ssb::HmacSha512_256(
          std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), h);
      auto hsig = keys.Sign(mac);
      CHECK(ssb::Base64Encode(hsig) + ".sig.ed25519" == Str(sign_test, "hmac_signature_b64"));
      ok = ok && ssb::Base64Encode(hsig) + ".sig.ed25519" == Str(sign_test, "hmac_signature_b64");
    }
    passed += ok;
  }
  for (const Value& b : At(doc, "blobs").items()) {
    ++total;
    std::vector<uint8_t> data;
    if (At(b, "data_hex").is_string()) {
      data = *ssb::HexDecode(Str(b, "data_hex"));
    } else {
      // "N bytes of 0xXX"
      std::string desc = Str(b, "data_desc");
      size_t n = std::stoul(desc);
      auto byte = static_cast<uint8_t>(std::stoul(desc.substr(desc.find("0x") + 2), nullptr, 16));
      data.assign(n, byte);
    }
    std::string id = ssb::BlobIdFromDigest(ssb::Sha256(data));
    CHECK(id == Str(b, "blob_id"));
    passed += id == Str(b, "blob_id");
  }
  ReportCount("refs_keys_blobs", passed, total);
}

TEST_CASE("secret files parse and re-write byte-identically") {
  size_t total = 0, passed = 0;
  for (const char* who : {"alice", "bob", "carol"}) {
    ++total;
    std::string text = ReadVectorFile(std::string("generated/keys/secret.") + who);
    auto keys = ssb::ParseSecretFile(text);
    REQUIRE(keys.ok());
    CHECK(ssb::FormatSecretFile(*keys) == text);
    passed += ssb::FormatSecretFile(*keys) == text;
  }
  ReportCount("secret files", passed, total);
}
