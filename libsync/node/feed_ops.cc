#include "ssb/feed_ops.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "ssb/box.h"
#include "ssb/ref.h"

namespace ssb {

using json::Value;

double NowMs() {
  using namespace std::chrono;
  return static_cast<double>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

Status OptString(const Value& opts, const char* key, std::string* out) {
  const Value* v = opts.is_object() ? opts.Find(key) : nullptr;
  if (!v) return Status::Ok();
  if (v->is_string()) {
    *out = v->as_string();
  } else if (v->is_number()) {
    *out = json::NumberToString(v->as_number());
  } else {
    return Status::InvalidArgument(std::string("--") + key + " needs a value");
  }
  return Status::Ok();
}

Status OptNumber(const Value& opts, const char* key, double* out) {
  const Value* v = opts.is_object() ? opts.Find(key) : nullptr;
  if (!v) return Status::Ok();
  if (!v->is_number()) return Status::InvalidArgument(std::string("--") + key + " must be a number");
  *out = v->as_number();
  return Status::Ok();
}

Status OptInt(const Value& opts, const char* key, int64_t* out) {
  double d = static_cast<double>(*out);
  SSB_RETURN_IF_ERROR(OptNumber(opts, key, &d));
  if (d != std::trunc(d) || std::fabs(d) > 9007199254740991.0) {
    return Status::InvalidArgument(std::string("--") + key + " must be an integer");
  }
  *out = static_cast<int64_t>(d);
  return Status::Ok();
}

Status OptBool(const Value& opts, const char* key, bool* out) {
  const Value* v = opts.is_object() ? opts.Find(key) : nullptr;
  if (!v) return Status::Ok();
  if (!v->is_bool()) return Status::InvalidArgument(std::string("--") + key + " must be true or false");
  *out = v->as_bool();
  return Status::Ok();
}

Value KvtOf(const Message& msg, double received) {
  Value kvt = Value::Object();
  kvt.Set("key", Value::String(msg.id()));
  kvt.Set("value", msg.value());
  kvt.Set("timestamp", Value::Number(received));
  return kvt;
}

Result<Value> StoreStatus(Store& store, const std::string& self_id, const std::string& path) {
  auto stats = store.Stats();
  if (!stats.ok()) return stats.status();
  auto forks = store.ListForks();
  if (!forks.ok()) return forks.status();
  auto mine = store.Latest(self_id);
  if (!mine.ok()) return mine.status();
  Value out = Value::Object();
  out.Set("id", Value::String(self_id));
  out.Set("path", Value::String(path));
  out.Set("sequence", Value::Number(mine->has_value() ? static_cast<double>((*mine)->sequence) : 0));
  out.Set("feeds", Value::Number(static_cast<double>(stats->feeds)));
  out.Set("messages", Value::Number(static_cast<double>(stats->messages)));
  out.Set("private", Value::Number(static_cast<double>(stats->encrypted)));
  out.Set("size", Value::Number(static_cast<double>(stats->file_bytes)));
  Value fork_list = Value::Array();
  for (const auto& f : *forks) {
    Value fv = Value::Object();
    fv.Set("author", Value::String(f.author));
    fv.Set("sequence", Value::Number(static_cast<double>(f.sequence)));
    fv.Set("stored", Value::String(f.stored_key));
    fv.Set("offending", Value::String(f.offending_key));
    fv.Set("reason", Value::String(f.reason));
    fork_list.Push(std::move(fv));
  }
  out.Set("forks", std::move(fork_list));
  return out;
}

namespace {

// Normalises content.recps (an array of feed ids, or one comma-separated string as the
// command line gives it), adds our own id (as ssb-server does) and encrypts the content.
Result<std::string> BoxContent(const Keypair& me, Value* content) {
  Value* recps = content->Find("recps");
  std::vector<std::string> ids;
  if (recps->is_string()) {
    std::string list = recps->as_string();
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      std::string id = list.substr(start, comma == std::string::npos ? comma : comma - start);
      if (!id.empty()) ids.push_back(id);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  } else if (recps->is_array()) {
    for (const Value& r : recps->items()) {
      if (!r.is_string()) return Status::InvalidArgument("recps must be feed ids");
      ids.push_back(r.as_string());
    }
  } else {
    return Status::InvalidArgument("recps must be feed ids");
  }
  if (std::find(ids.begin(), ids.end(), me.id()) == ids.end()) ids.insert(ids.begin(), me.id());
  std::vector<PublicKey> keys;
  Value list = Value::Array();
  for (const std::string& id : ids) {
    auto pk = ParseFeedId(id);
    if (!pk) return Status::InvalidArgument("not a feed id in recps: " + id);
    keys.push_back(*pk);
    list.Push(Value::String(id));
  }
  if (keys.size() > kMaxBoxRecipients) {
    return Status::InvalidArgument("a private message can have at most 7 recipients "
                                   "(including yourself), not " + std::to_string(keys.size()));
  }
  *recps = std::move(list);
  return BoxEncrypt(json::Stringify(*content), keys);
}

}  // namespace

Result<Published> PublishContent(Store& store, const Keypair& keys, Value content,
                                 const ValidateOptions& validate) {
  if (!content.is_object()) return Status::InvalidArgument("content must be a JSON object");
  if (!content.Find("type")) return Status::InvalidArgument("content needs a type (--type post)");
  auto latest = store.Latest(keys.id());
  if (!latest.ok()) return latest.status();
  const FeedState* prev = latest->has_value() ? &**latest : nullptr;
  // formats/store-schema.md "feed_floors": an imported log showed later messages of ours than
  // the store holds; the next message would fork our own feed.
  auto floor = store.FeedFloor(keys.id());
  if (!floor.ok()) return floor.status();
  int64_t have = prev ? prev->sequence : 0;
  if (*floor > have) {
    return Status::Corruption(
        "refusing to publish: your feed " + keys.id() + " has " + std::to_string(*floor) +
        " messages (an imported log held them) but this store has only " +
        std::to_string(have) + "; publishing now would fork your feed. Get your own messages "
        "back first (from a peer with `sbot server`, or a bundle with `ssb-bundle import`)");
  }
  // Claimed timestamps of our own feed increase, even if the clock went back.
  double ts = NowMs();
  if (prev) {
    auto last = store.Get(prev->id);
    if (last.ok() && last->timestamp >= ts) ts = std::floor(last->timestamp) + 1;
  }
  std::optional<std::string> plaintext;
  if (content.Find("recps")) {
    auto boxed = BoxContent(keys, &content);
    if (!boxed.ok()) return boxed.status();
    plaintext = json::Stringify(content);
    content = Value::String(std::move(boxed).value());
  }
  auto msg = CreateMessage(keys, prev, std::move(content), ts, validate.hmac_key);
  if (!msg.ok()) return msg.status();
  AppendOptions aopt;
  aopt.validate = validate;
  // Stored with its plaintext in one transaction.
  Published out{PrepareMessage(std::move(msg).value(), std::move(plaintext)), {}};
  const PreparedMessage* one = &out.message;
  auto outcomes = store.AppendPrepared(std::span(&one, 1), aopt);
  if (!outcomes.ok()) return outcomes.status();
  const AppendOutcome& o = outcomes->front();
  if (o.kind == AppendKind::kRejected) return o.status;
  out.stored = AppendedRow(out.message, o);
  return out;
}

}  // namespace ssb
