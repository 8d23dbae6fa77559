// The {key, value, timestamp} records both logs hold (formats/flume-log-offset.md "Record
// data", formats/db2-log-bipf.md "Record data").
#include <cmath>
#include <string>

#include "ssb/oldlog.h"

namespace ssb::oldlog {

// bipf.cc
Status BipfDecodePrefix(std::span<const uint8_t> bytes, const DecodeLimits& limits,
                        json::Value* out, bool* undefined, size_t* consumed);

namespace {

using json::Value;

Result<OldRecord> FromObject(Value&& obj) {
  if (!obj.is_object()) return Status::InvalidInput("record is not an object");
  Value* value = obj.Find("value");
  if (!value) return Status::InvalidInput("record has no value");
  if (!value->is_object()) return Status::InvalidInput("record's value is not an object");
  OldRecord r;
  if (const Value* k = obj.Find("key"); k && k->is_string()) r.key = k->as_string();
  if (const Value* t = obj.Find("timestamp"); t && t->is_number() && std::isfinite(t->as_number())) {
    r.received = t->as_number();
  }
  if (const Value* o = obj.Find("ooo"); o && o->is_bool()) r.out_of_order = o->as_bool();
  if (const Value* f = obj.Find("feed"); f && f->is_string()) r.feed = f->as_string();
  r.value = std::move(*value);
  return r;
}

}  // namespace

std::string_view FormatName(LogFormat format) {
  return format == LogFormat::kFlumeOffset ? "flume-log-offset" : "db2-log-bipf";
}

Result<OldRecord> DecodeFlumeRecord(std::span<const uint8_t> data, const DecodeLimits& limits) {
  json::ParseOptions opt;
  opt.max_depth = limits.max_depth;
  // ssb-db's codec: JSON.parse of the record's bytes decoded as UTF-8.
  auto v = json::Parse(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()),
                       opt);
  if (!v.ok()) return v.status();
  return FromObject(std::move(v).value());
}

Result<OldRecord> DecodeDb2Record(std::span<const uint8_t> data, const DecodeLimits& limits) {
  if (data.empty()) return Status::InvalidInput("empty record");
  Value v;
  bool undefined = false;
  size_t consumed = 0;
  SSB_RETURN_IF_ERROR(BipfDecodePrefix(data, limits, &v, &undefined, &consumed));
  // Bytes after the record's value are ignored, as bipf.decode ignores them.
  return FromObject(std::move(v));
}

std::string EncodeRecord(LogFormat format, std::string_view key, const json::Value& value,
                         double received) {
  if (format == LogFormat::kFlumeOffset) {
    // ssb-db's codec: JSON.stringify({key, value, timestamp}).
    std::string out = "{\"key\":";
    json::AppendQuoted(&out, key);
    out += ",\"value\":";
    json::AppendStringify(&out, value);
    out += ",\"timestamp\":";
    json::AppendNumber(&out, received);
    out += '}';
    return out;
  }
  // ssb-db2's log.add: bipf.allocAndEncode({key, value, timestamp}). Encoding the members one
  // by one and framing them is the same bytes as encoding the whole object.
  std::string body = BipfEncode(Value::String("key"));
  body += BipfEncode(Value::String(std::string(key)));
  body += BipfEncode(Value::String("value"));
  body += BipfEncode(value);
  body += BipfEncode(Value::String("timestamp"));
  body += BipfEncode(Value::Number(received));
  std::string out;
  uint64_t tag = (uint64_t{body.size()} << 3) | 5;  // formats/db2-log-bipf.md: type 5, object
  while (tag >= 0x80) {
    out.push_back(static_cast<char>((tag & 0x7F) | 0x80));
    tag >>= 7;
  }
  out.push_back(static_cast<char>(tag));
  out += body;
  return out;
}

}  // namespace ssb::oldlog
