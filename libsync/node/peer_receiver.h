// What one peer sends us, on its way into the store: the messages its EBT session or history
// streams deliver wait in an inbox; a worker pool parses them and checks signatures on every
// core, a few batches at a time, while the event loop keeps reading sockets and stores the
// checked batches in arrival order. Not a public header.
#pragma once

#include <asio/awaitable.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "connections.h"
#include "node_context.h"
#include "ssb/replication.h"

namespace ssb {

// A fixed set of worker threads for CPU work off the event loop (message parsing and
// signature checks). Jobs run in any order; the destructor finishes the queued ones and joins.
class WorkerPool {
 public:
  explicit WorkerPool(unsigned threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  void Submit(std::function<void()> job);
  unsigned size() const { return static_cast<unsigned>(threads_.size()); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

// What a receiver asks of, and tells, the replication around it.
struct ReceiverHooks {
  // Whether we replicate `feed` (messages of other feeds are ignored).
  std::function<bool(std::string_view feed)> wanted;
  // Messages just stored, in order.
  std::function<void(const std::vector<Message>&)> appended;
  // The peer sent a validly signed message that forks `feed`: stop receiving it from them.
  std::function<void(const std::string& feed)> forked;
};

class PeerReceiver {
 public:
  // Receives what `peer` sends; `workers` check signatures. A peer that sends an invalid
  // message is disconnected.
  PeerReceiver(NodeContext& node, WorkerPool& workers, std::shared_ptr<Peer> peer,
               ReceiverHooks hooks);
  ~PeerReceiver();

  // Runs until the peer's connection closes (or the node stops) and everything received was
  // stored.
  asio::awaitable<void> Run();
  // Queues a received message text (the value's JSON) of `feed`, waiting while the inbox is
  // full: then the stream is not read, and neither is the socket (TCP slows the peer down).
  asio::awaitable<void> Add(std::string feed, std::string text);
  // Wakes Run and the producers waiting in Add (the connection closed).
  void Wake();

  // The latest sequence of `feed` we hold or have queued (see FeedIngest::Latest).
  Result<int64_t> Latest(std::string_view feed) { return ingest_.Latest(feed); }
  uint64_t received() const { return received_; }

 private:
  struct Batch;
  void Submit(size_t n);
  void Apply(Batch& b);
  void Flush();

  bool closed() const { return peer_->conn->closed(); }

  NodeContext& node_;
  WorkerPool& workers_;
  std::shared_ptr<Peer> peer_;
  ReceiverHooks hooks_;
  FeedIngest ingest_;
  // Messages read from the peer, in arrival order, waiting for the workers.
  std::vector<std::pair<std::string, std::string>> inbox_;  // (feed, message text)
  rpc::Signal inbox_signal_;  // wakes Run: input, or a batch finished
  rpc::Signal inbox_room_;    // wakes producers waiting for room in the inbox
  std::deque<std::shared_ptr<Batch>> inflight_;
  uint64_t received_ = 0;
};

}  // namespace ssb
