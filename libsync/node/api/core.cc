// manifest, whoami, status.
#include "support.h"
#include "ssb/feed_ops.h"

namespace ssb {

using asio::awaitable;
using json::Value;
using rpc::Access;
using rpc::CallContext;

void RegisterCoreApi(ApiParts& parts) {
  rpc::Api& api = parts.api;
  NodeContext& node = parts.node;
  api.AddAsync("manifest", Access::kAnyone,
               [&api](CallContext&, const Value&) -> awaitable<Result<Value>> {
                 co_return api.Manifest();
               });
  api.AddAsync("whoami", Access::kOwner,
               [&node](CallContext&, const Value&) -> awaitable<Result<Value>> {
                 Value v = Value::Object();
                 v.Set("id", Value::String(node.self_id));
                 co_return v;
               });
  api.AddAsync("status", Access::kOwner,
               [&parts](CallContext&, const Value&) -> awaitable<Result<Value>> {
                 NodeContext& n = parts.node;
                 auto st = StoreStatus(*n.store, n.self_id, n.config.data_dir);
                 if (!st.ok()) co_return st.status();
                 Value v = std::move(st).value();
                 v.Set("address", Value::String(parts.connections.Address()));
                 v.Set("replicating",
                       Value::Number(static_cast<double>(parts.replicator.set().size())));
                 Value conns = Value::Array();
                 for (const auto& [c, p] : parts.connections.peers()) {
                   if (p->owner) continue;
                   auto summary = parts.replicator.Summary(c);
                   Value e = Value::Object();
                   e.Set("id", Value::String(p->id));
                   e.Set("address", Value::String(p->address));
                   e.Set("outgoing", Value::Bool(p->outgoing));
                   e.Set("received", Value::Number(static_cast<double>(summary.received)));
                   e.Set("replication", Value::String(summary.ebt ? "ebt" : "legacy"));
                   if (p->room) e.Set("room", Value::Bool(true));
                   conns.Push(std::move(e));
                 }
                 v.Set("connections", std::move(conns));
                 v.Set("rooms", parts.rooms.AttendedRooms());
                 if (parts.rooms.serving()) v.Set("room", parts.rooms.ServingStatus());
                 co_return v;
               });
}

}  // namespace ssb
