// Rooms of a running node (PROTOCOL.md §6 "Rooms"), both sides. Not a public header.
//
// As a client (ssb-room-client 2.0.2's behaviour): every peer we dial over TCP is asked
// room.metadata, and tunnel.isRoom where that method is missing (ssb-room 1.3.0); a room is
// then attended: its attendants, from room.attendants or tunnel.endpoints, become tunnel
// addresses in the peer database, which the connection manager dials when we replicate them;
// a room's tunnel.connect on behalf of an attendant becomes an incoming connection.
//
// As a room (config room.enabled, `sbot server --room`; ssb-room 1.3.0's behaviour): peers that
// announce themselves or subscribe to tunnel.endpoints / room.attendants attend; one
// attendant's tunnel.connect to another is relayed, within RoomLimits.
#pragma once

#include <asio/awaitable.hpp>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "connections.h"
#include "node_context.h"
#include "ssb/room.h"

namespace ssb {

class Rooms {
 public:
  Rooms(NodeContext& node, Connections& connections);

  // ---- client
  // A peer connected: probe it when we dialed it over TCP.
  void PeerConnected(const std::shared_ptr<Peer>& peer);
  // A peer left: a room we attended, or (as a room) an attendant.
  void PeerGone(const std::shared_ptr<Peer>& peer);
  // room.join: connects to `address` (remembered as the owner's) and waits until it answered
  // as a room. Returns {id, address, name}. Errors: the dial's; kUnsupported when the peer is
  // not a room.
  asio::awaitable<Result<json::Value>> Join(const DialAddress& address);
  // The rooms we attend, for status: [{id, address, name, attendants}].
  json::Value AttendedRooms() const;

  // ---- both: tunnel.connect(opts) on connection `ctx`. From a room we attend, naming us as
  // the target and an origin: an incoming tunnel. Otherwise, when we are a room: relayed to
  // the target. Otherwise refused.
  asio::awaitable<void> TunnelConnect(rpc::CallContext& ctx, const json::Value& args,
                                      std::shared_ptr<rpc::Stream> s);

  // ---- room
  bool serving() const { return state_.has_value(); }
  // tunnel.announce / tunnel.leave.
  Status Announce(const rpc::CallContext& ctx);
  Status Leave(const rpc::CallContext& ctx);
  // tunnel.endpoints (arrays of ids) and room.attendants (events) for the caller, who attends
  // from then on; the stream lives until the caller goes.
  asio::awaitable<void> Subscribe(rpc::CallContext& ctx, std::shared_ptr<rpc::Stream> s,
                                  bool events);
  json::Value IsRoomAnswer() const;
  json::Value MetadataAnswer() const;
  // For status: {attendants, tunnels}.
  json::Value ServingStatus() const;

 private:
  struct Attended;
  struct Subscriber;
  asio::awaitable<void> Probe(std::shared_ptr<Peer> peer);
  asio::awaitable<void> Follow(std::shared_ptr<Peer> peer, std::shared_ptr<Attended> a);
  void ApplyChange(Attended& a, const Result<RoomAttendants::Change>& change);
  std::shared_ptr<Peer> Caller(const rpc::CallContext& ctx) const;
  Status Attend(const std::shared_ptr<Peer>& peer);
  void Broadcast(const PublicKey& id, bool joined);
  asio::awaitable<void> Relay(std::shared_ptr<Peer> origin, std::shared_ptr<Peer> target,
                              const json::Value& opts, std::shared_ptr<rpc::Stream> s);

  NodeContext& node_;
  Connections& connections_;
  std::map<PublicKey, std::shared_ptr<Attended>> attended_;  // rooms we attend, by key
  std::map<PublicKey, std::shared_ptr<rpc::Signal>> joined_;  // room.join waiting for a probe
  std::optional<RoomState> state_;                            // when we are a room
  std::vector<std::weak_ptr<Subscriber>> subscribers_;
};

}  // namespace ssb
