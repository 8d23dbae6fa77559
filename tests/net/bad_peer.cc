// A misbehaving (or a well-behaved) peer for tests/net/bad_peers_test.sh.
//   bad_peer MODE ADDRESS [NETWORK_KEY_B64] [FEED_SECRET_FILE]
// Modes: good, garbage, wrong-network, wrong-key, oversize, malformed, endless-body,
//        invalid-messages, forked-messages (served on createHistoryStream), ebt-invalid-messages,
//        ebt-forked-messages (pushed over an ebt.replicate session), flood.
// Prints one line saying what happened; exits 0 when the server behaved as it must.
#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cstdio>
#include <cstring>
#include <string>

#include "ssb/address.h"
#include "ssb/base64.h"
#include "ssb/ebt.h"
#include "ssb/message.h"
#include "ssb/muxrpc.h"
#include "ssb/net.h"
#include "ssb/ref.h"

using asio::awaitable;
using asio::ip::tcp;
using ssb::json::Value;
constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);

namespace {

std::string g_mode;
ssb::NetShsAddress g_addr;
ssb::NetworkKey g_net = ssb::kMainNetKey;
std::string g_secret_file;
int g_exit = 1;

void Done(bool ok, const std::string& what) {
  std::printf("%s %s: %s\n", ok ? "ok" : "FAILED", g_mode.c_str(), what.c_str());
  g_exit = ok ? 0 : 1;
}

awaitable<tcp::socket> Connect() {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket s(ex);
  tcp::resolver r(ex);
  auto eps = r.resolve(g_addr.host, std::to_string(g_addr.port));
  co_await asio::async_connect(s, eps, asio::use_awaitable);
  co_return s;
}

// True when the server closes `s` within `seconds` (reads until EOF or error).
awaitable<bool> ClosedWithin(tcp::socket& s, int seconds) {
  asio::steady_timer t(s.get_executor(), std::chrono::seconds(seconds));
  bool timed_out = false;
  t.async_wait([&](const asio::error_code& ec) {
    if (!ec) {
      timed_out = true;
      asio::error_code ignored;
      s.close(ignored);
    }
  });
  std::array<char, 4096> buf;
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), kNoThrow);
    if (ec) break;
  }
  t.cancel();
  co_return !timed_out;
}

awaitable<ssb::Result<ssb::net::SecureConnection>> Handshake(const ssb::Keypair& me,
                                                             const ssb::PublicKey& server) {
  auto s = co_await Connect();
  ssb::net::HandshakeOptions o;
  o.network_key = g_net;
  co_return co_await ssb::net::HandshakeAsClient(std::move(s), me, server, o);
}

// A muxrpc connection to the server that serves `api` (for the modes that feed it messages).
awaitable<std::shared_ptr<ssb::rpc::Connection>> Rpc(const ssb::Keypair& me,
                                                     const ssb::rpc::Api* api) {
  auto sc = co_await Handshake(me, g_addr.key);
  if (!sc.ok()) {
    Done(false, "handshake: " + sc.status().message());
    co_return nullptr;
  }
  ssb::rpc::PeerInfo info;
  info.id = sc->peer;
  auto conn = std::make_shared<ssb::rpc::Connection>(co_await asio::this_coro::executor,
                                                     std::move(sc->transport), api, info);
  asio::co_spawn(co_await asio::this_coro::executor, conn->Run(), asio::detached);
  co_return conn;
}

// Raw access to the box-stream after a handshake: for sending broken packet-stream frames.
struct RawBox {
  std::unique_ptr<ssb::net::BoxTransport> t;
};

awaitable<void> Good() {
  auto me = ssb::Keypair::Generate();
  auto conn = co_await Rpc(me, nullptr);
  if (!conn) co_return;
  const std::vector<std::string> manifest{"manifest"};
  auto r = co_await conn->Call(manifest, Value::Array());
  if (!r.ok()) {
    Done(false, "manifest: " + r.status().message());
    co_return;
  }
  // createHistoryStream of the server's own feed must return its messages.
  Value opts = Value::Object();
  opts.Set("id", Value::String(ssb::FeedIdFromKey(g_addr.key)));
  opts.Set("keys", Value::Bool(false));
  Value args = Value::Array();
  args.Push(std::move(opts));
  const std::vector<std::string> method{"createHistoryStream"};
  auto s = conn->Open(ssb::rpc::CallType::kSource, method, std::move(args));
  int n = 0;
  for (;;) {
    auto m = co_await s->Read();
    if (!m.ok() || !*m) break;
    ++n;
  }
  conn->Close();
  Done(n > 0, "served " + std::to_string(n) + " messages of its feed");
}

awaitable<void> Garbage() {
  auto s = co_await Connect();
  std::string junk(64, '\0');
  for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>(i * 37 + 11);
  co_await asio::async_write(s, asio::buffer(junk), kNoThrow);
  Done(co_await ClosedWithin(s, 10), "the server closed the connection after garbage");
}

awaitable<void> WrongNetwork() {
  g_net[0] ^= 1;
  auto me = ssb::Keypair::Generate();
  auto sc = co_await Handshake(me, g_addr.key);
  Done(!sc.ok(), sc.ok() ? "handshake succeeded" : "refused: " + sc.status().message());
}

awaitable<void> WrongKey() {
  auto me = ssb::Keypair::Generate();
  auto other = ssb::Keypair::Generate();
  auto sc = co_await Handshake(me, other.public_key());  // dial a key the server does not hold
  Done(!sc.ok(), sc.ok() ? "handshake succeeded" : "refused: " + sc.status().message());
}

// Sends `bytes` as packet-stream data inside a valid box-stream; expects the server to close.
awaitable<void> SendRawFrames(const std::string& bytes, const std::string& what, bool expect_close) {
  auto me = ssb::Keypair::Generate();
  auto sc = co_await Handshake(me, g_addr.key);
  if (!sc.ok()) {
    Done(false, "handshake: " + sc.status().message());
    co_return;
  }
  auto& t = *sc->transport;
  (void)co_await t.Write(bytes);
  std::string got;
  bool closed = false;
  asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::seconds(expect_close ? 10 : 3));
  timer.async_wait([&](const asio::error_code& ec) {
    if (!ec) t.Abort();
  });
  for (;;) {
    auto r = co_await t.Read(&got);
    if (!r.ok() || !*r) {
      closed = r.ok() || r.status().message().find("Operation canceled") == std::string::npos;
      break;
    }
  }
  timer.cancel();
  if (expect_close) Done(closed, what + (closed ? ": the server closed the connection" : ": still open"));
  else Done(true, what + ": " + std::to_string(got.size()) + " bytes of answers");
}

awaitable<void> Oversize() {
  std::string f;
  f.push_back(2);
  uint32_t len = 200u << 20;  // a 200 MiB body
  for (int i = 3; i >= 0; --i) f.push_back(static_cast<char>(len >> (8 * i)));
  f.append("\0\0\0\1", 4);
  f.append(1000, 'x');
  co_await SendRawFrames(f, "a frame announcing a 200 MiB body", true);
}

awaitable<void> Malformed() {
  // Requests that do not parse, with no name, of unknown type; then a frame of type 3.
  std::string bytes;
  auto add = [&](bool stream, int32_t req, const std::string& body, int type = 2) {
    ssb::rpc::Packet p;
    p.stream = stream;
    p.req = req;
    p.type = static_cast<ssb::rpc::BodyType>(type);
    p.body = body;
    ssb::rpc::AppendPacket(&bytes, p);
  };
  add(false, 1, "{not json");
  add(false, 2, "{\"args\":[]}");
  add(true, 3, "{\"name\":[\"createHistoryStream\"],\"args\":[{\"id\":42}],\"type\":\"sauce\"}");
  add(true, 4, "{\"name\":[\"createHistoryStream\"],\"args\":[\"@nope\"],\"type\":\"source\"}");
  add(false, 5, "[1,2,3]");
  add(false, 6, std::string(100000, '['));
  std::string bad = bytes;
  bad.push_back(3);  // type 3 does not exist
  bad.append("\0\0\0\1\0\0\0\7x", 9);
  co_await SendRawFrames(bad, "malformed requests then a type-3 frame", true);
}

awaitable<void> EndlessBody() {
  // A header announcing 500 KB, then only a few bytes, and the connection left open: the
  // server must keep serving others meanwhile (checked by the harness while this runs).
  std::string f;
  f.push_back(2);
  uint32_t len = 500000;
  for (int i = 3; i >= 0; --i) f.push_back(static_cast<char>(len >> (8 * i)));
  f.append("\0\0\0\1", 4);
  f.append("{\"name\":", 8);
  co_await SendRawFrames(f, "a body that never ends", false);
}

// Messages 1..3 of `feed`: with a broken signature on the first, or (forked) a history other
// than the one the server holds.
std::vector<std::string> BadHistory(const ssb::Keypair& feed, bool forked) {
  std::vector<std::string> out;
  ssb::FeedState prev;
  const ssb::FeedState* p = nullptr;
  for (int i = 1; i <= 3; ++i) {
    Value c = Value::Object();
    c.Set("type", Value::String("post"));
    c.Set("text", Value::String(forked ? "another history " + std::to_string(i) : "x"));
    auto m = ssb::CreateMessage(feed, p, std::move(c), 1.7e12 + i);
    std::string wire = m->Wire();
    if (!forked && i == 1) {
      size_t at = wire.find("\"signature\":\"") + 14;
      wire[at] = wire[at] == 'A' ? 'B' : 'A';  // a broken signature
    }
    out.push_back(std::move(wire));
    prev = {m->id(), i};
    p = &prev;
  }
  return out;
}

// Sends the server the bad history of the feed in g_secret_file: served on createHistoryStream
// when the server asks (legacy), or pushed over an ebt.replicate session we open (`ebt`). Then
// expects to be disconnected (invalid) or stays a while (forked: the server records the fork).
awaitable<void> BadMessages(bool forked, bool ebt) {
  auto keys = ssb::LoadSecretFile(g_secret_file);
  if (!keys.ok()) {
    Done(false, keys.status().message());
    co_return;
  }
  static ssb::rpc::Api api;
  static ssb::Keypair feed = *keys;
  static std::vector<std::string> history = BadHistory(feed, forked);
  api.AddStream("createHistoryStream", ssb::rpc::CallType::kSource, ssb::rpc::Access::kAnyone,
                [](ssb::rpc::CallContext&, const Value& args, std::shared_ptr<ssb::rpc::Stream> s) -> awaitable<void> {
                  // Only the feed we hold the key of; other requests end at once.
                  const Value* id = args.size() > 0 && args.items()[0].is_object() ? args.items()[0].Find("id") : nullptr;
                  if (!id || !id->is_string() || id->as_string() != feed.id()) co_return;
                  for (const std::string& wire : history) s->WriteJsonText(wire);
                  co_return;  // stays "live" no longer; ends the stream
                });
  auto me = ssb::Keypair::Generate();
  auto conn = co_await Rpc(me, ebt ? nullptr : &api);
  if (!conn) co_return;
  std::shared_ptr<ssb::rpc::Stream> session;  // kept open while we wait
  if (ebt) {
    Value opts = Value::Object();
    opts.Set("version", Value::Number(3));
    opts.Set("format", Value::String("classic"));
    Value args = Value::Array();
    args.Push(std::move(opts));
    session = conn->Open(ssb::rpc::CallType::kDuplex, {"ebt", "replicate"}, std::move(args));
    Value notes = Value::Object();
    notes.Set(feed.id(), Value::Number(ssb::ebt::EncodeNote(3, false)));
    session->WriteJson(notes);
    if (!forked) {
      // First a message whose sequence no integer type holds.
      std::string huge = history.front();
      size_t at = huge.find("\"sequence\":1,");
      if (at != std::string::npos) huge.replace(at, 13, "\"sequence\":1e300,");
      session->WriteJsonText(huge);
    }
    for (const std::string& wire : history) session->WriteJsonText(wire);
  }
  // Wait for the server to drop us (invalid) or for a while (forks: it just stops that feed).
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::seconds(forked ? 3 : 10));
  for (int waited = 0; !conn->closed() && waited < (forked ? 30 : 100); ++waited) {
    t.expires_after(std::chrono::milliseconds(100));
    co_await t.async_wait(kNoThrow);
  }
  if (forked) {
    conn->Close();
    Done(true, "sent a forked history");
  } else {
    Done(conn->closed(), conn->closed() ? "the server disconnected us after an invalid message"
                                        : "still connected after an invalid message");
  }
}

awaitable<void> Flood() {
  // 200 connections at once, half of them sitting silent before the handshake, half completing
  // it and idling. The harness checks that the server still serves a good peer meanwhile.
  auto ex = co_await asio::this_coro::executor;
  std::vector<std::shared_ptr<tcp::socket>> silent;
  std::vector<std::shared_ptr<ssb::rpc::Connection>> idle;
  int handshakes = 0;
  for (int i = 0; i < 100; ++i) silent.push_back(std::make_shared<tcp::socket>(co_await Connect()));
  for (int i = 0; i < 100; ++i) {
    auto me = ssb::Keypair::Generate();
    auto sc = co_await Handshake(me, g_addr.key);
    if (!sc.ok()) continue;
    ++handshakes;
    ssb::rpc::PeerInfo info;
    auto c = std::make_shared<ssb::rpc::Connection>(ex, std::move(sc->transport), nullptr, info);
    asio::co_spawn(ex, c->Run(), asio::detached);
    idle.push_back(c);
  }
  asio::steady_timer t(ex, std::chrono::seconds(3));
  co_await t.async_wait(kNoThrow);
  for (auto& c : idle) c->Abort(ssb::Status::Ok());
  Done(handshakes > 0, std::to_string(silent.size()) + " silent and " + std::to_string(handshakes) +
                           " idle connections");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || !ssb::CryptoInit()) {
    std::fprintf(stderr, "usage: bad_peer MODE ADDRESS [NETWORK_KEY_B64] [FEED_SECRET_FILE]\n");
    return 2;
  }
  g_mode = argv[1];
  auto addrs = ssb::ParseMultiserver(argv[2]);
  if (!addrs.ok()) {
    std::fprintf(stderr, "bad address: %s\n", addrs.status().message().c_str());
    return 2;
  }
  g_addr = addrs->front();
  if (argc > 3 && *argv[3]) {
    auto k = ssb::Base64DecodeCanonical(argv[3]);
    if (!k || k->size() != 32) return 2;
    std::memcpy(g_net.data(), k->data(), 32);
  }
  if (argc > 4) g_secret_file = argv[4];
  asio::io_context io;
  auto run = [&]() -> awaitable<void> {
    if (g_mode == "good") co_await Good();
    else if (g_mode == "garbage") co_await Garbage();
    else if (g_mode == "wrong-network") co_await WrongNetwork();
    else if (g_mode == "wrong-key") co_await WrongKey();
    else if (g_mode == "oversize") co_await Oversize();
    else if (g_mode == "malformed") co_await Malformed();
    else if (g_mode == "endless-body") co_await EndlessBody();
    else if (g_mode == "invalid-messages") co_await BadMessages(false, false);
    else if (g_mode == "forked-messages") co_await BadMessages(true, false);
    else if (g_mode == "ebt-invalid-messages") co_await BadMessages(false, true);
    else if (g_mode == "ebt-forked-messages") co_await BadMessages(true, true);
    else if (g_mode == "flood") co_await Flood();
    else Done(false, "unknown mode");
  };
  asio::co_spawn(io, run(), [&](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        Done(false, std::string("exception: ") + x.what());
      }
    }
    io.stop();
  });
  io.run();
  return g_exit;
}
