// The log, as ssb-db 20 serves it: publish, add, get, del, the message streams (views over the
// store, ssb/db_view.h), latest, links, createWriteStream, createSequenceStream,
// getVectorClock, getLatest, latestSequence, getFeedState, rebuild.
//
// Every value goes out exactly as it was signed (a private message's content is its box
// string) unless the caller asks for `private: true` (get, streams) or `meta` (get).
#include "ssb/box.h"
#include "ssb/feed_ops.h"
#include "ssb/ingest.h"
#include "ssb/ref.h"
#include "support.h"

namespace ssb {

namespace {

// createSequenceStream: the log position now (-1 for an empty log), then each new one.
class SequenceSource : public view::Source {
 public:
  explicit SequenceSource(Store& store) : store_(store) {}
  Result<State> Next(size_t, std::vector<std::string>* out) override {
    auto now = store_.LastLogSeq();
    if (!now.ok()) return now.status();
    int64_t v = *now == 0 ? -1 : *now;
    if (!sent_ || v != last_) {
      out->push_back(json::NumberToString(static_cast<double>(v)));
      ++produced_;
      sent_ = true;
      last_ = v;
    }
    return State::kLive;
  }

 private:
  Store& store_;
  bool sent_ = false;
  int64_t last_ = 0;
};

// A feed id argument of getLatest & co: the id itself.
Result<std::string> FeedArg(const Value& args) {
  std::string id = api::IdArg(Arg(args, 0));
  if (!IsFeedId(id, true)) return Status::InvalidArgument("not a feed id: " + id);
  return id;
}

// Stores one message value (or {key, value}) signed elsewhere, through the ingest stage on this
// thread (decrypted for us when we can read it); tells the replicator. Returns it as ssb-server's
// add does: {key, value, timestamp}, the value as signed.
Result<Value> AddOne(ApiParts& parts, const Value& a) {
  NodeContext& n = parts.node;
  const Value* value = a.is_object() && a.Find("value") && !a.Find("author") ? a.Find("value") : &a;
  IngestOptions iopt;
  iopt.validate = n.validate;
  iopt.reader = &n.keys;
  iopt.unwrap_kvt = false;  // unwrapped above, as ssb-server's add does
  IngestBatch batch;
  IngestRecord& r = batch.Add(*value);
  IngestChecker(iopt).CheckRecord(r);
  IngestWriter writer(*n.store, iopt);
  writer.AddHook([&parts](const std::vector<const PreparedMessage*>& stored) {
    parts.replicator.OnAppended(stored);
  });
  SSB_RETURN_IF_ERROR(writer.Append(batch));
  if (r.outcome.kind == AppendKind::kRejected) return r.outcome.status;
  return KvtOf(r.message->msg, r.outcome.received);
}

}  // namespace

void RegisterDbApi(ApiParts& parts) {
  rpc::Api& api = parts.api;
  NodeContext& node = parts.node;
  auto ctx = [&node] { return api::ViewContext(node); };

  // Anyone may read a feed's history (legacy replication), except feeds we block.
  api.AddStream(
      "createHistoryStream", CallType::kSource, Access::kAnyone,
      [&parts, ctx](CallContext& call, const Value& args, std::shared_ptr<Stream> s) -> awaitable<void> {
        std::string feed = view::StreamFeed(args);
        if (!call.peer.owner) {
          // Feeds we block, and feeds blocked from this peer (replicate.block), end at once.
          std::string peer = FeedIdFromKey(call.peer.id);
          if (parts.replicator.set().WeBlock(feed) || parts.replicator.ServeBlocked(feed, peer)) co_return;
        }
        auto src = view::CreateHistoryStream(ctx(), args);
        if (!src.ok()) {
          s->End(src.status());
          co_return;
        }
        co_await api::RunSource(parts, "createHistoryStream", std::move(src).value(), s);
      });
  struct Named {
    const char* name;
    Result<view::SourcePtr> (*open)(const view::Context&, const Value&);
  };
  for (const Named& m : {Named{"createLogStream", &view::CreateLogStream},
                         Named{"createFeedStream", &view::CreateFeedStream},
                         Named{"createUserStream", &view::CreateUserStream},
                         Named{"createRawLogStream", &view::CreateRawLogStream},
                         Named{"messagesByType", &view::MessagesByType},
                         Named{"latest", &view::Latest},
                         Named{"links", &view::Links}}) {
    api.AddStream(m.name, CallType::kSource, Access::kOwner,
                  api::SourceMethod(parts, m.name, [ctx, open = m.open](const Value& args) {
                    return open(ctx(), args);
                  }));
  }
  api.AddStream("createSequenceStream", CallType::kSource, Access::kOwner,
                api::SourceMethod(parts, "createSequenceStream", [&node](const Value&) -> Result<view::SourcePtr> {
                  return view::SourcePtr(new SequenceSource(*node.store));
                }));
  api.AddStream("createWriteStream", CallType::kSink, Access::kOwner,
                [&parts](CallContext&, const Value&, std::shared_ptr<Stream> s) -> awaitable<void> {
                  // As ssb-db: each message is queued; an invalid one is dropped, the rest go on.
                  for (;;) {
                    auto r = co_await s->Read();
                    if (!r.ok() || !*r) break;
                    auto v = json::Parse((*r)->body, {.max_depth = 64, .max_bytes = 1 << 20});
                    if (v.ok()) (void)AddOne(parts, *v);
                  }
                });
  api.AddAsync("publish", Access::kOwner,
               [&parts](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 co_return api::PublishAndAnnounce(parts, Arg(args, 0));
               });
  api.AddAsync("add", Access::kOwner,
               [&parts](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 co_return AddOne(parts, Arg(args, 0));
               });
  api.AddAsync("get", Access::kOwner,
               [ctx](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 auto text = view::Get(ctx(), Arg(args, 0));
                 if (!text.ok()) co_return text.status();
                 auto v = json::Parse(*text, {.wtf8_input = true});
                 if (!v.ok()) co_return v.status();
                 co_return std::move(v).value();
               });
  // del: a message, or every message of a feed (ssb-db: del(msgId | feedId)).
  api.AddAsync("del", Access::kOwner,
               [&node](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 const Value& a = Arg(args, 0);
                 std::string target = a.is_string() ? a.as_string() : "";
                 if (IsMsgId(target)) {
                   Status st = node.store->Delete(target);
                   if (!st.ok()) co_return st;
                   co_return api::Undefined();
                 }
                 if (IsFeedId(target, true)) {
                   auto keys = node.store->DeleteFeed(target);
                   if (!keys.ok()) co_return keys.status();
                   Value out = Value::Array();
                   for (auto& k : *keys) out.Push(Value::String(std::move(k)));
                   co_return out;
                 }
                 co_return Status::InvalidArgument("deletion target must be a message or feed");
               });
  api.AddAsync("getLatest", Access::kOwner,
               [&node](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 auto id = FeedArg(args);
                 if (!id.ok()) co_return id.status();
                 auto f = node.store->Feed(*id);
                 if (!f.ok()) co_return f.status();
                 if (!f->has_value()) co_return api::Undefined();
                 auto m = node.store->Get((*f)->key);
                 if (!m.ok()) co_return api::Undefined();  // deleted
                 Value out = Value::Object();
                 out.Set("key", Value::String(m->key));
                 out.Set("value", *json::Parse(m->value_json, {.wtf8_input = true}));
                 co_return out;
               });
  api.AddAsync("latestSequence", Access::kOwner,
               [&node](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 auto id = FeedArg(args);
                 if (!id.ok()) co_return id.status();
                 auto f = node.store->Feed(*id);
                 if (!f.ok()) co_return f.status();
                 if (!f->has_value()) co_return Status::NotFound("not found:" + *id);
                 co_return Value::Number(static_cast<double>((*f)->sequence));
               });
  api.AddAsync("getFeedState", Access::kOwner,
               [&node](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 auto id = FeedArg(args);
                 if (!id.ok()) co_return id.status();
                 auto f = node.store->Feed(*id);
                 if (!f.ok()) co_return f.status();
                 Value out = Value::Object();
                 out.Set("id", f->has_value() ? Value::String((*f)->key) : Value());
                 out.Set("sequence", Value::Number(f->has_value() ? static_cast<double>((*f)->sequence) : 0));
                 co_return out;
               });
  api.AddAsync("getVectorClock", Access::kOwner,
               [&node](CallContext&, const Value&) -> awaitable<Result<Value>> {
                 auto clock = node.store->Clock();
                 if (!clock.ok()) co_return clock.status();
                 Value out = Value::Object();
                 for (const auto& [feed, seq] : *clock) out.Set(feed, Value::Number(static_cast<double>(seq)));
                 co_return out;
               });
  // rebuild: what is derived from the log is kept up to date as it is written; what can be
  // redone is decrypting: private messages are decrypted again (after a key change, or for
  // ones stored without it) and their type and links indexed.
  api.AddAsync("rebuild", Access::kOwner,
               [&node](CallContext&, const Value&) -> awaitable<Result<Value>> {
                 auto n = view::DecryptStored(*node.store, node.keys, 0, /*only_undecrypted=*/false);
                 if (!n.ok()) co_return n.status();
                 co_return api::Undefined();
               });
}

}  // namespace ssb
