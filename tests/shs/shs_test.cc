// Secret handshake: known answers from the JavaScript stack (generated transcripts, the
// test-secret-handshake state vectors, a recorded end-to-end session), and our own round trips
// and tampering.
#include "ssb/shs.h"

#include <sodium.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <functional>
#include <map>
#include <random>

#include "ssb/base64.h"
#include "ssb/boxstream.h"
#include "support/vectors.h"
#include "support/hex.h"

using ssb::json::Value;
using namespace ssb::test;

namespace {

std::string Hex(std::span<const uint8_t> b) { return ssb::HexEncode(b); }
std::string Hex(const std::string& s) {
  return ssb::HexEncode({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

ssb::Keypair FromSeedHex(const std::string& hex) {
  auto seed = HexArray<32>(hex);
  return ssb::Keypair::FromSeed(seed);
}

ssb::Keypair FromSecretHex(const std::string& hex) {
  auto kp = ssb::Keypair::FromSecretKey(HexBytes(hex));
  REQUIRE(kp.ok());
  return *kp;
}

bool AllZero(const ssb::ShsSecrets& s) {
  return sodium_is_zero(reinterpret_cast<const uint8_t*>(&s), sizeof s) == 1;
}

// What the JavaScript client sends first: hmac(K, A_e) || A_e, for a bare ephemeral public key.
std::vector<uint8_t> HelloFor(const std::array<uint8_t, 32>& k, const std::vector<uint8_t>& pk) {
  std::vector<uint8_t> out(32);
  crypto_auth(out.data(), pk.data(), pk.size(), k.data());
  out.insert(out.end(), pk.begin(), pk.end());
  return out;
}

std::vector<uint8_t> Concat(const std::string& hex_a, const std::string& hex_b) {
  auto a = HexBytes(hex_a);
  auto b = HexBytes(hex_b);
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A full handshake between two objects; returns false at the first failing step.
struct Pair {
  Pair(const ssb::Keypair& c, const ssb::Keypair& s, const ssb::NetworkKey& ck,
       const ssb::NetworkKey& sk)
      : client(c, s.public_key(), ck), server(s, sk) {}
  ssb::ShsClient client;
  ssb::ShsServer server;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// generated/shs_transcripts.json

namespace {

// Encrypts `writes` as one direction of a transcript and checks the wire bytes, then decodes
// them back, whole and one byte at a time (boxes must come out at the recorded boundaries).
bool CheckBoxstream(const Value& dir, const std::array<uint8_t, 32>& key,
                    const std::array<uint8_t, 24>& nonce) {
  std::string wire, pieces, plain;
  ssb::BoxEncoder enc(key, nonce);
  for (const Value& w : At(dir, "plaintext_writes_hex").items()) {
    auto bytes = HexBytes(w.as_string());
    plain.append(bytes.begin(), bytes.end());
    enc.Encrypt(bytes, &wire);
  }
  enc.Goodbye(&wire);
  for (const Value& p : At(dir, "wire_pieces_hex").items()) pieces += p.as_string();
  CHECK(Hex(wire) == Str(dir, "wire_hex"));
  CHECK(pieces == Str(dir, "wire_hex"));

  ssb::BoxDecoder whole(key, nonce);
  std::string got;
  CHECK(whole.Feed(wire, &got).ok());
  CHECK(whole.ended());
  CHECK(whole.Finish().ok());
  CHECK(got == plain);

  ssb::BoxDecoder bytewise(key, nonce);
  std::vector<std::string> chunks;
  std::string acc;
  for (char c : wire) {
    size_t before = acc.size();
    REQUIRE(bytewise.Feed(std::string_view(&c, 1), &acc).ok());
    if (acc.size() > before) chunks.push_back(Hex(acc.substr(before)));
  }
  CHECK(bytewise.ended());
  CHECK(acc == plain);
  if (const Value* want = dir.Find("decoded_chunks_hex")) {
    std::vector<std::string> expected;
    for (const Value& c : want->items()) expected.push_back(c.as_string());
    CHECK(chunks == expected);
    CHECK(bytewise.boxes() == expected.size());
  }
  return Hex(wire) == Str(dir, "wire_hex") && got == plain && acc == plain;
}

}  // namespace

TEST_CASE("shs_transcripts.json: msg1..4, intermediates, session keys, box-stream frames") {
  Value doc = ReadVectorJson("generated/shs_transcripts.json");
  size_t total = 0, passed = 0, box_total = 0, box_passed = 0;
  for (const Value& t : At(doc, "transcripts").items()) {
    ++total;
    INFO(Str(t, "name"));
    const Value& c = At(t, "client");
    const Value& s = At(t, "server");
    const Value& mid = At(t, "intermediate");
    const Value& msgs = At(t, "messages");
    const Value& sess = At(t, "session");
    auto k = HexArray<32>(Str(t, "network_key"));
    ssb::Keypair ckp = FromSeedHex(Str(c, "seed"));
    ssb::Keypair skp = FromSeedHex(Str(s, "seed"));
    CHECK(Hex(ckp.public_key()) == Str(c, "ed25519_pk"));
    CHECK(Hex(skp.secret_key()) == Str(s, "ed25519_sk"));
    CHECK(ckp.id() == Str(c, "id"));

    ssb::ShsClient client(ckp, skp.public_key(), k, HexArray<32>(Str(c, "ephemeral_curve25519_sk")));
    ssb::ShsServer server(skp, k, HexArray<32>(Str(s, "ephemeral_curve25519_sk")));
    auto msg1 = client.Hello();
    CHECK(Hex(msg1) == Str(msgs, "msg1_client_hello"));
    CHECK(Hex(std::span(msg1).subspan(32)) == Str(c, "ephemeral_curve25519_pk"));
    REQUIRE(server.ReadClientHello(msg1).ok());
    auto msg2 = server.Hello();
    CHECK(Hex(msg2) == Str(msgs, "msg2_server_hello"));
    REQUIRE(client.ReadServerHello(msg2).ok());

    // Every intermediate, seen from the client before msg3 goes out.
    const ssb::ShsSecrets& cs = client.SecretsForTesting();
    CHECK(Hex(cs.ab) == Str(mid, "shared_secret_ab"));
    CHECK(Hex(cs.ab_hash) == Str(mid, "sha256_ab"));
    CHECK(Hex(cs.aB) == Str(mid, "shared_secret_aB"));
    CHECK(Hex(cs.Ab) == Str(mid, "shared_secret_Ab"));
    CHECK(Hex(cs.msg3_key) == Str(mid, "msg3_key_sha256_K_ab_aB"));
    CHECK(Hex(cs.msg4_key) == Str(mid, "msg4_key_sha256_K_ab_aB_Ab"));

    auto msg3 = client.Authenticate();
    REQUIRE(msg3.ok());
    CHECK(Hex(*msg3) == Str(msgs, "msg3_client_auth"));
    std::array<uint8_t, 96> plain3;
    const std::array<uint8_t, 24> zero_nonce{};
    REQUIRE(crypto_secretbox_open_easy(plain3.data(), msg3->data(), msg3->size(), zero_nonce.data(),
                                       cs.msg3_key.data()) == 0);
    CHECK(Hex(plain3) == Str(mid, "client_hello_plaintext_sig_A_plus_client_pk"));

    auto client_id = server.ReadClientAuthenticate(*msg3);
    REQUIRE(client_id.ok());
    CHECK(*client_id == ckp.public_key());
    // The server reached the same secrets by the other halves of each exchange.
    const ssb::ShsSecrets& ss = server.SecretsForTesting();
    CHECK(Hex(ss.ab) == Str(mid, "shared_secret_ab"));
    CHECK(Hex(ss.aB) == Str(mid, "shared_secret_aB"));
    CHECK(Hex(ss.Ab) == Str(mid, "shared_secret_Ab"));
    CHECK(Hex(ss.msg4_key) == Str(mid, "msg4_key_sha256_K_ab_aB_Ab"));
    CHECK_FALSE(server.keys().ok());  // not before Accept()

    auto msg4 = server.Accept();
    REQUIRE(msg4.ok());
    CHECK(Hex(*msg4) == Str(msgs, "msg4_server_accept"));
    auto ckeys = client.ReadServerAccept(*msg4);
    REQUIRE(ckeys.ok());
    auto skeys = server.keys();
    REQUIRE(skeys.ok());
    CHECK(AllZero(client.SecretsForTesting()));
    CHECK(AllZero(server.SecretsForTesting()));

    bool keys_ok = Hex(ckeys->send_key) == Str(sess, "client_to_server_key") &&
                   Hex(ckeys->send_nonce) == Str(sess, "client_to_server_nonce") &&
                   Hex(ckeys->recv_key) == Str(sess, "server_to_client_key") &&
                   Hex(ckeys->recv_nonce) == Str(sess, "server_to_client_nonce") &&
                   ckeys->peer == skp.public_key() && skeys->send_key == ckeys->recv_key &&
                   skeys->send_nonce == ckeys->recv_nonce && skeys->recv_key == ckeys->send_key &&
                   skeys->recv_nonce == ckeys->send_nonce && skeys->peer == ckp.public_key();
    CHECK(keys_ok);
    bool msgs_ok = Hex(msg1) == Str(msgs, "msg1_client_hello") &&
                   Hex(msg2) == Str(msgs, "msg2_server_hello") &&
                   Hex(*msg3) == Str(msgs, "msg3_client_auth") &&
                   Hex(*msg4) == Str(msgs, "msg4_server_accept");
    passed += keys_ok && msgs_ok;

    const Value& bs = At(t, "boxstream");
    box_total += 2;
    box_passed += CheckBoxstream(At(bs, "client_to_server"), ckeys->send_key, ckeys->send_nonce);
    box_passed += CheckBoxstream(At(bs, "server_to_client"), skeys->send_key, skeys->send_nonce);
  }
  ReportCount("shs_transcripts handshakes", passed, total);
  ReportCount("shs_transcripts box-stream directions", box_passed, box_total);
  CHECK(total == 4);
  CHECK(passed == total);
  CHECK(box_passed == box_total);
}

TEST_CASE("shs_transcripts.json: the negative cases are rejected") {
  Value doc = ReadVectorJson("generated/shs_transcripts.json");
  const auto& neg = At(doc, "negative").items();
  REQUIRE(neg.size() == 3);
  size_t passed = 0;

  {  // msg1 made under another network key.
    const Value& v = neg[0];
    ssb::ShsServer server(FromSecretHex(Str(v, "server_ed25519_sk")),
                          HexArray<32>(Str(v, "server_network_key")));
    ssb::Status st = server.ReadClientHello(HexBytes(Str(v, "msg1")));
    INFO(st.ToString());
    CHECK(st.code() == ssb::Code::kInvalidInput);
    CHECK(server.failed());
    passed += !st.ok() && !At(v, "server_accepts").as_bool();
  }
  {  // msg2 with a flipped bit; the untampered msg2 passes.
    const Value& v = neg[1];
    auto k = HexArray<32>(Str(v, "network_key"));
    ssb::Keypair me = FromSecretHex(Str(v, "client_ed25519_sk"));
    auto server_pk = HexArray<32>(Str(v, "server_ed25519_pk"));
    auto eph = HexArray<32>(Str(v, "client_ephemeral_curve25519_sk"));
    ssb::ShsClient good(me, server_pk, k, eph);
    CHECK(good.ReadServerHello(HexBytes(Str(v, "msg2_untampered"))).ok());
    ssb::ShsClient bad(me, server_pk, k, eph);
    ssb::Status st = bad.ReadServerHello(HexBytes(Str(v, "msg2_tampered")));
    INFO(st.ToString());
    CHECK(st.code() == ssb::Code::kInvalidInput);
    passed += !st.ok() && !At(v, "client_accepts").as_bool();
  }
  {  // The client dialed another key: msg3 does not open.
    const Value& v = neg[2];
    auto k = HexArray<32>(Str(v, "network_key"));
    ssb::ShsServer server(FromSecretHex(Str(v, "server_ed25519_sk")), k,
                          HexArray<32>(Str(v, "server_ephemeral_curve25519_sk")));
    REQUIRE(
        server.ReadClientHello(HelloFor(k, HexBytes(Str(v, "client_ephemeral_curve25519_pk")))).ok());
    auto r = server.ReadClientAuthenticate(HexBytes(Str(v, "msg3")));
    INFO(r.status().ToString());
    CHECK(r.status().code() == ssb::Code::kInvalidInput);
    CHECK_FALSE(server.Accept().ok());
    passed += !r.ok() && !At(v, "server_accepts").as_bool();
  }
  ReportCount("shs_transcripts negative", passed, neg.size());
  CHECK(passed == 3);
}

// ---------------------------------------------------------------------------------------------
// secret-handshake-states/data.json: each record is one call of crypto.js with its state
// object. Our objects are not that state, so each record is replayed by building a client or
// server from the state's inputs (keys, network key, ephemeral secret kx_sk) and running our
// steps up to the one recorded. The recorder serialised the state after the call, so a state
// holds the call's outputs too; a null result means the call rejected its input.

namespace {

struct StepState {
  const Value& st;
  ssb::NetworkKey k() const { return HexArray<32>(Str(st, "app_key")); }
  const Value& local() const { return At(st, "local"); }
  const Value& remote() const { return At(st, "remote"); }
  ssb::Keypair me() const { return FromSecretHex(Str(local(), "secretKey")); }
  ssb::ShsEphemeralSecret eph() const { return HexArray<32>(Str(local(), "kx_sk")); }
  // A client state knows the server's key before the handshake starts.
  bool is_client() const {
    return At(remote(), "publicKey").is_string() && !At(remote(), "hello").is_string();
  }
  std::vector<uint8_t> remote_hello() const {
    return Concat(Str(remote(), "app_mac"), Str(remote(), "kx_pk"));
  }
  std::unique_ptr<ssb::ShsClient> Client() const {
    return std::make_unique<ssb::ShsClient>(me(), HexArray<32>(Str(remote(), "publicKey")), k(), eph());
  }
  std::unique_ptr<ssb::ShsServer> Server() const {
    return std::make_unique<ssb::ShsServer>(me(), k(), eph());
  }
};

// The JavaScript ephemeral: an ed25519 keypair from `random`, converted to curve25519.
bool EphemeralFromRandom(const Value& st) {
  auto seed = HexArray<32>(Str(st, "random"));
  std::array<uint8_t, 32> ed_pk, curve_pk, curve_sk;
  std::array<uint8_t, 64> ed_sk;
  crypto_sign_seed_keypair(ed_pk.data(), ed_sk.data(), seed.data());
  if (crypto_sign_ed25519_pk_to_curve25519(curve_pk.data(), ed_pk.data()) != 0) return false;
  crypto_sign_ed25519_sk_to_curve25519(curve_sk.data(), ed_sk.data());
  const Value& local = At(st, "local");
  return Hex(curve_pk) == Str(local, "kx_pk") && Hex(curve_sk) == Str(local, "kx_sk");
}

bool Initialize(const Value& rec) {
  StepState s{At(rec, "result")};
  bool hello_ok =
      s.is_client()
          ? Hex(s.Client()->Hello()) == Str(s.local(), "app_mac") + Str(s.local(), "kx_pk")
          : Hex(s.Server()->Hello()) == Str(s.local(), "app_mac") + Str(s.local(), "kx_pk");
  return hello_ok && EphemeralFromRandom(s.st);
}

bool CreateChallenge(const Value& rec) {
  StepState s{At(rec, "args").items()[0]};
  auto hello = s.is_client() ? s.Client()->Hello() : s.Server()->Hello();
  return Hex(hello) == Str(rec, "result");
}

// verifyChallenge is the shared first step (the client's clientVerifyChallenge calls it
// too); ShsServer::ReadClientHello is exactly it.
bool VerifyChallenge(const Value& rec) {
  StepState s{At(rec, "args").items()[0]};
  auto server = s.Server();
  bool ok = server->ReadClientHello(HexBytes(At(rec, "args").items()[1].as_string())).ok();
  const Value& r = At(rec, "result");
  if (r.is_null()) return !ok;
  return ok && Hex(server->SecretsForTesting().ab) == Str(r, "secret") &&
         Hex(server->SecretsForTesting().ab_hash) == Str(r, "shash");
}

bool ClientVerifyChallenge(const Value& rec) {
  StepState s{At(rec, "args").items()[0]};
  auto client = s.Client();
  bool ok = client->ReadServerHello(HexBytes(At(rec, "args").items()[1].as_string())).ok();
  const Value& r = At(rec, "result");
  if (r.is_null()) return !ok;
  if (!ok) return false;
  const ssb::ShsSecrets& sec = client->SecretsForTesting();
  auto msg3 = client->Authenticate();
  std::array<uint8_t, 96> hello;
  const std::array<uint8_t, 24> zero_nonce{};
  bool opened = msg3.ok() && crypto_secretbox_open_easy(hello.data(), msg3->data(), msg3->size(),
                                                        zero_nonce.data(),
                                                        HexArray<32>(Str(r, "secret2")).data()) == 0;
  return Hex(sec.ab) == Str(r, "secret") && Hex(sec.ab_hash) == Str(r, "shash") &&
         Hex(sec.aB) == Str(r, "a_bob") && Hex(sec.msg3_key) == Str(r, "secret2") && opened &&
         Hex(hello) == Str(At(r, "local"), "hello");
}

bool ClientCreateAuth(const Value& rec) {
  StepState s{At(rec, "args").items()[0]};
  auto client = s.Client();
  if (!client->ReadServerHello(s.remote_hello()).ok()) return false;
  auto msg3 = client->Authenticate();
  return msg3.ok() && Hex(*msg3) == Str(rec, "result");
}

bool ServerVerifyAuth(const Value& rec) {
  StepState s{At(rec, "args").items()[0]};
  auto server = s.Server();
  if (!server->ReadClientHello(s.remote_hello()).ok()) return false;
  auto client = server->ReadClientAuthenticate(HexBytes(At(rec, "args").items()[1].as_string()));
  const Value& r = At(rec, "result");
  if (r.is_null()) return !client.ok();
  const ssb::ShsSecrets& sec = server->SecretsForTesting();
  return client.ok() && Hex(*client) == Str(At(r, "remote"), "publicKey") &&
         Hex(sec.aB) == Str(r, "a_bob") && Hex(sec.Ab) == Str(r, "b_alice") &&
         Hex(sec.msg3_key) == Str(r, "secret2") && Hex(sec.msg4_key) == Str(r, "secret3");
}

// msg3 is not in the record; it is the client's hello boxed with secret2 (deterministic).
bool ServerCreateAccept(const Value& rec) {
  StepState s{At(rec, "args").items()[0]};
  auto hello = HexBytes(Str(s.remote(), "hello"));
  auto key = HexArray<32>(Str(s.st, "secret2"));
  std::vector<uint8_t> msg3(hello.size() + crypto_secretbox_MACBYTES);
  const std::array<uint8_t, 24> zero_nonce{};
  crypto_secretbox_easy(msg3.data(), hello.data(), hello.size(), zero_nonce.data(), key.data());
  auto server = s.Server();
  if (!server->ReadClientHello(s.remote_hello()).ok()) return false;
  if (!server->ReadClientAuthenticate(msg3).ok()) return false;
  auto msg4 = server->Accept();
  return msg4.ok() && Hex(*msg4) == Str(rec, "result");
}

ssb::Result<ssb::ShsKeys> RunClient(const Value& verify_accept_rec) {
  StepState s{At(verify_accept_rec, "args").items()[0]};
  auto client = s.Client();
  if (!client->ReadServerHello(s.remote_hello()).ok()) return ssb::Status::InvalidInput("hello");
  if (!client->Authenticate().ok()) return ssb::Status::InvalidInput("auth");
  return client->ReadServerAccept(HexBytes(At(verify_accept_rec, "args").items()[1].as_string()));
}

bool ClientVerifyAccept(const Value& rec) {
  return RunClient(rec).ok() == !At(rec, "result").is_null();
}

// `clean` runs on a finished handshake whose ephemeral secret is already wiped, so the run is
// replayed from the same side's earlier record (same local kx_pk): clientVerifyAccept holds
// msg4, serverVerifyAuth msg3.
bool Clean(const Value& rec, const std::vector<Value>& all) {
  StepState s{At(rec, "result")};
  bool client = At(s.local(), "hello").is_string();
  const Value* earlier = nullptr;
  for (const Value& e : all) {
    if (Str(e, "name") != (client ? "clientVerifyAccept" : "serverVerifyAuth")) continue;
    if (At(e, "result").is_null()) continue;
    if (Str(At(At(e, "args").items()[0], "local"), "kx_pk") == Str(s.local(), "kx_pk"))
      earlier = &e;
  }
  if (!earlier) return false;
  ssb::Result<ssb::ShsKeys> keys = ssb::Status::NotFound("");
  if (client) {
    keys = RunClient(*earlier);
  } else {
    StepState e{At(*earlier, "args").items()[0]};
    auto server = e.Server();
    if (!server->ReadClientHello(e.remote_hello()).ok()) return false;
    if (!server->ReadClientAuthenticate(HexBytes(At(*earlier, "args").items()[1].as_string())).ok())
      return false;
    if (!server->Accept().ok()) return false;
    keys = server->keys();
  }
  return keys.ok() && Hex(keys->send_key) == Str(s.st, "encryptKey") &&
         Hex(keys->recv_key) == Str(s.st, "decryptKey") &&
         Hex(keys->send_nonce) == Str(s.remote(), "app_mac").substr(0, 48) &&
         Hex(keys->recv_nonce) == Str(s.local(), "app_mac").substr(0, 48);
}

// toKeys turns a 32-byte seed into a keypair and passes a keypair through.
bool ToKeys(const Value& rec) {
  const Value& arg = At(rec, "args").items()[0];
  const Value& r = At(rec, "result");
  ssb::Keypair kp =
      arg.is_string() ? FromSeedHex(arg.as_string()) : FromSecretHex(Str(arg, "secretKey"));
  return Hex(kp.public_key()) == Str(r, "publicKey") && Hex(kp.secret_key()) == Str(r, "secretKey");
}

}  // namespace

TEST_CASE("secret-handshake-states/data.json: every crypto.js step replayed") {
  Value doc = ReadVectorJson("secret-handshake-states/data.json");
  const std::vector<Value>& all = doc.items();
  std::map<std::string, std::function<bool(const Value&)>> steps = {
      {"initialize", Initialize},
      {"createChallenge", CreateChallenge},
      {"verifyChallenge", VerifyChallenge},
      {"clientVerifyChallenge", ClientVerifyChallenge},
      {"clientCreateAuth", ClientCreateAuth},
      {"serverVerifyAuth", ServerVerifyAuth},
      {"serverCreateAccept", ServerCreateAccept},
      {"clientVerifyAccept", ClientVerifyAccept},
      {"clean", [&all](const Value& rec) { return Clean(rec, all); }},
      {"toKeys", ToKeys},
  };
  std::map<std::string, std::pair<size_t, size_t>> by_name;  // passed, total
  size_t passed = 0, rejects = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    const Value& rec = all[i];
    std::string name = Str(rec, "name");
    INFO("record " << i << " " << name);
    auto it = steps.find(name);
    REQUIRE(it != steps.end());
    bool ok = it->second(rec);
    CHECK(ok);
    passed += ok;
    rejects += ok && At(rec, "result").is_null();
    by_name[name].first += ok;
    by_name[name].second += 1;
  }
  for (const auto& [name, counts] : by_name) {
    ReportCount("secret-handshake-states " + name, counts.first, counts.second);
  }
  ReportCount("secret-handshake-states (all steps)", passed, all.size());
  ReportCount("secret-handshake-states rejections reproduced", rejects, 7);
  CHECK(all.size() == 159);
  CHECK(passed == all.size());
}

// ---------------------------------------------------------------------------------------------
// generated/e2e_session.json: the recorded TCP bytes of a real JavaScript session.

TEST_CASE("e2e_session.json: handshake and box-stream in both roles, byte-exact") {
  Value doc = ReadVectorJson("generated/e2e_session.json");
  auto k = HexArray<32>(Str(doc, "network_key_hex"));
  const Value& c = At(doc, "client");
  const Value& s = At(doc, "server");
  ssb::Keypair ckp = FromSeedHex(Str(c, "seed_hex"));
  ssb::Keypair skp = FromSeedHex(Str(s, "seed_hex"));
  CHECK(Hex(ckp.public_key()) == Str(c, "ed25519_pk_hex"));
  CHECK(Hex(skp.public_key()) == Str(s, "ed25519_pk_hex"));
  auto c2s = HexBytes(Str(doc, "client_to_server_hex"));
  auto s2c = HexBytes(Str(doc, "server_to_client_hex"));
  REQUIRE(c2s.size() == static_cast<size_t>(At(doc, "client_to_server_len").as_number()));
  REQUIRE(s2c.size() == static_cast<size_t>(At(doc, "server_to_client_len").as_number()));
  std::span<const uint8_t> cs(c2s), sc(s2c);

  // Our server reads what the JavaScript client sent and must answer with what the
  // JavaScript server sent; likewise our client.
  ssb::ShsServer server(skp, k, HexArray<32>(Str(s, "ephemeral_curve25519_sk_hex")));
  REQUIRE(server.ReadClientHello(cs.subspan(0, 64)).ok());
  CHECK(Hex(server.Hello()) == Hex(sc.subspan(0, 64)));
  auto client_id = server.ReadClientAuthenticate(cs.subspan(64, 112));
  REQUIRE(client_id.ok());
  CHECK(*client_id == ckp.public_key());
  auto msg4 = server.Accept();
  REQUIRE(msg4.ok());
  CHECK(Hex(*msg4) == Hex(sc.subspan(64, 80)));
  auto skeys = server.keys();
  REQUIRE(skeys.ok());

  ssb::ShsClient client(ckp, skp.public_key(), k, HexArray<32>(Str(c, "ephemeral_curve25519_sk_hex")));
  CHECK(Hex(client.Hello()) == Hex(cs.subspan(0, 64)));
  REQUIRE(client.ReadServerHello(sc.subspan(0, 64)).ok());
  auto msg3 = client.Authenticate();
  REQUIRE(msg3.ok());
  CHECK(Hex(*msg3) == Hex(cs.subspan(64, 112)));
  auto ckeys = client.ReadServerAccept(sc.subspan(64, 80));
  REQUIRE(ckeys.ok());

  const Value& sk = At(doc, "session_keys");
  CHECK(Hex(ckeys->send_key) == Str(sk, "client_to_server_key_hex"));
  CHECK(Hex(ckeys->send_nonce) == Str(sk, "client_to_server_nonce_hex"));
  CHECK(Hex(skeys->send_key) == Str(sk, "server_to_client_key_hex"));
  CHECK(Hex(skeys->send_nonce) == Str(sk, "server_to_client_nonce_hex"));

  struct Direction {
    const char* name;
    std::span<const uint8_t> wire;
    const ssb::ShsKeys& receiver;
    const ssb::ShsKeys& sender;
  };
  size_t passed = 0;
  for (const Direction& d : {Direction{"boxstream_client_to_server", cs, *skeys, *ckeys},
                             Direction{"boxstream_server_to_client", sc, *ckeys, *skeys}}) {
    INFO(d.name);
    const Value& v = At(doc, d.name);
    auto offset = static_cast<size_t>(At(v, "offset").as_number());
    std::span<const uint8_t> stream = d.wire.subspan(offset);
    // One byte at a time, so that every box boundary shows.
    ssb::BoxDecoder dec(d.receiver.recv_key, d.receiver.recv_nonce);
    std::string plain;
    std::vector<std::string> boxes;
    for (uint8_t b : stream) {
      size_t before = plain.size();
      REQUIRE(dec.Feed(std::span<const uint8_t>(&b, 1), &plain).ok());
      if (plain.size() > before) boxes.push_back(plain.substr(before));
    }
    CHECK(dec.ended());
    CHECK(Str(v, "end") == "goodbye");
    CHECK(dec.boxes() == static_cast<uint64_t>(At(v, "boxes").as_number()));
    CHECK(Hex(plain) == Str(v, "plaintext_hex"));
    // Re-encrypting box by box gives the recorded bytes.
    ssb::BoxEncoder enc(d.sender.send_key, d.sender.send_nonce);
    std::string wire;
    for (const std::string& box : boxes) enc.Encrypt(box, &wire);
    enc.Goodbye(&wire);
    CHECK(Hex(wire) == Hex(stream));
    passed += Hex(plain) == Str(v, "plaintext_hex") && Hex(wire) == Hex(stream) && dec.ended();
  }
  ReportCount("e2e_session directions (handshake + box-stream, decrypt and re-encrypt)", passed, 2);
  CHECK(passed == 2);
}

// ---------------------------------------------------------------------------------------------
// Our own objects against each other.

TEST_CASE("client and server with random keys agree, and 1 MB crosses in random pieces") {
  ssb::Keypair a = ssb::Keypair::Generate(), b = ssb::Keypair::Generate();
  ssb::NetworkKey k;
  randombytes_buf(k.data(), k.size());
  ssb::ShsClient client(a, b.public_key(), k);
  ssb::ShsServer server(b, k);
  REQUIRE(server.ReadClientHello(client.Hello()).ok());
  REQUIRE(client.ReadServerHello(server.Hello()).ok());
  auto msg3 = client.Authenticate();
  REQUIRE(msg3.ok());
  auto who = server.ReadClientAuthenticate(*msg3);
  REQUIRE(who.ok());
  CHECK(*who == a.public_key());
  auto msg4 = server.Accept();
  REQUIRE(msg4.ok());
  auto ck = client.ReadServerAccept(*msg4);
  REQUIRE(ck.ok());
  auto sk = server.keys();
  REQUIRE(sk.ok());
  CHECK(ck->peer == b.public_key());
  CHECK(sk->peer == a.public_key());
  CHECK(ck->send_key == sk->recv_key);
  CHECK(ck->recv_nonce == sk->send_nonce);
  CHECK(ck->send_key != ck->recv_key);

  std::mt19937_64 rng(20261124);
  std::string data(1 << 20, '\0');
  randombytes_buf(data.data(), data.size());
  // The sender writes in random sizes (0 included), the receiver reads in random sizes.
  ssb::BoxEncoder enc(ck->send_key, ck->send_nonce);
  std::string wire;
  for (size_t off = 0; off < data.size();) {
    size_t n = std::min<size_t>(rng() % 20000, data.size() - off);
    enc.Encrypt(std::string_view(data).substr(off, n), &wire);
    off += n;
  }
  enc.Goodbye(&wire);
  ssb::BoxDecoder dec(sk->recv_key, sk->recv_nonce);
  std::string got;
  for (size_t off = 0; off < wire.size();) {
    CHECK(dec.Needed() > 0);
    size_t n = std::min<size_t>(1 + rng() % 9000, wire.size() - off);
    REQUIRE(dec.Feed(std::string_view(wire).substr(off, n), &got).ok());
    off += n;
  }
  CHECK(dec.ended());
  CHECK(dec.Needed() == 0);
  CHECK(dec.Finish().ok());
  CHECK(got == data);
}

TEST_CASE("a flipped bit in any handshake message is rejected by its receiver") {
  ssb::Keypair a = ssb::Keypair::Generate(), b = ssb::Keypair::Generate();
  const ssb::NetworkKey& k = ssb::kMainNetKey;
  size_t rejected = 0, tried = 0;
  for (int msg = 1; msg <= 4; ++msg) {
    size_t len = msg <= 2 ? 64 : msg == 3 ? 112 : 80;
    for (size_t byte = 0; byte < len; ++byte) {
      ++tried;
      uint8_t mask = static_cast<uint8_t>(1u << (byte % 8));
      Pair p(a, b, k, k);
      auto m1 = p.client.Hello();
      if (msg == 1) m1[byte] ^= mask;
      if (!p.server.ReadClientHello(m1).ok()) {
        rejected += msg == 1;
        continue;
      }
      auto m2 = p.server.Hello();
      if (msg == 2) m2[byte] ^= mask;
      if (!p.client.ReadServerHello(m2).ok()) {
        rejected += msg == 2;
        continue;
      }
      auto m3 = p.client.Authenticate();
      REQUIRE(m3.ok());
      if (msg == 3) (*m3)[byte] ^= mask;
      if (!p.server.ReadClientAuthenticate(*m3).ok()) {
        rejected += msg == 3;
        continue;
      }
      auto m4 = p.server.Accept();
      REQUIRE(m4.ok());
      if (msg == 4) (*m4)[byte] ^= mask;
      auto keys = p.client.ReadServerAccept(*m4);
      rejected += msg == 4 && !keys.ok();
      CHECK(p.client.failed() == !keys.ok());
    }
  }
  CHECK(rejected == tried);
}

TEST_CASE("different network keys: both sides refuse") {
  ssb::Keypair a = ssb::Keypair::Generate(), b = ssb::Keypair::Generate();
  ssb::NetworkKey other = ssb::kMainNetKey;
  other[31] ^= 1;
  Pair p(a, b, ssb::kMainNetKey, other);
  ssb::Status s1 = p.server.ReadClientHello(p.client.Hello());
  CHECK(s1.code() == ssb::Code::kInvalidInput);
  CHECK_THAT(s1.message(), Catch::Contains("another network"));
  ssb::Status s2 = p.client.ReadServerHello(p.server.Hello());
  CHECK(s2.code() == ssb::Code::kInvalidInput);
  CHECK(p.client.failed());
  CHECK(p.server.failed());
}

TEST_CASE("the client reaches only the key it dialed") {
  ssb::Keypair a = ssb::Keypair::Generate(), b = ssb::Keypair::Generate();
  ssb::Keypair someone_else = ssb::Keypair::Generate();
  ssb::ShsClient client(a, someone_else.public_key(), ssb::kMainNetKey);
  ssb::ShsServer server(b, ssb::kMainNetKey);
  REQUIRE(server.ReadClientHello(client.Hello()).ok());
  REQUIRE(client.ReadServerHello(server.Hello()).ok());
  auto m3 = client.Authenticate();
  REQUIRE(m3.ok());
  auto r = server.ReadClientAuthenticate(*m3);
  CHECK(r.status().code() == ssb::Code::kInvalidInput);
  CHECK(AllZero(server.SecretsForTesting()));
}

TEST_CASE("handshake steps refuse wrong sizes and wrong order") {
  ssb::Keypair a = ssb::Keypair::Generate(), b = ssb::Keypair::Generate();
  {
    Pair p(a, b, ssb::kMainNetKey, ssb::kMainNetKey);
    auto hello = p.client.Hello();
    CHECK(p.server.ReadClientHello(std::span(hello).first(63)).code() == ssb::Code::kInvalidInput);
  }
  {
    Pair p(a, b, ssb::kMainNetKey, ssb::kMainNetKey);
    CHECK(p.client.Authenticate().status().code() == ssb::Code::kInvalidArgument);
    CHECK(p.client.failed());
    // A failed handshake stays failed.
    CHECK_FALSE(p.client.ReadServerHello(p.server.Hello()).ok());
  }
  {
    Pair p(a, b, ssb::kMainNetKey, ssb::kMainNetKey);
    CHECK(p.server.Accept().status().code() == ssb::Code::kInvalidArgument);
    CHECK_FALSE(p.server.keys().ok());
  }
  {
    Pair p(a, b, ssb::kMainNetKey, ssb::kMainNetKey);
    REQUIRE(p.server.ReadClientHello(p.client.Hello()).ok());
    REQUIRE(p.client.ReadServerHello(p.server.Hello()).ok());
    auto m3 = p.client.Authenticate();
    REQUIRE(m3.ok());
    std::vector<uint8_t> longer(m3->begin(), m3->end());
    longer.push_back(0);
    CHECK(p.server.ReadClientAuthenticate(longer).status().code() == ssb::Code::kInvalidInput);
  }
  CHECK(ssb::Base64Encode(ssb::kMainNetKey) == "1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s=");
}
