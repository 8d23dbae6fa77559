// Connections of a running node: the TCP listener (secret handshake + box-stream), the owner's
// local socket, dialing over TCP and through rooms (tunnels), the table of connected peers, and
// the connection manager: the peer database of addresses to dial (seeds, the owner's, invites,
// announced pubs, LAN peers, room attendants; formats/peer-db.md) with its dial plan,
// backoff and redial. Not a public header.
//
// It knows nothing of replication: other parts learn of peers through PeerEvents. Everything
// runs on the node's event loop.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "node_context.h"
#include "ssb/address.h"
#include "ssb/net.h"
#include "ssb/muxrpc.h"
#include "ssb/peer_db.h"

namespace ssb {

// One connected peer (or an owner's client on the local socket).
struct Peer {
  std::shared_ptr<rpc::Connection> conn;
  std::string id;            // "@…ed25519"
  PublicKey key{};
  std::string address;       // where it is (for logs and status): net:…, tunnel:@room:@peer
  bool outgoing = false;     // we dialed it
  bool owner = false;        // the local socket or our own key: no replication
  double connected_at = 0;   // ms since the epoch
  uint64_t serial = 0;       // unique per connection for the node's life
  std::string dialed;        // the peer database address we dialed it at ("" when it dialed us)
  bool tunnel = false;       // it came through a room
  PublicKey via{};           // the room, when tunnel
  bool room = false;         // a room we attend (set once it answered as one)
  bool guest = false;        // an invite's guest key: it may redeem, nothing more
};

// What the other parts hear about peers. Both are called on the event loop, for peers that are
// not the owner.
struct PeerEvents {
  // The peer is in the table and its connection runs.
  std::function<void(const std::shared_ptr<Peer>&)> connected;
  // Its connection ended (`why` is ok for a clean end); it has left the table.
  std::function<void(const std::shared_ptr<Peer>&, const Status& why)> disconnected;
};

class Connections {
 public:
  // `api` serves every connection's requests; both must outlive this object.
  Connections(NodeContext& node, const rpc::Api& api, PeerEvents events);

  // Fails with kBusy when another server runs on the data dir (its local socket answers);
  // removes the stale socket of one that was killed. Call before opening the stores.
  Status ClaimDataDir();
  // Binds the TCP listener (when config.listen) and the local socket (when config.local_socket),
  // loads the peer database (<data dir>/peers.json: damage is logged, never fatal) and adds
  // the configured seeds. Errors: kIoError (port in use, the socket cannot be created, the
  // database unreadable), kInvalidArgument (host is not an IP address).
  Status Open();
  // Starts accepting and the dial schedule.
  void Start();
  // Stops accepting, closes every connection (their goodbyes go out while the loop runs) and
  // saves the peer database.
  void Stop();

  // The TCP port we listen on (0 when not listening).
  uint16_t port() const;
  // "net:HOST:PORT~shs:KEY" as announced: the first non-loopback IPv4 address when listening
  // on any, else the listen host.
  std::string Address() const;
  // The local socket's path while it is open, else "".
  const std::string& local_path() const { return local_path_; }

  // Dials `address` (over TCP, or through the room a tunnel address names, which must be
  // connected and attended) and, on success, runs the connection in the background and returns
  // its peer. Errors: kIoError (resolve, connect, timeout after 10 s), kNotFound (the room of a
  // tunnel is not connected), and the handshake's. When the peer turns out to be connected
  // already, the new connection is dropped and the existing peer returned.
  asio::awaitable<Result<std::shared_ptr<Peer>>> Dial(const DialAddress& address);
  // Remembers an address in the peer database; our own key is ignored. Returns true when the
  // address is new. `note` (a room's name, a pub's host) is kept for people.
  bool Remember(const DialAddress& a, PeerSource source, const std::string& note = "");
  bool AddGossip(const NetShsAddress& a, PeerSource source);
  // gossip.connect and room.join: remembers the address as the owner's, dials it now and
  // records the outcome. Returns the connected peer.
  asio::awaitable<Result<std::shared_ptr<Peer>>> Connect(const DialAddress& a,
                                                         PeerSource source = PeerSource::kManual);
  // tunnel.connect from a room we attend (`room`) on behalf of `origin`: runs the secret
  // handshake as the server over `stream` (the client must be `origin`), then the connection,
  // until it ends. The RPC handler that received the stream waits here. Errors: kLimitExceeded
  // (too many tunnels from that room at once), the handshake's.
  asio::awaitable<Status> AcceptTunnel(std::shared_ptr<rpc::Stream> stream,
                                       std::shared_ptr<Peer> room, PublicKey origin);
  // Whom to reach through rooms (we replicate them). Unset: everyone.
  void SetWanted(std::function<bool(const PublicKey&)> wanted) { wanted_ = std::move(wanted); }
  // The peer database, and a note that it changed (saved within a few seconds, and at Stop).
  PeerDb& db() { return db_; }
  const PeerDb& db() const { return db_; }
  void Changed() { db_dirty_ = true; }
  const DialLimits& limits() const { return limits_; }

  // gossip.remove: forgets the gossip entries of feed `id`. Returns how many there were.
  size_t RemoveGossip(const std::string& id);
  // gossip.disconnect: closes the connection to feed `id`, if there is one.
  void Disconnect(const std::string& id);
  // gossip.reconnect: closes every peer connection (not the owner's); the schedule dials again.
  void Reconnect();
  // gossip.disable / gossip.enable ("global"): stop or resume dialing the gossip table.
  void SetDialing(bool on) { dialing_ = on; }
  bool dialing() const { return dialing_; }

  bool IsConnected(const std::string& id) const;
  // The open connection to the peer with feed id `id` (never the owner's), or null.
  std::shared_ptr<Peer> PeerById(const std::string& id) const;
  // The peer of connection `conn`, or null.
  std::shared_ptr<Peer> PeerOf(const rpc::Connection* conn) const;
  const std::map<rpc::Connection*, std::shared_ptr<Peer>>& peers() const { return peers_; }
  uint64_t refused() const { return refused_; }

 private:
  asio::awaitable<void> AcceptLoop();
  asio::awaitable<void> LocalAcceptLoop();
  asio::awaitable<void> IncomingPeer(asio::ip::tcp::socket socket);
  // Makes the peer of a handshake that completed and runs it in the background (or, when that
  // peer is connected already, drops the new connection and returns the old peer).
  // Returns the peer and whether it is new (the caller then runs it).
  std::pair<std::shared_ptr<Peer>, bool> Adopt(net::SecureConnection sc, std::string where,
                                               bool outgoing);
  asio::awaitable<void> RunPeer(std::shared_ptr<Peer> peer);
  // gossip.ping volleys from the side that dialed, as ssb-gossip does.
  asio::awaitable<void> KeepAlive(std::shared_ptr<Peer> peer);
  // The connection manager: plans and starts dials every 0.5 s, saves the database.
  asio::awaitable<void> GossipLoop();
  asio::awaitable<void> DialEntry(std::string address);
  DialView View() const;
  void SaveDb();

  NodeContext& node_;
  const rpc::Api& api_;
  PeerEvents events_;
  std::optional<asio::ip::tcp::acceptor> acceptor_;
  std::optional<asio::local::stream_protocol::acceptor> local_acceptor_;
  std::string local_path_;
  std::map<rpc::Connection*, std::shared_ptr<Peer>> peers_;
  PeerDb db_;
  std::string db_path_;
  bool db_dirty_ = false;
  int64_t db_saved_ = 0;
  DialLimits limits_;
  std::function<bool(const PublicKey&)> wanted_;
  std::map<PublicKey, size_t> tunnels_in_;  // incoming tunnels per room at once
  uint64_t next_serial_ = 1;
  uint64_t refused_ = 0;  // over max_connections
  bool dialing_ = true;
};

}  // namespace ssb
