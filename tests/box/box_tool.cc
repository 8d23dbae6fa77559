// ssb_box_tool, for the private-box interop test:
//   ssb_box_tool encrypt SEEDHEX…  < plaintext   → "<base64>.box" for the keys of those seeds
//   ssb_box_tool decrypt SEEDHEX   < box string  → plaintext (exit 1 if not for that key)
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "ssb/base64.h"
#include "ssb/box.h"

namespace {
ssb::Keypair FromSeedHex(const std::string& hex) {
  auto seed = ssb::HexDecode(hex);
  if (!seed || seed->size() != 32) {
    std::cerr << "bad seed " << hex << "\n";
    std::exit(2);
  }
  return ssb::Keypair::FromSeed(std::span<const uint8_t, 32>(seed->data(), 32));
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  std::string cmd = argv[1];
  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (cmd == "encrypt") {
    std::vector<ssb::PublicKey> recps;
    for (int i = 2; i < argc; ++i) recps.push_back(FromSeedHex(argv[i]).public_key());
    auto boxed = ssb::BoxEncrypt(input, recps);
    if (!boxed.ok()) return std::cerr << boxed.status().ToString() << "\n", 1;
    std::cout << *boxed;
    return 0;
  }
  if (cmd == "decrypt") {
    while (!input.empty() && (input.back() == '\n' || input.back() == '\r')) input.pop_back();
    auto plain = ssb::BoxDecrypt(input, FromSeedHex(argv[2]));
    if (!plain) return 1;
    std::cout << *plain;
    return 0;
  }
  return 2;
}
