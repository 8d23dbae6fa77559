// Box-stream: the encrypted byte stream that follows the secret handshake, one per direction
// (PROTOCOL.md §4; pull-box-stream 1.0.13).
//
//   box      = secretbox(header_plain, nonce) (34 bytes) || body ciphertext (len bytes)
//   header_plain = uint16_be(len) || body MAC (16)  where body = secretbox(P, nonce + 1)
//   goodbye  = secretbox(18 zero bytes, nonce)
//
// The nonce is a 24-byte big-endian counter advanced by 2 per box. Keys and nonces come from
// ShsKeys (ssb/shs.h): an encoder takes send_key/send_nonce, a decoder recv_key/recv_nonce.
// Sans-IO: bytes in, bytes out; the caller owns the socket.
//
// Thread-safety: none; one object per direction, used by one thread. Neither class can be
// copied or moved: two copies of a stream state would reuse nonces.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ssb/status.h"

namespace ssb {

inline constexpr size_t kBoxStreamHeaderBytes = 34;
// Senders split writes into boxes of at most this many bytes, as the JavaScript peers do.
inline constexpr size_t kBoxStreamMaxChunk = 4096;
// Receivers accept any body length the 16-bit field can carry.
inline constexpr size_t kBoxStreamMaxBody = 65535;

using BoxStreamKey = std::array<uint8_t, 32>;
using BoxStreamNonce = std::array<uint8_t, 24>;

// Encrypts one direction. The key is wiped on destruction.
class BoxEncoder {
 public:
  BoxEncoder(std::span<const uint8_t, 32> key, std::span<const uint8_t, 24> nonce);
  ~BoxEncoder();
  BoxEncoder(const BoxEncoder&) = delete;
  BoxEncoder& operator=(const BoxEncoder&) = delete;

  // Appends the boxes for `plaintext` to `out`: one per 4096 bytes, each header followed by
  // its body. An empty plaintext appends nothing, as pull-box-stream drops empty writes.
  // REQUIRES: !ended(); `plaintext` does not point into `out`.
  void Encrypt(std::span<const uint8_t> plaintext, std::string* out);
  void Encrypt(std::string_view plaintext, std::string* out);
  // Appends the 34-byte goodbye. Afterwards the encoder is ended.
  void Goodbye(std::string* out);
  bool ended() const { return ended_; }

 private:
  void EncryptChunk(const uint8_t* p, size_t n, std::string* out);

  BoxStreamKey key_;
  BoxStreamNonce nonce_;
  bool ended_ = false;
};

// Decrypts one direction, incrementally: Feed() takes the bytes as they arrive, split at any
// point. The key is wiped on destruction.
class BoxDecoder {
 public:
  // `max_body` (≤ 65535) lowers the largest body accepted.
  BoxDecoder(std::span<const uint8_t, 32> key, std::span<const uint8_t, 24> nonce,
             size_t max_body = kBoxStreamMaxBody);
  ~BoxDecoder();
  BoxDecoder(const BoxDecoder&) = delete;
  BoxDecoder& operator=(const BoxDecoder&) = delete;

  // Consumes all of `in`, appending the plaintext of every box it completes to `out`.
  // Errors (the connection must then be closed; every later Feed returns the same error):
  // kInvalidInput when a header or body fails authentication (forged, damaged or out of
  // order) or when bytes follow the goodbye; kLimitExceeded for a body over `max_body`.
  // Plaintext of boxes completed before the failing one has been appended.
  Status Feed(std::span<const uint8_t> in, std::string* out);
  Status Feed(std::string_view in, std::string* out);

  // True once the peer's goodbye has been read: the clean end of the stream.
  bool ended() const { return ended_; }
  // How many bytes complete the next header or body (never 0 while the stream is open), so
  // a reader can ask the socket for exactly that much. 0 after the goodbye or an error.
  size_t Needed() const;
  // Call when the socket reaches end of file: ok after a goodbye; otherwise kInvalidInput
  // ("hangup without goodbye", as the JavaScript stack reports it) or the earlier error.
  Status Finish() const;
  // Boxes decoded so far, not counting the goodbye.
  uint64_t boxes() const { return boxes_; }

 private:
  size_t ConsumeHeader(std::span<const uint8_t> in, std::string* out);
  size_t ConsumeBody(std::span<const uint8_t> in, std::string* out);
  Status OpenBody(const uint8_t* ciphertext, std::string* out);

  BoxStreamKey key_;
  BoxStreamNonce nonce_;
  size_t max_body_;
  std::array<uint8_t, kBoxStreamHeaderBytes> header_{};  // the header being read
  size_t header_have_ = 0;
  bool header_done_ = false;                // header opened; reading its body
  std::array<uint8_t, 18> header_plain_{};  // length || body MAC
  size_t body_len_ = 0;
  std::string body_;  // ciphertext of a body that arrived in pieces
  bool ended_ = false;
  uint64_t boxes_ = 0;
  Status error_;
};

}  // namespace ssb
