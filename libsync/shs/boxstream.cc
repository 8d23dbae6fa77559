// Box-stream (PROTOCOL.md §4), byte-compatible with pull-box-stream 1.0.13.
#include "ssb/boxstream.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "ssb/keys.h"

namespace ssb {
namespace {

constexpr size_t kMac = crypto_secretbox_MACBYTES;
constexpr size_t kHeaderPlain = 2 + kMac;  // uint16_be(len) || body MAC
static_assert(kBoxStreamHeaderBytes == kHeaderPlain + kMac);
static_assert(kBoxStreamMaxChunk <= kBoxStreamMaxBody);

// The nonce is a 24-byte big-endian counter; it wraps to zero like the JavaScript one.
void Increment(BoxStreamNonce& n) {
  for (size_t i = n.size(); i-- > 0;) {
    if (++n[i] != 0) return;
  }
}

BoxStreamNonce Next(const BoxStreamNonce& n) {
  BoxStreamNonce out = n;
  Increment(out);
  return out;
}

template <size_t N>
void CopyFrom(std::array<uint8_t, N>& dst, std::span<const uint8_t, N> src) {
  std::memcpy(dst.data(), src.data(), N);
}

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Encoder

BoxEncoder::BoxEncoder(std::span<const uint8_t, 32> key, std::span<const uint8_t, 24> nonce) {
  CryptoInit();
  CopyFrom(key_, key);
  CopyFrom(nonce_, nonce);
}

BoxEncoder::~BoxEncoder() { sodium_memzero(key_.data(), key_.size()); }

void BoxEncoder::Encrypt(std::span<const uint8_t> plaintext, std::string* out) {
  if (ended_) return;  // REQUIRES violated: nothing may follow the goodbye
  for (size_t off = 0; off < plaintext.size(); off += kBoxStreamMaxChunk) {
    size_t n = std::min(kBoxStreamMaxChunk, plaintext.size() - off);
    EncryptChunk(plaintext.data() + off, n, out);
  }
}

void BoxEncoder::Encrypt(std::string_view plaintext, std::string* out) {
  Encrypt(AsBytes(plaintext), out);
}

// The body is boxed with nonce + 1 first, because its MAC goes into the header (nonce).
void BoxEncoder::EncryptChunk(const uint8_t* p, size_t n, std::string* out) {
  std::array<uint8_t, kHeaderPlain> header_plain;
  header_plain[0] = static_cast<uint8_t>(n >> 8);
  header_plain[1] = static_cast<uint8_t>(n & 0xff);
  size_t old = out->size();
  out->resize(old + kBoxStreamHeaderBytes + n);
  auto* header = reinterpret_cast<uint8_t*>(out->data()) + old;
  BoxStreamNonce body_nonce = Next(nonce_);
  crypto_secretbox_detached(header + kBoxStreamHeaderBytes, header_plain.data() + 2, p, n,
                            body_nonce.data(), key_.data());
  crypto_secretbox_easy(header, header_plain.data(), header_plain.size(), nonce_.data(),
                        key_.data());
  Increment(nonce_);
  Increment(nonce_);
}

void BoxEncoder::Goodbye(std::string* out) {
  if (ended_) return;
  const std::array<uint8_t, kHeaderPlain> zeros{};
  size_t old = out->size();
  out->resize(old + kBoxStreamHeaderBytes);
  crypto_secretbox_easy(reinterpret_cast<uint8_t*>(out->data()) + old, zeros.data(), zeros.size(),
                        nonce_.data(), key_.data());
  ended_ = true;
}

// ---------------------------------------------------------------------------------------------
// Decoder

BoxDecoder::BoxDecoder(std::span<const uint8_t, 32> key, std::span<const uint8_t, 24> nonce,
                       size_t max_body)
    : max_body_(std::min(max_body, kBoxStreamMaxBody)) {
  CryptoInit();
  CopyFrom(key_, key);
  CopyFrom(nonce_, nonce);
}

BoxDecoder::~BoxDecoder() { sodium_memzero(key_.data(), key_.size()); }

Status BoxDecoder::Feed(std::string_view in, std::string* out) { return Feed(AsBytes(in), out); }

Status BoxDecoder::Feed(std::span<const uint8_t> in, std::string* out) {
  while (error_.ok() && !in.empty()) {
    if (ended_) {
      error_ = Status::InvalidInput("box-stream: " + std::to_string(in.size()) +
                                    " bytes after the goodbye");
      break;
    }
    size_t used = header_done_ ? ConsumeBody(in, out) : ConsumeHeader(in, out);
    in = in.subspan(used);
  }
  return error_;
}

// Reads header bytes; once all 34 are there, opens them: a goodbye ends the stream, anything
// else starts a body (an empty body is opened at once).
size_t BoxDecoder::ConsumeHeader(std::span<const uint8_t> in, std::string* out) {
  size_t n = std::min(in.size(), header_.size() - header_have_);
  std::memcpy(header_.data() + header_have_, in.data(), n);
  header_have_ += n;
  if (header_have_ < header_.size()) return n;
  if (crypto_secretbox_open_easy(header_plain_.data(), header_.data(), header_.size(),
                                 nonce_.data(), key_.data()) != 0) {
    error_ = Status::InvalidInput("box-stream: header authentication failed (box " +
                                  std::to_string(boxes_) + ")");
    return n;
  }
  if (sodium_is_zero(header_plain_.data(), header_plain_.size())) {
    ended_ = true;
    return n;
  }
  body_len_ = size_t{header_plain_[0]} << 8 | header_plain_[1];
  if (body_len_ > max_body_) {
    error_ = Status::LimitExceeded("box-stream: body of " + std::to_string(body_len_) +
                                   " bytes exceeds the limit of " + std::to_string(max_body_));
    return n;
  }
  header_done_ = true;
  body_.clear();
  if (body_len_ == 0) error_ = OpenBody(header_.data(), out);  // any pointer: nothing is read
  return n;
}

// Reads body bytes. A body that arrives whole is opened straight from `in`; otherwise its
// pieces are gathered in body_ first.
size_t BoxDecoder::ConsumeBody(std::span<const uint8_t> in, std::string* out) {
  if (body_.empty() && in.size() >= body_len_) {
    error_ = OpenBody(in.data(), out);
    return body_len_;
  }
  size_t n = std::min(in.size(), body_len_ - body_.size());
  body_.append(reinterpret_cast<const char*>(in.data()), n);
  if (body_.size() == body_len_) {
    error_ = OpenBody(reinterpret_cast<const uint8_t*>(body_.data()), out);
  }
  return n;
}

// Opens a complete body (nonce + 1, MAC from the header) into `out` and moves to the next
// box. On failure `out` is left as it was.
Status BoxDecoder::OpenBody(const uint8_t* ciphertext, std::string* out) {
  size_t old = out->size();
  out->resize(old + body_len_);
  BoxStreamNonce body_nonce = Next(nonce_);
  if (crypto_secretbox_open_detached(reinterpret_cast<uint8_t*>(out->data()) + old, ciphertext,
                                     header_plain_.data() + 2, body_len_, body_nonce.data(),
                                     key_.data()) != 0) {
    out->resize(old);
    return Status::InvalidInput("box-stream: body authentication failed (box " +
                                std::to_string(boxes_) + ")");
  }
  Increment(nonce_);
  Increment(nonce_);
  header_have_ = 0;
  header_done_ = false;
  body_.clear();
  ++boxes_;
  return Status::Ok();
}

size_t BoxDecoder::Needed() const {
  if (ended_ || !error_.ok()) return 0;
  if (!header_done_) return header_.size() - header_have_;
  return body_len_ - body_.size();
}

Status BoxDecoder::Finish() const {
  if (!error_.ok()) return error_;
  if (ended_) return Status::Ok();
  if (header_have_ > 0) return Status::InvalidInput("box-stream: hangup in the middle of a box");
  return Status::InvalidInput("box-stream: hangup without goodbye");
}

}  // namespace ssb
