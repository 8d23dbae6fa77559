// A peer's received messages: inbox, parallel checks, in-order appends.
#include "peer_receiver.h"

#include <asio/post.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>


namespace ssb {
namespace {

using asio::awaitable;
using json::Value;
constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);

// Messages waiting for the workers per peer, how many they check at once, and how many
// batches may be checked at once.
constexpr size_t kMaxInbox = 2048;
constexpr size_t kVerifyBatch = 512;
constexpr size_t kInFlight = 3;

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

// A batch of received message texts on its way through the workers.
struct PeerReceiver::Batch {
  std::vector<std::pair<std::string, std::string>> items;  // (feed, text)
  std::vector<std::optional<Message>> msgs;                 // parsed
  std::vector<char> verified;                               // signature checked and good
  std::atomic<size_t> pending{0};                           // jobs still running
  bool done = false;                                        // set on the event loop
};

namespace {

FeedIngestOptions IngestOptions(const ValidateOptions& validate) {
  FeedIngestOptions o;
  o.validate = validate;
  o.batch_size = 512;
  return o;
}

}  // namespace

PeerReceiver::PeerReceiver(NodeContext& node, WorkerPool& workers, std::shared_ptr<Peer> peer,
                           ReceiverHooks hooks)
    : node_(node),
      workers_(workers),
      peer_(std::move(peer)),
      hooks_(std::move(hooks)),
      ingest_(*node.store, hooks_.wanted, IngestOptions(node.validate)),
      inbox_signal_(node.io.get_executor()),
      inbox_room_(node.io.get_executor()) {}

PeerReceiver::~PeerReceiver() = default;

void PeerReceiver::Wake() {
  inbox_signal_.Notify();
  inbox_room_.Notify();
}

awaitable<void> PeerReceiver::Add(std::string feed, std::string text) {
  // Room in the inbox; while there is none we stop reading this stream, and the connection
  // stops reading the socket (TCP slows the peer down).
  while (inbox_.size() >= kMaxInbox && !closed()) co_await inbox_room_.Wait();
  inbox_.emplace_back(std::move(feed), std::move(text));
  // Run wants to know when there is something, or a whole batch, to check.
  if (inbox_.size() == 1 || inbox_.size() % kVerifyBatch == 0) inbox_signal_.Notify();
}

void PeerReceiver::Flush() {
  auto report = ingest_.Flush();
  if (!report.ok()) {
    node_.Log("store: " + report.status().message());
    return;
  }
  if (!report->appended.empty()) hooks_.appended(report->appended);
}

void PeerReceiver::Submit(size_t n) {
  auto b = std::make_shared<Batch>();
  b->items.assign(std::make_move_iterator(inbox_.begin()),
                  std::make_move_iterator(inbox_.begin() + static_cast<ptrdiff_t>(n)));
  inbox_.erase(inbox_.begin(), inbox_.begin() + static_cast<ptrdiff_t>(n));
  inbox_room_.Notify();
  b->msgs.assign(n, std::nullopt);
  b->verified.assign(n, 0);
  size_t jobs = std::min<size_t>(workers_.size(), std::max<size_t>(1, n / 32));
  size_t per = (n + jobs - 1) / jobs;
  b->pending = (n + per - 1) / per;
  for (size_t from = 0; from < n; from += per) {
    size_t to = std::min(n, from + per);
    workers_.Submit([this, b, from, to] {
      for (size_t i = from; i < to; ++i) {
        auto m = Message::Parse(b->items[i].second);
        if (!m.ok()) continue;
        if (LooksSigned(*m)) b->verified[i] = VerifyMessageSignature(*m, node_.validate) ? 1 : 0;
        b->msgs[i] = std::move(m).value();
      }
      if (--b->pending == 0) {
        asio::post(node_.io, [this, b] {
          b->done = true;
          inbox_signal_.Notify();
        });
      }
    });
  }
  inflight_.push_back(std::move(b));
}

void PeerReceiver::Apply(Batch& b) {
  const std::string& who = peer_->id;
  for (size_t i = 0; i < b.items.size() && !closed(); ++i) {
    const std::string& feed = b.items[i].first;
    Result<IngestResult> res = !b.msgs[i]     ? ingest_.Receive(b.items[i].second)
                               : b.verified[i] ? ingest_.ReceiveVerified(std::move(*b.msgs[i]))
                                               : ingest_.Receive(std::move(*b.msgs[i]));
    if (!res.ok()) {
      node_.Log("store: " + res.status().message());
      continue;
    }
    ++received_;
    if (res->verdict == IngestVerdict::kInvalid) {
      node_.Log("peer " + who + " sent an invalid message of " + feed + ": " +
                res->status.message() + "; disconnecting");
      peer_->conn->Abort(
          Status::InvalidMessage("sent an invalid message: " + res->status.message()));
      break;
    }
    if (res->verdict == IngestVerdict::kFork) {
      node_.Log("fork in " + feed + " from " + who + ": " + res->status.message());
      hooks_.forked(feed);
    }
  }
  b.items.clear();
  // Store this batch and hand what was stored (automatic flushes included) to the hook
  // now: the ingest keeps stored messages for the report until Flush().
  Flush();
}

// The event loop never blocks on the workers: a finished batch is announced by a post back to
// it. Up to kInFlight batches are checked while the loop keeps reading sockets and applies
// finished batches to the store in arrival order.
awaitable<void> PeerReceiver::Run() {
  asio::steady_timer gather(node_.io);
  for (;;) {
    while (!inflight_.empty() && inflight_.front()->done) {
      Apply(*inflight_.front());
      inflight_.pop_front();
    }
    bool open = !closed() && !node_.stopping;
    if (!inbox_.empty() && inflight_.size() < kInFlight) {
      if (inbox_.size() >= kVerifyBatch || !open) {
        Submit(std::min(inbox_.size(), kVerifyBatch));
        continue;
      }
      if (inflight_.empty()) {
        // A small inbox and idle workers: let the fetchers of the other feeds add what the
        // last socket read brought, and wait a moment for more, so that a batch is big enough
        // to split across cores.
        co_await asio::post(node_.io.get_executor(), asio::use_awaitable);
        if (inbox_.size() < kVerifyBatch / 4) {
          gather.expires_after(std::chrono::milliseconds(2));
          co_await gather.async_wait(kNoThrow);
        }
        if (!inbox_.empty()) Submit(std::min(inbox_.size(), kVerifyBatch));
        continue;
      }
    }
    if (inflight_.empty() && inbox_.empty()) {
      if (!open) break;
      if (ingest_.queued() > 0) Flush();  // idle: make what we have visible
    }
    co_await inbox_signal_.Wait();  // more input, or a batch finished
  }
  Flush();
}

}  // namespace ssb
