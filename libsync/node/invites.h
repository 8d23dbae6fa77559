// Pub invites of a running node (ssb-invite 2.1.8, as ssb-server 16.0.1 loads it), both ways:
// as a pub we create codes and honour invite.use from their guest keys; as a new user we
// redeem a pub's code. Not a public header; the RPC methods are in api/invite.cc.
#pragma once

#include <asio/awaitable.hpp>
#include <string>

#include "connections.h"
#include "node_context.h"
#include "ssb/invite.h"
#include "ssb/invite_store.h"

namespace ssb {

class Invites {
 public:
  Invites(NodeContext& node, Connections& connections);

  // Reads <data dir>/invites.json (damage is logged and skipped). Errors: kIoError.
  Status Load();

  // invite.create({uses, note, external}) or invite.create(uses): a new code in ssb-invite's
  // legacy form, HOST:PORT:@KEY.ed25519~SEED. HOST is `external` if given, else the configured
  // public host (connections.incoming.net[0].external, --external), else the listen host when
  // it is a specific address (a loopback or private one is used as given). Errors:
  // kInvalidArgument (bad options; no address to put in the code), the store's.
  Result<std::string> Create(const json::Value& args);

  // invite.use({feed}) from the connection of `guest`: counts a use of its invite. Errors (what
  // the guest sees): kNotFound (its key holds no invite), kPermissionDenied ("invite has
  // expired"), kInvalidArgument ("feed to follow is missing"). On success the caller publishes
  // the follow (InviteUseFollow) and, if that fails, gives the use back with Unuse.
  Result<StoredInvite> Use(const PublicKey& guest, const std::string& feed);
  void Unuse(const PublicKey& guest);

  // Whether `key` is the guest key of one of our invites (such a connection may redeem its
  // invite and do nothing else: no replication, no room probing).
  bool IsGuest(const PublicKey& key) const { return store_.Find(key) != nullptr; }

  // invite.accept(code): redeems a pub's code (the pub follows us). The caller then publishes
  // InviteAcceptFollow and PubAnnouncement, as ssb-invite does; this remembers the pub in the
  // peer database (source "invite"), which dials it. Errors: ParseInviteCode's, RedeemInvite's.
  asio::awaitable<Result<InviteCode>> Redeem(const std::string& code);
  void RememberPub(const InviteCode& code);

 private:
  Status Save();

  NodeContext& node_;
  Connections& connections_;
  InviteStore store_;
  std::string path_;
};

}  // namespace ssb
