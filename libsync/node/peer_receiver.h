// What one peer sends us, on its way into the store through the ingest stage (ssb/ingest.h):
// the packets its EBT session and history streams deliver wait in an inbox; the process's
// worker pool parses and checks them on every core, a few batches at a time, while the event
// loop keeps reading sockets and stores the checked batches in arrival order, one transaction
// each. Not a public header.
#pragma once

#include <asio/awaitable.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "connections.h"
#include "node_context.h"
#include "ssb/ingest.h"

namespace ssb {

// What a receiver asks of, and tells, the replication around it.
struct ReceiverHooks {
  // Whether we replicate `feed` (messages of other feeds are ignored).
  std::function<bool(std::string_view feed)> wanted;
  // Messages just stored, in order.
  std::function<void(const std::vector<const PreparedMessage*>&)> appended;
  // The peer sent a validly signed message that forks `feed`: stop receiving it from them.
  std::function<void(const std::string& feed)> forked;
  // EBT: a note map the peer sent, in its place among the messages.
  std::function<void(const json::Value& packet)> notes;
  // EBT: the peer sent message `seq` of `feed` (whether we want it or not).
  std::function<void(const std::string& feed, int64_t seq)> sent;
};

// Where a packet came from: the ways they are read differ.
enum class PacketSource : uint8_t {
  kHistory,  // a legacy createHistoryStream item: a message, else the peer is at fault
  kEbt,      // an ebt.replicate packet: a message or a note map; anything else is ignored
};

class PeerReceiver {
 public:
  // Receives what `peer` sends. A peer that sends an invalid message is disconnected.
  PeerReceiver(NodeContext& node, std::shared_ptr<Peer> peer, ReceiverHooks hooks);
  ~PeerReceiver();

  // Runs until the peer's connection closes (or the node stops) and everything received was
  // stored.
  asio::awaitable<void> Run();
  // Queues one packet's JSON text (`feed`: the history stream's feed, "" for EBT), waiting
  // while the inbox is full: then the stream is not read, and neither is the socket (TCP slows
  // the peer down).
  asio::awaitable<void> Add(PacketSource source, std::string feed, std::string text);
  // Wakes Run and the producers waiting in Add (the connection closed).
  void Wake();

  uint64_t received() const { return received_; }

 private:
  struct Batch;
  void Submit(size_t n);
  void Apply(Batch& b);

  bool closed() const { return peer_->conn->closed(); }

  NodeContext& node_;
  std::shared_ptr<Peer> peer_;
  ReceiverHooks hooks_;
  IngestChecker checker_;
  IngestWriter writer_;
  // Packets read from the peer, in arrival order, waiting for the workers.
  std::unique_ptr<Batch> inbox_;
  rpc::Signal inbox_signal_;  // wakes Run: input, or a batch finished
  rpc::Signal inbox_room_;    // wakes producers waiting for room in the inbox
  std::deque<std::shared_ptr<Batch>> inflight_;
  uint64_t received_ = 0;
};

}  // namespace ssb
