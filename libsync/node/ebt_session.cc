// EBT sessions (ebt.replicate, PROTOCOL.md §5.2), either side opening them: notes and
// messages in, our notes and the messages the peer waits for out.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include "peer_receiver.h"
#include "replicator.h"

namespace ssb {
namespace {

using asio::awaitable;
using json::Value;

// Messages read from the store per feed and round; between rounds the sender waits for the
// send queue to drain, so one slow peer cannot fill memory.
constexpr int64_t kSendChunk = 64;

}  // namespace

awaitable<std::pair<Status, bool>> Replicator::RunEbt(std::shared_ptr<PeerSync> sync,
                                                      std::shared_ptr<rpc::Stream> s) {
  sync->ebt = std::make_unique<ebt::PeerState>();
  sync->ebt_wake = std::make_unique<rpc::Signal>(node_.io.get_executor());
  s->SetWake(sync->ebt_wake.get());
  auto clock = node_.store->Clock();
  if (!clock.ok()) {
    s->End(clock.status());
    co_return std::make_pair(clock.status(), false);
  }
  sync->ebt_clock = std::move(clock).value();
  for (const auto& [feed, info] : set_.feeds()) {
    auto it = sync->ebt_clock.find(feed);
    sync->ebt->SetLocal(feed, it == sync->ebt_clock.end() ? 0 : it->second, /*receive=*/true);
  }
  bool sender_done = false;
  rpc::Signal done(node_.io.get_executor());
  asio::co_spawn(node_.io, [this, sync, s, &sender_done, &done]() -> awaitable<void> {
    co_await EbtSender(sync, s);
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
    // Parsed once, on a worker: messages are checked and stored, note maps come back in their
    // place (OnEbtNotes).
    co_await sync->receiver->Add(PacketSource::kEbt, std::string(), std::move((*r)->body));
  }
  s->End();
  sync->ebt_wake->Notify();
  while (!sender_done) co_await done.Wait();
  co_return std::make_pair(why, any);
}

void Replicator::OnEbtNotes(PeerSync& sync, const json::Value& packet) {
  if (!sync.ebt) return;  // the session is over
  // Feeds they ask about that we hold but do not replicate: we answer with what we have
  // (without asking for more) instead of -1, so that they can fetch them from us, as
  // createHistoryStream serves any feed we hold.
  const Value& map = ebt::NoteMapOf(packet);
  for (const std::string& feed : map.keys()) {  // none unless an object
    if (set_.Contains(feed) || set_.WeBlock(feed)) continue;
    if (auto it = sync.ebt_clock.find(feed); it != sync.ebt_clock.end() && !sync.ebt->TheirNote(feed)) {
      sync.ebt->SetLocal(feed, it->second, /*receive=*/false);
    }
  }
  if (sync.ebt->OnNotes(packet).ok()) sync.ebt_wake->Notify();
}

awaitable<void> Replicator::EbtSender(std::shared_ptr<PeerSync> sync,
                                      std::shared_ptr<rpc::Stream> s) {
  while (!s->closed() && !node_.stopping) {
    bool did = false;
    ebt::NoteMap notes = sync->ebt->TakeNotes();
    if (!notes.empty()) {
      s->WriteJson(ebt::NotesToJson(notes));
      did = true;
    }
    for (const auto& send : sync->ebt->AllToSend()) {
      if (s->closed()) break;
      if (ServeBlocked(send.feed, sync->peer->id)) continue;  // ebt.block
      HistoryQuery q;
      q.author = send.feed;
      q.start_seq = send.next;
      q.limit = std::min(kSendChunk, send.latest - send.next + 1);
      int64_t sent = 0;
      Status st = node_.store->History(q, [&](const StoredMessage& m) {
        s->WriteJsonText(m.value_json);  // the value as signed
        sync->ebt->MarkSent(send.feed, m.sequence);
        ++sent;
        return true;
      });
      if (!st.ok()) {
        node_.Log("store: " + st.message());
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
    if (!did) co_await sync->ebt_wake->Wait();
  }
}

awaitable<void> Replicator::DialEbt(std::shared_ptr<PeerSync> sync) {
  Value opts = Value::Object();
  opts.Set("version", Value::Number(3));
  opts.Set("format", Value::String("classic"));
  Value args = Value::Array();
  args.Push(std::move(opts));
  auto s = sync->peer->conn->Open(rpc::CallType::kDuplex, {"ebt", "replicate"}, std::move(args));
  sync->ebt_stream = s;
  auto [why, any] = co_await RunEbt(sync, s);
  sync->ebt_stream = nullptr;
  if (any || why.ok() || sync->closed() || node_.stopping) co_return;
  // No EBT there (ssb-server without ssb-ebt answers "no duplex:ebt,replicate"): legacy.
  if (node_.config.verbose) {
    node_.Log(sync->peer->id + " has no EBT (" + why.message() + "): legacy replication");
  }
  sync->ebt.reset();
  for (const auto& [feed, info] : set_.feeds()) StartFeed(sync, feed);
}

awaitable<void> Replicator::ServeEbt(const rpc::Connection* conn, std::shared_ptr<rpc::Stream> s) {
  auto peer = connections_.PeerOf(conn);
  if (!peer || peer->owner) {
    s->End(Status::Unsupported("ebt.replicate: not with the owner's connection"));
    co_return;
  }
  auto it = syncs_.find(conn);
  if (it != syncs_.end() && it->second->ebt_stream) {
    s->End(Status::Busy("ebt.replicate: a session with this peer is running"));
    co_return;
  }
  // Not started yet: Start leaves the feeds to this session instead of legacy streams.
  std::shared_ptr<PeerSync> sync = it != syncs_.end() ? it->second : Start(peer, s);
  sync->ebt_stream = s;
  // Legacy streams we may have opened before the request came are no longer needed.
  for (auto& [feed, stream] : sync->feed_streams) stream->End();
  co_await RunEbt(sync, s);
  sync->ebt_stream = nullptr;  // the peer may ask again
}

}  // namespace ssb
