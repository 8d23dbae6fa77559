// `sbot server`, and running verbs through a running server's owner socket (as ssb-client and
// muxrpcli do with ssb-server).
#pragma once

#include <optional>
#include <string>

#include "args.h"
#include "context.h"
#include "methods.h"

namespace sbot {

// Runs the server in the foreground until SIGINT/SIGTERM (or --run-for SECONDS).
int Server(Context& ctx, const Method& m, const VerbArgs& args);

// When a server runs on ctx's data dir, performs `m` through it and returns the exit code;
// nullopt when no server answers (the caller then works on the data dir itself).
std::optional<int> RunThroughServer(const Method& m, Context& ctx, const VerbArgs& args);

}  // namespace sbot
