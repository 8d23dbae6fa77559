// The sbot verbs. Each returns the process exit code.
#pragma once

#include "args.h"
#include "context.h"

namespace sbot {

int Whoami(Context& ctx, const VerbArgs& args);
int Validate(Context& ctx, const VerbArgs& args);
int Publish(Context& ctx, const VerbArgs& args);
int History(Context& ctx, const VerbArgs& args);
int FeedStream(Context& ctx, const VerbArgs& args);
int LogStream(Context& ctx, const VerbArgs& args);
int ByType(Context& ctx, const VerbArgs& args);
int Get(Context& ctx, const VerbArgs& args);
int Add(Context& ctx, const VerbArgs& args);
int StatusVerb(Context& ctx, const VerbArgs& args);
int PrivateUnbox(Context& ctx, const VerbArgs& args);
int BlobsAdd(Context& ctx, const VerbArgs& args);
int BlobsGet(Context& ctx, const VerbArgs& args);
int BlobsHas(Context& ctx, const VerbArgs& args);
int BlobsList(Context& ctx, const VerbArgs& args);
int BlobsRemove(Context& ctx, const VerbArgs& args);
// invite.accept CODE without a running server (invites.cc).
int InviteAccept(Context& ctx, const VerbArgs& args);
// friends.follow / unfollow / block / unblock: publishes {type: contact, contact, field: value}.
int Contact(Context& ctx, const VerbArgs& args, const char* field, bool value);

}  // namespace sbot
