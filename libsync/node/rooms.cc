// Rooms of a running node, both sides (rooms.h; PROTOCOL.md §6 "Rooms").
#include "rooms.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include "ssb/feed_ops.h"
#include "ssb/ref.h"

namespace ssb {
namespace {

using asio::awaitable;
using json::Value;

const std::vector<std::string> kRoomMetadata = {"room", "metadata"};
const std::vector<std::string> kTunnelIsRoom = {"tunnel", "isRoom"};
const std::vector<std::string> kRoomAttendants = {"room", "attendants"};
const std::vector<std::string> kTunnelEndpoints = {"tunnel", "endpoints"};
const std::vector<std::string> kTunnelConnect = {"tunnel", "connect"};

constexpr size_t kMaxAttendantsFollowed = 1000;  // per room we attend
constexpr size_t kMaxQueuedEvents = 1000;        // per subscriber that reads too slowly
constexpr size_t kMaxSubscriptionsPerPeer = 4;   // attendants/endpoints streams per connection
constexpr size_t kRelayPacket = 64 * 1024;

int64_t Now() { return static_cast<int64_t>(NowMs()); }

}  // namespace

struct Rooms::Attended {
  Attended(std::shared_ptr<Peer> p, const PublicKey& self, std::string n)
      : peer(std::move(p)), name(std::move(n)), attendants(self, peer->key, kMaxAttendantsFollowed) {}
  std::shared_ptr<Peer> peer;
  std::string name;
  RoomAttendants attendants;
  size_t bad_updates = 0;
};

struct Rooms::Subscriber {
  explicit Subscriber(const asio::any_io_executor& ex) : signal(ex) {}
  std::shared_ptr<Peer> peer;
  bool events = false;           // room.attendants (events) or tunnel.endpoints (lists)
  std::deque<Value> queue;       // events not yet written
  bool changed = false;          // endpoints: the list changed since we last wrote it
  bool overflow = false;
  rpc::Signal signal;
};

Rooms::Rooms(NodeContext& node, Connections& connections)
    : node_(node), connections_(connections) {
  if (node_.config.room) state_.emplace(node_.keys.public_key(), node_.config.room_limits);
}

// ---- client

void Rooms::PeerConnected(const std::shared_ptr<Peer>& peer) {
  // ssb-room-client asks every peer; we ask those we dialed over TCP: rooms do not dial us,
  // and a room is never reached through another room.
  if (peer->owner || peer->guest || peer->tunnel || !peer->outgoing) return;
  asio::co_spawn(node_.io, Probe(peer), asio::detached);
}

awaitable<void> Rooms::Probe(std::shared_ptr<Peer> peer) {
  if (auto it = attended_.find(peer->key); it != attended_.end() && it->second->peer == peer) {
    co_return;  // probed already
  }
  auto wake = [&] {
    if (auto it = joined_.find(peer->key); it != joined_.end()) it->second->Notify();
  };
  Result<RoomMetadata> meta = Status::NotFound("not a room");
  auto r = co_await peer->conn->Call(kRoomMetadata, Value::Array());
  if (r.ok()) {
    meta = ParseRoomMetadata(*r);
  } else if (IsMissingMethodError(r.status().message())) {
    // ssb-room 1.3.0 has no room.metadata: ask the rooms 1.0 way.
    auto r1 = co_await peer->conn->Call(kTunnelIsRoom, Value::Array());
    if (r1.ok()) meta = ParseIsRoom(*r1);
  }
  if (!meta.ok() || peer->conn->closed()) {
    wake();
    co_return;
  }
  peer->room = true;
  std::string name = meta->name;
  if (!peer->dialed.empty()) {
    connections_.db().MarkRoom(peer->dialed, name);
    connections_.Changed();
  }
  auto a = std::make_shared<Attended>(peer, node_.keys.public_key(), name);
  attended_[peer->key] = a;
  node_.Log("attending room " + peer->id + (name.empty() ? "" : " (" + name + ")"));
  wake();
  co_await Follow(peer, a);
}

awaitable<void> Rooms::Follow(std::shared_ptr<Peer> peer, std::shared_ptr<Attended> a) {
  // Rooms 2.0 first (subscribing makes us an attendant), then ssb-room 1.3.0's endpoints.
  bool events = true;
  auto s = peer->conn->Open(rpc::CallType::kSource, kRoomAttendants, Value::Array());
  for (;;) {
    auto r = co_await s->Read();
    if (!r.ok()) {
      if (events && IsMissingMethodError(r.status().message()) && !peer->conn->closed()) {
        events = false;
        s = peer->conn->Open(rpc::CallType::kSource, kTunnelEndpoints, Value::Array());
        continue;
      }
      if (!peer->conn->closed()) {
        node_.Log("room " + peer->id + " ended its attendant list: " + r.status().message());
      }
      break;
    }
    if (!*r) break;
    json::ParseOptions opt;
    opt.max_depth = 8;
    auto v = json::Parse((*r)->body, opt);
    if (!v.ok()) {
      ApplyChange(*a, Status::InvalidInput("room: an update that is not JSON"));
      continue;
    }
    ApplyChange(*a, events ? a->attendants.ApplyEvent(*v) : a->attendants.ApplyEndpoints(*v));
  }
}

void Rooms::ApplyChange(Attended& a, const Result<RoomAttendants::Change>& change) {
  const PublicKey& room = a.peer->key;
  auto remember = [&](const PublicKey& id) {
    DialAddress d;
    d.kind = DialAddress::Kind::kTunnel;
    d.tunnel = {room, id};
    connections_.Remember(d, PeerSource::kRoom, a.name);
  };
  if (change.ok()) {
    for (const PublicKey& id : change->joined) remember(id);
    if (!change->left.empty()) connections_.db().RetainAttendants(room, a.attendants.ids());
    return;
  }
  // A room that lies: keep what we follow within bounds and say so, without flooding the log.
  ++a.bad_updates;
  if ((a.bad_updates & (a.bad_updates - 1)) == 0) {
    node_.Log("room " + a.peer->id + ": " + change.status().message() + " (" +
              std::to_string(a.bad_updates) + " bad attendants updates)");
  }
  connections_.db().RetainAttendants(room, a.attendants.ids());
  for (const PublicKey& id : a.attendants.ids()) remember(id);
}

void Rooms::PeerGone(const std::shared_ptr<Peer>& peer) {
  if (auto it = attended_.find(peer->key); it != attended_.end() && it->second->peer == peer) {
    connections_.db().RetainAttendants(peer->key, {});
    attended_.erase(it);
    node_.Log("left room " + peer->id);
  }
  if (state_ && state_->Leave(peer->key, peer->serial)) Broadcast(peer->key, false);
}

awaitable<Result<Value>> Rooms::Join(const DialAddress& address) {
  if (address.kind != DialAddress::Kind::kNet) {
    co_return Status::InvalidArgument("a room is joined at its net:HOST:PORT~shs:KEY address");
  }
  auto signal = std::make_shared<rpc::Signal>(node_.io.get_executor());
  joined_[address.key()] = signal;
  auto peer = co_await connections_.Connect(address, PeerSource::kManual);
  if (peer.ok() && !(*peer)->room) {
    // Not asked yet (it dialed us first): ask now. Else the probe under way will answer.
    if (!(*peer)->outgoing) asio::co_spawn(node_.io, Probe(*peer), asio::detached);
    for (int i = 0; i < 20 && !(*peer)->room && !(*peer)->conn->closed(); ++i) {
      co_await signal->WaitFor(std::chrono::milliseconds(500));
    }
  }
  joined_.erase(address.key());
  if (!peer.ok()) co_return peer.status();
  std::string label = FormatDialAddress(address);
  if (!(*peer)->room) {
    co_return Status::Unsupported(label + " is not a room (it answered neither room.metadata "
                                  "nor tunnel.isRoom)");
  }
  std::string name;
  if (auto it = attended_.find(address.key()); it != attended_.end()) name = it->second->name;
  connections_.db().MarkRoom(label, name);
  connections_.Changed();
  Value v = Value::Object();
  v.Set("id", Value::String((*peer)->id));
  v.Set("address", Value::String(label));
  v.Set("name", Value::String(name));
  co_return v;
}

Value Rooms::AttendedRooms() const {
  Value out = Value::Array();
  for (const auto& [key, a] : attended_) {
    Value v = Value::Object();
    v.Set("id", Value::String(a->peer->id));
    v.Set("address", Value::String(a->peer->dialed.empty() ? a->peer->address : a->peer->dialed));
    v.Set("name", Value::String(a->name));
    v.Set("attendants", Value::Number(static_cast<double>(a->attendants.ids().size())));
    out.Push(std::move(v));
  }
  return out;
}

// ---- both

std::shared_ptr<Peer> Rooms::Caller(const rpc::CallContext& ctx) const {
  return connections_.PeerOf(ctx.conn.get());
}

awaitable<void> Rooms::TunnelConnect(rpc::CallContext& ctx, const Value& args,
                                     std::shared_ptr<rpc::Stream> s) {
  const Value* opts = args.is_array() && args.size() > 0 && args.items()[0].is_object()
                          ? &args.items()[0] : nullptr;
  if (!opts) {
    s->End(Status::InvalidArgument("opts *must* be provided"));
    co_return;
  }
  const Value* target_v = opts->Find("target");
  auto target = target_v && target_v->is_string() ? ParseFeedId(target_v->as_string()) : std::nullopt;
  std::string target_text = target_v && target_v->is_string() ? target_v->as_string().substr(0, 60) : "?";
  auto caller = Caller(ctx);
  const Value* origin_v = opts->Find("origin");
  // A room we attend brings us someone: the tunnel's far end is the origin's handshake.
  if (caller && origin_v && caller->room && attended_.count(caller->key) &&
      target == node_.keys.public_key()) {
    auto origin = origin_v->is_string() ? ParseFeedId(origin_v->as_string()) : std::nullopt;
    if (!origin || *origin == node_.keys.public_key()) {
      s->End(Status::InvalidArgument("tunnel.connect: origin is not a feed id"));
      co_return;
    }
    (void)co_await connections_.AcceptTunnel(s, caller, *origin);
    co_return;
  }
  if (!state_ || !caller || caller->owner) {
    s->End(Status::NotFound("could not connect to " + target_text));
    co_return;
  }
  if (caller->tunnel) {
    // Rooms relay between peers connected to them directly; a tunnel in a tunnel could loop.
    s->End(Status::InvalidArgument("could not connect to " + target_text +
                                   ": tunnels are relayed only for directly connected peers"));
    co_return;
  }
  if (!target) {
    s->End(Status::InvalidArgument("could not connect to: " + target_text + " (not a feed id)"));
    co_return;
  }
  Status st = state_->OpenTunnel(caller->key, *target, Now());
  if (!st.ok()) {
    s->End(st);
    co_return;
  }
  std::shared_ptr<Peer> to;
  if (auto serial = state_->ConnectionOf(*target)) {
    for (const auto& [c, p] : connections_.peers()) {
      if (p->serial == *serial && !p->conn->closed()) to = p;
    }
  }
  if (!to) {
    state_->CloseTunnel(caller->key);
    s->End(Status::NotFound("could not connect to: " + FeedIdFromKey(*target)));
    co_return;
  }
  co_await Relay(caller, to, *opts, s);
  state_->CloseTunnel(caller->key);
}

awaitable<void> Rooms::Relay(std::shared_ptr<Peer> origin, std::shared_ptr<Peer> target,
                             const Value& opts, std::shared_ptr<rpc::Stream> s) {
  Value fwd = Value::Object();
  fwd.Set("target", Value::String(target->id));
  fwd.Set("portal", Value::String(node_.self_id));
  fwd.Set("origin", Value::String(origin->id));
  (void)opts;
  Value args = Value::Array();
  args.Push(std::move(fwd));
  auto t = target->conn->Open(rpc::CallType::kDuplex, kTunnelConnect, std::move(args));
  auto bytes = std::make_shared<uint64_t>(0);
  const uint64_t max = state_->limits().max_tunnel_bytes;
  auto pump = [bytes, max](std::shared_ptr<rpc::Stream> from,
                           std::shared_ptr<rpc::Stream> to_s) -> awaitable<void> {
    for (;;) {
      auto r = co_await from->Read();
      if (!r.ok()) {
        to_s->End(r.status());
        break;
      }
      if (!*r) {
        to_s->End();
        break;
      }
      *bytes += (*r)->body.size();
      if (max && *bytes > max) {
        Status over = Status::LimitExceeded("the tunnel relayed its " + std::to_string(max) + " bytes");
        from->Cancel(over);
        to_s->Cancel(over);
        break;
      }
      for (size_t off = 0; off < (*r)->body.size(); off += kRelayPacket) {
        if (!to_s->WriteBinary((*r)->body.substr(off, kRelayPacket))) break;
      }
      co_await to_s->Drain();
    }
  };
  auto back = std::make_shared<bool>(false);
  auto done = std::make_shared<rpc::Signal>(node_.io.get_executor());
  asio::co_spawn(node_.io, [pump, t, s, back, done]() -> awaitable<void> {
    co_await pump(t, s);
    *back = true;
    done->Notify();
  }, asio::detached);
  co_await pump(s, t);
  // One way ended: the tunnel is over (both inner sides said goodbye, or one went away).
  if (!*back) {
    t->Cancel(Status::IoError("the other end of the tunnel closed"));
    while (!*back) co_await done->Wait();
  }
}

// ---- room

Status Rooms::Attend(const std::shared_ptr<Peer>& peer) {
  if (peer->owner) return Status::InvalidArgument("the owner does not attend its own room");
  if (peer->tunnel) {
    return Status::InvalidArgument("attend a room by connecting to it, not through a tunnel");
  }
  auto joined = state_->Join(peer->key, peer->serial);
  if (!joined.ok()) return joined.status();
  if (*joined) Broadcast(peer->key, true);
  return Status::Ok();
}

Status Rooms::Announce(const rpc::CallContext& ctx) {
  auto caller = Caller(ctx);
  if (!caller) return Status::NotFound("no such connection");
  return Attend(caller);
}

Status Rooms::Leave(const rpc::CallContext& ctx) {
  auto caller = Caller(ctx);
  if (caller && state_->Leave(caller->key, caller->serial)) Broadcast(caller->key, false);
  return Status::Ok();
}

void Rooms::Broadcast(const PublicKey& id, bool joined) {
  std::vector<std::weak_ptr<Subscriber>> live;
  for (auto& w : subscribers_) {
    auto sub = w.lock();
    if (!sub) continue;
    live.push_back(w);
    if (sub->events) {
      if (sub->queue.size() >= kMaxQueuedEvents) {
        sub->overflow = true;
      } else {
        sub->queue.push_back(joined ? RoomState::JoinedEvent(id) : RoomState::LeftEvent(id));
      }
    } else {
      sub->changed = true;
    }
    sub->signal.Notify();
  }
  subscribers_ = std::move(live);
}

awaitable<void> Rooms::Subscribe(rpc::CallContext& ctx, std::shared_ptr<rpc::Stream> s,
                                 bool events) {
  auto caller = Caller(ctx);
  if (!caller) {
    s->End(Status::NotFound("no such connection"));
    co_return;
  }
  size_t mine = 0;
  for (auto& w : subscribers_) {
    if (auto sub = w.lock(); sub && sub->peer == caller) ++mine;
  }
  if (mine >= kMaxSubscriptionsPerPeer) {
    s->End(Status::LimitExceeded("too many attendant streams from this peer"));
    co_return;
  }
  if (Status st = state_->Subscribe(); !st.ok()) {
    s->End(st);
    co_return;
  }
  if (!caller->owner) {
    if (Status st = Attend(caller); !st.ok()) {
      state_->Unsubscribe();
      s->End(st);
      co_return;
    }
  }
  auto sub = std::make_shared<Subscriber>(node_.io.get_executor());
  sub->peer = caller;
  sub->events = events;
  subscribers_.push_back(sub);
  s->SetWake(&sub->signal);
  s->WriteJson(events ? state_->StateEvent() : state_->Endpoints());
  while (!s->closed() && !node_.stopping) {
    if (sub->overflow) {
      s->End(Status::LimitExceeded("room.attendants: more than " +
                                   std::to_string(kMaxQueuedEvents) + " events unread"));
      break;
    }
    while (!sub->queue.empty() && !s->closed()) {
      s->WriteJson(sub->queue.front());
      sub->queue.pop_front();
    }
    if (sub->changed) {
      sub->changed = false;
      s->WriteJson(state_->Endpoints());
    }
    co_await s->Drain();
    if (sub->queue.empty() && !sub->changed && !sub->overflow) co_await sub->signal.Wait();
  }
  s->SetWake(nullptr);  // the stream may outlive this handler; the signal does not
  state_->Unsubscribe();
}

Value Rooms::IsRoomAnswer() const {
  return RoomState::IsRoomAnswer(node_.config.room_name, node_.config.room_description);
}

Value Rooms::MetadataAnswer() const { return RoomState::MetadataAnswer(node_.config.room_name); }

Value Rooms::ServingStatus() const {
  Value v = Value::Object();
  v.Set("name", Value::String(node_.config.room_name));
  v.Set("attendants", Value::Number(static_cast<double>(state_ ? state_->size() : 0)));
  v.Set("tunnels", Value::Number(static_cast<double>(state_ ? state_->tunnels() : 0)));
  return v;
}

}  // namespace ssb
