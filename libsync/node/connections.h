// Connections of a running node: the TCP listener (secret handshake + box-stream), the owner's
// local socket, dialing, the table of connected peers, and the gossip table of addresses to
// dial (seeds, announced pubs, LAN peers, gossip.connect) with its schedule. Not a public
// header.
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
#include "ssb/muxrpc.h"

namespace ssb {

// One connected peer (or an owner's client on the local socket).
struct Peer {
  std::shared_ptr<rpc::Connection> conn;
  std::string id;            // "@…ed25519"
  std::string address;       // where it is (for logs and status)
  bool outgoing = false;     // we dialed it
  bool owner = false;        // the local socket or our own key: no replication
  double connected_at = 0;   // ms since the epoch
};

// What the other parts hear about peers. Both are called on the event loop, for peers that are
// not the owner.
struct PeerEvents {
  // The peer is in the table and its connection runs.
  std::function<void(const std::shared_ptr<Peer>&)> connected;
  // Its connection ended (`why` is ok for a clean end); it has left the table.
  std::function<void(const std::shared_ptr<Peer>&, const Status& why)> disconnected;
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

class Connections {
 public:
  // `api` serves every connection's requests; both must outlive this object.
  Connections(NodeContext& node, const rpc::Api& api, PeerEvents events);

  // Fails with kBusy when another server runs on the data dir (its local socket answers);
  // removes the stale socket of one that was killed. Call before opening the stores.
  Status ClaimDataDir();
  // Binds the TCP listener (when config.listen) and the local socket (when config.local_socket)
  // and adds the configured seeds to the gossip table. Errors: kIoError (port in use, the
  // socket cannot be created), kInvalidArgument (host is not an IP address).
  Status Open();
  // Starts accepting and the dial schedule.
  void Start();
  // Stops accepting and closes every connection (their goodbyes go out while the loop runs).
  void Stop();

  // The TCP port we listen on (0 when not listening).
  uint16_t port() const;
  // "net:HOST:PORT~shs:KEY" as announced: the first non-loopback IPv4 address when listening
  // on any, else the listen host.
  std::string Address() const;
  // The local socket's path while it is open, else "".
  const std::string& local_path() const { return local_path_; }

  // Dials `address` and, on success, runs the connection in the background. Errors: kIoError
  // (resolve, connect, timeout after 10 s) and the handshake's. Ok too when the peer turns out
  // to be connected already (the new connection is dropped).
  asio::awaitable<Status> Dial(NetShsAddress address);
  // Adds (or refreshes) an address to dial; our own key is ignored. "manual" and "seed" win
  // over the source an address was first heard from. Returns true when the address is new.
  bool AddGossip(const NetShsAddress& a, const std::string& source);
  // gossip.connect: marks the entry as connecting, dials, and records the outcome.
  asio::awaitable<Status> Connect(const NetShsAddress& a);

  bool IsConnected(const std::string& id) const;
  // The open connection to the peer with feed id `id` (never the owner's), or null.
  std::shared_ptr<Peer> PeerById(const std::string& id) const;
  // The peer of connection `conn`, or null.
  std::shared_ptr<Peer> PeerOf(const rpc::Connection* conn) const;
  const std::map<rpc::Connection*, std::shared_ptr<Peer>>& peers() const { return peers_; }
  const std::map<std::string, GossipEntry>& gossip() const { return gossip_; }
  uint64_t refused() const { return refused_; }

 private:
  asio::awaitable<void> AcceptLoop();
  asio::awaitable<void> LocalAcceptLoop();
  asio::awaitable<void> IncomingPeer(asio::ip::tcp::socket socket);
  asio::awaitable<void> RunPeer(std::shared_ptr<Peer> peer);
  // gossip.ping volleys from the side that dialed, as ssb-gossip does.
  asio::awaitable<void> KeepAlive(std::shared_ptr<Peer> peer);
  asio::awaitable<void> GossipLoop();
  asio::awaitable<void> DialEntry(std::string label);

  NodeContext& node_;
  const rpc::Api& api_;
  PeerEvents events_;
  std::optional<asio::ip::tcp::acceptor> acceptor_;
  std::optional<asio::local::stream_protocol::acceptor> local_acceptor_;
  std::string local_path_;
  std::map<rpc::Connection*, std::shared_ptr<Peer>> peers_;
  std::map<std::string, GossipEntry> gossip_;  // by formatted address
  uint64_t refused_ = 0;  // over max_connections
};

}  // namespace ssb
