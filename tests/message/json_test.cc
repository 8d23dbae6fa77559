#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "ssb/json.h"

using namespace std::string_literals;

using ssb::json::Parse;
using ssb::json::Stringify;
using ssb::json::StringifyPretty;

namespace {
std::string RoundTrip(std::string_view text) {
  auto v = Parse(text);
  REQUIRE(v.ok());
  return Stringify(*v);
}
}  // namespace

TEST_CASE("numbers print as ECMAScript Number::toString") {
  using ssb::json::NumberToString;
  CHECK(NumberToString(0.0) == "0");
  CHECK(NumberToString(-0.0) == "0");
  CHECK(NumberToString(1.5) == "1.5");
  CHECK(NumberToString(-2) == "-2");
  CHECK(NumberToString(1e20) == "100000000000000000000");
  CHECK(NumberToString(1e21) == "1e+21");
  CHECK(NumberToString(1e-6) == "0.000001");
  CHECK(NumberToString(1e-7) == "1e-7");
  CHECK(NumberToString(1.5e-7) == "1.5e-7");
  CHECK(NumberToString(5e-324) == "5e-324");
  CHECK(NumberToString(1.7976931348623157e308) == "1.7976931348623157e+308");
  CHECK(NumberToString(0.1 + 0.2) == "0.30000000000000004");
  CHECK(NumberToString(123456789012345680000.0) == "123456789012345680000");
  CHECK(NumberToString(std::numeric_limits<double>::infinity()) == "null");
  CHECK(NumberToString(std::nan("")) == "null");
}

TEST_CASE("number parsing follows JSON.parse") {
  CHECK(RoundTrip("9007199254740993") == "9007199254740992");
  CHECK(RoundTrip("1e400") == "null");
  CHECK(RoundTrip("-1e400") == "null");
  CHECK(RoundTrip("-0") == "0");
  CHECK(RoundTrip("6e-486") == "0");
  CHECK(RoundTrip("[1E2,1e-2,0.5]") == "[100,0.01,0.5]");
  for (const char* bad : {"01", "+1", ".5", "1.", "-", "1e", "NaN", "Infinity", "0x10"}) {
    INFO(bad);
    CHECK_FALSE(Parse(bad).ok());
  }
}

TEST_CASE("object keys keep V8 property order") {
  CHECK(RoundTrip(R"({"b":1,"a":2,"1":3,"0":4})") == R"({"0":4,"1":3,"b":1,"a":2})");
  CHECK(RoundTrip(R"({"x":1,"4294967295":2,"4294967294":3,"01":4,"-1":5})") ==
        R"({"4294967294":3,"x":1,"4294967295":2,"01":4,"-1":5})");
  // Duplicates: first position, last value.
  CHECK(RoundTrip(R"({"a":1,"b":2,"a":3})") == R"({"a":3,"b":2})");
  CHECK(RoundTrip(R"({"__proto__":1})") == R"({"__proto__":1})");
  ssb::json::Value o = ssb::json::Value::Object();
  o.Set("z", ssb::json::Value::Number(1));
  o.Set("10", ssb::json::Value::Number(2));
  o.Set("2", ssb::json::Value::Number(3));
  o.Set("z", ssb::json::Value::Number(4));
  CHECK(Stringify(o) == R"({"2":3,"10":2,"z":4})");
}

TEST_CASE("large objects with many keys stay correct") {
  std::string text = "{";
  for (int i = 0; i < 1000; ++i) text += "\"k" + std::to_string(i % 700) + "\":" + std::to_string(i) + ",";
  text += "\"end\":0}";
  auto v = Parse(text);
  REQUIRE(v.ok());
  CHECK(v->size() == 701);
  CHECK(v->Find("k5")->as_number() == 705);
  CHECK(v->keys()[0] == "k0");
}

TEST_CASE("strings are UTF-16 code units, escaped like JSON.stringify") {
  CHECK(RoundTrip(R"("\ud800")") == R"("\ud800")");
  CHECK(RoundTrip(R"("\uDC00\uD800")") == R"("\udc00\ud800")");
  CHECK(RoundTrip(R"("\ud83d\ude00")") == "\"\xF0\x9F\x98\x80\"");
  CHECK(RoundTrip(R"("\u0000\u001f\b\f\n\r\t\/\"\\")") == R"("\u0000\u001f\b\f\n\r\t/\"\\")");
  CHECK(RoundTrip("\"\xE2\x80\xA8\x7F\xC2\x85\"") == "\"\xE2\x80\xA8\x7F\xC2\x85\"");
  CHECK_FALSE(Parse("\"a\nb\"").ok());  // raw control characters are not allowed
  CHECK_FALSE(Parse(R"("\x41")").ok());
  CHECK_FALSE(Parse(R"("\u12")").ok());
  auto v = Parse(R"("a\ud83d\ude00\ud800")");
  REQUIRE(v.ok());
  CHECK(ssb::json::Utf16Length(v->as_string()) == 4);
  auto units = ssb::json::ToUtf16(v->as_string());
  CHECK(units == std::u16string{u'a', 0xD83D, 0xDE00, 0xD800});
  CHECK(ssb::json::FromUtf16(units) == v->as_string());
  CHECK(ssb::json::Latin1("\xC3\x9F") == "\xDF");                 // ß
  CHECK(ssb::json::Latin1("\xF0\x9F\x98\x80") == std::string("\x3D\0", 2));  // D83D DE00
}

TEST_CASE("ill-formed UTF-8 becomes U+FFFD as Node decodes it") {
  CHECK(RoundTrip("\"a\xFF" "b\"") == "\"a\xEF\xBF\xBD" "b\"");
  CHECK(RoundTrip("\"\xE2\x82\"") == "\"\xEF\xBF\xBD\"");  // truncated sequence: one U+FFFD
  CHECK(RoundTrip("\"\xED\xA0\x80\"") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

TEST_CASE("pretty printing matches JSON.stringify(v, null, 2)") {
  auto v = Parse(R"({"a":[1,{"b":[]},{}],"c":{"d":null}})");
  REQUIRE(v.ok());
  CHECK(StringifyPretty(*v) ==
        "{\n  \"a\": [\n    1,\n    {\n      \"b\": []\n    },\n    {}\n  ],\n  \"c\": {\n"
        "    \"d\": null\n  }\n}");
}

TEST_CASE("parser limits refuse hostile input with a clear error") {
  std::string deep(600, '[');
  auto r = Parse(deep);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == ssb::Code::kLimitExceeded);
  ssb::json::ParseOptions opt;
  opt.max_bytes = 10;
  auto big = Parse("[1,2,3,4,5,6,7,8]", opt);
  REQUIRE_FALSE(big.ok());
  CHECK(big.status().code() == ssb::Code::kLimitExceeded);
  auto bad = Parse("{\"a\":1,}");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == ssb::Code::kInvalidInput);
  CHECK(bad.status().message().find("offset") != std::string::npos);
  CHECK_FALSE(Parse("").ok());
  CHECK_FALSE(Parse("[1] x").ok());
  CHECK(Parse(" \t\r\n[1]\n").ok());
}

namespace {

// Byte-at-a-time references for the word-at-a-time text paths (swar.h).
size_t RefUtf16Length(std::string_view s) {
  size_t n = 0;
  for (char ch : s) {
    auto c = static_cast<uint8_t>(ch);
    if ((c & 0xC0) != 0x80) ++n;
    if (c >= 0xF0) ++n;
  }
  return n;
}

// Offset of the first byte that does not start a well-formed UTF-8 sequence (RFC 3629's table).
size_t RefFirstInvalidUtf8(std::string_view s) {
  auto at = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  for (size_t i = 0; i < s.size();) {
    uint8_t c = at(i);
    size_t need = 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      lo = c == 0xE0 ? 0xA0 : 0x80;
      hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      lo = c == 0xF0 ? 0x90 : 0x80;
      hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
      return i;
    }
    if (i + need >= s.size()) return i;  // truncated
    if (at(i + 1) < lo || at(i + 1) > hi) return i;
    for (size_t k = 2; k <= need; ++k) {
      if (at(i + k) < 0x80 || at(i + k) > 0xBF) return i;
    }
    i += need + 1;
  }
  return std::string_view::npos;
}

// JSON.stringify of a string, from its UTF-16 units, as the spec writes it.
std::string RefQuoted(std::string_view wtf8) {
  std::u16string u = ssb::json::ToUtf16(wtf8);
  std::u16string out = u"\"";
  for (size_t i = 0; i < u.size(); ++i) {
    char16_t c = u[i];
    bool high = c >= 0xD800 && c <= 0xDBFF, low = c >= 0xDC00 && c <= 0xDFFF;
    bool paired = (high && i + 1 < u.size() && u[i + 1] >= 0xDC00 && u[i + 1] <= 0xDFFF) ||
                  (low && i > 0 && u[i - 1] >= 0xD800 && u[i - 1] <= 0xDBFF);
    const char* esc = nullptr;
    switch (c) {
      case '"': esc = "\\\""; break;
      case '\\': esc = "\\\\"; break;
      case '\b': esc = "\\b"; break;
      case '\f': esc = "\\f"; break;
      case '\n': esc = "\\n"; break;
      case '\r': esc = "\\r"; break;
      case '\t': esc = "\\t"; break;
      default: break;
    }
    if (esc) {
      for (const char* p = esc; *p; ++p) out.push_back(static_cast<char16_t>(*p));
    } else if (c < 0x20 || ((high || low) && !paired)) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      for (const char* p = buf; *p; ++p) out.push_back(static_cast<char16_t>(*p));
    } else {
      out.push_back(c);
    }
  }
  out.push_back(u'"');
  return ssb::json::FromUtf16(out);
}

}  // namespace

TEST_CASE("the word-at-a-time text paths agree with byte-at-a-time references") {
  // Pieces that hit every special case of the scans: plain ASCII, quotes, backslashes,
  // controls, 2-, 3- and 4-byte sequences, a WTF-8 lone surrogate, Hangul (also lead byte 0xED)
  // and ill-formed bytes; strung together at every length and alignment up to 3 words.
  const std::vector<std::string> pieces = {
      "a", "bcdefgh", "\"", "\\", "\n", "\x01", "\x1f", " ", "\xC3\xA9", "\xE2\x82\xAC",
      "\xF0\x9F\x98\x80", "\xED\xA0\x80", "\xED\xBF\xBF", "\xED\x95\x9C", "\x7f", "/"};
  const std::vector<std::string> bad = {"\xFF", "\x80", "\xC3", "\xE2\x82", "\xF0\x9F\x98"};
  uint64_t state = 12345;
  auto next = [&state] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<size_t>(state >> 33);
  };
  for (int round = 0; round < 20000; ++round) {
    std::string s(next() % 8, 'x');  // shifts the rest against word boundaries
    size_t n = next() % 12;
    for (size_t k = 0; k < n; ++k) {
      const std::string& piece = pieces[next() % pieces.size()];
      // WTF-8 keeps a surrogate pair as one 4-byte sequence, never as two 3-byte ones.
      bool pair = s.ends_with("\xED\xA0\x80") && piece.starts_with("\xED\xBF");
      s += pair ? std::string("a") : piece;
    }
    INFO("round " << round);
    CHECK(ssb::json::Utf16Length(s) == RefUtf16Length(s));
    std::u16string units = ssb::json::ToUtf16(s);
    std::string latin1;
    for (char16_t u : units) latin1.push_back(static_cast<char>(u & 0xFF));
    CHECK(ssb::json::Latin1(s) == latin1);
    std::string quoted;
    ssb::json::AppendQuoted(&quoted, s);
    CHECK(quoted == RefQuoted(s));
    // Parsing the quoted text gives the string back; and ill-formed bytes are found where a
    // bytewise walk finds them.
    auto back = Parse(quoted);
    REQUIRE(back.ok());
    CHECK(back->as_string() == s);
    std::string broken = s;
    broken.insert(next() % (broken.size() + 1), bad[next() % bad.size()]);
    CHECK(ssb::json::FindInvalidUtf8(broken) == RefFirstInvalidUtf8(broken));
  }
}
