// Classic SSB feed messages: parse, id, size, validate, create and sign.
// Every rule cites PROTOCOL.md §2. Byte views of one message:
//   signing bytes = UTF-8 of JSON.stringify(value without signature, null, 2)
//   id            = "%" + base64(sha256(latin1(JSON.stringify(value, null, 2)))) + ".sha256"
//   size          = UTF-16 length of JSON.stringify(value, null, 2)   (limit 8192)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ssb/json.h"
#include "ssb/keys.h"
#include "ssb/status.h"

namespace ssb {

inline constexpr size_t kMaxMessageUtf16 = 8192;

// The latest known message of a feed: what the next message must follow.
struct FeedState {
  std::string id;         // "%…sha256" of the latest message
  int64_t sequence = 0;   // its sequence
};

enum class ValidationMode {
  kSsbValidate,  // exactly ssb-validate 4.1.4: what the network accepts (and what we accept)
  kStrict,       // ssb-validate AND ssb-classic 1.1.0: what we emit
};

// What validation needs besides the message.
struct ValidateOptions {
  ValidationMode mode = ValidationMode::kSsbValidate;
  // caps.sign of a test network; nullopt on the main network.
  std::optional<HmacKey> hmac_key;
  // An hmac key that was given but is malformed: every message fails (ssb-validate's rule).
  bool hmac_key_invalid = false;
  // Skip the ed25519 check (for callers that verified the signature already, e.g. in parallel).
  bool verify_signature = true;

  static ValidateOptions Strict() {
    ValidateOptions o;
    o.mode = ValidationMode::kStrict;
    return o;
  }
};

// A parsed message value with its derived byte views, computed once.
class Message {
 public:
  // Parses the JSON text of a message value. Fails only when the text is not JSON or exceeds
  // limits; a value of any shape is returned and judged by Validate().
  static Result<Message> Parse(std::string_view json_text);
  // The first half of Parse: the JSON value of a message text, parsed with Parse's limits, for
  // callers that look at it before it becomes a Message (an EBT note map, a {key, value,
  // timestamp} wrapper). FromValue is the second half.
  static Result<json::Value> ParseValue(std::string_view json_text);
  static Message FromValue(json::Value value);

  const json::Value& value() const { return value_; }
  const std::string& id() const { return id_; }
  // JSON.stringify(value, null, 2).length, in UTF-16 code units.
  size_t utf16_length() const { return utf16_length_; }
  // UTF-8 bytes that the signature covers (the value without "signature", pretty-printed).
  const std::string& signing_bytes() const { return signing_; }
  // Frees the signing bytes of a message whose signature was checked and that is now only kept
  // to be stored (a pipeline holds thousands): signing_bytes() is empty afterwards, so nothing
  // may verify it again.
  void ReleaseSigningBytes();
  // JSON.stringify(value): the wire form.
  std::string Wire() const { return json::Stringify(value_); }
  // About how many bytes of memory this parsed message holds (its value tree and byte views):
  // what a pipeline holding many parsed messages counts against its memory bound.
  size_t memory_bytes() const { return memory_bytes_; }

  // Field accessors; empty / nullopt when the field is absent or has another type.
  std::string_view author() const;
  std::optional<int64_t> sequence() const;  // only when an integral number
  std::string_view previous() const;        // "" for null
  const json::Value* content() const { return value_.Find("content"); }
  std::optional<double> timestamp() const;
  bool is_encrypted() const;                // content is a "<b64>.box…" string

 private:
  void Derive();
  json::Value value_;
  std::string id_;
  std::string signing_;
  size_t utf16_length_ = 0;
  size_t memory_bytes_ = 0;
};

// The limits Message::Parse applies to a message text (64 KiB, 4,096 JSON values, depth 256:
// PROTOCOL.md §2 keeps every valid message far below them), with room for a
// {"key", "value", "timestamp"} wrapper around it: for callers that parse such lines themselves.
json::ParseOptions MessageParseLimits();

// Checks `msg` against the feed's latest known message `prev` (nullptr: msg must start a feed).
// Returns ok, kInvalidMessage naming the failed rule, or kFork when msg has the expected
// sequence but a different `previous` (ssb-validate's fatal "expected different previous").
Status Validate(const Message& msg, const FeedState* prev, const ValidateOptions& options = {});

// Everything Validate checks that does not depend on what precedes the message in its feed:
// shape, size, and (unless options.verify_signature is false) the signature. The message is
// validated against the state its own `previous` and `sequence` claim, so the chain rules hold
// by construction. A message that passes here and then passes Validate with
// verify_signature=false against the real state would pass full Validate against it: this is
// the check to run ahead, in parallel, of an in-order chain check. Returns ok or
// kInvalidMessage (a `previous` that is not a message id is no fork here).
Status CheckAuthentic(const Message& msg, const ValidateOptions& options);

// Validate for a message that passed CheckAuthentic with the same options: when the chain rules
// hold against `prev` (the message starts the feed, or follows prev->id at prev->sequence + 1)
// that is the same call CheckAuthentic made, so the result is ok without checking anything
// again; otherwise it is Validate's (naming the rule broken, as always).
Status ValidateAuthentic(const Message& msg, const FeedState* prev, const ValidateOptions& options);

// Only the ed25519 (or HMAC-then-ed25519) signature check of Validate. Callers that verify in
// parallel run Validate with verify_signature=false in feed order and this on any thread.
// Safe on any message: a missing or malformed author or signature gives false.
[[nodiscard]] bool VerifyMessageSignature(const Message& msg, const ValidateOptions& options);

// Builds and signs the next message of `keys`'s feed, with fields in the order
// ssb-validate.create emits (previous, sequence, author, timestamp, hash, content, signature).
// Fails (kInvalidMessage) when the result would not pass kStrict validation, e.g. over 8192.
Result<Message> CreateMessage(const Keypair& keys, const FeedState* prev, json::Value content,
                              double timestamp, const std::optional<HmacKey>& hmac_key = {});

// {"key": id, "value": value, "timestamp": received} as compact JSON (the KVT form).
std::string KvtJson(const Message& msg, double received);

}  // namespace ssb
