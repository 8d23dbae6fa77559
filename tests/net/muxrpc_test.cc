// muxrpc and packet-stream: the byte-exact sessions recorded from muxrpc 8 / packet-stream-codec
// 1.2 (tests/vectors/generated/muxrpc_sessions.json, codec_and_ebt.json), replayed against our
// Connection in the server role and in the client role over a socket pair.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/local/connect_pair.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <catch2/catch.hpp>
#include <thread>

#include "ssb/base64.h"
#include "ssb/muxrpc.h"
#include "ssb/net.h"
#include "support/vectors.h"
#include "support/hex.h"

using asio::awaitable;
using ssb::json::Value;
using namespace ssb::rpc;
using namespace ssb::test;

namespace {

std::vector<Packet> Decode(const std::string& bytes, bool* goodbye = nullptr) {
  PacketDecoder d;
  REQUIRE(d.Feed(bytes).ok());
  std::vector<Packet> out;
  Packet p;
  while (d.Next(&p)) out.push_back(p);
  if (goodbye) *goodbye = d.goodbye();
  return out;
}

// Frames of one direction of a vector session, without goodbyes.
std::vector<Packet> VectorFrames(const Value& session, const char* dir) {
  std::vector<Packet> out;
  for (const auto& f : At(session, dir).items()) {
    std::string header = HexString(Str(f, "header_hex"));
    if (header == std::string(9, '\0')) continue;
    out.push_back(Decode(header + HexString(Str(f, "body_hex"))).at(0));
  }
  return out;
}

// Two frames are the same; error objects compare by message and name (stacks differ).
bool SameFrame(const Packet& a, const Packet& b) {
  if (a.stream != b.stream || a.end != b.end || a.type != b.type || a.req != b.req) return false;
  if (a.body == b.body) return true;
  if (a.type != BodyType::kJson) return false;
  auto va = ssb::json::Parse(a.body), vb = ssb::json::Parse(b.body);
  if (!va.ok() || !vb.ok() || !va->is_object() || !va->Find("stack")) return false;
  return Str(*va, "message") == Str(*vb, "message") && Str(*va, "name") == Str(*vb, "name");
}

std::string Show(const std::vector<Packet>& frames) {
  std::string s;
  for (const auto& p : frames) {
    s += "[req " + std::to_string(p.req) + (p.stream ? " stream" : "") + (p.end ? " end" : "") +
         " type " + std::to_string(static_cast<int>(p.type)) + "] " +
         (p.type == BodyType::kBinary ? ssb::HexEncode(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(p.body.data()), p.body.size())) : p.body) + "\n";
  }
  return s;
}

// Reads frames from a blocking socket until `done(frames)` holds or the peer closes.
std::vector<Packet> ReadFrames(asio::local::stream_protocol::socket& s,
                               const std::function<bool(const std::vector<Packet>&)>& done,
                               bool* eof) {
  PacketDecoder d;
  std::vector<Packet> frames;
  char buf[4096];
  *eof = false;
  while (!done(frames)) {
    asio::error_code ec;
    size_t n = s.read_some(asio::buffer(buf), ec);
    if (ec) {
      *eof = true;
      break;
    }
    REQUIRE(d.Feed(std::string_view(buf, n)).ok());
    Packet p;
    while (d.Next(&p)) frames.push_back(p);
    if (d.goodbye()) {
      *eof = true;
      break;
    }
  }
  return frames;
}

// True once every request in `sent` has been answered completely in `got`.
bool AllAnswered(const std::vector<Packet>& sent, const std::vector<Packet>& got) {
  for (const auto& req : sent) {
    if (req.req <= 0 || (req.stream && req.end)) continue;
    bool seen_first = false;
    bool answered = false;
    for (const auto& g : got) {
      if (g.req != -req.req) continue;
      seen_first = true;
      if (!req.stream || g.end) answered = true;
    }
    (void)seen_first;
    if (!answered) return false;
  }
  return true;
}

// The server side of every recorded session: handlers that produce what the JS server did.
Api ServerApi(const Value& session) {
  Api api;
  std::vector<Packet> server = VectorFrames(session, "server_to_client");
  std::vector<Packet> data;
  for (const auto& p : server)
    if (p.stream && !p.end) data.push_back(p);
  api.AddAsync("whoami", Access::kAnyone, [](CallContext&, const Value&) -> awaitable<ssb::Result<Value>> {
    Value v = Value::Object();
    v.Set("id", Value::String("@2VB5k5WarS/kiuwK8wQCC9WPbxnszNrWX4HHS6GgmPA=.ed25519"));
    co_return v;
  });
  api.AddAsync("fail", Access::kAnyone, [](CallContext&, const Value& args) -> awaitable<ssb::Result<Value>> {
    co_return ssb::Status::InvalidInput("invalid hash:" + args.items().at(0).as_string());
  });
  api.AddAsync("blobs.has", Access::kAnyone, [](CallContext&, const Value&) -> awaitable<ssb::Result<Value>> {
    co_return Value::Bool(true);
  });
  auto replay = [data](CallContext&, const Value&, std::shared_ptr<Stream> s) -> awaitable<void> {
    for (const auto& p : data) {
      if (p.type == BodyType::kBinary) s->WriteBinary(p.body);
      else s->WriteJsonText(p.body);
    }
    co_return;
  };
  api.AddStream("createHistoryStream", CallType::kSource, Access::kAnyone, replay);
  api.AddStream("blobs.get", CallType::kSource, Access::kAnyone, replay);
  api.AddStream("failStream", CallType::kSource, Access::kAnyone,
                [](CallContext&, const Value&, std::shared_ptr<Stream> s) -> awaitable<void> {
                  s->End(ssb::Status::IoError("stream failed"));
                  co_return;
                });
  api.AddStream("slowSource", CallType::kSource, Access::kAnyone,
                [](CallContext&, const Value&, std::shared_ptr<Stream> s) -> awaitable<void> {
                  for (int i = 1; i <= 5 && !s->closed(); ++i) {
                    s->WriteJson(Value::Number(i));
                    co_await s->Drain();
                  }
                });
  api.AddStream("ebt.replicate", CallType::kDuplex, Access::kAnyone,
                [data](CallContext&, const Value&, std::shared_ptr<Stream> s) -> awaitable<void> {
                  s->WriteJsonText(data.at(0).body);  // our notes first
                  auto note = co_await s->Read();     // theirs
                  REQUIRE(note.ok());
                  s->WriteJsonText(data.at(1).body);  // one message
                  s->End();
                });
  return api;
}

struct Pair {
  asio::io_context io;
  asio::local::stream_protocol::socket ours{io}, theirs{io};
  Pair() { asio::local::connect_pair(ours, theirs); }
  std::shared_ptr<Connection> Make(const Api* api) {
    ssb::rpc::PeerInfo peer;
    peer.owner = true;
    return std::make_shared<Connection>(
        io.get_executor(),
        std::make_unique<ssb::net::PlainTransport>(
            asio::generic::stream_protocol::socket(std::move(ours)), "test"),
        api, peer);
  }
};

}  // namespace

TEST_CASE("packet-stream-codec frames encode and decode byte-exact") {
  Value v = ReadVectorJson("generated/codec_and_ebt.json");
  size_t passed = 0, total = 0;
  for (const auto& f : At(At(v, "packet_stream_codec"), "frames").items()) {
    ++total;
    std::string header = HexString(Str(f, "header_hex"));
    std::string body = HexString(Str(f, "body_hex"));
    bool goodbye = false;
    auto frames = Decode(header + body, &goodbye);
    if (At(f, "decoder_sees_goodbye").as_bool()) {
      CHECK(goodbye);
      CHECK(frames.empty());
      // And we never emit such a frame.
      Packet p;
      p.body = "";
      std::string out;
      CHECK_FALSE(AppendPacket(&out, p));
      CHECK(out.empty());
      if (goodbye && frames.empty()) ++passed;
      continue;
    }
    REQUIRE(frames.size() == 1);
    const Value& in = At(f, "input");
    CHECK(frames[0].req == static_cast<int32_t>(At(in, "req").as_number()));
    CHECK(frames[0].stream == At(in, "stream").as_bool());
    CHECK(frames[0].end == At(in, "end").as_bool());
    std::string again;
    REQUIRE(AppendPacket(&again, frames[0]));
    CHECK(again == header + body);
    if (again == header + body) ++passed;
  }
  ReportCount("codec_and_ebt.json packet frames", passed, total);
  CHECK(passed == total);
}

TEST_CASE("packet decoder: any split, limits, garbage") {
  std::string bytes;
  for (int i = 1; i <= 50; ++i) {
    Packet p;
    p.req = i % 2 ? i : -i;
    p.stream = i % 3 == 0;
    p.type = BodyType::kJson;
    p.body = std::string(static_cast<size_t>(i * 7), 'x');
    REQUIRE(AppendPacket(&bytes, p));
  }
  AppendGoodbye(&bytes);
  for (size_t step : {1u, 2u, 9u, 10u, 333u}) {
    PacketDecoder d;
    for (size_t i = 0; i < bytes.size(); i += step) REQUIRE(d.Feed(bytes.substr(i, step)).ok());
    Packet p;
    int n = 0;
    while (d.Next(&p)) {
      ++n;
      CHECK(p.body.size() == static_cast<size_t>(n * 7));
    }
    CHECK(n == 50);
    CHECK(d.goodbye());
  }
  PacketDecoder small(100);
  Packet big;
  big.body = std::string(101, 'y');
  std::string b;
  AppendPacket(&b, big);
  auto st = small.Feed(b.substr(0, 9));  // refused on the header, before the body arrives
  CHECK(st.code() == ssb::Code::kLimitExceeded);
  PacketDecoder bad;
  CHECK(bad.Feed(std::string("\x03\x00\x00\x00\x01\x00\x00\x00\x01x", 10)).code() ==
        ssb::Code::kInvalidInput);
  PacketDecoder after;
  CHECK_FALSE(after.Feed(std::string(9, '\0') + "more").ok());
}

TEST_CASE("muxrpc sessions: our server answers the recorded JS client") {
  Value v = ReadVectorJson("generated/muxrpc_sessions.json");
  size_t passed = 0, total = 0;
  for (const auto& session : At(v, "sessions").items()) {
    const std::string name = Str(session, "name");
    INFO("session " << name);
    ++total;
    Api api = ServerApi(session);
    Pair pair;
    auto conn = pair.Make(&api);
    asio::co_spawn(pair.io, conn->Run(), asio::detached);
    std::vector<Packet> sent = VectorFrames(session, "client_to_server");
    std::vector<Packet> got;
    bool eof = false;
    std::thread peer([&] {
      std::string bytes;
      for (const auto& p : sent) AppendPacket(&bytes, p);
      asio::write(pair.theirs, asio::buffer(bytes));
      got = ReadFrames(pair.theirs, [&](const auto& g) { return AllAnswered(sent, g); }, &eof);
      std::string bye;
      AppendGoodbye(&bye);
      asio::error_code ec;
      asio::write(pair.theirs, asio::buffer(bye), ec);
      bool eof2 = false;
      auto rest = ReadFrames(pair.theirs, [](const auto&) { return false; }, &eof2);
      got.insert(got.end(), rest.begin(), rest.end());
    });
    pair.io.run();
    peer.join();
    std::vector<Packet> want = VectorFrames(session, "server_to_client");
    bool same = got.size() == want.size();
    for (size_t i = 0; same && i < got.size(); ++i) same = SameFrame(got[i], want[i]);
    if (name == "source-abort") {
      // The JS server had produced all five items before the abort arrived; ours stops at
      // once. Either is muxrpc: data items are a prefix of 1..5, then the end `true`.
      same = !got.empty() && got.back().end && got.back().body == "true" && got.back().req == -1;
      for (size_t i = 0; same && i + 1 < got.size(); ++i)
        same = got[i].body == std::to_string(i + 1);
    }
    INFO("got:\n" << Show(got) << "want:\n" << Show(want));
    CHECK(same);
    if (same) ++passed;
  }
  ReportCount("muxrpc_sessions.json server role", passed, total);
}

TEST_CASE("muxrpc sessions: our client talks to the recorded JS server") {
  Value v = ReadVectorJson("generated/muxrpc_sessions.json");
  size_t passed = 0, total = 0;
  for (const auto& session : At(v, "sessions").items()) {
    const std::string name = Str(session, "name");
    INFO("session " << name);
    std::vector<Packet> want = VectorFrames(session, "client_to_server");
    std::vector<Packet> server = VectorFrames(session, "server_to_client");
    const Packet& req0 = want.at(0);
    auto body = ssb::json::Parse(req0.body);
    REQUIRE(body.ok());
    std::vector<std::string> method;
    for (const auto& part : At(*body, "name").items()) method.push_back(part.as_string());
    Value args = At(*body, "args");
    ++total;
    Pair pair;
    auto conn = pair.Make(nullptr);
    asio::co_spawn(pair.io, conn->Run(), asio::detached);
    std::string outcome;  // what the caller saw, checked against "results"
    asio::co_spawn(
        pair.io,
        [&]() -> awaitable<void> {
          if (!req0.stream) {
            auto r = co_await conn->Call(method, args);
            outcome = r.ok() ? ssb::json::Stringify(*r) : "error:" + r.status().message();
          } else {
            std::string type = Str(*body, "type");
            CallType t = type == "duplex" ? CallType::kDuplex : CallType::kSource;
            auto s = conn->Open(t, method, args);
            if (t == CallType::kDuplex) s->WriteJsonText(want.at(1).body);
            int items = 0;
            for (;;) {
              auto r = co_await s->Read();
              if (!r.ok()) {
                outcome = "error:" + r.status().message();
                break;
              }
              if (!*r) break;
              ++items;
              if (name == "source-abort") {
                s->End();
                outcome = "aborted after " + (*r)->body;
                break;
              }
            }
            if (outcome.empty()) outcome = "items:" + std::to_string(items);
          }
          conn->Close();
        },
        asio::detached);
    std::vector<Packet> got;
    std::thread peer([&] {
      bool eof = false;
      // Wait for the request (and the duplex's first note), then answer as the JS server did.
      got = ReadFrames(pair.theirs, [&](const auto& g) { return g.size() >= (req0.stream && Str(*body, "type") == "duplex" ? 2u : 1u); }, &eof);
      std::string bytes;
      for (const auto& p : server) AppendPacket(&bytes, p);
      AppendGoodbye(&bytes);
      asio::error_code ec;
      asio::write(pair.theirs, asio::buffer(bytes), ec);
      auto rest = ReadFrames(pair.theirs, [](const auto&) { return false; }, &eof);
      got.insert(got.end(), rest.begin(), rest.end());
    });
    pair.io.run();
    peer.join();
    // The JS client's duplex had not ended its side when that session was recorded; ours
    // answers the server's end with its own, which muxrpc expects. Compare what both sent.
    size_t n = name == "duplex" ? want.size() : std::max(got.size(), want.size());
    bool same = got.size() >= n && want.size() >= n;
    for (size_t i = 0; same && i < n; ++i) same = SameFrame(got[i], want[i]);
    INFO("got:\n" << Show(got) << "want:\n" << Show(want) << "outcome: " << outcome);
    CHECK(same);
    CHECK(!outcome.empty());
    if (same) ++passed;
  }
  ReportCount("muxrpc_sessions.json client role", passed, total);
}

TEST_CASE("muxrpc: unknown and forbidden methods get ssb-server's errors") {
  Api api;
  api.AddAsync("publish", Access::kOwner, [](CallContext&, const Value&) -> awaitable<ssb::Result<Value>> {
    co_return Value::Bool(true);
  });
  Pair pair;
  ssb::rpc::PeerInfo anon;
  auto conn = std::make_shared<Connection>(
      pair.io.get_executor(),
      std::make_unique<ssb::net::PlainTransport>(
          asio::generic::stream_protocol::socket(std::move(pair.ours)), "test"),
      &api, anon);
  asio::co_spawn(pair.io, conn->Run(), asio::detached);
  std::vector<Packet> got;
  std::thread peer([&] {
    std::string bytes;
    Packet a;
    a.req = 1;
    a.type = BodyType::kJson;
    a.body = R"({"name":["publish"],"args":[{}]})";
    AppendPacket(&bytes, a);
    Packet b;
    b.req = 2;
    b.stream = true;
    b.type = BodyType::kJson;
    b.body = R"({"name":["ebt","replicate"],"args":[{"version":3}],"type":"duplex"})";
    AppendPacket(&bytes, b);
    asio::write(pair.theirs, asio::buffer(bytes));
    bool eof = false;
    got = ReadFrames(pair.theirs, [](const auto& g) { return g.size() >= 2; }, &eof);
    pair.theirs.close();
  });
  pair.io.run();
  peer.join();
  REQUIRE(got.size() == 2);
  CHECK(got[0].req == -1);
  CHECK(got[0].end);
  CHECK(got[0].body.find("method:publish is not in list of allowed methods") != std::string::npos);
  CHECK(got[1].req == -2);
  CHECK(got[1].stream);
  CHECK(got[1].end);
  CHECK(got[1].body.find("no duplex:ebt,replicate") != std::string::npos);
}
