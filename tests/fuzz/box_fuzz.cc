// libFuzzer target: private-box decryption of untrusted "<base64>.box" strings and raw
// ciphertext; odd first byte: encrypt the rest for 1..4 fixed recipients and decrypt it back.
#include <cstdlib>
#include <vector>

#include "fuzz_util.h"
#include "ssb/box.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ssb::CryptoInit();
  fuzz::Input in(data, size);
  uint8_t mode = in.Byte();
  std::string_view rest = in.Rest();
  const ssb::Keypair& me = fuzz::Key(0);
  if (mode % 2 == 0) {
    (void)ssb::BoxDecrypt(rest, me);
    (void)ssb::BoxDecryptBytes(fuzz::Bytes(rest), ssb::CurveSecretFromKeypair(me));
    if (auto k = ssb::BoxUnboxKey(rest, me)) (void)ssb::BoxDecryptWithUnboxKey(rest, *k);
    return 0;
  }
  std::vector<ssb::PublicKey> recps;
  for (uint8_t i = 0; i <= (mode >> 1) % 4; ++i) recps.push_back(fuzz::Key(i).public_key());
  auto boxed = ssb::BoxEncrypt(rest, recps);
  if (!boxed.ok()) return 0;
  for (uint8_t i = 0; i < recps.size(); ++i) {
    auto plain = ssb::BoxDecrypt(*boxed, fuzz::Key(i));
    if (!plain || *plain != rest) std::abort();
  }
  return 0;
}
