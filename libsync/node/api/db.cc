// The log, as ssb-db serves it: publish, add, get, createHistoryStream, createFeedStream,
// createLogStream, messagesByType.
#include "support.h"
#include "ssb/feed_ops.h"

namespace ssb {

using api::Arg;
using api::Opts;
using asio::awaitable;
using json::Value;
using rpc::Access;
using rpc::CallContext;
using rpc::CallType;
using rpc::Stream;

namespace {

using RangeFn = Status (Store::*)(const RangeQuery&, const MessageVisitor&);

// createFeedStream / createLogStream: a range of the whole log.
rpc::StreamHandler Range(NodeContext& node, RangeFn fn) {
  return [&node, fn](CallContext&, const Value& args, std::shared_ptr<Stream> s) -> awaitable<void> {
    RangeQuery q;
    MessageFormat f;
    Value o = Opts(args);
    Status st = ReadRangeArgs(o, &q);
    if (st.ok()) st = ReadMessageFormat(o, &f);
    if (!st.ok()) {
      s->End(st);
      co_return;
    }
    st = ((*node.store).*fn)(q, [&](const StoredMessage& m) {
      s->WriteJsonText(FormatMessage(m, f));
      return !s->closed();
    });
    if (!st.ok()) s->End(st);
  };
}

}  // namespace

void RegisterDbApi(ApiParts& parts) {
  rpc::Api& api = parts.api;
  NodeContext& node = parts.node;
  api.AddStream("createHistoryStream", CallType::kSource, Access::kAnyone,
                [&parts](CallContext& ctx, const Value& args, std::shared_ptr<Stream> s) -> awaitable<void> {
                  HistoryArgs h;
                  if (Status st = ReadHistoryArgs(Opts(args), &h); !st.ok()) {
                    s->End(st);
                    co_return;
                  }
                  co_await parts.replicator.ServeHistory(s, std::move(h), !ctx.peer.owner);
                });
  api.AddAsync("publish", Access::kOwner,
               [&parts](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 co_return api::PublishAndAnnounce(parts, Arg(args, 0));
               });
  api.AddAsync("add", Access::kOwner,
               [&parts](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 NodeContext& n = parts.node;
                 const Value& a = Arg(args, 0);
                 const Value* value = a.is_object() && a.Find("value") && a.Find("key") ? a.Find("value") : &a;
                 Message msg = Message::FromValue(*value);
                 AppendOptions aopt;
                 aopt.validate = n.validate;
                 auto out = n.store->Append(msg, aopt);
                 if (!out.ok()) co_return out.status();
                 if (out->kind == AppendKind::kAppended) parts.replicator.OnAppended({msg});
                 auto stored = n.store->Get(msg.id());
                 if (!stored.ok()) co_return stored.status();
                 co_return api::StoredToKvt(*stored);
               });
  api.AddAsync("get", Access::kOwner,
               [&node](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 const Value& a = Arg(args, 0);
                 std::string id = a.is_string() ? a.as_string() : "";
                 if (a.is_object()) (void)OptString(a, "id", &id);
                 auto m = node.store->Get(id);
                 if (!m.ok()) co_return m.status();
                 auto v = json::Parse(FormatMessage(*m, MessageFormat{.keys = false}));
                 if (!v.ok()) co_return v.status();
                 co_return std::move(v).value();
               });
  api.AddStream("createFeedStream", CallType::kSource, Access::kOwner, Range(node, &Store::FeedStream));
  api.AddStream("createLogStream", CallType::kSource, Access::kOwner, Range(node, &Store::LogStream));
  api.AddStream("messagesByType", CallType::kSource, Access::kOwner,
                [&node](CallContext&, const Value& args, std::shared_ptr<Stream> s) -> awaitable<void> {
                  RangeQuery q;
                  MessageFormat f;
                  Value o = Opts(args);
                  std::string type = Arg(args, 0).is_string() ? Arg(args, 0).as_string() : "";
                  Status st = OptString(o, "type", &type);
                  if (st.ok()) st = ReadRangeArgs(o, &q);
                  if (st.ok()) st = ReadMessageFormat(o, &f);
                  if (st.ok() && type.empty()) st = Status::InvalidArgument("messagesByType needs a type");
                  if (st.ok()) {
                    st = node.store->ByType(type, q, [&](const StoredMessage& m) {
                      s->WriteJsonText(FormatMessage(m, f));
                      return !s->closed();
                    });
                  }
                  if (!st.ok()) s->End(st);
                  co_return;
                });
}

}  // namespace ssb
