// Which feeds to replicate. (Messages from peers enter the store through the ingest stage,
// ssb/ingest.h.)
//
// Sans-IO: nothing here touches sockets or RPC. The network layer asks ReplicationSet which
// feeds to request (createHistoryStream / EBT notes). PROTOCOL.md §5.2.
//
//   ContactGraph   the follow/block graph of `contact` messages (latest per author and contact)
//   ReplicationSet ourselves + follows within `hops` + explicit requests − feeds we block
//
// Thread-safety: none of these classes is internally synchronized; use each from one thread
// (or guard it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ssb/json.h"
#include "ssb/message.h"
#include "ssb/status.h"
#include "ssb/store.h"

namespace ssb {

// ---------------------------------------------------------------------------------------------
// The contact graph.

// What one author's latest contact message says about one contact. ssb-friends 4 (legacy,
// contacts.js) reads a contact message in this order: following === true → follow (1);
// following === false → none (-2); blocking or flagged truthy → block (-1); otherwise the
// message is ignored. One deliberate difference: `blocking: false` alone (an unblock, as
// Patchwork sends it) sets none here, where ssb-friends 4 ignores it and keeps the block.
enum class ContactState : uint8_t { kNone = 0, kFollow = 1, kBlock = 2 };

// True when `msg` is a plaintext `contact` message that can change the graph: content.type is
// "contact", content.contact is a feed id, and it says something about following or blocking
// (a contact message with neither field changes nothing, as in ssb-friends). Does not check
// the signature or chain; call it on messages the store accepted.
bool AffectsGraph(const Message& msg);
// The same test over a parsed message value (e.g. a StoredMessage's value_json, parsed).
bool AffectsGraph(const json::Value& value);

// Limits that keep a hostile feed from blowing up memory or CPU.
struct ContactGraphLimits {
  // Distinct feed ids the graph holds (authors and contacts). Contact messages that would add
  // a new feed beyond this are ignored (and counted in ContactGraph::dropped()).
  size_t max_feeds = 200000;
};

// The follow/block graph: for every (author, contact) pair, the state set by the author's
// latest contact message about that contact (highest sequence wins, as ssb-friends does by log
// order). Incremental: Apply messages as they arrive, or Update() from the store; recomputing
// a ReplicationSet is a breadth-first walk, O(feeds + edges within range).
class ContactGraph {
 public:
  explicit ContactGraph(ContactGraphLimits limits = {});

  // Applies one message of `author` with sequence `seq`. Non-contact messages and messages
  // older than (or equal to) the one that set the edge are ignored. Returns true when the edge
  // state changed (the replication set may have changed).
  bool Apply(const Message& msg);
  bool Apply(std::string_view author, int64_t seq, const json::Value& content);

  // Reads the contact messages the store received since the last Update on this graph (all of
  // them on the first call), in receive order, and applies them. Returns how many edges
  // changed. Errors: the store's (kIoError, kCorruption, kBusy); a stored message that does not
  // parse is skipped, not an error. REQUIRES: always the same store.
  Result<size_t> Update(Store& store);

  // The state `author`'s latest contact message gives `contact` (kNone when none).
  ContactState Edge(std::string_view author, std::string_view contact) const;
  // Feeds `author` follows / blocks now.
  std::vector<std::string> Follows(std::string_view author) const;
  std::vector<std::string> Blocks(std::string_view author) const;

  size_t feed_count() const { return names_.size(); }
  size_t edge_count() const { return edge_count_; }
  // Contact messages ignored because of limits.
  size_t dropped() const { return dropped_; }

 private:
  friend class ReplicationSet;
  struct Link {
    ContactState state = ContactState::kNone;
    int64_t seq = 0;  // sequence of the message that set it
  };
  // Index of `feed`, adding it when `add` (nullopt when absent or over the limit).
  std::optional<uint32_t> Index(std::string_view feed, bool add);

  ContactGraphLimits limits_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, uint32_t> index_;
  // out_[author][contact] = edge; only edges ever set are present.
  std::vector<std::unordered_map<uint32_t, Link>> out_;
  size_t edge_count_ = 0;  // edges whose state is not kNone
  size_t dropped_ = 0;
  double last_received_ = -1;  // Update(): receive timestamp of the last message read
};

// ---------------------------------------------------------------------------------------------
// The replication set.

struct ReplicationOptions {
  // Follow distance to replicate: 0 = only ourselves, 1 = + feeds we follow, 2 = + feeds they
  // follow (the default here), ...
  int hops = 2;
  // Feeds asked for explicitly (replicate.request(id, true)); replicated at any distance,
  // unless we block them. Strings that are not feed ids are ignored.
  std::set<std::string, std::less<>> requests;
  // At most this many feeds (ourselves and requests first, then by distance, ties by id).
  size_t max_feeds = 100000;
};

// One feed in the set.
struct ReplicatedFeed {
  // Follow distance from us: 0 for ourselves, 1 for feeds we follow, ...; -1 for a feed that
  // is in the set only because it was requested (not followed within `hops`).
  int hops = -1;
  bool requested = false;  // in ReplicationOptions::requests
};

// What changed between two sets (for the network layer: start / stop replicating).
struct ReplicationDiff {
  std::vector<std::string> added;
  std::vector<std::string> removed;
  // Feeds in both whose hop distance changed.
  std::vector<std::string> changed;
};

// Ourselves, the feeds followed within `hops` through the latest contact messages, and the
// requested feeds — minus feeds we block (never replicated, even when requested or followed by
// our friends). Feeds blocked by others are not excluded: the legacy rules only let our own
// blocks decide what we fetch. A feed we block is not traversed either (its follows do not
// count).
class ReplicationSet {
 public:
  ReplicationSet() = default;
  // Computes the set from `graph`. `self` must be our feed id (it is always in the set).
  static ReplicationSet Compute(const ContactGraph& graph, std::string_view self,
                                const ReplicationOptions& options = {});
  // Convenience: a fresh ContactGraph read from `store`, then Compute. Errors: the store's.
  static Result<ReplicationSet> FromStore(Store& store, std::string_view self,
                                          const ReplicationOptions& options = {});

  bool Contains(std::string_view feed) const { return feeds_.find(feed) != feeds_.end(); }
  // The feed's hop distance (see ReplicatedFeed::hops), nullopt when not in the set.
  std::optional<int> Hops(std::string_view feed) const;
  // Feeds we block (our latest contact message says blocking). Serving them is the caller's
  // decision; ssb-replicate ends their createHistoryStream calls immediately.
  bool WeBlock(std::string_view feed) const { return blocked_.find(feed) != blocked_.end(); }

  const std::map<std::string, ReplicatedFeed, std::less<>>& feeds() const { return feeds_; }
  const std::set<std::string, std::less<>>& blocked() const { return blocked_; }
  const std::string& self() const { return self_; }
  size_t size() const { return feeds_.size(); }
  // True when max_feeds cut the set short.
  bool truncated() const { return truncated_; }

  static ReplicationDiff Diff(const ReplicationSet& before, const ReplicationSet& after);

 private:
  std::string self_;
  std::map<std::string, ReplicatedFeed, std::less<>> feeds_;
  std::set<std::string, std::less<>> blocked_;
  bool truncated_ = false;
};

}  // namespace ssb
