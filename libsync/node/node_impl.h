// Node internals shared by node.cc (lifecycle, connections, gossip, LAN), node_api.cc (RPC
// methods) and node_sync.cc (replication and blob transfer). Not a public header.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/signal_set.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ssb/address.h"
#include "ssb/blob_store.h"
#include "ssb/blob_wants.h"
#include "ssb/ebt.h"
#include "ssb/feed_ops.h"
#include "ssb/muxrpc.h"
#include "ssb/net.h"
#include "ssb/node.h"
#include "ssb/replication.h"
#include "ssb/store.h"

namespace ssb {

// One connected peer.
struct PeerState {
  std::shared_ptr<rpc::Connection> conn;
  std::string id;            // "@…ed25519"
  std::string address;       // where it is (for logs and gossip.peers)
  bool outgoing = false;     // we dialed it
  bool owner = false;        // the local socket or our own key: no replication
  double connected_at = 0;
  std::unique_ptr<FeedIngest> ingest;
  std::set<std::string> fetching;   // feeds with a createHistoryStream open to it
  std::shared_ptr<rpc::Stream> wants_out;  // our createWants stream to it (we serve)
  uint64_t messages_received = 0;
  // Messages read from its createHistoryStreams, in arrival order, waiting for the verifier.
  std::vector<std::pair<std::string, std::string>> inbox;  // (feed, message text)
  std::unique_ptr<rpc::Signal> inbox_signal;   // wakes the verifier
  std::unique_ptr<rpc::Signal> inbox_room;     // wakes fetchers waiting for room in the inbox
  std::map<std::string, std::shared_ptr<rpc::Stream>> feed_streams;  // by feed
  // EBT (ebt.replicate, PROTOCOL.md §5.2): the session's state and stream while one runs.
  // Legacy fetches (fetching, feed_streams) are not used with a peer that speaks EBT.
  std::unique_ptr<ebt::PeerState> ebt;
  std::shared_ptr<rpc::Stream> ebt_stream;
  std::unique_ptr<rpc::Signal> ebt_wake;  // wakes the EBT sender: notes, appends, the end
};

// A fixed set of worker threads for CPU work off the network thread (message parsing and
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

// A dialable address and its schedule.
struct GossipEntry {
  NetShsAddress address;
  std::string source;        // "seed", "pub", "lan", "manual"
  int failures = 0;
  std::chrono::steady_clock::time_point next_try{};
  std::chrono::steady_clock::time_point heard{};  // LAN: last announcement
  bool connecting = false;
};

class Node::Impl {
 public:
  explicit Impl(NodeConfig c);

  // ---- node.cc
  Status Open();
  Status Run();
  void Stop();
  std::string Address() const;
  void Log(const std::string& line) const;
  asio::awaitable<void> AcceptLoop();
  asio::awaitable<void> LocalAcceptLoop();
  asio::awaitable<void> IncomingPeer(asio::ip::tcp::socket socket);
  asio::awaitable<Status> Dial(NetShsAddress address);
  asio::awaitable<void> RunPeer(std::shared_ptr<PeerState> peer);
  asio::awaitable<void> GossipLoop();
  asio::awaitable<void> LanLoop();
  asio::awaitable<void> LanReceive();
  void AddGossip(const NetShsAddress& a, const std::string& source);
  bool IsConnected(const std::string& id) const;

  // ---- node_api.cc
  void RegisterApi();

  // ---- node_sync.cc
  Status LoadReplication();
  void RecomputeReplication();
  void StartReplication(const std::shared_ptr<PeerState>& peer);
  void StartFeed(const std::shared_ptr<PeerState>& peer, const std::string& feed);
  asio::awaitable<void> FetchFeed(std::shared_ptr<PeerState> peer, std::string feed);
  // Queues a received message text for the verifier, waiting while its inbox is full.
  asio::awaitable<void> ToInbox(std::shared_ptr<PeerState> peer, std::string feed,
                                std::string text);
  // EBT: the session on `s` (either side opened it) until it ends. Returns how it ended and
  // whether the peer sent anything at all (a peer without EBT ends at once with an error).
  asio::awaitable<std::pair<Status, bool>> RunEbt(std::shared_ptr<PeerState> peer,
                                                  std::shared_ptr<rpc::Stream> s);
  asio::awaitable<void> EbtSender(std::shared_ptr<PeerState> peer,
                                  std::shared_ptr<rpc::Stream> s);
  // We dialed: ask for EBT, and replicate the legacy way if the peer has none.
  asio::awaitable<void> DialEbt(std::shared_ptr<PeerState> peer);
  // The peer asked us for EBT (ebt.replicate).
  asio::awaitable<void> ServeEbt(std::shared_ptr<PeerState> peer, std::shared_ptr<rpc::Stream> s);
  asio::awaitable<void> Verifier(std::shared_ptr<PeerState> peer);
  void AfterAppend(const std::vector<Message>& appended);
  asio::awaitable<void> ServeHistory(std::shared_ptr<rpc::Stream> s, HistoryArgs args,
                                     bool anonymous);
  void ApplyBlobActions(const BlobWants::Actions& actions);
  asio::awaitable<void> FetchBlob(std::shared_ptr<PeerState> peer, std::string blob,
                                  uint64_t max);
  asio::awaitable<void> ReadPeerWants(std::shared_ptr<PeerState> peer);
  std::shared_ptr<PeerState> PeerById(const std::string& id) const;
  void NotifyNewMessages() { new_messages_->Notify(); }

  NodeConfig config_;
  asio::io_context io_;
  Keypair keys_;
  std::string self_id_;
  ValidateOptions validate_;
  std::unique_ptr<Store> store_;
  std::optional<BlobStore> blobs_;
  std::unique_ptr<BlobStoreLookup> blob_lookup_;
  std::unique_ptr<BlobWants> blob_wants_;
  rpc::Api api_;
  std::optional<asio::ip::tcp::acceptor> acceptor_;
  std::optional<asio::local::stream_protocol::acceptor> local_acceptor_;
  std::string local_path_;
  asio::signal_set signals_;
  std::unique_ptr<rpc::Signal> new_messages_;   // broadcast: the store grew
  std::unique_ptr<rpc::Signal> blobs_changed_;  // broadcast: a blob was added
  std::string last_blob_added_;
  std::map<rpc::Connection*, std::shared_ptr<PeerState>> peers_;
  std::map<std::string, GossipEntry> gossip_;   // by formatted address
  ContactGraph graph_;
  ReplicationOptions repl_options_;
  ReplicationSet repl_set_;
  bool stopping_ = false;
  uint64_t connections_refused_ = 0;
  // Last member: joined before anything its jobs use is destroyed.
  std::unique_ptr<WorkerPool> workers_;
};

}  // namespace ssb
