// What every part of a running node shares: its configuration, event loop, identity and
// stores. Not a public header.
//
// A node is a few parts with one job each, all on the event loop's thread:
//   Connections    listeners, handshakes, dialing, the table of peers and gossip addresses
//                  (connections.h)
//   Replicator     which feeds to replicate and how: EBT sessions, legacy history streams,
//                  received messages into the store (replicator.h)
//   BlobTransfer   blob wants and fetches with peers (blob_transfer.h)
//   LanDiscovery   UDP announcements on the LAN (lan.h)
//   the RPC API    one registration function per namespace (api/api.h)
// Node::Impl (node.cc) owns them and this context, and wires their events together.
#pragma once

#include <asio/io_context.hpp>
#include <memory>
#include <optional>
#include <string>

#include "ssb/blob_store.h"
#include "ssb/keys.h"
#include "ssb/message.h"
#include "ssb/muxrpc.h"
#include "ssb/node.h"
#include "ssb/store.h"

namespace ssb {

struct NodeContext {
  explicit NodeContext(NodeConfig c)
      : config(std::move(c)), new_messages(io.get_executor()) {}

  // A line on standard error: "HH:MM:SS sbot server: <line>".
  void Log(const std::string& line) const;

  NodeConfig config;
  asio::io_context io;
  Keypair keys;
  std::string self_id;         // "@…=.ed25519" of keys
  ValidateOptions validate;    // the network's rules (caps.sign)
  std::unique_ptr<Store> store;
  std::optional<BlobStore> blobs;
  bool stopping = false;       // Stop() began: loops end, nothing new starts
  rpc::Signal new_messages;    // broadcast: the store grew (live history streams wait on it)
};

}  // namespace ssb
