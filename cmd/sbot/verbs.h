// What the verbs do on the data directory itself, without a server (the same views a server
// answers with, so the output is the same). Each returns the process exit code.
#pragma once

#include "args.h"
#include "context.h"
#include "methods.h"

namespace sbot {

int LocalWhoami(Context& ctx, const Method& m, const VerbArgs& args);
int LocalPublish(Context& ctx, const Method& m, const VerbArgs& args);
int LocalGet(Context& ctx, const Method& m, const VerbArgs& args);
int LocalDel(Context& ctx, const Method& m, const VerbArgs& args);
// The message streams, latest, links, query.read, links2.read (ssb/db_view.h).
int LocalSource(Context& ctx, const Method& m, const VerbArgs& args);
int LocalQueryExplain(Context& ctx, const Method& m, const VerbArgs& args);
// getLatest, latestSequence, getFeedState, getVectorClock.
int LocalFeedQuery(Context& ctx, const Method& m, const VerbArgs& args);
int LocalProgress(Context& ctx, const Method& m, const VerbArgs& args);
int LocalStatus(Context& ctx, const Method& m, const VerbArgs& args);
int LocalVersion(Context& ctx, const Method& m, const VerbArgs& args);
int LocalRebuild(Context& ctx, const Method& m, const VerbArgs& args);
int LocalManifest(Context& ctx, const Method& m, const VerbArgs& args);
int LocalHelp(Context& ctx, const Method& m, const VerbArgs& args);
int LocalConfig(Context& ctx, const Method& m, const VerbArgs& args);
int LocalAdd(Context& ctx, const Method& m, const VerbArgs& args);
int LocalValidate(Context& ctx, const Method& m, const VerbArgs& args);
int LocalPrivateUnbox(Context& ctx, const Method& m, const VerbArgs& args);
// friends.follow / unfollow / block / unblock: publishes a contact message.
int LocalContact(Context& ctx, const Method& m, const VerbArgs& args);
// friends.hops, isFollowing, isBlocking, get, hopStream, createFriendStream.
int LocalFriends(Context& ctx, const Method& m, const VerbArgs& args);
int LocalBlobsAdd(Context& ctx, const Method& m, const VerbArgs& args);
int LocalBlobsGet(Context& ctx, const Method& m, const VerbArgs& args);
int LocalBlobsHas(Context& ctx, const Method& m, const VerbArgs& args);
int LocalBlobsSize(Context& ctx, const Method& m, const VerbArgs& args);
int LocalBlobsList(Context& ctx, const Method& m, const VerbArgs& args);
int LocalBlobsRemove(Context& ctx, const Method& m, const VerbArgs& args);
// invite.accept CODE without a running server (invites.cc).
int InviteAccept(Context& ctx, const VerbArgs& args);

// publish's content from the command line: a JSON argument, "-" for JSON on stdin, or the
// options (--type post --text …).
ssb::Result<ssb::json::Value> PublishContentArg(const VerbArgs& args);
// The JSON text of a contact message's content for friends.* (state false: unfollow/unblock).
ssb::Result<ssb::json::Value> ContactArgs(const Method& m, const VerbArgs& args);

}  // namespace sbot
