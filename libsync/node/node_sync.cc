// Replication (EBT and legacy createHistoryStream, both directions) and blob transfer with
// peers.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <deque>
#include <thread>

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
constexpr int64_t kServeChunk = 64;
// Messages waiting for the verifier per peer, and how many it checks at once.
constexpr size_t kMaxInbox = 2048;
constexpr size_t kVerifyBatch = 512;

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
  if (peer->ingest) return;  // already started (an EBT request may come first)
  FeedIngestOptions iopt;
  iopt.validate = validate_;
  iopt.batch_size = 512;
  peer->ingest = std::make_unique<FeedIngest>(
      *store_, [this](std::string_view feed) { return repl_set_.Contains(feed); }, iopt);
  peer->inbox_signal = std::make_unique<rpc::Signal>(io_.get_executor());
  peer->inbox_room = std::make_unique<rpc::Signal>(io_.get_executor());
  asio::co_spawn(io_, Verifier(peer), asio::detached);
  // Feeds: over the peer's EBT session when it opened one with us; when we dialed, we ask for
  // EBT first (as ssb-ebt does) and fall back to legacy createHistoryStreams.
  if (peer->ebt_stream) {
    // ServeEbt runs the session.
  } else if (peer->outgoing && config_.ebt) {
    asio::co_spawn(io_, DialEbt(peer), asio::detached);
  } else {
    for (const auto& [feed, info] : repl_set_.feeds()) StartFeed(peer, feed);
  }
  // Blob wants: we serve our createWants stream when it calls us; we call theirs.
  asio::co_spawn(io_, ReadPeerWants(peer), asio::detached);
  // Keep-alive from the side that dialed, as ssb-gossip does.
  if (peer->outgoing) {
    asio::co_spawn(io_, [this, peer]() -> awaitable<void> {
      Value args = Value::Array();
      Value opts = Value::Object();
      opts.Set("timeout", Value::Number(static_cast<double>(config_.ping_interval.count()) * 1000));
      args.Push(std::move(opts));
      const std::vector<std::string> ping{"gossip", "ping"};
      auto s = peer->conn->Open(rpc::CallType::kDuplex, ping, std::move(args));
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
  if (peer->ebt) {
    auto latest = store_->Latest(feed);
    int64_t seq = latest.ok() && latest->has_value() ? (*latest)->sequence : 0;
    peer->ebt->SetLocal(feed, seq, /*receive=*/true);
    peer->ebt_wake->Notify();
    return;
  }
  if (peer->ebt_stream) return;  // an EBT session is starting
  if (!peer->fetching.insert(feed).second) return;
  asio::co_spawn(io_, FetchFeed(peer, feed), asio::detached);
}

awaitable<void> Node::Impl::FetchFeed(std::shared_ptr<PeerState> peer, std::string feed) {
  if (peer->ebt_stream) {  // the peer asked for EBT meanwhile
    peer->fetching.erase(feed);
    co_return;
  }
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
  const std::vector<std::string> method{"createHistoryStream"};
  auto s = peer->conn->Open(rpc::CallType::kSource, method, std::move(args));
  peer->feed_streams[feed] = s;
  for (;;) {
    auto r = co_await s->Read();
    if (!r.ok() || !*r) break;
    if ((*r)->type != rpc::BodyType::kJson) continue;
    co_await ToInbox(peer, feed, std::move((*r)->body));
  }
  if (auto it = peer->feed_streams.find(feed); it != peer->feed_streams.end() && it->second == s) {
    peer->feed_streams.erase(it);
  }
  peer->fetching.erase(feed);
}

awaitable<void> Node::Impl::ToInbox(std::shared_ptr<PeerState> peer, std::string feed,
                                    std::string text) {
  // Room in the verifier's inbox; while there is none we stop reading this stream, and the
  // connection stops reading the socket (TCP slows the peer down).
  while (peer->inbox.size() >= kMaxInbox && !peer->conn->closed()) co_await peer->inbox_room->Wait();
  peer->inbox.emplace_back(std::move(feed), std::move(text));
  // The verifier wants to know when there is something, or a whole batch, to check.
  if (peer->inbox.size() == 1 || peer->inbox.size() % kVerifyBatch == 0) peer->inbox_signal->Notify();
}

// ---- EBT (PROTOCOL.md §5.2) ----

awaitable<std::pair<Status, bool>> Node::Impl::RunEbt(std::shared_ptr<PeerState> peer,
                                                      std::shared_ptr<rpc::Stream> s) {
  peer->ebt = std::make_unique<ebt::PeerState>();
  peer->ebt_wake = std::make_unique<rpc::Signal>(io_.get_executor());
  s->SetWake(peer->ebt_wake.get());
  auto clock = store_->Clock();
  if (!clock.ok()) {
    s->End(clock.status());
    co_return std::make_pair(clock.status(), false);
  }
  for (const auto& [feed, info] : repl_set_.feeds()) {
    auto it = clock->find(feed);
    peer->ebt->SetLocal(feed, it == clock->end() ? 0 : it->second, /*receive=*/true);
  }
  bool sender_done = false;
  rpc::Signal done(io_.get_executor());
  asio::co_spawn(io_, [this, peer, s, &sender_done, &done]() -> awaitable<void> {
    co_await EbtSender(peer, s);
    sender_done = true;
    done.Notify();
  }, asio::detached);

  Status why;
  bool any = false;
  for (;;) {
    auto r = co_await s->Read();
    if (!r.ok()) {
      why = r.status();
      break;
    }
    if (!*r) break;
    any = true;
    if ((*r)->type != rpc::BodyType::kJson) continue;
    auto v = json::Parse((*r)->body);
    if (!v.ok()) continue;
    switch (ebt::Classify(*v)) {
      case ebt::PacketKind::kNotes: {
        // Feeds they ask about that we hold but do not replicate: we answer with what we have
        // (without asking for more) instead of -1, so that they can fetch them from us, as
        // createHistoryStream serves any feed we hold.
        const Value& map = ebt::NoteMapOf(*v);
        for (const std::string& feed : map.keys()) {  // none unless an object
          if (repl_set_.Contains(feed) || repl_set_.WeBlock(feed)) continue;
          if (auto it = clock->find(feed); it != clock->end() && !peer->ebt->TheirNote(feed)) {
            peer->ebt->SetLocal(feed, it->second, /*receive=*/false);
          }
        }
        if (peer->ebt->OnNotes(*v).ok()) peer->ebt_wake->Notify();
        break;
      }
      case ebt::PacketKind::kMessage: {
        std::string author = v->Find("author")->as_string();
        // A sequence past 2^53 cannot be valid (the verifier says so); only track sane ones.
        if (double seq = v->Find("sequence")->as_number(); seq <= 9007199254740991.0) {
          peer->ebt->OnReceived(author, static_cast<int64_t>(seq));
        }
        // Messages of feeds we do not replicate are not ours to keep.
        if (repl_set_.Contains(author)) co_await ToInbox(peer, std::move(author), std::move((*r)->body));
        break;
      }
      case ebt::PacketKind::kInvalid:
        break;
    }
  }
  s->End();
  peer->ebt_wake->Notify();
  while (!sender_done) co_await done.Wait();
  co_return std::make_pair(why, any);
}

awaitable<void> Node::Impl::EbtSender(std::shared_ptr<PeerState> peer,
                                      std::shared_ptr<rpc::Stream> s) {
  MessageFormat bare;
  bare.keys = false;
  while (!s->closed() && !stopping_) {
    bool did = false;
    ebt::NoteMap notes = peer->ebt->TakeNotes();
    if (!notes.empty()) {
      s->WriteJson(ebt::NotesToJson(notes));
      did = true;
    }
    for (const auto& send : peer->ebt->AllToSend()) {
      if (s->closed()) break;
      HistoryQuery q;
      q.author = send.feed;
      q.start_seq = send.next;
      q.limit = std::min(kServeChunk, send.latest - send.next + 1);
      int64_t sent = 0;
      Status st = store_->History(q, [&](const StoredMessage& m) {
        s->WriteJsonText(FormatMessage(m, bare));
        peer->ebt->MarkSent(send.feed, m.sequence);
        ++sent;
        return true;
      });
      if (!st.ok()) {
        Log("store: " + st.message());
        s->End(st);
        co_return;
      }
      if (sent > 0) {
        did = true;
        co_await s->Drain();
      }
    }
    // Nothing to do: wait for their notes, our appends or the end (no co_await since the
    // checks above, so no wake-up was missed).
    if (!did) co_await peer->ebt_wake->Wait();
  }
}

awaitable<void> Node::Impl::DialEbt(std::shared_ptr<PeerState> peer) {
  Value opts = Value::Object();
  opts.Set("version", Value::Number(3));
  opts.Set("format", Value::String("classic"));
  Value args = Value::Array();
  args.Push(std::move(opts));
  auto s = peer->conn->Open(rpc::CallType::kDuplex, {"ebt", "replicate"}, std::move(args));
  peer->ebt_stream = s;
  auto [why, any] = co_await RunEbt(peer, s);
  peer->ebt_stream = nullptr;
  if (any || why.ok() || peer->conn->closed() || stopping_) co_return;
  // No EBT there (ssb-server without ssb-ebt answers "no duplex:ebt,replicate"): legacy.
  if (config_.verbose) Log(peer->id + " has no EBT (" + why.message() + "): legacy replication");
  peer->ebt.reset();
  for (const auto& [feed, info] : repl_set_.feeds()) StartFeed(peer, feed);
}

awaitable<void> Node::Impl::ServeEbt(std::shared_ptr<PeerState> peer,
                                     std::shared_ptr<rpc::Stream> s) {
  peer->ebt_stream = s;
  // Legacy streams we may have opened before the request came are no longer needed.
  for (auto& [feed, stream] : peer->feed_streams) stream->End();
  StartReplication(peer);
  co_await RunEbt(peer, s);
  peer->ebt_stream = nullptr;  // the peer may ask again
}

namespace {

// What VerifyMessageSignature needs to be called at all (the rest is Validate's business).
bool LooksSigned(const Message& m) {
  const Value& v = m.value();
  if (!v.is_object()) return false;
  const Value* sig = v.Find("signature");
  const Value* author = v.Find("author");
  return sig && sig->is_string() && author && author->is_string();
}

}  // namespace

WorkerPool::WorkerPool(unsigned threads) {
  for (unsigned i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      for (;;) {
        std::function<void()> job;
        {
          std::unique_lock lock(mu_);
          cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
          if (jobs_.empty()) return;  // stopping and drained
          job = std::move(jobs_.front());
          jobs_.pop_front();
        }
        job();
      }
    });
  }
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void WorkerPool::Submit(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

// A batch of received message texts on its way through the verifier.
struct VerifyBatch {
  std::vector<std::pair<std::string, std::string>> items;  // (feed, text)
  std::vector<std::optional<Message>> msgs;                 // parsed
  std::vector<char> verified;                               // signature checked and good
  std::atomic<size_t> pending{0};                           // jobs still running
  bool done = false;                                        // set on the network thread
};

// Received messages go through a pipeline: the network thread cuts the peer's inbox into
// batches and hands each to the worker pool (parse + signature check, split across all cores);
// up to kInFlight batches are checked while the network thread keeps reading sockets and
// applies finished batches to the store in arrival order. The network thread never blocks on
// the workers: a finished batch is announced by a post back to it.
awaitable<void> Node::Impl::Verifier(std::shared_ptr<PeerState> peer) {
  constexpr size_t kInFlight = 3;
  if (!workers_) workers_ = std::make_unique<WorkerPool>(std::max(1u, std::thread::hardware_concurrency()));
  asio::steady_timer gather(io_);
  std::deque<std::shared_ptr<VerifyBatch>> inflight;
  auto flush = [&]() {
    auto report = peer->ingest->Flush();
    if (!report.ok()) {
      Log("store: " + report.status().message());
      return;
    }
    if (!report->appended.empty()) AfterAppend(report->appended);
  };
  auto submit = [&](size_t n) {
    auto b = std::make_shared<VerifyBatch>();
    b->items.assign(std::make_move_iterator(peer->inbox.begin()),
                    std::make_move_iterator(peer->inbox.begin() + static_cast<ptrdiff_t>(n)));
    peer->inbox.erase(peer->inbox.begin(), peer->inbox.begin() + static_cast<ptrdiff_t>(n));
    peer->inbox_room->Notify();
    b->msgs.assign(n, std::nullopt);
    b->verified.assign(n, 0);
    size_t jobs = std::min<size_t>(workers_->size(), std::max<size_t>(1, n / 32));
    size_t per = (n + jobs - 1) / jobs;
    b->pending = (n + per - 1) / per;
    for (size_t from = 0; from < n; from += per) {
      size_t to = std::min(n, from + per);
      workers_->Submit([this, b, from, to, peer] {
        for (size_t i = from; i < to; ++i) {
          auto m = Message::Parse(b->items[i].second);
          if (!m.ok()) continue;
          if (LooksSigned(*m)) b->verified[i] = VerifyMessageSignature(*m, validate_) ? 1 : 0;
          b->msgs[i] = std::move(m).value();
        }
        if (--b->pending == 0) {
          asio::post(io_, [b, peer] {
            b->done = true;
            peer->inbox_signal->Notify();
          });
        }
      });
    }
    inflight.push_back(std::move(b));
  };
  auto apply = [&](VerifyBatch& b) {
    for (size_t i = 0; i < b.items.size() && !peer->conn->closed(); ++i) {
      const std::string& feed = b.items[i].first;
      Result<IngestResult> res = !b.msgs[i]     ? peer->ingest->Receive(b.items[i].second)
                                 : b.verified[i] ? peer->ingest->ReceiveVerified(std::move(*b.msgs[i]))
                                                 : peer->ingest->Receive(std::move(*b.msgs[i]));
      if (!res.ok()) {
        Log("store: " + res.status().message());
        continue;
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
        if (auto it = peer->feed_streams.find(feed); it != peer->feed_streams.end()) it->second->End();
        if (peer->ebt) {  // stop receiving the feed from this peer
          peer->ebt->Forget(feed);
          peer->ebt_wake->Notify();
        }
      }
    }
    b.items.clear();
    // Store this batch and hand what was stored (automatic flushes included) to AfterAppend
    // now: the ingest keeps stored messages for the report until Flush().
    flush();
  };
  for (;;) {
    while (!inflight.empty() && inflight.front()->done) {
      apply(*inflight.front());
      inflight.pop_front();
    }
    bool open = !peer->conn->closed() && !stopping_;
    if (!peer->inbox.empty() && inflight.size() < kInFlight) {
      if (peer->inbox.size() >= kVerifyBatch || !open) {
        submit(std::min(peer->inbox.size(), kVerifyBatch));
        continue;
      }
      if (inflight.empty()) {
        // A small inbox and idle workers: let the fetchers of the other feeds add what the
        // last socket read brought, and wait a moment for more, so that a batch is big enough
        // to split across cores.
        co_await asio::post(io_.get_executor(), asio::use_awaitable);
        if (peer->inbox.size() < kVerifyBatch / 4) {
          gather.expires_after(std::chrono::milliseconds(2));
          co_await gather.async_wait(kNoThrow);
        }
        if (!peer->inbox.empty()) submit(std::min(peer->inbox.size(), kVerifyBatch));
        continue;
      }
    }
    if (inflight.empty() && peer->inbox.empty()) {
      if (!open) break;
      if (peer->ingest->queued() > 0) flush();  // idle: make what we have visible
    }
    co_await peer->inbox_signal->Wait();  // more input, or a batch finished
  }
  flush();
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
  for (const auto& [c, p] : peers_) {
    if (!p->ebt) continue;
    for (const Message& m : appended) {
      if (auto seq = m.sequence()) p->ebt->OnAppend(m.author(), *seq);
    }
    p->ebt_wake->Notify();
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
