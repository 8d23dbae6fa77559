// Sigil references with ssb-ref 2.16.0 / is-canonical-base64 1.1.1 semantics (PROTOCOL.md §1.1).
#include "ssb/ref.h"

#include <cstring>

#include "ssb/base64.h"

namespace ssb {
namespace {

bool IsB64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '+' || c == '/';
}

// ssb-ref's regexes write the suffix dot unescaped ('.sha256'), so any character other than a
// line terminator matches there. We follow that: it only widens which strings are "ids", and an
// author that does not use a literal '.' fails the signature-type check anyway.
bool MatchesSuffix(std::string_view s, std::string_view suffix_without_dot) {
  if (s.size() != suffix_without_dot.size() + 1) return false;
  char dot = s[0];
  if (dot == '\n' || dot == '\r') return false;
  return s.substr(1) == suffix_without_dot;
}

bool IsHashRef(std::string_view s, char sigil, std::string_view suffix) {
  if (s.size() < 45 || s[0] != sigil) return false;
  return IsCanonicalBase64OfLength(s.substr(1, 44), 32) && MatchesSuffix(s.substr(45), suffix);
}

}  // namespace

bool IsCanonicalBase64OfLength(std::string_view s, size_t bytes) {
  size_t full = bytes * 8 / 6;  // characters that carry whole sextets
  size_t mod = bytes % 3;
  size_t total = full + (mod == 0 ? 0 : mod == 1 ? 3 : 2);
  if (s.size() != total) return false;
  for (size_t i = 0; i < full; ++i)
    if (!IsB64Char(s[i])) return false;
  std::string_view tail = s.substr(full);
  if (mod == 1) return std::strchr("AQgw", tail[0]) && tail[0] && tail.substr(1) == "==";
  if (mod == 2) return std::strchr("AEIMQUYcgkosw048", tail[0]) && tail[0] && tail[1] == '=';
  return true;
}

bool IsCanonicalBase64(std::string_view s) {
  if (s.size() % 4 != 0) return false;
  return Base64DecodeCanonical(s).has_value();
}

bool IsFeedId(std::string_view s, bool allow_sha256_suffix) {
  if (s.size() < 45 || s[0] != '@' || !IsCanonicalBase64OfLength(s.substr(1, 44), 32)) {
    return false;
  }
  std::string_view rest = s.substr(45);
  return MatchesSuffix(rest, "ed25519") || (allow_sha256_suffix && MatchesSuffix(rest, "sha256"));
}

bool IsMsgId(std::string_view s) { return IsHashRef(s, '%', "sha256"); }
bool IsBlobId(std::string_view s) { return IsHashRef(s, '&', "sha256"); }
bool IsStrictBlobId(std::string_view s) { return IsBlobId(s) && s[45] == '.'; }

bool IsLink(std::string_view s) {
  auto q = s.find('?');
  if (q != std::string_view::npos) s = s.substr(0, q);
  return IsFeedId(s, true) || IsMsgId(s) || IsBlobId(s);
}

std::optional<PublicKey> ParseFeedId(std::string_view id) {
  if (id.size() != 53 || id[0] != '@' || id.substr(45) != ".ed25519") return std::nullopt;
  auto bytes = Base64DecodeCanonical(id.substr(1, 44));
  if (!bytes || bytes->size() != 32) return std::nullopt;
  PublicKey pk;
  std::memcpy(pk.data(), bytes->data(), 32);
  return pk;
}

std::string FeedIdFromKey(const PublicKey& pk) { return "@" + Base64Encode(pk) + ".ed25519"; }
std::string MsgIdFromDigest(const Sha256Digest& d) { return "%" + Base64Encode(d) + ".sha256"; }
std::string BlobIdFromDigest(const Sha256Digest& d) { return "&" + Base64Encode(d) + ".sha256"; }

std::optional<Sha256Digest> ParseHashId(std::string_view id, char sigil) {
  if (id.size() != 52 || id[0] != sigil || id.substr(45) != ".sha256") return std::nullopt;
  auto bytes = Base64DecodeCanonical(id.substr(1, 44));
  if (!bytes || bytes->size() != 32) return std::nullopt;
  Sha256Digest d;
  std::memcpy(d.data(), bytes->data(), 32);
  return d;
}

}  // namespace ssb
