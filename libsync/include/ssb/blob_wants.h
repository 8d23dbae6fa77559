// Blob wants: the logic of ssb-blobs 2 `blobs.createWants` (inject.js), without I/O.
// PROTOCOL.md §5.3.
//
// Each side calls createWants on the other and streams JSON maps {"&blob": n}: n < 0 = a want
// at distance |n| (-1: the sender itself wants it), n > 0 = "I have it, n bytes". The first map
// on a stream is the sender's whole want map. What this class does, as ssb-blobs does it:
//   - our want map: blob id → -hops (-1 = we want it; -2.. = forwarded for a peer);
//   - a peer's want -k that we cannot answer becomes our want -(k+1), sent to our other peers,
//     as long as k+1 <= sympathy (3); a want we can answer is answered on our stream to that
//     peer with the blob's size;
//   - a peer's "have n" with n < max makes it a source: the blob is fetched with blobs.get
//     from one such peer at a time (another one is tried on failure);
//   - a stored blob is announced to every peer as "have" and leaves the want map.
// Outputs are Actions: want-map updates to push on our createWants stream to a peer, and
// blobs.get calls to make. The network layer performs them, stores fetched bytes with
// BlobStore::AddExpecting (which checks the hash) and reports back with BlobStored or
// FetchFailed.
//
// Thread-safety: single-threaded; BlobLookup is called synchronously from every method.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ssb/blob_store.h"
#include "ssb/json.h"
#include "ssb/message.h"
#include "ssb/status.h"

namespace ssb {

// Which blobs we hold: the only thing BlobWants needs to know about our storage.
class BlobLookup {
 public:
  virtual ~BlobLookup() = default;
  // Size of our copy of `id`, or nullopt when we do not hold it.
  virtual std::optional<uint64_t> Size(std::string_view id) const = 0;
};

// BlobLookup over a BlobStore (which must outlive it).
class BlobStoreLookup final : public BlobLookup {
 public:
  explicit BlobStoreLookup(const BlobStore& store) : store_(store) {}
  std::optional<uint64_t> Size(std::string_view id) const override;

 private:
  const BlobStore& store_;
};

// Blob ids (without any "?query" suffix) referenced by string values anywhere in `content`
// (mentions, links, markdown fields that are exactly a ref...), first occurrence order, no
// duplicates, at most `max_refs`, walking at most `max_depth` levels. Text embedding a ref
// inside other words ("see &…sha256") is also scanned.
inline constexpr size_t kMaxBlobRefsPerMessage = 32;
std::vector<std::string> BlobRefsIn(const json::Value& content,
                                    size_t max_refs = kMaxBlobRefsPerMessage,
                                    size_t max_depth = 64);

// A blob id → n map as carried on createWants streams.
using WantMap = std::map<std::string, int64_t, std::less<>>;
json::Value WantMapToJson(const WantMap& map);

struct BlobWantsOptions {
  // Wants forwarded at most this far (ssb-blobs `sympathy`, default 3): a received -k is
  // registered as -(k+1) only when k+1 <= sympathy.
  int sympathy = 3;
  // Blobs are fetched only from peers that advertised a size < max_size (ssb-blobs `max`,
  // 5 MiB), and blobs.get is called with {key, max: max_size}.
  uint64_t max_size = kDefaultMaxBlobSize + 1;
  // Entries in our want map; wants beyond it are dropped (local Want() fails).
  size_t max_wants = 4096;
  // "have" entries remembered per peer; beyond it, only haves of blobs we want are kept.
  size_t max_haves_per_peer = 4096;
  // blobs.get calls in flight at once; more wants wait for a slot.
  size_t max_parallel_fetches = 4;
};

class BlobWants {
 public:
  // `lookup` must outlive this object.
  explicit BlobWants(const BlobLookup& lookup, BlobWantsOptions options = {});

  // Something to push on our createWants stream to `peer`.
  struct SendWants {
    std::string peer;
    WantMap map;
  };
  // A blobs.get({key: blob, max}) to call on `peer`.
  struct Fetch {
    std::string peer;
    std::string blob;
    uint64_t max = 0;
  };
  struct Actions {
    std::vector<SendWants> sends;  // at most one per peer
    std::vector<Fetch> fetches;
    bool empty() const { return sends.empty() && fetches.empty(); }
  };

  // A peer's createWants stream is open (we serve it): the first map to push on it is our
  // whole want map (sent even when empty, as ssb-blobs does). Calling it again for a known
  // peer resends the map.
  Actions PeerConnected(std::string_view peer);
  // The peer is gone: forget what it has; a fetch from it in flight counts as failed.
  Actions PeerDisconnected(std::string_view peer);

  // One map received on the peer's createWants stream (as parsed JSON). Entries whose key is
  // not a blob id or whose value is not an integer are ignored, as in ssb-blobs; a value that
  // is not an object is ignored entirely.
  Actions OnWants(std::string_view peer, const json::Value& map);
  Actions OnWants(std::string_view peer, const WantMap& map);

  // We want `blob` (a user asked, or a replicated message mentions it). Nothing happens when
  // we hold it already. Errors: kInvalidArgument (not a blob id), kLimitExceeded (want map
  // full).
  Result<Actions> Want(std::string_view blob);
  // Wants the blobs a message's content mentions (BlobRefsIn), skipping the ones we hold and
  // any beyond the want map's capacity.
  Actions WantReferenced(const Message& msg);

  // `blob` (of `size` bytes) is now in our store, e.g. a fetch completed and
  // BlobStore::AddExpecting succeeded: announce it to every peer and stop wanting it.
  Actions BlobStored(std::string_view blob, uint64_t size);
  // The blobs.get from `peer` failed (stream error, wrong size, hash mismatch): forget that
  // the peer has it and try another peer.
  Actions FetchFailed(std::string_view peer, std::string_view blob);

  // Our want map (blob → -hops).
  const WantMap& wants() const { return want_; }
  // What `peer` said it wants from us (its negative entries), as last received.
  const WantMap* PeerWants(std::string_view peer) const;
  // What `peer` said it has (blob → size).
  const WantMap* PeerHaves(std::string_view peer) const;
  // The peer a fetch of `blob` is in flight from, if any.
  std::optional<std::string> FetchingFrom(std::string_view blob) const;
  size_t peer_count() const { return peers_.size(); }

 private:
  struct Peer {
    WantMap wants;  // their wants (negative values)
    WantMap haves;  // their haves (sizes)
  };
  // Registers want `hops` (negative) for `blob`; true when our map changed.
  bool AddWant(const std::string& blob, int64_t hops);
  // Queues {blob: n} for every connected peer except `except`.
  void Broadcast(Actions* out, const std::string& blob, int64_t n, std::string_view except);
  void Push(Actions* out, std::string_view peer, const std::string& blob, int64_t n);
  // Starts fetches for wanted blobs available somewhere, within the parallel limit.
  void StartFetches(Actions* out);
  std::optional<std::string> SourceFor(const std::string& blob) const;
  void RecordHave(Peer& p, const std::string& blob, int64_t size);

  const BlobLookup& lookup_;
  BlobWantsOptions options_;
  WantMap want_;
  std::map<std::string, Peer, std::less<>> peers_;
  std::map<std::string, std::string, std::less<>> fetching_;  // blob → peer
};

}  // namespace ssb
