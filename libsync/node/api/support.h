// Helpers shared by the RPC method files. Not a public header.
#pragma once

#include "api.h"
#include "ssb/json.h"
#include "ssb/store.h"

namespace ssb::api {

// Argument `i` of a call, or null when absent.
const json::Value& Arg(const json::Value& args, size_t i);
// The first argument as an options object ({} when absent).
json::Value Opts(const json::Value& args);
// A feed id from an argument that is the id or {id}; "" when neither.
std::string IdArg(const json::Value& a);

// A stored message as ssb-server returns it from publish and add: {key, value, timestamp}.
json::Value StoredToKvt(const StoredMessage& m);
// Publishes `content` on our feed (PublishContent), tells the replicator, and returns the
// stored message as a KVT.
Result<json::Value> PublishAndAnnounce(ApiParts& parts, json::Value content);

}  // namespace ssb::api
