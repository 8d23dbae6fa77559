// ssb_fuzz_seeds OUTDIR VECTORS: writes the starting corpus of every fuzz target to
// OUTDIR/<target>/, made from tests/vectors (messages, secret files, packets, addresses, boxes)
// and, where a target needs inputs signed or encrypted with its fixed keys (a bundle, a want
// file, a handshake transcript, a box-stream), built here with the library.
#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "fuzz_util.h"
#include "ssb/address.h"
#include "ssb/base64.h"
#include "ssb/box.h"
#include "ssb/boxstream.h"
#include "ssb/bundle.h"
#include "ssb/ebt.h"
#include "ssb/files.h"
#include "ssb/json.h"
#include "ssb/message.h"
#include "ssb/packet.h"
#include "ssb/ref.h"
#include "ssb/shs.h"
#include "ssb/stick.h"

namespace fs = std::filesystem;

namespace {

std::string g_out, g_vec;

std::string Read(const std::string& rel) {
  std::ifstream in(g_vec + "/" + rel, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Seed(const std::string& target, std::string_view bytes) {
  static std::map<std::string, int> count;
  fs::create_directories(g_out + "/" + target);
  std::ofstream(g_out + "/" + target + "/seed-" + std::to_string(count[target]++),
                std::ios::binary)
      << bytes;
}

std::string Mode(uint8_t m, std::string_view rest) { return std::string(1, static_cast<char>(m)) + std::string(rest); }

// The message values of a KVT .jsonl file.
std::vector<std::string> Values(const std::string& rel, size_t max) {
  std::vector<std::string> out;
  std::istringstream in(Read(rel));
  for (std::string line; std::getline(in, line) && out.size() < max;) {
    auto v = ssb::json::Parse(line);
    if (v.ok() && v->Find("value")) out.push_back(ssb::json::Stringify(*v->Find("value")));
  }
  return out;
}

// Every string value in a JSON tree (ids, addresses, box strings of the vectors).
void Strings(const ssb::json::Value& v, std::vector<std::string>* out) {
  if (v.is_string()) out->push_back(v.as_string());
  for (const auto& i : v.items()) Strings(i, out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: ssb_fuzz_seeds OUTDIR VECTORS\n";
    return 2;
  }
  g_out = argv[1];
  g_vec = argv[2];
  ssb::CryptoInit();

  // Feed JSON and messages: real and generated feeds, and messages.json's wire forms.
  auto values = Values("real-feed-2018/feed.jsonl", 100);
  for (auto& v : Values("generated/feeds.jsonl", 100)) values.push_back(v);
  std::vector<std::string> strings;
  if (auto m = ssb::json::Parse(Read("generated/messages.json")); m.ok()) {
    for (const auto& e : m->Find("entries") ? m->Find("entries")->items() : m->items()) {
      if (const auto* w = e.Find("wire"); w && w->is_string()) values.push_back(w->as_string());
    }
  }
  for (const auto& v : values) {
    Seed("json", v);
    Seed("message", Mode(0, v));
    auto msg = ssb::Message::Parse(v);
    if (msg.ok() && msg->content()) Seed("message", Mode(1, ssb::json::Stringify(*msg->content())));
    Seed("ebt", std::string(1, static_cast<char>(v.size() >> 8)) +
                    std::string(1, static_cast<char>(v.size() & 0xFF)) + v);
  }
  // Refs and base64: every string of the refs vectors.
  if (auto r = ssb::json::Parse(Read("generated/refs_keys_blobs.json")); r.ok()) Strings(*r, &strings);
  for (size_t i = 0; i < strings.size() && i < 400; ++i) Seed("ref", strings[i]);
  // Secret files.
  for (const char* who : {"alice", "bob", "carol"}) Seed("secret", Read(std::string("generated/keys/secret.") + who));
  // private-box: the vectors' box strings, and plaintexts to box for the fixed keys.
  std::vector<std::string> boxes;
  if (auto b = ssb::json::Parse(Read("generated/private_box.json")); b.ok()) Strings(*b, &boxes);
  for (const auto& s : boxes)
    if (s.find(".box") != std::string::npos) Seed("box", Mode(0, s));
  std::vector<ssb::PublicKey> me{fuzz::Key(0).public_key(), fuzz::Key(1).public_key()};
  if (auto b = ssb::BoxEncrypt("{\"type\":\"post\",\"text\":\"hi\"}", me); b.ok()) Seed("box", Mode(0, *b));
  Seed("box", Mode(1, "{\"type\":\"post\",\"text\":\"hi\"}"));
  // The config: ssb-config's shape.
  Seed("config", R"({"caps":{"shs":"1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s=","sign":null},)"
                 R"("port":8008,"host":"0.0.0.0","friends":{"dunbar":150,"hops":2},"lan":{"enabled":true,"port":8008},)"
                 R"("ebt":{"enabled":true},"seeds":["net:10.0.0.1:8008~shs:1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s="],)"
                 R"("gossip":{"connections":3},"blobs":{"max":5242880},"timers":{"inactivity":600000},)"
                 R"("connections":{"incoming":{"net":[{"host":"::","port":"8009","scope":"public"}]}}})");
  Seed("config", "{}");
  // Multiserver addresses and LAN datagrams: the discovery vectors' strings, and our own v2.
  std::vector<std::string> lan;
  if (auto l = ssb::json::Parse(Read("generated/lan_discovery.json")); l.ok()) Strings(*l, &lan);
  for (const auto& s : lan) {
    if (s.find("net:") != std::string::npos || s.find("shs:") != std::string::npos) {
      Seed("address", s);
      Seed("lan", Mode(0, s));
      Seed("lan", Mode(1, s));
    }
  }
  std::string addr = "net:192.168.1.2:8008~shs:" + ssb::Base64Encode(fuzz::Key(0).public_key());
  Seed("address", addr + ";ws://x:1~shs:" + ssb::Base64Encode(fuzz::Key(1).public_key()));
  if (auto v2 = ssb::EncodeLanV2(addr, fuzz::Key(0), ssb::kMainNetKey); v2.ok()) Seed("lan", Mode(0, *v2));
  Seed("lan", Mode(1, addr));
  // Packet-stream: the codec vectors' requests, framed.
  std::string frames;
  if (auto c = ssb::json::Parse(Read("generated/codec_and_ebt.json")); c.ok()) {
    if (const auto* psc = c->Find("packet_stream_codec"); psc && psc->Find("frames")) {
      for (const auto& f : psc->Find("frames")->items()) {
        const auto* in = f.Find("input");
        if (!in || !in->Find("value")) continue;
        ssb::rpc::Packet p;
        const auto* req = in->Find("req");
        p.req = req && req->is_number() ? static_cast<int32_t>(req->as_number()) : 1;
        p.stream = in->Find("stream") && in->Find("stream")->is_bool() && in->Find("stream")->as_bool();
        p.end = in->Find("end") && in->Find("end")->is_bool() && in->Find("end")->as_bool();
        p.type = ssb::rpc::BodyType::kJson;
        p.body = ssb::json::Stringify(*in->Find("value"));
        ssb::rpc::AppendPacket(&frames, p);
      }
    }
    if (const auto* notes = c->Find("ebt_notes")) {
      std::string packets;
      auto map = ssb::json::Value::Object();
      map.Set(fuzz::Key(0).id(), ssb::json::Value::Number(10));
      map.Set(fuzz::Key(2).id(), ssb::json::Value::Number(-1));
      std::string t = ssb::json::Stringify(map);
      packets += std::string(1, static_cast<char>(t.size() >> 8)) + std::string(1, static_cast<char>(t.size())) + t;
      Seed("ebt", std::string(1, 8) + packets);
      (void)notes;
    }
  }
  ssb::rpc::AppendGoodbye(&frames);
  Seed("packet", Mode(0, std::string(1, 12) + frames));
  Seed("packet", Mode(7, std::string(1, 20) + frames));
  // Box-stream: a stream encrypted with the target's key and nonce.
  {
    std::array<uint8_t, 32> key{};
    std::array<uint8_t, 24> nonce{};
    key.fill(7);
    nonce.fill(9);
    ssb::BoxEncoder enc(key, nonce);
    std::string wire;
    enc.Encrypt(frames, &wire);
    enc.Encrypt(std::string(5000, 'x'), &wire);
    enc.Goodbye(&wire);
    Seed("boxstream", std::string("\x00\x03\xff", 3) + wire);
    Seed("boxstream", std::string("\x01\x00\xff\x00", 4) + frames);
  }
  // The secret handshake: real transcripts with the target's fixed keys and ephemerals.
  {
    auto eph = [](uint8_t n) {
      ssb::ShsEphemeralSecret e{};
      e.fill(n);
      return e;
    };
    // Server role: a client's msg1 and msg3 (the server's ephemeral is 2).
    ssb::ShsClient c(fuzz::Key(1), fuzz::Key(0).public_key(), ssb::kMainNetKey, eph(9));
    ssb::ShsServer s(fuzz::Key(0), ssb::kMainNetKey, eph(2));
    auto m1 = c.Hello();
    if (s.ReadClientHello(m1).ok() && c.ReadServerHello(s.Hello()).ok()) {
      auto m3 = c.Authenticate();
      if (m3.ok()) {
        std::string t(1, 0);
        t.append(reinterpret_cast<const char*>(m1.data()), m1.size());
        t.append(reinterpret_cast<const char*>(m3->data()), m3->size());
        Seed("shs", t);
      }
    }
    // Client role: a server's msg2 and msg4 (the client's ephemeral is 3).
    ssb::ShsClient c2(fuzz::Key(1), fuzz::Key(0).public_key(), ssb::kMainNetKey, eph(3));
    ssb::ShsServer s2(fuzz::Key(0), ssb::kMainNetKey, eph(8));
    if (s2.ReadClientHello(c2.Hello()).ok()) {
      auto m2 = s2.Hello();
      if (c2.ReadServerHello(m2).ok()) {
        auto m3 = c2.Authenticate();
        if (m3.ok() && s2.ReadClientAuthenticate(*m3).ok()) {
          auto m4 = s2.Accept();
          if (m4.ok()) {
            std::string t(1, 1);
            t.append(reinterpret_cast<const char*>(m2.data()), m2.size());
            t.append(reinterpret_cast<const char*>(m4->data()), m4->size());
            Seed("shs", t);
          }
        }
      }
    }
    Seed("shs", std::string("\x02\x00\x00\x00\x00", 5));
    Seed("shs", std::string("\x03\x01\x05\x01\x00\x00", 6));
  }
  // Stick marker and names.
  Seed("stick", "{\"format\":\"ssb-stick\",\"version\":1,\"network\":\"" +
                    ssb::NetworkIdFromKey(ssb::kMainNetKey) + "\"}\n");
  for (const char* n : {"all.ssb-bundle", "all.ssb-bundle.part3", "x.ssb-want", "all.ssb-bundle.tmp-1-2-abc", "._x"}) Seed("stick", n);
  // A want file signed by a fixed key.
  {
    ssb::WantFile w;
    w.network = ssb::NetworkIdFromKey(ssb::kMainNetKey);
    w.clock[fuzz::Key(0).id()] = 12;
    w.clock[fuzz::Key(2).id()] = 1;
    w.blobs.push_back(ssb::BlobIdFromDigest(ssb::Sha256(fuzz::Bytes("blob"))));
    Seed("want", ssb::EncodeWantFile(w, fuzz::Key(1)));
  }
  // Bundles: a real one of the feed vectors (raw mode), and descriptions for the build mode.
  {
    std::vector<std::string> feed = Values("real-feed-2018/feed.jsonl", 20);
    ssb::BundleHeader h;
    h.network = ssb::NetworkIdFromKey(ssb::kMainNetKey);
    h.set = std::string(64, 'a');
    auto first = ssb::Message::Parse(feed.front());
    auto last = ssb::Message::Parse(feed.back());
    if (first.ok() && last.ok()) {
      ssb::BundleRange r;
      r.author = std::string(first->author());
      r.first = first->sequence().value_or(1);
      r.last = last->sequence().value_or(1);
      r.previous = r.first > 1 ? std::string(first->previous()) : "";
      r.last_id = last->id();
      ssb::RangeHasher hasher;
      for (const auto& t : feed) {
        hasher.Add(t);
        h.body_bytes += 5 + t.size();
      }
      r.sha256 = hasher.FinishHex();
      h.ranges.push_back(r);
      h.records = feed.size();
      std::string blob = "a blob";
      h.blobs.push_back({ssb::BlobIdFromDigest(ssb::Sha256(fuzz::Bytes(blob))), blob.size()});
      h.body_bytes += 5 + 32 + blob.size();
      h.records += 1;
      std::string path = g_out + "/bundle.tmp";
      {
        ssb::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        auto w = ssb::BundleWriter::Start(fd.get(), h, fuzz::Key(3), 3);
        if (w.ok()) {
          for (const auto& t : feed) (void)(*w)->AddMessage(t);
          (void)(*w)->AddBlob(h.blobs[0].id, fuzz::Bytes(blob));
          (void)(*w)->Finish();
        }
      }
      std::ifstream in(path, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      Seed("bundle", Mode(0, ss.str()));
      fs::remove(path);
    }
    // Build mode: one range of two messages (one valid), one blob.
    std::string d(1, 1);
    d += static_cast<char>(1);  // ranges
    d += static_cast<char>(0);  // author key
    d += static_cast<char>(0);  // first
    d += static_cast<char>(1);  // 2 records
    for (const auto& t : {feed[0], feed[1]}) {
      d += static_cast<char>(t.size() >> 8);
      d += static_cast<char>(t.size() & 0xFF);
      d += t;
    }
    d += static_cast<char>(1);  // blobs
    d += static_cast<char>(4);
    d += "blob";
    Seed("bundle", d);
  }
  // map-filter-reduce queries (the view's own vectors).
  if (auto q = ssb::json::Parse(Read("generated/mfr_queries.json")); q.ok() && q->Find("cases")) {
    for (const auto& c : q->Find("cases")->items()) {
      if (const auto* query = c.Find("query")) Seed("mfr", ssb::json::Stringify(*query));
    }
  }
  // Invite codes (valid and invalid, from the vectors) and the peer database file.
  if (auto inv = ssb::json::Parse(Read("generated/invites.json")); inv.ok()) {
    for (const char* list : {"valid", "invalid"}) {
      if (const auto* l = inv->Find(list); l && l->is_array()) {
        for (const auto& x : l->items())
          if (const auto* code = x.Find("code"); code && code->is_string()) Seed("invite", code->as_string());
      }
    }
  }
  {
    std::string k = ssb::Base64Encode(fuzz::Key(0).public_key());
    Seed("peer_db", "{\"version\":1,\"peers\":[{\"address\":\"net:10.0.0.1:8008~shs:" + k +
                        "\",\"source\":\"seed\",\"room\":true,\"note\":\"r\",\"failures\":2,"
                        "\"last_attempt\":1,\"last_success\":2,\"last_failure\":3,\"next_try\":4,"
                        "\"last_error\":\"x\"},{\"address\":\"net:pub.example.org:8008~shs:" + k +
                        "\",\"source\":\"pub\"}]}");
    Seed("peer_db", "{\"type\":\"state\",\"ids\":[\"@" + k + ".ed25519\"]}");
    Seed("peer_db", "[\"@" + k + ".ed25519\"]");
  }
  std::cout << "seeds written to " << g_out << "\n";
  return 0;
}
