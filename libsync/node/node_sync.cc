// Replication (legacy createHistoryStream, both directions) and blob transfer with peers.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "node_impl.h"
#include "ssb/box.h"
#include "ssb/feed_ops.h"
#include "ssb/ref.h"

namespace ssb {
namespace {

using asio::awaitable;
using json::Value;
constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);

// Messages read from the store per round while serving a history stream; between rounds the
// producer waits for the send queue to drain, so one slow peer cannot fill memory.
constexpr int64_t kServeChunk = 256;
// Largest blob chunk sent by blobs.get (ssb-blobs sends pull-file's 64 KiB).
constexpr size_t kBlobChunk = 64 * 1024;

}  // namespace

Status Node::Impl::LoadReplication() {
  repl_options_.hops = config_.hops;
  auto changed = graph_.Update(*store_);
  if (!changed.ok()) return changed.status();
  repl_set_ = ReplicationSet::Compute(graph_, self_id_, repl_options_);
  return Status::Ok();
}

void Node::Impl::RecomputeReplication() {
  auto changed = graph_.Update(*store_);
  if (!changed.ok()) {
    Log("reading contacts: " + changed.status().message());
    return;
  }
  ReplicationSet next = ReplicationSet::Compute(graph_, self_id_, repl_options_);
  ReplicationDiff diff = ReplicationSet::Diff(repl_set_, next);
  repl_set_ = std::move(next);
  if (diff.added.empty()) return;
  if (config_.verbose) {
    Log("replicating " + std::to_string(repl_set_.size()) + " feeds (+" +
        std::to_string(diff.added.size()) + ")");
  }
  for (const auto& [c, p] : peers_) {
    if (p->owner || p->conn->closed()) continue;
    for (const auto& f : diff.added) StartFeed(p, f);
  }
}

void Node::Impl::StartReplication(const std::shared_ptr<PeerState>& peer) {
  FeedIngestOptions iopt;
  iopt.validate = validate_;
  peer->ingest = std::make_unique<FeedIngest>(
      *store_, [this](std::string_view feed) { return repl_set_.Contains(feed); }, iopt);
  asio::co_spawn(io_, Flusher(peer), asio::detached);
  for (const auto& [feed, info] : repl_set_.feeds()) StartFeed(peer, feed);
  // Blob wants: we serve our createWants stream when it calls us; we call theirs.
  asio::co_spawn(io_, ReadPeerWants(peer), asio::detached);
  // Keep-alive from the side that dialed, as ssb-gossip does.
  if (peer->outgoing) {
    asio::co_spawn(io_, [this, peer]() -> awaitable<void> {
      Value args = Value::Array();
      Value opts = Value::Object();
      opts.Set("timeout", Value::Number(static_cast<double>(config_.ping_interval.count()) * 1000));
      args.Push(std::move(opts));
      auto s = peer->conn->Open(rpc::CallType::kDuplex, {"gossip", "ping"}, std::move(args));
      asio::steady_timer t(io_);
      while (!s->closed()) {
        s->WriteJson(Value::Number(NowMs()));
        auto r = co_await s->Read();  // their timestamp
        if (!r.ok() || !*r) break;
        t.expires_after(config_.ping_interval);
        co_await t.async_wait(kNoThrow);
      }
    }, asio::detached);
  }
}

void Node::Impl::StartFeed(const std::shared_ptr<PeerState>& peer, const std::string& feed) {
  if (peer->owner || peer->conn->closed()) return;
  if (!peer->fetching.insert(feed).second) return;
  asio::co_spawn(io_, FetchFeed(peer, feed), asio::detached);
}

awaitable<void> Node::Impl::FetchFeed(std::shared_ptr<PeerState> peer, std::string feed) {
  auto latest = peer->ingest->Latest(feed);
  if (!latest.ok()) {
    Log("store: " + latest.status().message());
    peer->fetching.erase(feed);
    co_return;
  }
  Value opts = Value::Object();
  opts.Set("id", Value::String(feed));
  opts.Set("seq", Value::Number(static_cast<double>(*latest + 1)));
  opts.Set("live", Value::Bool(true));
  opts.Set("keys", Value::Bool(false));
  Value args = Value::Array();
  args.Push(std::move(opts));
  auto s = peer->conn->Open(rpc::CallType::kSource, {"createHistoryStream"}, std::move(args));
  for (;;) {
    auto r = co_await s->Read();
    if (!r.ok() || !*r) break;
    if ((*r)->type != rpc::BodyType::kJson) continue;
    auto res = peer->ingest->Receive((*r)->body);
    if (!res.ok()) {
      Log("store: " + res.status().message());
      s->End();
      break;
    }
    ++peer->messages_received;
    if (res->verdict == IngestVerdict::kInvalid) {
      Log("peer " + peer->id + " sent an invalid message of " + feed + ": " +
          res->status.message() + "; disconnecting");
      peer->conn->Abort(Status::InvalidMessage("sent an invalid message: " + res->status.message()));
      break;
    }
    if (res->verdict == IngestVerdict::kFork) {
      Log("fork in " + feed + " from " + peer->id + ": " + res->status.message());
      s->End();
      break;
    }
    if (res->verdict == IngestVerdict::kAccepted && peer->flush_signal) {
      peer->flush_signal->Notify();
    }
  }
  peer->fetching.erase(feed);
}

awaitable<void> Node::Impl::Flusher(std::shared_ptr<PeerState> peer) {
  rpc::Signal wake(io_.get_executor());
  peer->flush_signal = &wake;
  asio::steady_timer t(io_);
  while (!peer->conn->closed() && !stopping_) {
    if (peer->ingest->queued() == 0) {
      co_await wake.Wait();
      continue;
    }
    // Let a burst collect for a moment, then write it in one transaction.
    t.expires_after(std::chrono::milliseconds(20));
    co_await t.async_wait(kNoThrow);
    auto report = peer->ingest->Flush();
    if (!report.ok()) {
      Log("store: " + report.status().message());
      continue;
    }
    if (!report->appended.empty()) AfterAppend(report->appended);
  }
  peer->flush_signal = nullptr;
}

void Node::Impl::AfterAppend(const std::vector<Message>& appended) {
  bool graph = false;
  for (const Message& m : appended) {
    if (AffectsGraph(m)) graph = true;
    if (m.is_encrypted()) {
      // Ours to read? Keep the plaintext so the stream verbs show it (as ssb-db does).
      if (const Value* c = m.content(); c && c->is_string()) {
        if (auto plain = BoxDecrypt(c->as_string(), keys_)) {
          auto parsed = json::Parse(*plain);
          if (parsed.ok()) (void)store_->SetPlaintext(m.id(), json::Stringify(*parsed));
        }
      }
    } else if (const Value* c = m.content(); c && c->is_object()) {
      // Announced pubs become gossip candidates.
      const Value* type = c->Find("type");
      const Value* addr = c->Find("address");
      if (type && type->is_string() && type->as_string() == "pub" && addr && addr->is_object()) {
        std::string host, key;
        int64_t port = 0;
        if (OptString(*addr, "host", &host).ok() && OptString(*addr, "key", &key).ok() &&
            OptInt(*addr, "port", &port).ok() && port > 0 && port < 65536) {
          if (auto pk = ParseFeedId(key)) AddGossip({host, static_cast<uint16_t>(port), *pk}, "pub");
        }
      }
      ApplyBlobActions(blob_wants_->WantReferenced(m));
    }
  }
  NotifyNewMessages();
  if (graph) RecomputeReplication();
}

awaitable<void> Node::Impl::ServeHistory(std::shared_ptr<rpc::Stream> s, HistoryArgs args,
                                         bool anonymous) {
  if (!IsFeedId(args.query.author, true)) {
    s->End(Status::InvalidArgument("createHistoryStream needs a feed id, not " +
                                   args.query.author));
    co_return;
  }
  // Feeds we block are not served (as ssb-replicate ends such streams at once).
  if (anonymous && repl_set_.WeBlock(args.query.author)) co_return;
  int64_t next = std::max<int64_t>(1, args.query.start_seq);
  int64_t left = args.query.limit;  // negative: no limit
  if (!args.old) {
    auto latest = store_->Latest(args.query.author);
    if (latest.ok() && latest->has_value()) next = (*latest)->sequence + 1;
  }
  s->SetWake(new_messages_.get());
  while (!s->closed() && !stopping_) {
    HistoryQuery q = args.query;
    q.start_seq = next;
    q.reverse = args.query.reverse && !args.live;
    q.limit = left < 0 ? kServeChunk : std::min(left, kServeChunk);
    int64_t sent = 0;
    Status st = store_->History(q, [&](const StoredMessage& m) {
      s->WriteJsonText(FormatMessage(m, args.format));
      next = m.sequence + 1;
      ++sent;
      return true;
    });
    if (!st.ok()) {
      s->End(st);
      co_return;
    }
    if (left > 0) {
      left -= sent;
      if (left == 0) co_return;
    }
    if (q.reverse) co_return;  // a reverse read is one pass
    if (sent == q.limit) {
      co_await s->Drain();
      continue;  // more backlog
    }
    if (!args.live) co_return;
    co_await s->Drain();
    if (s->closed()) break;
    co_await new_messages_->Wait();
  }
}

// ---- blobs ----

void Node::Impl::ApplyBlobActions(const BlobWants::Actions& actions) {
  for (const auto& send : actions.sends) {
    auto p = PeerById(send.peer);
    if (p && p->wants_out && !p->wants_out->closed()) p->wants_out->WriteJson(WantMapToJson(send.map));
  }
  for (const auto& f : actions.fetches) {
    auto p = PeerById(f.peer);
    if (!p) {
      ApplyBlobActions(blob_wants_->FetchFailed(f.peer, f.blob));
      continue;
    }
    asio::co_spawn(io_, FetchBlob(p, f.blob, f.max), asio::detached);
  }
}

awaitable<void> Node::Impl::FetchBlob(std::shared_ptr<PeerState> peer, std::string blob,
                                      uint64_t max) {
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
  if (st.ok()) st = blobs_->AddExpecting(blob, bytes);  // checks the hash before storing
  if (!st.ok()) {
    Log("blob " + blob + " from " + peer->id + ": " + st.message());
    ApplyBlobActions(blob_wants_->FetchFailed(peer->id, blob));
    co_return;
  }
  if (config_.verbose) Log("got blob " + blob + " (" + std::to_string(bytes.size()) + " bytes)");
  last_blob_added_ = blob;
  blobs_changed_->Notify();
  ApplyBlobActions(blob_wants_->BlobStored(blob, bytes.size()));
}

awaitable<void> Node::Impl::ReadPeerWants(std::shared_ptr<PeerState> peer) {
  auto s = peer->conn->Open(rpc::CallType::kSource, {"blobs", "createWants"}, Value::Array());
  for (;;) {
    auto r = co_await s->Read();
    if (!r.ok() || !*r) break;
    auto v = json::Parse((*r)->body);
    if (!v.ok()) continue;
    ApplyBlobActions(blob_wants_->OnWants(peer->id, *v));
  }
}

}  // namespace ssb
