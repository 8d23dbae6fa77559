// A JSON value model that behaves like JavaScript's, for feed data.
//
// SSB signs and hashes JSON.stringify output, so every detail of V8's behaviour matters:
//  - strings are sequences of UTF-16 code units; here they are held as WTF-8 (UTF-8 that may
//    also encode unpaired surrogates as 3-byte sequences), so "\ud800" round-trips;
//  - numbers are IEEE doubles printed with ECMAScript Number::toString;
//  - object members keep V8 property order: canonical array-index keys ("0".."4294967294")
//    first in ascending numeric order, then the other keys in insertion order; a duplicate key
//    keeps its first position and its last value.
// nlohmann/json does none of this; it is used only for non-feed data (config, CLI plumbing).
//
// Thread-safety: a Value is a plain value type; const access from many threads is safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ssb/status.h"

namespace ssb::json {

class Value {
 public:
  enum class Type : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

  Value() = default;  // null
  static Value Null() { return Value(); }
  static Value Bool(bool b);
  static Value Number(double n);
  static Value String(std::string wtf8);
  static Value Array();
  static Value Object();
  // An object from parallel key/value vectors.
  // REQUIRES: keys unique and already in V8 property order (the parser guarantees both).
  static Value ObjectFromParts(std::vector<std::string> keys, std::vector<Value> items);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  // REQUIRES: the matching type.
  bool as_bool() const { return bool_; }
  double as_number() const { return number_; }
  const std::string& as_string() const { return string_; }  // WTF-8

  // Arrays: the elements. Objects: the member values, parallel to keys().
  const std::vector<Value>& items() const { return items_; }
  std::vector<Value>& items() { return items_; }
  // Objects: member names in V8 property order (WTF-8).
  const std::vector<std::string>& keys() const { return keys_; }
  size_t size() const { return items_.size(); }

  // REQUIRES: is_array().
  void Push(Value v) { items_.push_back(std::move(v)); }

  // Objects. Find returns nullptr when the key is absent (or this is not an object).
  const Value* Find(std::string_view key) const;
  Value* Find(std::string_view key);
  // Like JavaScript `obj[key] = v`: an existing key keeps its position; a new array-index key is
  // placed among the index keys in numeric order; any other new key goes last.
  // REQUIRES: is_object().
  void Set(std::string key, Value v);
  // Like `delete obj[key]`. Returns whether the key was present.
  bool Erase(std::string_view key);

  // Structural equality; numbers compare with ==, so -0 equals 0.
  bool operator==(const Value& other) const;

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<std::string> keys_;
  std::vector<Value> items_;
};

struct ParseOptions {
  // Nesting deeper than this is refused. A signed message cannot nest deeper than ~90 levels
  // (2-space indentation makes its size quadratic in depth), so the default is generous.
  uint32_t max_depth = 512;
  // Input larger than this is refused before parsing.
  size_t max_bytes = 64u << 20;
  // More values (scalars, arrays, objects, counted as they are read) than this are refused as
  // soon as the parser meets one too many. Each value costs ~100 bytes in memory however short
  // its text ("0," is two bytes): this bounds memory per input, not only the input's size.
  size_t max_values = SIZE_MAX;
  // The input is WTF-8 already (text that came out of this library, e.g. a JSON string value
  // holding JSON): skip the UTF-8 decoding step so that unpaired surrogates survive.
  bool wtf8_input = false;
};

// JSON.parse over the UTF-8 decoding of `text` (ill-formed UTF-8 becomes U+FFFD, as Node's
// decoder does). Error: kInvalidInput naming the offset, or kLimitExceeded.
Result<Value> Parse(std::string_view text, const ParseOptions& options = {});

// JSON.stringify(v): compact, UTF-8 (unpaired surrogates are written as \udxxx escapes).
std::string Stringify(const Value& v);
// JSON.stringify(v, null, 2).
std::string StringifyPretty(const Value& v);
void AppendStringify(std::string* out, const Value& v);
void AppendStringifyPretty(std::string* out, const Value& v, int depth = 0);
// ECMAScript Number::toString(n) (NaN and infinities as "null", as JSON.stringify writes them).
void AppendNumber(std::string* out, double n);
std::string NumberToString(double n);
// A JSON string literal with JSON.stringify's escaping.
void AppendQuoted(std::string* out, std::string_view wtf8);

// Node's Buffer#toString('utf8'): the string JavaScript gets from UTF-8 bytes, as WTF-8, each
// maximal ill-formed subsequence replaced by U+FFFD (the WHATWG decoder). Well-formed UTF-8
// comes back unchanged.
std::string DecodeUtf8(std::string_view bytes);

// Views of a WTF-8 string as JavaScript sees it.
size_t Utf16Length(std::string_view wtf8);       // String.prototype.length
std::string Latin1(std::string_view wtf8);       // Buffer.from(s, 'binary'): low byte per unit
std::u16string ToUtf16(std::string_view wtf8);
std::string FromUtf16(std::u16string_view units);  // WTF-8
// Appends code point or lone surrogate `cp` (<= 0x10FFFF) as WTF-8.
void AppendCodePoint(std::string* out, uint32_t cp);

// Text that comes from outside the process and may end up signed — command-line arguments,
// files and standard input given to publish — is checked here, in one place: it must be
// well-formed UTF-8 (a Latin-1 "café" would otherwise be signed as bytes that no peer can
// verify). Bytes received from peers are instead decoded as Node does (Parse: U+FFFD).
// Offset of the first byte that is not well-formed UTF-8, or std::string_view::npos.
size_t FindInvalidUtf8(std::string_view text);
// Ok for well-formed UTF-8; else kInvalidArgument: "<what> is not valid UTF-8 (byte 0xE9 at
// offset 3); …".
Status CheckUtf8(std::string_view text, std::string_view what);
// True when every string and member name in `v` is well-formed WTF-8 (UTF-8 plus lone
// surrogates, which JavaScript strings may hold): what the serializer needs to write the bytes
// that get signed. The parser only produces such values.
bool IsWellFormedWtf8(const Value& v);
bool IsWellFormedWtf8(std::string_view s);

// True when `key` is a canonical array index ("0", "1", ... "4294967294").
bool IsArrayIndex(std::string_view key, uint32_t* index = nullptr);

}  // namespace ssb::json
