// libFuzzer target: the secret handshake, both roles, against a peer whose messages are the
// fuzz input. Modes (first byte):
//   0: we are the server: the input is msg1 then msg3 of a client;
//   1: we are the client: the input is msg2 then msg4 of a server;
//   2, 3: a real handshake between our client and our server in which the input damages
//         bytes of each message on the way (both sides must fail, never agree on a session
//         with the wrong peer).
#include <cstdlib>

#include "fuzz_util.h"
#include "ssb/shs.h"

namespace {

ssb::ShsEphemeralSecret Eph(uint8_t n) {
  ssb::ShsEphemeralSecret e{};
  e.fill(n);
  return e;
}

// XORs the next input bytes into `msg` at input-chosen positions.
template <size_t N>
void Damage(fuzz::Input& in, std::array<uint8_t, N>& msg) {
  uint8_t n = in.Byte() % 4;
  for (uint8_t i = 0; i < n; ++i) {
    uint8_t at = in.Byte();
    msg[at % N] ^= in.Byte();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ssb::CryptoInit();
  fuzz::Input in(data, size);
  uint8_t mode = in.Byte() % 4;
  const ssb::Keypair& server_key = fuzz::Key(0);
  const ssb::Keypair& client_key = fuzz::Key(1);
  if (mode == 0) {
    ssb::ShsServer s(server_key, ssb::kMainNetKey, Eph(2));
    if (!s.ReadClientHello(fuzz::Bytes(in.Take(64))).ok()) return 0;
    (void)s.Hello();
    auto client = s.ReadClientAuthenticate(fuzz::Bytes(in.Take(112)));
    if (!client.ok()) return 0;
    auto accept = s.Accept();
    if (!accept.ok() || !s.keys().ok()) std::abort();
    return 0;
  }
  if (mode == 1) {
    ssb::ShsClient c(client_key, server_key.public_key(), ssb::kMainNetKey, Eph(3));
    (void)c.Hello();
    if (!c.ReadServerHello(fuzz::Bytes(in.Take(64))).ok()) return 0;
    if (!c.Authenticate().ok()) std::abort();
    (void)c.ReadServerAccept(fuzz::Bytes(in.Take(80)));
    return 0;
  }
  ssb::ShsClient c(client_key, server_key.public_key(), ssb::kMainNetKey, Eph(4));
  ssb::ShsServer s(server_key, ssb::kMainNetKey, Eph(5));
  auto m1 = c.Hello();
  Damage(in, m1);
  bool ok = s.ReadClientHello(m1).ok();
  if (!ok) return 0;
  auto m2 = s.Hello();
  Damage(in, m2);
  if (!c.ReadServerHello(m2).ok()) return 0;
  auto m3 = c.Authenticate();
  if (!m3.ok()) std::abort();
  Damage(in, *m3);
  auto who = s.ReadClientAuthenticate(*m3);
  if (!who.ok()) return 0;
  if (*who != client_key.public_key()) std::abort();  // a damaged msg3 never names someone else
  auto m4 = s.Accept();
  if (!m4.ok()) std::abort();
  Damage(in, *m4);
  auto keys = c.ReadServerAccept(*m4);
  if (!keys.ok()) return 0;
  auto theirs = s.keys();
  if (!theirs.ok() || keys->send_key != theirs->recv_key || keys->recv_key != theirs->send_key ||
      keys->peer != server_key.public_key()) {
    std::abort();
  }
  return 0;
}
