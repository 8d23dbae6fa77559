// Reading the store: history, feed and log streams, types, private plaintext, receive order.
#include <catch2/catch.hpp>

#include <algorithm>

#include "store_test_util.h"

using namespace ssb;
using namespace ssb::test;

namespace {

std::vector<std::string> Keys(const std::vector<StoredMessage>& v) {
  std::vector<std::string> out;
  for (const auto& m : v) out.push_back(m.key);
  return out;
}

// A store with two interleaved authors whose claimed timestamps go back and forth, and a
// clock that goes backwards halfway.
struct Fixture {
  TempDir dir;
  double now = 5000;
  std::unique_ptr<Store> store;
  Chain a{11}, b{12};
  std::vector<Message> msgs;  // in append order
  Fixture() {
    StoreOptions opt;
    opt.clock = [this] { return now; };
    store = OpenStore(dir.File("db.sqlite"), opt);
    // claimed timestamps: a: 100, 300, 200, 300 ; b: 250, 50, 400 ; interleaved
    const double ts[] = {100, 250, 300, 50, 200, 400, 300};
    const char* who = "ababbba";
    const char* types[] = {"post", "vote", "post", "contact", "vote", "post", "post"};
    for (int i = 0; i < 7; ++i) {
      Chain& c = who[i] == 'a' ? a : b;
      msgs.push_back(c.Next(types[i], ts[i], "m" + std::to_string(i)));
    }
    for (size_t i = 0; i < msgs.size(); ++i) {
      // The wall clock jumps back after the third message.
      now = i == 3 ? 1000 : now + 1;
      auto r = store->Append(msgs[i]);
      INFO(r.status().ToString());
      REQUIRE(r.ok());
    }
  }
};

}  // namespace

TEST_CASE("history: inclusive start, limit, reverse, unknown feed") {
  Fixture f;
  HistoryQuery q;
  q.author = f.a.id();
  auto all = f.store->History(q);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 3);
  CHECK((*all)[0].sequence == 1);
  CHECK((*all)[2].sequence == 3);
  q.start_seq = 2;
  auto from2 = f.store->History(q);
  REQUIRE(from2->size() == 2);
  CHECK(from2->front().sequence == 2);  // inclusive, as createHistoryStream's `seq`
  q.limit = 1;
  CHECK(f.store->History(q)->size() == 1);
  q = HistoryQuery{f.b.id(), 0, 2, true};
  auto rev = f.store->History(q);
  REQUIRE(rev->size() == 2);
  CHECK((*rev)[0].sequence == 4);
  CHECK((*rev)[1].sequence == 3);
  q = HistoryQuery{"@nobody", 0, -1, false};
  CHECK(f.store->History(q)->empty());
  // The visitor can stop early.
  int seen = 0;
  q = HistoryQuery{f.b.id(), 0, -1, false};
  REQUIRE(f.store->History(q, [&](const StoredMessage&) { return ++seen < 2; }).ok());
  CHECK(seen == 2);
}

TEST_CASE("feed stream orders by claimed timestamp, ties by receive order") {
  Fixture f;
  auto all = f.store->FeedStream(RangeQuery{});
  REQUIRE(all.ok());
  REQUIRE(all->size() == 7);
  std::vector<double> ts;
  for (const auto& m : *all) ts.push_back(m.timestamp);
  CHECK(ts == std::vector<double>{50, 100, 200, 250, 300, 300, 400});
  // The two 300s: message 2 was received before message 6.
  CHECK((*all)[4].key == f.msgs[2].id());
  CHECK((*all)[5].key == f.msgs[6].id());

  RangeQuery q;
  q.gt = 100;
  q.lt = 300;
  auto mid = f.store->FeedStream(q);
  REQUIRE(mid->size() == 2);
  CHECK(mid->front().timestamp == 200);
  q = RangeQuery{};
  q.reverse = true;
  q.limit = 3;
  auto top = f.store->FeedStream(q);
  REQUIRE(top->size() == 3);
  CHECK((*top)[0].timestamp == 400);
  CHECK((*top)[1].key == f.msgs[6].id());
  CHECK((*top)[2].key == f.msgs[2].id());
}

TEST_CASE("log stream is receive order, receive timestamps increase even if the clock goes back") {
  Fixture f;
  auto all = f.store->LogStream(RangeQuery{});
  REQUIRE(all.ok());
  REQUIRE(all->size() == 7);
  for (size_t i = 0; i < all->size(); ++i) {
    CHECK((*all)[i].key == f.msgs[i].id());
    if (i) {
      CHECK((*all)[i].received > (*all)[i - 1].received);
      CHECK((*all)[i].log_seq > (*all)[i - 1].log_seq);
    }
  }
  // The clock said 1000 for message 3, but it is stamped after message 2 (5003).
  CHECK((*all)[3].received > 5003);
  CHECK((*all)[3].received < 5004);
  RangeQuery q;
  q.gt = (*all)[2].received;
  q.limit = 2;
  CHECK(Keys(*f.store->LogStream(q)) ==
        std::vector<std::string>{f.msgs[3].id(), f.msgs[4].id()});
  q = RangeQuery{};
  q.lt = (*all)[2].received;
  q.reverse = true;
  CHECK(Keys(*f.store->LogStream(q)) ==
        std::vector<std::string>{f.msgs[1].id(), f.msgs[0].id()});
  // Receive order survives reopening: new messages are stamped after the stored ones, though
  // the clock is still behind.
  f.store.reset();
  f.now = 10;
  StoreOptions opt;
  opt.clock = [&f] { return f.now; };
  f.store = OpenStore(f.dir.File("db.sqlite"), opt);
  Message next = f.a.Next("post", 1);
  auto r = f.store->Append(next);
  REQUIRE(r.ok());
  CHECK(r->received > all->back().received);
}

TEST_CASE("messages by content type, encrypted messages and their plaintext") {
  Fixture f;
  auto posts = f.store->ByType("post", RangeQuery{});
  REQUIRE(posts.ok());
  CHECK(Keys(*posts) == std::vector<std::string>{f.msgs[0].id(), f.msgs[2].id(), f.msgs[5].id(),
                                                 f.msgs[6].id()});
  for (const auto& m : *posts) CHECK(m.type == "post");
  RangeQuery q;
  q.reverse = true;
  q.limit = 1;
  CHECK(Keys(*f.store->ByType("post", q)) == std::vector<std::string>{f.msgs[6].id()});
  CHECK(f.store->ByType("contact", RangeQuery{})->size() == 1);
  CHECK(f.store->ByType("nothing", RangeQuery{})->empty());

  Message boxed = f.a.MakeBoxed(700);
  f.a.Advance(boxed);
  REQUIRE(f.store->Append(boxed).ok());
  Message boxed2 = f.b.MakeBoxed(800);
  f.b.Advance(boxed2);
  REQUIRE(f.store->Append(boxed2).ok());
  auto got = f.store->Get(boxed.id());
  REQUIRE(got.ok());
  CHECK_FALSE(got->type.has_value());
  CHECK_FALSE(got->plaintext.has_value());
  CHECK(got->value_json == boxed.Wire());

  std::vector<std::string> undecrypted;
  REQUIRE(f.store
              ->Encrypted(0, true, -1,
                          [&](const StoredMessage& m) {
                            undecrypted.push_back(m.key);
                            return true;
                          })
              .ok());
  CHECK(undecrypted == std::vector<std::string>{boxed.id(), boxed2.id()});

  const std::string plain = R"({"type":"post","text":"secret"})";
  REQUIRE(f.store->SetPlaintext(boxed.id(), plain).ok());
  got = f.store->Get(boxed.id());
  REQUIRE(got->plaintext == plain);
  CHECK(got->value_json == boxed.Wire());  // the stored value is still the ciphertext form
  undecrypted.clear();
  REQUIRE(f.store
              ->Encrypted(0, true, -1,
                          [&](const StoredMessage& m) {
                            undecrypted.push_back(m.key);
                            return true;
                          })
              .ok());
  CHECK(undecrypted == std::vector<std::string>{boxed2.id()});
  auto hist = f.store->History(HistoryQuery{f.a.id(), 3, -1, false});
  REQUIRE(hist->size() == 2);
  CHECK(hist->back().plaintext == plain);
  auto stats = f.store->Stats();
  REQUIRE(stats.ok());
  CHECK(stats->encrypted == 2);
  CHECK(stats->decrypted == 1);
  REQUIRE(f.store->SetPlaintext(boxed.id(), std::nullopt).ok());
  CHECK_FALSE(f.store->Get(boxed.id())->plaintext.has_value());
  CHECK(f.store->SetPlaintext("%nope", plain).code() == Code::kNotFound);
  CHECK(f.store->Get("%nope").status().code() == Code::kNotFound);
}

TEST_CASE("createFeedStream orders a non-number timestamp by the receive time") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  REQUIRE(store->Append(VectorMessage("basic-first")).ok());
  Message later = VectorMessage("timestamp-string-later");
  auto r = store->Append(later);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  // ssb-db's feed index resolves a missing timestamp to the receive time, which is after the
  // first message's claimed 2023 time here.
  auto all = store->FeedStream(RangeQuery{});
  REQUIRE(all->size() == 2);
  CHECK(all->back().key == later.id());
  CHECK(all->back().timestamp == 0);
  CHECK(ResolvedTimestamp(all->back()) == all->back().received);
  CHECK(all->back().value_json == later.Wire());
}

TEST_CASE("lone surrogates and non-ASCII text round-trip byte-identically") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  for (const char* name : {"string-lone-high-surrogate", "string-emoji-surrogate-pair",
                           "string-control-all-below-20", "unicode-type"}) {
    // Each is a first message of alice, so use a fresh store for each.
    TempDir d;
    auto s = OpenStore(d.File("db.sqlite"));
    Message m = VectorMessage(name);
    auto r = s->Append(m);
    INFO(name << " " << r.status().ToString());
    REQUIRE(r.ok());
    auto got = s->Get(m.id());
    REQUIRE(got.ok());
    CHECK(got->value_json == m.Wire());
    // What we read back parses to the same message (same id).
    auto again = Message::Parse(got->value_json);
    REQUIRE(again.ok());
    CHECK(again->id() == m.id());
  }
}

TEST_CASE("stats, feeds and the vector clock") {
  Fixture f;
  auto stats = f.store->Stats();
  REQUIRE(stats.ok());
  CHECK(stats->feeds == 2);
  CHECK(stats->messages == 7);
  CHECK(stats->forks == 0);
  CHECK(stats->file_bytes > 0);
  auto feeds = f.store->Feeds();
  REQUIRE(feeds.ok());
  REQUIRE(feeds->size() == 2);
  auto clock = f.store->Clock();
  REQUIRE(clock.ok());
  CHECK((*clock)[f.a.id()] == 3);
  CHECK((*clock)[f.b.id()] == 4);
  for (const auto& fi : *feeds) {
    CHECK(fi.sequence == (*clock)[fi.author]);
    CHECK_FALSE(fi.frozen_at.has_value());
  }
  auto latest = f.store->Latest(f.b.id());
  REQUIRE(latest.ok());
  CHECK((*latest)->id == f.b.head()->id);
  CHECK_FALSE(f.store->Latest("@unknown")->has_value());
  CHECK(f.store->CheckIntegrity().ok());
  CHECK(f.store->Checkpoint().ok());
}
