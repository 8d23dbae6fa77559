// Listening, dialing, the peer table and the gossip schedule.
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
  for (const std::string& seed : config.seeds) {
    auto addrs = ParseMultiserver(seed);
    if (!addrs.ok()) {
      node_.Log("ignoring seed " + seed + ": " + addrs.status().message());
      continue;
    }
    for (const auto& a : *addrs) AddGossip(a, "seed");
  }
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
  auto peer = std::make_shared<Peer>();
  peer->id = FeedIdFromKey(sc->peer);
  peer->address = where;
  peer->owner = sc->peer == node_.keys.public_key();
  rpc::PeerInfo info;
  info.id = sc->peer;
  info.owner = peer->owner;
  info.is_client = true;
  info.address = where;
  if (!peer->owner && IsConnected(peer->id)) {
    if (node_.config.verbose) node_.Log("already connected to " + peer->id + "; dropping the new one");
    sc->transport->Abort();
    co_return;
  }
  rpc::ConnectionLimits limits;
  limits.idle_timeout = node_.config.idle_timeout;
  peer->conn = std::make_shared<rpc::Connection>(node_.io.get_executor(),
                                                 std::move(sc->transport), &api_, info, limits);
  co_await RunPeer(peer);
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

awaitable<Status> Connections::Dial(NetShsAddress address) {
  std::string label = FormatAddress(address);
  tcp::resolver resolver(node_.io);
  auto [rec, results] = co_await resolver.async_resolve(address.host,
                                                        std::to_string(address.port), kNoThrow);
  if (rec) co_return Status::IoError("cannot resolve " + address.host + ": " + rec.message());
  tcp::socket socket(node_.io);
  asio::steady_timer timeout(node_.io, std::chrono::seconds(10));
  timeout.async_wait([&socket](const asio::error_code& ec) {
    if (!ec) {
      asio::error_code ignored;
      socket.close(ignored);
    }
  });
  auto [cec, ep] = co_await asio::async_connect(socket, results, kNoThrow);
  timeout.cancel();
  if (cec) co_return Status::IoError("cannot connect to " + label + ": " + cec.message());
  std::string where = net::RemoteLabel(socket);
  net::HandshakeOptions hopt;
  hopt.network_key = node_.config.network_key;
  auto sc = co_await net::HandshakeAsClient(std::move(socket), node_.keys, address.key, hopt);
  if (!sc.ok()) co_return Status(sc.status().code(), label + ": " + sc.status().message());
  std::string id = FeedIdFromKey(sc->peer);
  if (IsConnected(id)) {
    sc->transport->Abort();
    co_return Status::Ok();  // raced with its own dial to us: keep the first
  }
  auto peer = std::make_shared<Peer>();
  peer->id = id;
  peer->address = where;
  peer->outgoing = true;
  peer->owner = sc->peer == node_.keys.public_key();
  rpc::PeerInfo info;
  info.id = sc->peer;
  info.owner = peer->owner;
  info.address = where;
  rpc::ConnectionLimits limits;
  limits.idle_timeout = node_.config.idle_timeout;
  peer->conn = std::make_shared<rpc::Connection>(node_.io.get_executor(),
                                                 std::move(sc->transport), &api_, info, limits);
  asio::co_spawn(node_.io, RunPeer(peer), asio::detached);
  co_return Status::Ok();
}

awaitable<void> Connections::RunPeer(std::shared_ptr<Peer> peer) {
  peer->connected_at = NowMs();
  peers_[peer->conn.get()] = peer;
  if (!peer->owner) {
    node_.Log("connected " + peer->id + " (" + peer->address +
              (peer->outgoing ? ", we dialed" : "") + ")");
    if (events_.connected) events_.connected(peer);
    if (peer->outgoing) asio::co_spawn(node_.io, KeepAlive(peer), asio::detached);
  }
  Status why = co_await peer->conn->Run();
  peers_.erase(peer->conn.get());
  if (!peer->owner && events_.disconnected) events_.disconnected(peer, why);
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

bool Connections::AddGossip(const NetShsAddress& a, const std::string& source) {
  if (a.key == node_.keys.public_key()) return false;
  std::string key = FormatAddress(a);
  auto [it, added] = gossip_.try_emplace(key);
  if (added) {
    it->second.address = a;
    it->second.source = source;
  } else if (source == "manual" || source == "seed") {
    it->second.source = source;
  }
  it->second.heard = std::chrono::steady_clock::now();
  return added;
}

awaitable<Status> Connections::Connect(const NetShsAddress& a) {
  AddGossip(a, "manual");
  std::string label = FormatAddress(a);
  if (auto it = gossip_.find(label); it != gossip_.end()) it->second.connecting = true;
  Status st = co_await Dial(a);
  if (auto it = gossip_.find(label); it != gossip_.end()) {
    it->second.connecting = false;
    if (!st.ok()) ++it->second.failures;
  }
  co_return st;
}

awaitable<void> Connections::GossipLoop() {
  asio::steady_timer timer(node_.io);
  while (!node_.stopping) {
    auto now = std::chrono::steady_clock::now();
    size_t outgoing = 0;
    for (const auto& [c, p] : peers_) outgoing += p->outgoing ? 1 : 0;
    for (auto it = gossip_.begin(); it != gossip_.end();) {
      // LAN peers that stopped announcing are forgotten after 10 s (as ssb-local does).
      if (it->second.source == "lan" && now - it->second.heard > std::chrono::seconds(10) &&
          !it->second.connecting) {
        it = gossip_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [label, e] : gossip_) {
      if (outgoing >= node_.config.max_outgoing || node_.stopping) break;
      if (e.connecting || now < e.next_try) continue;
      if (IsConnected(FeedIdFromKey(e.address.key))) continue;
      e.connecting = true;
      ++outgoing;
      asio::co_spawn(node_.io, DialEntry(label), asio::detached);
    }
    timer.expires_after(std::chrono::milliseconds(500));
    co_await timer.async_wait(kNoThrow);
  }
}

awaitable<void> Connections::DialEntry(std::string label) {
  auto it = gossip_.find(label);
  if (it == gossip_.end()) co_return;
  NetShsAddress a = it->second.address;
  Status st = co_await Dial(a);
  it = gossip_.find(label);
  if (it == gossip_.end()) co_return;
  GossipEntry& entry = it->second;
  entry.connecting = false;
  if (st.ok()) {
    entry.failures = 0;
    entry.next_try = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  } else {
    // Exponential backoff with jitter: 2, 4, 8 ... s, at most 5 minutes.
    ++entry.failures;
    int64_t base = std::min<int64_t>(300, int64_t{1} << std::min(entry.failures, 8));
    static thread_local std::mt19937 rng(std::random_device{}());
    std::uniform_int_distribution<int64_t> jitter(0, base * 250);
    entry.next_try = std::chrono::steady_clock::now() + std::chrono::seconds(base) +
                     std::chrono::milliseconds(jitter(rng));
    if (node_.config.verbose || entry.failures <= 1) node_.Log("dial " + label + ": " + st.message());
  }
}

}  // namespace ssb
