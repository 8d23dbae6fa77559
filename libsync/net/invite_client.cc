// Redeeming a pub invite (ssb-invite 2.1.8 accept: createClient with the seed's key, then
// rpc.invite.use({feed})).
#include "ssb/invite_client.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "ssb/muxrpc.h"
#include "ssb/net.h"

namespace ssb::net {
namespace {

constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);
const std::vector<std::string> kInviteUse = {"invite", "use"};

}  // namespace

asio::awaitable<Result<json::Value>> RedeemInvite(const InviteCode& code, const std::string& feed,
                                                  const RedeemOptions& options) {
  auto ex = co_await asio::this_coro::executor;
  Keypair guest = code.GuestKeys();
  HandshakeOptions hopt;
  hopt.network_key = options.network_key;
  hopt.timeout = options.handshake_timeout;
  Result<SecureConnection> sc = Status::IoError("no attempt");
  for (int attempt = 1; attempt <= std::max(1, options.attempts); ++attempt) {
    sc = co_await DialNetShs(code.pub, guest, hopt, options.connect_timeout);
    if (sc.ok() || sc.status().code() != Code::kIoError || attempt == options.attempts) break;
    asio::steady_timer pause(ex, std::chrono::milliseconds(500 * attempt));
    co_await pause.async_wait(kNoThrow);
  }
  if (!sc.ok()) {
    co_return Status(sc.status().code(), "could not connect to the pub: " + sc.status().message());
  }
  rpc::PeerInfo info;
  info.id = sc->peer;
  auto conn = std::make_shared<rpc::Connection>(ex, std::move(sc->transport), nullptr, info);
  asio::co_spawn(ex, [conn]() -> asio::awaitable<void> { (void)co_await conn->Run(); },
                 asio::detached);
  // The answer must come in time: a pub that accepts and then says nothing is not waited on.
  auto guard = std::make_shared<asio::steady_timer>(ex, options.call_timeout);
  auto timed_out = std::make_shared<bool>(false);
  guard->async_wait([conn, timed_out](const asio::error_code& ec) {
    if (ec) return;
    *timed_out = true;
    conn->Abort(Status::IoError("the pub did not answer invite.use in time"));
  });
  json::Value req = json::Value::Object();
  req.Set("feed", json::Value::String(feed));
  json::Value args = json::Value::Array();
  args.Push(std::move(req));
  auto answer = co_await conn->Call(kInviteUse, std::move(args));
  guard->cancel();
  conn->Close();
  if (!answer.ok()) {
    if (*timed_out) co_return Status::IoError("the pub did not answer invite.use in time");
    if (answer.status().message() == "connection closed") {
      co_return Status::IoError("the pub closed the connection before answering invite.use");
    }
    const std::string& why = answer.status().message();
    if (why.find("not in list of allowed methods") != std::string::npos) {
      // ssb-invite lets a guest key call invite.use only while its code has uses left.
      co_return Status::PermissionDenied(
          "invite not accepted: the pub does not honour this code (used up, expired, or not one "
          "of its codes): " + why);
    }
    co_return Status::PermissionDenied("invite not accepted: " + why);
  }
  co_return answer;
}

}  // namespace ssb::net
