// Pub invite codes (ssb-invite 2.1.8 with ssb-ref 2.16.0's parsing; PROTOCOL.md §6).
#include "ssb/invite.h"

#include <sodium.h>

#include <cstring>

#include "ssb/base64.h"
#include "ssb/ref.h"

namespace ssb {
namespace {

// The seed: canonical base64 of 32 bytes (ssb-ref's legacy form insists on 43 characters and
// "="; we also refuse non-zero padding bits, which would make two codes name one seed).
// In the multiserver form the seed may lack its "=" (multiserver's Buffer.from reads it so).
Status ParseSeed(std::string_view text, bool allow_unpadded, std::array<uint8_t, 32>* out) {
  std::string padded(text);
  if (allow_unpadded && padded.size() == 43) padded += '=';
  auto seed = Base64DecodeCanonical(padded);
  sodium_memzero(padded.data(), padded.size());
  if (!seed || seed->size() != 32) {
    return Status::InvalidInput("invite code: the seed \"" + std::string(text.substr(0, 60)) +
                                "\" is not canonical base64 of 32 bytes");
  }
  std::memcpy(out->data(), seed->data(), 32);
  sodium_memzero(seed->data(), seed->size());
  return Status::Ok();
}

// 1..65535 in decimal digits.
bool ParsePort(std::string_view s, uint16_t* out) {
  if (s.empty() || s.size() > 5) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v == 0 || v > 65535) return false;
  *out = static_cast<uint16_t>(v);
  return true;
}

// HOST:PORT:@KEY.ed25519~SEED. ssb-ref splits the part before "~" at its last two colons, so an
// IPv6 host keeps its own colons.
Result<InviteCode> ParseLegacy(std::string_view text) {
  size_t tilde = text.find('~');
  std::string_view addr = text.substr(0, tilde);
  std::string_view seed = text.substr(tilde + 1);
  if (seed.find('~') != std::string_view::npos) {
    return Status::InvalidInput("invite code: more than one '~'");
  }
  size_t key_colon = addr.rfind(':');
  if (key_colon == std::string_view::npos || key_colon == 0) {
    return Status::InvalidInput("invite code: expected HOST:PORT:@KEY.ed25519~SEED");
  }
  size_t port_colon = addr.rfind(':', key_colon - 1);
  if (port_colon == std::string_view::npos) {
    return Status::InvalidInput("invite code: expected HOST:PORT:@KEY.ed25519~SEED");
  }
  InviteCode out;
  out.pub.host = std::string(addr.substr(0, port_colon));
  std::string_view port = addr.substr(port_colon + 1, key_colon - port_colon - 1);
  std::string_view key = addr.substr(key_colon + 1);
  if (out.pub.host.size() > 2 && out.pub.host.front() == '[' && out.pub.host.back() == ']') {
    out.pub.host = out.pub.host.substr(1, out.pub.host.size() - 2);
  }
  if (!IsValidHost(out.pub.host)) {
    return Status::InvalidInput("invite code: invalid host \"" + out.pub.host.substr(0, 60) + "\"");
  }
  if (!ParsePort(port, &out.pub.port)) {
    return Status::InvalidInput("invite code: invalid port \"" + std::string(port.substr(0, 20)) +
                                "\" (1..65535)");
  }
  auto pk = ParseFeedId(key);
  if (!pk) {
    return Status::InvalidInput("invite code: \"" + std::string(key.substr(0, 60)) +
                                "\" is not the pub's @KEY.ed25519");
  }
  out.pub.key = *pk;
  SSB_RETURN_IF_ERROR(ParseSeed(seed, false, &out.seed));
  return out;
}

// net:HOST:PORT~shs:KEY:SEED (the first address of a multiaddress that is one).
Result<InviteCode> ParseMultiserverInvite(std::string_view text) {
  auto tree = ParseMultiserverTree(text);
  if (!tree.ok()) return Status(tree.status().code(), "invite code: " + tree.status().message());
  std::string other;
  for (const MultiserverAddress& a : *tree) {
    if (a.size() < 2 || a[1].name != "shs") continue;
    if (a[0].name != "net") {
      other = a[0].name;
      continue;
    }
    if (a.size() != 2) return Status::InvalidInput("invite code: unexpected protocol after shs");
    if (a[1].data.size() != 2) {
      return Status::InvalidInput(a[1].data.size() < 2
                                      ? "invite code: the address has no seed (shs:KEY:SEED)"
                                      : "invite code: too many fields after shs:KEY:SEED");
    }
    auto net = NetShsFromTree(a);
    if (!net.ok()) return Status::InvalidInput("invite code: " + net.status().message());
    InviteCode out;
    out.pub = std::move(net).value();
    SSB_RETURN_IF_ERROR(ParseSeed(a[1].data[1], true, &out.seed));
    return out;
  }
  if (!other.empty()) {
    return Status::Unsupported("invite code: a " + other +
                               " invite; only net (TCP) invites can be used here");
  }
  return Status::InvalidInput("invite code: no net:HOST:PORT~shs:KEY:SEED address");
}

}  // namespace

InviteCode::~InviteCode() { sodium_memzero(seed.data(), seed.size()); }

Keypair InviteCode::GuestKeys() const { return Keypair::FromSeed(seed); }

Result<InviteCode> ParseInviteCode(std::string_view text) {
  if (text.size() > kMaxInviteCodeBytes) {
    return Status::LimitExceeded("invite code of " + std::to_string(text.size()) +
                                 " bytes exceeds the limit of " +
                                 std::to_string(kMaxInviteCodeBytes));
  }
  // What people paste: surrounding whitespace, the quotes of a JSON string (ssb-invite strips
  // those), a "#…" redirect after the code (ssb-ref drops it).
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' ||
                           text.back() == '\t')) {
    text.remove_suffix(1);
  }
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    text = text.substr(1, text.size() - 2);
  }
  text = text.substr(0, text.find('#'));
  if (text.empty()) return Status::InvalidInput("invite code: empty");
  if (text.find('~') == std::string_view::npos) {
    return Status::InvalidInput("invite code: no '~' (expected HOST:PORT:@KEY.ed25519~SEED or "
                                "net:HOST:PORT~shs:KEY:SEED)");
  }
  // The legacy form names the key with its sigil; a multiserver address never holds an '@'
  // before its first '~'.
  std::string_view before = text.substr(0, text.find('~'));
  if (before.find('@') != std::string_view::npos) return ParseLegacy(text);
  return ParseMultiserverInvite(text);
}

std::string FormatInviteLegacy(const InviteCode& invite) {
  return invite.pub.host + ":" + std::to_string(invite.pub.port) + ":" +
         FeedIdFromKey(invite.pub.key) + "~" + Base64Encode(invite.seed);
}

std::string FormatInviteMultiserver(const InviteCode& invite) {
  return FormatAddress(invite.pub) + ":" + Base64Encode(invite.seed);
}

}  // namespace ssb
