// The replication scheduler of a running node: which feeds we replicate (the follow graph,
// hops, requests, blocks) and how, with each connected peer: an EBT session when both sides
// speak it, else one legacy createHistoryStream per feed; and what we serve to peers that ask.
// Received messages go to the peer's receiver (peer_receiver.h), stored messages come back
// through OnAppended. PROTOCOL.md §5.2. Not a public header.
#pragma once

#include <asio/awaitable.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "blob_transfer.h"
#include "connections.h"
#include "node_context.h"
#include "ssb/ebt.h"
#include "ssb/feed_ops.h"
#include "ssb/replication.h"

namespace ssb {

class PeerReceiver;

// Replication with one peer.
struct PeerSync {
  std::shared_ptr<Peer> peer;
  std::unique_ptr<PeerReceiver> receiver;  // checks and stores what the peer sends
  std::set<std::string> fetching;          // feeds with a createHistoryStream open to it
  std::map<std::string, std::shared_ptr<rpc::Stream>> feed_streams;  // by feed
  // EBT (ebt.replicate, PROTOCOL.md §5.2): the session's state and stream while one runs.
  // Legacy fetches (fetching, feed_streams) are not used with a peer that speaks EBT.
  std::unique_ptr<ebt::PeerState> ebt;
  std::shared_ptr<rpc::Stream> ebt_stream;
  std::unique_ptr<rpc::Signal> ebt_wake;  // wakes the EBT sender: notes, appends, the end
  std::map<std::string, int64_t> ebt_clock;  // our vector clock when the session started

  bool closed() const { return peer->conn->closed(); }
  // A feed of this peer forked: stop receiving it from the peer.
  void StopFeed(const std::string& feed);
};

class Replicator {
 public:
  // `connections` and `blobs` must outlive this object.
  Replicator(NodeContext& node, Connections& connections, BlobTransfer& blobs);
  ~Replicator();

  // Reads the follow graph from the store and computes the replication set.
  // Errors: the store's.
  Status Load();

  // Peer events (from Connections). A peer that dialed us gets the first word: replication
  // starts at its first request or after 2 s.
  void PeerConnected(const std::shared_ptr<Peer>& peer);
  void PeerGone(const std::shared_ptr<Peer>& peer, const Status& why);

  // Messages just stored (from a peer, published by us, added by the owner): contact messages
  // change the replication set, pubs become gossip, mentioned blobs become wants, EBT
  // sessions learn what to send, live history streams wake up.
  void OnAppended(const std::vector<const PreparedMessage*>& appended);

  // replicate.request(id, on). Returns whether `id` is replicated now.
  bool Request(const std::string& id, bool on);
  // replicate.block / ebt.block (from, to, blocking), as ssb-replicate and ssb-ebt keep them:
  // while blocked, feed `from` is not served to peer `to` (its history streams end at once,
  // EBT does not send it).
  void Block(const std::string& from, const std::string& to, bool blocking);
  bool ServeBlocked(const std::string& feed, const std::string& peer) const;

  // ebt.replicate asked by the peer on connection `conn`. Ends `s` with an error when the
  // caller is the owner or a session with that peer runs already.
  asio::awaitable<void> ServeEbt(const rpc::Connection* conn, std::shared_ptr<rpc::Stream> s);

  const ReplicationSet& set() const { return set_; }
  // What `author`'s latest contact message says of `contact`.
  ContactState Edge(std::string_view author, std::string_view contact) const {
    return graph_.Edge(author, contact);
  }
  // ebt.peerStatus: for each peer in an EBT session, what it told us of `feed`:
  // {peer: {seq, replicating}}.
  json::Value EbtPeerStatus(const std::string& feed) const;
  // Messages received from the peer of `conn`, and whether it replicates by EBT.
  struct PeerSummary {
    uint64_t received = 0;
    bool ebt = false;
  };
  PeerSummary Summary(const rpc::Connection* conn) const;

 private:
  void Recompute();
  // Starts replication with `peer` (once; later calls return the same state). With `ebt`, the
  // peer opened that EBT session, which will carry the feeds.
  std::shared_ptr<PeerSync> Start(const std::shared_ptr<Peer>& peer,
                                  std::shared_ptr<rpc::Stream> ebt = nullptr);
  void StartFeed(const std::shared_ptr<PeerSync>& sync, const std::string& feed);
  asio::awaitable<void> FetchFeed(std::shared_ptr<PeerSync> sync, std::string feed);
  asio::awaitable<void> WaitForFirstWord(std::shared_ptr<Peer> peer);

  // EBT (ebt_session.cc).
  // The session on `s` (either side opened it) until it ends. Returns how it ended and
  // whether the peer sent anything at all (a peer without EBT ends at once with an error).
  asio::awaitable<std::pair<Status, bool>> RunEbt(std::shared_ptr<PeerSync> sync,
                                                  std::shared_ptr<rpc::Stream> s);
  asio::awaitable<void> EbtSender(std::shared_ptr<PeerSync> sync, std::shared_ptr<rpc::Stream> s);
  // We dialed: ask for EBT, and replicate the legacy way if the peer has none.
  asio::awaitable<void> DialEbt(std::shared_ptr<PeerSync> sync);
  // A note map the peer sent on its EBT session.
  void OnEbtNotes(PeerSync& sync, const json::Value& packet);

  NodeContext& node_;
  Connections& connections_;
  BlobTransfer& blobs_;
  ContactGraph graph_;
  ReplicationOptions options_;
  ReplicationSet set_;
  std::map<const rpc::Connection*, std::shared_ptr<PeerSync>> syncs_;  // started peers
  std::map<std::string, std::set<std::string>> serve_blocks_;  // feed -> peers not served
};

}  // namespace ssb
