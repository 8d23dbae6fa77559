// sbot: the scuttlesync server's command line, in ssb-server's style (muxrpcli):
//   sbot [--path DIR] [--pretty] VERB [ARG…] [--key value…]
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "args.h"
#include "context.h"
#include "migrate.h"
#include "remote.h"
#include "verbs.h"

namespace {

std::string DefaultPath() {
  if (const char* p = std::getenv("SSB_PATH"); p && *p) return p;
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.ssb";
  return ".ssb";
}

struct Verb {
  const char* name;
  std::vector<const char*> aliases;
  const char* help;
  std::function<int(sbot::Context&, const sbot::VerbArgs&)> run;
};

// Verbs that only a running server can do.
int NeedsServer(sbot::Context& ctx, const sbot::VerbArgs&) {
  return ctx.Fail(ssb::Status::Unsupported("no server is running on " + ctx.globals().path +
                                           " (start one with `sbot server`)"));
}

// The verb a command line names, when that is plain from a scan of the global options before
// it; nullptr when it is not (no verb, an unknown option, help). Lets main build the parser
// with that one verb: building all of them is a third of a server's start-up instructions.
const Verb* PlainVerb(const std::vector<Verb>& verbs, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (std::strcmp(a, "--pretty") == 0) continue;
    if (std::strcmp(a, "--path") == 0 || std::strcmp(a, "--hmac") == 0) {
      ++i;
      continue;
    }
    if (std::strncmp(a, "--path=", 7) == 0 || std::strncmp(a, "--hmac=", 7) == 0) continue;
    if (a[0] == '-') return nullptr;
    for (const Verb& v : verbs) {
      if (std::strcmp(a, v.name) == 0) return &v;
      for (const char* alias : v.aliases) {
        if (std::strcmp(a, alias) == 0) return &v;
      }
    }
    return nullptr;
  }
  return nullptr;
}

using Subcommands = std::vector<std::pair<CLI::App*, const Verb*>>;

// The parser: the global options and `only`, or every verb when `only` is null.
std::unique_ptr<CLI::App> MakeParser(const std::vector<Verb>& verbs, const Verb* only,
                                     sbot::Globals& g, Subcommands& subs) {
  auto app = std::make_unique<CLI::App>(
      "sbot: a Secure Scuttlebutt peer and sneakernet toolkit (scuttlesync)", "sbot");
  app->require_subcommand(1);
  app->add_option("--path", g.path, "data directory (default $SSB_PATH, then ~/.ssb)");
  app->add_flag("--pretty", g.pretty, "indent JSON output for people");
  app->add_option("--hmac", g.hmac, "caps.sign of a test network (base64 of 32 bytes)");
  subs.clear();
  for (const Verb& v : verbs) {
    if (only && only != &v) continue;
    CLI::App* sub = app->add_subcommand(v.name, v.help);
    for (const char* alias : v.aliases) sub->alias(alias);
    sub->prefix_command();  // everything after the verb is the verb's (muxrpcli style)
    subs.emplace_back(sub, &v);
  }
  return app;
}

}  // namespace

int main(int argc, char** argv) {
  if (!ssb::CryptoInit()) {
    std::cerr << "sbot: libsodium failed to initialise\n";
    return sbot::kExitIo;
  }
  const std::vector<Verb> verbs = {
      {"whoami", {}, "print this identity: {\"id\":\"@…\"}", sbot::Whoami},
      {"publish", {}, "publish a message: --type post --text \"…\" (or a JSON argument, - for stdin)",
       sbot::Publish},
      {"feed", {"createFeedStream"}, "all messages by claimed time (--gt --lt --limit --reverse)",
       sbot::FeedStream},
      {"log", {"createLogStream"}, "all messages by receive time (--gt --lt --limit --reverse)",
       sbot::LogStream},
      {"hist", {"createHistoryStream"}, "one feed by sequence: hist FEED [--seq N --limit N --reverse]",
       sbot::History},
      {"messagesByType", {}, "messages of one content type: messagesByType TYPE", sbot::ByType},
      {"get", {}, "print the value of message MSGID", sbot::Get},
      {"add", {}, "validate and store NDJSON messages from stdin", sbot::Add},
      {"validate", {}, "validate NDJSON messages from stdin without storing (--strict)",
       sbot::Validate},
      {"status", {}, "identity, feeds, messages, forks and store size", sbot::StatusVerb},
      {"private.unbox", {}, "decrypt a private message: MSGID, message JSON or box string",
       sbot::PrivateUnbox},
      {"blobs.add", {}, "store a file (or stdin) as a blob; prints its id", sbot::BlobsAdd},
      {"blobs.get", {}, "write blob ID's bytes to stdout", sbot::BlobsGet},
      {"blobs.has", {}, "print true if blob ID is stored", sbot::BlobsHas},
      {"blobs.ls", {}, "list stored blob ids", sbot::BlobsList},
      {"blobs.rm", {}, "remove blob ID", sbot::BlobsRemove},
      {"server", {"start"}, "run the server: --host --port --hops --seed ADDR --no-lan --no-ebt --room --external HOST --run-for S",
       sbot::Server},
      {"gossip.connect", {}, "connect the running server to ADDR (net:HOST:PORT~shs:KEY)",
       NeedsServer},
      {"gossip.peers", {}, "known peers of the running server and their state", NeedsServer},
      {"replicate.request", {}, "replicate FEED even if it is not followed", NeedsServer},
      {"friends.follow", {}, "follow FEED (publishes a contact message)",
       [](sbot::Context& c, const sbot::VerbArgs& a) { return sbot::Contact(c, a, "following", true); }},
      {"friends.unfollow", {}, "stop following FEED",
       [](sbot::Context& c, const sbot::VerbArgs& a) { return sbot::Contact(c, a, "following", false); }},
      {"friends.block", {}, "block FEED: never replicate it",
       [](sbot::Context& c, const sbot::VerbArgs& a) { return sbot::Contact(c, a, "blocking", true); }},
      {"friends.unblock", {}, "unblock FEED",
       [](sbot::Context& c, const sbot::VerbArgs& a) { return sbot::Contact(c, a, "blocking", false); }},
      {"blobs.want", {}, "fetch blob ID from peers (needs the running server)", NeedsServer},
      {"migrate", {}, "import ssb-server's or ssb-db2's log from the data dir (done on first "
       "use; --from-start reads it all again)", sbot::MigrateVerb},
      {"invite.accept", {}, "redeem a pub's invite CODE: the pub follows us, we follow it and dial it",
       sbot::InviteAccept},
      {"invite.create", {}, "make an invite code for this server (as a pub): --uses N --note T --external HOST",
       NeedsServer},
      {"room.join", {}, "join the room at ADDR: stay connected, reach its attendants through it",
       NeedsServer},
  };

  sbot::Globals g;
  g.path = DefaultPath();
  const sbot::Globals defaults = g;
  Subcommands subs;
  const Verb* only = PlainVerb(verbs, argc, argv);
  auto app = MakeParser(verbs, only, g, subs);
  try {
    app->parse(argc, argv);
  } catch (const CLI::ParseError& first) {
    // Errors and help come from the parser that knows every verb.
    g = defaults;
    app = MakeParser(verbs, nullptr, g, subs);
    try {
      if (!only) throw;
      app->parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return app->exit(e) == 0 ? sbot::kExitOk : sbot::kExitUsage;
    }
  }
  for (auto& [sub, verb] : subs) {
    if (!*sub) continue;
    auto args = sbot::ParseVerbArgs(sub->remaining());
    if (!args.ok()) return sbot::Context(g).Fail(args.status());
    // Global options may also follow the verb, as in `sbot feed --pretty`.
    ssb::Status st = sbot::TakeGlobals(&args->options, &g);
    sbot::Context ctx(g);
    if (!st.ok()) return ctx.Fail(st);
    // One reader of DATADIR/config for every verb (and the server): a bad one stops them all.
    if (st = ctx.LoadConfig(); !st.ok()) return ctx.Fail(st);
    // Switching from ssb-server or an ssb-db2 app: their log is imported before anything else.
    if (int code = sbot::MigrateOnFirstUse(ctx, verb->name); code != sbot::kExitOk) return code;
    // A running server owns the data dir: verbs go through it (like ssb-client).
    if (auto code = sbot::RunThroughServer(verb->name, ctx, *args)) return *code;
    return verb->run(ctx, *args);
  }
  return sbot::kExitUsage;
}
