// The RPC methods a node serves: what ssb-server offers its owner and anonymous peers, under
// the same names and argument shapes, so ssb-client and the JS network can call them.
// One registration function per namespace, each in its own file. Not a public header.
#pragma once

#include "../blob_transfer.h"
#include "../connections.h"
#include "../invites.h"
#include "../node_context.h"
#include "../replicator.h"
#include "../rooms.h"
#include "ssb/muxrpc.h"

namespace ssb {

// The parts of the node that the methods reach.
struct ApiParts {
  NodeContext& node;
  Connections& connections;
  Replicator& replicator;
  BlobTransfer& blobs;
  Rooms& rooms;
  Invites& invites;
  rpc::Api& api;
};

// Every namespace below.
void RegisterApi(ApiParts& parts);

// manifest, whoami, status.
void RegisterCoreApi(ApiParts& parts);
// The log (ssb-db): publish, add, get, createHistoryStream, createFeedStream, createLogStream,
// messagesByType.
void RegisterDbApi(ApiParts& parts);
// blobs.*: has, size, get, getSlice, createWants, changes, want, add, ls, rm.
void RegisterBlobsApi(ApiParts& parts);
// gossip.*: ping, peers, connect.
void RegisterGossipApi(ApiParts& parts);
// friends.*: follow, unfollow, block, unblock.
void RegisterFriendsApi(ApiParts& parts);
// replicate.*: request.
void RegisterReplicateApi(ApiParts& parts);
// invite.*: create, use, accept (invite.cc).
void RegisterInviteApi(ApiParts& parts);
// tunnel.* and room.*: tunnel.connect and room.join always; the room's methods (isRoom,
// announce, leave, ping, endpoints, metadata, attendants) when serving as a room (room.cc).
void RegisterRoomApi(ApiParts& parts);
// ebt.*: replicate (when EBT is on).
void RegisterEbtApi(ApiParts& parts);

}  // namespace ssb
