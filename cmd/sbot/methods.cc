#include "methods.h"

#include <cmath>
#include <regex>

#include "migrate.h"
#include "remote.h"
#include "verbs.h"

namespace sbot {

using ssb::json::Value;

const std::vector<Method>& Methods() {
  static const std::vector<Method> kMethods = {
      // --- scuttlesync's own
      {"server", "local", "run the server: --host --port --hops --seed ADDR --no-lan --no-ebt --room --external HOST --run-for S", Server},
      {"add", "async", "validate and store messages: NDJSON values or {key, value} lines on stdin", LocalAdd},
      {"validate", "local", "validate NDJSON messages from stdin without storing them (--strict)", LocalValidate},
      {"private.unbox", "local", "decrypt a private message: MSGID, a message's JSON or a box string", LocalPrivateUnbox},
      {"migrate", "local", "import ssb-server's or ssb-db2's log from the data dir (done on first use; --from-start reads it all again)",
       [](Context& c, const Method&, const VerbArgs& a) { return MigrateVerb(c, a); }},
      {"config", "local", "the server's settings, as read from DATADIR/config", LocalConfig},
      {"help", "sync", "list the verbs (sbot help VERB: one of them)", LocalHelp},
      // --- ssb-db
      {"whoami", "sync", "this identity: {\"id\": \"@…\"}", LocalWhoami},
      {"publish", "async", "publish a message: --type post --text \"…\", a JSON argument, or - for stdin", LocalPublish},
      {"get", "async", "a message's value: MSGID [--private] [--meta]", LocalGet, {"id"}},
      {"del", "async", "remove a message (MSGID) or every message of a feed (FEEDID) from this store", LocalDel},
      {"createFeedStream", "source", "all messages by their timestamps (alias feed)", LocalSource},
      {"createLogStream", "source", "all messages in the order received (alias log)", LocalSource},
      {"createHistoryStream", "source", "one feed: FEEDID [--seq N] (alias hist); default our own", LocalSource, {"id", "seq"}},
      {"createUserStream", "source", "one feed by sequence: --id FEEDID [--gt N --lt N]", LocalSource, {"id"}},
      {"messagesByType", "source", "messages of one content type: TYPE (alias logt)", LocalSource, {"type"}},
      {"createRawLogStream", "source", "the log with positions: {seq, value}", LocalSource},
      {"createSequenceStream", "source", "the log position, then each new one (live)", nullptr},
      {"createWriteStream", "sink", "store the messages written to it (NDJSON on stdin)", nullptr},
      {"latest", "source", "the latest sequence of every feed", LocalSource},
      {"links", "source", "links: --source FEEDID --dest ID --rel REL [--values]", LocalSource},
      {"getLatest", "async", "a feed's latest message: FEEDID", LocalFeedQuery},
      {"latestSequence", "async", "a feed's latest sequence: FEEDID", LocalFeedQuery},
      {"getFeedState", "async", "a feed's latest id and sequence: FEEDID", LocalFeedQuery},
      {"getVectorClock", "async", "the latest sequence of every feed", LocalFeedQuery},
      {"progress", "sync", "how far the indexes are", LocalProgress},
      {"status", "sync", "identity, feeds, messages, forks, store size; connections with a server", LocalStatus},
      {"version", "sync", "the version", LocalVersion},
      {"rebuild", "async", "decrypt stored private messages again and index what they say", LocalRebuild},
      {"manifest", "sync", "the methods and their types", LocalManifest},
      {"address", "sync", "the server's address", nullptr},
      {"auth", "async", "whether a key may connect as more than a guest", nullptr},
      {"multiserver.parse", "sync", "parse a multiserver address", nullptr},
      {"multiserver.address", "sync", "the server's address", nullptr},
      // --- query, links2
      {"query.read", "source", "a map-filter-reduce query: --query '[{\"$filter\": …}]'", LocalSource, {"query"}},
      {"query.explain", "sync", "which index a query reads: --query '…'", LocalQueryExplain, {"query"}},
      {"query.help", "sync", "query's methods", LocalHelp},
      {"links2.read", "source", "a map-filter-reduce query over links: --query '…'", LocalSource, {"query"}},
      {"links2.help", "sync", "links2's methods", LocalHelp},
      // --- friends
      {"friends.follow", "async", "follow FEEDID (--state false: stop)", LocalContact},
      {"friends.unfollow", "local", "stop following FEEDID (friends.follow FEEDID --state false)", LocalContact, {}, "friends.follow"},
      {"friends.block", "async", "block FEEDID (--state false: unblock)", LocalContact},
      {"friends.unblock", "local", "unblock FEEDID (friends.block FEEDID --state false)", LocalContact, {}, "friends.block"},
      {"friends.hops", "async", "every feed within reach and its distance", LocalFriends, {"start"}},
      {"friends.isFollowing", "async", "--source FEEDID --dest FEEDID", LocalFriends, {"source", "dest"}},
      {"friends.isBlocking", "async", "--source FEEDID --dest FEEDID", LocalFriends, {"source", "dest"}},
      {"friends.get", "async", "the follow graph [--source FEEDID] [--dest FEEDID]", LocalFriends},
      {"friends.hopStream", "source", "the distances (live with --live)", LocalFriends},
      {"friends.createFriendStream", "source", "feeds within reach [--meta]", LocalFriends},
      {"friends.stream", "source", "the graph, then each change (live)", nullptr},
      {"friends.onEdge", "sync", "for in-process plugins only", nullptr},
      {"friends.help", "sync", "friends' methods", LocalHelp},
      // --- gossip
      {"gossip.peers", "sync", "known peers", nullptr},
      {"gossip.get", "sync", "a known peer: FEEDID", nullptr},
      {"gossip.add", "sync", "add an address to dial: ADDR", nullptr},
      {"gossip.remove", "sync", "forget a peer: FEEDID", nullptr},
      {"gossip.connect", "async", "connect now: ADDR (net:HOST:PORT~shs:KEY)", nullptr},
      {"gossip.disconnect", "async", "disconnect a peer: FEEDID", nullptr},
      {"gossip.changes", "source", "peers discovered, connected, disconnected (live)", nullptr},
      {"gossip.reconnect", "sync", "drop every connection and dial again", nullptr},
      {"gossip.enable", "sync", "dial the known peers again", nullptr},
      {"gossip.disable", "sync", "stop dialing the known peers", nullptr},
      {"gossip.ping", "duplex", "round trips (peers use it)", nullptr},
      {"gossip.help", "sync", "gossip's methods", LocalHelp},
      // --- replicate, ebt
      {"replicate.request", "sync", "replicate FEEDID even if not followed (false: stop)", nullptr},
      {"replicate.block", "sync", "FROM TO [false]: with FROM us, do not replicate TO", nullptr},
      {"replicate.changes", "source", "replication progress (live)", nullptr},
      {"replicate.upto", "source", "{id, sequence} of every feed we replicate", nullptr},
      {"ebt.replicate", "duplex", "an EBT session (peers use it)", nullptr},
      {"ebt.request", "sync", "replicate FEEDID (false: stop)", nullptr},
      {"ebt.block", "sync", "FROM TO [false]: with FROM us, do not replicate TO", nullptr},
      {"ebt.peerStatus", "sync", "what connected peers said of FEEDID", nullptr},
      // --- blobs
      {"blobs.add", "sink", "store a file (or stdin) as a blob; prints its id", LocalBlobsAdd},
      {"blobs.get", "source", "write blob ID's bytes to stdout", LocalBlobsGet},
      {"blobs.getSlice", "source", "part of a blob: --hash ID --start N --end N", LocalBlobsGet},
      {"blobs.has", "async", "true if blob ID is stored", LocalBlobsHas},
      {"blobs.size", "async", "blob ID's size", LocalBlobsSize},
      {"blobs.meta", "async", "blob ID's {id, size, ts}", LocalBlobsSize},
      {"blobs.ls", "source", "stored blob ids [--meta]", LocalBlobsList},
      {"blobs.rm", "async", "remove blob ID", LocalBlobsRemove},
      {"blobs.want", "async", "fetch blob ID from peers", nullptr},
      {"blobs.push", "async", "have peers fetch blob ID", nullptr},
      {"blobs.changes", "source", "blobs as they are stored (live)", nullptr},
      {"blobs.createWants", "source", "our blob wants (peers use it)", nullptr},
      {"blobs.help", "sync", "blobs' methods", LocalHelp},
      // --- invite, room
      {"invite.create", "async", "make an invite code for this server (as a pub): --uses N --note T --external HOST", nullptr},
      {"invite.use", "async", "(a guest redeeming our invite calls it)", nullptr},
      {"invite.accept", "async", "redeem a pub's invite CODE: the pub follows us, we follow it and dial it",
       [](Context& c, const Method&, const VerbArgs& a) { return InviteAccept(c, a); }},
      {"room.join", "async", "join the room at ADDR: stay connected, reach its attendants through it", nullptr},
      // --- ooo, plugins
      {"ooo.get", "async", "a message by id: MSGID", LocalGet, {"id"}},
      {"ooo.stream", "duplex", "(peers use it)", nullptr},
      {"ooo.help", "sync", "ooo's methods", LocalHelp},
      {"plugins.install", "source", "(scuttlesync loads no JavaScript plugins)", nullptr},
      {"plugins.uninstall", "source", "(scuttlesync loads no JavaScript plugins)", nullptr},
      {"plugins.enable", "async", "(scuttlesync loads no JavaScript plugins)", nullptr},
      {"plugins.disable", "async", "(scuttlesync loads no JavaScript plugins)", nullptr},
      {"plugins.help", "sync", "plugins' methods", LocalHelp},
  };
  return kMethods;
}

const std::vector<std::pair<const char*, const char*>>& Aliases() {
  // ssb-server's lib/cli-cmd-aliases.js (getPublicKey, which `pub` named, is gone from its
  // manifest: here it is whoami), `start` for server, and `history`.
  static const std::vector<std::pair<const char*, const char*>> kAliases = {
      {"feed", "createFeedStream"}, {"history", "createHistoryStream"},
      {"hist", "createHistoryStream"}, {"public", "whoami"}, {"pub", "whoami"},
      {"log", "createLogStream"}, {"logt", "messagesByType"}, {"conf", "config"},
      {"start", "server"}};
  return kAliases;
}

const Method* FindMethod(const std::string& name) {
  std::string n = name;
  for (const auto& [alias, verb] : Aliases()) {
    if (n == alias) n = verb;
  }
  for (const Method& m : Methods()) {
    if (n == m.name) return &m;
  }
  return nullptr;
}

namespace {

// minimist reads an argument that looks like a number as one.
Value Positional(const std::string& s) {
  static const std::regex kNumber(R"(^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$)");
  if (std::regex_match(s, kNumber)) {
    double d = std::strtod(s.c_str(), nullptr);
    if (std::isfinite(d)) return Value::Number(d);
  }
  return Value::String(s);
}

}  // namespace

ssb::json::Value CallArgs(const Method& m, const VerbArgs& a) {
  Value args = Value::Array();
  Value opts = a.options;
  size_t consumed = 0;
  if (!m.fold.empty()) {
    for (; consumed < a.positional.size() && consumed < m.fold.size(); ++consumed) {
      if (!opts.Find(m.fold[consumed])) opts.Set(m.fold[consumed], Positional(a.positional[consumed]));
    }
    // get MSGID alone stays a plain id, as ssb-server's get takes it.
    if (std::string(m.name) == "get" && a.options.size() == 0 && a.positional.size() == 1) {
      args.Push(Positional(a.positional[0]));
      return args;
    }
    args.Push(std::move(opts));
    for (size_t i = consumed; i < a.positional.size(); ++i) args.Push(Positional(a.positional[i]));
    return args;
  }
  for (const auto& p : a.positional) args.Push(Positional(p));
  if (opts.size() > 0) args.Push(std::move(opts));
  return args;
}

bool WantsLive(const VerbArgs& a) {
  const Value* live = a.options.Find("live");
  const Value* old = a.options.Find("old");
  return (live && live->is_bool() && live->as_bool()) || (old && old->is_bool() && !old->as_bool());
}

}  // namespace sbot
