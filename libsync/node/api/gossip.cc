// gossip.* as ssb-gossip 1.1 serves them: peers, get, add, remove, connect, disconnect,
// changes, reconnect, enable, disable, ping, help. The addresses and connections are
// Connections'; these methods show and steer them.
#include "help.h"
#include "ssb/address.h"
#include "ssb/feed_ops.h"
#include "ssb/peer_db.h"
#include "ssb/ref.h"
#include "support.h"

namespace ssb {

namespace {

// A peer database entry as ssb-gossip lists its peers ({host, port, key, address, source,
// announcers, duration, state, stateChange, client, failure}), with the connection manager's
// fields beside them (type, note, nextTry, lastSuccess, lastError; rooms and tunnels).
Value PeerJson(const Connections& c, const PeerEntry& e) {
  std::string id = FeedIdFromKey(e.address.key());
  Value v = PeerDb::ToJson(e);
  v.Set("announcers", Value::Number(1));
  v.Set("duration", Value());
  if (auto p = c.PeerById(id)) {
    v.Set("state", Value::String("connected"));
    v.Set("stateChange", Value::Number(p->connected_at));
    v.Set("client", Value::Bool(p->outgoing));
  } else if (e.dialing) {
    v.Set("state", Value::String("connecting"));
  }
  return v;
}

// The entry of feed `id` in the peer database, or null.
const PeerEntry* EntryOf(const Connections& c, const std::string& id) {
  for (const auto& [label, e] : c.db().entries()) {
    if (FeedIdFromKey(e.address.key()) == id) return &e;
  }
  return nullptr;
}

// gossip.get / remove / disconnect name a peer by feed id, or {key}; ssb-gossip refuses a
// bare address ("must provide id").
Result<std::string> PeerIdArg(const Value& a) {
  if (a.is_string() && IsFeedId(a.as_string(), true)) return a.as_string();
  if (a.is_object()) {
    if (const Value* k = a.Find("key"); k && k->is_string() && IsFeedId(k->as_string(), true)) {
      return k->as_string();
    }
  }
  return Status::InvalidArgument("must provide id:" + json::Stringify(a));
}

// gossip.add's address: a multiserver address or {host, port, key}.
Result<NetShsAddress> AddressArg(const Value& a) {
  if (a.is_string()) {
    auto addrs = ParseMultiserver(a.as_string());
    if (!addrs.ok()) return addrs.status();
    return addrs->front();
  }
  if (a.is_object()) {
    if (const Value* addr = a.Find("address"); addr && addr->is_string()) return AddressArg(*addr);
    std::string host, key;
    int64_t port = 0;
    if (OptString(a, "host", &host).ok() && OptString(a, "key", &key).ok() &&
        OptInt(a, "port", &port).ok() && port > 0 && port < 65536) {
      if (auto pk = ParseFeedId(key)) return NetShsAddress{host, static_cast<uint16_t>(port), *pk};
    }
  }
  return Status::InvalidArgument("not a valid address:" + json::Stringify(a));
}

// gossip.changes: events from now on.
class ChangesSource : public view::Source {
 public:
  explicit ChangesSource(ApiParts& parts) : parts_(parts), next_(parts.gossip_change_count) {}
  Result<State> Next(size_t, std::vector<std::string>* out) override {
    for (const auto& [n, change] : parts_.gossip_changes) {
      if (n < next_) continue;
      out->push_back(json::Stringify(change));
      ++produced_;
      next_ = n + 1;
    }
    return State::kLive;
  }

 private:
  ApiParts& parts_;
  uint64_t next_;
};

}  // namespace

void GossipChange(ApiParts& parts, const std::string& type, json::Value peer,
                  const std::string& source) {
  Value c = Value::Object();
  c.Set("type", Value::String(type));
  c.Set("peer", std::move(peer));
  if (!source.empty()) c.Set("source", Value::String(source));
  parts.gossip_changes.emplace_back(parts.gossip_change_count++, std::move(c));
  while (parts.gossip_changes.size() > 1000) parts.gossip_changes.pop_front();
  parts.node.new_messages.Notify();
}

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
  api.AddSync("gossip.peers", Access::kOwner,
              [&connections](CallContext&, const Value&) -> awaitable<Result<Value>> {
                Value out = Value::Array();
                for (const auto& [label, e] : connections.db().entries()) out.Push(PeerJson(connections, e));
                co_return out;
              });
  api.AddSync("gossip.get", Access::kOwner,
              [&connections](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                auto id = PeerIdArg(Arg(args, 0));
                if (!id.ok()) co_return id.status();
                if (const PeerEntry* e = EntryOf(connections, *id)) co_return PeerJson(connections, *e);
                co_return api::Undefined();
              });
  api.AddSync("gossip.add", Access::kOwner,
              [&parts, &connections](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                auto addr = AddressArg(Arg(args, 0));
                if (!addr.ok()) co_return addr.status();
                if (addr->key == parts.node.keys.public_key()) co_return api::Undefined();
                std::string source = Arg(args, 1).is_string() ? Arg(args, 1).as_string() : "manual";
                // Sources the peer database keeps; anything else an app names is the owner's.
                PeerSource from = PeerSourceFromName(source).value_or(PeerSource::kManual);
                if (from == PeerSource::kLan || from == PeerSource::kRoom) from = PeerSource::kManual;
                bool fresh = connections.AddGossip(*addr, from);
                const PeerEntry* e = connections.db().Find(FormatAddress(*addr));
                if (!e) co_return api::Undefined();
                Value peer = PeerJson(connections, *e);
                if (fresh) GossipChange(parts, "discover", peer, source);
                co_return peer;
              });
  api.AddSync("gossip.remove", Access::kOwner,
              [&parts, &connections](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                auto id = PeerIdArg(Arg(args, 0));
                if (!id.ok()) co_return id.status();
                std::optional<Value> peer;
                if (const PeerEntry* e = EntryOf(connections, *id)) peer = PeerJson(connections, *e);
                if (connections.RemoveGossip(*id) > 0 && peer) GossipChange(parts, "remove", *peer);
                co_return api::Undefined();
              });
  api.AddAsync("gossip.connect", Access::kOwner,
               [&parts, &connections](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 const Value& a = Arg(args, 0);
                 Result<DialAddress> addr = Status::InvalidArgument("");
                 if (a.is_string() && IsFeedId(a.as_string(), true)) {
                   // A known peer by its id.
                   addr = Status::InvalidArgument("no known address for peer:" + a.as_string());
                   if (const PeerEntry* e = EntryOf(connections, a.as_string())) addr = e->address;
                 } else if (a.is_string()) {
                   // A multiserver address, or a tunnel through a room.
                   addr = ParseDialAddress(a.as_string());
                 } else {
                   auto net = AddressArg(a);
                   if (net.ok()) {
                     DialAddress d;
                     d.net = *net;
                     addr = d;
                   } else {
                     addr = net.status();
                   }
                 }
                 if (!addr.ok()) co_return addr.status();
                 auto peer = co_await connections.Connect(*addr);
                 if (const PeerEntry* e = connections.db().Find(FormatDialAddress(*addr))) {
                   GossipChange(parts, peer.ok() ? "connect" : "connect-failure", PeerJson(connections, *e));
                 }
                 if (!peer.ok()) co_return peer.status();
                 Value v = Value::Object();
                 v.Set("id", Value::String((*peer)->id));
                 v.Set("address", Value::String(FormatDialAddress(*addr)));
                 co_return v;
               });
  api.AddAsync("gossip.disconnect", Access::kOwner,
               [&connections](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 auto id = PeerIdArg(Arg(args, 0));
                 if (!id.ok()) co_return id.status();
                 connections.Disconnect(*id);
                 co_return api::Undefined();
               });
  api.AddStream("gossip.changes", CallType::kSource, Access::kOwner,
                api::SourceMethod(parts, "gossip.changes", [&parts](const Value&) -> Result<view::SourcePtr> {
                  return view::SourcePtr(new ChangesSource(parts));
                }));
  api.AddSync("gossip.reconnect", Access::kOwner,
              [&connections](CallContext&, const Value&) -> awaitable<Result<Value>> {
                connections.Reconnect();
                co_return Value::Number(NowMs());
              });
  // enable/disable("global"): dial the gossip table or not (kept until the server stops;
  // "local" is LAN discovery, which follows the config's lan setting).
  for (bool on : {true, false}) {
    api.AddSync(on ? "gossip.enable" : "gossip.disable", Access::kOwner,
                [&connections, on](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                  std::string type = Arg(args, 0).is_string() ? Arg(args, 0).as_string() : "global";
                  if (type == "global") connections.SetDialing(on);
                  co_return Value::String(std::string(on ? "enabled" : "disabled") + " gossip type " + type);
                });
  }
  api.AddSync("gossip.help", Access::kOwner,
              [](CallContext&, const Value&) -> awaitable<Result<Value>> { co_return api::GossipHelp(); });
}

}  // namespace ssb
