// Pub invite codes (ssb-invite 2.1.8, as ssb-server 16.0.1 loads it; PROTOCOL.md §6).
//
// An invite code names a pub and carries a 32-byte seed. The seed is the secret half of an
// ed25519 key pair (the "guest key", crypto_sign_seed_keypair(seed)) that the pub stored when it
// created the code; whoever holds the code dials the pub with the guest key and calls
// invite.use({feed}) once, and the pub follows that feed. Two written forms exist:
//
//   legacy        HOST:PORT:@KEY.ed25519~SEED          what ssb-invite's create prints
//   multiserver   net:HOST:PORT~shs:KEY:SEED            what its accept converts that into
//
// KEY is the pub's public key in base64, SEED 32 bytes in base64. Both forms may be wrapped in
// double quotes and followed by a "#…" redirect, which ssb-invite strips and so do we.
//
// Sans-IO: pure functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "ssb/address.h"
#include "ssb/keys.h"
#include "ssb/status.h"

namespace ssb {

// Longer invite codes are refused (kLimitExceeded); real ones are under 150 bytes.
inline constexpr size_t kMaxInviteCodeBytes = kMaxMultiserverBytes;

// A parsed invite code. The seed is a secret: it is wiped when the object is destroyed.
struct InviteCode {
  InviteCode() = default;
  ~InviteCode();
  InviteCode(const InviteCode&) = default;
  InviteCode& operator=(const InviteCode&) = default;

  NetShsAddress pub;                 // where the pub listens and its key
  std::array<uint8_t, 32> seed{};    // the guest key's seed

  // The key pair to dial the pub with (crypto_sign_seed_keypair(seed), as ssb-keys'
  // generate('ed25519', seed) and secret-handshake's client(key, seed) derive it).
  Keypair GuestKeys() const;
};

// Parses either form. Error: kLimitExceeded above kMaxInviteCodeBytes; kInvalidInput naming
// what is wrong (empty, not an invite, a bad host, port 1..65535, key or seed that is not
// canonical base64 of 32 bytes, a seed after a key that is not the pub's); kUnsupported for an
// invite to a transport we do not dial (ws, wss, onion), naming it.
Result<InviteCode> ParseInviteCode(std::string_view text);

// "HOST:PORT:@KEY.ed25519~SEED": what ssb-invite's create returns.
std::string FormatInviteLegacy(const InviteCode& invite);
// "net:HOST:PORT~shs:KEY:SEED".
std::string FormatInviteMultiserver(const InviteCode& invite);

}  // namespace ssb
