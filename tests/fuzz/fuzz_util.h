// Shared fixtures of the libFuzzer targets: fixed keys (so a run is reproducible) and a reader
// over the fuzz input.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "ssb/keys.h"

namespace fuzz {

inline const ssb::Keypair& Key(uint8_t n) {
  static std::array<ssb::Keypair, 4> keys = [] {
    std::array<ssb::Keypair, 4> k;
    for (uint8_t i = 0; i < 4; ++i) {
      std::array<uint8_t, 32> seed{};
      seed.fill(static_cast<uint8_t>(i + 1));
      k[i] = ssb::Keypair::FromSeed(seed);
    }
    return k;
  }();
  return keys[n % 4];
}

// Consumes the input from the front: a byte, a length-prefixed chunk, or the rest.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : p_(data), n_(size) {}
  uint8_t Byte() {
    if (!n_) return 0;
    --n_;
    return *p_++;
  }
  std::string_view Take(size_t len) {
    len = std::min(len, n_);
    std::string_view s(reinterpret_cast<const char*>(p_), len);
    p_ += len;
    n_ -= len;
    return s;
  }
  // A chunk whose length is the next byte (0..255) or, with `wide`, the next two bytes.
  std::string_view Chunk(bool wide = false) {
    size_t len = Byte();
    if (wide) len = len << 8 | Byte();
    return Take(len);
  }
  std::string_view Rest() { return Take(n_); }
  size_t left() const { return n_; }

 private:
  const uint8_t* p_;
  size_t n_;
};

inline std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace fuzz
