// The verbs of `sbot`: every method of ssb-server 16.0.1's manifest (muxrpcli style: the verb
// is the method's dotted name), ssb-server's aliases, and scuttlesync's own (server, add from
// NDJSON, validate, private.unbox, config). Each says whether it can run on the data directory
// without a server, and how positional arguments fold into its options.
#pragma once

#include <string>
#include <vector>

#include "args.h"
#include "context.h"

namespace sbot {

struct Method;
// A local implementation: runs on the data directory (no server). Returns the exit code.
using LocalFn = int (*)(Context& ctx, const Method& m, const VerbArgs& args);

struct Method {
  const char* name;      // "createLogStream", "friends.hops"
  const char* type;      // "async", "sync", "source", "sink", "duplex", or "local" (CLI only)
  const char* help;
  LocalFn local;         // nullptr: needs a running server
  // Positional arguments that become fields of the options object (for methods that take one
  // options object), in order: e.g. {"id", "seq"} for createHistoryStream.
  std::vector<const char*> fold = {};
  // The method called on the server, when it differs from `name` (aliases of our own).
  const char* remote = nullptr;
};

// Every verb, in the order `sbot help` lists them.
const std::vector<Method>& Methods();
// The verb named `name` or by its alias; nullptr when there is none.
const Method* FindMethod(const std::string& name);
// ssb-server's aliases (feed, log, hist, logt, pub, conf…) and ours, as (alias, verb).
const std::vector<std::pair<const char*, const char*>>& Aliases();

// The muxrpc arguments of a call, as muxrpcli makes them: positional arguments (numbers read as
// numbers), then the options object when there are options; for methods that take one options
// object, the positional arguments fold into it (Method::fold).
ssb::json::Value CallArgs(const Method& m, const VerbArgs& a);

// True when the options ask for a live stream (live: true or old: false).
bool WantsLive(const VerbArgs& a);

}  // namespace sbot
