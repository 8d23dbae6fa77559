// Help texts for the RPC namespaces (our own words; the shape is muxrpc-usage's).
#include "help.h"

#include <initializer_list>

namespace ssb::api {
namespace {

using json::Value;

struct ArgDoc {
  const char* name;
  const char* type;
  const char* description;
  bool optional;
};

struct CommandDoc {
  const char* name;
  const char* type;
  const char* description;
  std::initializer_list<ArgDoc> args;
};

Value Help(const char* description, std::initializer_list<CommandDoc> commands) {
  Value cmds = Value::Object();
  for (const auto& c : commands) {
    Value args = Value::Object();
    for (const auto& a : c.args) {
      Value arg = Value::Object();
      arg.Set("type", Value::String(a.type));
      arg.Set("description", Value::String(a.description));
      arg.Set("optional", Value::Bool(a.optional));
      args.Set(a.name, std::move(arg));
    }
    Value cmd = Value::Object();
    cmd.Set("type", Value::String(c.type));
    cmd.Set("description", Value::String(c.description));
    cmd.Set("args", std::move(args));
    cmds.Set(c.name, std::move(cmd));
  }
  Value out = Value::Object();
  out.Set("description", Value::String(description));
  out.Set("commands", std::move(cmds));
  return out;
}

// The options every message stream takes.
#define SSB_STREAM_ARGS                                                                    \
  {"gt", "number", "only items whose key is greater", true},                              \
      {"gte", "number", "only items whose key is greater or equal", true},                \
      {"lt", "number", "only items whose key is less", true},                             \
      {"lte", "number", "only items whose key is less or equal", true},                   \
      {"reverse", "boolean", "newest first", true},                                       \
      {"limit", "number", "at most this many old items", true},                           \
      {"live", "boolean", "keep the stream open for new messages", true},                 \
      {"old", "boolean", "include what is stored already (default true)", true},          \
      {"keys", "boolean", "include message ids (default true)", true},                    \
      {"values", "boolean", "include message values (default true)", true},               \
  {                                                                                       \
    "private", "boolean", "show private messages we can read decrypted", true             \
  }

}  // namespace

json::Value DbHelp() {
  return Help(
      "the log of signed messages: publish, read and follow it",
      {{"get", "async", "a stored message's value (or {key, value, timestamp} with meta)",
        {{"id", "MsgId", "the message, or {id, private, meta}", false}}},
       {"publish", "async", "sign and store a message on our feed", {{"content", "object", "its content (recps makes it private)", false}}},
       {"add", "async", "store a message signed elsewhere", {{"msg", "object", "the message value", false}}},
       {"del", "async", "remove a message, or every message of a feed, from this store", {{"id", "MsgId|FeedId", "what to remove", false}}},
       {"whoami", "sync", "our feed id", {}},
       {"createLogStream", "source", "all messages in the order they were received", {SSB_STREAM_ARGS}},
       {"createFeedStream", "source", "all messages in the order of their timestamps", {SSB_STREAM_ARGS}},
       {"createHistoryStream", "source", "one feed from a sequence on",
        {{"id", "FeedId", "the feed", false}, {"seq", "number", "from this sequence", true},
         {"live", "boolean", "keep the stream open", true}, {"limit", "number", "at most this many", true},
         {"keys", "boolean", "include message ids", true}, {"values", "boolean", "include values", true}}},
       {"createUserStream", "source", "one feed by sequence", {{"id", "FeedId", "the feed", false}, SSB_STREAM_ARGS}},
       {"createRawLogStream", "source", "the log with positions: {seq, value}", {SSB_STREAM_ARGS}},
       {"createSequenceStream", "source", "the log position now, then each time it grows", {}},
       {"createWriteStream", "sink", "store the messages written to it", {}},
       {"messagesByType", "source", "messages of one content type, by receive time",
        {{"type", "string", "the type", false}, SSB_STREAM_ARGS}},
       {"links", "source", "messages that link from a feed or to a message, feed or blob",
        {{"source", "FeedId", "the linking feed", true}, {"dest", "MsgId|FeedId|BlobId", "the target", true},
         {"rel", "string", "the relation (content field)", true}, {"values", "boolean", "include the messages", true},
         {"meta", "boolean", "include source, rel and dest (default true)", true},
         {"live", "boolean", "keep the stream open", true}}},
       {"latest", "source", "the latest sequence of every feed", {}},
       {"getLatest", "async", "a feed's latest message", {{"id", "FeedId", "the feed", false}}},
       {"latestSequence", "async", "a feed's latest sequence", {{"id", "FeedId", "the feed", false}}},
       {"getFeedState", "async", "a feed's latest id and sequence", {{"id", "FeedId", "the feed", false}}},
       {"getVectorClock", "async", "the latest sequence of every feed, as one object", {}},
       {"progress", "sync", "how far the indexes are", {}},
       {"status", "sync", "indexes, connections and the store", {}},
       {"version", "sync", "the server's version", {}},
       {"rebuild", "async", "decrypt stored private messages again and refresh what is indexed from them", {}},
       {"help", "sync", "this", {}}});
}

json::Value FriendsHelp() {
  return Help("who follows and blocks whom",
              {{"hops", "async", "every feed within reach and its distance",
                {{"start", "FeedId", "from this feed (default us)", true}, {"max", "number", "at most this far", true},
                 {"reverse", "boolean", "who reaches the start", true}}},
               {"isFollowing", "async", "whether source follows dest", {{"source", "FeedId", "", false}, {"dest", "FeedId", "", false}}},
               {"isBlocking", "async", "whether source blocks dest", {{"source", "FeedId", "", false}, {"dest", "FeedId", "", false}}},
               {"follow", "async", "publish that we follow a feed (state false: stop)", {{"id", "FeedId", "", false}, {"state", "boolean", "", true}}},
               {"block", "async", "publish that we block a feed (state false: unblock)", {{"id", "FeedId", "", false}, {"state", "boolean", "", true}}},
               {"get", "async", "the follow graph (true: follows, false: blocks, null: unfollowed)",
                {{"source", "FeedId", "", true}, {"dest", "FeedId", "", true}}},
               {"hopStream", "source", "the distances, then their changes", {{"live", "boolean", "", true}, {"old", "boolean", "", true}}},
               {"createFriendStream", "source", "feeds within reach", {{"meta", "boolean", "with their distances", true}}},
               {"stream", "source", "the graph, then each change", {}},
               {"onEdge", "sync", "for in-process plugins only", {}},
               {"help", "sync", "this", {}}});
}

json::Value GossipHelp() {
  return Help("peers to connect to, and the connections",
              {{"peers", "sync", "known peers", {}},
               {"get", "sync", "a known peer", {{"id", "FeedId", "", false}}},
               {"add", "sync", "add a peer to dial", {{"address", "MultiServerAddress", "", false}, {"source", "string", "", true}}},
               {"remove", "sync", "forget a peer", {{"id", "FeedId", "", false}}},
               {"connect", "async", "connect to a peer now", {{"address", "MultiServerAddress", "", false}}},
               {"disconnect", "async", "disconnect a peer", {{"id", "FeedId", "", false}}},
               {"changes", "source", "peers discovered, connected, disconnected", {}},
               {"reconnect", "sync", "drop every connection and dial again", {}},
               {"enable", "sync", "turn a kind of gossip on (global, local)", {{"type", "string", "", true}}},
               {"disable", "sync", "turn a kind of gossip off", {{"type", "string", "", true}}},
               {"ping", "duplex", "round trips to measure a connection", {{"timeout", "number", "", true}}},
               {"help", "sync", "this", {}}});
}

json::Value BlobsHelp() {
  return Help("blobs: content-addressed files",
              {{"add", "sink", "store the bytes written to it", {{"id", "BlobId", "the id they must have", true}}},
               {"get", "source", "a blob's bytes", {{"id", "BlobId", "", false}}},
               {"getSlice", "source", "part of a blob", {{"hash", "BlobId", "", false}, {"start", "number", "", true}, {"end", "number", "", true}}},
               {"has", "async", "whether blobs are here", {{"id", "BlobId", "", false}}},
               {"size", "async", "a blob's size", {{"id", "BlobId", "", false}}},
               {"meta", "async", "a blob's id, size and time", {{"id", "BlobId", "", false}}},
               {"ls", "source", "stored blobs", {{"meta", "boolean", "", true}, {"live", "boolean", "", true}}},
               {"rm", "async", "remove a blob", {{"id", "BlobId", "", false}}},
               {"want", "async", "fetch a blob from peers", {{"id", "BlobId", "", false}}},
               {"push", "async", "make peers fetch a blob", {{"id", "BlobId", "", false}}},
               {"changes", "source", "blobs as they are stored", {}},
               {"createWants", "source", "our wants (peers use it)", {}},
               {"help", "sync", "this", {}}});
}

json::Value QueryHelp() {
  return Help("map-filter-reduce queries over the log",
              {{"read", "source", "run a query",
                {{"query", "MapFilterReduce", "the stages, or their JSON", false}, {"limit", "number", "", true},
                 {"reverse", "boolean", "", true}, {"live", "boolean", "", true}, {"old", "boolean", "", true}}},
               {"explain", "sync", "which index a query reads", {{"query", "MapFilterReduce", "", false}}},
               {"help", "sync", "this", {}}});
}

json::Value Links2Help() {
  return Help("map-filter-reduce queries over links",
              {{"read", "source", "run a query over {source, rel, dest, ts}", {{"query", "MapFilterReduce", "", false}}},
               {"help", "sync", "this", {}}});
}

json::Value OooHelp() {
  return Help("messages by id, out of their feed's order",
              {{"get", "async", "a message by id, from here or from peers", {{"id", "MsgId", "", false}, {"timeout", "number", "", true}}},
               {"stream", "duplex", "peers ask each other for messages", {}},
               {"help", "sync", "this", {}}});
}

json::Value PluginsHelp() {
  return Help("JavaScript plugins (scuttlesync has none)",
              {{"install", "source", "install a plugin", {{"name", "string", "", false}}},
               {"uninstall", "source", "remove a plugin", {{"name", "string", "", false}}},
               {"enable", "async", "turn a plugin on", {{"name", "string", "", false}}},
               {"disable", "async", "turn a plugin off", {{"name", "string", "", false}}},
               {"help", "sync", "this", {}}});
}

}  // namespace ssb::api
