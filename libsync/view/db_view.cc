// ssb-db 20's reads: values, get, and the message streams (see ssb/db_view.h).
#include "ssb/db_view.h"

#include <cctype>
#include <cmath>
#include <functional>
#include <optional>

#include "ssb/base64.h"
#include "ssb/box.h"
#include "ssb/ref.h"
#include "view_util.h"

namespace ssb::view {

using json::Value;

// ---------------------------------------------------------------------------------------------
// Values

namespace {

// The decorated value of `value_text` with `plain` as its content (ssb-db 20 autobox's
// decorate): content replaced in place, then meta, cyphertext, private, unbox appended.
std::string Decorate(const std::string& value_text, const Value& plain, const std::string& unbox) {
  auto value = json::Parse(value_text, {.wtf8_input = true});
  if (!value.ok() || !value->is_object()) return value_text;
  Value v = std::move(value).value();
  const Value* c = v.Find("content");
  if (!c) return value_text;
  Value box = *c;
  Value original = Value::Object();
  original.Set("content", box);
  Value meta = Value::Object();
  meta.Set("original", std::move(original));
  meta.Set("private", Value::Bool(true));
  if (!unbox.empty()) meta.Set("unbox", Value::String(unbox));
  v.Set("content", plain);
  v.Set("meta", std::move(meta));
  v.Set("cyphertext", std::move(box));
  v.Set("private", Value::Bool(true));
  if (!unbox.empty()) v.Set("unbox", Value::String(unbox));
  return json::Stringify(v);
}

// The box string of a stored message, or "".
std::string BoxOf(const StoredMessage& m) {
  if (m.type) return "";
  auto v = json::Parse(m.value_json, {.wtf8_input = true});
  if (!v.ok()) return "";
  const Value* c = v->Find("content");
  return c && c->is_string() ? c->as_string() : "";
}

}  // namespace

Result<uint64_t> DecryptStored(Store& store, const Keypair& me, double after_received,
                               bool only_undecrypted) {
  std::vector<std::pair<std::string, std::string>> found;
  SSB_RETURN_IF_ERROR(store.Encrypted(after_received, only_undecrypted, -1, [&](const StoredMessage& m) {
    auto v = json::Parse(m.value_json, {.wtf8_input = true});
    const Value* content = v.ok() ? v->Find("content") : nullptr;
    if (!content) return true;
    if (auto plain = DecryptContent(*content, me)) found.emplace_back(m.key, std::move(*plain));
    return true;
  }));
  for (const auto& [key, text] : found) SSB_RETURN_IF_ERROR(store.SetPlaintext(key, text));
  return static_cast<uint64_t>(found.size());
}

std::string DecryptedValue(const Context& ctx, const StoredMessage& m) {
  if (m.type) return m.value_json;  // not encrypted
  std::string box = BoxOf(m);
  if (box.empty()) return m.value_json;
  std::optional<std::string> plain = m.plaintext;
  if (!plain && ctx.keys) plain = BoxDecrypt(box, *ctx.keys);
  if (!plain) return m.value_json;
  auto parsed = json::Parse(*plain, {.wtf8_input = m.plaintext.has_value()});
  if (!parsed.ok()) return m.value_json;
  std::string unbox;
  if (ctx.keys) {
    if (auto k = BoxUnboxKey(box, *ctx.keys)) unbox = Base64Encode(*k);
  }
  return Decorate(m.value_json, *parsed, unbox);
}

std::string FormatItem(const Context& ctx, const StoredMessage& m, const ItemFormat& f) {
  if (f.keys && !f.values) {
    std::string out;
    json::AppendQuoted(&out, m.key);
    return out;
  }
  std::string value = f.decrypt ? DecryptedValue(ctx, m) : m.value_json;
  if (!f.keys) return value;
  std::string out = "{\"key\":";
  json::AppendQuoted(&out, m.key);
  out += ",\"value\":";
  out += value;
  out += ",\"timestamp\":";
  json::AppendNumber(&out, m.received);
  if (f.rts) {
    out += ",\"rts\":";
    json::AppendNumber(&out, ResolvedTimestamp(m));
  }
  out += "}";
  return out;
}

std::string KvtText(const StoredMessage& m, const std::string& value_text) {  // view_util.h
  std::string out = "{\"key\":";
  json::AppendQuoted(&out, m.key);
  out += ",\"value\":" + value_text + ",\"timestamp\":";
  json::AppendNumber(&out, m.received);
  out += "}";
  return out;
}

Result<std::string> Get(const Context& ctx, const json::Value& arg) {
  std::string id;
  bool decrypt = false, meta = false;
  std::optional<std::string> unbox_key;
  if (arg.is_number()) {
    double n = arg.as_number();
    if (n != std::trunc(n) || n < 0) {
      return Status::InvalidArgument("ssb-db.get: key *must* be a ssb message id or a flume offset");
    }
    ReadRequest q;
    q.min_log_seq = static_cast<int64_t>(n) - 1;
    q.max_log_seq = static_cast<int64_t>(n);
    q.limit = 1;
    std::optional<std::string> found;
    auto r = ctx.store->Read(q, [&](const StoredMessage& m) {
      found = KvtText(m, m.value_json);
      return false;
    });
    if (!r.ok()) return r.status();
    if (!found) return Status::NotFound("no message at log position " + json::NumberToString(n));
    return *found;
  }
  if (arg.is_object()) {
    const Value* v = arg.Find("id");
    if (!v || !v->is_string()) {
      return Status::InvalidArgument("ssb-db.get: key *must* be a ssb message id or a flume offset");
    }
    id = v->as_string();
    const Value* p = arg.Find("private");
    decrypt = p && p->is_bool() && p->as_bool();
    meta = Truthy(arg.Find("meta"));
    if (const Value* u = arg.Find("unbox"); u && u->is_string()) unbox_key = u->as_string();
  } else if (arg.is_string()) {
    id = arg.as_string();
  } else {
    return Status::InvalidArgument("ssb-db.get: key *must* be a ssb message id or a flume offset");
  }
  // "%…?unbox=KEY": a message opened with its key (a link someone shared).
  if (id.size() > 52 && id[0] == '%' && IsLink(id)) {
    std::string query = id.substr(id.find('?') + 1);
    id = id.substr(0, id.find('?'));
    decrypt = true;
    for (size_t start = 0; start <= query.size();) {
      size_t amp = query.find('&', start);
      std::string kv = query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
      size_t eq = kv.find('=');
      std::string k = kv.substr(0, eq), val = eq == std::string::npos ? "" : kv.substr(eq + 1);
      if (k == "unbox") {
        // The key is base64; in a link its '+' may arrive as a space or %2B, '/' as %2F and
        // '=' as %3D.
        std::string dec;
        for (size_t i = 0; i < val.size(); ++i) {
          if (val[i] == ' ') {
            dec.push_back('+');
          } else if (val[i] == '%' && i + 2 < val.size()) {
            std::string hex = val.substr(i + 1, 2);
            for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            dec.push_back(hex == "2B" ? '+' : hex == "2F" ? '/' : hex == "3D" ? '=' : '%');
            if (hex == "2B" || hex == "2F" || hex == "3D") i += 2;
          } else {
            dec.push_back(val[i]);
          }
        }
        unbox_key = dec;
      } else if (k == "meta") {
        meta = !val.empty();
      }
      if (amp == std::string::npos) break;
      start = amp + 1;
    }
  }
  if (!IsMsgId(id)) {
    return Status::InvalidArgument("ssb-db.get: key *must* be a ssb message id or a flume offset");
  }
  auto m = ctx.store->Get(id);
  if (!m.ok()) {
    if (m.status().code() == Code::kNotFound) {
      return Status::NotFound("Key not found in database [" + id + "]");
    }
    return m.status();
  }
  std::string value = m->value_json;
  if (unbox_key) {
    auto key = Base64DecodeCanonical(*unbox_key);
    std::string box = BoxOf(*m);
    if (key && key->size() == 33 && !box.empty()) {
      auto plain = BoxDecryptWithUnboxKey(box, std::span<const uint8_t, 33>(key->data(), 33));
      auto parsed = plain ? json::Parse(*plain) : Result<Value>(Status::NotFound(""));
      if (parsed.ok()) value = Decorate(m->value_json, *parsed, *unbox_key);
    }
  } else if (decrypt) {
    value = DecryptedValue(ctx, *m);
  }
  return meta ? KvtText(*m, value) : value;
}

// ---------------------------------------------------------------------------------------------
// Message streams

namespace {

// One stream over messages: the old part in an index's order (pages resuming after the last
// row, pinned to what was stored when it began), then the sync marker, then the live tail of
// the log (filtered to what the stream is about).
class MessageSource : public Source {
 public:
  struct Spec {
    ReadRequest old;               // the old part's read (its limit is set per page)
    std::string tail_author;       // live: only this feed
    std::string tail_type;         // live: only this type
    std::function<bool(const StoredMessage&)> in_range;  // live: the stream's bounds
    std::function<std::string(const StoredMessage&)> format;
    LiveOptions live;
    int64_t limit = -1;            // the old part's (ssb-db applies limit there only)
  };

  MessageSource(const Context& ctx, Spec spec) : ctx_(ctx), spec_(std::move(spec)) {
    left_ = spec_.limit;
  }

  Result<State> Next(size_t max, std::vector<std::string>* out) override {
    if (phase_ == Phase::kStart) {
      auto pin = ctx_.store->LastLogSeq();
      if (!pin.ok()) return pin.status();
      tail_ = *pin;
      spec_.old.max_log_seq = *pin;
      phase_ = spec_.live.old ? Phase::kOld : Phase::kLive;
    }
    if (phase_ == Phase::kOld) {
      size_t page = max;
      if (left_ >= 0) page = static_cast<size_t>(std::min<int64_t>(left_, static_cast<int64_t>(max)));
      size_t got = 0;
      if (page > 0) {
        spec_.old.limit = page;
        auto pos = ctx_.store->Read(spec_.old, [&](const StoredMessage& m) {
          out->push_back(spec_.format(m));
          ++got;
          return true;
        });
        if (!pos.ok()) return pos.status();
        if (*pos) spec_.old.after = **pos;
      }
      produced_ += got;
      if (left_ >= 0) left_ -= static_cast<int64_t>(got);
      if (got == page && page > 0 && left_ != 0) return State::kMore;
      // The old part is done.
      if (!spec_.live.live) {
        phase_ = Phase::kDone;
        return State::kDone;
      }
      if (spec_.live.sync) {
        out->push_back("{\"sync\":true}");
        ++produced_;
      }
      phase_ = Phase::kLive;
      return State::kMore;
    }
    if (phase_ == Phase::kLive) {
      ReadRequest t;
      t.index = ReadIndex::kLog;
      t.author = spec_.tail_author;
      t.type = spec_.tail_type;
      t.min_log_seq = tail_;
      t.limit = std::max<size_t>(max, 1);
      size_t rows = 0;
      auto pos = ctx_.store->Read(t, [&](const StoredMessage& m) {
        ++rows;
        tail_ = m.log_seq;
        if (!spec_.in_range || spec_.in_range(m)) {
          out->push_back(spec_.format(m));
          ++produced_;
        }
        return true;
      });
      if (!pos.ok()) return pos.status();
      return rows == t.limit ? State::kMore : State::kLive;
    }
    return State::kDone;
  }

 private:
  enum class Phase { kStart, kOld, kLive, kDone };
  Context ctx_;
  Spec spec_;
  Phase phase_ = Phase::kStart;
  int64_t tail_ = 0;
  int64_t left_ = -1;
};

// gt/gte/lt/lte of an options object into `q`; a bound that is present must be a number
// (null counts as absent).
Status ReadBounds(const Value& o, ReadRequest* q) {
  for (auto [name, slot] : {std::pair{"gt", &q->gt}, std::pair{"gte", &q->gte},
                            std::pair{"lt", &q->lt}, std::pair{"lte", &q->lte}}) {
    const Value* v = o.Find(name);
    if (!v || v->is_null()) continue;
    if (!v->is_number()) return Status::InvalidArgument(std::string(name) + " must be a number");
    *slot = v->as_number();
  }
  return Status::Ok();
}

bool InBounds(const ReadRequest& q, double x) {
  if (q.gt && !(x > *q.gt)) return false;
  if (q.gte && !(x >= *q.gte)) return false;
  if (q.lt && !(x < *q.lt)) return false;
  if (q.lte && !(x <= *q.lte)) return false;
  return true;
}

ItemFormat FormatOf(const Value& o) {
  ItemFormat f;
  f.keys = !IsFalse(o.Find("keys"));
  f.values = !IsFalse(o.Find("values"));
  f.decrypt = IsTrue(o.Find("private"));
  return f;
}

Result<SourcePtr> Make(const Context& ctx, MessageSource::Spec spec) {
  return SourcePtr(new MessageSource(ctx, std::move(spec)));
}

}  // namespace

Result<SourcePtr> CreateLogStream(const Context& ctx, const json::Value& args) {
  const Value o = Opts(args);
  MessageSource::Spec spec;
  spec.old.index = ReadIndex::kLog;
  SSB_RETURN_IF_ERROR(ReadBounds(o, &spec.old));
  if (!spec.old.gt && !spec.old.gte) spec.old.gt = 0;  // ssb-db: gt defaults to 0
  spec.old.reverse = IsTrue(o.Find("reverse"));
  SSB_RETURN_IF_ERROR(ReadLimit(o, &spec.limit));
  spec.live = LiveOf(o);
  ReadRequest bounds = spec.old;
  spec.in_range = [bounds](const StoredMessage& m) { return InBounds(bounds, m.received); };
  if (IsTrue(o.Find("raw"))) {
    spec.format = [](const StoredMessage& m) {
      std::string out = "{\"seq\":";
      json::AppendNumber(&out, static_cast<double>(m.log_seq));
      return out + ",\"value\":" + KvtText(m, m.value_json) + "}";
    };
  } else {
    ItemFormat f = FormatOf(o);
    Context c = ctx;
    spec.format = [c, f](const StoredMessage& m) { return FormatItem(c, m, f); };
  }
  return Make(ctx, std::move(spec));
}

Result<SourcePtr> CreateRawLogStream(const Context& ctx, const json::Value& args) {
  const Value o = Opts(args);
  MessageSource::Spec spec;
  spec.old.index = ReadIndex::kLog;
  // Bounds are on the log position (ssb-db: flume offsets).
  ReadRequest b;
  SSB_RETURN_IF_ERROR(ReadBounds(o, &b));
  auto floor_of = [](double x) { return static_cast<int64_t>(std::floor(x)); };
  if (b.gt) spec.old.min_log_seq = floor_of(*b.gt);
  if (b.gte) spec.old.min_log_seq = std::max(spec.old.min_log_seq.value_or(0), floor_of(std::ceil(*b.gte)) - 1);
  spec.old.reverse = IsTrue(o.Find("reverse"));
  SSB_RETURN_IF_ERROR(ReadLimit(o, &spec.limit));
  spec.live = LiveOf(o);
  std::optional<int64_t> hi;
  if (b.lt) hi = static_cast<int64_t>(std::ceil(*b.lt)) - 1;
  if (b.lte) hi = std::min(hi.value_or(INT64_MAX), floor_of(*b.lte));
  if (hi) spec.old.max_log_seq = *hi;
  spec.in_range = [b](const StoredMessage& m) { return InBounds(b, static_cast<double>(m.log_seq)); };
  spec.format = [](const StoredMessage& m) {
    std::string out = "{\"seq\":";
    json::AppendNumber(&out, static_cast<double>(m.log_seq));
    return out + ",\"value\":" + KvtText(m, m.value_json) + "}";
  };
  auto src = std::make_unique<MessageSource>(ctx, std::move(spec));
  return SourcePtr(std::move(src));
}

Result<SourcePtr> CreateFeedStream(const Context& ctx, const json::Value& args) {
  const Value o = Opts(args);
  MessageSource::Spec spec;
  spec.old.index = ReadIndex::kFeedTime;
  SSB_RETURN_IF_ERROR(ReadBounds(o, &spec.old));
  spec.old.reverse = IsTrue(o.Find("reverse"));
  SSB_RETURN_IF_ERROR(ReadLimit(o, &spec.limit));
  spec.live = LiveOf(o);
  ReadRequest bounds = spec.old;
  spec.in_range = [bounds](const StoredMessage& m) {
    return InBounds(bounds, ResolvedTimestamp(m));
  };
  ItemFormat f = FormatOf(o);
  f.rts = true;
  Context c = ctx;
  spec.format = [c, f](const StoredMessage& m) { return FormatItem(c, m, f); };
  return Make(ctx, std::move(spec));
}

std::string StreamFeed(const json::Value& args) {
  const Value& a = Arg(args, 0);
  if (a.is_string()) return a.as_string();
  if (const Value* id = a.is_object() ? a.Find("id") : nullptr; id && id->is_string()) {
    return id->as_string();
  }
  return "";
}

Result<SourcePtr> CreateHistoryStream(const Context& ctx, const json::Value& args) {
  Value o = Opts(args);
  const Value& a0 = Arg(args, 0);
  if (a0.is_string()) {
    // Positional: (id, seq, live).
    o = Value::Object();
    o.Set("id", a0);
    if (Arg(args, 1).is_number()) o.Set("seq", Arg(args, 1));
    if (Arg(args, 2).is_bool()) o.Set("live", Arg(args, 2));
  }
  const Value* id = o.Find("id");
  if (!id || !id->is_string() || !IsFeedId(id->as_string(), true)) {
    return Status::InvalidArgument("createHistoryStream needs a feed id, not " +
                                   (id ? json::Stringify(*id) : std::string("nothing")));
  }
  MessageSource::Spec spec;
  spec.old.index = ReadIndex::kFeed;
  spec.old.author = id->as_string();
  // seq = opts.sequence || opts.seq || 0, as a lower bound on the sequence.
  double seq = 0;
  for (const char* k : {"sequence", "seq"}) {
    const Value* v = o.Find(k);
    if (v && Truthy(v)) {
      if (!v->is_number()) return Status::InvalidArgument(std::string(k) + " must be a number");
      seq = v->as_number();
      break;
    }
  }
  spec.old.gte = seq;
  // ssb-server ignores `reverse` here; answering it is kept for our command line's users.
  spec.old.reverse = IsTrue(o.Find("reverse"));
  SSB_RETURN_IF_ERROR(ReadLimit(o, &spec.limit));
  spec.live = LiveOf(o);
  // ssb-db passes `sync: opts.sync === false` down, so the marker comes only with sync: false.
  spec.live.sync = spec.live.live && spec.live.old && IsFalse(o.Find("sync"));
  spec.tail_author = spec.old.author;
  ItemFormat f = FormatOf(o);
  f.decrypt = false;
  Context c = ctx;
  spec.format = [c, f](const StoredMessage& m) { return FormatItem(c, m, f); };
  return Make(ctx, std::move(spec));
}

Result<SourcePtr> CreateUserStream(const Context& ctx, const json::Value& args) {
  const Value o = Opts(args);
  const Value* id = o.Find("id");
  if (!id || !id->is_string() || !IsFeedId(id->as_string(), true)) {
    return Status::InvalidArgument("createUserStream needs {id: a feed id}");
  }
  MessageSource::Spec spec;
  spec.old.index = ReadIndex::kFeed;
  spec.old.author = id->as_string();
  SSB_RETURN_IF_ERROR(ReadBounds(o, &spec.old));
  spec.old.reverse = IsTrue(o.Find("reverse"));
  SSB_RETURN_IF_ERROR(ReadLimit(o, &spec.limit));
  spec.live = LiveOf(o);
  spec.tail_author = spec.old.author;
  ReadRequest bounds = spec.old;
  spec.in_range = [bounds](const StoredMessage& m) {
    return InBounds(bounds, static_cast<double>(m.sequence));
  };
  ItemFormat f = FormatOf(o);
  Context c = ctx;
  spec.format = [c, f](const StoredMessage& m) { return FormatItem(c, m, f); };
  return Make(ctx, std::move(spec));
}

Result<SourcePtr> MessagesByType(const Context& ctx, const json::Value& args) {
  Value o = Opts(args);
  if (Arg(args, 0).is_string()) {
    o = Value::Object();
    o.Set("type", Arg(args, 0));
  }
  const Value* type = o.Find("type");
  if (!type || !type->is_string() || type->as_string().empty()) {
    return Status::InvalidArgument("must provide {type: string} to messagesByType");
  }
  MessageSource::Spec spec;
  spec.old.index = ReadIndex::kType;
  spec.old.type = type->as_string();
  SSB_RETURN_IF_ERROR(ReadBounds(o, &spec.old));
  spec.old.reverse = IsTrue(o.Find("reverse"));
  SSB_RETURN_IF_ERROR(ReadLimit(o, &spec.limit));
  spec.live = LiveOf(o);
  spec.tail_type = spec.old.type;
  ReadRequest bounds = spec.old;
  spec.in_range = [bounds](const StoredMessage& m) { return InBounds(bounds, m.received); };
  ItemFormat f = FormatOf(o);
  Context c = ctx;
  spec.format = [c, f](const StoredMessage& m) { return FormatItem(c, m, f); };
  return Make(ctx, std::move(spec));
}

// ---------------------------------------------------------------------------------------------
// latest

namespace {

class LatestSource : public Source {
 public:
  explicit LatestSource(const Context& ctx) : ctx_(ctx) {}
  Result<State> Next(size_t max, std::vector<std::string>* out) override {
    if (!loaded_) {
      auto feeds = ctx_.store->Feeds();
      if (!feeds.ok()) return feeds.status();
      feeds_ = std::move(feeds).value();
      loaded_ = true;
    }
    size_t n = 0;
    while (next_ < feeds_.size() && n < max) {
      const FeedInfo& f = feeds_[next_++];
      Value item = Value::Object();
      item.Set("id", Value::String(f.author));
      item.Set("sequence", Value::Number(static_cast<double>(f.sequence)));
      auto m = ctx_.store->Get(f.key);
      item.Set("ts", m.ok() ? Value::Number(m->timestamp) : Value());
      out->push_back(json::Stringify(item));
      ++n;
      ++produced_;
    }
    return next_ < feeds_.size() ? State::kMore : State::kDone;
  }

 private:
  Context ctx_;
  bool loaded_ = false;
  std::vector<FeedInfo> feeds_;
  size_t next_ = 0;
};

}  // namespace

Result<SourcePtr> Latest(const Context& ctx, const json::Value&) {
  return SourcePtr(new LatestSource(ctx));
}

// ---------------------------------------------------------------------------------------------
// links (ssb-db)

namespace {

class LinksSource : public Source {
 public:
  LinksSource(const Context& ctx, LinksQuery q, LiveOptions live, bool keys, bool values, bool meta,
              bool decrypt)
      : ctx_(ctx), q_(std::move(q)), live_(live), keys_(keys), values_(values), meta_(meta),
        decrypt_(decrypt) {}

  Result<State> Next(size_t max, std::vector<std::string>* out) override {
    if (phase_ == 0) {
      auto pin = ctx_.store->LastLogSeq();
      if (!pin.ok()) return pin.status();
      tail_ = *pin;
      q_.max_log_seq = *pin;
      phase_ = 1;
      if (!live_.old) EnterLive();
    }
    q_.limit = std::max<size_t>(max, 1);
    if (phase_ == 1) {
      auto rows = Page();
      if (!rows.ok()) return rows.status();
      size_t got = rows->size();
      for (const auto& r : *rows) Emit(r, out);
      if (got == q_.limit) return State::kMore;
      if (!live_.live) return State::kDone;
      if (live_.sync) {
        out->push_back("{\"sync\":true}");
        ++produced_;
      }
      EnterLive();
      return State::kMore;
    }
    auto rows = Page();
    if (!rows.ok()) return rows.status();
    for (const auto& r : *rows) Emit(r, out);
    if (rows->size() == q_.limit) return State::kMore;
    return State::kLive;
  }

 private:
  // One page of links, collected first: formatting reads the linking messages, and a Store
  // visitor must not call back into the Store.
  Result<std::vector<LinkRow>> Page() {
    std::vector<LinkRow> rows;
    auto pos = ctx_.store->Links(q_, [&](const LinkRow& r) {
      rows.push_back(r);
      return true;
    });
    if (!pos.ok()) return pos.status();
    if (*pos) q_.after = **pos;
    return rows;
  }
  void Emit(const LinkRow& r, std::vector<std::string>* out) {
    out->push_back(Format(r));
    ++produced_;
  }

  // The tail: links of messages stored after the old part, in log order.
  void EnterLive() {
    phase_ = 2;
    q_.after.reset();
    q_.max_log_seq.reset();
    q_.min_log_seq = tail_;
    q_.log_order = true;
    q_.reverse = false;
  }

  std::string Format(const LinkRow& r) {
    std::string value;
    if (values_) {
      auto m = ctx_.store->Get(r.key);
      if (m.ok()) value = decrypt_ ? DecryptedValue(ctx_, *m) : m->value_json;
      else value = "null";
    }
    std::string key;
    json::AppendQuoted(&key, r.key);
    if (!meta_) {
      if (keys_ && values_) return "{\"key\":" + key + ",\"value\":" + value + "}";
      if (keys_) return key;
      return value;
    }
    std::string out = "{\"source\":";
    json::AppendQuoted(&out, r.source);
    out += ",\"rel\":";
    json::AppendQuoted(&out, r.rel);
    out += ",\"dest\":";
    json::AppendQuoted(&out, r.dest);
    if (keys_) out += ",\"key\":" + key;
    if (values_) out += ",\"value\":" + value;
    return out + "}";
  }

  Context ctx_;
  LinksQuery q_;
  LiveOptions live_;
  bool keys_, values_, meta_, decrypt_;
  int phase_ = 0;
  int64_t tail_ = 0;
};

// ssb-db's type(): 'feed', 'msg', 'blob' name a sigil.
std::string LinkEnd(const Value* v) {
  if (!v || !v->is_string()) return "";
  const std::string& s = v->as_string();
  if (s == "feed") return "@";
  if (s == "msg") return "%";
  if (s == "blob") return "&";
  return s;
}

}  // namespace

Result<SourcePtr> Links(const Context& ctx, const json::Value& args) {
  const Value& a = Arg(args, 0);
  if (!a.is_object()) return Status::InvalidArgument("opts *must* be provided");
  bool values = IsTrue(a.Find("values"));
  bool meta = !IsFalse(a.Find("meta"));
  bool keys = !IsFalse(a.Find("keys"));
  if (!values && !meta && !keys) {
    return Status::InvalidArgument(
        "makes no sense to return stream without resultsset at least one of {keys, values, meta} to true");
  }
  LinksQuery q;
  q.source = LinkEnd(a.Find("source"));
  q.dest = LinkEnd(a.Find("dest"));
  if (const Value* rel = a.Find("rel"); rel && rel->is_string()) q.rel = rel->as_string();
  q.reverse = IsTrue(a.Find("reverse"));
  return SourcePtr(new LinksSource(ctx, std::move(q), LiveOf(a), keys, values, meta,
                                   IsTrue(a.Find("private"))));
}

}  // namespace ssb::view
