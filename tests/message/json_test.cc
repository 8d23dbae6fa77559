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
