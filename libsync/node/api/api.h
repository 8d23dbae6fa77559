// The RPC methods a node serves: the manifest of ssb-server 16.0.1 as `ssb-server start` loads
// it (ssb-db 20, secret-stack, ssb-friends, ssb-gossip, ssb-replicate, ssb-blobs, ssb-ebt,
// ssb-query, ssb-links, ssb-ooo, ssb-plugins), with the same names, types, arguments and
// result shapes, so that ssb-client, apps and the JS network can call them. One registration
// function per namespace, each in its own file. Not a public header.
#pragma once

#include <deque>
#include <list>
#include <memory>
#include <string>

#include "../blob_transfer.h"
#include "../connections.h"
#include "../invites.h"
#include "../node_context.h"
#include "../replicator.h"
#include "../rooms.h"
#include "ssb/db_view.h"
#include "ssb/friends.h"
#include "ssb/muxrpc.h"

namespace ssb {

// A stream the API is serving, for status and tests (how much it produced).
struct OpenStream {
  std::string method;
  const view::Source* source = nullptr;
};

// The parts of the node that the methods reach, and what the methods keep between calls.
struct ApiParts {
  NodeContext& node;
  Connections& connections;
  Replicator& replicator;
  BlobTransfer& blobs;
  Rooms& rooms;
  Invites& invites;
  rpc::Api& api;

  // friends.*: the graph as ssb-friends sees it, made on first use, brought up to date with
  // the store before each answer.
  std::unique_ptr<FriendsGraph> friends{};
  // Streams being served now.
  std::list<OpenStream> streams{};
  // gossip.changes: the latest events ({type, peer}), numbered; at most the last 1,000.
  std::deque<std::pair<uint64_t, json::Value>> gossip_changes{};
  uint64_t gossip_change_count = 0;
};

// Records a gossip.changes event ("discover", "connect", "disconnect", "connect-failure",
// "remove") about `peer` and wakes the streams that wait.
// A "discover" event also names the `source` the address came from.
void GossipChange(ApiParts& parts, const std::string& type, json::Value peer,
                  const std::string& source = "");

// Every namespace below.
void RegisterApi(ApiParts& parts);

// secret-stack and ssb-server: manifest, address, auth, multiserver.*, whoami, version, help,
// progress, status.
void RegisterCoreApi(ApiParts& parts);
// ssb-db 20: publish, add, get, del, the message streams, latest, links, createWriteStream,
// createSequenceStream, getVectorClock, getLatest, latestSequence, getFeedState, rebuild.
void RegisterDbApi(ApiParts& parts);
// blobs.* (ssb-blobs 1.2).
void RegisterBlobsApi(ApiParts& parts);
// gossip.* (ssb-gossip 1.1).
void RegisterGossipApi(ApiParts& parts);
// friends.* (ssb-friends 4.3).
void RegisterFriendsApi(ApiParts& parts);
// replicate.* (ssb-replicate 1.3).
void RegisterReplicateApi(ApiParts& parts);
// invite.*: create, use, accept (invite.cc).
void RegisterInviteApi(ApiParts& parts);
// tunnel.* and room.*: tunnel.connect and room.join always; the room's methods (isRoom,
// announce, leave, ping, endpoints, metadata, attendants) when serving as a room (room.cc).
void RegisterRoomApi(ApiParts& parts);
// ebt.* (ssb-ebt 5.6); ebt.replicate only when EBT is on.
void RegisterEbtApi(ApiParts& parts);
// query.* (ssb-query 2.4) and links2.* (ssb-links 3).
void RegisterQueryApi(ApiParts& parts);
// ooo.* (ssb-ooo 1.3) and plugins.* (ssb-plugins 1.0).
void RegisterOooApi(ApiParts& parts);
void RegisterPluginsApi(ApiParts& parts);

}  // namespace ssb
