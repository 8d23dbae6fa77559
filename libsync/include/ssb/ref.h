// Sigil references: feed ids, message ids, blob ids, with ssb-ref 2.16.0's rules.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ssb/keys.h"

namespace ssb {

// "@<canonical base64 of 32 bytes>.ed25519". With `allow_sha256_suffix` (ssb-ref's isFeedId
// quirk, PROTOCOL.md §1.1) also ".sha256"; such an author can never sign.
bool IsFeedId(std::string_view s, bool allow_sha256_suffix = false);
bool IsMsgId(std::string_view s);    // "%<b64 32>.sha256"
bool IsBlobId(std::string_view s);   // "&<b64 32>.sha256"
// A blob id spelled exactly as BlobIdFromDigest spells it (a literal '.' before "sha256";
// IsBlobId, like ssb-ref, accepts any character there). Our own formats (bundle headers, want
// files) use only these: a blob's id is also the key it is stored, wanted and compared under.
bool IsStrictBlobId(std::string_view s);
// ssb-ref isLink: any of the three, optionally followed by "?query".
bool IsLink(std::string_view s);

// The public key named by a feed id, or nullopt if `id` is not an ed25519 feed id.
std::optional<PublicKey> ParseFeedId(std::string_view id);
std::string FeedIdFromKey(const PublicKey& pk);
std::string MsgIdFromDigest(const Sha256Digest& d);    // "%…=.sha256"
std::string BlobIdFromDigest(const Sha256Digest& d);   // "&…=.sha256"
// The digest named by a "%…" or "&…" id.
std::optional<Sha256Digest> ParseHashId(std::string_view id, char sigil);

// Canonical base64 of exactly `bytes` bytes (is-canonical-base64 with a length).
bool IsCanonicalBase64OfLength(std::string_view s, size_t bytes);
// Canonical base64 of any length, possibly empty (is-canonical-base64 without a length).
bool IsCanonicalBase64(std::string_view s);

}  // namespace ssb
