// Tunnels: a secret handshake, box-stream and muxrpc session carried by the binary packets of a
// muxrpc duplex stream (as tunnel.connect carries them through a room), over a socket pair; and
// a tunnel whose far end never answers, which must fail by the handshake deadline.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/local/connect_pair.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>
#include <catch2/catch.hpp>

#include "ssb/muxrpc.h"
#include "ssb/net.h"
#include "ssb/ref.h"

using asio::awaitable;
using ssb::json::Value;
using namespace ssb::rpc;

namespace {

// (Brace lists inside coroutines trip GCC 12: "array used as initializer".)
const std::vector<std::string> kTunnelConnect = {"tunnel", "connect"};
const std::vector<std::string> kWhoami = {"whoami"};
const std::vector<std::string> kBig = {"big"};

struct OuterPair {
  std::shared_ptr<Connection> a, b;  // a calls, b serves
};

OuterPair MakePair(asio::io_context& io, const Api* api_b) {
  asio::local::stream_protocol::socket sa(io), sb(io);
  asio::local::connect_pair(sa, sb);
  PeerInfo pa, pb;
  pa.address = "a";
  pb.address = "b";
  auto a = std::make_shared<Connection>(
      io.get_executor(),
      std::make_unique<ssb::net::PlainTransport>(asio::generic::stream_protocol::socket(std::move(sa)), "a"),
      nullptr, pa);
  auto b = std::make_shared<Connection>(
      io.get_executor(),
      std::make_unique<ssb::net::PlainTransport>(asio::generic::stream_protocol::socket(std::move(sb)), "b"),
      api_b, pb);
  asio::co_spawn(io, [a]() -> awaitable<void> { (void)co_await a->Run(); }, asio::detached);
  asio::co_spawn(io, [b]() -> awaitable<void> { (void)co_await b->Run(); }, asio::detached);
  return {a, b};
}

}  // namespace

TEST_CASE("tunnel: a whole secret-handshake session inside a duplex stream") {
  REQUIRE(ssb::CryptoInit());
  asio::io_context io;
  ssb::Keypair origin = ssb::Keypair::Generate();
  ssb::Keypair target = ssb::Keypair::Generate();
  ssb::NetworkKey netkey{};
  netkey.fill(7);
  ssb::net::HandshakeOptions hopt;
  hopt.network_key = netkey;

  // The inner API the target serves to whoever comes through the tunnel.
  Api inner;
  inner.AddAsync("whoami", Access::kAnyone, [](CallContext& ctx, const Value&) -> awaitable<ssb::Result<Value>> {
    Value v = Value::Object();
    v.Set("caller", Value::String(ssb::FeedIdFromKey(ctx.peer.id)));
    co_return v;
  });
  inner.AddStream("big", CallType::kSource, Access::kAnyone,
                  [](CallContext&, const Value&, std::shared_ptr<Stream> s) -> awaitable<void> {
                    for (int i = 0; i < 200; ++i) {
                      s->WriteBinary(std::string(10000, static_cast<char>('a' + i % 26)));
                      co_await s->Drain();
                    }
                  });
  std::shared_ptr<Connection> inner_server;
  ssb::Status server_status = ssb::Status::IoError("not run"), client_status = server_status;
  ssb::PublicKey server_saw{}, client_saw{};
  // The outer API: tunnel.connect runs the target's side of the handshake over the stream.
  Api outer;
  outer.AddStream("tunnel.connect", CallType::kDuplex, Access::kAnyone,
                  [&](CallContext& ctx, const Value&, std::shared_ptr<Stream> s) -> awaitable<void> {
                    auto sc = co_await ssb::net::HandshakeAsServer(
                        ssb::net::TunnelByteStream(s, "tunnel:in"), target, hopt);
                    server_status = sc.status();
                    if (!sc.ok()) co_return;
                    server_saw = sc->peer;
                    PeerInfo info;
                    info.id = sc->peer;
                    info.is_client = true;
                    inner_server = std::make_shared<Connection>(ctx.conn->executor(), std::move(sc->transport), &inner, info);
                    (void)co_await inner_server->Run();
                  });
  auto pair = MakePair(io, &outer);

  std::string caller;
  size_t big_bytes = 0;
  bool done = false;
  asio::co_spawn(io, [&]() -> awaitable<void> {
    Value args = Value::Array();
    args.Push(Value::Object());
    auto duplex = pair.a->Open(CallType::kDuplex, kTunnelConnect, std::move(args));
    auto sc = co_await ssb::net::HandshakeAsClient(ssb::net::TunnelByteStream(duplex, "tunnel:out"),
                                                   origin, target.public_key(), hopt);
    client_status = sc.status();
    if (!sc.ok()) co_return;
    client_saw = sc->peer;
    PeerInfo info;
    info.id = sc->peer;
    auto client = std::make_shared<Connection>(pair.a->executor(), std::move(sc->transport), nullptr, info);
    asio::co_spawn(io, [client]() -> awaitable<void> { (void)co_await client->Run(); }, asio::detached);
    auto r = co_await client->Call(kWhoami, Value::Array());
    if (r.ok() && r->Find("caller")) caller = r->Find("caller")->as_string();
    // 2 MB through the tunnel: box-stream frames spread over many outer packets.
    auto s = client->Open(CallType::kSource, kBig, Value::Array());
    for (;;) {
      auto p = co_await s->Read();
      if (!p.ok() || !*p) break;
      big_bytes += (*p)->body.size();
    }
    client->Close();
    pair.a->Close();
    done = true;
    io.stop();
  }, asio::detached);
  io.run_for(std::chrono::seconds(30));
  CHECK(done);
  CHECK(server_status.ok());
  CHECK(client_status.ok());
  CHECK(server_saw == origin.public_key());
  CHECK(client_saw == target.public_key());
  CHECK(caller == ssb::FeedIdFromKey(origin.public_key()));
  CHECK(big_bytes == 2000000);
}

TEST_CASE("tunnel: a far end that never answers fails at the handshake deadline") {
  REQUIRE(ssb::CryptoInit());
  asio::io_context io;
  ssb::Keypair origin = ssb::Keypair::Generate();
  ssb::Keypair target = ssb::Keypair::Generate();
  // A lying room: accepts tunnel.connect and then says nothing, for ever.
  Api outer;
  outer.AddStream("tunnel.connect", CallType::kDuplex, Access::kAnyone,
                  [&](CallContext&, const Value&, std::shared_ptr<Stream> s) -> awaitable<void> {
                    for (;;) {
                      auto r = co_await s->Read();
                      if (!r.ok() || !*r) co_return;
                    }
                  });
  auto pair = MakePair(io, &outer);
  ssb::Status result;
  bool done = false;
  asio::co_spawn(io, [&]() -> awaitable<void> {
    ssb::net::HandshakeOptions hopt;
    hopt.timeout = std::chrono::milliseconds(300);
    auto duplex = pair.a->Open(CallType::kDuplex, kTunnelConnect, Value::Array());
    auto sc = co_await ssb::net::HandshakeAsClient(ssb::net::TunnelByteStream(duplex, "tunnel:out"),
                                                   origin, target.public_key(), hopt);
    result = sc.status();
    pair.a->Close();
    done = true;
    io.stop();
  }, asio::detached);
  io.run_for(std::chrono::seconds(20));
  REQUIRE(done);
  CHECK(result.code() == ssb::Code::kIoError);
  CHECK(result.message().find("timed out") != std::string::npos);
}
