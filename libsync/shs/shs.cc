// Secret handshake v1 (PROTOCOL.md §3), following secret-handshake 1.1.21 crypto.js step by
// step so that the state-machine vectors map onto it.
#include "ssb/shs.h"

#include <sodium.h>

#include <cstring>
#include <initializer_list>

namespace ssb {
namespace {

using Bytes32 = std::array<uint8_t, 32>;

// Both boxes of the handshake use a zero nonce: each key is used exactly once.
constexpr std::array<uint8_t, crypto_secretbox_NONCEBYTES> kZeroNonce{};
constexpr size_t kMac = crypto_secretbox_MACBYTES;
constexpr size_t kAuthPlainBytes = 64 + 32;  // sig_A || A

static_assert(kShsClientAuthBytes == kMac + kAuthPlainBytes);
static_assert(kShsServerAcceptBytes == kMac + 64);

// sha256 of the concatenation of `parts`.
Bytes32 HashConcat(std::initializer_list<std::span<const uint8_t>> parts) {
  Sha256Stream st;  // wiped when it goes out of scope
  for (auto p : parts) st.Update(p);
  return st.Final();
}

// crypto_scalarmult, which refuses (returns false) when the result is all zeros, i.e. the
// peer sent a low-order point. The JavaScript stack throws there and drops the connection.
[[nodiscard]] bool SharedSecret(Bytes32& out, const Bytes32& sk, std::span<const uint8_t, 32> pk) {
  return crypto_scalarmult(out.data(), sk.data(), pk.data()) == 0;
}

std::optional<Bytes32> CurvePublic(const PublicKey& ed_pk) {
  Bytes32 out;
  if (crypto_sign_ed25519_pk_to_curve25519(out.data(), ed_pk.data()) != 0) return std::nullopt;
  return out;
}

Bytes32 CurveSecret(const Keypair& keys) {
  Bytes32 out;
  crypto_sign_ed25519_sk_to_curve25519(out.data(), keys.secret_key().data());
  return out;
}

// A fresh ephemeral secret unless one is injected; returns its public key through `pk`.
ShsEphemeralSecret MakeEphemeral(const std::optional<ShsEphemeralSecret>& injected, Bytes32& pk) {
  CryptoInit();
  ShsEphemeralSecret sk;
  if (injected) {
    sk = *injected;
    crypto_scalarmult_base(pk.data(), sk.data());
  } else {
    crypto_box_keypair(pk.data(), sk.data());
  }
  return sk;
}

ShsHello MakeHello(const Bytes32& mac, const Bytes32& eph_pk) {
  ShsHello hello;
  std::memcpy(hello.data(), mac.data(), 32);
  std::memcpy(hello.data() + 32, eph_pk.data(), 32);
  return hello;
}

// Checks a hello (msg1 or msg2): hmac(K, eph_pk) || eph_pk. Fills the peer's MAC and key.
Status ReadHello(std::span<const uint8_t> msg, const NetworkKey& k, const char* what, Bytes32& mac,
                 Bytes32& eph_pk) {
  if (msg.size() != kShsHelloBytes) {
    return Status::InvalidInput(std::string("shs: ") + what + " must be 64 bytes, got " +
                                std::to_string(msg.size()));
  }
  if (crypto_auth_verify(msg.data(), msg.data() + 32, 32, k.data()) != 0) {
    return Status::InvalidInput(std::string("shs: ") + what +
                                " has a bad MAC (a peer of another network?)");
  }
  std::memcpy(mac.data(), msg.data(), 32);
  std::memcpy(eph_pk.data(), msg.data() + 32, 32);
  return Status::Ok();
}

// What the client signs: K || B || sha256(ab).
Signature SignClientAuth(const Keypair& client, const NetworkKey& k, const PublicKey& server,
                         const Bytes32& ab_hash) {
  std::array<uint8_t, 96> signed_bytes;
  std::memcpy(signed_bytes.data(), k.data(), 32);
  std::memcpy(signed_bytes.data() + 32, server.data(), 32);
  std::memcpy(signed_bytes.data() + 64, ab_hash.data(), 32);
  return client.Sign(signed_bytes);
}

// What the server signs: K || sig_A || A || sha256(ab).
std::array<uint8_t, 160> ServerAcceptSigned(const NetworkKey& k, const Signature& sig_a,
                                            const PublicKey& client, const Bytes32& ab_hash) {
  std::array<uint8_t, 160> out;
  std::memcpy(out.data(), k.data(), 32);
  std::memcpy(out.data() + 32, sig_a.data(), 64);
  std::memcpy(out.data() + 96, client.data(), 32);
  std::memcpy(out.data() + 128, ab_hash.data(), 32);
  return out;
}

// secret-handshake crypto.js `clean`: k = sha256(msg4_key); each direction's key is
// sha256(k || receiver's long-term key) and its nonce the receiver's hello MAC (PROTOCOL.md §3,
// pitfall 9: the nonces are cross-wired).
ShsKeys SessionKeys(const Bytes32& msg4_key, const PublicKey& me, const PublicKey& peer,
                    const Bytes32& my_mac, const Bytes32& peer_mac) {
  Bytes32 k = HashConcat({msg4_key});
  ShsKeys keys;
  keys.send_key = HashConcat({k, peer});
  keys.recv_key = HashConcat({k, me});
  std::memcpy(keys.send_nonce.data(), peer_mac.data(), keys.send_nonce.size());
  std::memcpy(keys.recv_nonce.data(), my_mac.data(), keys.recv_nonce.size());
  keys.peer = peer;
  sodium_memzero(k.data(), k.size());
  return keys;
}

Status OutOfOrder(const char* step) {
  return Status::InvalidArgument(std::string("shs: ") + step + " called out of order");
}

}  // namespace

ShsKeys::~ShsKeys() {
  sodium_memzero(send_key.data(), send_key.size());
  sodium_memzero(recv_key.data(), recv_key.size());
}

// ---------------------------------------------------------------------------------------------
// Client

ShsClient::ShsClient(const Keypair& me, const PublicKey& server,
                     std::span<const uint8_t, 32> network_key,
                     std::optional<ShsEphemeralSecret> ephemeral)
    : me_(me), server_(server) {
  std::memcpy(network_key_.data(), network_key.data(), 32);
  eph_sk_ = MakeEphemeral(ephemeral, eph_pk_);
  crypto_auth(my_mac_.data(), eph_pk_.data(), eph_pk_.size(), network_key_.data());
  if (ephemeral) sodium_memzero(ephemeral->data(), ephemeral->size());
}

ShsClient::~ShsClient() { Wipe(); }

void ShsClient::Wipe() {
  sodium_memzero(eph_sk_.data(), eph_sk_.size());
  sodium_memzero(&secrets_, sizeof secrets_);
}

Status ShsClient::Fail(Status st) {
  state_ = State::kFailed;
  Wipe();
  return st;
}

ShsHello ShsClient::Hello() const { return MakeHello(my_mac_, eph_pk_); }

// crypto.js clientVerifyChallenge. We also compute Ab here (crypto.js waits for msg4): it
// needs only B_e, and having every secret at this point lets tests check them all.
Status ShsClient::ReadServerHello(std::span<const uint8_t> msg2) {
  if (state_ != State::kStart) return Fail(OutOfOrder("ReadServerHello"));
  Status st = ReadHello(msg2, network_key_, "server hello", server_mac_, server_eph_pk_);
  if (!st.ok()) return Fail(std::move(st));
  std::optional<Bytes32> server_curve = CurvePublic(server_);
  if (!server_curve || !SharedSecret(secrets_.aB, eph_sk_, *server_curve)) {
    return Fail(Status::InvalidArgument("shs: the server key has no usable curve25519 form"));
  }
  Bytes32 my_curve_sk = CurveSecret(me_);
  bool ok = SharedSecret(secrets_.ab, eph_sk_, server_eph_pk_) &&
            SharedSecret(secrets_.Ab, my_curve_sk, server_eph_pk_);
  sodium_memzero(my_curve_sk.data(), my_curve_sk.size());
  if (!ok) return Fail(Status::InvalidInput("shs: server hello has a degenerate key"));
  secrets_.ab_hash = HashConcat({secrets_.ab});
  secrets_.msg3_key = HashConcat({network_key_, secrets_.ab, secrets_.aB});
  secrets_.msg4_key = HashConcat({network_key_, secrets_.ab, secrets_.aB, secrets_.Ab});
  sig_a_ = SignClientAuth(me_, network_key_, server_, secrets_.ab_hash);
  state_ = State::kGotHello;
  return Status::Ok();
}

// crypto.js clientCreateAuth: box(sig_A || A).
Result<ShsClientAuth> ShsClient::Authenticate() {
  if (state_ != State::kGotHello) return Fail(OutOfOrder("Authenticate"));
  std::array<uint8_t, kAuthPlainBytes> plain;
  std::memcpy(plain.data(), sig_a_.data(), 64);
  std::memcpy(plain.data() + 64, me_.public_key().data(), 32);
  ShsClientAuth msg3;
  crypto_secretbox_easy(msg3.data(), plain.data(), plain.size(), kZeroNonce.data(),
                        secrets_.msg3_key.data());
  state_ = State::kSentAuth;
  return msg3;
}

// crypto.js clientVerifyAccept, then clean.
Result<ShsKeys> ShsClient::ReadServerAccept(std::span<const uint8_t> msg4) {
  if (state_ != State::kSentAuth) return Fail(OutOfOrder("ReadServerAccept"));
  if (msg4.size() != kShsServerAcceptBytes) {
    return Fail(Status::InvalidInput("shs: server accept must be 80 bytes, got " +
                                     std::to_string(msg4.size())));
  }
  Signature sig_b;
  if (crypto_secretbox_open_easy(sig_b.data(), msg4.data(), msg4.size(), kZeroNonce.data(),
                                 secrets_.msg4_key.data()) != 0) {
    return Fail(Status::InvalidInput("shs: server accept does not open"));
  }
  auto signed_bytes = ServerAcceptSigned(network_key_, sig_a_, me_.public_key(), secrets_.ab_hash);
  if (!VerifySignature(server_, signed_bytes, sig_b)) {
    return Fail(Status::InvalidInput("shs: server accept signature is wrong"));
  }
  ShsKeys keys = SessionKeys(secrets_.msg4_key, me_.public_key(), server_, my_mac_, server_mac_);
  Wipe();
  state_ = State::kDone;
  return keys;
}

// ---------------------------------------------------------------------------------------------
// Server

ShsServer::ShsServer(const Keypair& me, std::span<const uint8_t, 32> network_key,
                     std::optional<ShsEphemeralSecret> ephemeral)
    : me_(me) {
  std::memcpy(network_key_.data(), network_key.data(), 32);
  eph_sk_ = MakeEphemeral(ephemeral, eph_pk_);
  crypto_auth(my_mac_.data(), eph_pk_.data(), eph_pk_.size(), network_key_.data());
  if (ephemeral) sodium_memzero(ephemeral->data(), ephemeral->size());
}

ShsServer::~ShsServer() { Wipe(); }

void ShsServer::Wipe() {
  sodium_memzero(eph_sk_.data(), eph_sk_.size());
  sodium_memzero(&secrets_, sizeof secrets_);
}

Status ShsServer::Fail(Status st) {
  state_ = State::kFailed;
  Wipe();
  keys_ = ShsKeys();
  return st;
}

ShsHello ShsServer::Hello() const { return MakeHello(my_mac_, eph_pk_); }

// crypto.js verifyChallenge; aB (crypto.js: in serverVerifyAuth) needs only A_e.
Status ShsServer::ReadClientHello(std::span<const uint8_t> msg1) {
  if (state_ != State::kStart) return Fail(OutOfOrder("ReadClientHello"));
  Status st = ReadHello(msg1, network_key_, "client hello", client_mac_, client_eph_pk_);
  if (!st.ok()) return Fail(std::move(st));
  Bytes32 my_curve_sk = CurveSecret(me_);
  bool ok = SharedSecret(secrets_.ab, eph_sk_, client_eph_pk_) &&
            SharedSecret(secrets_.aB, my_curve_sk, client_eph_pk_);
  sodium_memzero(my_curve_sk.data(), my_curve_sk.size());
  if (!ok) return Fail(Status::InvalidInput("shs: client hello has a degenerate key"));
  secrets_.ab_hash = HashConcat({secrets_.ab});
  secrets_.msg3_key = HashConcat({network_key_, secrets_.ab, secrets_.aB});
  state_ = State::kGotHello;
  return Status::Ok();
}

// crypto.js serverVerifyAuth.
Result<PublicKey> ShsServer::ReadClientAuthenticate(std::span<const uint8_t> msg3) {
  if (state_ != State::kGotHello) return Fail(OutOfOrder("ReadClientAuthenticate"));
  if (msg3.size() != kShsClientAuthBytes) {
    return Fail(Status::InvalidInput("shs: client authenticate must be 112 bytes, got " +
                                     std::to_string(msg3.size())));
  }
  std::array<uint8_t, kAuthPlainBytes> plain;
  if (crypto_secretbox_open_easy(plain.data(), msg3.data(), msg3.size(), kZeroNonce.data(),
                                 secrets_.msg3_key.data()) != 0) {
    return Fail(Status::InvalidInput(
        "shs: client authenticate does not open (did the client dial another key?)"));
  }
  std::memcpy(sig_a_.data(), plain.data(), 64);
  std::memcpy(client_.data(), plain.data() + 64, 32);
  std::array<uint8_t, 96> signed_bytes;
  std::memcpy(signed_bytes.data(), network_key_.data(), 32);
  std::memcpy(signed_bytes.data() + 32, me_.public_key().data(), 32);
  std::memcpy(signed_bytes.data() + 64, secrets_.ab_hash.data(), 32);
  if (!VerifySignature(client_, signed_bytes, sig_a_)) {
    return Fail(Status::InvalidInput("shs: client signature is wrong"));
  }
  std::optional<Bytes32> client_curve = CurvePublic(client_);
  if (!client_curve || !SharedSecret(secrets_.Ab, eph_sk_, *client_curve)) {
    return Fail(Status::InvalidInput("shs: client key has no usable curve25519 form"));
  }
  secrets_.msg4_key = HashConcat({network_key_, secrets_.ab, secrets_.aB, secrets_.Ab});
  keys_ = SessionKeys(secrets_.msg4_key, me_.public_key(), client_, my_mac_, client_mac_);
  state_ = State::kAuthenticated;
  return client_;
}

// crypto.js serverCreateAccept, then clean.
Result<ShsServerAccept> ShsServer::Accept() {
  if (state_ != State::kAuthenticated) return Fail(OutOfOrder("Accept"));
  Signature sig_b = me_.Sign(ServerAcceptSigned(network_key_, sig_a_, client_, secrets_.ab_hash));
  ShsServerAccept msg4;
  crypto_secretbox_easy(msg4.data(), sig_b.data(), sig_b.size(), kZeroNonce.data(),
                        secrets_.msg4_key.data());
  Wipe();
  state_ = State::kDone;
  return msg4;
}

Result<ShsKeys> ShsServer::keys() const {
  if (state_ != State::kDone) {
    return Status::InvalidArgument("shs: keys() before the handshake completed");
  }
  return keys_;
}

}  // namespace ssb
