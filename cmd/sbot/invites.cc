// `sbot invite.accept CODE` without a running server: redeem the code with the pub, publish
// what ssb-invite's accept publishes (our follow of the pub, the pub's address), and remember
// the pub in the peer database so that the next `sbot server` dials it. With a server running
// the verb goes through it instead (remote.cc), which does the same and dials at once.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <iostream>

#include "ssb/db_view.h"
#include "ssb/feed_ops.h"
#include "ssb/invite.h"
#include "ssb/invite_client.h"
#include "ssb/invite_store.h"
#include "ssb/node.h"
#include "ssb/peer_db.h"
#include "verbs.h"

namespace sbot {
namespace {

using ssb::json::Value;

// The code from `invite.accept CODE` or `invite.accept --invite CODE` (ssb-invite takes either
// the string or {invite}).
ssb::Result<std::string> CodeArg(const VerbArgs& args) {
  std::string code;
  SSB_RETURN_IF_ERROR(OptString(args.options, "invite", &code));
  if (code.empty() && args.positional.size() == 1) code = args.positional[0];
  if (code.empty() || args.positional.size() > 1) {
    return ssb::Status::InvalidArgument("give one invite code: invite.accept HOST:PORT:@KEY.ed25519~SEED");
  }
  return code;
}

}  // namespace

int InviteAccept(Context& ctx, const VerbArgs& args) {
  auto text = CodeArg(args);
  if (!text.ok()) return ctx.Fail(text.status());
  auto code = ssb::ParseInviteCode(*text);
  if (!code.ok()) return ctx.Fail(code.status());
  auto config = ssb::LoadNodeConfig(ctx.globals().path);
  if (!config.ok()) return ctx.Fail(config.status());
  auto keys = ctx.Identity();
  if (!keys.ok()) return ctx.Fail(keys.status());
  auto opt = ctx.ValidateOptions();
  if (!opt.ok()) return ctx.Fail(opt.status());

  // The pub follows us first; only then do we publish anything (as ssb-invite does).
  asio::io_context io;
  ssb::net::RedeemOptions ropt;
  ropt.network_key = config->network_key;
  ssb::Result<Value> answer = ssb::Status::IoError("not run");
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    answer = co_await ssb::net::RedeemInvite(*code, (*keys)->id(), ropt);
  }, asio::detached);
  io.run();
  if (!answer.ok()) return ctx.Fail(answer.status());

  auto store = ctx.Store();
  if (!store.ok()) return ctx.Fail(store.status());
  Value results = Value::Array();
  for (Value content : {ssb::InviteAcceptFollow(code->pub.key), ssb::PubAnnouncement(code->pub)}) {
    auto published = ssb::PublishContent(**store, **keys, std::move(content), *opt);
    if (!published.ok()) return ctx.Fail(published.status());
    results.Push(ssb::KvtOf(published->message.msg, published->stored.received));
  }

  // Remember the pub: `sbot server` dials it from the peer database.
  std::string path = ctx.globals().path + "/peers.json";
  std::string warning;
  auto db = ssb::PeerDb::Load(path, nullptr, &warning);
  if (!db.ok()) return ctx.Fail(db.status());
  ssb::DialAddress where;
  where.net = code->pub;
  auto added = db->Add(where, ssb::PeerSource::kInvite, static_cast<int64_t>(ssb::NowMs()),
                      (*keys)->public_key());
  if (added.ok()) (*added)->note = code->pub.host;
  if (auto st = db->Save(path); !st.ok()) return ctx.Fail(st);
  ctx.Print(results);
  return kExitOk;
}

}  // namespace sbot
