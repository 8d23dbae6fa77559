// `sbot server`, and the verbs run through a running server (like ssb-client): when
// <path>/socket accepts a connection, the verb becomes a muxrpc call on it.
#include "remote.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>

#include "ssb/feed_ops.h"
#include "ssb/muxrpc.h"
#include "ssb/net.h"
#include "ssb/address.h"
#include "ssb/node.h"
#include "ssb/ref.h"

namespace sbot {
namespace {

using asio::awaitable;
using ssb::json::Value;
using ssb::rpc::CallType;

struct RemoteVerb {
  const char* verb;
  std::vector<std::string> method;
  CallType type;
};

const std::vector<RemoteVerb>& RemoteVerbs() {
  static const std::vector<RemoteVerb> verbs = {
      {"whoami", {"whoami"}, CallType::kAsync},
      {"publish", {"publish"}, CallType::kAsync},
      {"feed", {"createFeedStream"}, CallType::kSource},
      {"log", {"createLogStream"}, CallType::kSource},
      {"hist", {"createHistoryStream"}, CallType::kSource},
      {"messagesByType", {"messagesByType"}, CallType::kSource},
      {"get", {"get"}, CallType::kAsync},
      {"status", {"status"}, CallType::kAsync},
      {"gossip.connect", {"gossip", "connect"}, CallType::kAsync},
      {"gossip.peers", {"gossip", "peers"}, CallType::kAsync},
      {"replicate.request", {"replicate", "request"}, CallType::kAsync},
      {"friends.follow", {"friends", "follow"}, CallType::kAsync},
      {"friends.unfollow", {"friends", "unfollow"}, CallType::kAsync},
      {"friends.block", {"friends", "block"}, CallType::kAsync},
      {"friends.unblock", {"friends", "unblock"}, CallType::kAsync},
      {"blobs.add", {"blobs", "add"}, CallType::kSink},
      {"blobs.get", {"blobs", "get"}, CallType::kSource},
      {"blobs.has", {"blobs", "has"}, CallType::kAsync},
      {"blobs.want", {"blobs", "want"}, CallType::kAsync},
      {"blobs.ls", {"blobs", "ls"}, CallType::kSource},
      {"blobs.rm", {"blobs", "rm"}, CallType::kAsync},
      {"invite.accept", {"invite", "accept"}, CallType::kAsync},
      {"invite.create", {"invite", "create"}, CallType::kAsync},
      {"room.join", {"room", "join"}, CallType::kAsync},
  };
  return verbs;
}

// The muxrpc arguments of a verb: muxrpcli passes positional arguments first, then the
// options object; verbs whose JS method takes one options object get the positional folded in.
ssb::Result<Value> RemoteArgs(const std::string& verb, const VerbArgs& a) {
  Value args = Value::Array();
  Value opts = a.options;
  auto first = [&]() -> std::string { return a.positional.empty() ? "" : a.positional[0]; };
  if (verb == "publish") {
    auto content = PublishContentArg(a);
    if (!content.ok()) return content.status();
    args.Push(std::move(content).value());
  } else if (verb == "hist") {
    if (!a.positional.empty()) opts.Set("id", Value::String(first()));
    if (!opts.Find("id")) return ssb::Status::InvalidArgument("hist needs a feed id");
    args.Push(std::move(opts));
  } else if (verb == "messagesByType") {
    if (!a.positional.empty()) opts.Set("type", Value::String(first()));
    args.Push(std::move(opts));
  } else if (verb == "feed" || verb == "log" || verb == "blobs.ls") {
    args.Push(std::move(opts));
  } else if (verb == "blobs.add") {
    // the bytes travel on the sink; an expected id may be given
    if (a.positional.size() > 1) args.Push(Value::String(a.positional[1]));
  } else {
    for (const auto& p : a.positional) args.Push(Value::String(p));
    if (opts.size() > 0) args.Push(std::move(opts));
  }
  return args;
}

void PrintItem(const Context& ctx, const ssb::rpc::Packet& p) {
  if (p.type == ssb::rpc::BodyType::kBinary) {
    std::cout.write(p.body.data(), static_cast<std::streamsize>(p.body.size()));
    return;
  }
  if (p.type == ssb::rpc::BodyType::kJson) {
    if (ctx.globals().pretty) {
      auto v = ssb::json::Parse(p.body);
      if (v.ok()) {
        ctx.Print(*v);
        return;
      }
    }
    ctx.PrintRaw(p.body);
    return;
  }
  std::cout << p.body << "\n";
}

awaitable<int> RunCall(std::shared_ptr<ssb::rpc::Connection> conn, const RemoteVerb& rv,
                       Value args, const Context& ctx, const VerbArgs& a) {
  int code = kExitOk;
  if (rv.type == CallType::kAsync) {
    auto r = co_await conn->Call(rv.method, std::move(args));
    if (!r.ok()) {
      code = ctx.Fail(r.status());
    } else {
      ctx.Print(*r);
      if (std::string(rv.verb) == "blobs.has" && r->is_bool() && !r->as_bool()) code = kExitNotFound;
    }
  } else if (rv.type == CallType::kSource) {
    auto s = conn->Open(CallType::kSource, rv.method, std::move(args));
    for (;;) {
      auto r = co_await s->Read();
      if (!r.ok()) {
        code = ctx.Fail(r.status());
        break;
      }
      if (!*r) break;
      PrintItem(ctx, **r);
    }
  } else {  // blobs.add: a file or stdin on the sink
    std::string path = a.positional.empty() ? "-" : a.positional[0];
    std::ifstream file;
    std::istream* in = &std::cin;
    if (path != "-") {
      file.open(path, std::ios::binary);
      if (!file) {
        code = ctx.Fail(ssb::Status::NotFound("cannot open " + path));
        conn->Close();
        co_return code;
      }
      in = &file;
    }
    auto s = conn->Open(CallType::kSink, rv.method, std::move(args));
    std::string chunk(64 * 1024, '\0');
    while (*in && !s->closed()) {
      in->read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      std::streamsize n = in->gcount();
      if (n > 0) s->WriteBinary(chunk.substr(0, static_cast<size_t>(n)));
      co_await s->Drain();
    }
    s->End();
    for (;;) {
      auto r = co_await s->Read();
      if (!r.ok()) {
        code = ctx.Fail(r.status());
        break;
      }
      if (!*r) break;
      auto v = ssb::json::Parse((*r)->body);
      if (v.ok() && v->is_string()) std::cout << v->as_string() << "\n";
    }
  }
  conn->Close();
  co_return code;
}

}  // namespace

bool IsRemoteVerb(const std::string& verb) {
  for (const auto& rv : RemoteVerbs())
    if (verb == rv.verb) return true;
  return false;
}

std::optional<int> RunThroughServer(const std::string& verb, Context& ctx, const VerbArgs& a) {
  const RemoteVerb* rv = nullptr;
  for (const auto& v : RemoteVerbs())
    if (verb == v.verb) rv = &v;
  if (!rv) return std::nullopt;
  asio::io_context io;
  asio::local::stream_protocol::socket sock(io);
  asio::error_code ec;
  sock.connect(asio::local::stream_protocol::endpoint(ssb::LocalSocketPath(ctx.globals().path)), ec);
  if (ec) return std::nullopt;  // no server: the embedded store answers
  auto args = RemoteArgs(verb, a);
  if (!args.ok()) return ctx.Fail(args.status());
  ssb::rpc::PeerInfo peer;
  peer.owner = true;
  auto conn = std::make_shared<ssb::rpc::Connection>(
      io.get_executor(),
      std::make_unique<ssb::net::PlainTransport>(
          asio::generic::stream_protocol::socket(std::move(sock)), "unix"),
      nullptr, peer);
  asio::co_spawn(io, conn->Run(), asio::detached);
  int code = kExitIo;
  asio::co_spawn(io, RunCall(conn, *rv, std::move(args).value(), ctx, a),
                 [&code](std::exception_ptr e, int c) {
                   if (!e) code = c;
                 });
  io.run();
  return code;
}

int Server(Context& ctx, const VerbArgs& a) {
  auto config = ssb::LoadNodeConfig(ctx.globals().path);
  if (!config.ok()) return ctx.Fail(config.status());
  ssb::NodeConfig c = std::move(config).value();
  const Value& o = a.options;
  int64_t port = c.port, hops = c.hops;
  double run_for = 0;
  bool lan = c.lan, ebt = c.ebt, verbose = false, room = c.room;
  std::string host = c.host, external = c.external;
  // Every option is one of these: a misspelt one must not be ignored.
  ssb::Status st;
  for (const std::string& key : o.keys()) {
    static const char* const kKnown[] = {"host", "port", "hops", "run-for", "lan", "ebt", "verbose",
                                         "room", "external", "gossip", "seed"};
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown)) {
      st = ssb::Status::InvalidArgument("sbot server: unknown option --" + key);
      break;
    }
  }
  if (!a.positional.empty() && st.ok()) {
    st = ssb::Status::InvalidArgument("sbot server takes no arguments (\"" + a.positional[0] + "\")");
  }
  if (st.ok()) st = OptString(o, "host", &host);
  if (st.ok()) st = OptInt(o, "port", &port);
  if (st.ok()) st = OptInt(o, "hops", &hops);
  if (st.ok()) st = OptNumber(o, "run-for", &run_for);
  if (st.ok()) st = OptBool(o, "lan", &lan);
  if (st.ok()) st = OptBool(o, "ebt", &ebt);
  if (st.ok()) st = OptBool(o, "verbose", &verbose);
  if (st.ok()) st = OptBool(o, "room", &room);
  if (st.ok()) st = OptString(o, "external", &external);
  if (st.ok() && !external.empty() && !ssb::IsValidHost(external)) {
    st = ssb::Status::InvalidArgument("--external must be a host name or address");
  }
  if (st.ok() && o.Find("gossip")) {
    const Value* g = o.Find("gossip");
    if (!g->is_object() || g->size() != 1 || !g->Find("pub")) {
      st = ssb::Status::InvalidArgument("of --gossip.*, only --gossip.pub true|false is known");
    } else {
      st = OptBool(*g, "pub", &c.dial_pubs);
    }
  }
  if (st.ok() && o.Find("seed")) {
    std::string seed;
    st = OptString(o, "seed", &seed);
    c.seeds.push_back(seed);
  }
  if (st.ok() && (port < 0 || port > 65535)) st = ssb::Status::InvalidArgument("--port must be 0..65535");
  if (st.ok() && (hops < 0 || hops > 10)) st = ssb::Status::InvalidArgument("--hops must be 0..10");
  if (!st.ok()) return ctx.Fail(st);
  c.host = host;
  c.port = static_cast<uint16_t>(port);
  c.hops = static_cast<int>(hops);
  c.lan = lan;
  c.ebt = ebt;
  c.verbose = verbose;
  c.room = room;
  c.external = external;
  c.run_for_seconds = run_for;
  if (!ctx.globals().hmac.empty()) {
    auto opt = ctx.ValidateOptions();
    if (!opt.ok()) return ctx.Fail(opt.status());
    c.sign_cap = opt->hmac_key;
  }
  auto node = ssb::Node::Open(std::move(c));
  if (!node.ok()) return ctx.Fail(node.status());
  Value hello = Value::Object();
  hello.Set("id", Value::String((*node)->keys().id()));
  hello.Set("address", Value::String((*node)->Address()));
  hello.Set("port", Value::Number((*node)->port()));
  ctx.Print(hello);
  std::cout.flush();
  st = (*node)->Run();
  if (!st.ok()) return ctx.Fail(st);
  return kExitOk;
}

}  // namespace sbot
