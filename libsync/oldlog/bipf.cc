// bipf 1.9, the binary JSON of ssb-db2's log (formats/db2-log-bipf.md "bipf").
//
// Decoding reproduces what ssb-db2's readers get: bipf.decode() into JavaScript values, then
// JSON.stringify of them. Encoding reproduces bipf.allocAndEncode byte for byte, so that logs
// written here (tests, benchmarks) are the logs ssb-db2 writes.
#include <bit>
#include <cmath>
#include <cstring>
#include <string>
#include <unordered_set>

#include "ssb/oldlog.h"

namespace ssb::oldlog {
namespace {

using json::Value;

// formats/db2-log-bipf.md "bipf": the type in a tag's low 3 bits.
enum BipfType : uint8_t {
  kString = 0,
  kBuffer = 1,
  kInt = 2,
  kDouble = 3,
  kArray = 4,
  kObject = 5,
  kBoolNull = 6,
  kReserved = 7,
};

// fast-varint reads at most 8 bytes (56 bits).
constexpr int kMaxVarintBytes = 8;

class Decoder {
 public:
  Decoder(const uint8_t* begin, const DecodeLimits& limits) : begin_(begin), limits_(limits) {}

  // Decodes the item at *p, which must lie within [*p, end); advances *p past it.
  // *undefined is set for bipf's `undefined` (JSON has no such value; callers drop it).
  Status Item(const uint8_t** p, const uint8_t* end, uint32_t depth, Value* out,
              bool* undefined) {
    uint8_t type = 0;
    size_t len = 0;
    SSB_RETURN_IF_ERROR(Tag(p, end, &type, &len));
    const uint8_t* body = *p;
    *p += len;
    *undefined = false;
    switch (type) {
      case kString:
        *out = Value::String(
            json::DecodeUtf8(std::string_view(reinterpret_cast<const char*>(body), len)));
        return Status::Ok();
      case kBuffer:
        return Bad(body, "a bipf buffer (JSON has no form for one)");
      case kInt: {
        if (len != 4) return Bad(body, "a bipf int of " + std::to_string(len) + " bytes (must be 4)");
        uint32_t u = uint32_t{body[0]} | uint32_t{body[1]} << 8 | uint32_t{body[2]} << 16 |
                     uint32_t{body[3]} << 24;
        *out = Value::Number(static_cast<double>(static_cast<int32_t>(u)));
        return Status::Ok();
      }
      case kDouble: {
        if (len != 8) {
          return Bad(body, "a bipf double of " + std::to_string(len) + " bytes (must be 8)");
        }
        uint64_t u = 0;
        for (int i = 7; i >= 0; --i) u = u << 8 | body[i];
        double d = std::bit_cast<double>(u);
        // JSON.stringify writes NaN and the infinities as null.
        *out = std::isfinite(d) ? Value::Number(d) : Value::Null();
        return Status::Ok();
      }
      case kArray:
      case kObject:
        if (depth >= limits_.max_depth) {
          return Status::LimitExceeded("bipf nested deeper than " +
                                       std::to_string(limits_.max_depth) + " at byte " +
                                       std::to_string(body - begin_));
        }
        return type == kArray ? Array(body, body + len, depth + 1, out)
                              : Object(body, body + len, depth + 1, out);
      case kBoolNull:
        if (len == 0) {
          *out = Value::Null();
          return Status::Ok();
        }
        if (len != 1 || body[0] > 2) return Bad(body, "a bipf boolnull that is none of false, true, undefined, null");
        if (body[0] == 2) {
          *undefined = true;
          *out = Value::Null();
        } else {
          *out = Value::Bool(body[0] == 1);
        }
        return Status::Ok();
      default:
        return Bad(body, "the reserved bipf type 7");
    }
  }

  const uint8_t* begin() const { return begin_; }

 private:
  Status Bad(const uint8_t* at, const std::string& what) const {
    return Status::InvalidInput(what + " at byte " + std::to_string(at - begin_));
  }

  Status Tag(const uint8_t** p, const uint8_t* end, uint8_t* type, size_t* len) {
    uint64_t tag = 0;
    int shift = 0;
    const uint8_t* q = *p;
    for (int i = 0;; ++i) {
      if (q >= end) return Bad(*p, "a bipf tag past the end of its container");
      if (i == kMaxVarintBytes) return Bad(*p, "a bipf tag longer than 8 bytes");
      uint8_t b = *q++;
      tag |= uint64_t{b & 0x7Fu} << shift;
      shift += 7;
      if (b < 0x80) break;
    }
    *type = static_cast<uint8_t>(tag & 7);
    uint64_t length = tag >> 3;
    if (length > static_cast<uint64_t>(end - q)) {
      return Bad(*p, "a bipf item of " + std::to_string(length) +
                         " bytes past the end of its container");
    }
    *len = static_cast<size_t>(length);
    *p = q;
    return Status::Ok();
  }

  Status Array(const uint8_t* p, const uint8_t* end, uint32_t depth, Value* out) {
    *out = Value::Array();
    while (p < end) {
      Value v;
      bool undefined = false;
      SSB_RETURN_IF_ERROR(Item(&p, end, depth, &v, &undefined));
      out->Push(undefined ? Value::Null() : std::move(v));  // JSON.stringify: undefined -> null
    }
    return Status::Ok();
  }

  Status Object(const uint8_t* p, const uint8_t* end, uint32_t depth, Value* out) {
    *out = Value::Object();
    // JavaScript's `o[key] = undefined` keeps the key's place and JSON.stringify skips it; a
    // later real value for the same key comes back at that place. So undefined members are
    // held as null until the end and dropped only if still undefined then.
    std::unordered_set<std::string> undefined_keys;
    while (p < end) {
      const uint8_t* key_at = p;
      uint8_t type = 0;
      size_t len = 0;
      SSB_RETURN_IF_ERROR(Tag(&p, end, &type, &len));
      if (type != kString) return Bad(key_at, "a bipf object key that is not a string");
      std::string key =
          json::DecodeUtf8(std::string_view(reinterpret_cast<const char*>(p), len));
      p += len;
      if (p >= end) return Bad(key_at, "a bipf object key without a value");
      Value v;
      bool undefined = false;
      SSB_RETURN_IF_ERROR(Item(&p, end, depth, &v, &undefined));
      if (undefined) {
        undefined_keys.insert(key);
      } else if (!undefined_keys.empty()) {
        undefined_keys.erase(key);
      }
      out->Set(std::move(key), std::move(v));
    }
    for (const std::string& k : undefined_keys) out->Erase(k);
    return Status::Ok();
  }

  const uint8_t* begin_;
  const DecodeLimits& limits_;
};

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutTag(std::string* out, size_t len, BipfType type) {
  PutVarint(out, (uint64_t{len} << 3) | type);
}

// Buffer#write(string, 'utf8'): unpaired surrogates (3-byte ED A0..BF xx in WTF-8) become
// U+FFFD.
std::string Utf8OfJsString(std::string_view wtf8) {
  std::string out;
  out.reserve(wtf8.size());
  for (size_t i = 0; i < wtf8.size(); ++i) {
    auto c = static_cast<uint8_t>(wtf8[i]);
    if (c == 0xED && i + 2 < wtf8.size() && static_cast<uint8_t>(wtf8[i + 1]) >= 0xA0) {
      out.append("\xEF\xBF\xBD");
      i += 2;
      continue;
    }
    out.push_back(wtf8[i]);
  }
  return out;
}

void Encode(std::string* out, const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull:
      PutTag(out, 0, kBoolNull);
      return;
    case Value::Type::kBool:
      PutTag(out, 1, kBoolNull);
      out->push_back(v.as_bool() ? 1 : 0);
      return;
    case Value::Type::kNumber: {
      double d = v.as_number();
      if (!std::isfinite(d)) {  // JSON.stringify would write null; bipf itself would throw
        PutTag(out, 0, kBoolNull);
        return;
      }
      // bipf's getType: Number.isInteger(d) && |d| <= 2^31 - 1 is an int (-0 included).
      if (std::trunc(d) == d && std::fabs(d) <= 2147483647.0) {
        PutTag(out, 4, kInt);
        auto u = static_cast<uint32_t>(static_cast<int32_t>(d));
        for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(u >> (8 * i)));
        return;
      }
      PutTag(out, 8, kDouble);
      auto u = std::bit_cast<uint64_t>(d);
      for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(u >> (8 * i)));
      return;
    }
    case Value::Type::kString: {
      std::string s = Utf8OfJsString(v.as_string());
      PutTag(out, s.size(), kString);
      out->append(s);
      return;
    }
    case Value::Type::kArray:
    case Value::Type::kObject: {
      std::string body;
      for (size_t i = 0; i < v.items().size(); ++i) {
        if (v.is_object()) Encode(&body, Value::String(v.keys()[i]));
        Encode(&body, v.items()[i]);
      }
      PutTag(out, body.size(), v.is_array() ? kArray : kObject);
      out->append(body);
      return;
    }
  }
}

}  // namespace

// Shared with record.cc: decodes the first item of `bytes`; trailing bytes are allowed (bipf's
// decode reads one value and ignores what follows).
Status BipfDecodePrefix(std::span<const uint8_t> bytes, const DecodeLimits& limits, Value* out,
                        bool* undefined, size_t* consumed) {
  Decoder d(bytes.data(), limits);
  const uint8_t* p = bytes.data();
  SSB_RETURN_IF_ERROR(d.Item(&p, bytes.data() + bytes.size(), 0, out, undefined));
  *consumed = static_cast<size_t>(p - bytes.data());
  return Status::Ok();
}

Result<json::Value> BipfDecode(std::span<const uint8_t> bytes, const DecodeLimits& limits) {
  if (bytes.empty()) return Status::InvalidInput("empty bipf");
  Value v;
  bool undefined = false;
  size_t consumed = 0;
  SSB_RETURN_IF_ERROR(BipfDecodePrefix(bytes, limits, &v, &undefined, &consumed));
  if (undefined) return Status::InvalidInput("bipf value is undefined");
  if (consumed != bytes.size()) {
    return Status::InvalidInput(std::to_string(bytes.size() - consumed) +
                                " bytes after the bipf value");
  }
  return v;
}

std::string BipfEncode(const json::Value& value) {
  std::string out;
  Encode(&out, value);
  return out;
}

}  // namespace ssb::oldlog
