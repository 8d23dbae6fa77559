#include <algorithm>
#include <cstring>

#include "ssb/json.h"
#include "swar.h"

namespace ssb::json {

Value Value::Bool(bool b) {
  Value v;
  v.type_ = Type::kBool;
  v.bool_ = b;
  return v;
}

Value Value::Number(double n) {
  Value v;
  v.type_ = Type::kNumber;
  v.number_ = n;
  return v;
}

Value Value::String(std::string wtf8) {
  Value v;
  v.type_ = Type::kString;
  v.string_ = std::move(wtf8);
  return v;
}

Value Value::Array() {
  Value v;
  v.type_ = Type::kArray;
  return v;
}

Value Value::Object() {
  Value v;
  v.type_ = Type::kObject;
  return v;
}

Value Value::ObjectFromParts(std::vector<std::string> keys, std::vector<Value> items) {
  Value v;
  v.type_ = Type::kObject;
  v.keys_ = std::move(keys);
  v.items_ = std::move(items);
  return v;
}

const Value* Value::Find(std::string_view key) const {
  if (type_ != Type::kObject) return nullptr;
  for (size_t i = 0; i < keys_.size(); ++i)
    if (keys_[i] == key) return &items_[i];
  return nullptr;
}

Value* Value::Find(std::string_view key) {
  return const_cast<Value*>(static_cast<const Value*>(this)->Find(key));
}

void Value::Set(std::string key, Value v) {
  if (Value* existing = Find(key)) {
    *existing = std::move(v);
    return;
  }
  uint32_t index;
  size_t pos = keys_.size();
  if (IsArrayIndex(key, &index)) {
    // Index keys stay sorted ahead of all other keys.
    pos = 0;
    uint32_t other;
    while (pos < keys_.size() && IsArrayIndex(keys_[pos], &other) && other < index) ++pos;
  }
  keys_.insert(keys_.begin() + static_cast<std::ptrdiff_t>(pos), std::move(key));
  items_.insert(items_.begin() + static_cast<std::ptrdiff_t>(pos), std::move(v));
}

bool Value::Erase(std::string_view key) {
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) {
      keys_.erase(keys_.begin() + static_cast<std::ptrdiff_t>(i));
      items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(i));
      return true;
    }
  }
  return false;
}

bool Value::operator==(const Value& o) const {
  if (type_ != o.type_) return false;
  switch (type_) {
    case Type::kNull: return true;
    case Type::kBool: return bool_ == o.bool_;
    case Type::kNumber: return number_ == o.number_;
    case Type::kString: return string_ == o.string_;
    case Type::kArray: return items_ == o.items_;
    case Type::kObject: return keys_ == o.keys_ && items_ == o.items_;
  }
  return false;
}

bool IsArrayIndex(std::string_view key, uint32_t* index) {
  if (key.empty() || key.size() > 10) return false;
  if (key[0] == '0' && key.size() > 1) return false;
  uint64_t v = 0;
  for (char c : key) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > 4294967294u) return false;  // 2^32 - 2: the largest array index
  if (index) *index = static_cast<uint32_t>(v);
  return true;
}

void AppendCodePoint(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

namespace {

// Decodes one WTF-8 sequence at s[i] (the input is well-formed WTF-8 by construction).
uint32_t DecodeAt(std::string_view s, size_t* i) {
  auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(s[k])); };
  uint32_t c = b(*i);
  if (c < 0x80) {
    *i += 1;
    return c;
  }
  if (c < 0xE0) {
    uint32_t cp = ((c & 0x1F) << 6) | (b(*i + 1) & 0x3F);
    *i += 2;
    return cp;
  }
  if (c < 0xF0) {
    uint32_t cp = ((c & 0x0F) << 12) | ((b(*i + 1) & 0x3F) << 6) | (b(*i + 2) & 0x3F);
    *i += 3;
    return cp;
  }
  uint32_t cp = ((c & 0x07) << 18) | ((b(*i + 1) & 0x3F) << 12) | ((b(*i + 2) & 0x3F) << 6) |
                (b(*i + 3) & 0x3F);
  *i += 4;
  return cp;
}

}  // namespace

size_t Utf16Length(std::string_view s) {
  // A lead byte starts one unit, or two for a supplementary code point: the bytes that are not
  // continuation bytes, plus the 4-byte leads.
  size_t n = 0;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t x = swar::Load(s.data() + i);
    n += 8;
    if (swar::HasHighByte(x)) {
      n -= static_cast<size_t>(swar::ContinuationBytes(x));
      n += static_cast<size_t>(swar::FourByteLeads(x));
    }
  }
  for (char ch : s.substr(i)) {
    auto c = static_cast<uint8_t>(ch);
    if ((c & 0xC0) != 0x80) ++n;  // a lead byte starts one unit...
    if (c >= 0xF0) ++n;           // ...or two for a supplementary code point
  }
  return n;
}

std::string Latin1(std::string_view s) {
  // Never longer than the UTF-8 text (1 byte per ASCII byte, at most 2 per 2–4-byte sequence):
  // written in place, ASCII runs copied whole (the id of every message is hashed over this).
  std::string out(s.size(), '\0');
  char* o = out.data();
  size_t i = 0;
  while (i < s.size()) {
    size_t run = i;
    while (run + 8 <= s.size() && !swar::HasHighByte(swar::Load(s.data() + run))) run += 8;
    while (run < s.size() && static_cast<uint8_t>(s[run]) < 0x80) ++run;
    std::memcpy(o, s.data() + i, run - i);
    o += run - i;
    i = run;
    if (i >= s.size()) break;
    uint32_t cp = DecodeAt(s, &i);
    if (cp >= 0x10000) {
      uint32_t v = cp - 0x10000;
      *o++ = static_cast<char>((0xD800 + (v >> 10)) & 0xFF);
      *o++ = static_cast<char>((0xDC00 + (v & 0x3FF)) & 0xFF);
    } else {
      *o++ = static_cast<char>(cp & 0xFF);
    }
  }
  out.resize(static_cast<size_t>(o - out.data()));
  return out;
}

std::u16string ToUtf16(std::string_view s) {
  std::u16string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp = DecodeAt(s, &i);
    if (cp >= 0x10000) {
      uint32_t v = cp - 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (v >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (v & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
  }
  return out;
}

std::string FromUtf16(std::u16string_view units) {
  std::string out;
  out.reserve(units.size());
  for (size_t i = 0; i < units.size(); ++i) {
    uint32_t u = units[i];
    if (u >= 0xD800 && u <= 0xDBFF && i + 1 < units.size() && units[i + 1] >= 0xDC00 &&
        units[i + 1] <= 0xDFFF) {
      uint32_t cp = 0x10000 + ((u - 0xD800) << 10) + (units[i + 1] - 0xDC00);
      AppendCodePoint(&out, cp);
      ++i;
    } else {
      AppendCodePoint(&out, u);  // BMP, or an unpaired surrogate (WTF-8)
    }
  }
  return out;
}

}  // namespace ssb::json
