// Secret handshake v1 (SHS), the authenticated key exchange that starts every SSB connection
// (PROTOCOL.md §3; secret-handshake 1.1.21 crypto.js).
//
//   msg1  C→S   64 bytes   hmac(K, A_e) || A_e
//   msg2  S→C   64 bytes   hmac(K, B_e) || B_e
//   msg3  C→S  112 bytes   secretbox(sig_A || A, zero nonce, sha256(K || ab || aB))
//   msg4  S→C   80 bytes   secretbox(sig_B, zero nonce, sha256(K || ab || aB || Ab))
//
// Sans-IO: these classes only turn bytes into bytes; the caller reads and writes the socket
// (exactly 64, 64, 112, 80 bytes, in that order) and applies the 5 s handshake timeout.
// On any failure the caller closes the connection without writing anything more, as the
// JavaScript peers do. After a failure an object refuses every further step.
//
// Thread-safety: none; one object serves one handshake on one thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "ssb/keys.h"
#include "ssb/status.h"

namespace ssb {

inline constexpr size_t kShsHelloBytes = 64;         // msg1 (client hello), msg2 (server hello)
inline constexpr size_t kShsClientAuthBytes = 112;   // msg3
inline constexpr size_t kShsServerAcceptBytes = 80;  // msg4

using ShsHello = std::array<uint8_t, kShsHelloBytes>;
using ShsClientAuth = std::array<uint8_t, kShsClientAuthBytes>;
using ShsServerAccept = std::array<uint8_t, kShsServerAcceptBytes>;
// An ephemeral curve25519 secret key (a_e or b_e). Injected only by tests that reproduce known
// transcripts; normal use lets the object draw a fresh one. Never reuse one.
using ShsEphemeralSecret = std::array<uint8_t, 32>;

// The result of a handshake: box-stream keys for each direction and the authenticated peer.
// The keys are wiped when the object is destroyed.
struct ShsKeys {
  ShsKeys() = default;
  ~ShsKeys();
  ShsKeys(const ShsKeys&) = default;
  ShsKeys& operator=(const ShsKeys&) = default;

  std::array<uint8_t, 32> send_key{};  // for our BoxEncoder
  std::array<uint8_t, 24> send_nonce{};
  std::array<uint8_t, 32> recv_key{};  // for our BoxDecoder
  std::array<uint8_t, 24> recv_nonce{};
  PublicKey peer{};  // the other side's long-term ed25519 key
};

// Every intermediate secret of a handshake, named as in PROTOCOL.md §3 (lower case a/b =
// ephemeral, upper case A/B = long-term; the first letter's secret key is used). For tests
// only: they are wiped when the handshake completes or fails, and then read as zeros.
struct ShsSecrets {
  std::array<uint8_t, 32> ab{};        // a_e · B_e
  std::array<uint8_t, 32> ab_hash{};   // sha256(ab)
  std::array<uint8_t, 32> aB{};        // a_e · curve(B)
  std::array<uint8_t, 32> Ab{};        // curve(a) · B_e
  std::array<uint8_t, 32> msg3_key{};  // sha256(K || ab || aB)
  std::array<uint8_t, 32> msg4_key{};  // sha256(K || ab || aB || Ab)
};

// The dialing side. Use: Hello() → send; ReadServerHello(64 bytes); Authenticate() → send;
// ReadServerAccept(80 bytes) → keys. Each step must follow the previous one's success.
class ShsClient {
 public:
  // `server` is the key we expect to reach (from its address); the handshake fails unless the
  // peer holds its secret. `ephemeral`: see ShsEphemeralSecret (tests only).
  ShsClient(const Keypair& me, const PublicKey& server, std::span<const uint8_t, 32> network_key,
            std::optional<ShsEphemeralSecret> ephemeral = std::nullopt);
  ~ShsClient();
  ShsClient(const ShsClient&) = delete;
  ShsClient& operator=(const ShsClient&) = delete;

  // msg1. May be called at any time; always the same bytes.
  ShsHello Hello() const;
  // Checks msg2. Error: kInvalidInput when it is not 64 bytes, its MAC is wrong (a different
  // network, or damage) or its key is degenerate; kInvalidArgument when the server key given
  // to the constructor has no curve25519 form or this step is out of order.
  Status ReadServerHello(std::span<const uint8_t> msg2);
  // msg3: proves our identity to the server. Error: kInvalidArgument unless ReadServerHello
  // succeeded just before.
  Result<ShsClientAuth> Authenticate();
  // Checks msg4 (the server proves it holds the secret of `server`) and returns the session.
  // Error: kInvalidInput when msg4 is not 80 bytes, does not open or its signature is wrong;
  // kInvalidArgument when out of order.
  Result<ShsKeys> ReadServerAccept(std::span<const uint8_t> msg4);

  bool failed() const { return state_ == State::kFailed; }
  const ShsSecrets& SecretsForTesting() const { return secrets_; }

 private:
  enum class State : uint8_t { kStart, kGotHello, kSentAuth, kDone, kFailed };
  Status Fail(Status st);
  void Wipe();

  State state_ = State::kStart;
  Keypair me_;
  PublicKey server_;
  NetworkKey network_key_;
  ShsEphemeralSecret eph_sk_;
  std::array<uint8_t, 32> eph_pk_;
  std::array<uint8_t, 32> my_mac_;      // hmac(K, A_e): the server's receive nonce
  std::array<uint8_t, 32> server_mac_;  // hmac(K, B_e): our send nonce
  std::array<uint8_t, 32> server_eph_pk_{};
  Signature sig_a_{};
  ShsSecrets secrets_;
};

// The listening side. Use: ReadClientHello(64 bytes); Hello() → send;
// ReadClientAuthenticate(112 bytes) → the client's id, which the caller may refuse (close);
// Accept() → send; keys().
class ShsServer {
 public:
  ShsServer(const Keypair& me, std::span<const uint8_t, 32> network_key,
            std::optional<ShsEphemeralSecret> ephemeral = std::nullopt);
  ~ShsServer();
  ShsServer(const ShsServer&) = delete;
  ShsServer& operator=(const ShsServer&) = delete;

  // Checks msg1. Error: kInvalidInput when it is not 64 bytes, its MAC is wrong (a client of
  // another network) or its key is degenerate; kInvalidArgument when out of order.
  Status ReadClientHello(std::span<const uint8_t> msg1);
  // msg2. May be called at any time; always the same bytes.
  ShsHello Hello() const;
  // Opens and checks msg3 and returns the client's long-term key. Authorization is the
  // caller's: to refuse this client, close without calling Accept(). Error: kInvalidInput when
  // msg3 is not 112 bytes or does not open (e.g. the client dialed another key), the
  // signature is wrong or the client key has no curve25519 form; kInvalidArgument when out of
  // order.
  Result<PublicKey> ReadClientAuthenticate(std::span<const uint8_t> msg3);
  // msg4: proves our identity and completes the handshake. Error: kInvalidArgument unless
  // ReadClientAuthenticate succeeded just before.
  Result<ShsServerAccept> Accept();
  // The session, once Accept() has run. Error: kInvalidArgument before.
  Result<ShsKeys> keys() const;

  bool failed() const { return state_ == State::kFailed; }
  const ShsSecrets& SecretsForTesting() const { return secrets_; }

 private:
  enum class State : uint8_t { kStart, kGotHello, kAuthenticated, kDone, kFailed };
  Status Fail(Status st);
  void Wipe();

  State state_ = State::kStart;
  Keypair me_;
  NetworkKey network_key_;
  ShsEphemeralSecret eph_sk_;
  std::array<uint8_t, 32> eph_pk_;
  std::array<uint8_t, 32> my_mac_;
  std::array<uint8_t, 32> client_mac_{};
  std::array<uint8_t, 32> client_eph_pk_{};
  PublicKey client_{};
  Signature sig_a_{};
  ShsSecrets secrets_;
  ShsKeys keys_;
};

}  // namespace ssb
