// query.read / query.explain (ssb-query 2.4 over flumeview-query 8) and links2.read (ssb-links
// 3 over flumeview-links): index selection as they do it, answered from the store's indexes,
// with map-filter-reduce (ssb/mfr.h) applied to every item so that results do not depend on
// which index served them.
#include <cmath>
#include <functional>
#include <optional>

#include "ssb/db_view.h"
#include "ssb/mfr.h"
#include "ssb/ref.h"
#include "view_util.h"

namespace ssb::view {
namespace {

using json::Value;

// ---- flumeview-query's select.js and query.js, over its map-filter-reduce util.

// A path into the query: strings, in order.
using Path = std::vector<std::string>;

struct IndexDef {
  const char* key;
  std::vector<Path> value;
};

// ssb-query 2.4's indexes, in its order (ties go to the first).
const std::vector<IndexDef>& QueryIndexes() {
  static const std::vector<IndexDef> kIndexes = {
      {"log", {{"timestamp"}}},
      {"clk", {{"value", "author"}, {"value", "sequence"}}},
      {"typ", {{"value", "content", "type"}, {"timestamp"}}},
      {"tya", {{"value", "content", "type"}, {"value", "timestamp"}}},
      {"cha", {{"value", "content", "channel"}, {"timestamp"}}},
      {"aty", {{"value", "author"}, {"value", "content", "type"}, {"timestamp"}}},
      {"ata", {{"value", "author"}, {"value", "content", "type"}, {"value", "timestamp"}}},
      {"art", {{"value", "content", "root"}, {"value", "timestamp"}}},
      {"lor", {{"rts"}}},
  };
  return kIndexes;
}

// ssb-links 3's indexes.
const std::vector<IndexDef>& LinkIndexes() {
  static const std::vector<IndexDef> kIndexes = {
      {"SRD", {{"source"}, {"rel"}, {"dest"}, {"ts"}}},
      {"DRS", {{"dest"}, {"rel"}, {"source"}, {"ts"}}},
      {"RDS", {{"rel"}, {"dest"}, {"source"}, {"ts"}}},
  };
  return kIndexes;
}

// u.has / u.get of flumeview-query's util over a path.
const Value* At(const Value& q, const Path& path) {
  const Value* cur = &q;
  for (const auto& p : path) {
    if (!cur->is_object()) return nullptr;
    cur = cur->Find(p);
    if (!cur) return nullptr;
  }
  return cur;
}

bool IsBasic(const Value& v) { return v.is_string() || v.is_number() || v.is_bool() || v.is_null(); }

bool IsExact(const Value& v) {
  if (IsBasic(v)) return true;
  if (v.is_array()) {
    for (const Value& e : v.items())
      if (!IsExact(e)) return false;
    return true;
  }
  return v.is_object() && v.Find("$eq");
}

bool Has(const Value& v, const char* k) { return v.is_object() && v.Find(k); }

bool IsRange(const Value& v) {
  if (v.is_null()) return false;
  if (v.is_object()) {
    const Value* prefix = v.Find("$prefix");
    if (prefix && Truthy(prefix)) return true;
    if (const Value* is = v.Find("$is"); is && is->is_string()) {
      const std::string& t = is->as_string();
      if (t == "string" || t == "boolean" || t == "array" || t == "undefined" || t == "null") return true;
    }
  }
  if (v.is_array()) {
    for (const Value& e : v.items())
      if (IsRange(e)) return true;
    return false;
  }
  return Has(v, "$lt") || Has(v, "$gt") || Has(v, "$lte") || Has(v, "$gte");
}

struct Selection {
  const IndexDef* index = nullptr;
  Value scores = Value::Object();
};

// select.js: 2 points per exact field, 1 per range, squared as it goes left to right; the
// highest score wins, the first among equals; none above 0: a full scan.
Selection Select(const std::vector<IndexDef>& indexes, const Value& q) {
  Selection sel;
  int best = 0;
  for (const IndexDef& idx : indexes) {
    int score = 0;
    for (const Path& p : idx.value) {
      const Value* v = At(q, p);
      int s = !v ? 0 : IsExact(*v) ? 2 : IsRange(*v) ? 1 : 0;
      if (!s) break;
      score = score * score + s;
      sel.scores.Set(idx.key, Value::Number(score));
    }
    if (score > best) {
      best = score;
      sel.index = &idx;
    }
  }
  return sel;
}

// map-filter-reduce util's lower/upper bounds (LO = null, HI = undefined, written as null).
Value Lower(const Value& v);
Value Upper(const Value& v);

Value Lower(const Value& v) {
  if (IsBasic(v)) return v;
  if (v.is_object()) {
    if (const Value* p = v.Find("$prefix")) {
      if (p->is_array()) {
        Value a = *p;
        a.Push(Value());
        return a;
      }
      if (p->is_string()) return *p;
    }
    for (const char* k : {"$gt", "$gte"})
      if (const Value* x = v.Find(k)) return *x;
    if (Has(v, "$lt") || Has(v, "$lte")) return Value();
    if (const Value* is = v.Find("$is"); is && is->is_string()) {
      const std::string& t = is->as_string();
      if (t == "string") return Value::String("");
      if (t == "boolean") return Value::Bool(false);
      if (t == "array") return Value::Array();
      return Value();
    }
  }
  if (v.is_array()) {
    Value a = Value::Array();
    for (const Value& e : v.items()) a.Push(Lower(e));
    return a;
  }
  return Value();
}

Value Upper(const Value& v) {
  if (IsBasic(v)) return v;
  if (v.is_object()) {
    if (const Value* p = v.Find("$prefix")) {
      if (p->is_array()) {
        Value a = *p;
        a.Push(Value());
        return a;
      }
      if (p->is_string()) return Value::String(p->as_string() + "\xEF\xBF\xBF");
    }
    for (const char* k : {"$lt", "$lte"})
      if (const Value* x = v.Find(k)) return *x;
    if (Has(v, "$gt") || Has(v, "$gte")) return Value();
    if (const Value* is = v.Find("$is"); is && is->is_string()) {
      const std::string& t = is->as_string();
      if (t == "string") return Value::Array();
      if (t == "boolean") return Value::Bool(true);
      return Value();
    }
  }
  if (v.is_array()) {
    Value a = Value::Array();
    for (const Value& e : v.items()) a.Push(Upper(e));
    return a;
  }
  return Value();
}

// query.js: the index range the selection reads.
void Bounds(const IndexDef& idx, const Value& q, Value* gte, Value* lte) {
  *gte = Value::Array();
  *lte = Value::Array();
  for (const Path& p : idx.value) {
    const Value* v = At(q, p);
    bool none = !v || v->is_null();
    gte->Push(none ? Value() : IsRange(*v) ? Lower(*v) : IsExact(*v) ? *v : Value());
    lte->Push(none ? Value() : IsRange(*v) ? Upper(*v) : IsExact(*v) ? *v : Value());
  }
}

// ---- The query's options.

struct QueryOptions {
  Value query;          // the stages (an array), or null for none
  Value first_filter = Value::Object();
  LiveOptions live;
  bool reverse = false;
  int64_t limit = -1;
  bool sync_given = false;
  bool sync = false;
};

Result<QueryOptions> ReadQueryOptions(const Value& args) {
  QueryOptions o;
  Value opts = Opts(args);
  // ssb-query/ssb-links: a string argument is the query as JSON, and so is a string query.
  if (Arg(args, 0).is_string()) {
    auto q = json::Parse(Arg(args, 0).as_string(), {.max_depth = 64, .max_bytes = 1 << 20});
    if (!q.ok()) return Status::InvalidArgument("query: " + q.status().message());
    opts = Value::Object();
    opts.Set("query", std::move(q).value());
  }
  if (const Value* q = opts.Find("query")) {
    if (q->is_string()) {
      auto parsed = json::Parse(q->as_string(), {.max_depth = 64, .max_bytes = 1 << 20});
      if (!parsed.ok()) return Status::InvalidArgument("query: " + parsed.status().message());
      o.query = std::move(parsed).value();
    } else {
      o.query = *q;
    }
  }
  if (o.query.is_array()) {
    if (o.query.size() > 0 && o.query.items()[0].is_object()) {
      if (const Value* f = o.query.items()[0].Find("$filter")) o.first_filter = *f;
    }
  } else if (o.query.is_object()) {
    // An object query only picks the index in ssb-query; here it also filters, as one $filter.
    o.first_filter = o.query;
    Value stage = Value::Object();
    stage.Set("$filter", o.query);
    Value arr = Value::Array();
    arr.Push(std::move(stage));
    o.query = std::move(arr);
  } else if (!o.query.is_null()) {
    return Status::InvalidArgument("query must be an array of map-filter-reduce stages");
  }
  o.live = LiveOf(opts);
  o.reverse = IsTrue(opts.Find("reverse"));
  SSB_RETURN_IF_ERROR(ReadLimit(opts, &o.limit));
  if (const Value* s = opts.Find("sync")) {
    o.sync_given = true;
    o.sync = Truthy(s);
  }
  return o;
}

// ---- A source running map-filter-reduce over rows of the store.

class MfrSource : public Source {
 public:
  // Reads one page of rows starting after the last; appends items for the query; true when
  // the page was full (more may follow).
  using PageReader = std::function<Result<bool>(size_t max, bool live, std::vector<Value>* items)>;

  MfrSource(std::optional<mfr::Query> query, PageReader old_page, PageReader live_page,
            LiveOptions live, int64_t limit)
      : query_(std::move(query)), old_(std::move(old_page)), live_page_(std::move(live_page)),
        live_(live), left_(limit) {
    if (query_) runner_.emplace(*query_);
  }

  Result<State> Next(size_t max, std::vector<std::string>* out) override {
    if (left_ == 0) return State::kDone;
    std::vector<Value> items;
    if (phase_ == 0) {
      phase_ = live_.old ? 1 : 2;
    }
    if (phase_ == 1) {
      auto more = old_(max, false, &items);
      if (!more.ok()) return more.status();
      SSB_RETURN_IF_ERROR(Emit(items, out));
      if (*more) return left_ == 0 ? State::kDone : State::kMore;
      if (!live_.live) {
        if (runner_) {
          std::vector<Value> rest;
          SSB_RETURN_IF_ERROR(runner_->Finish(&rest));
          for (auto& v : rest) Push(json::Stringify(v), out);
        }
        return State::kDone;
      }
      if (live_.sync) Push("{\"sync\":true}", out);
      phase_ = 2;
      return left_ == 0 ? State::kDone : State::kMore;
    }
    auto more = live_page_(max, true, &items);
    if (!more.ok()) return more.status();
    SSB_RETURN_IF_ERROR(Emit(items, out));
    if (left_ == 0) return State::kDone;
    return *more ? State::kMore : State::kLive;
  }

 private:
  void Push(std::string text, std::vector<std::string>* out) {
    if (left_ == 0) return;
    out->push_back(std::move(text));
    ++produced_;
    if (left_ > 0) --left_;
  }
  Status Emit(const std::vector<Value>& items, std::vector<std::string>* out) {
    for (const Value& item : items) {
      if (!runner_) {
        Push(json::Stringify(item), out);
        continue;
      }
      std::vector<Value> got;
      SSB_RETURN_IF_ERROR(runner_->Push(item, &got));
      for (auto& v : got) Push(json::Stringify(v), out);
    }
    return Status::Ok();
  }

  std::optional<mfr::Query> query_;
  std::optional<mfr::Runner> runner_;
  PageReader old_, live_page_;
  LiveOptions live_;
  int64_t left_;
  int phase_ = 0;
};

Result<std::optional<mfr::Query>> Compile(const QueryOptions& o) {
  if (o.query.is_null()) return std::optional<mfr::Query>();
  auto q = mfr::Query::Parse(o.query);
  if (!q.ok()) return q.status();
  if (q->blocking() && o.live.live) {
    return Status::InvalidArgument("query: $reduce and $sort need the end of the input; they cannot "
                                   "be live");
  }
  return std::optional<mfr::Query>(std::move(q).value());
}

// The item ssb-query hands map-filter-reduce for a message: {key, value, timestamp} and, when
// an index served it, rts.
Value MessageItem(const StoredMessage& m, bool rts) {
  Value item = Value::Object();
  item.Set("key", Value::String(m.key));
  auto v = json::Parse(m.value_json, {.wtf8_input = true});
  item.Set("value", v.ok() ? std::move(v).value() : Value());
  item.Set("timestamp", Value::Number(m.received));
  if (rts) {
    double r = std::min(m.received, m.timestamp);
    if (r == 0 || std::isnan(r)) r = m.received;
    item.Set("rts", Value::Number(r));
  }
  return item;
}

std::optional<double> Num(const Value* v) {
  if (v && v->is_number()) return v->as_number();
  return std::nullopt;
}

// Numeric bounds a filter value puts on a field, as a superset: an exact number, or
// $gt/$gte/$lt/$lte numbers; anything else none.
void NumericBounds(const Value* f, ReadRequest* q) {
  if (!f) return;
  if (f->is_number()) {
    q->gte = f->as_number();
    q->lte = f->as_number();
    return;
  }
  if (!f->is_object()) return;
  if (auto x = Num(f->Find("$gt"))) q->gt = *x;
  if (auto x = Num(f->Find("$gte"))) q->gte = *x;
  if (auto x = Num(f->Find("$lt"))) q->lt = *x;
  if (auto x = Num(f->Find("$lte"))) q->lte = *x;
  if (const Value* eq = f->Find("$eq"); eq && eq->is_number()) {
    q->gte = eq->as_number();
    q->lte = eq->as_number();
  }
}

const Value* ExactString(const Value* v) {
  if (!v) return nullptr;
  if (v->is_string()) return v;
  if (v->is_object()) {
    if (const Value* eq = v->Find("$eq"); eq && eq->is_string()) return eq;
  }
  return nullptr;
}

}  // namespace

// The historic part of a stream: pages of `base` up to the log sequence stored when the first
// page is read (pinned in state->second, where the live part starts), each page after the
// position the last one ended at (state->first). `fetch(request, items)` reads one page,
// appending an item per row, and returns where it ended and how many rows it read.
template <class Request, class Position, class Fetch>
MfrSource::PageReader PinnedOldPages(
    const Context& ctx, Request base,
    std::shared_ptr<std::pair<std::optional<Position>, int64_t>> state, Fetch fetch) {
  Context c = ctx;
  bool started = false;
  return [c, base, state, fetch, started](size_t max, bool, std::vector<Value>* items) mutable
             -> Result<bool> {
    Request r = base;
    if (!started) {
      auto pin = c.store->LastLogSeq();
      if (!pin.ok()) return pin.status();
      state->second = *pin;
      started = true;
    }
    r.max_log_seq = state->second;
    r.after = state->first;
    r.limit = std::max<size_t>(max, 1);
    size_t rows = 0;
    Result<std::optional<Position>> pos = fetch(r, items, &rows);
    if (!pos.ok()) return pos.status();
    if (*pos) state->first = **pos;
    return rows == r.limit;
  };
}

Result<json::Value> QueryExplain(const Context&, const json::Value& args) {
  auto o = ReadQueryOptions(args);
  if (!o.ok()) return o.status();
  Selection sel = Select(QueryIndexes(), o->first_filter);
  Value out = Value::Object();
  if (!sel.index) {
    out.Set("scan", Value::Bool(true));
    out.Set("reverse", Value::Bool(o->reverse));
    out.Set("live", Value::Bool(o->live.live));
    out.Set("old", Value::Bool(o->live.old));
    out.Set("sync", Value::Bool(o->sync_given && o->sync));
    return out;
  }
  Value gte, lte;
  Bounds(*sel.index, o->first_filter, &gte, &lte);
  out.Set("gte", std::move(gte));
  out.Set("lte", std::move(lte));
  out.Set("reverse", Value::Bool(o->reverse));
  out.Set("old", Value::Bool(o->live.old));
  out.Set("live", Value::Bool(o->live.live));
  if (o->sync_given) out.Set("sync", Value::Bool(o->sync));
  out.Set("index", Value::String(sel.index->key));
  out.Set("scores", std::move(sel.scores));
  return out;
}

Result<SourcePtr> QueryRead(const Context& ctx, const json::Value& args) {
  auto o = ReadQueryOptions(args);
  if (!o.ok()) return o.status();
  auto q = Compile(*o);
  if (!q.ok()) return q.status();
  Selection sel = Select(QueryIndexes(), o->first_filter);
  const Value& f = o->first_filter;
  bool rts = sel.index != nullptr;
  std::string key = sel.index ? sel.index->key : "";

  // Our read for ssb-query's index choice (filtering stays with map-filter-reduce): by feed for
  // an exact author, by type for an exact type, by resolved time for rts, else the log.
  ReadRequest old;
  old.index = ReadIndex::kLog;
  ReadRequest tail;
  const Value* author = ExactString(At(f, {"value", "author"}));
  const Value* type = ExactString(At(f, {"value", "content", "type"}));
  if ((key == "clk" || key == "aty" || key == "ata") && author && IsFeedId(author->as_string(), true)) {
    old.index = ReadIndex::kFeed;
    old.author = author->as_string();
    if (key == "clk") NumericBounds(At(f, {"value", "sequence"}), &old);
    tail.author = old.author;
  } else if ((key == "typ" || key == "tya") && type) {
    old.index = ReadIndex::kType;
    old.type = type->as_string();
    if (key == "typ") NumericBounds(At(f, {"timestamp"}), &old);
    tail.type = old.type;
  } else if (key == "log") {
    NumericBounds(At(f, {"timestamp"}), &old);
  } else if (key == "lor") {
    old.index = ReadIndex::kFeedTime;
    NumericBounds(At(f, {"rts"}), &old);
  }
  old.reverse = o->reverse;
  Context c = ctx;
  auto state = std::make_shared<std::pair<std::optional<ReadPosition>, int64_t>>();  // after, tail
  auto old_page = PinnedOldPages(ctx, old, state,
      [c, rts](const ReadRequest& r, std::vector<Value>* items, size_t* rows) {
        return c.store->Read(r, [&](const StoredMessage& m) {
          ++*rows;
          items->push_back(MessageItem(m, rts));
          return true;
        });
      });
  auto live_page = [c, tail, state, rts](size_t max, bool, std::vector<Value>* items) mutable
      -> Result<bool> {
    ReadRequest r = tail;
    r.index = ReadIndex::kLog;
    r.min_log_seq = state->second;
    r.limit = std::max<size_t>(max, 1);
    size_t rows = 0;
    auto pos = c.store->Read(r, [&](const StoredMessage& m) {
      ++rows;
      state->second = m.log_seq;
      items->push_back(MessageItem(m, rts));
      return true;
    });
    if (!pos.ok()) return pos.status();
    return rows == r.limit;
  };
  if (!o->live.old) {
    // Live only: the tail starts at what is stored now.
    auto pin = ctx.store->LastLogSeq();
    if (!pin.ok()) return pin.status();
    state->second = *pin;
  }
  // flumeview-query passes `sync` through to pull-live: a marker unless sync: false.
  return SourcePtr(new MfrSource(std::move(q).value(), old_page, live_page, o->live, o->limit));
}

Result<SourcePtr> Links2Read(const Context& ctx, const json::Value& args) {
  auto o = ReadQueryOptions(args);
  if (!o.ok()) return o.status();
  auto q = Compile(*o);
  if (!q.ok()) return q.status();
  Selection sel = Select(LinkIndexes(), o->first_filter);
  const Value& f = o->first_filter;
  std::string key = sel.index ? sel.index->key : "";
  LinksQuery lq;
  lq.links2 = true;
  lq.reverse = o->reverse;
  const Value* source = ExactString(f.Find("source"));
  const Value* dest = ExactString(f.Find("dest"));
  if (key == "SRD" && source && IsFeedId(source->as_string(), true)) lq.source = source->as_string();
  if (key == "DRS" && dest && IsLink(dest->as_string())) lq.dest = dest->as_string();
  if (key == "RDS") {
    const Value* rel = f.Find("rel");
    if (rel && rel->is_array() && rel->size() > 0 && rel->items()[0].is_string()) {
      lq.rel = rel->items()[0].as_string();
    }
  }
  if (key.empty()) lq.log_order = true;
  // The item's fields in the order the chosen index writes them.
  std::vector<std::string> order = key.empty() ? std::vector<std::string>{"source", "dest", "rel", "ts"}
                                   : key == "SRD" ? std::vector<std::string>{"source", "rel", "dest", "ts"}
                                   : key == "DRS" ? std::vector<std::string>{"dest", "rel", "source", "ts"}
                                                  : std::vector<std::string>{"rel", "dest", "source", "ts"};
  auto make_item = [order](const LinkRow& r) {
    Value item = Value::Object();
    for (const auto& k : order) {
      if (k == "source") item.Set(k, Value::String(r.source));
      else if (k == "dest") item.Set(k, Value::String(r.dest));
      else if (k == "ts") item.Set(k, Value::Number(r.received));
      else {
        auto rel = json::Parse(r.rel2, {.wtf8_input = true});
        item.Set(k, rel.ok() ? std::move(rel).value() : Value());
      }
    }
    return item;
  };
  Context c = ctx;
  auto state = std::make_shared<std::pair<std::optional<LinkPosition>, int64_t>>();
  auto old_page = PinnedOldPages(ctx, lq, state,
      [c, make_item](const LinksQuery& r, std::vector<Value>* items, size_t* rows) {
        return c.store->Links(r, [&](const LinkRow& row) {
          ++*rows;
          items->push_back(make_item(row));
          return true;
        });
      });
  auto live_state = std::make_shared<std::optional<LinkPosition>>();
  auto live_page = [c, lq, state, live_state, make_item](size_t max, bool, std::vector<Value>* items) mutable
      -> Result<bool> {
    LinksQuery r = lq;
    r.log_order = true;
    r.reverse = false;
    r.min_log_seq = state->second;
    r.after = *live_state;
    r.limit = std::max<size_t>(max, 1);
    size_t rows = 0;
    auto pos = c.store->Links(r, [&](const LinkRow& row) {
      ++rows;
      items->push_back(make_item(row));
      return true;
    });
    if (!pos.ok()) return pos.status();
    if (*pos) *live_state = **pos;
    return rows == r.limit;
  };
  if (!o->live.old) {
    auto pin = ctx.store->LastLogSeq();
    if (!pin.ok()) return pin.status();
    state->second = *pin;
  }
  return SourcePtr(new MfrSource(std::move(q).value(), old_page, live_page, o->live, o->limit));
}

}  // namespace ssb::view
