// A peer's received packets: inbox, checks on the worker pool, in-order appends.
#include "peer_receiver.h"

#include <asio/post.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "ssb/ebt.h"

namespace ssb {
namespace {

using asio::awaitable;
constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);

// Packets waiting for the workers per peer, how many they check at once, and how many
// batches may be checked at once. Each message in flight holds its parsed value, stored text and
// links: batches of 384 keep bench/net's receiver at 24.2–24.8 MiB peak (25.2–25.8 with 512), at
// the same speed within the runs' noise.
constexpr size_t kMaxInbox = 2048;
constexpr size_t kBatch = 384;
constexpr size_t kInFlight = 3;

IngestOptions CheckOptions(const NodeContext& node) {
  IngestOptions o;
  o.validate = node.validate;
  o.reader = &node.keys;  // private messages for us are stored decrypted
  // An EBT packet that is not a message is a note map (or nothing we know); a history stream
  // item is always meant as a message.
  o.is_message = [](const IngestRecord& r, const json::Value& v) {
    return static_cast<PacketSource>(r.tag) != PacketSource::kEbt ||
           ebt::Classify(v) == ebt::PacketKind::kMessage;
  };
  return o;
}

}  // namespace

// Packets on their way through the workers, and the feed of each (history streams).
struct PeerReceiver::Batch : IngestBatch {
  std::vector<std::string> feeds;
  bool done = false;  // checked; set on the event loop
};

PeerReceiver::PeerReceiver(NodeContext& node, std::shared_ptr<Peer> peer, ReceiverHooks hooks)
    : node_(node),
      peer_(std::move(peer)),
      hooks_(std::move(hooks)),
      checker_(CheckOptions(node)),
      writer_(*node.store, checker_.options()),
      inbox_(std::make_unique<Batch>()),
      inbox_signal_(node.io.get_executor()),
      inbox_room_(node.io.get_executor()) {
  writer_.AddHook([this](const std::vector<const PreparedMessage*>& stored) {
    hooks_.appended(stored);
  });
}

PeerReceiver::~PeerReceiver() = default;

void PeerReceiver::Wake() {
  inbox_signal_.Notify();
  inbox_room_.Notify();
}

awaitable<void> PeerReceiver::Add(PacketSource source, std::string feed, std::string text) {
  // Room in the inbox; while there is none we stop reading this stream, and the connection
  // stops reading the socket (TCP slows the peer down).
  while (inbox_->records.size() >= kMaxInbox && !closed()) co_await inbox_room_.Wait();
  inbox_->Add(std::move(text), static_cast<uint64_t>(source));
  inbox_->feeds.push_back(std::move(feed));
  // Run wants to know when there is something, or a whole batch, to check.
  size_t n = inbox_->records.size();
  if (n == 1 || n % kBatch == 0) inbox_signal_.Notify();
}

void PeerReceiver::Submit(size_t n) {
  std::shared_ptr<Batch> b;
  Batch& in = *inbox_;
  if (n == in.records.size()) {
    b = std::move(inbox_);  // the whole inbox
    inbox_ = std::make_unique<Batch>();
  } else {
    b = std::make_shared<Batch>();
    for (size_t i = 0; i < n; ++i) {
      b->Add(std::move(in.records[i].text), in.records[i].tag);
      b->feeds.push_back(std::move(in.feeds[i]));
    }
    in.records.erase(in.records.begin(), in.records.begin() + static_cast<ptrdiff_t>(n));
    in.feeds.erase(in.feeds.begin(), in.feeds.begin() + static_cast<ptrdiff_t>(n));
  }
  inbox_room_.Notify();
  checker_.CheckAsync(b, [this, b] {
    // On a worker: hand the batch back to the event loop.
    asio::post(node_.io, [this, b] {
      b->done = true;
      inbox_signal_.Notify();
    });
  });
  inflight_.push_back(std::move(b));
}

void PeerReceiver::Apply(Batch& b) {
  const std::string& who = peer_->id;
  // What the ingest stage does not decide: note maps, feeds we do not replicate, and EBT
  // packets that are not JSON (ignored, as a note map we cannot read would be).
  for (size_t i = 0; i < b.records.size(); ++i) {
    IngestRecord& r = b.records[i];
    bool ebt = static_cast<PacketSource>(r.tag) == PacketSource::kEbt;
    if (r.kind == IngestRecord::Kind::kOther) {
      if (ebt::Classify(r.other) == ebt::PacketKind::kNotes && hooks_.notes) hooks_.notes(r.other);
      continue;
    }
    if (r.kind == IngestRecord::Kind::kBad) {
      r.skip = ebt;
      continue;
    }
    const Message& m = r.message->msg;
    std::string author(m.author());
    if (ebt && hooks_.sent) {
      // A sequence past 2^53 cannot be valid (the store says so); only track sane ones.
      if (auto seq = m.sequence()) hooks_.sent(author, *seq);
    }
    // Messages of feeds we do not replicate are not ours to keep.
    if (!hooks_.wanted(author)) r.skip = true;
  }
  if (closed()) return;
  Status st = writer_.Append(b);
  if (!st.ok()) {
    node_.Log("store: " + st.message());
    return;
  }
  for (size_t i = 0; i < b.records.size(); ++i) {
    IngestRecord& r = b.records[i];
    if (r.skip || (r.kind != IngestRecord::Kind::kMessage && r.kind != IngestRecord::Kind::kBad)) {
      continue;
    }
    ++received_;
    const AppendOutcome& o = r.outcome;
    if (o.kind != AppendKind::kRejected) continue;
    std::string feed = r.message ? std::string(r.message->msg.author()) : b.feeds[i];
    if (feed.empty()) feed = b.feeds[i];
    if (o.status.code() == Code::kFork) {
      node_.Log("fork in " + feed + " from " + who + ": " + o.status.message());
      hooks_.forked(feed);
      continue;
    }
    node_.Log("peer " + who + " sent an invalid message of " + feed + ": " + o.status.message() +
              "; disconnecting");
    peer_->conn->Abort(Status::InvalidMessage("sent an invalid message: " + o.status.message()));
    break;
  }
}

// The event loop never blocks on the workers: a checked batch is announced by a post back to
// it. Up to kInFlight batches are checked while the loop keeps reading sockets and applies
// checked batches to the store in arrival order.
awaitable<void> PeerReceiver::Run() {
  asio::steady_timer gather(node_.io);
  for (;;) {
    while (!inflight_.empty() && inflight_.front()->done) {
      Apply(*inflight_.front());
      inflight_.pop_front();
    }
    bool open = !closed() && !node_.stopping;
    size_t waiting = inbox_->records.size();
    if (waiting > 0 && inflight_.size() < kInFlight) {
      if (waiting >= kBatch || !open) {
        Submit(std::min(waiting, kBatch));
        continue;
      }
      if (inflight_.empty()) {
        // A small inbox and idle workers: let the fetchers of the other feeds add what the
        // last socket read brought, and wait a moment for more, so that a batch is big enough
        // to split across cores.
        co_await asio::post(node_.io.get_executor(), asio::use_awaitable);
        if (inbox_->records.size() < kBatch / 4) {
          gather.expires_after(std::chrono::milliseconds(2));
          co_await gather.async_wait(kNoThrow);
        }
        if (!inbox_->records.empty()) Submit(std::min(inbox_->records.size(), kBatch));
        continue;
      }
    }
    if (inflight_.empty() && inbox_->records.empty() && !open) break;
    co_await inbox_signal_.Wait();  // more input, or a batch finished
  }
}

}  // namespace ssb
