// The node: owns its context and parts (node_context.h), wires their events, runs the loop.
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <cstdio>
#include <ctime>
#include <unistd.h>

#include "api/api.h"
#include "blob_transfer.h"
#include "connections.h"
#include "invites.h"
#include "lan.h"
#include "node_context.h"
#include "replicator.h"
#include "rooms.h"
#include "ssb/ref.h"
#include "ssb/files.h"

namespace ssb {

void NodeContext::Log(const std::string& line) const {
  char stamp[32];
  std::time_t t = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", std::localtime(&t));
  std::fprintf(stderr, "%s sbot server: %s\n", stamp, line.c_str());
}

namespace {

// A peer as gossip.changes names it.
json::Value PeerEvent(const Peer& p) {
  json::Value v = json::Value::Object();
  v.Set("key", json::Value::String(p.id));
  v.Set("address", json::Value::String(p.address));
  v.Set("state", json::Value::String("connected"));
  v.Set("client", json::Value::Bool(p.outgoing));
  return v;
}

}  // namespace

class Node::Impl {
 public:
  explicit Impl(NodeConfig config)
      : node_(std::move(config)),
        signals_(node_.io, SIGINT, SIGTERM),
        connections_(node_, api_,
                     PeerEvents{
                         .connected = [this](const std::shared_ptr<Peer>& p) {
                           // An invite's guest key may redeem it, nothing more.
                           p->guest = invites_->IsGuest(p->key);
                           if (p->guest) return;
                           rooms_->PeerConnected(p);
                           replicator_->PeerConnected(p);
                           if (api_parts_) GossipChange(*api_parts_, "connect", PeerEvent(*p));
                         },
                         .disconnected =
                             [this](const std::shared_ptr<Peer>& p, const Status& why) {
                               blobs_->PeerGone(p);
                               rooms_->PeerGone(p);
                               replicator_->PeerGone(p, why);
                               if (api_parts_) GossipChange(*api_parts_, "disconnect", PeerEvent(*p));
                             },
                     }),
        lan_(node_, [this](const NetShsAddress& a) {
          if (connections_.AddGossip(a, PeerSource::kLan)) {
            node_.Log("heard " + FormatAddress(a) + " on the LAN");
          }
        }) {}

  Status Open();
  Status Run();
  void Stop();
  void LearnPubs();

  NodeContext node_;
  asio::signal_set signals_;
  rpc::Api api_;
  Connections connections_;
  LanDiscovery lan_;
  // Made once the stores are open.
  std::unique_ptr<BlobTransfer> blobs_;
  std::unique_ptr<Replicator> replicator_;
  std::unique_ptr<Rooms> rooms_;
  std::unique_ptr<Invites> invites_;
  std::unique_ptr<ApiParts> api_parts_;
};

Status Node::Impl::Open() {
  NodeConfig& config = node_.config;
  SSB_RETURN_IF_ERROR(MakeDirs(config.data_dir));
  std::string warning;
  auto keys = LoadOrCreateSecretFile(config.data_dir + "/secret", &warning);
  if (!warning.empty()) node_.Log(warning);
  if (!keys.ok()) return keys.status();
  node_.keys = std::move(keys).value();
  node_.self_id = node_.keys.id();
  node_.validate.hmac_key = config.sign_cap;
  SSB_RETURN_IF_ERROR(connections_.ClaimDataDir());

  StoreOptions sopt;
  sopt.durable_commits = false;  // a crash loses at most the last batches; peers resend them
  sopt.cache_mib = 4;             // reads are mostly sequential per feed; the OS caches the file
  auto store = Store::Open(config.data_dir + "/db.sqlite", sopt);
  if (!store.ok()) return store.status();
  node_.store = std::move(store).value();
  auto blobs = BlobStore::Open(config.data_dir + "/blobs");
  if (!blobs.ok()) return blobs.status();
  node_.blobs.emplace(std::move(blobs).value());

  blobs_ = std::make_unique<BlobTransfer>(node_, connections_);
  replicator_ = std::make_unique<Replicator>(node_, connections_, *blobs_);
  SSB_RETURN_IF_ERROR(replicator_->Load());
  rooms_ = std::make_unique<Rooms>(node_, connections_);
  invites_ = std::make_unique<Invites>(node_, connections_);
  SSB_RETURN_IF_ERROR(invites_->Load());
  connections_.SetWanted([this](const PublicKey& key) {
    return replicator_->set().Contains(FeedIdFromKey(key));
  });
  api_parts_.reset(new ApiParts{node_, connections_, *replicator_, *blobs_, *rooms_, *invites_, api_});
  RegisterApi(*api_parts_);
  SSB_RETURN_IF_ERROR(connections_.Open());
  LearnPubs();
  return Status::Ok();
}

// The pubs announced in what the store holds (messages may have come by bundle or `sbot add`,
// which do not pass through the replicator), newest first, up to what the database keeps.
void Node::Impl::LearnPubs() {
  RangeQuery q;
  q.reverse = true;
  q.limit = static_cast<int64_t>(kMaxLearnedPubs);
  Status st = node_.store->ByType("pub", q, [&](const StoredMessage& m) {
    auto v = json::Parse(m.value_json);
    if (!v.ok()) return true;
    if (const json::Value* c = v->Find("content"); c && c->is_object()) {
      if (auto pub = PubMessageAddress(*c)) connections_.AddGossip(*pub, PeerSource::kPub);
    }
    return true;
  });
  if (!st.ok()) node_.Log("reading pub messages: " + st.message());
}

Status Node::Impl::Run() {
  signals_.async_wait([this](const asio::error_code& ec, int) {
    if (!ec) Stop();
  });
  connections_.Start();
  if (node_.config.lan && node_.config.listen) lan_.Start(connections_.port());
  std::optional<asio::steady_timer> deadline;
  if (node_.config.run_for_seconds > 0) {
    deadline.emplace(node_.io);
    deadline->expires_after(std::chrono::milliseconds(
        static_cast<int64_t>(node_.config.run_for_seconds * 1000)));
    deadline->async_wait([this](const asio::error_code& ec) {
      if (!ec) {
        node_.Log("--run-for elapsed, stopping");
        Stop();
      }
    });
  }
  const std::string& local = connections_.local_path();
  node_.Log("listening on " + connections_.Address() + (local.empty() ? "" : " and " + local));
  node_.io.run();
  if (!local.empty()) ::unlink(local.c_str());
  return Status::Ok();
}

void Node::Impl::Stop() {
  asio::post(node_.io, [this] {
    if (node_.stopping) return;
    node_.stopping = true;
    asio::error_code ec;
    signals_.cancel(ec);
    connections_.Stop();
    node_.new_messages.Notify();
    if (blobs_) blobs_->Stop();
    if (connections_.peers().empty()) {
      node_.io.stop();
      return;
    }
    // Give the goodbyes a moment to go out, then stop the loop whatever is left.
    auto t = std::make_shared<asio::steady_timer>(node_.io, std::chrono::milliseconds(300));
    t->async_wait([this, t](const asio::error_code&) { node_.io.stop(); });
  });
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
std::string Node::Address() const { return impl_->connections_.Address(); }
uint16_t Node::port() const { return impl_->connections_.port(); }
const Keypair& Node::keys() const { return impl_->node_.keys; }

}  // namespace ssb
