// Helpers shared by the view sources: muxrpc arguments and JavaScript-style option reading.
#pragma once

#include <cstdint>
#include <string>

#include "ssb/json.h"
#include "ssb/status.h"
#include "ssb/store.h"

namespace ssb::view {

// The i-th muxrpc argument (null when absent).
inline const json::Value& Arg(const json::Value& args, size_t i) {
  static const json::Value kNull;
  return args.is_array() && i < args.size() ? args.items()[i] : kNull;
}

// The first argument when it is an options object, else {}.
inline json::Value Opts(const json::Value& args) {
  const json::Value& a = Arg(args, 0);
  return a.is_object() ? a : json::Value::Object();
}

// JavaScript truthiness of an optional field (absent is falsy).
inline bool Truthy(const json::Value* v) {
  if (!v) return false;
  switch (v->type()) {
    case json::Value::Type::kNull: return false;
    case json::Value::Type::kBool: return v->as_bool();
    case json::Value::Type::kNumber: return v->as_number() != 0 && v->as_number() == v->as_number();
    case json::Value::Type::kString: return !v->as_string().empty();
    default: return true;
  }
}
// `opt === true` / `opt === false`, as ssb-db tests its flags.
inline bool IsTrue(const json::Value* v) { return v && v->is_bool() && v->as_bool(); }
inline bool IsFalse(const json::Value* v) { return v && v->is_bool() && !v->as_bool(); }

// pull-live's reading of live/old/sync: live when live === true or old === false; old unless
// old === false; the sync marker between them unless sync === false.
struct LiveOptions {
  bool live = false;
  bool old = true;
  bool sync = false;  // send {"sync": true} between old and live
};
inline LiveOptions LiveOf(const json::Value& o) {
  LiveOptions l;
  l.old = !IsFalse(o.Find("old"));
  l.live = IsTrue(o.Find("live")) || IsFalse(o.Find("old"));
  l.sync = l.live && l.old && !IsFalse(o.Find("sync"));
  return l;
}

// `limit`: a number; negative (or absent) means none.
inline Status ReadLimit(const json::Value& o, int64_t* limit) {
  const json::Value* v = o.Find("limit");
  if (!v || v->is_null()) return Status::Ok();
  if (!v->is_number()) return Status::InvalidArgument("limit must be a number");
  double n = v->as_number();
  *limit = n < 0 ? -1 : n > 9007199254740991.0 ? INT64_MAX : static_cast<int64_t>(n);
  return Status::Ok();
}

// {"key", "value": value_text, "timestamp"} of a stored message.
std::string KvtText(const StoredMessage& m, const std::string& value_text);

}  // namespace ssb::view
