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
// crypto_auth (HMAC-SHA-512 truncated to 32 bytes), used by test networks' caps.sign.
std::array<uint8_t, 32> HmacSha512_256(std::span<const uint8_t> data, const HmacKey& key);

// ~/.ssb/secret, byte-compatible with ssb-keys 8.5.0 (PROTOCOL.md §1.3).
// Parse accepts what ssb-keys accepts (comments anywhere, `id` without sigil).
Result<Keypair> ParseSecretFile(std::string_view text);
// The exact text ssb-keys writes (banner, pretty JSON, footer, no trailing newline).
std::string FormatSecretFile(const Keypair& keys);
// Reads the secret at `path`. Warns on stderr (through `warning`) when the file is readable by
// group or others. Error: kNotFound when absent, kInvalidInput when it does not parse.
Result<Keypair> LoadSecretFile(const std::string& path, std::string* warning = nullptr);
// Creates the directory (0700) and writes the file with mode 0400, atomically.
// Error: kIoError; never overwrites an existing file (kInvalidArgument).
Status WriteSecretFile(const std::string& path, const Keypair& keys);
// Loads the secret at `path`, or creates one if the file does not exist (as ssb-server does).
Result<Keypair> LoadOrCreateSecretFile(const std::string& path, std::string* warning = nullptr);

}  // namespace ssb
