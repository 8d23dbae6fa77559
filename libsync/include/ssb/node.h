// The running peer behind `sbot server`: listens for peers (secret handshake, box-stream,
// muxrpc), serves the owner on a local socket, replicates feeds (legacy createHistoryStream)
// and blobs with every connected peer, dials seeds, announced pubs and LAN peers.
//
// Everything runs on one thread (Run()'s caller) with Asio coroutines; the store and the blob
// store are the node's own. Configuration comes from <data dir>/config (formats/data-dir.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ssb/keys.h"
#include "ssb/room.h"
#include "ssb/shs.h"
#include "ssb/status.h"

namespace ssb {

struct NodeConfig {
  std::string data_dir;
  NetworkKey network_key = kMainNetKey;        // caps.shs
  std::optional<HmacKey> sign_cap;             // caps.sign (test networks)
  std::string host = "0.0.0.0";                // listen address
  uint16_t port = 8008;                        // 0: any free port (tests)
  bool listen = true;
  int hops = 2;                                // replicate follows within this distance
  bool lan = true;                             // LAN discovery (UDP broadcast)
  uint16_t lan_port = 8008;                    // UDP port of LAN announcements
  std::chrono::milliseconds lan_interval{1000};
  bool ebt = true;                             // EBT replication (ebt.replicate) besides legacy
  std::vector<std::string> seeds;              // multiserver addresses to keep dialing
  size_t max_outgoing = 8;                     // outgoing connections at once, rooms aside
  size_t max_rooms = 5;                        // rooms kept connected at once
  bool dial_pubs = true;                       // dial pubs announced in messages (gossip.pub)
  // Our public host for invites (connections.incoming.net[0].external, --external); empty:
  // the listen host when it is not 0.0.0.0 or ::.
  std::string external;
  // Serving as a room (config room.enabled, --room): name and description for tunnel.isRoom
  // and room.metadata, and the limits that keep a room from being used to exhaust us.
  bool room = false;
  std::string room_name;
  std::string room_description;
  RoomLimits room_limits;
  size_t max_connections = 256;                // all peers at once; more are refused
  uint64_t blob_auto_want_max = 5 * 1024 * 1024 - 1;  // fetch referenced blobs up to this
  std::chrono::seconds idle_timeout{600};
  std::chrono::seconds ping_interval{300};     // gossip.ping on connections we dialed
  bool local_socket = true;                    // <data dir>/socket for the owner
  double run_for_seconds = 0;                  // stop by itself after this long (0: never)
  bool verbose = false;                        // log every connection and stream
};

// Reads <data_dir>/config (ssb/config.h: JSON with ssb-config's keys) over the defaults. A
// missing file is not an error. Errors: kInvalidInput naming the file and the key that is wrong.
Result<NodeConfig> LoadNodeConfig(const std::string& data_dir);

class Node {
 public:
  // Opens the identity (creating it on first use), the store and the blob store, and binds
  // the listening sockets. Errors: kIoError (port in use, a server already running on the
  // data dir), the store's.
  static Result<std::unique_ptr<Node>> Open(NodeConfig config);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Runs until Stop(), SIGINT/SIGTERM or run_for_seconds.
  Status Run();
  // Thread-safe.
  void Stop();

  // "net:HOST:PORT~shs:KEY" as announced (first non-loopback address, or the listen host).
  std::string Address() const;
  uint16_t port() const;
  const Keypair& keys() const;

  class Impl;

 private:
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The owner's local socket of a data dir.
std::string LocalSocketPath(const std::string& data_dir);

}  // namespace ssb
