// Eight bytes at a time through the JSON text paths (parse, stringify, the UTF-16 views): every
// received message's text goes through them, so the common case — long runs of plain ASCII —
// is tested a word at a time and only a word that holds a byte of interest is walked bytewise.
// The tests are exact ("some byte of the word is ..."), never approximate.
// Internal to libsync/message.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace ssb::json::swar {

inline constexpr uint64_t kOnes = 0x0101010101010101ull;
inline constexpr uint64_t kHighs = 0x8080808080808080ull;

inline uint64_t Load(const void* p) {
  uint64_t x;
  std::memcpy(&x, p, sizeof x);
  return x;
}

// Nonzero exactly when some byte of x is zero (the marks are exact up to the first zero byte;
// above it a borrow can mark more).
inline uint64_t ZeroBytes(uint64_t x) { return (x - kOnes) & ~x & kHighs; }
// Some byte of x equals b.
inline bool HasByte(uint64_t x, uint8_t b) { return ZeroBytes(x ^ (kOnes * b)) != 0; }
// Some byte of x is below n (n <= 128).
inline bool HasByteBelow(uint64_t x, uint8_t n) { return ((x - kOnes * n) & ~x & kHighs) != 0; }
// Some byte of x is 0x80 or above.
inline bool HasHighByte(uint64_t x) { return (x & kHighs) != 0; }

// How many bytes of x are UTF-8 continuation bytes (10xxxxxx).
inline int ContinuationBytes(uint64_t x) { return std::popcount(x & ~(x << 1) & kHighs); }
// How many bytes of x are 4-byte lead bytes (11110xxx and above).
inline int FourByteLeads(uint64_t x) {
  return std::popcount(x & (x << 1) & (x << 2) & (x << 3) & kHighs);
}

}  // namespace ssb::json::swar
