// The replication set, per-peer replication (legacy createHistoryStream fetches; serving them is
// the API's createHistoryStream, api/db.cc) and what follows a store append.
#include "replicator.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include "peer_receiver.h"
#include "ssb/ref.h"

namespace ssb {
namespace {

using asio::awaitable;
using json::Value;

}  // namespace

void PeerSync::StopFeed(const std::string& feed) {
  if (auto it = feed_streams.find(feed); it != feed_streams.end()) it->second->End();
  if (ebt) {  // stop receiving the feed from this peer
    ebt->Forget(feed);
    ebt_wake->Notify();
  }
}

Replicator::Replicator(NodeContext& node, Connections& connections, BlobTransfer& blobs)
    : node_(node), connections_(connections), blobs_(blobs) {}

Replicator::~Replicator() = default;

Status Replicator::Load() {
  options_.hops = node_.config.hops;
  auto changed = graph_.Update(*node_.store);
  if (!changed.ok()) return changed.status();
  set_ = ReplicationSet::Compute(graph_, node_.self_id, options_);
  return Status::Ok();
}

void Replicator::Recompute() {
  auto changed = graph_.Update(*node_.store);
  if (!changed.ok()) {
    node_.Log("reading contacts: " + changed.status().message());
    return;
  }
  ReplicationSet next = ReplicationSet::Compute(graph_, node_.self_id, options_);
  ReplicationDiff diff = ReplicationSet::Diff(set_, next);
  set_ = std::move(next);
  if (diff.added.empty()) return;
  if (node_.config.verbose) {
    node_.Log("replicating " + std::to_string(set_.size()) + " feeds (+" +
              std::to_string(diff.added.size()) + ")");
  }
  for (const auto& [c, sync] : syncs_) {
    if (sync->closed()) continue;
    for (const auto& f : diff.added) StartFeed(sync, f);
  }
}

bool Replicator::Request(const std::string& id, bool on) {
  if (on) {
    options_.requests.insert(id);
  } else {
    options_.requests.erase(id);
  }
  Recompute();
  return set_.Contains(id);
}

void Replicator::Block(const std::string& from, const std::string& to, bool blocking) {
  if (blocking) {
    serve_blocks_[from].insert(to);
  } else if (auto it = serve_blocks_.find(from); it != serve_blocks_.end()) {
    it->second.erase(to);
    if (it->second.empty()) serve_blocks_.erase(it);
  }
}

bool Replicator::ServeBlocked(const std::string& feed, const std::string& peer) const {
  auto it = serve_blocks_.find(feed);
  return it != serve_blocks_.end() && it->second.count(peer) > 0;
}

void Replicator::PeerConnected(const std::shared_ptr<Peer>& peer) {
  if (peer->outgoing) {
    Start(peer);
  } else {
    asio::co_spawn(node_.io, WaitForFirstWord(peer), asio::detached);
  }
}

// Let the peer that dialed us speak first: ssb-replicate (JS) starts legacy replication when
// we call createHistoryStream, but only once it has set up its side of the connection, which
// it has by the time it makes its first request.
awaitable<void> Replicator::WaitForFirstWord(std::shared_ptr<Peer> peer) {
  rpc::Signal first(node_.io.get_executor());
  peer->conn->SetRequestWake(&first);
  if (peer->conn->requests_received() == 0) co_await first.WaitFor(std::chrono::seconds(2));
  peer->conn->SetRequestWake(nullptr);
  if (!peer->conn->closed()) Start(peer);
}

void Replicator::PeerGone(const std::shared_ptr<Peer>& peer, const Status& why) {
  auto it = syncs_.find(peer->conn.get());
  uint64_t received = 0;
  if (it != syncs_.end()) {
    std::shared_ptr<PeerSync> sync = it->second;
    syncs_.erase(it);
    received = sync->receiver->received();
    // The receiver stores what arrived, then ends; producers waiting for room give up.
    sync->receiver->Wake();
  }
  node_.Log("disconnected " + peer->id + (why.ok() ? "" : ": " + why.message()) + " (" +
            std::to_string(received) + " messages received)");
}

std::shared_ptr<PeerSync> Replicator::Start(const std::shared_ptr<Peer>& peer,
                                           std::shared_ptr<rpc::Stream> ebt) {
  if (auto it = syncs_.find(peer->conn.get()); it != syncs_.end()) {
    return it->second;  // already started (an EBT request may come first)
  }
  auto sync = std::make_shared<PeerSync>();
  sync->peer = peer;
  sync->ebt_stream = std::move(ebt);
  // The receiver lives in the sync it would point back to: weak links avoid the cycle.
  std::weak_ptr<PeerSync> weak = sync;
  ReceiverHooks hooks{
      .wanted = [this](std::string_view feed) { return set_.Contains(feed); },
      .appended = [this](const std::vector<const PreparedMessage*>& stored) { OnAppended(stored); },
      .forked = [weak](const std::string& feed) {
        if (auto s = weak.lock()) s->StopFeed(feed);
      },
      .notes = [this, weak](const json::Value& packet) {
        if (auto s = weak.lock()) OnEbtNotes(*s, packet);
      },
      .sent = [weak](const std::string& feed, int64_t seq) {
        if (auto s = weak.lock(); s && s->ebt) s->ebt->OnReceived(feed, seq);
      },
  };
  sync->receiver = std::make_unique<PeerReceiver>(node_, peer, std::move(hooks));
  syncs_[peer->conn.get()] = sync;
  asio::co_spawn(node_.io, [sync]() -> awaitable<void> { co_await sync->receiver->Run(); },
                 asio::detached);
  // Feeds: over the peer's EBT session when it opened one with us; when we dialed, we ask for
  // EBT first (as ssb-ebt does) and fall back to legacy createHistoryStreams.
  if (sync->ebt_stream) {
    // ServeEbt runs the session.
  } else if (peer->outgoing && node_.config.ebt) {
    asio::co_spawn(node_.io, DialEbt(sync), asio::detached);
  } else {
    for (const auto& [feed, info] : set_.feeds()) StartFeed(sync, feed);
  }
  // Blob wants: we serve our createWants stream when it calls us; we call theirs.
  blobs_.StartPeer(peer);
  return sync;
}

void Replicator::StartFeed(const std::shared_ptr<PeerSync>& sync, const std::string& feed) {
  if (sync->closed()) return;
  if (sync->ebt) {
    auto latest = node_.store->Latest(feed);
    int64_t seq = latest.ok() && latest->has_value() ? (*latest)->sequence : 0;
    sync->ebt->SetLocal(feed, seq, /*receive=*/true);
    sync->ebt_wake->Notify();
    return;
  }
  if (sync->ebt_stream) return;  // an EBT session is starting
  if (!sync->fetching.insert(feed).second) return;
  asio::co_spawn(node_.io, FetchFeed(sync, feed), asio::detached);
}

awaitable<void> Replicator::FetchFeed(std::shared_ptr<PeerSync> sync, std::string feed) {
  if (sync->ebt_stream) {  // the peer asked for EBT meanwhile
    sync->fetching.erase(feed);
    co_return;
  }
  auto latest = node_.store->Latest(feed);
  if (!latest.ok()) {
    node_.Log("store: " + latest.status().message());
    sync->fetching.erase(feed);
    co_return;
  }
  int64_t have = latest->has_value() ? (*latest)->sequence : 0;
  Value opts = Value::Object();
  opts.Set("id", Value::String(feed));
  opts.Set("seq", Value::Number(static_cast<double>(have + 1)));
  opts.Set("live", Value::Bool(true));
  opts.Set("keys", Value::Bool(false));
  Value args = Value::Array();
  args.Push(std::move(opts));
  const std::vector<std::string> method{"createHistoryStream"};
  auto s = sync->peer->conn->Open(rpc::CallType::kSource, method, std::move(args));
  sync->feed_streams[feed] = s;
  for (;;) {
    auto r = co_await s->Read();
    if (!r.ok() || !*r) break;
    if ((*r)->type != rpc::BodyType::kJson) continue;
    co_await sync->receiver->Add(PacketSource::kHistory, feed, std::move((*r)->body));
  }
  if (auto it = sync->feed_streams.find(feed); it != sync->feed_streams.end() && it->second == s) {
    sync->feed_streams.erase(it);
  }
  sync->fetching.erase(feed);
}

void Replicator::OnAppended(const std::vector<const PreparedMessage*>& appended) {
  bool graph = false;
  for (const PreparedMessage* p : appended) {
    const Message& m = p->msg;
    if (AffectsGraph(m)) graph = true;
    const Value* c = m.content();
    if (!c || !c->is_object()) continue;  // private messages were decrypted by the ingest stage
    // Announced pubs become addresses to dial (the connection manager decides when).
    if (auto pub = PubMessageAddress(*c)) {
      if (connections_.AddGossip(*pub, PeerSource::kPub) && node_.config.verbose) {
        node_.Log("learned pub " + FormatAddress(*pub) + " from " + std::string(m.author()));
      }
    }
    blobs_.WantReferenced(m);
  }
  for (const auto& [c, sync] : syncs_) {
    if (!sync->ebt) continue;
    for (const PreparedMessage* p : appended) {
      if (auto seq = p->msg.sequence()) sync->ebt->OnAppend(p->msg.author(), *seq);
    }
    sync->ebt_wake->Notify();
  }
  node_.new_messages.Notify();
  if (graph) Recompute();
}

json::Value Replicator::EbtPeerStatus(const std::string& feed) const {
  Value out = Value::Object();
  for (const auto& [c, sync] : syncs_) {
    if (!sync->ebt) continue;
    auto note = sync->ebt->TheirNote(feed);
    if (!note) continue;
    Value p = Value::Object();
    p.Set("seq", Value::Number(static_cast<double>(note->sequence)));
    p.Set("replicating", Value::Bool(note->replicate));
    out.Set(sync->peer->id, std::move(p));
  }
  return out;
}

Replicator::PeerSummary Replicator::Summary(const rpc::Connection* conn) const {
  PeerSummary out;
  if (auto it = syncs_.find(conn); it != syncs_.end()) {
    out.received = it->second->receiver->received();
    out.ebt = it->second->ebt != nullptr;
  }
  return out;
}

}  // namespace ssb
