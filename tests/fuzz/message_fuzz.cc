// libFuzzer target: message parsing and validation, signatures included (the check that a
// bundle record without "signature" once crashed). Modes (first byte):
//   even: the rest is a message text from a peer or a bundle: parse, verify, validate.
//   odd:  the rest is content JSON: sign it as a fixed key's first message, then validate the
//         wire form, so that the signature-valid paths and the 8192 boundary are reached.
#include <cstdlib>

#include "fuzz_util.h"
#include "ssb/message.h"

namespace {

void Check(const ssb::Message& m) {
  ssb::ValidateOptions o;
  (void)ssb::VerifyMessageSignature(m, o);
  (void)ssb::Validate(m, nullptr, o);
  (void)ssb::Validate(m, nullptr, ssb::ValidateOptions::Strict());
  ssb::FeedState prev{"%AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.sha256", 1};
  (void)ssb::Validate(m, &prev, o);
  ssb::ValidateOptions h;
  h.hmac_key = ssb::HmacKey{};
  (void)ssb::Validate(m, nullptr, h);
  (void)m.author();
  (void)m.sequence();
  (void)m.previous();
  (void)m.timestamp();
  (void)m.is_encrypted();
  (void)ssb::KvtJson(m, 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ssb::CryptoInit();
  fuzz::Input in(data, size);
  uint8_t mode = in.Byte();
  std::string_view text = in.Rest();
  if (mode % 2 == 0) {
    auto m = ssb::Message::Parse(text);
    if (!m.ok()) return 0;
    // A parsed message stays within the bounds every pipeline relies on.
    if (m->memory_bytes() > 8u << 20) std::abort();
    Check(*m);
    return 0;
  }
  ssb::json::ParseOptions po;
  po.max_bytes = 64 << 10;
  po.max_values = 4096;
  auto content = ssb::json::Parse(text, po);
  if (!content.ok()) return 0;
  std::optional<ssb::HmacKey> hmac;
  if (mode & 2) hmac = ssb::HmacKey{1, 2, 3};
  auto m = ssb::CreateMessage(fuzz::Key(mode >> 2), nullptr, *content, 1700000000000.0, hmac);
  if (!m.ok()) return 0;
  // What we sign must verify, keep its id through the wire, and pass both validators.
  auto back = ssb::Message::Parse(m->Wire());
  if (!back.ok() || back->id() != m->id()) std::abort();
  ssb::ValidateOptions o;
  o.hmac_key = hmac;
  if (!ssb::Validate(*back, nullptr, o).ok()) std::abort();
  o.mode = ssb::ValidationMode::kStrict;
  if (!ssb::Validate(*back, nullptr, o).ok()) std::abort();
  Check(*back);
  return 0;
}
