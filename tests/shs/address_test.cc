// Multiserver addresses (parse trees from multiserver-address 1.0.1 via refs_keys_blobs.json)
// and LAN discovery payloads (lan_discovery.json), plus the inputs we refuse.
#include "ssb/address.h"

#include <sodium.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <map>

#include "ssb/base64.h"
#include "ssb/shs.h"
#include "support/vectors.h"
#include "support/hex.h"

using ssb::json::Value;
using namespace ssb::test;

namespace {

const char kKey[] = "2VB5k5WarS/kiuwK8wQCC9WPbxnszNrWX4HHS6GgmPA=";

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

ssb::PublicKey KeyFromB64(const std::string& b64) {
  auto b = ssb::Base64DecodeCanonical(b64);
  REQUIRE(b);
  REQUIRE(b->size() == 32);
  ssb::PublicKey k;
  std::memcpy(k.data(), b->data(), 32);
  return k;
}

// The JSON form of the vectors' multiserver_decode: [[{name, data:[…]}, …], …].
std::vector<ssb::MultiserverAddress> TreeFromJson(const Value& v) {
  std::vector<ssb::MultiserverAddress> out;
  for (const Value& a : v.items()) {
    ssb::MultiserverAddress addr;
    for (const Value& p : a.items()) {
      ssb::MultiserverProtocol proto;
      proto.name = Str(p, "name");
      for (const Value& d : At(p, "data").items()) proto.data.push_back(d.as_string());
      addr.push_back(std::move(proto));
    }
    out.push_back(std::move(addr));
  }
  return out;
}

}  // namespace

TEST_CASE("refs_keys_blobs.json: multiserver parse trees as multiserver-address decodes them") {
  Value doc = ReadVectorJson("generated/refs_keys_blobs.json");
  size_t total = 0, passed = 0;
  for (const Value& r : At(doc, "refs").items()) {
    ++total;
    std::string input = Str(r, "input");
    INFO(input);
    auto tree = ssb::ParseMultiserverTree(input);
    bool want = At(r, "multiserver_check").as_bool();
    CHECK(tree.ok() == want);
    bool ok = tree.ok() == want;
    if (tree.ok() && want) {
      auto expected = TreeFromJson(At(r, "multiserver_decode"));
      CHECK(*tree == expected);
      // encode(decode(x)) == x, as multiserver-address's own test requires.
      CHECK(ssb::FormatMultiserverTree(*tree) == input);
      ok = ok && *tree == expected && ssb::FormatMultiserverTree(*tree) == input;
    }
    passed += ok;
  }
  ReportCount("refs_keys_blobs multiserver parse trees", passed, total);
  CHECK(total == 35);
  CHECK(passed == total);
}

TEST_CASE("refs_keys_blobs.json: net~shs addresses and their keys") {
  Value doc = ReadVectorJson("generated/refs_keys_blobs.json");
  // What ParseMultiserver makes of each valid multiserver string among the vectors.
  struct Want {
    std::string host;  // empty: no usable address
    uint16_t port;
  };
  const std::map<std::string, Want> wants = {
      {std::string("net:192.168.1.123:8008~shs:") + kKey, {"192.168.1.123", 8008}},
      {std::string("net:pub.example.org:8008~shs:") + kKey, {"pub.example.org", 8008}},
      {std::string("net:[::1]:8008~shs:") + kKey, {"::1", 8008}},
      {std::string("net:fe80::1:8008~shs:") + kKey, {"fe80::1", 8008}},
      {std::string("net:1.2.3.4:8008~shs:") + kKey + ";ws://1.2.3.4:8989~shs:" + kKey,
       {"1.2.3.4", 8008}},
  };
  size_t total = 0, passed = 0;
  for (const Value& r : At(doc, "refs").items()) {
    if (!At(r, "multiserver_check").as_bool()) continue;
    ++total;
    std::string input = Str(r, "input");
    INFO(input);
    auto got = ssb::ParseMultiserver(input);
    auto it = wants.find(input);
    bool ok;
    if (it != wants.end()) {
      REQUIRE(got.ok());
      REQUIRE(got->size() == 1);
      const ssb::NetShsAddress& a = (*got)[0];
      ok = a.host == it->second.host && a.port == it->second.port &&
           "@" + ssb::Base64Encode(a.key) + ".ed25519" == Str(r, "getKeyFromAddress");
    } else if (input.find(":8008:~") != std::string::npos) {
      // The guide's typo (an empty field after the port): refused, naming the likely cause.
      ok = got.status().code() == ssb::Code::kInvalidInput &&
           got.status().message().find("trailing ':'") != std::string::npos;
    } else {
      // ws, wss, onion, tunnel, net without shs, shs with an invite seed: nothing to dial.
      ok = got.status().code() == ssb::Code::kUnsupported;
    }
    CHECK(ok);
    passed += ok;
  }
  ReportCount("refs_keys_blobs multiserver net~shs extraction", passed, total);
  CHECK(passed == total);
}

TEST_CASE("multiserver grammar: escapes, empty fields, and what is refused") {
  auto t = ssb::ParseMultiserverTree("ab-1:x!:y!;z!~w!!v:~cd;shs:::");
  REQUIRE(t.ok());
  REQUIRE(t->size() == 2);
  CHECK((*t)[0][0].name == "ab-1");
  CHECK((*t)[0][0].data == std::vector<std::string>{"x:y;z~w!v", ""});
  CHECK((*t)[0][1].name == "cd");
  CHECK((*t)[0][1].data.empty());
  CHECK((*t)[1][0].data == std::vector<std::string>{"", "", ""});
  CHECK(ssb::FormatMultiserverTree(*t) == "ab-1:x!:y!;z!~w!!v:~cd;shs:::");

  for (const char* ok : {"net:host.com:8008", "net:host.com:8008~shs:oaercuhroaecuh~gzip",
                         "ws://host.com:8008~shs:oaercuhroaecuh~gzip;net:host.com:8008"}) {
    INFO(ok);
    CHECK(ssb::ParseMultiserverTree(ok).ok());
  }
  // multiserver-address's own invalid list, then ours.
  for (const std::string& bad : std::vector<std::string>{
           "", ":host.com:8008", "1a:host.com:8008", "ABC:host.com:8008", "a.b:host.com:8008",
           "~:host.com:8008", ";:host.com:8008", "!:host.com:8008", "net:host.com:8008~",
           "net:host.com:8008~~gzip", "a:host", "net:ho st:8008", "net:host:8008\n",
           "net:host:8008;", "net:x!y:1", "net:x!", "net:caf\xc3\xa9:1",
           std::string("net:a\0b", 7)}) {
    INFO(bad);
    auto r = ssb::ParseMultiserverTree(bad);
    CHECK(r.status().code() == ssb::Code::kInvalidInput);
    CHECK_THAT(r.status().message(), Catch::Contains("offset"));
  }
  std::string huge = "net:" + std::string(ssb::kMaxMultiserverBytes, 'a');
  CHECK(ssb::ParseMultiserverTree(huge).status().code() == ssb::Code::kLimitExceeded);
  CHECK(ssb::ParseMultiserver(huge).status().code() == ssb::Code::kLimitExceeded);
}

TEST_CASE("net~shs: bad ports, hosts and keys are refused with the reason") {
  const std::string shs = std::string("~shs:") + kKey;
  struct Bad {
    std::string text;
    const char* reason;
  };
  for (const Bad& b : std::vector<Bad>{
           {"net:host:0" + shs, "invalid port"},
           {"net:host:65536" + shs, "invalid port"},
           {"net:host:123456" + shs, "invalid port"},
           {"net:host:80a" + shs, "invalid port"},
           {"net:host:-1" + shs, "invalid port"},
           {"net:host:" + shs, "trailing ':'"},
           {"net:8008" + shs, "HOST:PORT"},
           {"net::8008" + shs, "invalid host"},
           {"net:ho{st:8008" + shs, "invalid host"},
           {"net:[]:8008" + shs, "invalid host"},
           {"net:fe80::g:8008" + shs, "invalid host"},
           {"net:fe80::1%:8008" + shs, "invalid host"},
           {"net:host:8008~shs:2VB5k5WarS/kiuwK8wQCC9WPbxnszNrWX4HHS6GgmPB=", "canonical"},
           {"net:host:8008~shs:AAAA", "canonical"},
           {"net:host:8008~shs:", "canonical"},
       }) {
    INFO(b.text);
    auto r = ssb::ParseMultiserver(b.text);
    CHECK(r.status().code() == ssb::Code::kInvalidInput);
    CHECK_THAT(r.status().message(), Catch::Contains(b.reason));
  }
  auto none = ssb::ParseMultiserver(std::string("ws://h:1~shs:") + kKey + ";onion:x.onion:1");
  CHECK(none.status().code() == ssb::Code::kUnsupported);
  CHECK_THAT(none.status().message(), Catch::Contains("ws://h:1"));
  // Leading zeros read as Number() reads them; a zone id is allowed on IPv6.
  auto z = ssb::ParseMultiserver("net:fe80::1%eth0:08008" + shs);
  REQUIRE(z.ok());
  CHECK((*z)[0].host == "fe80::1%eth0");
  CHECK((*z)[0].port == 8008);
}

TEST_CASE("FormatAddress writes what ParseMultiserver reads") {
  ssb::NetShsAddress a{"192.168.1.123", 8008, KeyFromB64(kKey)};
  ssb::NetShsAddress b{"fe80::1", 65535, KeyFromB64(kKey)};
  CHECK(ssb::FormatAddress(a) == std::string("net:192.168.1.123:8008~shs:") + kKey);
  CHECK(ssb::FormatAddress(b) == std::string("net:fe80::1:65535~shs:") + kKey);
  std::vector<ssb::NetShsAddress> both = {a, b};
  std::string text = ssb::FormatMultiserver(both);
  CHECK(text == ssb::FormatAddress(a) + ";" + ssb::FormatAddress(b));
  auto back = ssb::ParseMultiserver(text);
  REQUIRE(back.ok());
  CHECK(*back == both);
}

TEST_CASE("lan_discovery.json: legacy and ssb-lan v2 payloads") {
  Value doc = ReadVectorJson("generated/lan_discovery.json");
  auto caps = ssb::Base64DecodeCanonical(Str(doc, "caps_b64"));
  REQUIRE(caps);
  REQUIRE(caps->size() == 32);
  ssb::NetworkKey k;
  std::memcpy(k.data(), caps->data(), 32);
  CHECK(k == ssb::kMainNetKey);
  auto seed = HexBytes(Str(At(doc, "signer"), "seed_hex"));
  ssb::Keypair signer = ssb::Keypair::FromSeed(std::span<const uint8_t, 32>(seed.data(), 32));
  CHECK(signer.id() == Str(At(doc, "signer"), "id"));

  size_t total = 0, legacy_ok = 0, v2_ok = 0;
  for (const Value& p : At(doc, "payloads").items()) {
    ++total;
    std::string address = Str(p, "address");
    INFO(address);
    // Legacy: the payload is the address string; we read its net~shs part.
    auto legacy = HexBytes(Str(p, "legacy_udp_payload_hex"));
    CHECK(std::string(legacy.begin(), legacy.end()) == Str(p, "legacy_udp_payload_utf8"));
    CHECK(std::string(legacy.begin(), legacy.end()) == address);
    auto got = ssb::DecodeLanLegacy(legacy);
    REQUIRE(got.ok());
    REQUIRE(got->size() == 1);
    bool l_ok = (*got)[0].port == 8008 && (*got)[0].key == signer.public_key() &&
                ((*got)[0].host == "192.168.1.123" || (*got)[0].host == "fe80::1");
    if (address.find(';') == std::string::npos && address.find('[') == std::string::npos) {
      l_ok = l_ok && ssb::FormatMultiserver(*got) == address;  // encode is byte-identical
    }
    CHECK(l_ok);
    legacy_ok += l_ok;

    // v2: encoding is deterministic, so both directions are byte-exact.
    auto enc = ssb::EncodeLanV2(address, signer, k);
    REQUIRE(enc.ok());
    CHECK(ssb::HexEncode(AsBytes(*enc)) == Str(p, "lan_v2_payload_hex"));
    auto dec = ssb::DecodeLanV2(HexBytes(Str(p, "lan_v2_payload_hex")), k);
    REQUIRE(dec.ok());
    CHECK(dec->address == address);
    CHECK(dec->key == signer.public_key());
    // The signature is over the pretty JSON the vector spells out.
    auto payload = HexBytes(Str(p, "lan_v2_payload_hex"));
    std::string signed_text = Str(p, "lan_v2_signed_text");
    CHECK(ssb::VerifySignature(
        signer.public_key(), AsBytes(signed_text),
        std::span<const uint8_t, 64>(payload.data() + payload.size() - 64, 64)));
    v2_ok +=
        ssb::HexEncode(AsBytes(*enc)) == Str(p, "lan_v2_payload_hex") && dec->address == address;
  }
  ReportCount("lan_discovery legacy decode/encode", legacy_ok, total);
  ReportCount("lan_discovery v2 encode/decode", v2_ok, total);
  CHECK(total == 3);
  CHECK(legacy_ok == total);
  CHECK(v2_ok == total);
}

namespace {

// A v2 payload assembled by hand, for what EncodeLanV2 refuses to write.
std::vector<uint8_t> HandmadeV2(const std::string& json, const std::string& signed_text,
                                const ssb::Keypair& signer, const ssb::NetworkKey& k) {
  std::vector<uint8_t> out(crypto_secretbox_MACBYTES + json.size());
  crypto_secretbox_easy(out.data(), reinterpret_cast<const uint8_t*>(json.data()), json.size(),
                        k.data(), k.data());
  ssb::Signature sig = signer.Sign(AsBytes(signed_text));
  out.insert(out.end(), sig.begin(), sig.end());
  return out;
}

std::string Pretty(const std::string& quoted) { return "{\n  \"address\": " + quoted + "\n}"; }

}  // namespace

TEST_CASE("ssb-lan v2: forged, foreign, malformed and oversize payloads are refused") {
  ssb::Keypair me = ssb::Keypair::Generate(), other = ssb::Keypair::Generate();
  const ssb::NetworkKey& k = ssb::kMainNetKey;
  std::string addr = "net:10.0.0.2:8008~shs:" + ssb::Base64Encode(me.public_key());
  auto good = ssb::EncodeLanV2(addr, me, k);
  REQUIRE(good.ok());
  std::vector<uint8_t> payload(good->begin(), good->end());
  REQUIRE(ssb::DecodeLanV2(payload, k).ok());

  auto expect = [&](const std::vector<uint8_t>& bytes, ssb::Code code, const char* reason,
                    const ssb::NetworkKey& key) {
    auto r = ssb::DecodeLanV2(bytes, key);
    CHECK(r.status().code() == code);
    CHECK_THAT(r.status().message(), Catch::Contains(reason));
  };
  SECTION("another network") {
    ssb::NetworkKey test_net = k;
    test_net[0] ^= 1;
    expect(payload, ssb::Code::kInvalidInput, "does not open", test_net);
  }
  SECTION("a flipped bit in the box or the signature") {
    auto box = payload;
    box[20] ^= 4;
    expect(box, ssb::Code::kInvalidInput, "does not open", k);
    auto sig = payload;
    sig[sig.size() - 1] ^= 4;
    expect(sig, ssb::Code::kInvalidInput, "signature", k);
  }
  SECTION("signed by someone other than the address's key") {
    std::string q = "\"" + addr + "\"";
    expect(HandmadeV2("{\"address\":" + q + "}", Pretty(q), other, k), ssb::Code::kInvalidInput,
           "signature", k);
  }
  SECTION("two different shs keys, or none") {
    std::string two = addr + ";net:10.0.0.3:8008~shs:" + ssb::Base64Encode(other.public_key());
    std::string q = "\"" + two + "\"";
    expect(HandmadeV2("{\"address\":" + q + "}", Pretty(q), me, k), ssb::Code::kInvalidInput,
           "single shs key", k);
    CHECK(ssb::EncodeLanV2(two, me, k).status().code() == ssb::Code::kInvalidArgument);
    CHECK(ssb::EncodeLanV2("net:10.0.0.2:8008", me, k).status().code() ==
          ssb::Code::kInvalidArgument);
    CHECK(ssb::EncodeLanV2("not an address", me, k).status().code() == ssb::Code::kInvalidArgument);
    // An address for another key than the signer's.
    CHECK(ssb::EncodeLanV2("net:10.0.0.3:8008~shs:" + ssb::Base64Encode(other.public_key()), me, k)
              .status()
              .code() == ssb::Code::kInvalidArgument);
  }
  SECTION("JSON other than exactly {\"address\":\"…\"}") {
    std::string q = "\"" + addr + "\"";
    for (const std::string& json :
         {"{ \"address\":" + q + "}", "{\"address\":" + q + ",\"x\":1}", "{\"addr\":" + q + "}",
          "{\"address\":" + q, "{\"address\":\"" + addr + "\\x\"}",
          "{\"address\":\"" + addr + "\\u00e9\"}"}) {
      INFO(json);
      expect(HandmadeV2(json, Pretty(q), me, k), ssb::Code::kInvalidInput, "not {", k);
    }
  }
  SECTION("JSON escapes are read, and the signature covers the re-escaped text") {
    // "\u006e" is "n": JSON.parse reads it, JSON.stringify writes "n" back, and that is what
    // a JavaScript receiver verifies.
    std::string escaped = "{\"address\":\"\\u006e" + addr.substr(1) + "\"}";
    auto r = ssb::DecodeLanV2(HandmadeV2(escaped, Pretty("\"" + addr + "\""), me, k), k);
    REQUIRE(r.ok());
    CHECK(r->address == addr);
  }
  SECTION("an address the grammar refuses") {
    std::string q = "\"net:10.0.0.2:80 08~shs:" + ssb::Base64Encode(me.public_key()) + "\"";
    expect(HandmadeV2("{\"address\":" + q + "}", Pretty(q), me, k), ssb::Code::kInvalidInput,
           "invalid character", k);
  }
  SECTION("too short and too long") {
    expect(std::vector<uint8_t>(payload.begin(), payload.begin() + 90), ssb::Code::kInvalidInput,
           "too short", k);
    expect(std::vector<uint8_t>(ssb::kMaxLanPayloadBytes + 1), ssb::Code::kLimitExceeded, "limit",
           k);
    std::vector<uint8_t> huge_legacy(ssb::kMaxMultiserverBytes + 1, 'a');
    CHECK(ssb::DecodeLanLegacy(huge_legacy).status().code() == ssb::Code::kLimitExceeded);
  }
}
