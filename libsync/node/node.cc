// Node lifecycle, listening, dialing, gossip scheduling and LAN discovery.
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/address.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <cstdio>
#include <ctime>
#include <random>

#include "node_impl.h"
#include "ssb/base64.h"
#include "ssb/feed_ops.h"
#include "ssb/files.h"
#include "ssb/ref.h"

namespace ssb {
namespace {

using asio::awaitable;
using asio::ip::tcp;
constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);

// The IPv4 addresses of up, non-loopback interfaces that can broadcast, with their broadcast
// address (for LAN announcements).
struct LanInterface {
  std::string address;
  std::string broadcast;
};

std::vector<LanInterface> LanInterfaces() {
  std::vector<LanInterface> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    if (!(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK)) continue;
    if (!(i->ifa_flags & IFF_BROADCAST) || !i->ifa_broadaddr) continue;
    auto a = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    auto b = reinterpret_cast<sockaddr_in*>(i->ifa_broadaddr);
    out.push_back({asio::ip::address_v4(ntohl(a->sin_addr.s_addr)).to_string(),
                   asio::ip::address_v4(ntohl(b->sin_addr.s_addr)).to_string()});
  }
  freeifaddrs(list);
  return out;
}

}  // namespace

std::string LocalSocketPath(const std::string& data_dir) { return data_dir + "/socket"; }

Node::Impl::Impl(NodeConfig c)
    : config_(std::move(c)),
      signals_(io_, SIGINT, SIGTERM),
      new_messages_(std::make_unique<rpc::Signal>(io_.get_executor())),
      blobs_changed_(std::make_unique<rpc::Signal>(io_.get_executor())) {}

void Node::Impl::Log(const std::string& line) const {
  char stamp[32];
  std::time_t t = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", std::localtime(&t));
  std::fprintf(stderr, "%s sbot server: %s\n", stamp, line.c_str());
}

Status Node::Impl::Open() {
  SSB_RETURN_IF_ERROR(MakeDirs(config_.data_dir));
  std::string warning;
  auto keys = LoadOrCreateSecretFile(config_.data_dir + "/secret", &warning);
  if (!warning.empty()) Log(warning);
  if (!keys.ok()) return keys.status();
  keys_ = std::move(keys).value();
  self_id_ = keys_.id();
  validate_.hmac_key = config_.sign_cap;

  // One server per data dir: a live owner socket means another one is running.
  local_path_ = LocalSocketPath(config_.data_dir);
  if (config_.local_socket) {
    asio::local::stream_protocol::socket probe(io_);
    asio::error_code ec;
    probe.connect(asio::local::stream_protocol::endpoint(local_path_), ec);
    if (!ec) return Status::Busy("a server is already running on " + config_.data_dir);
    ::unlink(local_path_.c_str());  // stale, from a server that was killed
  }

  StoreOptions sopt;
  sopt.durable_commits = false;  // a crash loses at most the last batches; peers resend them
  sopt.cache_mib = 4;             // reads are mostly sequential per feed; the OS caches the file
  auto store = Store::Open(config_.data_dir + "/db.sqlite", sopt);
  if (!store.ok()) return store.status();
  store_ = std::move(store).value();
  auto blobs = BlobStore::Open(config_.data_dir + "/blobs");
  if (!blobs.ok()) return blobs.status();
  blobs_.emplace(std::move(blobs).value());
  blob_lookup_ = std::make_unique<BlobStoreLookup>(*blobs_);
  BlobWantsOptions bopt;
  bopt.max_size = config_.blob_auto_want_max + 1;  // fetched only when advertised below this
  blob_wants_ = std::make_unique<BlobWants>(*blob_lookup_, bopt);
  SSB_RETURN_IF_ERROR(LoadReplication());
  RegisterApi();

  if (config_.listen) {
    asio::error_code ec;
    auto addr = asio::ip::make_address(config_.host, ec);
    if (ec) return Status::InvalidArgument("not an IP address to listen on: " + config_.host);
    tcp::endpoint ep(addr, config_.port);
    acceptor_.emplace(io_);
    acceptor_->open(ep.protocol(), ec);
    if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(ep, ec);
    if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::IoError("cannot listen on " + config_.host + ":" +
                             std::to_string(config_.port) + ": " + ec.message());
    }
  }
  if (config_.local_socket) {
    asio::error_code ec;
    local_acceptor_.emplace(io_);
    asio::local::stream_protocol::endpoint ep(local_path_);
    local_acceptor_->open(ep.protocol(), ec);
    if (!ec) local_acceptor_->bind(ep, ec);
    if (!ec) local_acceptor_->listen(64, ec);
    if (ec) return Status::IoError("cannot create " + local_path_ + ": " + ec.message());
    ::chmod(local_path_.c_str(), 0600);  // the owner's door: nobody else may open it
  }
  for (const std::string& seed : config_.seeds) {
    auto addrs = ParseMultiserver(seed);
    if (!addrs.ok()) {
      Log("ignoring seed " + seed + ": " + addrs.status().message());
      continue;
    }
    for (const auto& a : *addrs) AddGossip(a, "seed");
  }
  return Status::Ok();
}

std::string Node::Impl::Address() const {
  NetShsAddress a;
  a.key = keys_.public_key();
  a.port = acceptor_ ? acceptor_->local_endpoint().port() : config_.port;
  a.host = config_.host;
  if (a.host == "0.0.0.0" || a.host == "::") {
    auto ifs = LanInterfaces();
    a.host = ifs.empty() ? "127.0.0.1" : ifs.front().address;
  }
  return FormatAddress(a);
}

Status Node::Impl::Run() {
  signals_.async_wait([this](const asio::error_code& ec, int) {
    if (!ec) Stop();
  });
  if (acceptor_) asio::co_spawn(io_, AcceptLoop(), asio::detached);
  if (local_acceptor_) asio::co_spawn(io_, LocalAcceptLoop(), asio::detached);
  asio::co_spawn(io_, GossipLoop(), asio::detached);
  if (config_.lan && acceptor_) {
    asio::co_spawn(io_, LanLoop(), asio::detached);
    asio::co_spawn(io_, LanReceive(), asio::detached);
  }
  std::optional<asio::steady_timer> deadline;
  if (config_.run_for_seconds > 0) {
    deadline.emplace(io_);
    deadline->expires_after(std::chrono::milliseconds(
        static_cast<int64_t>(config_.run_for_seconds * 1000)));
    deadline->async_wait([this](const asio::error_code& ec) {
      if (!ec) {
        Log("--run-for elapsed, stopping");
        Stop();
      }
    });
  }
  Log("listening on " + Address() + (local_acceptor_ ? " and " + local_path_ : ""));
  io_.run();
  if (local_acceptor_) ::unlink(local_path_.c_str());
  return Status::Ok();
}

void Node::Impl::Stop() {
  asio::post(io_, [this] {
    if (stopping_) return;
    stopping_ = true;
    asio::error_code ec;
    if (acceptor_) acceptor_->close(ec);
    if (local_acceptor_) local_acceptor_->close(ec);
    signals_.cancel(ec);
    for (auto& [c, p] : peers_) p->conn->Close();
    new_messages_->Notify();
    blobs_changed_->Notify();
    if (peers_.empty()) {
      io_.stop();
      return;
    }
    // Give the goodbyes a moment to go out, then stop the loop whatever is left.
    auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(300));
    t->async_wait([this, t](const asio::error_code&) { io_.stop(); });
  });
}

bool Node::Impl::IsConnected(const std::string& id) const {
  for (const auto& [c, p] : peers_)
    if (p->id == id && !p->owner && !p->conn->closed()) return true;
  return false;
}

std::shared_ptr<PeerState> Node::Impl::PeerById(const std::string& id) const {
  for (const auto& [c, p] : peers_)
    if (p->id == id && !p->owner && !p->conn->closed()) return p;
  return nullptr;
}

awaitable<void> Node::Impl::AcceptLoop() {
  while (!stopping_) {
    auto [ec, socket] = co_await acceptor_->async_accept(kNoThrow);
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) break;
      Log("accept: " + ec.message());
      continue;
    }
    if (peers_.size() >= config_.max_connections) {
      ++connections_refused_;
      asio::error_code ignored;
      socket.close(ignored);  // over the limit: refuse before any handshake work
      continue;
    }
    asio::co_spawn(io_, IncomingPeer(std::move(socket)), asio::detached);
  }
}

awaitable<void> Node::Impl::IncomingPeer(tcp::socket socket) {
  std::string where = net::RemoteLabel(socket);
  net::HandshakeOptions hopt;
  hopt.network_key = config_.network_key;
  auto sc = co_await net::HandshakeAsServer(std::move(socket), keys_, hopt);
  if (!sc.ok()) {
    if (config_.verbose) Log("handshake from " + where + " failed: " + sc.status().message());
    co_return;
  }
  auto peer = std::make_shared<PeerState>();
  peer->id = FeedIdFromKey(sc->peer);
  peer->address = where;
  peer->owner = sc->peer == keys_.public_key();
  rpc::PeerInfo info;
  info.id = sc->peer;
  info.owner = peer->owner;
  info.is_client = true;
  info.address = where;
  if (!peer->owner && IsConnected(peer->id)) {
    if (config_.verbose) Log("already connected to " + peer->id + "; dropping the new one");
    sc->transport->Abort();
    co_return;
  }
  rpc::ConnectionLimits limits;
  limits.idle_timeout = config_.idle_timeout;
  peer->conn = std::make_shared<rpc::Connection>(io_.get_executor(), std::move(sc->transport),
                                                 &api_, info, limits);
  co_await RunPeer(peer);
}

awaitable<void> Node::Impl::LocalAcceptLoop() {
  while (!stopping_) {
    auto [ec, socket] = co_await local_acceptor_->async_accept(kNoThrow);
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) break;
      continue;
    }
    auto peer = std::make_shared<PeerState>();
    peer->id = self_id_;
    peer->owner = true;
    peer->address = "unix";
    rpc::PeerInfo info;
    info.id = keys_.public_key();
    info.owner = true;
    info.is_client = true;
    info.address = "unix";
    rpc::ConnectionLimits limits;
    limits.idle_timeout = std::chrono::seconds(24 * 3600);
    peer->conn = std::make_shared<rpc::Connection>(
        io_.get_executor(),
        std::make_unique<net::PlainTransport>(
            asio::generic::stream_protocol::socket(std::move(socket)), "unix"),
        &api_, info, limits);
    asio::co_spawn(io_, RunPeer(peer), asio::detached);
  }
}

awaitable<Status> Node::Impl::Dial(NetShsAddress address) {
  std::string label = FormatAddress(address);
  tcp::resolver resolver(io_);
  auto [rec, results] = co_await resolver.async_resolve(address.host, std::to_string(address.port),
                                                        kNoThrow);
  if (rec) co_return Status::IoError("cannot resolve " + address.host + ": " + rec.message());
  tcp::socket socket(io_);
  asio::steady_timer timeout(io_, std::chrono::seconds(10));
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
  hopt.network_key = config_.network_key;
  auto sc = co_await net::HandshakeAsClient(std::move(socket), keys_, address.key, hopt);
  if (!sc.ok()) co_return Status(sc.status().code(), label + ": " + sc.status().message());
  std::string id = FeedIdFromKey(sc->peer);
  if (IsConnected(id)) {
    sc->transport->Abort();
    co_return Status::Ok();  // raced with its own dial to us: keep the first
  }
  auto peer = std::make_shared<PeerState>();
  peer->id = id;
  peer->address = where;
  peer->outgoing = true;
  peer->owner = sc->peer == keys_.public_key();
  rpc::PeerInfo info;
  info.id = sc->peer;
  info.owner = peer->owner;
  info.address = where;
  rpc::ConnectionLimits limits;
  limits.idle_timeout = config_.idle_timeout;
  peer->conn = std::make_shared<rpc::Connection>(io_.get_executor(), std::move(sc->transport),
                                                 &api_, info, limits);
  asio::co_spawn(io_, RunPeer(peer), asio::detached);
  co_return Status::Ok();
}

awaitable<void> Node::Impl::RunPeer(std::shared_ptr<PeerState> peer) {
  peer->connected_at = NowMs();
  peers_[peer->conn.get()] = peer;
  if (!peer->owner) {
    Log("connected " + peer->id + " (" + peer->address + (peer->outgoing ? ", we dialed" : "") + ")");
    if (peer->outgoing) {
      StartReplication(peer);
    } else {
      // Let the peer that dialed us speak first: ssb-replicate (JS) starts legacy replication
      // when we call createHistoryStream, but only once it has set up its side of the
      // connection, which it has by the time it makes its first request.
      asio::co_spawn(io_, [this, peer]() -> awaitable<void> {
        rpc::Signal first(io_.get_executor());
        peer->conn->SetRequestWake(&first);
        if (peer->conn->requests_received() == 0) co_await first.WaitFor(std::chrono::seconds(2));
        peer->conn->SetRequestWake(nullptr);
        if (!peer->conn->closed()) StartReplication(peer);
      }, asio::detached);
    }
  }
  Status why = co_await peer->conn->Run();
  peers_.erase(peer->conn.get());
  if (!peer->owner) {
    ApplyBlobActions(blob_wants_->PeerDisconnected(peer->id));
    Log("disconnected " + peer->id + (why.ok() ? "" : ": " + why.message()) + " (" +
        std::to_string(peer->messages_received) + " messages received)");
  }
  // Wake the verifier (it applies and flushes what arrived, then ends) and fetchers waiting
  // for room.
  if (peer->inbox_signal) peer->inbox_signal->Notify();
  if (peer->inbox_room) peer->inbox_room->Notify();
}

void Node::Impl::AddGossip(const NetShsAddress& a, const std::string& source) {
  if (a.key == keys_.public_key()) return;
  std::string key = FormatAddress(a);
  auto [it, added] = gossip_.try_emplace(key);
  if (added) {
    it->second.address = a;
    it->second.source = source;
  } else if (source == "manual" || source == "seed") {
    it->second.source = source;
  }
  it->second.heard = std::chrono::steady_clock::now();
}

awaitable<void> Node::Impl::GossipLoop() {
  asio::steady_timer timer(io_);
  while (!stopping_) {
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
      if (outgoing >= config_.max_outgoing || stopping_) break;
      if (e.connecting || now < e.next_try) continue;
      if (IsConnected(FeedIdFromKey(e.address.key))) continue;
      e.connecting = true;
      ++outgoing;
      std::string l = label;
      asio::co_spawn(io_, [this, l]() -> awaitable<void> {
        auto it = gossip_.find(l);
        if (it == gossip_.end()) co_return;
        NetShsAddress a = it->second.address;
        Status st = co_await Dial(a);
        it = gossip_.find(l);
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
          if (config_.verbose || entry.failures <= 1) Log("dial " + l + ": " + st.message());
        }
      }, asio::detached);
    }
    timer.expires_after(std::chrono::milliseconds(500));
    co_await timer.async_wait(kNoThrow);
  }
}

awaitable<void> Node::Impl::LanLoop() {
  asio::ip::udp::socket sock(io_);
  asio::error_code ec;
  sock.open(asio::ip::udp::v4(), ec);
  if (!ec) sock.set_option(asio::socket_base::broadcast(true), ec);
  if (ec) {
    Log("LAN announcements off: " + ec.message());
    co_return;
  }
  asio::steady_timer timer(io_);
  uint16_t port = acceptor_->local_endpoint().port();
  while (!stopping_) {
    for (const auto& i : LanInterfaces()) {
      NetShsAddress a{i.address, port, keys_.public_key()};
      std::string payload = FormatAddress(a);
      asio::ip::udp::endpoint to(asio::ip::make_address_v4(i.broadcast), config_.lan_port);
      sock.send_to(asio::buffer(payload), to, 0, ec);  // best effort
    }
    timer.expires_after(config_.lan_interval);
    co_await timer.async_wait(kNoThrow);
  }
}

awaitable<void> Node::Impl::LanReceive() {
  asio::ip::udp::socket sock(io_);
  asio::error_code ec;
  asio::ip::udp::endpoint ep(asio::ip::address_v4::any(), config_.lan_port);
  sock.open(ep.protocol(), ec);
  if (!ec) sock.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) sock.bind(ep, ec);
  if (ec) {
    Log("LAN discovery off: cannot listen on UDP " + std::to_string(config_.lan_port) + ": " +
        ec.message());
    co_return;
  }
  std::array<uint8_t, kMaxLanPayloadBytes> buf;
  while (!stopping_) {
    asio::ip::udp::endpoint from;
    auto [rec, n] = co_await sock.async_receive_from(asio::buffer(buf), from, kNoThrow);
    if (rec) {
      if (stopping_) break;
      continue;
    }
    auto addrs = DecodeLanLegacy(std::span<const uint8_t>(buf.data(), n));
    if (!addrs.ok()) continue;  // someone else's traffic on this port
    for (const auto& a : *addrs) {
      if (a.key == keys_.public_key()) continue;  // our own announcement
      bool fresh = gossip_.find(FormatAddress(a)) == gossip_.end();
      AddGossip(a, "lan");
      if (fresh) Log("heard " + FormatAddress(a) + " on the LAN");
    }
  }
}

// ---- public face ----

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Node::~Node() = default;

Result<std::unique_ptr<Node>> Node::Open(NodeConfig config) {
  auto impl = std::make_unique<Impl>(std::move(config));
  SSB_RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

Status Node::Run() { return impl_->Run(); }
void Node::Stop() { impl_->Stop(); }
std::string Node::Address() const { return impl_->Address(); }
uint16_t Node::port() const {
  return impl_->acceptor_ ? impl_->acceptor_->local_endpoint().port() : 0;
}
const Keypair& Node::keys() const { return impl_->keys_; }

}  // namespace ssb
