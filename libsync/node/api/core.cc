// secret-stack and ssb-server's own methods: manifest, address, auth, multiserver.parse and
// .address, whoami, version, help, progress, status.
#include "help.h"
#include "ssb/feed_ops.h"
#include "ssb/ref.h"
#include "support.h"

namespace ssb {

namespace {

// What `version` answers (ssb-server answers ssb-db's version; apps only show it).
constexpr const char* kVersion = "scuttlesync 0.1.0";

// The indexes ssb-server reports progress for; ours are written with each append, so they are
// always where the log is.
Value Progress(int64_t since) {
  Value range = Value::Object();
  for (const char* k : {"start", "current", "target"}) range.Set(k, Value::Number(static_cast<double>(since)));
  Value p = Value::Object();
  p.Set("indexes", range);
  p.Set("ooo", range);
  return p;
}

// A Buffer as JSON.stringify writes one.
Value BufferJson(std::span<const uint8_t> bytes) {
  Value b = Value::Object();
  b.Set("type", Value::String("Buffer"));
  Value data = Value::Array();
  for (uint8_t x : bytes) data.Push(Value::Number(x));
  b.Set("data", std::move(data));
  return b;
}

}  // namespace

void RegisterCoreApi(ApiParts& parts) {
  rpc::Api& api = parts.api;
  NodeContext& node = parts.node;
  api.AddSync("manifest", Access::kAnyone,
              [&api](CallContext&, const Value&) -> awaitable<Result<Value>> {
                co_return api.Manifest();
              });
  auto address = [&parts](CallContext&, const Value&) -> awaitable<Result<Value>> {
    co_return Value::String(parts.connections.Address());
  };
  api.AddSync("address", Access::kOwner, address);
  api.AddSync("multiserver.address", Access::kOwner, address);
  api.AddSync("multiserver.parse", Access::kOwner,
              [](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                const Value& a = Arg(args, 0);
                if (!a.is_string()) co_return Status::InvalidArgument("multiserver.parse takes an address");
                auto addrs = ParseMultiserver(a.as_string());
                if (!addrs.ok()) co_return addrs.status();
                // [[{name: "net", host, port}, {key: <Buffer>}], …] as multiserver parses it.
                Value out = Value::Array();
                for (const auto& x : *addrs) {
                  Value net = Value::Object();
                  net.Set("name", Value::String("net"));
                  net.Set("host", Value::String(x.host));
                  net.Set("port", Value::Number(x.port));
                  Value shs = Value::Object();
                  shs.Set("key", BufferJson(x.key));
                  Value one = Value::Array();
                  one.Push(std::move(net));
                  one.Push(std::move(shs));
                  out.Push(std::move(one));
                }
                co_return out;
              });
  // secret-stack's auth hook: whether a key may connect as something more than anonymous.
  // Nobody but our own key is (ssb-master), and that one never asks.
  api.AddAsync("auth", Access::kOwner,
               [](CallContext&, const Value&) -> awaitable<Result<Value>> { co_return Value::Bool(false); });
  api.AddSync("whoami", Access::kOwner,
              [&node](CallContext&, const Value&) -> awaitable<Result<Value>> {
                Value v = Value::Object();
                v.Set("id", Value::String(node.self_id));
                co_return v;
              });
  api.AddSync("version", Access::kOwner,
              [](CallContext&, const Value&) -> awaitable<Result<Value>> {
                co_return Value::String(kVersion);
              });
  api.AddSync("help", Access::kOwner,
              [](CallContext&, const Value&) -> awaitable<Result<Value>> { co_return api::DbHelp(); });
  api.AddSync("progress", Access::kOwner,
              [&node](CallContext&, const Value&) -> awaitable<Result<Value>> {
                auto since = node.store->LastLogSeq();
                if (!since.ok()) co_return since.status();
                co_return Progress(*since);
              });
  // ssb-server's status ({progress, sync, gossip, ooo}) with scuttlesync's summary of the store
  // and connections beside it (what `sbot status` prints).
  api.AddSync("status", Access::kOwner,
              [&parts](CallContext&, const Value&) -> awaitable<Result<Value>> {
                NodeContext& n = parts.node;
                auto since = n.store->LastLogSeq();
                if (!since.ok()) co_return since.status();
                auto st = StoreStatus(*n.store, n.self_id, n.config.data_dir);
                if (!st.ok()) co_return st.status();
                Value v = Value::Object();
                v.Set("progress", Progress(*since));
                Value plugins = Value::Object();
                for (const char* k : {"last", "keys", "clock", "time", "feed", "links", "contacts2",
                                      "query", "links2"}) {
                  plugins.Set(k, Value::Number(static_cast<double>(*since)));
                }
                Value sync = Value::Object();
                sync.Set("since", Value::Number(static_cast<double>(*since)));
                sync.Set("plugins", std::move(plugins));
                sync.Set("sync", Value::Bool(true));
                v.Set("sync", std::move(sync));
                Value gossip = Value::Object();
                Value conns = Value::Array();
                for (const auto& [c, p] : parts.connections.peers()) {
                  if (p->owner) continue;
                  auto summary = parts.replicator.Summary(c);
                  Value g = Value::Object();
                  g.Set("address", Value::String(p->address));
                  g.Set("source", Value::String(p->outgoing ? "manual" : "incoming"));
                  g.Set("state", Value::String("connected"));
                  g.Set("stateChange", Value::Number(p->connected_at));
                  g.Set("client", Value::Bool(p->outgoing));
                  g.Set("stats", Value::Object());
                  gossip.Set(p->id, std::move(g));
                  Value e = Value::Object();
                  e.Set("id", Value::String(p->id));
                  e.Set("address", Value::String(p->address));
                  e.Set("outgoing", Value::Bool(p->outgoing));
                  e.Set("received", Value::Number(static_cast<double>(summary.received)));
                  e.Set("replication", Value::String(summary.ebt ? "ebt" : "legacy"));
                  if (p->room) e.Set("room", Value::Bool(true));
                  conns.Push(std::move(e));
                }
                v.Set("gossip", std::move(gossip));
                v.Set("ooo", Value::Object());
                Value summary = std::move(st).value();
                for (size_t i = 0; i < summary.size(); ++i) v.Set(summary.keys()[i], summary.items()[i]);
                v.Set("address", Value::String(parts.connections.Address()));
                v.Set("replicating", Value::Number(static_cast<double>(parts.replicator.set().size())));
                v.Set("connections", std::move(conns));
                v.Set("rooms", parts.rooms.AttendedRooms());
                if (parts.rooms.serving()) v.Set("room", parts.rooms.ServingStatus());
                Value streams = Value::Array();
                for (const auto& os : parts.streams) {
                  Value e = Value::Object();
                  e.Set("method", Value::String(os.method));
                  e.Set("produced", Value::Number(static_cast<double>(os.source->produced())));
                  streams.Push(std::move(e));
                }
                v.Set("streams", std::move(streams));
                co_return v;
              });
}

}  // namespace ssb
