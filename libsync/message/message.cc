// Classic messages: derived byte views (PROTOCOL.md §2.2) and the two validators (§2.3, §2.4).
#include "ssb/message.h"

#include <cmath>
#include <cstring>

#include "ssb/base64.h"
#include "ssb/ref.h"

namespace ssb {
namespace {

// PROTOCOL.md §2: no valid message exceeds these, so larger input is refused before (or while)
// it is parsed, and memory per message stays bounded whatever a peer or a bundle sends.
// Text: JSON.stringify(value, null, 2) is at most 8192 UTF-16 units, each at most 3 bytes of
// UTF-8 (lone surrogates are written as 6-byte escapes, which count 6 units); a peer may send
// the compact form with every unit escaped (6 bytes) and some whitespace: 64 KiB is room enough.
// Values: in the indented form every value but the outermost takes a line of its own (a newline,
// at least 2 spaces, at least one character), so a valid message has at most ~2,048.
// Depth: each level indents by 2 more, so a valid message nests at most ~90 deep.
constexpr size_t kMaxMessageText = 64u << 10;
constexpr size_t kMaxMessageValues = 4096;
constexpr uint32_t kMaxMessageDepth = 256;

// JavaScript ToString for the values loose equality may convert (Array.prototype.join).
void AppendJsToString(std::string* out, const json::Value& v) {
  switch (v.type()) {
    case json::Value::Type::kNull: return;  // inside join, null becomes ""
    case json::Value::Type::kBool: out->append(v.as_bool() ? "true" : "false"); return;
    case json::Value::Type::kNumber: {
      double n = v.as_number();
      if (std::isnan(n)) out->append("NaN");
      else if (std::isinf(n)) out->append(n > 0 ? "Infinity" : "-Infinity");
      else json::AppendNumber(out, n);
      return;
    }
    case json::Value::Type::kString: out->append(v.as_string()); return;
    case json::Value::Type::kArray:
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) out->push_back(',');
        AppendJsToString(out, v.items()[i]);
      }
      return;
    case json::Value::Type::kObject: out->append("[object Object]"); return;
  }
}

// `value == str` in JavaScript, for a string right-hand side.
bool LooseEqualsString(const json::Value* value, std::string_view str) {
  if (!value) return false;  // undefined == "..." is false
  switch (value->type()) {
    case json::Value::Type::kString: return value->as_string() == str;
    case json::Value::Type::kArray: {
      std::string s;
      AppendJsToString(&s, *value);
      return s == str;
    }
    case json::Value::Type::kObject: return str == "[object Object]";
    default: return false;  // null, booleans and numbers never equal a "%…" id
  }
}

// `~~n === n`: a number that is an int32.
bool IsInt32(const json::Value* v) {
  if (!v || !v->is_number()) return false;
  double n = v->as_number();
  return std::isfinite(n) && n == std::trunc(n) && n >= -2147483648.0 && n <= 2147483647.0;
}

// isCanonicalBase64('', '\\.box.*'): canonical base64 (possibly empty), ".box", then anything
// but a line terminator, to the end.
bool IsEncryptedString(const json::Value* v) {
  if (!v || !v->is_string() || v->as_string().empty()) return false;
  const std::string& s = v->as_string();
  size_t pos = s.find(".box");
  if (pos == std::string::npos || !IsCanonicalBase64(std::string_view(s).substr(0, pos))) {
    return false;
  }
  // Base64 has no '.', so the first ".box" is the only possible split.
  for (size_t i = pos + 4; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\n' || c == '\r') return false;
    if (s.compare(i, 3, "\xE2\x80\xA8") == 0 || s.compare(i, 3, "\xE2\x80\xA9") == 0) return false;
  }
  return true;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// isValidOrder(msg, signed=true)
bool HasValidKeyOrder(const json::Value& msg) {
  const auto& k = msg.keys();
  if (k.size() != 7) return false;
  if (k[0] != "previous" || k[3] != "timestamp" || k[4] != "hash" || k[5] != "content" ||
      k[6] != "signature") {
    return false;
  }
  return (k[1] == "sequence" && k[2] == "author") || (k[1] == "author" && k[2] == "sequence");
}

Status Invalid(std::string why) { return Status::InvalidMessage(std::move(why)); }

// Heap bytes of a value tree, roughly (what Message::memory_bytes reports).
size_t TreeBytes(const json::Value& v) {
  size_t n = sizeof(json::Value) + v.as_string().capacity();
  for (const auto& k : v.keys()) n += sizeof(std::string) + k.capacity();
  for (const auto& i : v.items()) n += TreeBytes(i);
  return n;
}

}  // namespace

bool VerifyMessageSignature(const Message& msg, const ValidateOptions& opt) {
  auto pk = ParseFeedId(msg.author());
  if (!pk) return false;
  // Callers may run this before (or instead of) Validate's shape checks, on any bytes a peer or
  // a bundle sent: a missing or non-string signature is simply not a valid one.
  const json::Value* sig_value = msg.value().Find("signature");
  if (!sig_value || !sig_value->is_string() || sig_value->as_string().size() < 88) return false;
  const std::string& sig_text = sig_value->as_string();
  auto sig = Base64DecodeCanonical(std::string_view(sig_text).substr(0, 88));
  if (!sig || sig->size() != 64) return false;
  auto bytes = std::span(reinterpret_cast<const uint8_t*>(msg.signing_bytes().data()),
                         msg.signing_bytes().size());
  std::span<const uint8_t, 64> sig_span(sig->data(), 64);
  if (opt.hmac_key) {
    auto mac = HmacSha512_256(bytes, *opt.hmac_key);
    return VerifySignature(*pk, mac, sig_span);
  }
  return VerifySignature(*pk, bytes, sig_span);
}

namespace {

// ssb-validate 4.1.4 checkInvalid, in its order of evaluation.
Status ValidateSsbValidate(const Message& msg, const FeedState* prev, const ValidateOptions& opt) {
  const json::Value& v = msg.value();
  if (!v.is_object()) return Invalid("message must be an object");
  const json::Value* author = v.Find("author");
  if (!author || !author->is_string() || !IsFeedId(author->as_string(), true)) {
    return Invalid("must have author");
  }
  // isSigMatchesCurve: "<88 canonical base64>.sig.<curve of the author>"
  const json::Value* sig = v.Find("signature");
  {
    const std::string& a = author->as_string();
    bool ok = sig && sig->is_string() && a[45] == '.';
    if (ok) {
      std::string_view s = sig->as_string();
      std::string expect_suffix = ".sig." + a.substr(46);
      ok = s.size() == 88 + expect_suffix.size() &&
           IsCanonicalBase64OfLength(s.substr(0, 88), 64) && s.substr(88) == expect_suffix;
    }
    if (!ok) return Invalid("signature type must match author type");
  }
  const json::Value* sequence = v.Find("sequence");
  const json::Value* previous = v.Find("previous");
  if (prev) {
    // `msg.sequence != state.sequence + 1`. A string or array that converts to the right number
    // would pass this loose comparison but fails the int32 shape check below, so requiring a
    // number here changes only which error is reported.
    if (!sequence || !sequence->is_number() ||
        sequence->as_number() != static_cast<double>(prev->sequence + 1)) {
      return Invalid("expected sequence " + std::to_string(prev->sequence + 1));
    }
    if (!LooseEqualsString(previous, prev->id)) {
      return Status::Fork("expected previous " + prev->id + " (a different message exists at "
                          "this sequence: fork)");
    }
  } else {
    if (!previous || !previous->is_null()) {
      return Invalid("initial message must have previous: null");
    }
    if (!sequence || !sequence->is_number() || sequence->as_number() != 1) {
      return Invalid("initial message must have sequence: 1");
    }
    const json::Value* ts = v.Find("timestamp");
    if (!ts || !ts->is_number()) return Invalid("initial message must have timestamp");
  }
  if (!HasValidKeyOrder(v)) return Invalid("message must have keys in allowed order");
  // isInvalidShape
  const json::Value* content = v.Find("content");
  bool encrypted = IsEncryptedString(content);
  if (!IsInt32(sequence)) return Invalid("sequence must be an integer (int32)");
  if (!(content && (content->is_object() || content->is_array())) && !encrypted) {
    return Invalid("content must be an object or an encrypted string");
  }
  const json::Value* hash = v.Find("hash");
  if (!hash || !hash->is_string() || hash->as_string() != "sha256") {
    return Invalid("hash must be \"sha256\"");
  }
  if (msg.utf16_length() > kMaxMessageUtf16) {
    return Invalid("encoded message must not be larger than 8192 (is " +
                   std::to_string(msg.utf16_length()) + ")");
  }
  if (!encrypted) {
    const json::Value* type = content->Find("type");
    size_t len = type && type->is_string() ? json::Utf16Length(type->as_string()) : 0;
    if (len < 3 || len > 52) return Invalid("content type must be a string of 3 to 52 characters");
  }
  if (opt.hmac_key_invalid) return Invalid("invalid HMAC key");
  if (opt.verify_signature && !VerifyMessageSignature(msg, opt)) {
    return Invalid("invalid signature");
  }
  return Status::Ok();
}

// ssb-classic 1.1.0 validateSync, in its order of evaluation.
Status ValidateClassic(const Message& msg, const FeedState* prev, const ValidateOptions& opt) {
  const json::Value& v = msg.value();
  if (!v.is_object()) return Invalid("not a classic message");
  for (const char* field :
       {"author", "previous", "sequence", "timestamp", "hash", "content", "signature"}) {
    if (!v.Find(field)) return Invalid(std::string("must have ") + field);
  }
  if (opt.hmac_key_invalid) return Invalid("invalid HMAC key");
  const json::Value* author = v.Find("author");
  if (!author->is_string() || !IsFeedId(author->as_string(), true)) {
    return Invalid("must have author as a sigil id");
  }
  const json::Value* hash = v.Find("hash");
  if (!hash->is_string() || hash->as_string() != "sha256") return Invalid("hash must be sha256");
  if (!v.Find("timestamp")->is_number()) return Invalid("timestamp must be a number");
  const json::Value* sequence = v.Find("sequence");
  const json::Value* previous = v.Find("previous");
  if (prev) {
    if (!previous->is_string() || previous->as_string() != prev->id) {
      return Status::Fork("expected previous " + prev->id);
    }
    double n = sequence->is_number() ? sequence->as_number() : NAN;
    if (!std::isfinite(n) || n != std::trunc(n)) return Invalid("sequence must be an integer");
    if (n != static_cast<double>(prev->sequence) + 1) {
      return Invalid("expected sequence " + std::to_string(prev->sequence + 1));
    }
  } else {
    if (!previous->is_null()) return Invalid("initial message must have previous: null");
    if (!sequence->is_number() || sequence->as_number() != 1) {
      return Invalid("initial message must have sequence: 1");
    }
  }
  if (!HasValidKeyOrder(v)) return Invalid("wrong order of object fields");
  const json::Value* content = v.Find("content");
  bool falsy = content->is_null() || (content->is_bool() && !content->as_bool()) ||
               (content->is_number() && (content->as_number() == 0 ||
                                         std::isnan(content->as_number()))) ||
               (content->is_string() && content->as_string().empty());
  if (falsy) return Invalid("must have content");
  if (content->is_array()) return Invalid("content must not be an array");
  if (content->is_string()) {
    const std::string& s = content->as_string();
    if (!EndsWith(s, ".box") && !EndsWith(s, ".box2")) {
      return Invalid("string content must end with .box or .box2");
    }
    if (json::Utf16Length(s) > kMaxMessageUtf16) return Invalid("string content is too long");
  } else if (content->is_object()) {
    const json::Value* type = content->Find("type");
    if (!type || !type->is_string() || type->as_string().empty()) {
      return Invalid("content must have type");
    }
    size_t len = json::Utf16Length(type->as_string());
    if (len > 52) return Invalid("content type must be shorter than 52 characters");
    if (len < 3) return Invalid("content type must be longer than 2 characters");
    if (json::Utf16Length(json::StringifyPretty(*content)) > kMaxMessageUtf16) {
      return Invalid("encoded content must be at most 8192 characters");
    }
  } else {
    return Invalid("content must be an object or string");
  }
  if (msg.utf16_length() > kMaxMessageUtf16) return Invalid("message is longer than 8192");
  const json::Value* sig = v.Find("signature");
  if (!sig->is_string()) return Invalid("signature must be a string");
  const std::string& s = sig->as_string();
  if (!EndsWith(s, ".sig.ed25519")) return Invalid("signature must end with .sig.ed25519");
  if (s.size() != 100 || !IsCanonicalBase64OfLength(std::string_view(s).substr(0, 88), 64)) {
    return Invalid("signature must be 64 bytes of canonical base64");
  }
  if (opt.verify_signature && !VerifyMessageSignature(msg, opt)) {
    return Invalid("signature does not match");
  }
  return Status::Ok();
}

}  // namespace

json::ParseOptions MessageParseLimits() {
  json::ParseOptions opt;
  opt.max_bytes = kMaxMessageText + 1024;
  opt.max_depth = kMaxMessageDepth;
  opt.max_values = kMaxMessageValues + 16;
  return opt;
}

Result<json::Value> Message::ParseValue(std::string_view json_text) {
  return json::Parse(json_text, MessageParseLimits());
}

Result<Message> Message::Parse(std::string_view json_text) {
  auto v = ParseValue(json_text);
  if (!v.ok()) return v.status();
  return FromValue(std::move(v).value());
}

Message Message::FromValue(json::Value value) {
  Message m;
  m.value_ = std::move(value);
  m.Derive();
  return m;
}

namespace {

// Hashes the latin1 view of `text` (the low byte of each UTF-16 unit) and returns its UTF-16
// length. ASCII text is its own latin1 view and is hashed as it is.
size_t HashLatin1(Sha256Stream& hash, std::string_view text) {
  size_t units = json::Utf16Length(text);
  if (units == text.size()) {
    hash.Update(text);
  } else {
    hash.Update(json::Latin1(text));
  }
  return units;
}

}  // namespace

void Message::Derive() {
  // The id hashes the whole value pretty-printed; the signed text is the value without
  // "signature". When "signature" is the last key (every well-formed message) the whole text is
  // the signed text with one member spliced in before its closing "\n}": it is hashed in two
  // pieces, the signed text's head and that tail, and never built.
  std::string full;       // the whole text, when it is not the spliced form
  std::string tail;       // the spliced form's last member and "\n}"
  size_t head_size = 0;   // the spliced form: how much of signing_ starts the whole text
  const json::Value* sig = value_.Find("signature");
  if (value_.is_object() && sig && value_.keys().back() == "signature" && value_.size() > 1) {
    // Sized like this thread's last message, so the text rarely grows while being written.
    static thread_local size_t last_size = 1024;
    signing_.clear();
    signing_.reserve(last_size);
    signing_.push_back('{');
    for (size_t i = 0; i + 1 < value_.size(); ++i) {
      signing_.append(i ? ",\n  " : "\n  ");
      json::AppendQuoted(&signing_, value_.keys()[i]);
      signing_.append(": ");
      json::AppendStringifyPretty(&signing_, value_.items()[i], 1);
    }
    head_size = signing_.size();
    signing_.append("\n}");
    tail.reserve(128);
    tail.append(",\n  \"signature\": ");
    json::AppendStringifyPretty(&tail, *sig, 1);
    tail.append("\n}");
    last_size = signing_.size() + 64;
  } else if (value_.is_array()) {
    // ssb-keys' verifyObj signs a for-in clone of the value: an array becomes {"0": …}.
    full = json::StringifyPretty(value_);
    // Built whole: the keys "0", "1", … are already in V8's order, and Set would search the
    // keys for each one (quadratic: a 1 MiB array of small numbers took minutes).
    std::vector<std::string> keys;
    keys.reserve(value_.size());
    for (size_t i = 0; i < value_.size(); ++i) keys.push_back(std::to_string(i));
    signing_ = json::StringifyPretty(json::Value::ObjectFromParts(std::move(keys), value_.items()));
  } else {
    full = json::StringifyPretty(value_);
    if (sig) {
      json::Value copy = value_;
      copy.Erase("signature");
      signing_ = json::StringifyPretty(copy);
    } else {
      signing_ = full;
    }
  }
  Sha256Stream hash;
  if (head_size) {
    utf16_length_ = HashLatin1(hash, std::string_view(signing_).substr(0, head_size)) +
                    HashLatin1(hash, tail);
  } else {
    utf16_length_ = HashLatin1(hash, full);
  }
  id_ = MsgIdFromDigest(hash.Final());
  memory_bytes_ = sizeof(Message) + signing_.capacity() + id_.capacity() + TreeBytes(value_);
}

void Message::ReleaseSigningBytes() {
  memory_bytes_ -= signing_.capacity();
  std::string().swap(signing_);
}

std::string_view Message::author() const {
  const json::Value* a = value_.Find("author");
  return a && a->is_string() ? std::string_view(a->as_string()) : std::string_view();
}

std::optional<int64_t> Message::sequence() const {
  const json::Value* s = value_.Find("sequence");
  if (!s || !s->is_number()) return std::nullopt;
  double n = s->as_number();
  if (!std::isfinite(n) || n != std::trunc(n) || std::fabs(n) > 9007199254740992.0) {
    return std::nullopt;
  }
  return static_cast<int64_t>(n);
}

std::string_view Message::previous() const {
  const json::Value* p = value_.Find("previous");
  return p && p->is_string() ? std::string_view(p->as_string()) : std::string_view();
}

std::optional<double> Message::timestamp() const {
  const json::Value* t = value_.Find("timestamp");
  if (!t || !t->is_number()) return std::nullopt;
  return t->as_number();
}

bool Message::is_encrypted() const { return IsEncryptedString(content()); }

Status Validate(const Message& msg, const FeedState* prev, const ValidateOptions& options) {
  if (options.mode == ValidationMode::kStrict) return ValidateClassic(msg, prev, options);
  return ValidateSsbValidate(msg, prev, options);
}

Status ValidateAuthentic(const Message& msg, const FeedState* prev,
                         const ValidateOptions& options) {
  auto seq = msg.sequence();
  const json::Value* previous = msg.value().Find("previous");
  bool chain = prev ? seq && *seq == prev->sequence + 1 && previous && previous->is_string() &&
                          previous->as_string() == prev->id
                    : seq && *seq == 1;
  if (chain) return Status::Ok();
  return Validate(msg, prev, options);
}

Status CheckAuthentic(const Message& msg, const ValidateOptions& options) {
  auto seq = msg.sequence();
  if (!seq || *seq <= 1) return Validate(msg, nullptr, options);
  FeedState self{std::string(msg.previous()), *seq - 1};
  Status s = Validate(msg, &self, options);
  // Only a `previous` that is not a message id fails its own claim; that is no fork.
  if (s.code() == Code::kFork) {
    return Status::InvalidMessage("message at sequence " + std::to_string(*seq) +
                                  " must have a previous message id");
  }
  return s;
}

Result<Message> CreateMessage(const Keypair& keys, const FeedState* prev, json::Value content,
                              double timestamp, const std::optional<HmacKey>& hmac_key) {
  if (!std::isfinite(timestamp)) return Status::InvalidArgument("timestamp must be a number");
  // Text that is not WTF-8 would be signed as bytes no peer can reproduce: our own feed would
  // carry a message that fails verification everywhere, and every later one with it.
  if (!json::IsWellFormedWtf8(content)) {
    return Status::InvalidArgument("content holds text that is not valid UTF-8");
  }
  json::Value v = json::Value::Object();
  v.Set("previous", prev ? json::Value::String(prev->id) : json::Value::Null());
  v.Set("sequence", json::Value::Number(static_cast<double>(prev ? prev->sequence + 1 : 1)));
  v.Set("author", json::Value::String(keys.id()));
  v.Set("timestamp", json::Value::Number(timestamp));
  v.Set("hash", json::Value::String("sha256"));
  v.Set("content", std::move(content));
  std::string unsigned_text = json::StringifyPretty(v);
  auto bytes = std::span(reinterpret_cast<const uint8_t*>(unsigned_text.data()),
                         unsigned_text.size());
  Signature sig = hmac_key ? keys.Sign(HmacSha512_256(bytes, *hmac_key)) : keys.Sign(bytes);
  v.Set("signature", json::Value::String(Base64Encode(sig) + ".sig.ed25519"));
  Message msg = Message::FromValue(std::move(v));
  // Emit only what both validators accept (PROTOCOL.md §2.4 recommendation).
  ValidateOptions opt;
  opt.hmac_key = hmac_key;
  opt.verify_signature = false;  // we just made it
  for (ValidationMode mode : {ValidationMode::kSsbValidate, ValidationMode::kStrict}) {
    opt.mode = mode;
    Status st = Validate(msg, prev, opt);
    if (!st.ok()) return Status::InvalidMessage("cannot publish: " + st.message());
  }
  return msg;
}

std::string KvtJson(const Message& msg, double received) {
  std::string out = "{\"key\":";
  json::AppendQuoted(&out, msg.id());
  out += ",\"value\":";
  json::AppendStringify(&out, msg.value());
  out += ",\"timestamp\":";
  json::AppendNumber(&out, received);
  out += '}';
  return out;
}

}  // namespace ssb
