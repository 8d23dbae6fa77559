// Epidemic broadcast trees (ssb-ebt 9 / epidemic-broadcast-trees 9.0.4 "v3"): note encoding
// and a sans-IO per-peer state. PROTOCOL.md §5.2 "EBT".
//
// A note tells the other side, for one feed, how far we are and whether we want them to send us
// new messages: note = (seq << 1) | !receive, or -1 for "I do not replicate this feed", computed
// with JavaScript's 32-bit shifts. Sequences of 2^30 and more therefore come out wrong on the
// wire, exactly as in JS (the table in tests/vectors/generated/codec_and_ebt.json).
//
// Thread-safety: plain values and a single-threaded state object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ssb/json.h"
#include "ssb/status.h"

namespace ssb::ebt {

// A decoded note (epidemic-broadcast-trees v3.js getReplicate / getReceive / getSequence).
struct Note {
  bool replicate = false;  // note !== -1
  bool receive = false;    // !(note & 1): the sender wants new messages of this feed from us
  int64_t sequence = -1;   // note >> 1 for an integral note, -1 for anything else
  bool operator==(const Note&) const = default;
};

// ECMAScript ToInt32: NaN and infinities become 0, others wrap modulo 2^32.
int32_t JsToInt32(double d);

// note(seq, rx): -1 for seq == -1, else ToInt32(seq) << 1 | !rx in 32 bits.
int32_t EncodeNote(int64_t sequence, bool receive);
// Decodes a numeric note.
Note DecodeNote(double note);
// Decodes a note of any JSON type with JavaScript's coercions (a string "4" replicates and
// receives, with sequence -1, because it is not an integer).
Note DecodeNote(const json::Value& note);

// What a packet on the ebt.replicate duplex is (PROTOCOL.md §5.2): a message value (an object
// whose `author` is a feed id, with an integer `sequence` > 0 and a `content`), or a note map
// (any other object; `{"clock": {...}}` is unwrapped), or neither.
enum class PacketKind : uint8_t { kMessage, kNotes, kInvalid };
PacketKind Classify(const json::Value& packet);

// The note map of a packet Classify called kNotes: the packet itself, or what a
// `{"clock": {...}}` wrapper holds.
const json::Value& NoteMapOf(const json::Value& packet);

// Limits on what one peer can make us hold.
struct Limits {
  size_t max_feeds = 100000;  // feeds tracked per peer (their notes beyond this are ignored)
};

// Notes as they go on the wire: feed id → note.
using NoteMap = std::map<std::string, int32_t, std::less<>>;
// {"<feed>": note, ...} as a JSON object (the order of keys is irrelevant to peers).
json::Value NotesToJson(const NoteMap& notes);

// One peer's EBT session, without I/O. The caller tells it our clock and what we want from this
// peer, feeds it the peer's notes, and asks what to send:
//   SetLocal / Forget      our replication decisions (receive: only one peer per feed should
//                          have it; choosing that peer is the caller's job)
//   OnAppend               our store got a new message (from any peer or ourselves)
//   OnNotes / OnReceived   the peer's notes, and messages the peer sent us
//   TakeNotes              notes to send now (all of them first, then only changes)
//   Next / MarkSent        which of our messages the peer is waiting for
// Request skipping (remembering a peer's clock between sessions) is not implemented: every
// session starts by sending every note.
class PeerState {
 public:
  explicit PeerState(Limits limits = {});

  // We replicate `feed` and hold it up to `our_seq` (0: nothing yet); `receive`: we want this
  // peer to send us its new messages of the feed. Changes are noted for TakeNotes.
  void SetLocal(std::string_view feed, int64_t our_seq, bool receive);
  // We stop replicating `feed`: the next TakeNotes says -1 for it.
  void Forget(std::string_view feed);
  // Our store appended `seq` of `feed`. Does not produce a note (the peer learns from the
  // message itself, or asks); may make Next() return work for this peer.
  void OnAppend(std::string_view feed, int64_t seq);

  // Merges a note map from the peer (a packet Classify called kNotes). Feeds we do not
  // replicate are answered with -1 at the next TakeNotes. Error: kInvalidInput when `notes` is
  // not an object. Keys that are not feed ids are skipped.
  Status OnNotes(const json::Value& notes);
  // The peer sent us message `seq` of `feed`: it holds at least that much.
  void OnReceived(std::string_view feed, int64_t seq);

  // Notes to send now; empty when nothing changed since the last call.
  NoteMap TakeNotes();

  // A feed for which the peer waits for our messages: send `next`, `next + 1`, ... up to
  // `latest` (read them with Store::History), calling MarkSent as they go out.
  struct Send {
    std::string feed;
    int64_t next = 0;
    int64_t latest = 0;
  };
  // The first feed (by id) with messages to send, or nullopt.
  std::optional<Send> Next() const;
  // Everything to send, one entry per feed.
  std::vector<Send> AllToSend() const;
  // Message `seq` of `feed` was sent to the peer.
  void MarkSent(std::string_view feed, int64_t seq);

  // The last note the peer sent for `feed`, nullopt when it sent none.
  std::optional<Note> TheirNote(std::string_view feed) const;
  size_t feed_count() const { return feeds_.size(); }

 private:
  struct Feed {
    bool local = false;          // we replicate it
    int64_t our_seq = 0;
    bool receive = false;        // we want the peer to send it
    std::optional<Note> theirs;  // their last note
    int64_t their_seq = 0;       // what they hold, as far as we know (notes, sent, received)
    bool note_dirty = false;     // our note changed since TakeNotes
  };
  Feed* Get(std::string_view feed, bool add);
  std::optional<Send> SendFor(const std::string& id, const Feed& f) const;

  Limits limits_;
  std::map<std::string, Feed, std::less<>> feeds_;
};

}  // namespace ssb::ebt
