// EBT v3 notes against generated/codec_and_ebt.json (epidemic-broadcast-trees 9.0.4), packet
// classification, and the per-peer state.
#include <catch2/catch.hpp>

#include "repl/repl_test_util.h"
#include "ssb/ebt.h"
#include "support/vectors.h"

using namespace ssb;
using namespace ssb::test;

TEST_CASE("EBT notes: encode table of codec_and_ebt.json") {
  json::Value doc = ReadVectorJson("generated/codec_and_ebt.json");
  const json::Value& rows = At(At(doc, "ebt_notes"), "encode");
  REQUIRE(rows.is_array());
  size_t passed = 0;
  for (const json::Value& row : rows.items()) {
    auto seq = static_cast<int64_t>(At(row, "sequence").as_number());
    bool rx = At(row, "receive").as_bool();
    auto note = static_cast<int32_t>(At(row, "note").as_number());
    auto roundtrip = static_cast<int64_t>(At(row, "note_roundtrip_sequence").as_number());
    INFO("sequence " << seq << " receive " << rx);
    int32_t got = ebt::EncodeNote(seq, rx);
    CHECK(got == note);
    ebt::Note back = ebt::DecodeNote(static_cast<double>(got));
    CHECK(back.sequence == roundtrip);
    if (seq != -1) CHECK(back.receive == rx);
    passed += got == note && back.sequence == roundtrip;
  }
  CHECK(rows.size() == 23);
  ReportCount("EBT note encode (codec_and_ebt.json)", passed, rows.size());
}

TEST_CASE("EBT notes: decode table of codec_and_ebt.json, JS coercions included") {
  json::Value doc = ReadVectorJson("generated/codec_and_ebt.json");
  const json::Value& rows = At(At(doc, "ebt_notes"), "decode");
  REQUIRE(rows.is_array());
  size_t passed = 0;
  for (const json::Value& row : rows.items()) {
    const json::Value& note = At(row, "note");
    INFO(json::Stringify(note));
    ebt::Note got = ebt::DecodeNote(note);
    ebt::Note want{At(row, "replicate").as_bool(), At(row, "receive").as_bool(),
                   static_cast<int64_t>(At(row, "sequence").as_number())};
    CHECK(got.replicate == want.replicate);
    CHECK(got.receive == want.receive);
    CHECK(got.sequence == want.sequence);
    passed += got == want;
  }
  CHECK(rows.size() == 14);
  ReportCount("EBT note decode (codec_and_ebt.json)", passed, rows.size());
}

TEST_CASE("EBT notes: JS ToInt32 and odd inputs") {
  CHECK(ebt::JsToInt32(4294967296.0 + 5) == 5);
  CHECK(ebt::JsToInt32(-1.9) == -1);
  CHECK(ebt::JsToInt32(2147483648.0) == -2147483647 - 1);
  CHECK(ebt::JsToInt32(std::nan("")) == 0);
  CHECK(ebt::JsToInt32(HUGE_VAL) == 0);
  // Strings are coerced for the receive bit only.
  CHECK(ebt::DecodeNote(json::Value::String("5")).receive == false);
  CHECK(ebt::DecodeNote(json::Value::String(" 0x4 ")).receive == true);
  CHECK(ebt::DecodeNote(json::Value::String("abc")).receive == true);  // NaN → 0
  CHECK(ebt::DecodeNote(json::Value::Bool(true)).receive == false);
  CHECK(ebt::DecodeNote(json::Value::Null()).replicate == true);
  json::Value one = json::Value::Array();
  one.Push(json::Value::Number(3));
  CHECK(ebt::DecodeNote(one).receive == false);  // [3] → "3" → 3
  CHECK(ebt::DecodeNote(one).sequence == -1);
}

TEST_CASE("EBT packets: messages and note maps told apart by shape") {
  Feed alice{1};
  Message m = alice.Post("hi");
  CHECK(ebt::Classify(m.value()) == ebt::PacketKind::kMessage);
  auto notes = json::Parse(R"({")" + alice.id() + R"(":12})");
  REQUIRE(notes.ok());
  CHECK(ebt::Classify(*notes) == ebt::PacketKind::kNotes);
  CHECK(ebt::Classify(json::Value::Number(1)) == ebt::PacketKind::kInvalid);
  json::Value no_content = m.value();
  no_content.Erase("content");
  CHECK(ebt::Classify(no_content) == ebt::PacketKind::kNotes);
  auto s = ebt::NotesToJson({{alice.id(), 12}});
  CHECK(json::Stringify(s) == R"({")" + alice.id() + R"(":12})");
}

TEST_CASE("EBT PeerState: notes out, notes in, what to send") {
  Feed a{1}, b{2}, c{3};
  ebt::PeerState peer;
  peer.SetLocal(a.id(), 5, true);
  peer.SetLocal(b.id(), 0, true);
  // First notes: everything we replicate.
  ebt::NoteMap first = peer.TakeNotes();
  CHECK(first == ebt::NoteMap{{a.id(), 10}, {b.id(), 0}});
  CHECK(peer.TakeNotes().empty());

  // Their notes: they hold a up to 2 and want it; c we do not replicate → -1 for c.
  auto notes = json::Parse("{\"clock\":{\"" + a.id() + "\":" +
                           std::to_string(ebt::EncodeNote(2, true)) + ",\"" + c.id() + "\":" +
                           std::to_string(ebt::EncodeNote(3, true)) + "}}");
  REQUIRE(notes.ok());
  REQUIRE(peer.OnNotes(*notes).ok());
  CHECK(peer.TakeNotes() == ebt::NoteMap{{c.id(), -1}});
  REQUIRE(peer.TheirNote(a.id()));
  CHECK(peer.TheirNote(a.id())->sequence == 2);

  auto next = peer.Next();
  REQUIRE(next);
  CHECK(next->feed == a.id());
  CHECK(next->next == 3);
  CHECK(next->latest == 5);
  for (int64_t s = 3; s <= 5; ++s) peer.MarkSent(a.id(), s);
  CHECK(!peer.Next());
  // A new message of a in our store: send it.
  peer.OnAppend(a.id(), 6);
  next = peer.Next();
  REQUIRE(next);
  CHECK(next->next == 6);
  CHECK(peer.AllToSend().size() == 1);

  // They stop receiving a (note with rx = false): nothing to send any more.
  auto stop = json::Parse("{\"" + a.id() + "\":" + std::to_string(ebt::EncodeNote(6, false)) + "}");
  REQUIRE(stop.ok());
  REQUIRE(peer.OnNotes(*stop).ok());
  CHECK(!peer.Next());

  // b: they send us messages; our note changes only when we say so.
  peer.OnReceived(b.id(), 4);
  peer.SetLocal(b.id(), 4, false);
  CHECK(peer.TakeNotes() == ebt::NoteMap{{b.id(), ebt::EncodeNote(4, false)}});
  peer.Forget(b.id());
  CHECK(peer.TakeNotes() == ebt::NoteMap{{b.id(), -1}});

  CHECK(peer.OnNotes(json::Value::Number(3)).code() == Code::kInvalidInput);
}

TEST_CASE("EBT PeerState: a peer that refused a feed and then replicates it hears our note again") {
  Feed a{1};
  ebt::PeerState peer;
  peer.SetLocal(a.id(), 0, true);
  CHECK(peer.TakeNotes() == ebt::NoteMap{{a.id(), ebt::EncodeNote(0, true)}});
  auto note = [&](int32_t n) {
    auto v = json::Parse("{\"" + a.id() + "\":" + std::to_string(n) + "}");
    REQUIRE(v.ok());
    REQUIRE(peer.OnNotes(*v).ok());
  };
  note(-1);  // they do not follow a (yet)
  CHECK(peer.TakeNotes().empty());
  note(ebt::EncodeNote(1000, true));  // they follow it now, and hold 1000 messages
  CHECK(peer.TakeNotes() == ebt::NoteMap{{a.id(), ebt::EncodeNote(0, true)}});
  note(ebt::EncodeNote(1000, true));  // the same again: nothing new to say
  CHECK(peer.TakeNotes().empty());
}

TEST_CASE("EBT PeerState: limits on tracked feeds") {
  ebt::Limits limits;
  limits.max_feeds = 2;
  ebt::PeerState peer(limits);
  Feed a{1}, b{2}, c{3};
  auto notes = json::Parse("{\"" + a.id() + "\":0,\"" + b.id() + "\":0,\"" + c.id() +
                           "\":0,\"not a feed\":4}");
  REQUIRE(notes.ok());
  REQUIRE(peer.OnNotes(*notes).ok());
  CHECK(peer.feed_count() == 2);
}
