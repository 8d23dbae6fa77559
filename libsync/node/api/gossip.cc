// gossip.*: ping, peers, connect.
#include "support.h"
#include "ssb/feed_ops.h"
#include "ssb/ref.h"

namespace ssb {

using api::Arg;
using asio::awaitable;
using json::Value;
using rpc::Access;
using rpc::CallContext;
using rpc::CallType;
using rpc::Stream;

void RegisterGossipApi(ApiParts& parts) {
  rpc::Api& api = parts.api;
  Connections& connections = parts.connections;
  api.AddStream("gossip.ping", CallType::kDuplex, Access::kAnyone,
                [](CallContext&, const Value&, std::shared_ptr<Stream> s) -> awaitable<void> {
                  // Answer every timestamp with ours (pull-ping); the caller paces the volleys.
                  for (;;) {
                    auto r = co_await s->Read();
                    if (!r.ok() || !*r) break;
                    s->WriteJson(Value::Number(NowMs()));
                  }
                });
  api.AddAsync("gossip.peers", Access::kOwner,
               [&connections](CallContext&, const Value&) -> awaitable<Result<Value>> {
                 Value out = Value::Array();
                 for (const auto& [address, e] : connections.db().entries()) {
                   Value v = PeerDb::ToJson(e);
                   auto peer = connections.PeerById(FeedIdFromKey(e.address.key()));
                   v.Set("state", Value::String(peer ? "connected"
                                                : e.dialing ? "connecting" : "disconnected"));
                   out.Push(std::move(v));
                 }
                 co_return out;
               });
  api.AddAsync("gossip.connect", Access::kOwner,
               [&connections](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 const Value& a = Arg(args, 0);
                 std::string text = a.is_string() ? a.as_string() : "";
                 if (a.is_object()) (void)OptString(a, "address", &text);
                 auto addr = ParseDialAddress(text);
                 if (!addr.ok()) co_return addr.status();
                 auto peer = co_await connections.Connect(*addr);
                 if (!peer.ok()) co_return peer.status();
                 Value v = Value::Object();
                 v.Set("id", Value::String((*peer)->id));
                 v.Set("address", Value::String(FormatDialAddress(*addr)));
                 co_return v;
               });
}

}  // namespace ssb
