// Rooms and tunnels (rooms 1.0 as ssb-room 1.3.0 serves them, the room.* methods of rooms 2.0
// that ssb-room-client 2.0.2 asks first; PROTOCOL.md §6 "Rooms").
//
// A room is a relay: its attendants keep a connection to it, and one attendant (the origin)
// reaches another (the target) by calling tunnel.connect({target, portal}) on the room, which
// calls tunnel.connect({target, portal, origin}) on the target and joins the two duplex streams.
// The bytes inside are a whole secret handshake, box-stream and muxrpc session from origin
// (client) to target (server), so the room sees only ciphertext.
//
// This header holds the logic without sockets: the room's bookkeeping with its limits
// (RoomState), and the client's reading of what a room says (RoomMetadata, RoomAttendants).
// Thread-safety: none.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ssb/json.h"
#include "ssb/keys.h"
#include "ssb/status.h"

namespace ssb {

// ---------------------------------------------------------------------------------------------
// The room's side

struct RoomLimits {
  size_t max_attendants = 1000;            // attendants at once; more are refused
  size_t max_tunnels_per_peer = 16;        // tunnels one origin may have open at once
  size_t max_tunnels = 4096;               // tunnels open at once in all
  size_t max_tunnel_opens_per_minute = 60; // per origin: a peer opening tunnels in a loop stops here
  uint64_t max_tunnel_bytes = 0;           // bytes relayed per tunnel, both ways (0: no limit)
  size_t max_subscribers = 2000;           // attendants/endpoints streams at once
};

// Who attends a room and which tunnels run, with the limits applied. Each attendant is a
// connection (an opaque id from the caller); a peer that reconnects replaces its old one.
class RoomState {
 public:
  explicit RoomState(const PublicKey& self, RoomLimits limits = {});

  // `id` (on connection `conn`) becomes an attendant (tunnel.announce, or subscribing to
  // tunnel.endpoints / room.attendants). Returns true when it was not one before. Error:
  // kLimitExceeded when max_attendants attend already; kInvalidArgument for the room itself.
  Result<bool> Join(const PublicKey& id, uint64_t conn);
  // Ends `id`'s attendance if it is still on `conn` (tunnel.leave, or its connection closed).
  // Returns whether it left.
  bool Leave(const PublicKey& id, uint64_t conn);
  bool Attending(const PublicKey& id) const { return attendants_.count(id) != 0; }
  // The connection an attendant is on.
  std::optional<uint64_t> ConnectionOf(const PublicKey& id) const;
  // In the order they joined.
  std::vector<PublicKey> Attendants() const;
  size_t size() const { return attendants_.size(); }

  // Whether `origin` may open a tunnel to `target` now (ms since the epoch); counts it if so.
  // Error: kNotFound "could not connect to: @…" (ssb-room's text) when the target does not
  // attend; kInvalidArgument for a tunnel to oneself or to the room; kLimitExceeded when the
  // origin has max_tunnels_per_peer open, opened max_tunnel_opens_per_minute in the last
  // minute, or max_tunnels are open.
  Status OpenTunnel(const PublicKey& origin, const PublicKey& target, int64_t now_ms);
  // A tunnel opened by `origin` ended.
  void CloseTunnel(const PublicKey& origin);
  size_t tunnels() const { return tunnels_; }

  // Subscriber accounting for the attendants/endpoints streams. Error: kLimitExceeded.
  Status Subscribe();
  void Unsubscribe();

  const RoomLimits& limits() const { return limits_; }

  // What the streams carry.
  // room.attendants: {"type":"state","ids":[…]} first, then {"type":"joined"|"left","id":…}.
  json::Value StateEvent() const;
  static json::Value JoinedEvent(const PublicKey& id);
  static json::Value LeftEvent(const PublicKey& id);
  // tunnel.endpoints: the whole array of ids each time.
  json::Value Endpoints() const;
  // tunnel.isRoom's answer: {name, description} (ssb-room 1.3.0's roomcfg), or true.
  static json::Value IsRoomAnswer(const std::string& name, const std::string& description);
  // room.metadata's answer (go-ssb-room's shape): {name, membership: false, features}.
  static json::Value MetadataAnswer(const std::string& name);

 private:
  struct Attendant {
    uint64_t conn;
    uint64_t order;
  };
  struct Origin {
    size_t open = 0;
    std::vector<int64_t> recent;  // open times within the last minute
  };
  PublicKey self_;
  RoomLimits limits_;
  std::map<PublicKey, Attendant> attendants_;
  std::map<PublicKey, Origin> origins_;
  uint64_t next_order_ = 0;
  size_t tunnels_ = 0;
  size_t subscribers_ = 0;
};

// ---------------------------------------------------------------------------------------------
// The client's side

struct RoomMetadata {
  std::string name;          // may be empty
  bool membership = false;   // rooms 2.0: we are a member
  bool attendants_api = false;  // answered room.metadata (ask room.attendants first)
};

// Reads room.metadata's answer ({name?, membership?, features?}). Error: kInvalidInput when it
// is not an object (a peer that is not a room).
Result<RoomMetadata> ParseRoomMetadata(const json::Value& answer);
// Reads tunnel.isRoom's answer: true or {name, description} is a room; anything else (false,
// null) is not: kNotFound.
Result<RoomMetadata> ParseIsRoom(const json::Value& answer);

// Whether an error from room.metadata means "no such method here" (then ask tunnel.isRoom):
// secret-stack's "… not in list of allowed methods" (ssb-room 1.3.0) or muxrpc's "no async:…".
bool IsMissingMethodError(const std::string& message);

// The attendants a room reports, from room.attendants events or tunnel.endpoints arrays, held
// to a limit, without ourselves and the room. A room that lies (ids that are not feed ids,
// endless or oversized updates) is answered with an error and the state stays within bounds.
class RoomAttendants {
 public:
  RoomAttendants(const PublicKey& self, const PublicKey& room, size_t max_attendants = 1000);

  struct Change {
    std::vector<PublicKey> joined;
    std::vector<PublicKey> left;
  };
  // One room.attendants event. Error: kInvalidInput for a malformed event (the caller may drop
  // the room); kLimitExceeded when the room reports more than max_attendants (the first ones
  // are kept).
  Result<Change> ApplyEvent(const json::Value& event);
  // One tunnel.endpoints array (the whole list each time). Errors as ApplyEvent.
  Result<Change> ApplyEndpoints(const json::Value& ids);

  const std::set<PublicKey>& ids() const { return ids_; }

 private:
  Result<Change> Replace(const json::Value& ids);
  PublicKey self_;
  PublicKey room_;
  size_t max_;
  std::set<PublicKey> ids_;
};

}  // namespace ssb
