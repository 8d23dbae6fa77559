// private-box / box1 (PROTOCOL.md §7).
#include "ssb/box.h"

#include <sodium.h>

#include <cstring>
#include <vector>

#include "ssb/base64.h"

namespace ssb {
namespace {

constexpr size_t kNonce = 24, kKey = 32, kMac = crypto_secretbox_MACBYTES;
constexpr size_t kSlot = 1 + kKey + kMac;          // 49
constexpr size_t kHeaderStart = kNonce + 32;       // 56
constexpr size_t kProbeSlots = 8;                  // the JS decoder's off-by-one

// Decodes "<base64>.box" (PROTOCOL.md §2.3: the base64 is canonical in valid messages).
std::optional<std::vector<uint8_t>> BoxBytes(std::string_view s) {
  if (s.size() > kMaxBoxStringBytes) return std::nullopt;
  auto dot = s.find(".box");
  if (dot == std::string_view::npos) return std::nullopt;
  return Base64DecodeCanonical(s.substr(0, dot));
}

// Opens the body with a count || body key pair.
std::optional<std::string> OpenBody(std::span<const uint8_t> ct, const uint8_t* header) {
  size_t count = header[0];
  size_t body = kHeaderStart + kSlot * count;
  if (count == 0 || ct.size() < body + kMac) return std::nullopt;
  std::string plain(ct.size() - body - kMac, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<uint8_t*>(plain.data()), ct.data() + body,
                                 ct.size() - body, ct.data(), header + 1) != 0) {
    return std::nullopt;
  }
  return plain;
}

// Finds our slot: returns count || body key.
std::optional<std::array<uint8_t, 33>> OpenHeader(std::span<const uint8_t> ct,
                                                  const CurveSecretKey& sk) {
  if (ct.size() < kHeaderStart + kSlot + kMac) return std::nullopt;
  uint8_t shared[crypto_scalarmult_BYTES];
  if (crypto_scalarmult(shared, sk.data(), ct.data() + kNonce) != 0) return std::nullopt;
  std::array<uint8_t, 33> header;
  std::optional<std::array<uint8_t, 33>> found;
  for (size_t i = 0; i < kProbeSlots; ++i) {
    size_t off = kHeaderStart + kSlot * i;
    if (off + kSlot > ct.size() - kMac) break;
    if (crypto_secretbox_open_easy(header.data(), ct.data() + off, kSlot, ct.data(), shared) ==
        0) {
      found = header;
      break;
    }
  }
  sodium_memzero(shared, sizeof shared);
  return found;
}

}  // namespace

std::optional<CurvePublicKey> CurvePublicFromEd25519(const PublicKey& pk) {
  CryptoInit();
  CurvePublicKey out;
  if (crypto_sign_ed25519_pk_to_curve25519(out.data(), pk.data()) != 0) return std::nullopt;
  return out;
}

CurveSecretKey CurveSecretFromKeypair(const Keypair& keys) {
  CryptoInit();
  CurveSecretKey out;
  crypto_sign_ed25519_sk_to_curve25519(out.data(), keys.secret_key().data());
  return out;
}

Result<std::string> BoxEncryptWith(std::string_view plaintext,
                                   std::span<const PublicKey> recipients,
                                   const BoxRandomness& r) {
  CryptoInit();
  if (recipients.empty()) return Status::InvalidArgument("a private message needs a recipient");
  if (recipients.size() > kMaxBoxRecipients) {
    return Status::InvalidArgument("max recipients is 7, found " +
                                   std::to_string(recipients.size()));
  }
  std::vector<uint8_t> ct(kHeaderStart + kSlot * recipients.size() + kMac + plaintext.size());
  std::memcpy(ct.data(), r.nonce.data(), kNonce);
  if (crypto_scalarmult_base(ct.data() + kNonce, r.onetime_sk.data()) != 0) {
    return Status::InvalidArgument("bad one-time key");
  }
  uint8_t header[1 + kKey];
  header[0] = static_cast<uint8_t>(recipients.size());
  std::memcpy(header + 1, r.body_key.data(), kKey);
  for (size_t i = 0; i < recipients.size(); ++i) {
    auto curve = CurvePublicFromEd25519(recipients[i]);
    if (!curve) return Status::InvalidArgument("recipient key has no curve25519 form");
    uint8_t shared[crypto_scalarmult_BYTES];
    if (crypto_scalarmult(shared, r.onetime_sk.data(), curve->data()) != 0) {
      return Status::InvalidArgument("recipient key is a low-order point");
    }
    crypto_secretbox_easy(ct.data() + kHeaderStart + kSlot * i, header, sizeof header,
                          r.nonce.data(), shared);
    sodium_memzero(shared, sizeof shared);
  }
  sodium_memzero(header, sizeof header);
  crypto_secretbox_easy(ct.data() + kHeaderStart + kSlot * recipients.size(),
                        reinterpret_cast<const uint8_t*>(plaintext.data()), plaintext.size(),
                        r.nonce.data(), r.body_key.data());
  return Base64Encode(ct) + ".box";
}

Result<std::string> BoxEncrypt(std::string_view plaintext, std::span<const PublicKey> recipients) {
  CryptoInit();
  BoxRandomness r;
  randombytes_buf(r.nonce.data(), r.nonce.size());
  crypto_secretbox_keygen(r.body_key.data());
  randombytes_buf(r.onetime_sk.data(), r.onetime_sk.size());
  auto out = BoxEncryptWith(plaintext, recipients, r);
  sodium_memzero(r.body_key.data(), r.body_key.size());
  sodium_memzero(r.onetime_sk.data(), r.onetime_sk.size());
  return out;
}

std::optional<std::string> BoxDecryptBytes(std::span<const uint8_t> ct,
                                           const CurveSecretKey& my_curve_sk) {
  CryptoInit();
  auto header = OpenHeader(ct, my_curve_sk);
  if (!header) return std::nullopt;
  auto plain = OpenBody(ct, header->data());
  sodium_memzero(header->data(), header->size());
  return plain;
}

std::optional<std::string> BoxDecrypt(std::string_view box_string, const Keypair& me) {
  auto bytes = BoxBytes(box_string);
  if (!bytes) return std::nullopt;
  CurveSecretKey sk = CurveSecretFromKeypair(me);
  auto out = BoxDecryptBytes(*bytes, sk);
  sodium_memzero(sk.data(), sk.size());
  return out;
}

std::optional<std::string> DecryptContent(const json::Value& content, const Keypair& me) {
  if (!content.is_string()) return std::nullopt;
  auto plain = BoxDecrypt(content.as_string(), me);
  if (!plain) return std::nullopt;
  auto parsed = json::Parse(*plain);
  if (!parsed.ok()) return std::nullopt;
  return json::Stringify(*parsed);
}

std::optional<std::array<uint8_t, 33>> BoxUnboxKey(std::string_view box_string,
                                                   const Keypair& me) {
  auto bytes = BoxBytes(box_string);
  if (!bytes) return std::nullopt;
  CurveSecretKey sk = CurveSecretFromKeypair(me);
  auto header = OpenHeader(*bytes, sk);
  sodium_memzero(sk.data(), sk.size());
  return header;
}

std::optional<std::string> BoxDecryptWithUnboxKey(std::string_view box_string,
                                                  std::span<const uint8_t, 33> unbox_key) {
  auto bytes = BoxBytes(box_string);
  if (!bytes) return std::nullopt;
  return OpenBody(*bytes, unbox_key.data());
}

}  // namespace ssb
