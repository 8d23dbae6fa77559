// Ed25519 identities, the ~/.ssb/secret file, signatures and hashes.
// Wraps libsodium; call ssb::CryptoInit() once before any other function (thread-safe, idempotent).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ssb/status.h"

namespace ssb {

// Initialises libsodium. Returns false only if the library cannot work on this machine.
bool CryptoInit();

using PublicKey = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, 64>;
using Sha256Digest = std::array<uint8_t, 32>;
using HmacKey = std::array<uint8_t, 32>;

// The 32-byte network key ("caps.shs", "app key"): peers with different keys cannot connect.
using NetworkKey = std::array<uint8_t, 32>;
// The main network's key, npm ssb-caps `shs`: 1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s=.
inline constexpr NetworkKey kMainNetKey = {
    0xd4, 0xa1, 0xcb, 0x88, 0xa6, 0x6f, 0x02, 0xf8, 0xdb, 0x63, 0x5c, 0xe2, 0x64, 0x41, 0xcc, 0x5d,
    0xac, 0x1b, 0x08, 0x42, 0x0c, 0xea, 0xac, 0x23, 0x08, 0x39, 0xb7, 0x55, 0x84, 0x5a, 0x9f, 0xfb};

// An ed25519 key pair; the secret key is libsodium's 64 bytes (seed || public key).
// The secret is wiped when the object is destroyed.
class Keypair {
 public:
  Keypair() = default;
  ~Keypair();
  Keypair(const Keypair&);
  Keypair& operator=(const Keypair&);

  static Keypair Generate();
  static Keypair FromSeed(std::span<const uint8_t, 32> seed);
  // From a 64-byte libsodium secret key; fails if its public half does not match the seed.
  static Result<Keypair> FromSecretKey(std::span<const uint8_t> sk64);

  const PublicKey& public_key() const { return pk_; }
  std::span<const uint8_t, 64> secret_key() const { return sk_; }
  // "@<base64>.ed25519"
  std::string id() const;

  Signature Sign(std::span<const uint8_t> message) const;

 private:
  PublicKey pk_{};
  std::array<uint8_t, 64> sk_{};
};

// Verifies an ed25519 detached signature.
[[nodiscard]] bool VerifySignature(const PublicKey& pk, std::span<const uint8_t> message,
                                   std::span<const uint8_t, 64> signature);

Sha256Digest Sha256(std::span<const uint8_t> data);

// Incremental SHA-256 (for files and streams hashed piece by piece). Final() ends it; Update
// after Final starts nothing new (REQUIRES: not finished). The state is wiped on destruction.
// Copyable: a copy continues independently.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = default;
  Sha256Stream& operator=(const Sha256Stream&) = default;

  void Update(std::span<const uint8_t> data);
  void Update(const void* data, size_t n);
  void Update(std::string_view data) { Update(data.data(), data.size()); }
  Sha256Digest Final();

  static constexpr size_t kStateBytes = 128;

 private:
  // libcrypto's SHA256_CTX, held without including OpenSSL's headers here.
  alignas(8) unsigned char state_[kStateBytes];
};
// crypto_auth (HMAC-SHA-512 truncated to 32 bytes), used by test networks' caps.sign.
std::array<uint8_t, 32> HmacSha512_256(std::span<const uint8_t> data, const HmacKey& key);

// ~/.ssb/secret, byte-compatible with ssb-keys 8.5.0 (PROTOCOL.md §1.3).
// Parse accepts what ssb-keys accepts (comments anywhere, `id` without sigil).
Result<Keypair> ParseSecretFile(std::string_view text);
// The exact text ssb-keys writes (banner, pretty JSON, footer, no trailing newline).
std::string FormatSecretFile(const Keypair& keys);
// Reads the secret at `path`. Warns on stderr (through `warning`) when the file is readable by
// group or others. Error: kNotFound when absent, kCorruption when it does not parse.
Result<Keypair> LoadSecretFile(const std::string& path, std::string* warning = nullptr);
// Creates the directory (0700) and writes the file with mode 0400, atomically.
// Error: kIoError; never overwrites an existing file (kInvalidArgument).
Status WriteSecretFile(const std::string& path, const Keypair& keys);
// Loads the secret at `path`, or creates one if the file does not exist (as ssb-server does).
Result<Keypair> LoadOrCreateSecretFile(const std::string& path, std::string* warning = nullptr);

}  // namespace ssb
