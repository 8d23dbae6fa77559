// Box-stream: the recorded frames under every way of splitting them, the nonce counter, and
// the decoder's refusals.
#include "ssb/boxstream.h"

#include <sodium.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <random>

#include "ssb/base64.h"
#include "support/vectors.h"
#include "support/hex.h"

using ssb::json::Value;
using namespace ssb::test;

namespace {

const uint8_t* U8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

ssb::BoxStreamNonce Plus(ssb::BoxStreamNonce n, int k) {
  for (int j = 0; j < k; ++j) sodium_increment(n.data(), n.size());  // little-endian!
  return n;
}

// The big-endian increment the protocol uses, written independently of the library.
ssb::BoxStreamNonce PlusBE(ssb::BoxStreamNonce n, int k) {
  std::reverse(n.begin(), n.end());
  n = Plus(n, k);
  std::reverse(n.begin(), n.end());
  return n;
}

// A box built straight from libsodium, for lengths an encoder never writes (0, > 4096).
std::string SealBox(const ssb::BoxStreamKey& key, const ssb::BoxStreamNonce& nonce,
                    const std::string& plain) {
  std::string body(crypto_secretbox_MACBYTES + plain.size(), '\0');
  auto body_nonce = PlusBE(nonce, 1);
  crypto_secretbox_easy(reinterpret_cast<uint8_t*>(body.data()), U8(plain), plain.size(),
                        body_nonce.data(), key.data());
  std::array<uint8_t, 18> header_plain;
  header_plain[0] = static_cast<uint8_t>(plain.size() >> 8);
  header_plain[1] = static_cast<uint8_t>(plain.size() & 0xff);
  std::memcpy(header_plain.data() + 2, body.data(), 16);
  std::string header(34, '\0');
  crypto_secretbox_easy(reinterpret_cast<uint8_t*>(header.data()), header_plain.data(), 18,
                        nonce.data(), key.data());
  return header + body.substr(16);
}

struct Direction {
  std::string name;
  ssb::BoxStreamKey key;
  ssb::BoxStreamNonce nonce;
  std::string wire;
  std::string plain;
};

// Every box-stream direction of shs_transcripts.json, with its session key and nonce.
std::vector<Direction> TranscriptDirections() {
  Value doc = ReadVectorJson("generated/shs_transcripts.json");
  std::vector<Direction> out;
  for (const Value& t : At(doc, "transcripts").items()) {
    const Value& sess = At(t, "session");
    for (const char* dir : {"client_to_server", "server_to_client"}) {
      const Value& v = At(At(t, "boxstream"), dir);
      Direction d;
      d.name = Str(t, "name") + " " + dir;
      d.key = HexArray<32>(Str(sess, (std::string(dir) + "_key").c_str()));
      d.nonce = HexArray<24>(Str(sess, (std::string(dir) + "_nonce").c_str()));
      d.wire = HexString(Str(v, "wire_hex"));
      for (const Value& w : At(v, "plaintext_writes_hex").items()) d.plain += HexString(w.as_string());
      out.push_back(std::move(d));
    }
  }
  return out;
}

ssb::BoxStreamKey RandomKey() {
  ssb::BoxStreamKey k;
  randombytes_buf(k.data(), k.size());
  return k;
}

ssb::BoxStreamNonce RandomNonce() {
  ssb::BoxStreamNonce n;
  randombytes_buf(n.data(), n.size());
  return n;
}

}  // namespace

TEST_CASE("transcript frames decode under every two-piece split and random splits") {
  std::mt19937_64 rng(7);
  size_t passed = 0;
  auto dirs = TranscriptDirections();
  for (const Direction& d : dirs) {
    INFO(d.name);
    bool all_ok = true;
    for (size_t cut = 0; cut <= d.wire.size(); ++cut) {
      ssb::BoxDecoder dec(d.key, d.nonce);
      std::string got;
      bool ok = dec.Feed(std::string_view(d.wire).substr(0, cut), &got).ok() &&
                dec.Feed(std::string_view(d.wire).substr(cut), &got).ok() && dec.ended() &&
                got == d.plain;
      if (!ok) {
        all_ok = false;
        FAIL_CHECK("split at " << cut);
      }
    }
    for (int trial = 0; trial < 50; ++trial) {
      ssb::BoxDecoder dec(d.key, d.nonce);
      std::string got;
      for (size_t off = 0; off < d.wire.size();) {
        size_t n = std::min<size_t>(rng() % 100, d.wire.size() - off);  // 0 included
        REQUIRE(dec.Feed(std::string_view(d.wire).substr(off, n), &got).ok());
        off += n;
      }
      all_ok = all_ok && dec.ended() && got == d.plain;
    }
    CHECK(all_ok);
    passed += all_ok;
  }
  ReportCount("shs_transcripts box-stream split decoding", passed, dirs.size());
  CHECK(passed == 8);
}

TEST_CASE("encoder: 4096-byte boxes, empty writes emit nothing, a goodbye is 34 bytes") {
  auto key = RandomKey();
  auto nonce = RandomNonce();
  ssb::BoxEncoder enc(key, nonce);
  std::string wire;
  enc.Encrypt(std::string_view(), &wire);
  CHECK(wire.empty());
  for (size_t n : {size_t{1}, size_t{4096}, size_t{4097}, size_t{5000}, size_t{8192}}) {
    INFO(n);
    wire.clear();
    std::string data(n, 'x');
    enc.Encrypt(data, &wire);
    size_t boxes = (n + 4095) / 4096;
    CHECK(wire.size() == n + 34 * boxes);
  }
  wire.clear();
  enc.Goodbye(&wire);
  CHECK(wire.size() == 34);
  CHECK(enc.ended());
  enc.Encrypt(std::string_view("late"), &wire);  // REQUIRES violated: ignored
  CHECK(wire.size() == 34);
}

TEST_CASE("the nonce is a big-endian counter: header n, body n+1, next header n+2, wrapping") {
  auto key = RandomKey();
  for (auto tail : {std::array<uint8_t, 2>{0x00, 0x00}, std::array<uint8_t, 2>{0xff, 0xfe},
                    std::array<uint8_t, 2>{0xff, 0xff}}) {
    ssb::BoxStreamNonce nonce;
    nonce.fill(tail[0] == 0xff && tail[1] == 0xff ? 0xff : 0x00);
    nonce[22] = tail[0];
    nonce[23] = tail[1];
    INFO(ssb::HexEncode(nonce));
    ssb::BoxEncoder enc(key, nonce);
    std::string wire;
    enc.Encrypt(std::string_view("one"), &wire);
    enc.Encrypt(std::string_view("two"), &wire);
    CHECK(wire == SealBox(key, nonce, "one") + SealBox(key, PlusBE(nonce, 2), "two"));
  }
  // All ones wraps to zero.
  ssb::BoxStreamNonce ones;
  ones.fill(0xff);
  CHECK(PlusBE(ones, 1) == ssb::BoxStreamNonce{});
}

TEST_CASE("decoder: lengths 0 and 65535 are accepted, a lower limit refuses more") {
  auto key = RandomKey();
  auto nonce = RandomNonce();
  std::string big(65535, 'b');
  std::string wire = SealBox(key, nonce, "") + SealBox(key, PlusBE(nonce, 2), big) +
                     SealBox(key, PlusBE(nonce, 4), "end");
  {
    ssb::BoxDecoder dec(key, nonce);
    std::string got;
    REQUIRE(dec.Feed(wire, &got).ok());
    CHECK(got == big + "end");
    CHECK(dec.boxes() == 3);
    CHECK(dec.Needed() == 34);
    CHECK(dec.Finish().code() == ssb::Code::kInvalidInput);  // no goodbye yet
  }
  {
    ssb::BoxDecoder dec(key, nonce, 4096);
    std::string got;
    ssb::Status st = dec.Feed(wire, &got);
    CHECK(st.code() == ssb::Code::kLimitExceeded);
    CHECK_THAT(st.message(), Catch::Contains("65535"));
    CHECK(got.empty());  // the empty box came through, nothing else
    CHECK(dec.boxes() == 1);
    CHECK(dec.Needed() == 0);
  }
  {  // An empty box arriving header byte by header byte completes without further input.
    ssb::BoxDecoder dec(key, nonce);
    std::string got, empty_box = SealBox(key, nonce, "");
    for (char c : empty_box) REQUIRE(dec.Feed(std::string_view(&c, 1), &got).ok());
    CHECK(dec.boxes() == 1);
    CHECK(dec.Needed() == 34);
  }
}

TEST_CASE("decoder: Needed() says how much completes the next step") {
  auto key = RandomKey();
  auto nonce = RandomNonce();
  ssb::BoxEncoder enc(key, nonce);
  std::string wire;
  enc.Encrypt(std::string(1000, 'n'), &wire);
  enc.Goodbye(&wire);
  ssb::BoxDecoder dec(key, nonce);
  std::string got;
  std::string_view rest(wire);
  std::vector<size_t> asked;
  while (dec.Needed() > 0) {
    asked.push_back(dec.Needed());
    REQUIRE(dec.Feed(rest.substr(0, dec.Needed()), &got).ok());
    rest.remove_prefix(asked.back());
  }
  CHECK(asked == std::vector<size_t>{34, 1000, 34});
  CHECK(rest.empty());
  CHECK(dec.ended());
  CHECK(got.size() == 1000);
}

TEST_CASE("decoder refuses forged, damaged, truncated and trailing bytes") {
  auto key = RandomKey();
  auto nonce = RandomNonce();
  ssb::BoxEncoder enc(key, nonce);
  std::string wire;
  enc.Encrypt(std::string_view("first box"), &wire);
  size_t second = wire.size();
  enc.Encrypt(std::string_view("second box"), &wire);
  size_t goodbye = wire.size();
  enc.Goodbye(&wire);

  SECTION("bad header MAC") {
    std::string bad = wire;
    bad[second + 5] ^= 0x10;
    ssb::BoxDecoder dec(key, nonce);
    std::string got;
    ssb::Status st = dec.Feed(bad, &got);
    CHECK(st.code() == ssb::Code::kInvalidInput);
    CHECK_THAT(st.message(), Catch::Contains("header authentication failed"));
    CHECK(got == "first box");
    // The decoder stays failed.
    CHECK(dec.Feed(std::string_view("x"), &got).message() == st.message());
    CHECK(dec.Finish().message() == st.message());
    CHECK(dec.Needed() == 0);
  }
  SECTION("bad body MAC (flipped ciphertext bit)") {
    std::string bad = wire;
    bad[second + 34 + 3] ^= 0x01;
    ssb::BoxDecoder dec(key, nonce);
    std::string got;
    ssb::Status st = dec.Feed(bad, &got);
    CHECK(st.code() == ssb::Code::kInvalidInput);
    CHECK_THAT(st.message(), Catch::Contains("body authentication failed"));
    CHECK(got == "first box");
  }
  SECTION("bad body MAC, body arriving in pieces") {
    std::string bad = wire;
    bad[wire.size() - 35] ^= 0x40;  // last byte of the second body
    ssb::BoxDecoder dec(key, nonce);
    std::string got;
    ssb::Status st;
    for (char c : bad) {
      st = dec.Feed(std::string_view(&c, 1), &got);
      if (!st.ok()) break;
    }
    CHECK_THAT(st.message(), Catch::Contains("body authentication failed"));
    CHECK(got == "first box");
  }
  SECTION("boxes out of order") {
    std::string swapped = wire.substr(second, goodbye - second) + wire.substr(0, second);
    ssb::BoxDecoder dec(key, nonce);
    std::string got;
    CHECK(dec.Feed(swapped, &got).code() == ssb::Code::kInvalidInput);
  }
  SECTION("wrong key") {
    ssb::BoxDecoder dec(RandomKey(), nonce);
    std::string got;
    CHECK(dec.Feed(wire, &got).code() == ssb::Code::kInvalidInput);
  }
  SECTION("truncated header, then hangup") {
    ssb::BoxDecoder dec(key, nonce);
    std::string got;
    REQUIRE(dec.Feed(std::string_view(wire).substr(0, 20), &got).ok());
    CHECK(dec.Needed() == 14);
    ssb::Status st = dec.Finish();
    CHECK(st.code() == ssb::Code::kInvalidInput);
    CHECK_THAT(st.message(), Catch::Contains("middle of a box"));
  }
  SECTION("truncated body, then hangup") {
    ssb::BoxDecoder dec(key, nonce);
    std::string got;
    REQUIRE(dec.Feed(std::string_view(wire).substr(0, 34 + 4), &got).ok());
    CHECK(dec.Needed() == 5);
    CHECK_THAT(dec.Finish().message(), Catch::Contains("middle of a box"));
  }
  SECTION("hangup without goodbye") {
    ssb::BoxDecoder dec(key, nonce);
    std::string got;
    REQUIRE(dec.Feed(std::string_view(wire).substr(0, goodbye), &got).ok());
    CHECK(got == "first boxsecond box");
    CHECK_FALSE(dec.ended());
    CHECK_THAT(dec.Finish().message(), Catch::Contains("without goodbye"));
  }
  SECTION("clean goodbye, then garbage") {
    ssb::BoxDecoder dec(key, nonce);
    std::string got;
    REQUIRE(dec.Feed(wire, &got).ok());
    CHECK(dec.ended());
    CHECK(dec.Finish().ok());
    CHECK(dec.Feed(std::string_view(), &got).ok());
    ssb::Status st = dec.Feed(std::string_view("zz"), &got);
    CHECK(st.code() == ssb::Code::kInvalidInput);
    CHECK_THAT(st.message(), Catch::Contains("2 bytes after the goodbye"));
    CHECK(dec.ended());
  }
  SECTION("garbage in the same read as the goodbye") {
    ssb::BoxDecoder dec(key, nonce);
    std::string got;
    ssb::Status st = dec.Feed(wire + "!", &got);
    CHECK_THAT(st.message(), Catch::Contains("1 bytes after the goodbye"));
    CHECK(got == "first boxsecond box");
  }
}
