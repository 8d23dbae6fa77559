// JSON.parse with V8's semantics (PROTOCOL.md §2.5): UTF-16 strings kept as WTF-8, doubles,
// V8 property order and duplicate-key rules. Untrusted input: depth and size are limited.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unordered_map>

#include "ssb/json.h"
#include "swar.h"

namespace ssb::json {
namespace {

// Length of the well-formed UTF-8 sequence at p (1..4), or 0 for an ill-formed one; on 0,
// *bad_len is the length of the maximal subpart to replace by one U+FFFD (WHATWG decoder).
size_t Utf8SequenceLength(const uint8_t* p, const uint8_t* end, size_t* bad_len) {
  uint8_t c = p[0];
  if (c < 0x80) return 1;
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    *bad_len = 1;
    return 0;
  }
  for (size_t k = 1; k <= need; ++k) {
    if (p + k >= end || p[k] < lo || p[k] > hi) {
      *bad_len = k;
      return 0;
    }
    lo = 0x80, hi = 0xBF;
  }
  return need + 1;
}

// Offset of the first ill-formed UTF-8 sequence at or after `from`, or npos; *bad_len as above.
// The one walk behind decoding, checking and the WTF-8 test below.
size_t NextInvalidUtf8(std::string_view text, size_t from, size_t* bad_len) {
  auto* begin = reinterpret_cast<const uint8_t*>(text.data());
  auto* end = begin + text.size();
  for (auto* p = begin + from; p < end;) {
    if (end - p >= 8 && !swar::HasHighByte(swar::Load(p))) {
      p += 8;
      continue;
    }
    if (*p < 0x80) {
      ++p;
      continue;
    }
    size_t len = Utf8SequenceLength(p, end, bad_len);
    if (!len) return static_cast<size_t>(p - begin);
    p += len;
  }
  return std::string_view::npos;
}

// Node decodes socket and file bytes as UTF-8 before JSON.parse sees them.
bool SanitizeUtf8(std::string_view in, std::string* out) {
  size_t bad = 0;
  size_t at = NextInvalidUtf8(in, 0, &bad);
  if (at == std::string_view::npos) return false;
  out->clear();
  out->reserve(in.size() + 16);
  size_t run = 0;
  for (; at != std::string_view::npos; at = NextInvalidUtf8(in, run, &bad)) {
    out->append(in.substr(run, at - run));
    out->append("\xEF\xBF\xBD");
    run = at + bad;
  }
  out->append(in.substr(run));
  return true;
}

class Parser {
 public:
  Parser(std::string_view text, const ParseOptions& options)
      : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()), opt_(options) {}

  Result<Value> ParseDocument() {
    Value v;
    SkipSpace();
    if (!ParseValue(&v, 0)) return Error();
    SkipSpace();
    if (p_ != end_ && error_.empty()) Fail("unexpected data after the JSON value");
    if (!error_.empty()) return Error();
    return v;
  }

 private:
  Status Error() const {
    std::string msg = "JSON at offset " + std::to_string(p_ - begin_) + ": " + error_;
    return limit_ ? Status::LimitExceeded(msg) : Status::InvalidInput(msg);
  }
  bool Fail(const char* what) {
    if (error_.empty()) error_ = what;
    return false;
  }

  void SkipSpace() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }

  bool Literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() ||
        std::string_view(p_, word.size()) != word) {
      return Fail("invalid literal");
    }
    p_ += word.size();
    return true;
  }

  bool ParseValue(Value* out, uint32_t depth) {
    if (p_ == end_) return Fail("unexpected end of input");
    if (++values_ > opt_.max_values) {
      limit_ = true;
      return Fail("more values than the limit");
    }
    switch (*p_) {
      case '{': return ParseObject(out, depth + 1);
      case '[': return ParseArray(out, depth + 1);
      case '"': {
        std::string s;
        if (!ParseString(&s)) return false;
        *out = Value::String(std::move(s));
        return true;
      }
      case 't': *out = Value::Bool(true); return Literal("true");
      case 'f': *out = Value::Bool(false); return Literal("false");
      case 'n': *out = Value(); return Literal("null");
      default: return ParseNumber(out);
    }
  }

  bool CheckDepth(uint32_t depth) {
    if (depth > opt_.max_depth) {
      limit_ = true;
      return Fail("nesting is deeper than the limit");
    }
    return true;
  }

  bool ParseArray(Value* out, uint32_t depth) {
    if (!CheckDepth(depth)) return false;
    ++p_;
    *out = Value::Array();
    SkipSpace();
    if (p_ < end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      SkipSpace();
      Value item;
      if (!ParseValue(&item, depth)) return false;
      out->Push(std::move(item));
      SkipSpace();
      if (p_ == end_) return Fail("unterminated array");
      if (*p_ == ',') {
        ++p_;
        continue;
      }
      if (*p_ == ']') {
        ++p_;
        return true;
      }
      return Fail("expected ',' or ']'");
    }
  }

  bool ParseObject(Value* out, uint32_t depth) {
    if (!CheckDepth(depth)) return false;
    ++p_;
    std::vector<std::string> keys;
    std::vector<Value> items;
    std::unordered_map<std::string, size_t> index;  // only for large objects
    bool any_index = false;
    SkipSpace();
    if (p_ < end_ && *p_ == '}') {
      ++p_;
      *out = Value::Object();
      return true;
    }
    for (;;) {
      SkipSpace();
      if (p_ == end_ || *p_ != '"') return Fail("expected a string key");
      std::string key;
      if (!ParseString(&key)) return false;
      SkipSpace();
      if (p_ == end_ || *p_ != ':') return Fail("expected ':'");
      ++p_;
      SkipSpace();
      Value item;
      if (!ParseValue(&item, depth)) return false;
      // A duplicate keeps its first position and takes the last value.
      size_t found = FindKey(keys, &index, key);
      if (found != keys.size()) {
        items[found] = std::move(item);
      } else {
        any_index = any_index || IsArrayIndex(key);
        if (!index.empty() || keys.size() == kLinearKeys) {
          if (index.empty())
            for (size_t i = 0; i < keys.size(); ++i) index.emplace(keys[i], i);
          index.emplace(key, keys.size());
        }
        keys.push_back(std::move(key));
        items.push_back(std::move(item));
      }
      SkipSpace();
      if (p_ == end_) return Fail("unterminated object");
      if (*p_ == ',') {
        ++p_;
        continue;
      }
      if (*p_ == '}') {
        ++p_;
        break;
      }
      return Fail("expected ',' or '}'");
    }
    if (any_index) ReorderIndexKeys(&keys, &items);
    *out = Value::ObjectFromParts(std::move(keys), std::move(items));
    return true;
  }

  // Small objects (every message) search linearly; large ones through a hash index, so that
  // hostile input with many keys stays linear.
  static constexpr size_t kLinearKeys = 32;
  static size_t FindKey(const std::vector<std::string>& keys,
                        const std::unordered_map<std::string, size_t>* index,
                        const std::string& key) {
    if (!index->empty()) {
      auto it = index->find(key);
      return it == index->end() ? keys.size() : it->second;
    }
    return static_cast<size_t>(std::find(keys.begin(), keys.end(), key) - keys.begin());
  }

  // V8 property order: array-index keys first, ascending; then the rest in insertion order.
  static void ReorderIndexKeys(std::vector<std::string>* keys, std::vector<Value>* items) {
    std::vector<size_t> order(keys->size());
    std::vector<int64_t> rank(keys->size());
    for (size_t i = 0; i < keys->size(); ++i) {
      uint32_t idx;
      order[i] = i;
      rank[i] = IsArrayIndex((*keys)[i], &idx) ? static_cast<int64_t>(idx) : int64_t{1} << 40;
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return rank[a] < rank[b]; });
    std::vector<std::string> new_keys;
    std::vector<Value> new_items;
    new_keys.reserve(order.size());
    new_items.reserve(order.size());
    for (size_t i : order) {
      new_keys.push_back(std::move((*keys)[i]));
      new_items.push_back(std::move((*items)[i]));
    }
    *keys = std::move(new_keys);
    *items = std::move(new_items);
  }

  static int Hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool ParseString(std::string* out) {
    ++p_;  // opening quote
    const char* run = p_;
    for (;;) {
      // Words without a quote, a backslash or a control character are copied as they are.
      while (end_ - p_ >= 8) {
        uint64_t x = swar::Load(p_);
        if (swar::HasByte(x, '"') || swar::HasByte(x, '\\') || swar::HasByteBelow(x, 0x20)) break;
        p_ += 8;
      }
      if (p_ == end_) return Fail("unterminated string");
      auto c = static_cast<uint8_t>(*p_);
      if (c == '"') {
        out->append(run, static_cast<size_t>(p_ - run));
        ++p_;
        return true;
      }
      if (c < 0x20) return Fail("raw control character in string");
      if (c != '\\') {
        ++p_;
        continue;
      }
      out->append(run, static_cast<size_t>(p_ - run));
      ++p_;
      if (p_ == end_) return Fail("unterminated escape");
      char e = *p_++;
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          if (end_ - p_ < 4) return Fail("truncated \\u escape");
          uint32_t unit = 0;
          for (int i = 0; i < 4; ++i) {
            int h = Hex(p_[i]);
            if (h < 0) return Fail("invalid \\u escape");
            unit = unit * 16 + static_cast<uint32_t>(h);
          }
          p_ += 4;
          AppendUnit(out, unit);
          break;
        }
        default: return Fail("invalid escape");
      }
      run = p_;
    }
  }

  // Appends one UTF-16 code unit; a low surrogate right after a high one forms a pair, stored
  // as one 4-byte sequence so that equal JS strings have equal WTF-8.
  static void AppendUnit(std::string* out, uint32_t unit) {
    if (unit >= 0xDC00 && unit <= 0xDFFF && out->size() >= 3) {
      auto* t = reinterpret_cast<const uint8_t*>(out->data() + out->size() - 3);
      if (t[0] == 0xED && t[1] >= 0xA0 && t[1] <= 0xAF) {
        uint32_t high = 0xD000 | ((t[1] & 0x3Fu) << 6) | (t[2] & 0x3Fu);
        out->resize(out->size() - 3);
        AppendCodePoint(out, 0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00));
        return;
      }
    }
    AppendCodePoint(out, unit);
  }

  bool ParseNumber(Value* out) {
    const char* start = p_;
    if (p_ < end_ && *p_ == '-') ++p_;
    if (p_ == end_) return Fail("invalid number");
    if (*p_ == '0') {
      ++p_;
    } else if (*p_ >= '1' && *p_ <= '9') {
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    } else {
      return Fail("unexpected character");
    }
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') return Fail("invalid number");
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') return Fail("invalid number");
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    double d = 0;
    auto res = std::from_chars(start, p_, d);
    if (res.ec == std::errc::result_out_of_range) {
      // Overflow gives ±Infinity and underflow ±0, as in JavaScript; strtod rounds correctly.
      std::string copy(start, p_);
      d = std::strtod(copy.c_str(), nullptr);
    } else if (res.ec != std::errc() || res.ptr != p_) {
      return Fail("invalid number");
    }
    *out = Value::Number(d);
    return true;
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  const ParseOptions& opt_;
  std::string error_;
  bool limit_ = false;
  size_t values_ = 0;
};

}  // namespace

std::string DecodeUtf8(std::string_view bytes) {
  std::string out;
  if (SanitizeUtf8(bytes, &out)) return out;
  return std::string(bytes);
}

size_t FindInvalidUtf8(std::string_view text) {
  size_t bad = 0;
  return NextInvalidUtf8(text, 0, &bad);
}

Status CheckUtf8(std::string_view text, std::string_view what) {
  size_t at = FindInvalidUtf8(text);
  if (at == std::string_view::npos) return Status::Ok();
  char byte[8];
  std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned>(static_cast<uint8_t>(text[at])));
  return Status::InvalidArgument(std::string(what) + " is not valid UTF-8 (byte " + byte +
                                 " at offset " + std::to_string(at) +
                                 "); convert it to UTF-8 first (e.g. iconv -f latin1 -t utf-8)");
}

bool IsWellFormedWtf8(std::string_view s) {
  auto* begin = reinterpret_cast<const uint8_t*>(s.data());
  auto* end = begin + s.size();
  size_t bad = 0;
  for (size_t at = NextInvalidUtf8(s, 0, &bad); at != std::string_view::npos;
       at = NextInvalidUtf8(s, at, &bad)) {
    // A lone surrogate: ED A0..BF 80..BF. A high one followed by a low one is a pair written
    // the wrong way (CESU-8): JavaScript would read it back as one character.
    const uint8_t* p = begin + at;
    if (!(p[0] == 0xED && end - p >= 3 && p[1] >= 0xA0 && p[1] <= 0xBF && p[2] >= 0x80 &&
          p[2] <= 0xBF)) {
      return false;
    }
    bool high = p[1] <= 0xAF;
    p += 3;
    if (high && end - p >= 3 && p[0] == 0xED && p[1] >= 0xB0 && p[1] <= 0xBF) return false;
    at += 3;
  }
  return true;
}

bool IsWellFormedWtf8(const Value& v) {
  switch (v.type()) {
    case Value::Type::kString: return IsWellFormedWtf8(v.as_string());
    case Value::Type::kArray:
      for (const auto& i : v.items())
        if (!IsWellFormedWtf8(i)) return false;
      return true;
    case Value::Type::kObject:
      for (const auto& k : v.keys())
        if (!IsWellFormedWtf8(std::string_view(k))) return false;
      for (const auto& i : v.items())
        if (!IsWellFormedWtf8(i)) return false;
      return true;
    default: return true;
  }
}

Result<Value> Parse(std::string_view text, const ParseOptions& options) {
  if (text.size() > options.max_bytes) {
    return Status::LimitExceeded("JSON input of " + std::to_string(text.size()) +
                                 " bytes is over the limit of " +
                                 std::to_string(options.max_bytes));
  }
  std::string sanitized;
  if (!options.wtf8_input && SanitizeUtf8(text, &sanitized)) text = sanitized;
  return Parser(text, options).ParseDocument();
}

}  // namespace ssb::json
