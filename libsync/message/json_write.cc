// JSON.stringify with V8's exact output (PROTOCOL.md §2.5).
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

#include "ssb/json.h"
#include "swar.h"

namespace ssb::json {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// 0: copy verbatim; 1: short escape (value is the letter); 2: \u00xx.
struct EscapeTable {
  char kind[128];
  char letter[128];
  constexpr EscapeTable() : kind(), letter() {
    for (int c = 0; c < 0x20; ++c) kind[c] = 2;
    const char escapes[][2] = {{'\b', 'b'}, {'\f', 'f'}, {'\n', 'n'}, {'\r', 'r'},
                               {'\t', 't'}, {'"', '"'}, {'\\', '\\'}};
    for (const auto& e : escapes) {
      kind[static_cast<unsigned char>(e[0])] = 1;
      letter[static_cast<unsigned char>(e[0])] = e[1];
    }
  }
};
constexpr EscapeTable kEscapes;

void Indent(std::string* out, int depth) { out->append(static_cast<size_t>(depth) * 2, ' '); }

}  // namespace

void AppendQuoted(std::string* out, std::string_view s) {
  // Bytes that need a look: controls, '"', '\\' and 0xED (the lead byte of WTF-8 surrogates).
  static constexpr auto kSpecial = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 0x20; ++c) t[static_cast<size_t>(c)] = true;
    t['"'] = t['\\'] = t[0xED] = true;
    return t;
  }();
  out->reserve(out->size() + s.size() + 2);
  out->push_back('"');
  size_t run = 0;  // start of the pending verbatim run
  for (size_t i = 0; i < s.size(); ++i) {
    // Words without a special byte join the verbatim run whole.
    while (i + 8 <= s.size()) {
      uint64_t x = swar::Load(s.data() + i);
      if (swar::HasByteBelow(x, 0x20) || swar::HasByte(x, '"') || swar::HasByte(x, '\\') ||
          swar::HasByte(x, 0xED)) {
        break;
      }
      i += 8;
    }
    if (i >= s.size()) break;
    auto c = static_cast<uint8_t>(s[i]);
    if (!kSpecial[c]) continue;
    if (c < 0x80) {
      out->append(s.data() + run, i - run);
      out->push_back('\\');
      if (kEscapes.kind[c] == 1) {
        out->push_back(kEscapes.letter[c]);
      } else {
        out->append("u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
      }
      run = i + 1;
    } else if (i + 2 < s.size() && static_cast<uint8_t>(s[i + 1]) >= 0xA0) {
      // A WTF-8 surrogate is always unpaired (pairs are stored as 4-byte sequences): Node's
      // well-formed JSON.stringify writes it as a lowercase \udxxx escape.
      out->append(s.data() + run, i - run);
      uint32_t cp = ((c & 0x0Fu) << 12) | ((static_cast<uint8_t>(s[i + 1]) & 0x3Fu) << 6) |
                    (static_cast<uint8_t>(s[i + 2]) & 0x3Fu);
      out->append("\\u");
      out->push_back(kHex[(cp >> 12) & 15]);
      out->push_back(kHex[(cp >> 8) & 15]);
      out->push_back(kHex[(cp >> 4) & 15]);
      out->push_back(kHex[cp & 15]);
      i += 2;
      run = i + 1;
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

void AppendNumber(std::string* out, double n) {
  if (std::isnan(n) || std::isinf(n)) {
    out->append("null");
    return;
  }
  if (n == 0) {  // also -0
    out->push_back('0');
    return;
  }
  if (n < 0) {
    out->push_back('-');
    n = -n;
  }
  // Shortest round-trip digits (the same choice as V8's), then ECMAScript's layout rules.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, n, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));
  size_t e_pos = sci.find('e');
  char digits[32];
  int k = 0;
  for (size_t i = 0; i < e_pos; ++i)
    if (sci[i] != '.') digits[k++] = sci[i];
  int exp10 = 0;
  std::from_chars(sci.data() + e_pos + (sci[e_pos + 1] == '+' ? 2 : 1), sci.data() + sci.size(),
                  exp10);
  int nexp = exp10 + 1;  // value = 0.digits * 10^nexp
  if (k <= nexp && nexp <= 21) {
    out->append(digits, static_cast<size_t>(k));
    out->append(static_cast<size_t>(nexp - k), '0');
  } else if (0 < nexp && nexp <= 21) {
    out->append(digits, static_cast<size_t>(nexp));
    out->push_back('.');
    out->append(digits + nexp, static_cast<size_t>(k - nexp));
  } else if (-6 < nexp && nexp <= 0) {
    out->append("0.");
    out->append(static_cast<size_t>(-nexp), '0');
    out->append(digits, static_cast<size_t>(k));
  } else {
    out->push_back(digits[0]);
    if (k > 1) {
      out->push_back('.');
      out->append(digits + 1, static_cast<size_t>(k - 1));
    }
    int e = nexp - 1;
    out->push_back('e');
    out->push_back(e < 0 ? '-' : '+');
    out->append(std::to_string(e < 0 ? -e : e));
  }
}

std::string NumberToString(double n) {
  std::string s;
  AppendNumber(&s, n);
  return s;
}

void AppendStringify(std::string* out, const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull: out->append("null"); return;
    case Value::Type::kBool: out->append(v.as_bool() ? "true" : "false"); return;
    case Value::Type::kNumber: AppendNumber(out, v.as_number()); return;
    case Value::Type::kString: AppendQuoted(out, v.as_string()); return;
    case Value::Type::kArray: {
      out->push_back('[');
      bool first = true;
      for (const Value& item : v.items()) {
        if (!first) out->push_back(',');
        first = false;
        AppendStringify(out, item);
      }
      out->push_back(']');
      return;
    }
    case Value::Type::kObject: {
      out->push_back('{');
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) out->push_back(',');
        AppendQuoted(out, v.keys()[i]);
        out->push_back(':');
        AppendStringify(out, v.items()[i]);
      }
      out->push_back('}');
      return;
    }
  }
}

void AppendStringifyPretty(std::string* out, const Value& v, int depth) {
  switch (v.type()) {
    case Value::Type::kArray: {
      if (v.size() == 0) {
        out->append("[]");
        return;
      }
      out->push_back('[');
      for (size_t i = 0; i < v.size(); ++i) {
        out->append(i ? ",\n" : "\n");
        Indent(out, depth + 1);
        AppendStringifyPretty(out, v.items()[i], depth + 1);
      }
      out->push_back('\n');
      Indent(out, depth);
      out->push_back(']');
      return;
    }
    case Value::Type::kObject: {
      if (v.size() == 0) {
        out->append("{}");
        return;
      }
      out->push_back('{');
      for (size_t i = 0; i < v.size(); ++i) {
        out->append(i ? ",\n" : "\n");
        Indent(out, depth + 1);
        AppendQuoted(out, v.keys()[i]);
        out->append(": ");
        AppendStringifyPretty(out, v.items()[i], depth + 1);
      }
      out->push_back('\n');
      Indent(out, depth);
      out->push_back('}');
      return;
    }
    default: AppendStringify(out, v); return;
  }
}

namespace {

// The size of the last text this thread wrote: texts come in runs of similar sizes (a feed's
// messages), so reserving it up front spares most of the regrowth of the output.
size_t& LastSize() {
  static thread_local size_t last = 256;
  return last;
}

}  // namespace

std::string Stringify(const Value& v) {
  std::string out;
  out.reserve(LastSize());
  AppendStringify(&out, v);
  LastSize() = out.size() + 64;
  return out;
}

std::string StringifyPretty(const Value& v) {
  std::string out;
  out.reserve(LastSize());
  AppendStringifyPretty(&out, v, 0);
  LastSize() = out.size() + 64;
  return out;
}

}  // namespace ssb::json
