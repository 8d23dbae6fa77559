// libFuzzer target for the peer database file (formats/peer-db.md) and a room's attendant
// updates: any bytes load (damage is skipped, never fatal) within the limits; what loads
// writes out and reads back the same; the dial plan over it ends.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ssb/peer_db.h"
#include "ssb/room.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ssb::PeerDb db = ssb::PeerDb::Parse(text);
  if (db.size() > ssb::kMaxPeerDbEntries) std::abort();
  std::string once = db.Serialize();
  if (ssb::PeerDb::Parse(once).Serialize() != once) std::abort();
  ssb::DialView view;
  (void)db.Plan(1'700'000'000'000, view, ssb::DialLimits{});

  // The same bytes as what a room sends: an event, then an endpoints list.
  ssb::json::ParseOptions opt;
  opt.max_bytes = 1 << 16;
  opt.max_depth = 16;
  auto v = ssb::json::Parse(text, opt);
  if (v.ok()) {
    ssb::PublicKey self{}, room{};
    room[0] = 1;
    ssb::RoomAttendants a(self, room, 64);
    (void)a.ApplyEvent(*v);
    (void)a.ApplyEndpoints(*v);
    if (a.ids().size() > 64) std::abort();
  }
  return 0;
}
