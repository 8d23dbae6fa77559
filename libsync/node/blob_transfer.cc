// Blob wants and fetches with peers.
#include "blob_transfer.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

namespace ssb {
namespace {

using asio::awaitable;
using json::Value;

BlobWantsOptions WantsOptions(const NodeConfig& config) {
  BlobWantsOptions o;
  o.max_size = config.blob_auto_want_max + 1;  // fetched only when advertised below this
  return o;
}

}  // namespace

BlobTransfer::BlobTransfer(NodeContext& node, const Connections& connections)
    : node_(node),
      connections_(connections),
      lookup_(*node.blobs),
      wants_(lookup_, WantsOptions(node.config)),
      changed_(node.io.get_executor()) {}

void BlobTransfer::StartPeer(const std::shared_ptr<Peer>& peer) {
  asio::co_spawn(node_.io, ReadWants(peer), asio::detached);
}

void BlobTransfer::PeerGone(const std::shared_ptr<Peer>& peer) {
  wants_out_.erase(peer.get());
  Apply(wants_.PeerDisconnected(peer->id));
}

void BlobTransfer::Stop() { changed_.Notify(); }

Status BlobTransfer::Want(const std::string& id) {
  auto actions = wants_.Want(id);
  if (!actions.ok()) return actions.status();
  Apply(*actions);
  return Status::Ok();
}

void BlobTransfer::WantReferenced(const Message& msg) { Apply(wants_.WantReferenced(msg)); }

void BlobTransfer::Stored(const std::string& id, uint64_t size) {
  last_added_ = id;
  changed_.Notify();
  Apply(wants_.BlobStored(id, size));
}

void BlobTransfer::Apply(const BlobWants::Actions& actions) {
  for (const auto& send : actions.sends) {
    auto p = connections_.PeerById(send.peer);
    if (!p) continue;
    auto it = wants_out_.find(p.get());
    if (it != wants_out_.end() && !it->second->closed()) it->second->WriteJson(WantMapToJson(send.map));
  }
  for (const auto& f : actions.fetches) {
    auto p = connections_.PeerById(f.peer);
    if (!p) {
      Apply(wants_.FetchFailed(f.peer, f.blob));
      continue;
    }
    asio::co_spawn(node_.io, Fetch(p, f.blob, f.max), asio::detached);
  }
}

awaitable<void> BlobTransfer::ServeWants(const std::shared_ptr<Peer>& peer, bool owner,
                                         std::shared_ptr<rpc::Stream> s) {
  if (!peer || owner) {
    s->WriteJson(WantMapToJson(wants_.wants()));
    co_return;  // the owner has no use for a want stream
  }
  wants_out_[peer.get()] = s;
  Apply(wants_.PeerConnected(peer->id));
  // Keep it open; BlobWants pushes updates onto it until the peer goes.
  s->SetWake(&changed_);
  while (!s->closed() && !node_.stopping) co_await changed_.Wait();
}

awaitable<void> BlobTransfer::ServeChanges(std::shared_ptr<rpc::Stream> s) {
  s->SetWake(&changed_);
  std::string last = last_added_;
  while (!s->closed() && !node_.stopping) {
    co_await changed_.Wait();
    if (last_added_ != last && !last_added_.empty()) {
      last = last_added_;
      s->WriteJson(Value::String(last));
    }
  }
}

awaitable<void> BlobTransfer::Fetch(std::shared_ptr<Peer> peer, std::string blob, uint64_t max) {
  Value opts = Value::Object();
  opts.Set("key", Value::String(blob));
  opts.Set("max", Value::Number(static_cast<double>(max)));
  Value args = Value::Array();
  args.Push(std::move(opts));
  auto s = peer->conn->Open(rpc::CallType::kSource, {"blobs", "get"}, std::move(args));
  std::vector<uint8_t> bytes;
  Status st;
  for (;;) {
    auto r = co_await s->Read();
    if (!r.ok()) {
      st = r.status();
      break;
    }
    if (!*r) break;
    if (bytes.size() + (*r)->body.size() >= max) {
      st = Status::LimitExceeded("blob over " + std::to_string(max) + " bytes");
      s->End();
      break;
    }
    bytes.insert(bytes.end(), (*r)->body.begin(), (*r)->body.end());
  }
  if (st.ok()) st = node_.blobs->AddExpecting(blob, bytes);  // checks the hash before storing
  if (!st.ok()) {
    node_.Log("blob " + blob + " from " + peer->id + ": " + st.message());
    Apply(wants_.FetchFailed(peer->id, blob));
    co_return;
  }
  if (node_.config.verbose) {
    node_.Log("got blob " + blob + " (" + std::to_string(bytes.size()) + " bytes)");
  }
  Stored(blob, bytes.size());
}

awaitable<void> BlobTransfer::ReadWants(std::shared_ptr<Peer> peer) {
  auto s = peer->conn->Open(rpc::CallType::kSource, {"blobs", "createWants"}, Value::Array());
  for (;;) {
    auto r = co_await s->Read();
    if (!r.ok() || !*r) break;
    auto v = json::Parse((*r)->body);
    if (!v.ok()) continue;
    Apply(wants_.OnWants(peer->id, *v));
  }
}

}  // namespace ssb
