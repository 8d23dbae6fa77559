// Hex fixtures for tests: decoding that fails the test on bad input.
#pragma once

#include <catch2/catch.hpp>
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ssb/base64.h"

namespace ssb::test {

inline std::vector<uint8_t> HexBytes(const std::string& hex) {
  auto b = HexDecode(hex);
  REQUIRE(b);
  return *b;
}

inline std::string HexString(const std::string& hex) {
  auto b = HexBytes(hex);
  return std::string(b.begin(), b.end());
}

template <size_t N>
std::array<uint8_t, N> HexArray(const std::string& hex) {
  auto b = HexBytes(hex);
  REQUIRE(b.size() == N);
  std::array<uint8_t, N> out;
  std::memcpy(out.data(), b.data(), N);
  return out;
}

}  // namespace ssb::test
