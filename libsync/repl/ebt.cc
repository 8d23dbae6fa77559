// EBT v3 notes with JavaScript's number semantics, and the per-peer state.
// PROTOCOL.md §5.2 "EBT"; epidemic-broadcast-trees 9.0.4 v3.js for the note functions.
#include "ssb/ebt.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "ssb/ref.h"

namespace ssb::ebt {
namespace {

bool IsJsWhitespace(uint32_t c) {
  // StrWhiteSpaceChar: WhiteSpace and LineTerminator (ASCII plus the common Unicode ones).
  return c == 0x09 || c == 0x0A || c == 0x0B || c == 0x0C || c == 0x0D || c == 0x20 ||
         c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

bool AllDigits(std::string_view s, int base) {
  if (s.empty()) return false;
  for (char c : s) {
    int d = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'a' && c <= 'z') ? c - 'a' + 10
            : (c >= 'A' && c <= 'Z') ? c - 'A' + 10
                                     : 99;
    if (d >= base) return false;
  }
  return true;
}

// StrDecimalLiteral without the Infinity forms: [+-]? (d+ (. d*)? | . d+) ([eE] [+-]? d+)?
bool IsDecimalLiteral(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - start;
  };
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t int_digits = digits();
  size_t frac_digits = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    frac_digits = digits();
  }
  if (int_digits + frac_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

// ECMAScript StringToNumber (NaN as NaN).
double JsStringToNumber(const std::string& wtf8) {
  std::u16string u = json::ToUtf16(wtf8);
  size_t b = 0, e = u.size();
  while (b < e && IsJsWhitespace(u[b])) ++b;
  while (e > b && IsJsWhitespace(u[e - 1])) --e;
  std::string s;
  for (size_t i = b; i < e; ++i) {
    if (u[i] > 0x7F) return std::nan("");
    s.push_back(static_cast<char>(u[i]));
  }
  if (s.empty()) return 0;
  if (s == "Infinity" || s == "+Infinity") return HUGE_VAL;
  if (s == "-Infinity") return -HUGE_VAL;
  if (s.size() > 2 && s[0] == '0') {
    int base = (s[1] == 'x' || s[1] == 'X')   ? 16
               : (s[1] == 'o' || s[1] == 'O') ? 8
               : (s[1] == 'b' || s[1] == 'B') ? 2
                                              : 0;
    if (base) {
      std::string_view digits = std::string_view(s).substr(2);
      if (!AllDigits(digits, base)) return std::nan("");
      double v = 0;
      for (char c : digits) {
        int d = (c >= '0' && c <= '9') ? c - '0' : (c | 0x20) - 'a' + 10;
        v = v * base + d;
      }
      return v;
    }
  }
  if (!IsDecimalLiteral(s)) return std::nan("");
  return std::strtod(s.c_str(), nullptr);
}

// ECMAScript ToString for the values JSON can hold (used only to coerce odd notes).
std::string JsToString(const json::Value& v, int depth) {
  switch (v.type()) {
    case json::Value::Type::kNull:
      return "null";
    case json::Value::Type::kBool:
      return v.as_bool() ? "true" : "false";
    case json::Value::Type::kNumber:
      return json::NumberToString(v.as_number());
    case json::Value::Type::kString:
      return v.as_string();
    case json::Value::Type::kObject:
      return "[object Object]";
    case json::Value::Type::kArray: {
      // Array.prototype.join(","): null elements become "".
      std::string out;
      if (depth > 64) return out;
      for (size_t i = 0; i < v.items().size(); ++i) {
        if (i) out.push_back(',');
        const json::Value& e = v.items()[i];
        if (!e.is_null()) out += JsToString(e, depth + 1);
      }
      return out;
    }
  }
  return {};
}

// ECMAScript ToNumber.
double JsToNumber(const json::Value& v) {
  switch (v.type()) {
    case json::Value::Type::kNull:
      return 0;
    case json::Value::Type::kBool:
      return v.as_bool() ? 1 : 0;
    case json::Value::Type::kNumber:
      return v.as_number();
    case json::Value::Type::kString:
      return JsStringToNumber(v.as_string());
    case json::Value::Type::kArray:
    case json::Value::Type::kObject:
      return JsStringToNumber(JsToString(v, 0));
  }
  return std::nan("");
}

bool IsInteger(double d) { return std::isfinite(d) && std::trunc(d) == d; }

}  // namespace

int32_t JsToInt32(double d) {
  if (!std::isfinite(d)) return 0;
  double m = std::fmod(std::trunc(d), 4294967296.0);
  if (m < 0) m += 4294967296.0;
  auto u = static_cast<uint32_t>(m);
  return static_cast<int32_t>(u);  // two's complement wrap (defined since C++20)
}

int32_t EncodeNote(int64_t sequence, bool receive) {
  if (sequence == -1) return -1;
  auto s = static_cast<uint32_t>(JsToInt32(static_cast<double>(sequence)));
  return static_cast<int32_t>((s << 1) | (receive ? 0u : 1u));
}

Note DecodeNote(double note) {
  Note n;
  n.replicate = note != -1;
  n.receive = (JsToInt32(note) & 1) == 0;
  n.sequence = IsInteger(note) ? (JsToInt32(note) >> 1) : -1;
  return n;
}

Note DecodeNote(const json::Value& note) {
  if (note.is_number()) return DecodeNote(note.as_number());
  // `note !== -1` holds for every non-number; Number.isInteger fails for every non-number.
  Note n;
  n.replicate = true;
  n.receive = (JsToInt32(JsToNumber(note)) & 1) == 0;
  n.sequence = -1;
  return n;
}

PacketKind Classify(const json::Value& packet) {
  if (!packet.is_object()) return PacketKind::kInvalid;
  const json::Value* author = packet.Find("author");
  const json::Value* sequence = packet.Find("sequence");
  if (author && author->is_string() && IsFeedId(author->as_string(), true) && sequence &&
      sequence->is_number() && IsInteger(sequence->as_number()) && sequence->as_number() > 0 &&
      packet.Find("content")) {
    return PacketKind::kMessage;
  }
  return PacketKind::kNotes;
}

json::Value NotesToJson(const NoteMap& notes) {
  json::Value obj = json::Value::Object();
  for (const auto& [feed, note] : notes) obj.Set(feed, json::Value::Number(note));
  return obj;
}

PeerState::PeerState(Limits limits) : limits_(limits) {}

PeerState::Feed* PeerState::Get(std::string_view feed, bool add) {
  auto it = feeds_.find(feed);
  if (it != feeds_.end()) return &it->second;
  if (!add || feeds_.size() >= limits_.max_feeds) return nullptr;
  return &feeds_.emplace(std::string(feed), Feed{}).first->second;
}

void PeerState::SetLocal(std::string_view feed, int64_t our_seq, bool receive) {
  Feed* f = Get(feed, true);
  if (!f) return;
  if (!f->local || f->our_seq != our_seq || f->receive != receive) f->note_dirty = true;
  f->local = true;
  f->our_seq = our_seq;
  f->receive = receive;
}

void PeerState::Forget(std::string_view feed) {
  Feed* f = Get(feed, false);
  if (!f || !f->local) return;
  f->local = false;
  f->receive = false;
  f->note_dirty = true;
}

void PeerState::OnAppend(std::string_view feed, int64_t seq) {
  Feed* f = Get(feed, false);
  if (f && f->local) f->our_seq = std::max(f->our_seq, seq);
}

const json::Value& NoteMapOf(const json::Value& packet) {
  if (packet.is_object() && packet.size() == 1 && packet.keys()[0] == "clock") {
    return packet.items()[0];
  }
  return packet;
}

Status PeerState::OnNotes(const json::Value& notes) {
  const json::Value* map = &NoteMapOf(notes);
  if (!map->is_object()) return Status::InvalidInput("EBT notes must be a JSON object");
  for (size_t i = 0; i < map->size(); ++i) {
    const std::string& feed = map->keys()[i];
    if (!IsFeedId(feed, true)) continue;
    Feed* f = Get(feed, true);
    if (!f) continue;  // over the limit
    Note n = DecodeNote(map->items()[i]);
    // They said -1 (they did not replicate it) and now replicate it: say again what we want.
    // ssb-ebt forgets notes that arrive for feeds it does not follow, so our first note is lost.
    if (f->local && f->theirs && !f->theirs->replicate && n.replicate) f->note_dirty = true;
    f->theirs = n;
    if (n.replicate) f->their_seq = std::max(f->their_seq, n.sequence);
    // A feed we do not replicate is answered with -1.
    if (!f->local) f->note_dirty = true;
  }
  return Status::Ok();
}

void PeerState::OnReceived(std::string_view feed, int64_t seq) {
  Feed* f = Get(feed, false);
  if (f) f->their_seq = std::max(f->their_seq, seq);
}

NoteMap PeerState::TakeNotes() {
  NoteMap out;
  for (auto& [feed, f] : feeds_) {
    if (!f.note_dirty) continue;
    f.note_dirty = false;
    out[feed] = f.local ? EncodeNote(f.our_seq, f.receive) : -1;
  }
  return out;
}

std::optional<PeerState::Send> PeerState::SendFor(const std::string& id, const Feed& f) const {
  if (!f.local || !f.theirs || !f.theirs->replicate || !f.theirs->receive) return std::nullopt;
  int64_t theirs = std::max<int64_t>(f.their_seq, 0);
  if (theirs >= f.our_seq) return std::nullopt;
  return Send{id, theirs + 1, f.our_seq};
}

std::optional<PeerState::Send> PeerState::Next() const {
  for (const auto& [feed, f] : feeds_) {
    if (auto s = SendFor(feed, f)) return s;
  }
  return std::nullopt;
}

std::vector<PeerState::Send> PeerState::AllToSend() const {
  std::vector<Send> out;
  for (const auto& [feed, f] : feeds_) {
    if (auto s = SendFor(feed, f)) out.push_back(std::move(*s));
  }
  return out;
}

void PeerState::MarkSent(std::string_view feed, int64_t seq) {
  Feed* f = Get(feed, false);
  if (f) f->their_seq = std::max(f->their_seq, seq);
}

std::optional<Note> PeerState::TheirNote(std::string_view feed) const {
  auto it = feeds_.find(feed);
  if (it == feeds_.end()) return std::nullopt;
  return it->second.theirs;
}

}  // namespace ssb::ebt
