// libFuzzer target for invite codes and dial addresses (net and tunnel): any text parses or
// fails with a Status; what parses prints to a code that parses back to the same pub and seed.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ssb/address.h"
#include "ssb/invite.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto inv = ssb::ParseInviteCode(text);
  if (inv.ok()) {
    for (const std::string& again : {ssb::FormatInviteLegacy(*inv), ssb::FormatInviteMultiserver(*inv)}) {
      auto back = ssb::ParseInviteCode(again);
      if (!back.ok() || back->seed != inv->seed || !(back->pub == inv->pub)) std::abort();
    }
  }
  auto dial = ssb::ParseDialAddress(text);
  if (dial.ok()) {
    auto back = ssb::ParseDialAddress(ssb::FormatDialAddress(*dial));
    if (!back.ok() || !(*back == *dial)) std::abort();
  }
  return 0;
}
