// The social graph as ssb-friends 4.3.0 (the `friends` plugin of ssb-server 16) answers it:
// friends.hops, isFollowing, isBlocking, get, hopStream, createFriendStream, stream.
//
// Every message whose content names a `contact` feed sets the edge from its author: blocking
// or flagged → -1 (block), following === true → 1 (follow), anything else → -2 (unfollow); the
// message stored last wins (ssb-friends reduces in log order). Private contact messages count
// once we have decrypted them, as ssb-friends sees what ssb-db can decrypt. Hops are the
// distances of dynamic-dijkstra's "simple" rules: a follow adds 1, a block or unfollow makes
// the distance negative (-1 from us for a block, -2 for an unfollow…), negative distances are
// not walked further, and of two distances the smaller in size wins, the positive one on a tie.
//
// This is what apps query; which feeds the node replicates is ReplicationSet's business
// (ssb/replication.h). Sans-IO: Update reads the store, nothing else does I/O.
// Thread-safety: none; use from one thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ssb/json.h"
#include "ssb/status.h"
#include "ssb/store.h"

namespace ssb {

class FriendsGraph {
 public:
  // Edge values, as ssb-friends stores them.
  static constexpr double kFollow = 1, kBlock = -1, kUnfollow = -2;

  FriendsGraph(std::string self, int max_hops);

  // Applies the contact messages stored since the last call (all on the first). Returns the
  // edges that changed, in order: {from, to, value (legacy: true/false/null)} as friends.stream
  // sends them. Errors: the store's. A message whose content does not parse is skipped.
  Result<std::vector<json::Value>> Update(Store& store);
  // Applies one message's content (for tests and for messages decrypted later).
  bool Apply(const std::string& author, const json::Value& content, std::vector<json::Value>* changes);

  // friends.hops: distances from `start` (default us) up to `max` (default the configured),
  // following edges backwards with `reverse`.
  json::Value Hops(const std::optional<std::string>& start, std::optional<double> max, bool reverse) const;
  // The configured hops from us (what hopStream starts with).
  json::Value HopsFromSelf() const { return Hops(std::nullopt, std::nullopt, false); }
  // isFollowing({source, dest}) / isBlocking({source, dest}).
  bool IsFollowing(const std::string& source, const std::string& dest) const;
  bool IsBlocking(const std::string& source, const std::string& dest) const;
  // get / get({source}) / get({source, dest}) / get({dest}), with legacy values (true: follow,
  // false: block, null: unfollow).
  json::Value Get(const json::Value& opts) const;

  const std::string& self() const { return self_; }
  int max_hops() const { return max_; }

 private:
  std::string self_;
  int max_;
  // from -> to -> value, each level in insertion order (as JavaScript objects keep keys), so
  // that answers list feeds in the order ssb-friends does.
  struct Edges {
    std::map<std::string, double> value;
    std::vector<std::string> order;
  };
  std::map<std::string, Edges> graph_;
  std::vector<std::string> from_order_;
  std::optional<ReadPosition> after_;
};

// The legacy value of an edge (friends.get, friends.stream): follow true, block false,
// unfollow and anything else null.
json::Value LegacyEdgeValue(double v);

// The entries of `after` whose value differs from `before` (a hopStream update).
json::Value HopsDiff(const json::Value& before, const json::Value& after);

}  // namespace ssb
