// libFuzzer target: LAN discovery datagrams (legacy multiserver text and ssb-lan v2 boxes).
// Odd first byte: the rest is an address that this target announces (signs and boxes) and
// decodes back.
#include <cstdlib>

#include "fuzz_util.h"
#include "ssb/address.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ssb::CryptoInit();
  fuzz::Input in(data, size);
  uint8_t mode = in.Byte();
  std::string_view rest = in.Rest();
  if (mode % 2 == 0) {
    (void)ssb::DecodeLanLegacy(fuzz::Bytes(rest));
    (void)ssb::DecodeLanV2(fuzz::Bytes(rest), ssb::kMainNetKey);
    return 0;
  }
  auto enc = ssb::EncodeLanV2(rest, fuzz::Key(0), ssb::kMainNetKey);
  if (!enc.ok()) return 0;
  auto dec = ssb::DecodeLanV2(fuzz::Bytes(*enc), ssb::kMainNetKey);
  if (!dec.ok() || dec->address != rest || dec->key != fuzz::Key(0).public_key()) std::abort();
  // Another network's key never opens it.
  ssb::NetworkKey other = ssb::kMainNetKey;
  other[0] ^= 1;
  if (ssb::DecodeLanV2(fuzz::Bytes(*enc), other).ok()) std::abort();
  return 0;
}
