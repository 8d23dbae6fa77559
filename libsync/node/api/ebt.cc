// ebt.* as ssb-ebt 5.6 serves them: replicate (the session, PROTOCOL.md §5.2), request, block,
// peerStatus.
#include "ssb/ref.h"
#include "support.h"

namespace ssb {

void RegisterEbtApi(ApiParts& parts) {
  rpc::Api& api = parts.api;
  if (parts.node.config.ebt) {
    // Anyone may ask, as ssb-ebt allows; version 3 and the classic feed format only. Without
    // it a peer gets "no duplex:ebt,replicate" and falls back to legacy replication.
    api.AddStream(
        "ebt.replicate", CallType::kDuplex, Access::kAnyone,
        [&parts](CallContext& ctx, const Value& args, std::shared_ptr<Stream> s) -> awaitable<void> {
          Value o = Opts(args);
          const Value* version = o.Find("version");
          const Value* format = o.Find("format");
          if (!version || !version->is_number() || version->as_number() != 3) {
            s->End(Status::InvalidArgument("expected ebt.replicate({version: 3})"));
            co_return;
          }
          if (format && !(format->is_string() && format->as_string() == "classic")) {
            s->End(Status::Unsupported("ebt.replicate: only the classic feed format"));
            co_return;
          }
          co_await parts.replicator.ServeEbt(ctx.conn.get(), s);
        });
  }
  // ebt.request(id, replicate): as replicate.request (one replication set serves both).
  api.AddSync("ebt.request", Access::kOwner,
              [&parts](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                std::string id = api::IdArg(Arg(args, 0));
                if (!IsFeedId(id, true)) co_return Status::InvalidArgument("not a feed id: " + id);
                parts.replicator.Request(id, !api::IsFalse(&Arg(args, 1)));
                co_return api::Undefined();
              });
  api.AddSync("ebt.block", Access::kOwner,
              [&parts](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                const Value &from = Arg(args, 0), &to = Arg(args, 1);
                if (!from.is_string() || !to.is_string() || !IsFeedId(to.as_string(), true)) {
                  co_return Status::InvalidArgument("ebt.block(from, to, blocking) takes two feed ids");
                }
                parts.replicator.Block(from.as_string(), to.as_string(), !api::IsFalse(&Arg(args, 2)));
                co_return api::Undefined();
              });
  // ebt.peerStatus(id): {id, seq (ours), peers: {peer: {seq, replicating}}} for the feed.
  api.AddSync("ebt.peerStatus", Access::kOwner,
              [&parts](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                std::string id = api::IdArg(Arg(args, 0));
                if (!IsFeedId(id, true)) co_return Status::InvalidArgument("not a feed id: " + id);
                auto f = parts.node.store->Feed(id);
                if (!f.ok()) co_return f.status();
                Value out = Value::Object();
                out.Set("id", Value::String(id));
                out.Set("seq", f->has_value() ? Value::Number(static_cast<double>((*f)->sequence)) : Value());
                out.Set("peers", parts.replicator.EbtPeerStatus(id));
                co_return out;
              });
}

}  // namespace ssb
