// Helpers shared by the RPC method files. Not a public header.
#pragma once

#include <asio/awaitable.hpp>

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

// JavaScript's reading of an optional flag: `v === true`, `v === false`, truthiness.
inline bool IsTrue(const json::Value* v) { return v && v->is_bool() && v->as_bool(); }
inline bool IsFalse(const json::Value* v) { return v && v->is_bool() && !v->as_bool(); }
bool Truthy(const json::Value* v);

// What the views read with: our store and keys.
view::Context ViewContext(NodeContext& node);
// A stored message as {key, value, timestamp}, the value as signed (parsed from the stored
// text, which is what was signed).
json::Value StoredToKvt(const StoredMessage& m);
// Publishes `content` on our feed (PublishContent), tells the replicator, and returns the
// stored message as a KVT.
Result<json::Value> PublishAndAnnounce(ApiParts& parts, json::Value content);

// Serves `src` on `s` until it ends, the reader goes away or the node stops: a page at a
// time, waiting for the reader between pages (so a slow reader holds at most the connection's
// send queue and one page) and, when the stream is live and has nothing new, for the store to
// grow. Ends `s` with the source's error if it fails.
asio::awaitable<void> RunSource(ApiParts& parts, std::string method, view::SourcePtr src,
                                std::shared_ptr<rpc::Stream> s);
// A source method: opens the source with `open(args)` and serves it.
using SourceOpener = std::function<Result<view::SourcePtr>(const json::Value& args)>;
rpc::StreamHandler SourceMethod(ApiParts& parts, std::string method, SourceOpener open);

// The value JavaScript's `cb()` sends: muxrpc writes an undefined result as false.
inline json::Value Undefined() { return json::Value::Bool(false); }

// The friends graph brought up to date with the store.
Result<FriendsGraph*> Friends(ApiParts& parts);

}  // namespace ssb::api

// The names every method file uses, for the files under node/api/ only.
namespace ssb {
using api::Arg;
using api::Opts;
using asio::awaitable;
using json::Value;
using rpc::Access;
using rpc::CallContext;
using rpc::CallType;
using rpc::Stream;
}  // namespace ssb
