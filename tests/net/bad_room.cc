// Rooms that lie and peers that abuse a room, for tests/net/bad_rooms_test.sh.
//
//   bad_room lying-room NETWORK_KEY_B64 SECONDS FOLLOWED_ID_OUT_FILE
//     Listens on 127.0.0.1 (a free port) as a "room" and prints its address. To whoever
//     connects it says it is a room (tunnel.isRoom), then on tunnel.endpoints sends 5,000
//     made-up attendants at once and a fresh list of 100 every 50 ms for ever, with ids that
//     are not feed ids in between; a tunnel.connect from the client is accepted and never
//     answered (a tunnel that never opens); and it calls tunnel.connect on the client 300
//     times with made-up origins, sending junk bytes. One made-up attendant is written to
//     FOLLOWED_ID_OUT_FILE (the test makes the client follow it, so it tries to reach it).
//     After SECONDS it prints what the client did and exits 0.
//
//   bad_room tunnel-loop ROOM_ADDRESS NETWORK_KEY_B64 TARGET_ID
//     Joins the room at ROOM_ADDRESS (subscribes to tunnel.endpoints), then opens 500 tunnels
//     to TARGET_ID without closing them, 20 to itself and 20 to the room, and 3,000 endpoint
//     subscriptions. Exits 0 when the room refused beyond its limits (each refusal an error
//     with a message) and answered a last room.metadata call, i.e. it kept serving.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include "ssb/address.h"
#include "ssb/base64.h"
#include "ssb/muxrpc.h"
#include "ssb/net.h"
#include "ssb/ref.h"

using asio::awaitable;
using asio::ip::tcp;
using ssb::json::Value;
using ssb::rpc::CallType;
constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);

namespace {

ssb::NetworkKey g_net = ssb::kMainNetKey;
std::mt19937 g_rng(42);

std::string RandomId() {
  ssb::PublicKey k;
  for (auto& b : k) b = static_cast<uint8_t>(g_rng());
  return ssb::FeedIdFromKey(k);
}

awaitable<void> Sleep(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(kNoThrow);
}

const std::vector<std::string> kTunnelConnect = {"tunnel", "connect"};
const std::vector<std::string> kEndpoints = {"tunnel", "endpoints"};
const std::vector<std::string> kMetadata = {"room", "metadata"};

// ---- lying-room

struct LyingStats {
  int connections = 0;
  int tunnels_from_client = 0;  // tunnel.connect the client called on us
  int our_tunnels_refused = 0;  // our tunnel.connect calls the client ended with an error
  int our_tunnels_left_open = 0;
  int endpoint_lists = 0;
  std::string followed;
};

awaitable<void> LyingPeer(tcp::socket socket, const ssb::Keypair& me, LyingStats& stats,
                          std::chrono::steady_clock::time_point end) {
  ssb::net::HandshakeOptions hopt;
  hopt.network_key = g_net;
  auto sc = co_await ssb::net::HandshakeAsServer(std::move(socket), me, hopt);
  if (!sc.ok()) co_return;
  ++stats.connections;
  auto api = std::make_shared<ssb::rpc::Api>();
  api->AddAsync("tunnel.isRoom", ssb::rpc::Access::kAnyone,
                [](ssb::rpc::CallContext&, const Value&) -> awaitable<ssb::Result<Value>> {
                  co_return Value::Bool(true);
                });
  api->AddStream("tunnel.endpoints", CallType::kSource, ssb::rpc::Access::kAnyone,
                 [&stats, end](ssb::rpc::CallContext&, const Value&, std::shared_ptr<ssb::rpc::Stream> s) -> awaitable<void> {
                   Value first = Value::Array();
                   first.Push(Value::String(stats.followed));
                   for (int i = 0; i < 5000; ++i) first.Push(Value::String(RandomId()));
                   s->WriteJson(first);
                   int n = 0;
                   while (!s->closed() && std::chrono::steady_clock::now() < end) {
                     Value list = Value::Array();
                     list.Push(Value::String(stats.followed));
                     for (int i = 0; i < 100; ++i) list.Push(Value::String(RandomId()));
                     if (++n % 10 == 0) list.Push(Value::String("@not-a-feed"));
                     if (n % 15 == 0) list.Push(Value::Number(7));
                     s->WriteJson(list);
                     ++stats.endpoint_lists;
                     co_await s->Drain();
                     co_await Sleep(std::chrono::milliseconds(50));
                   }
                 });
  api->AddStream("tunnel.connect", CallType::kDuplex, ssb::rpc::Access::kAnyone,
                 [&stats, end](ssb::rpc::CallContext&, const Value&, std::shared_ptr<ssb::rpc::Stream> s) -> awaitable<void> {
                   ++stats.tunnels_from_client;
                   // Never answer; just swallow what comes until the client gives up.
                   while (std::chrono::steady_clock::now() < end) {
                     auto r = co_await s->Read();
                     if (!r.ok() || !*r) co_return;
                   }
                 });
  ssb::rpc::PeerInfo info;
  info.id = sc->peer;
  info.is_client = true;
  auto ex = co_await asio::this_coro::executor;
  auto conn = std::make_shared<ssb::rpc::Connection>(ex, std::move(sc->transport), api.get(), info);
  asio::co_spawn(ex, [conn, api]() -> awaitable<void> { (void)co_await conn->Run(); }, asio::detached);
  // Tunnels to the client in a loop, from made-up origins, with junk inside.
  co_await Sleep(std::chrono::milliseconds(500));
  std::vector<std::shared_ptr<ssb::rpc::Stream>> open;
  for (int i = 0; i < 300 && !conn->closed(); ++i) {
    Value opts = Value::Object();
    opts.Set("target", Value::String(ssb::FeedIdFromKey(sc->peer)));
    opts.Set("portal", Value::String(me.id()));
    opts.Set("origin", Value::String(RandomId()));
    Value args = Value::Array();
    args.Push(std::move(opts));
    auto s = conn->Open(CallType::kDuplex, kTunnelConnect, std::move(args));
    s->WriteBinary(std::string(64, static_cast<char>(i)));
    open.push_back(s);
  }
  co_await Sleep(std::chrono::milliseconds(6000));  // past the client's handshake deadline
  for (auto& s : open) {
    if (s->remote_ended()) ++stats.our_tunnels_refused;
    else ++stats.our_tunnels_left_open;
  }
  while (!conn->closed() && std::chrono::steady_clock::now() < end) {
    co_await Sleep(std::chrono::milliseconds(200));
  }
  conn->Close();
}

int LyingRoom(int argc, char** argv) {
  if (argc < 5) return 2;
  double seconds = std::atof(argv[3]);
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  ssb::Keypair me = ssb::Keypair::Generate();
  LyingStats stats;
  stats.followed = RandomId();
  {
    std::ofstream out(argv[4]);
    out << stats.followed << "\n";
  }
  ssb::NetShsAddress addr{"127.0.0.1", acceptor.local_endpoint().port(), me.public_key()};
  std::printf("%s\n", ssb::FormatAddress(addr).c_str());
  std::fflush(stdout);
  auto end = std::chrono::steady_clock::now() +
             std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  asio::co_spawn(io, [&]() -> awaitable<void> {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kNoThrow);
      if (ec) co_return;
      asio::co_spawn(io, LyingPeer(std::move(socket), me, stats, end), asio::detached);
    }
  }, asio::detached);
  io.run_until(end);
  std::printf("lying room: %d connections, %d endpoint lists sent, %d tunnels asked of us by the "
              "client, %d of our %d tunnels refused by the client, %d left hanging\n",
              stats.connections, stats.endpoint_lists, stats.tunnels_from_client,
              stats.our_tunnels_refused, stats.our_tunnels_refused + stats.our_tunnels_left_open,
              stats.our_tunnels_left_open);
  return 0;
}

// ---- tunnel-loop

int TunnelLoop(int argc, char** argv) {
  if (argc < 5) return 2;
  auto room = ssb::ParseMultiserver(argv[2]);
  if (!room.ok()) return 2;
  std::string target = argv[4];
  asio::io_context io;
  int exit_code = 1;
  asio::co_spawn(io, [&]() -> awaitable<void> {
    ssb::Keypair me = ssb::Keypair::Generate();
    ssb::net::HandshakeOptions hopt;
    hopt.network_key = g_net;
    auto sc = co_await ssb::net::DialNetShs(room->front(), me, hopt);
    if (!sc.ok()) {
      std::printf("FAILED: cannot reach the room: %s\n", sc.status().message().c_str());
      co_return;
    }
    ssb::rpc::PeerInfo info;
    info.id = sc->peer;
    auto ex = co_await asio::this_coro::executor;
    auto conn = std::make_shared<ssb::rpc::Connection>(ex, std::move(sc->transport), nullptr, info);
    asio::co_spawn(ex, [conn]() -> awaitable<void> { (void)co_await conn->Run(); }, asio::detached);
    auto endpoints = conn->Open(CallType::kSource, kEndpoints, Value::Array());
    (void)co_await endpoints->Read();
    std::string room_id = ssb::FeedIdFromKey(room->front().key);
    auto open_tunnel = [&](const std::string& to) {
      Value opts = Value::Object();
      opts.Set("target", Value::String(to));
      opts.Set("portal", Value::String(room_id));
      Value args = Value::Array();
      args.Push(std::move(opts));
      return conn->Open(CallType::kDuplex, kTunnelConnect, std::move(args));
    };
    std::vector<std::shared_ptr<ssb::rpc::Stream>> tunnels;
    for (int i = 0; i < 500; ++i) {
      tunnels.push_back(open_tunnel(target));
      if (i % 50 == 0) co_await Sleep(std::chrono::milliseconds(10));
    }
    for (int i = 0; i < 20; ++i) tunnels.push_back(open_tunnel(me.id()));
    for (int i = 0; i < 20; ++i) tunnels.push_back(open_tunnel(room_id));
    std::vector<std::shared_ptr<ssb::rpc::Stream>> subs;
    for (int i = 0; i < 3000; ++i) subs.push_back(conn->Open(CallType::kSource, kEndpoints, Value::Array()));
    co_await Sleep(std::chrono::milliseconds(3000));
    int refused = 0, open = 0, refused_subs = 0;
    std::string why;
    for (auto& t : tunnels) {
      if (t->remote_ended()) {
        ++refused;
        if (why.empty()) {
          auto r = co_await t->Read();
          if (!r.ok()) why = r.status().message();
        }
      } else {
        ++open;
      }
    }
    for (auto& s : subs) refused_subs += s->remote_ended() ? 1 : 0;
    auto meta = co_await conn->Call(kMetadata, Value::Array());
    std::printf("tunnel loop: %d tunnels refused (%s), %d left open; %d of 3000 subscriptions "
                "refused; the room %s\n",
                refused, why.c_str(), open, refused_subs,
                meta.ok() ? "still answers" : ("failed: " + meta.status().message()).c_str());
    bool ok = meta.ok() && open <= 32 && refused >= 500 && refused_subs >= 2900 && !why.empty();
    std::printf("%s tunnel-loop\n", ok ? "ok" : "FAILED");
    exit_code = ok ? 0 : 1;
    conn->Close();
  }, [&](std::exception_ptr) { io.stop(); });
  io.run();
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || !ssb::CryptoInit()) {
    std::fprintf(stderr, "usage: bad_room lying-room NETKEY SECONDS OUTFILE | tunnel-loop ROOM NETKEY TARGET\n");
    return 2;
  }
  std::string mode = argv[1];
  std::string net = mode == "lying-room" ? argv[2] : (argc > 3 ? argv[3] : "");
  if (!net.empty()) {
    auto k = ssb::Base64DecodeCanonical(net);
    if (!k || k->size() != 32) return 2;
    std::memcpy(g_net.data(), k->data(), 32);
  }
  if (mode == "lying-room") return LyingRoom(argc, argv);
  if (mode == "tunnel-loop") return TunnelLoop(argc, argv);
  return 2;
}
