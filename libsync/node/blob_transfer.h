// Blob transfer with peers (ssb-blobs 2, PROTOCOL.md §5.3): our want map on every peer's
// blobs.createWants stream, theirs read from ours, fetches with blobs.get. The decisions are
// BlobWants' (sans-IO); this part performs them. Not a public header.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "connections.h"
#include "node_context.h"
#include "ssb/blob_wants.h"

namespace ssb {

class BlobTransfer {
 public:
  // `connections` finds the peers that actions name; both must outlive this object.
  BlobTransfer(NodeContext& node, const Connections& connections);

  // Replication with `peer` started: read its createWants stream until it ends.
  void StartPeer(const std::shared_ptr<Peer>& peer);
  // The peer is gone: its fetches fail over to other peers.
  void PeerGone(const std::shared_ptr<Peer>& peer);
  // Wakes the streams that wait for blob changes (they end when the node stops).
  void Stop();

  // Serves blobs.createWants to `peer` on `s`: our want map, then updates until it closes.
  // The owner (or a peer we do not know) gets the map once.
  asio::awaitable<void> ServeWants(const std::shared_ptr<Peer>& peer, bool owner,
                                   std::shared_ptr<rpc::Stream> s);
  // Serves blobs.changes: the id of every blob added from now on.
  asio::awaitable<void> ServeChanges(std::shared_ptr<rpc::Stream> s);

  // A user wants `id` (blobs.want). Errors: BlobWants::Want's.
  Status Want(const std::string& id);
  // The blobs a stored message mentions become wants.
  void WantReferenced(const Message& msg);
  // Blob `id` of `size` bytes was stored (blobs.add or a fetch): announce it.
  void Stored(const std::string& id, uint64_t size);

  const BlobWants& wants() const { return wants_; }

 private:
  void Apply(const BlobWants::Actions& actions);
  asio::awaitable<void> Fetch(std::shared_ptr<Peer> peer, std::string blob, uint64_t max);
  asio::awaitable<void> ReadWants(std::shared_ptr<Peer> peer);

  NodeContext& node_;
  const Connections& connections_;
  BlobStoreLookup lookup_;
  BlobWants wants_;
  rpc::Signal changed_;        // broadcast: a blob was added
  std::string last_added_;
  std::map<const Peer*, std::shared_ptr<rpc::Stream>> wants_out_;  // createWants we serve
};

}  // namespace ssb
