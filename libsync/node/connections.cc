// Listening, dialing (TCP and tunnels), the peer table and the connection manager.
#include "connections.h"

#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/address.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <random>
#include <set>
#include <sys/stat.h>

#include "lan.h"
#include "ssb/feed_ops.h"
#include "ssb/net.h"
#include "ssb/ref.h"

namespace ssb {
namespace {

using asio::awaitable;
using asio::ip::tcp;
using json::Value;
constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);
const std::vector<std::string> kTunnelConnect = {"tunnel", "connect"};
constexpr size_t kMaxTunnelsInPerRoom = 32;  // incoming tunnels through one room at once
constexpr int64_t kSaveEveryMs = 5000;

int64_t Now() { return static_cast<int64_t>(NowMs()); }

uint32_t Random() {
  static thread_local std::mt19937 rng(std::random_device{}());
  return static_cast<uint32_t>(rng());
}

}  // namespace

std::string LocalSocketPath(const std::string& data_dir) { return data_dir + "/socket"; }

Connections::Connections(NodeContext& node, const rpc::Api& api, PeerEvents events)
    : node_(node), api_(api), events_(std::move(events)) {}

Status Connections::ClaimDataDir() {
  const NodeConfig& config = node_.config;
  if (!config.local_socket) return Status::Ok();
  // One server per data dir: a live owner socket means another one is running.
  std::string path = LocalSocketPath(config.data_dir);
  asio::local::stream_protocol::socket probe(node_.io);
  asio::error_code ec;
  probe.connect(asio::local::stream_protocol::endpoint(path), ec);
  if (!ec) return Status::Busy("a server is already running on " + config.data_dir);
  ::unlink(path.c_str());  // stale, from a server that was killed
  return Status::Ok();
}

Status Connections::Open() {
  const NodeConfig& config = node_.config;
  std::string path = LocalSocketPath(config.data_dir);
  if (config.listen) {
    asio::error_code ec;
    auto addr = asio::ip::make_address(config.host, ec);
    if (ec) return Status::InvalidArgument("not an IP address to listen on: " + config.host);
    tcp::endpoint ep(addr, config.port);
    acceptor_.emplace(node_.io);
    acceptor_->open(ep.protocol(), ec);
    if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(ep, ec);
    if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::IoError("cannot listen on " + config.host + ":" +
                             std::to_string(config.port) + ": " + ec.message());
    }
  }
  if (config.local_socket) {
    asio::error_code ec;
    local_acceptor_.emplace(node_.io);
    asio::local::stream_protocol::endpoint ep(path);
    local_acceptor_->open(ep.protocol(), ec);
    if (!ec) local_acceptor_->bind(ep, ec);
    if (!ec) local_acceptor_->listen(64, ec);
    if (ec) return Status::IoError("cannot create " + path + ": " + ec.message());
    ::chmod(path.c_str(), 0600);  // the owner's door: nobody else may open it
    local_path_ = path;
  }
  limits_.max_rooms = config.max_rooms;
  limits_.max_peers = config.max_outgoing;
  limits_.dial_pubs = config.dial_pubs;
  db_path_ = config.data_dir + "/peers.json";
  size_t skipped = 0;
  std::string warning;
  auto db = PeerDb::Load(db_path_, &skipped, &warning);
  if (!db.ok()) return db.status();
  db_ = std::move(db).value();
  if (!warning.empty()) {
    node_.Log("peers.json: " + (skipped ? "skipped " + std::to_string(skipped) + " entries: " : std::string("ignored: ")) +
              warning);
  }
  // Seeds come from the config alone: those no longer in it are forgotten.
  std::set<std::string> seeds;
  for (const std::string& seed : config.seeds) {
    auto a = ParseDialAddress(seed);
    if (!a.ok()) {
      node_.Log("ignoring seed " + seed + ": " + a.status().message());
      continue;
    }
    seeds.insert(FormatDialAddress(*a));
    Remember(*a, PeerSource::kSeed);
  }
  std::vector<std::string> gone;
  for (const auto& [address, e] : db_.entries()) {
    if (e.source == PeerSource::kSeed && !seeds.count(address)) gone.push_back(address);
  }
  for (const auto& a : gone) db_.Remove(a);
  return Status::Ok();
}

void Connections::Start() {
  if (acceptor_) asio::co_spawn(node_.io, AcceptLoop(), asio::detached);
  if (local_acceptor_) asio::co_spawn(node_.io, LocalAcceptLoop(), asio::detached);
  asio::co_spawn(node_.io, GossipLoop(), asio::detached);
}

void Connections::Stop() {
  asio::error_code ec;
  if (acceptor_) acceptor_->close(ec);
  if (local_acceptor_) local_acceptor_->close(ec);
  for (auto& [c, p] : peers_) p->conn->Close();
  db_dirty_ = true;
  SaveDb();
}

void Connections::SaveDb() {
  if (!db_dirty_ || db_path_.empty()) return;
  db_dirty_ = false;
  db_saved_ = Now();
  if (Status st = db_.Save(db_path_); !st.ok()) node_.Log("saving peers.json: " + st.message());
}

uint16_t Connections::port() const { return acceptor_ ? acceptor_->local_endpoint().port() : 0; }

std::string Connections::Address() const {
  NetShsAddress a;
  a.key = node_.keys.public_key();
  a.port = acceptor_ ? acceptor_->local_endpoint().port() : node_.config.port;
  a.host = node_.config.host;
  if (a.host == "0.0.0.0" || a.host == "::") {
    auto ifs = LanInterfaces();
    a.host = ifs.empty() ? "127.0.0.1" : ifs.front().address;
  }
  return FormatAddress(a);
}

bool Connections::IsConnected(const std::string& id) const { return PeerById(id) != nullptr; }

std::shared_ptr<Peer> Connections::PeerById(const std::string& id) const {
  for (const auto& [c, p] : peers_)
    if (p->id == id && !p->owner && !p->conn->closed()) return p;
  return nullptr;
}

std::shared_ptr<Peer> Connections::PeerOf(const rpc::Connection* conn) const {
  auto it = peers_.find(const_cast<rpc::Connection*>(conn));
  return it == peers_.end() ? nullptr : it->second;
}

awaitable<void> Connections::AcceptLoop() {
  while (!node_.stopping) {
    auto [ec, socket] = co_await acceptor_->async_accept(kNoThrow);
    if (ec) {
      if (node_.stopping || ec == asio::error::operation_aborted) break;
      node_.Log("accept: " + ec.message());
      continue;
    }
    if (peers_.size() >= node_.config.max_connections) {
      ++refused_;
      asio::error_code ignored;
      socket.close(ignored);  // over the limit: refuse before any handshake work
      continue;
    }
    asio::co_spawn(node_.io, IncomingPeer(std::move(socket)), asio::detached);
  }
}

awaitable<void> Connections::IncomingPeer(tcp::socket socket) {
  std::string where = net::RemoteLabel(socket);
  net::HandshakeOptions hopt;
  hopt.network_key = node_.config.network_key;
  auto sc = co_await net::HandshakeAsServer(std::move(socket), node_.keys, hopt);
  if (!sc.ok()) {
    if (node_.config.verbose) {
      node_.Log("handshake from " + where + " failed: " + sc.status().message());
    }
    co_return;
  }
  auto [peer, fresh] = Adopt(std::move(sc).value(), where, false);
  if (fresh) co_await RunPeer(peer);
}

std::pair<std::shared_ptr<Peer>, bool> Connections::Adopt(net::SecureConnection sc,
                                                         std::string where, bool outgoing) {
  auto peer = std::make_shared<Peer>();
  peer->key = sc.peer;
  peer->id = FeedIdFromKey(sc.peer);
  peer->address = std::move(where);
  peer->outgoing = outgoing;
  peer->owner = sc.peer == node_.keys.public_key();
  if (!peer->owner) {
    if (auto existing = PeerById(peer->id)) {
      // Raced with its own dial to us, or a second way to the same peer: keep the first.
      if (node_.config.verbose) node_.Log("already connected to " + peer->id + "; dropping the new one");
      sc.transport->Abort();
      return {existing, false};
    }
  }
  rpc::PeerInfo info;
  info.id = sc.peer;
  info.owner = peer->owner;
  info.is_client = !outgoing;
  info.address = peer->address;
  rpc::ConnectionLimits limits;
  limits.idle_timeout = node_.config.idle_timeout;
  peer->conn = std::make_shared<rpc::Connection>(node_.io.get_executor(),
                                                 std::move(sc.transport), &api_, info, limits);
  return {peer, true};
}

awaitable<void> Connections::LocalAcceptLoop() {
  while (!node_.stopping) {
    auto [ec, socket] = co_await local_acceptor_->async_accept(kNoThrow);
    if (ec) {
      if (node_.stopping || ec == asio::error::operation_aborted) break;
      continue;
    }
    auto peer = std::make_shared<Peer>();
    peer->id = node_.self_id;
    peer->owner = true;
    peer->address = "unix";
    rpc::PeerInfo info;
    info.id = node_.keys.public_key();
    info.owner = true;
    info.is_client = true;
    info.address = "unix";
    rpc::ConnectionLimits limits;
    limits.idle_timeout = std::chrono::seconds(24 * 3600);
    peer->conn = std::make_shared<rpc::Connection>(
        node_.io.get_executor(),
        std::make_unique<net::PlainTransport>(
            asio::generic::stream_protocol::socket(std::move(socket)), "unix"),
        &api_, info, limits);
    asio::co_spawn(node_.io, RunPeer(peer), asio::detached);
  }
}

awaitable<Result<std::shared_ptr<Peer>>> Connections::Dial(const DialAddress& address) {
  net::HandshakeOptions hopt;
  hopt.network_key = node_.config.network_key;
  if (address.kind == DialAddress::Kind::kNet) {
    auto sc = co_await net::DialNetShs(address.net, node_.keys, hopt);
    if (!sc.ok()) co_return sc.status();
    std::string where = sc->transport->Describe();
    auto [peer, fresh] = Adopt(std::move(sc).value(), where, true);
    if (fresh) asio::co_spawn(node_.io, RunPeer(peer), asio::detached);
    co_return peer;
  }
  // Through a room: its tunnel.connect carries our handshake to the target.
  const TunnelAddress& t = address.tunnel;
  std::string label = FormatTunnelAddress(t);
  auto room = PeerById(FeedIdFromKey(t.portal));
  if (!room || !room->room) {
    co_return Status::NotFound(label + ": the room " + FeedIdFromKey(t.portal) +
                               " is not connected");
  }
  Value opts = Value::Object();
  opts.Set("target", Value::String(FeedIdFromKey(t.target)));
  opts.Set("portal", Value::String(FeedIdFromKey(t.portal)));
  Value args = Value::Array();
  args.Push(std::move(opts));
  auto stream = room->conn->Open(rpc::CallType::kDuplex, kTunnelConnect, std::move(args));
  std::string where = "tunnel:" + room->id + ":" + FeedIdFromKey(t.target);
  auto sc = co_await net::HandshakeAsClient(net::TunnelByteStream(stream, where), node_.keys,
                                            t.target, hopt);
  if (!sc.ok()) co_return Status(sc.status().code(), label + ": " + sc.status().message());
  auto [peer, fresh] = Adopt(std::move(sc).value(), where, true);
  if (fresh) {
    peer->tunnel = true;
    peer->via = t.portal;
    asio::co_spawn(node_.io, RunPeer(peer), asio::detached);
  }
  co_return peer;
}

awaitable<Status> Connections::AcceptTunnel(std::shared_ptr<rpc::Stream> stream,
                                            std::shared_ptr<Peer> room, PublicKey origin) {
  size_t& open = tunnels_in_[room->key];
  if (open >= kMaxTunnelsInPerRoom) {
    stream->End(Status::LimitExceeded("too many tunnels through this room at once"));
    co_return Status::LimitExceeded("too many tunnels from " + room->id);
  }
  ++open;
  std::string where = "tunnel:" + room->id + ":" + FeedIdFromKey(origin);
  net::HandshakeOptions hopt;
  hopt.network_key = node_.config.network_key;
  auto sc = co_await net::HandshakeAsServer(
      net::TunnelByteStream(stream, where), node_.keys, hopt,
      // The room names who is coming; anyone else in the tunnel is refused before msg4.
      [origin](const PublicKey& client) { return client == origin; });
  Status result = sc.status();
  if (sc.ok()) {
    auto [peer, fresh] = Adopt(std::move(sc).value(), where, false);
    if (fresh) {
      peer->tunnel = true;
      peer->via = room->key;
      co_await RunPeer(peer);
    }
  } else if (node_.config.verbose) {
    node_.Log("tunnel from " + where + " failed: " + result.message());
  }
  if (auto it = tunnels_in_.find(room->key); it != tunnels_in_.end() && --it->second == 0) {
    tunnels_in_.erase(it);
  }
  co_return result;
}

awaitable<void> Connections::RunPeer(std::shared_ptr<Peer> peer) {
  peer->connected_at = NowMs();
  peer->serial = next_serial_++;
  peers_[peer->conn.get()] = peer;
  if (!peer->owner) {
    node_.Log("connected " + peer->id + " (" + peer->address +
              (peer->outgoing ? ", we dialed" : "") + ")");
    if (events_.connected) events_.connected(peer);
    if (peer->outgoing) asio::co_spawn(node_.io, KeepAlive(peer), asio::detached);
  }
  Status why = co_await peer->conn->Run();
  peers_.erase(peer->conn.get());
  if (!peer->owner) {
    if (!peer->dialed.empty()) {
      db_.Dropped(peer->dialed, Now(), limits_);
      Changed();
    }
    if (events_.disconnected) events_.disconnected(peer, why);
  }
}

awaitable<void> Connections::KeepAlive(std::shared_ptr<Peer> peer) {
  Value args = Value::Array();
  Value opts = Value::Object();
  opts.Set("timeout",
           Value::Number(static_cast<double>(node_.config.ping_interval.count()) * 1000));
  args.Push(std::move(opts));
  const std::vector<std::string> ping{"gossip", "ping"};
  auto s = peer->conn->Open(rpc::CallType::kDuplex, ping, std::move(args));
  asio::steady_timer t(node_.io);
  while (!s->closed()) {
    s->WriteJson(Value::Number(NowMs()));
    auto r = co_await s->Read();  // their timestamp
    if (!r.ok() || !*r) break;
    t.expires_after(node_.config.ping_interval);
    co_await t.async_wait(kNoThrow);
  }
}

bool Connections::Remember(const DialAddress& a, PeerSource source, const std::string& note) {
  if (a.key() == node_.keys.public_key()) return false;
  std::string key = FormatDialAddress(a);
  bool fresh = db_.Find(key) == nullptr;
  auto e = db_.Add(a, source, Now(), node_.keys.public_key());
  if (!e.ok()) {
    if (fresh && node_.config.verbose) node_.Log("not remembering " + key + ": " + e.status().message());
    return false;
  }
  if (!note.empty() && (*e)->note.empty()) (*e)->note = note.substr(0, kMaxPeerErrorBytes);
  if (PeerDb::Stored(**e)) Changed();
  return fresh;
}

bool Connections::AddGossip(const NetShsAddress& a, PeerSource source) {
  DialAddress d;
  d.net = a;
  return Remember(d, source);
}

awaitable<Result<std::shared_ptr<Peer>>> Connections::Connect(const DialAddress& a,
                                                              PeerSource source) {
  if (a.key() == node_.keys.public_key()) co_return Status::InvalidArgument("that is our own address");
  Remember(a, source);
  std::string label = FormatDialAddress(a);
  db_.DialStarted(label, Now());
  auto peer = co_await Dial(a);
  if (peer.ok()) {
    db_.DialSucceeded(label, Now());
    if ((*peer)->outgoing && (*peer)->dialed.empty()) (*peer)->dialed = label;
  } else {
    db_.DialFailed(label, Now(), peer.status().message(), Random(), limits_);
  }
  Changed();
  co_return peer;
}

size_t Connections::RemoveGossip(const std::string& id) {
  std::vector<std::string> gone;
  for (const auto& [label, e] : db_.entries()) {
    if (FeedIdFromKey(e.address.key()) == id && !e.dialing) gone.push_back(label);
  }
  for (const auto& label : gone) db_.Remove(label);
  if (!gone.empty()) Changed();
  return gone.size();
}

void Connections::Disconnect(const std::string& id) {
  if (auto p = PeerById(id)) p->conn->Close();
}

void Connections::Reconnect() {
  for (const auto& [c, p] : peers_) {
    if (!p->owner) p->conn->Close();
  }
}

DialView Connections::View() const {
  DialView view;
  for (const auto& [c, p] : peers_) {
    if (p->owner || p->conn->closed()) continue;
    view.connected.insert(p->key);
    if (p->room) {
      view.rooms_connected.insert(p->key);
      ++view.rooms;
    } else if (p->outgoing) {
      ++view.outgoing_peers;
      const PeerEntry* e = db_.Find(p->dialed);
      if (e && e->source == PeerSource::kPub) ++view.outgoing_pubs;
    }
  }
  view.wanted = wanted_;
  return view;
}

awaitable<void> Connections::GossipLoop() {
  asio::steady_timer timer(node_.io);
  while (!node_.stopping) {
    int64_t now = Now();
    db_.Expire(now, limits_);
    for (const std::string& address : db_.Plan(now, View(), limits_)) {
      if (node_.stopping || !dialing_) break;  // gossip.disable
      db_.DialStarted(address, now);
      asio::co_spawn(node_.io, DialEntry(address), asio::detached);
    }
    if (db_dirty_ && now - db_saved_ >= kSaveEveryMs) SaveDb();
    timer.expires_after(std::chrono::milliseconds(500));
    co_await timer.async_wait(kNoThrow);
  }
}

awaitable<void> Connections::DialEntry(std::string address) {
  const PeerEntry* e = db_.Find(address);
  if (!e) co_return;
  DialAddress a = e->address;
  auto peer = co_await Dial(a);
  PeerEntry* entry = db_.Find(address);
  if (!entry) co_return;
  if (peer.ok()) {
    db_.DialSucceeded(address, Now());
    if ((*peer)->outgoing && (*peer)->dialed.empty()) (*peer)->dialed = address;
  } else {
    db_.DialFailed(address, Now(), peer.status().message(), Random(), limits_);
    if (node_.config.verbose || entry->failures <= 1) {
      const std::string& why = peer.status().message();
      node_.Log("dial " + (why.rfind(address, 0) == 0 ? why : address + ": " + why));
    }
  }
  if (PeerDb::Stored(*entry)) Changed();
}

}  // namespace ssb
