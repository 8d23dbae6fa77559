// Private messages: private-box ("box1"), as ssb-keys 8.5.0 / private-box 0.3.1 make them
// (PROTOCOL.md §7). The content string of an encrypted message is base64(ciphertext) + ".box".
//
//   ciphertext = nonce(24) || one-time curve25519 pk(32) || slot(49) × recipients || body
//   slot       = secretbox([recipient count] || body key(32), nonce, scalarmult(otk_sk, r_pk))
//   body       = secretbox(plaintext, nonce, body key)
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ssb/json.h"
#include "ssb/keys.h"
#include "ssb/status.h"

namespace ssb {

inline constexpr size_t kMaxBoxRecipients = 7;
// Plaintexts are message contents, so the signed message limit bounds them; larger input is
// refused before any work (a box string is at most 8192 UTF-16 units in a valid message).
inline constexpr size_t kMaxBoxStringBytes = 64 * 1024;

using CurvePublicKey = std::array<uint8_t, 32>;
using CurveSecretKey = std::array<uint8_t, 32>;

// ed25519 → curve25519, as libsodium converts them (and the JavaScript stack does).
std::optional<CurvePublicKey> CurvePublicFromEd25519(const PublicKey& pk);
CurveSecretKey CurveSecretFromKeypair(const Keypair& keys);

// The randomness of one encryption, injectable so tests reproduce known ciphertexts.
struct BoxRandomness {
  std::array<uint8_t, 24> nonce;
  std::array<uint8_t, 32> body_key;
  CurveSecretKey onetime_sk;  // its public key is derived
};

// Encrypts `plaintext` (the UTF-8 JSON of the content) for 1..7 recipients' ed25519 keys.
// Returns "<base64>.box". Error: kInvalidArgument for 0 or more than 7 recipients or a
// recipient key that has no curve25519 form.
Result<std::string> BoxEncrypt(std::string_view plaintext, std::span<const PublicKey> recipients);
Result<std::string> BoxEncryptWith(std::string_view plaintext,
                                   std::span<const PublicKey> recipients,
                                   const BoxRandomness& randomness);

// Decrypts a "<base64>.box" string (or raw ciphertext with BoxDecryptBytes) with our key.
// Returns the plaintext, or nullopt when it is not for us or is malformed. Like the JavaScript
// decoder it probes 8 header slots (one more than an encoder may write).
std::optional<std::string> BoxDecrypt(std::string_view box_string, const Keypair& me);
std::optional<std::string> BoxDecryptBytes(std::span<const uint8_t> ciphertext,
                                           const CurveSecretKey& my_curve_sk);

// What we keep of a private message's `content` when we can read it: the plaintext, when the
// content is a box string that opens with our key and the plaintext is JSON (ssb-keys' unbox
// parses it; anything else counts as unreadable), as JSON.stringify of the parsed plaintext.
// nullopt otherwise. Every path that stores received messages calls this one function
// (the ingest stage, ssb/ingest.h; the command line's private.unbox). Thread-safe.
std::optional<std::string> DecryptContent(const json::Value& content, const Keypair& me);

// The key that opens the body of a box we can read (ssb-db's "unbox" key: count || body key),
// so it can be shared for one message without sharing our identity.
std::optional<std::array<uint8_t, 33>> BoxUnboxKey(std::string_view box_string, const Keypair& me);
std::optional<std::string> BoxDecryptWithUnboxKey(std::string_view box_string,
                                                  std::span<const uint8_t, 33> unbox_key);

}  // namespace ssb
