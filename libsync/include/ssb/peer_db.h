// The peer database and dial policy of the connection manager (formats/peer-db.md).
//
// Every address the node may dial, where it came from (LAN, a `pub` message, an invite, a room,
// the owner, a seed), how dialing it went, and which of them to dial next: a few rooms kept
// connected, pubs and peers up to a quota, LAN addresses first, exponential backoff per address,
// redial after a drop. The long-lived entries (not LAN announcements, not room attendants) are
// kept in <data dir>/peers.json across restarts.
//
// Sans-IO: no sockets and no clocks; callers pass the time (milliseconds since the Unix epoch)
// and randomness in. Thread-safety: none; the node uses it from its network thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ssb/address.h"
#include "ssb/json.h"
#include "ssb/keys.h"
#include "ssb/status.h"

namespace ssb {

// How we learned an address. Stable names (formats/peer-db.md "source").
enum class PeerSource : uint8_t {
  kSeed,     // the config's seeds (or --seed)
  kManual,   // the owner: gossip.connect, room.join
  kInvite,   // the pub of an invite we accepted
  kPub,      // a `pub` message in a feed we replicate
  kLan,      // a LAN announcement (never stored)
  kRoom,     // an attendant a room told us about (a tunnel address; never stored)
};
std::string_view PeerSourceName(PeerSource s);
std::optional<PeerSource> PeerSourceFromName(std::string_view name);

// Limits of the file and of what the database holds. The file is data we wrote, but it lives
// in a directory others may write to, so it is parsed as untrusted input.
inline constexpr size_t kMaxPeerDbFileBytes = 4u << 20;
inline constexpr size_t kMaxPeerDbEntries = 5000;     // addresses of every source
inline constexpr size_t kMaxLearnedPubs = 1000;        // of them from `pub` messages
inline constexpr size_t kMaxPeerErrorBytes = 200;      // last_error is cut to this

struct PeerEntry {
  DialAddress address;
  PeerSource source = PeerSource::kManual;
  bool room = false;            // a room: kept connected, its attendants followed
  std::string note;             // the room's name, a pub's host: for people
  // For room attendants: the room that announced it (its key is also address.tunnel.portal).
  // Dial history. Times are ms since the Unix epoch; 0 = never.
  uint32_t failures = 0;        // consecutive failed dials (reset by a success)
  int64_t last_attempt = 0;
  int64_t last_success = 0;     // when a connection last came up
  int64_t last_failure = 0;
  int64_t next_try = 0;         // not before (backoff); kept across restarts
  std::string last_error;
  // Not stored: LAN liveness and whether a dial is under way.
  int64_t heard = 0;            // LAN: the last announcement
  bool dialing = false;
};

// What the node tells the planner about the present.
struct DialView {
  std::set<PublicKey> connected;        // peers with a live connection (either direction)
  std::set<PublicKey> rooms_connected;  // of those, rooms we attend (tunnels can go through)
  size_t outgoing_peers = 0;            // live outgoing connections that are not rooms
  size_t outgoing_pubs = 0;             // of those, to pubs learned from messages
  size_t rooms = 0;                     // live connections to rooms
  // Whether we want to reach this peer through a room at all (we replicate it). Null: yes.
  std::function<bool(const PublicKey&)> wanted;
};

struct DialLimits {
  size_t max_rooms = 5;       // rooms kept connected at once (ssb-conn: 5)
  size_t max_peers = 8;       // other outgoing connections at once (gossip.connections)
  size_t max_pubs = 3;        // of max_peers, to pubs learned from `pub` messages
  bool dial_pubs = true;      // dial pubs learned from messages at all (gossip.pub)
  int64_t lan_forget_ms = 10000;   // a LAN address not heard for this long is dropped
  int64_t redial_ms = 2000;        // after a connection dropped (rooms, and everyone else)
  int64_t max_backoff_ms = 300000; // failures back off 2, 4, 8 … s, at most this (+25% jitter)
};

class PeerDb {
 public:
  PeerDb() = default;

  // Reads <path> (formats/peer-db.md). A missing file is an empty database. A damaged one is
  // not fatal: what parses is kept, the rest is counted in `*skipped` (entries) and the reason
  // of the first problem is in `*warning`; only kIoError (unreadable) is an error.
  static Result<PeerDb> Load(const std::string& path, size_t* skipped = nullptr,
                             std::string* warning = nullptr);
  // Writes the stored entries atomically to <path>. Error: kIoError, kNoSpace.
  Status Save(const std::string& path) const;
  // The file's text (what Save writes).
  std::string Serialize() const;
  // Parses the file's text (Load without the file). Never fails on damage (see Load).
  static PeerDb Parse(std::string_view text, size_t* skipped = nullptr,
                      std::string* warning = nullptr);

  // Adds an address, or refreshes it: a known address keeps its history, takes the stronger
  // source (seed/manual/invite over pub and lan) and, for LAN, the time heard. Our own key is
  // refused (kInvalidArgument). When full, learned pubs with the worst record are dropped to
  // make room; if none can be, kLimitExceeded. Returns the entry.
  Result<PeerEntry*> Add(const DialAddress& address, PeerSource source, int64_t now,
                         const PublicKey& self);
  void Remove(const std::string& address);
  PeerEntry* Find(const std::string& address);
  const PeerEntry* Find(const std::string& address) const;
  // Marks an address as a room (it answered tunnel.isRoom or room.metadata) with its name.
  void MarkRoom(const std::string& address, std::string name);
  // Forgets the attendants of `room` that are not in `attendants` (and, with an empty set, all
  // of them): their tunnel addresses are dropped unless a dial to them is under way.
  void RetainAttendants(const PublicKey& room, const std::set<PublicKey>& attendants);

  // Dial outcome bookkeeping.
  void DialStarted(const std::string& address, int64_t now);
  void DialSucceeded(const std::string& address, int64_t now);
  // `random` (any value) spreads retries (jitter up to 25% of the backoff).
  void DialFailed(const std::string& address, int64_t now, const std::string& error,
                  uint32_t random, const DialLimits& limits);
  // A connection that was up went down: dial it again after limits.redial_ms.
  void Dropped(const std::string& address, int64_t now, const DialLimits& limits);

  // Drops LAN addresses not heard for limits.lan_forget_ms.
  void Expire(int64_t now, const DialLimits& limits);

  // The addresses to dial now, best first, within the limits: rooms first (their own quota),
  // then one address per peer that is not connected, preferring a LAN address when one was
  // heard, then seeds, the owner's, invites, room attendants (through a connected room, when
  // `wanted`), learned pubs (max_pubs, when dial_pubs). Addresses in backoff or being dialed
  // are skipped.
  std::vector<std::string> Plan(int64_t now, const DialView& view, const DialLimits& limits) const;

  const std::map<std::string, PeerEntry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  size_t learned_pubs() const;

  // One entry as gossip.peers shows it (ssb-gossip's fields where they exist: host, port, key,
  // source, state, failure, stateChange, plus address, room, note, last_error …).
  static json::Value ToJson(const PeerEntry& e);
  // Whether an entry is kept in the file.
  static bool Stored(const PeerEntry& e);

 private:
  std::map<std::string, PeerEntry> entries_;  // by formatted address
};

// The address a `pub` message announces ({type: "pub", address: {host, port, key}}, as
// ssb-invite and ssb-server publish; a multiserver string is accepted too). nullopt when the
// content is not such a message or the address is not one we could dial.
std::optional<NetShsAddress> PubMessageAddress(const json::Value& content);

}  // namespace ssb
