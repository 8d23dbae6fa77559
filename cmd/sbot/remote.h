// `sbot server` and running verbs through a running server's owner socket.
#pragma once

#include <optional>
#include <string>

#include "args.h"
#include "context.h"

namespace sbot {

// Runs the server in the foreground until SIGINT/SIGTERM (or --run-for SECONDS).
int Server(Context& ctx, const VerbArgs& args);

// True for verbs a running server answers.
bool IsRemoteVerb(const std::string& verb);

// When a server runs on ctx's data dir, performs `verb` through it and returns the exit code;
// nullopt when no server answers (the caller then uses the embedded store).
std::optional<int> RunThroughServer(const std::string& verb, Context& ctx, const VerbArgs& args);

// publish's content from the command line (shared with the embedded verb).
ssb::Result<ssb::json::Value> PublishContentArg(const VerbArgs& args);

}  // namespace sbot
