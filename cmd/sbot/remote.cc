// `sbot server`, and the verbs run through a running server (like ssb-client): when
// <path>/socket accepts a connection, the verb becomes a muxrpc call on it.
#include "remote.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <algorithm>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>

#include "ssb/feed_ops.h"
#include "ssb/line_reader.h"
#include "ssb/message.h"
#include "ssb/muxrpc.h"
#include "ssb/net.h"
#include "ssb/address.h"
#include "ssb/node.h"
#include "ssb/ref.h"
#include "ssb/worker_pool.h"
#include "verbs.h"

namespace sbot {
namespace {

using asio::awaitable;
using ssb::json::Value;
using ssb::rpc::CallType;

std::vector<std::string> Path(const std::string& dotted) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t dot = dotted.find('.', start);
    out.push_back(dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return out;
    start = dot + 1;
  }
}

void PrintPacket(const Context& ctx, const ssb::rpc::Packet& p) {
  if (p.type == ssb::rpc::BodyType::kBinary) {
    std::cout.write(p.body.data(), static_cast<std::streamsize>(p.body.size()));
    return;
  }
  if (p.type == ssb::rpc::BodyType::kJson) {
    if (ctx.globals().pretty) {
      auto v = ssb::json::Parse(p.body, {.wtf8_input = true});
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

// The arguments of the call the verb makes; `method` may change (aliases of our own).
ssb::Result<Value> RemoteArgs(const Method& m, Context& ctx, const VerbArgs& a, std::string* method) {
  std::string name = m.name;
  *method = m.remote ? m.remote : m.name;
  if (name == "publish") {
    auto content = PublishContentArg(a);
    if (!content.ok()) return content.status();
    Value args = Value::Array();
    args.Push(std::move(content).value());
    return args;
  }
  if (name == "friends.unfollow" || name == "friends.unblock") {
    auto content = ContactArgs(m, a);
    if (!content.ok()) return content.status();
    Value opts = Value::Object();
    opts.Set("state", Value::Bool(false));
    if (const Value* recps = a.options.Find("recps")) opts.Set("recps", *recps);
    Value args = Value::Array();
    args.Push(Value::String(a.positional[0]));
    args.Push(std::move(opts));
    return args;
  }
  if (name == "blobs.add") {
    Value args = Value::Array();
    if (a.positional.size() > 1) args.Push(Value::String(a.positional[1]));  // the id expected
    return args;
  }
  Value args = CallArgs(m, a);
  if (name == "createHistoryStream" && (args.size() == 0 || !args.items()[0].Find("id"))) {
    auto keys = ctx.Identity();
    if (!keys.ok()) return keys.status();
    Value o = args.size() ? args.items()[0] : Value::Object();
    o.Set("id", Value::String((*keys)->id()));
    args = Value::Array();
    args.Push(std::move(o));
  }
  return args;
}

// add through the server: every line a call, a result line each (as without a server).
awaitable<int> RemoteAdd(std::shared_ptr<ssb::rpc::Connection> conn, const Context& ctx) {
  size_t stored = 0, rejected = 0;
  ssb::LineReader in(0);
  for (auto item = in.Next(); item.kind != ssb::LineReader::Kind::kEnd; item = in.Next()) {
    if (item.kind == ssb::LineReader::Kind::kError) co_return ctx.Fail(item.status);
    Value out = Value::Object();
    if (item.kind == ssb::LineReader::Kind::kTooLong) {
      ++rejected;
      out.Set("error", Value::String(item.status.ToString()));
      ctx.Print(out);
      continue;
    }
    std::string_view line = item.line;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto parsed = ssb::json::Parse(line, ssb::MessageParseLimits());
    if (!parsed.ok()) {
      ++rejected;
      out.Set("error", Value::String(parsed.status().ToString()));
      ctx.Print(out);
      continue;
    }
    Value v = std::move(parsed).value();
    if (v.is_object() && !v.Find("author") && v.Find("value")) {
      Value inner = *v.Find("value");
      v = std::move(inner);
    }
    out.Set("key", Value::String(ssb::Message::FromValue(v).id()));
    Value args = Value::Array();
    args.Push(std::move(v));
    std::vector<std::string> add_method{"add"};
    auto r = co_await conn->Call(add_method, std::move(args));
    if (r.ok()) {
      ++stored;
      out.Set("stored", Value::Bool(true));
    } else {
      ++rejected;
      out.Set("stored", Value::Bool(false));
      out.Set("error", Value::String(r.status().ToString()));
    }
    ctx.Print(out);
  }
  std::cerr << "sbot: " << stored << " stored (or already present), " << rejected << " rejected\n";
  co_return rejected ? kExitRejected : kExitOk;
}

// Reads a stream's packets to its end, handing each to `each`; the error that ended it, if any.
awaitable<ssb::Status> ReadToEnd(std::shared_ptr<ssb::rpc::Stream> s,
                                 std::function<void(const ssb::rpc::Packet&)> each) {
  for (;;) {
    auto r = co_await s->Read();
    if (!r.ok()) co_return r.status();
    if (!*r) co_return ssb::Status::Ok();
    each(**r);
  }
}

awaitable<int> RunCall(std::shared_ptr<ssb::rpc::Connection> conn, const Method& m, std::string method,
                       Value args, Context& ctx, const VerbArgs& a) {
  int code = kExitOk;
  std::string type = m.type;
  std::string name = m.name;
  if (name == "add") {
    code = co_await RemoteAdd(conn, ctx);
  } else if (type == "async" || type == "sync" || type == "local") {
    auto r = co_await conn->Call(Path(method), std::move(args));
    if (!r.ok()) {
      code = ctx.Fail(r.status());
    } else {
      ctx.Print(*r);
    }
  } else if (type == "source") {
    auto s = conn->Open(CallType::kSource, Path(method), std::move(args));
    auto end = co_await ReadToEnd(s, [&](const ssb::rpc::Packet& p) {
      PrintPacket(ctx, p);
      std::cout.flush();
    });
    if (!end.ok()) code = ctx.Fail(end);
  } else if (type == "sink" && name == "blobs.add") {
    // A file (or stdin) on the sink; the server answers with the id.
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
    auto s = conn->Open(CallType::kSink, Path(method), std::move(args));
    std::string chunk(64 * 1024, '\0');
    while (*in && !s->closed()) {
      in->read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      std::streamsize n = in->gcount();
      if (n > 0) s->WriteBinary(chunk.substr(0, static_cast<size_t>(n)));
      co_await s->Drain();
    }
    s->End();
    auto end = co_await ReadToEnd(s, [](const ssb::rpc::Packet& p) {
      auto v = ssb::json::Parse(p.body);
      if (v.ok() && v->is_string()) std::cout << v->as_string() << "\n";
    });
    if (!end.ok()) code = ctx.Fail(end);
  } else if (type == "sink") {
    // createWriteStream: each NDJSON line of stdin, one item.
    auto s = conn->Open(CallType::kSink, Path(method), std::move(args));
    ssb::LineReader in(0);
    for (auto item = in.Next(); item.kind != ssb::LineReader::Kind::kEnd && !s->closed();
         item = in.Next()) {
      if (item.kind != ssb::LineReader::Kind::kLine) {
        code = ctx.Fail(item.status);
        break;
      }
      std::string_view line = item.line;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      auto v = ssb::json::Parse(line);
      if (!v.ok()) {
        code = ctx.Fail(ssb::Status::InvalidInput("stdin: " + v.status().message()));
        break;
      }
      s->WriteJson(*v);
      co_await s->Drain();
    }
    s->End();
    auto end = co_await ReadToEnd(s, [](const ssb::rpc::Packet&) {});
    if (!end.ok()) code = ctx.Fail(end);
  } else {
    code = ctx.Fail(ssb::Status::InvalidArgument(
        name + " is a duplex stream between peers; it is not called from the command line"));
  }
  conn->Close();
  co_return code;
}

}  // namespace

std::optional<int> RunThroughServer(const Method& m, Context& ctx, const VerbArgs& a) {
  asio::io_context io;
  asio::local::stream_protocol::socket sock(io);
  asio::error_code ec;
  sock.connect(asio::local::stream_protocol::endpoint(ssb::LocalSocketPath(ctx.globals().path)), ec);
  if (ec) return std::nullopt;  // no server: the data dir itself answers
  std::string method;
  auto args = RemoteArgs(m, ctx, a, &method);
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
  asio::co_spawn(io, RunCall(conn, m, method, std::move(args).value(), ctx, a),
                 [&code](std::exception_ptr e, int c) {
                   if (!e) code = c;
                 });
  io.run();
  return code;
}

int Server(Context& ctx, const Method&, const VerbArgs& a) {
  ssb::LimitMallocArenas();  // before the server's threads start: a long-lived process's RSS
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
