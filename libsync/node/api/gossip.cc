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
                 for (const auto& [label, e] : connections.gossip()) {
                   std::string id = FeedIdFromKey(e.address.key);
                   Value v = Value::Object();
                   v.Set("address", Value::String(label));
                   v.Set("key", Value::String(id));
                   v.Set("source", Value::String(e.source));
                   v.Set("state", Value::String(connections.IsConnected(id) ? "connected"
                                                : e.connecting ? "connecting" : "disconnected"));
                   v.Set("failure", Value::Number(e.failures));
                   out.Push(std::move(v));
                 }
                 co_return out;
               });
  api.AddAsync("gossip.connect", Access::kOwner,
               [&connections](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 const Value& a = Arg(args, 0);
                 std::string text = a.is_string() ? a.as_string() : "";
                 if (a.is_object()) (void)OptString(a, "address", &text);
                 auto addrs = ParseMultiserver(text);
                 if (!addrs.ok()) co_return addrs.status();
                 const NetShsAddress& addr = addrs->front();
                 Status st = co_await connections.Connect(addr);
                 if (!st.ok()) co_return st;
                 Value v = Value::Object();
                 v.Set("id", Value::String(FeedIdFromKey(addr.key)));
                 v.Set("address", Value::String(FormatAddress(addr)));
                 co_return v;
               });
}

}  // namespace ssb
