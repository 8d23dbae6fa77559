// ssb_gen_messages SEED COUNT: COUNT signed messages from 3 interleaved feeds, made by our
// ssb::CreateMessage, with random hostile content (astral and lone surrogates, controls, JS
// number edge cases, integer-like keys). One {"key","value"} JSON line per message.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "ssb/keys.h"
#include "ssb/message.h"

using ssb::json::Value;

namespace {

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}

  size_t Int(size_t n) { return static_cast<size_t>(rng_() % n); }
  double Unit() { return std::uniform_real_distribution<double>(0, 1)(rng_); }

  std::string String(size_t max_len) {
    static const char16_t kSpecial[] = {0xd800, 0xdbff, 0xdc00, 0xdfff, 0x0000, 0x0001, 0x001f,
                                        0x007f, 0x0085, 0x00a0, 0x00df, 0x00ff, 0x2028, 0x2029,
                                        0xfeff, 0xfffd, 0xffff, u'"', u'\\', u'/'};
    std::u16string units;
    size_t len = Int(max_len + 1);
    for (size_t i = 0; i < len; ++i) {
      size_t k = Int(10);
      if (k < 4) {
        units.push_back(static_cast<char16_t>(0x20 + Int(0x5f)));
      } else if (k < 5) {
        units.push_back(static_cast<char16_t>(Int(0x20)));
      } else if (k < 6) {
        units.push_back(kSpecial[Int(std::size(kSpecial))]);
      } else if (k < 8) {
        units.push_back(static_cast<char16_t>(0x80 + Int(0xd800 - 0x80)));
      } else {
        uint32_t cp = 0x10000 + static_cast<uint32_t>(Int(0x100000));
        auto hi = static_cast<char16_t>(0xd800 + ((cp - 0x10000) >> 10));
        auto lo = static_cast<char16_t>(0xdc00 + ((cp - 0x10000) & 0x3ff));
        if (Unit() < 0.1) {
          units.push_back(lo);
          units.push_back(hi);
        } else {
          units.push_back(hi);
          units.push_back(lo);
        }
      }
    }
    return ssb::json::FromUtf16(units);
  }

  double Number() {
    static const double kNumbers[] = {0, -0.0, 1, 0.1, 0.5, 1e21, 1e20, 1e-6, 1e-7, 5e-324,
                                      1.7976931348623157e308, 9007199254740993.0, 2147483648.0,
                                      1.0 / 3, 2.0 / 3, 1e300, 4.35, 0.000001234,
                                      1234567890123456789012.0};
    switch (Int(4)) {
      case 0: return kNumbers[Int(std::size(kNumbers))] * (Unit() < 0.5 ? -1 : 1);
      case 1: return static_cast<double>(Int(2147483648u));
      case 2: return (Unit() - 0.5) * std::pow(10.0, static_cast<double>(Int(40)) - 20);
      default: return Unit();
    }
  }

  Value Any(int depth) {
    switch (Int(depth > 3 ? 4 : 7)) {
      case 0: return Value::String(String(12));
      case 1: return Value::Number(Number());
      case 2: {
        size_t k = Int(3);
        return k == 0 ? Value::Bool(true) : k == 1 ? Value::Bool(false) : Value::Null();
      }
      case 3: return Value::String(String(40));
      case 4: {
        Value a = Value::Array();
        for (size_t i = Int(4); i > 0; --i) a.Push(Any(depth + 1));
        return a;
      }
      default: return Object(depth + 1);
    }
  }

  Value Object(int depth) {
    static const char* kKeys[] = {"0", "1", "7", "10", "01", "4294967294", "4294967295", "-1",
                                  "1.5", "type", "text", "__proto__", "", "a", "b", "z",
                                  "\xC3\xBCn\xC3\xAF", "\xF0\x9F\x98\x80", "constructor"};
    Value o = Value::Object();
    for (size_t i = Int(5); i > 0; --i) {
      std::string key = Unit() < 0.5 ? kKeys[Int(std::size(kKeys))] : String(6);
      o.Set(std::move(key), Any(depth));
    }
    return o;
  }

  Value Content() {
    Value c = Object(1);
    static const size_t kTypeLens[] = {3, 4, 8, 20, 52};
    size_t len = kTypeLens[Int(std::size(kTypeLens))];
    std::u16string type = ssb::json::ToUtf16(String(len));
    while (type.size() < len) type.push_back(u'x');
    type.resize(len);
    // Cutting a surrogate pair in half leaves a lone surrogate: still len units.
    c.Set("type", Value::String(ssb::json::FromUtf16(type)));
    return c;
  }

 private:
  std::mt19937_64 rng_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: ssb_gen_messages SEED COUNT\n");
    return 2;
  }
  uint64_t seed = std::strtoull(argv[1], nullptr, 10);
  size_t count = std::strtoull(argv[2], nullptr, 10);
  ssb::CryptoInit();
  Gen g(seed);
  std::vector<ssb::Keypair> authors;
  for (int i = 0; i < 3; ++i) {
    std::string label = "cpp-diff:" + std::to_string(seed) + ":" + std::to_string(i);
    auto seed32 = ssb::Sha256(std::span(reinterpret_cast<const uint8_t*>(label.data()), label.size()));
    authors.push_back(ssb::Keypair::FromSeed(seed32));
  }
  std::vector<std::optional<ssb::FeedState>> heads(authors.size());
  double ts = 1600000000000;
  size_t made = 0;
  while (made < count) {
    size_t a = g.Int(authors.size());
    ts += g.Int(3) == 0 ? -static_cast<double>(g.Int(1000))
                        : static_cast<double>(g.Int(100000)) + g.Unit();
    auto msg = ssb::CreateMessage(authors[a], heads[a] ? &*heads[a] : nullptr, g.Content(), ts);
    if (!msg.ok()) continue;  // e.g. over 8192 UTF-16 units: try another
    std::string line = "{\"key\":\"" + msg->id() + "\",\"value\":" + msg->Wire() + "}\n";
    std::fwrite(line.data(), 1, line.size(), stdout);
    heads[a] = ssb::FeedState{msg->id(), *msg->sequence()};
    ++made;
  }
  return 0;
}
