// libFuzzer target: box-stream decryption of what a peer sends after the handshake. Modes
// (first byte): even: the rest is the ciphertext stream, fed in pieces; odd: the rest is
// plaintext that this target encrypts, optionally damages, and decrypts back.
#include <cstdlib>

#include "fuzz_util.h"
#include "ssb/boxstream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ssb::CryptoInit();
  fuzz::Input in(data, size);
  uint8_t mode = in.Byte();
  size_t step = 1 + in.Byte() * 17;
  size_t max_body = 16 + (static_cast<size_t>(in.Byte()) << 8);
  std::array<uint8_t, 32> key{};
  std::array<uint8_t, 24> nonce{};
  key.fill(7);
  nonce.fill(9);
  ssb::BoxDecoder dec(key, nonce, std::min<size_t>(max_body, ssb::kBoxStreamMaxBody));
  std::string wire, out;
  if (mode % 2 == 0) {
    wire = std::string(in.Rest());
  } else {
    uint8_t flip_at = in.Byte();
    std::string_view plain = in.Rest();
    ssb::BoxEncoder enc(key, nonce);
    enc.Encrypt(plain, &wire);
    enc.Goodbye(&wire);
    if (mode & 2 && !wire.empty()) wire[flip_at % wire.size()] ^= static_cast<char>(1 + (mode >> 2));
    ssb::BoxDecoder whole(key, nonce);
    std::string all;
    ssb::Status st = whole.Feed(std::string_view(wire), &all);
    // Undamaged: everything decrypts, in any split, and the goodbye ends the stream.
    if (!(mode & 2) && (!st.ok() || all != plain || !whole.ended() || !whole.Finish().ok())) std::abort();
    // Damaged: refused, never accepted as other plaintext of the same length.
    if ((mode & 2) && st.ok() && whole.ended() && all.size() == plain.size() && all != plain) std::abort();
  }
  for (size_t at = 0; at < wire.size(); at += step) {
    ssb::Status st = dec.Feed(std::string_view(wire).substr(at, step), &out);
    if (!st.ok()) break;
    if (dec.Needed() > 65535 + 34) std::abort();
  }
  (void)dec.Finish();
  return 0;
}
