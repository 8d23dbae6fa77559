// invite.*: create, use, accept (ssb-invite 2.1.8's methods and answers).
#include "support.h"
#include "ssb/ref.h"

namespace ssb {

void RegisterInviteApi(ApiParts& parts) {
  rpc::Api& api = parts.api;
  api.AddAsync("invite.create", Access::kOwner,
               [&parts](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 auto code = parts.invites.Create(args);
                 if (!code.ok()) co_return code.status();
                 co_return Value::String(*code);
               });
  // Anyone may call it; only the guest key of one of our invites gets anything from it.
  api.AddAsync("invite.use", Access::kAnyone,
               [&parts](CallContext& ctx, const Value& args) -> awaitable<Result<Value>> {
                 const Value& req = Arg(args, 0);
                 std::string feed;
                 if (req.is_object()) (void)OptString(req, "feed", &feed);
                 if (!parts.invites.IsGuest(ctx.peer.id)) {
                   co_return Status::NotFound("invite.use: this key holds no invite here");
                 }
                 if (IsFeedId(feed, true) &&
                     parts.replicator.Edge(parts.node.self_id, feed) == ContactState::kFollow) {
                   co_return Status::InvalidArgument("already following");
                 }
                 auto used = parts.invites.Use(ctx.peer.id, feed);
                 if (!used.ok()) co_return used.status();
                 auto kvt = api::PublishAndAnnounce(parts, InviteUseFollow(feed, used->note));
                 if (!kvt.ok()) parts.invites.Unuse(ctx.peer.id);
                 co_return kvt;
               });
  api.AddAsync("invite.accept", Access::kOwner,
               [&parts](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 const Value& a = Arg(args, 0);
                 std::string text = a.is_string() ? a.as_string() : "";
                 if (a.is_object()) (void)OptString(a, "invite", &text);
                 auto code = co_await parts.invites.Redeem(text);
                 if (!code.ok()) co_return code.status();
                 // ssb-invite's accept publishes both, then adds the pub to gossip.
                 Value out = Value::Array();
                 for (Value content : {InviteAcceptFollow(code->pub.key), PubAnnouncement(code->pub)}) {
                   auto kvt = api::PublishAndAnnounce(parts, std::move(content));
                   if (!kvt.ok()) co_return kvt.status();
                   out.Push(std::move(kvt).value());
                 }
                 parts.invites.RememberPub(*code);
                 co_return out;
               });
}

}  // namespace ssb
