// libFuzzer target: sigil refs (feed, message, blob ids, links), base64 and hex.
#include <cstdlib>

#include "fuzz_util.h"
#include "ssb/base64.h"
#include "ssb/ref.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  bool feed = ssb::IsFeedId(s), any = ssb::IsFeedId(s, true);
  if (feed && !any) std::abort();
  if (auto pk = ssb::ParseFeedId(s)) {
    if (ssb::FeedIdFromKey(*pk) != s) std::abort();  // canonical: one spelling per key
  }
  // ssb-ref accepts any character where the '.' goes; only the strict spelling parses to a
  // digest, and it round-trips.
  if (ssb::IsMsgId(s)) {
    auto d = ssb::ParseHashId(s, '%');
    if (d.has_value() != (s[45] == '.') || (d && ssb::MsgIdFromDigest(*d) != s)) std::abort();
  }
  if (ssb::IsBlobId(s)) {
    auto d = ssb::ParseHashId(s, '&');
    if (d.has_value() != ssb::IsStrictBlobId(s) || (d && ssb::BlobIdFromDigest(*d) != s)) std::abort();
  } else if (ssb::IsStrictBlobId(s)) {
    std::abort();
  }
  (void)ssb::IsLink(s);
  if (auto b = ssb::Base64DecodeCanonical(s)) {
    if (ssb::Base64Encode(*b) != s) std::abort();
    if (!ssb::IsCanonicalBase64(s)) std::abort();
  }
  if (auto h = ssb::HexDecode(s)) (void)ssb::HexEncode(*h);
  std::string enc = ssb::Base64Encode(fuzz::Bytes(s));
  auto back = ssb::Base64DecodeCanonical(enc);
  if (!back || std::string_view(reinterpret_cast<const char*>(back->data()), back->size()) != s) {
    std::abort();
  }
  return 0;
}
