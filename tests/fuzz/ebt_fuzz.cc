// libFuzzer target: EBT packets from a peer (notes maps and messages on ebt.replicate) fed to
// a replication session, which must keep within its limits.
#include <cstdlib>

#include "fuzz_util.h"
#include "ssb/ebt.h"
#include "ssb/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  ssb::ebt::Limits limits;
  limits.max_feeds = 1 + in.Byte() % 64;
  ssb::ebt::PeerState peer(limits);
  peer.SetLocal(fuzz::Key(0).id(), 5, true);
  peer.SetLocal(fuzz::Key(1).id(), 0, false);
  while (in.left() > 0) {
    std::string_view packet = in.Chunk(true);
    ssb::json::ParseOptions po;
    po.max_bytes = 1 << 20;
    auto v = ssb::json::Parse(packet, po);
    if (!v.ok()) continue;
    switch (ssb::ebt::Classify(*v)) {
      case ssb::ebt::PacketKind::kNotes: {
        const auto& notes = ssb::ebt::NoteMapOf(*v);
        (void)peer.OnNotes(notes);
        for (const auto& item : notes.items()) (void)ssb::ebt::DecodeNote(item);
        break;
      }
      case ssb::ebt::PacketKind::kMessage: {
        const auto* a = v->Find("author");
        const auto* s = v->Find("sequence");
        if (a && a->is_string() && s && s->is_number()) {
          peer.OnReceived(a->as_string(), static_cast<int64_t>(std::min(s->as_number(), 9e15)));
        }
        break;
      }
      case ssb::ebt::PacketKind::kInvalid: break;
    }
    auto out = peer.TakeNotes();
    (void)ssb::ebt::NotesToJson(out);
    for (const auto& send : peer.AllToSend()) {
      if (send.next < 1 || send.next > send.latest) std::abort();
      peer.MarkSent(send.feed, send.next);
    }
    if (peer.feed_count() > limits.max_feeds + 2) std::abort();
  }
  return 0;
}
