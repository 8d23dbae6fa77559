// FeedIngest against a real store: batches, duplicates, invalid messages, forks, gaps.
#include <catch2/catch.hpp>

#include "repl/repl_test_util.h"
#include "ssb/replication.h"

using namespace ssb;
using namespace ssb::test;

namespace {

FeedIngest::WantedFn Only(std::set<std::string> feeds) {
  return [feeds = std::move(feeds)](std::string_view f) { return feeds.count(std::string(f)) > 0; };
}

IngestResult Get(Result<IngestResult> r) {
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

int64_t StoredSeq(Store& store, const std::string& feed) {
  auto l = store.Latest(feed);
  REQUIRE(l.ok());
  return *l ? (*l)->sequence : 0;
}

}  // namespace

TEST_CASE("FeedIngest: valid messages are queued and appended in one batch") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  Feed alice{1}, bob{2};
  FeedIngest ingest(*store, Only({alice.id(), bob.id()}));
  for (int i = 0; i < 10; ++i) {
    // Interleaved feeds, as wire text (createHistoryStream keys:false).
    auto r = Get(ingest.Receive(alice.Post("a" + std::to_string(i)).Wire()));
    CHECK(r.verdict == IngestVerdict::kAccepted);
    CHECK(r.sequence == i + 1);
    CHECK(r.author == alice.id());
    CHECK(Get(ingest.Receive(bob.Post("b").Wire())).verdict == IngestVerdict::kAccepted);
  }
  CHECK(ingest.queued() == 20);
  CHECK(StoredSeq(*store, alice.id()) == 0);  // nothing written before the flush
  auto latest = ingest.Latest(alice.id());
  REQUIRE(latest.ok());
  CHECK(*latest == 10);  // but the ingest knows what it queued

  auto report = ingest.Flush();
  REQUIRE(report.ok());
  CHECK(report->appended.size() == 20);
  CHECK(report->duplicates == 0);
  CHECK(report->rejected.empty());
  CHECK(report->appended.front().author() == alice.id());
  CHECK(StoredSeq(*store, alice.id()) == 10);
  CHECK(StoredSeq(*store, bob.id()) == 10);
  CHECK(ingest.queued() == 0);

  // A second flush reports nothing new.
  auto again = ingest.Flush();
  REQUIRE(again.ok());
  CHECK(again->appended.empty());
}

TEST_CASE("FeedIngest: automatic flush at batch_size, the report covers it") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  Feed alice{1};
  FeedIngestOptions opt;
  opt.batch_size = 4;
  FeedIngest ingest(*store, Only({alice.id()}), opt);
  for (int i = 0; i < 10; ++i) {
    CHECK(Get(ingest.Receive(alice.Post("x"))).verdict == IngestVerdict::kAccepted);
  }
  CHECK(StoredSeq(*store, alice.id()) == 8);
  CHECK(ingest.queued() == 2);
  auto report = ingest.Flush();
  REQUIRE(report.ok());
  CHECK(report->appended.size() == 10);
  CHECK(StoredSeq(*store, alice.id()) == 10);
}

TEST_CASE("FeedIngest: duplicates and old messages are ignored") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  Feed alice{1};
  std::vector<Message> msgs;
  for (int i = 0; i < 5; ++i) msgs.push_back(alice.Post("x"));
  AppendAll(*store, {msgs[0], msgs[1], msgs[2]});
  FeedIngest ingest(*store, Only({alice.id()}));
  CHECK(Get(ingest.Receive(msgs[0])).verdict == IngestVerdict::kDuplicate);  // old
  CHECK(Get(ingest.Receive(msgs[2])).verdict == IngestVerdict::kDuplicate);  // latest
  CHECK(Get(ingest.Receive(msgs[3])).verdict == IngestVerdict::kAccepted);
  CHECK(Get(ingest.Receive(msgs[3])).verdict == IngestVerdict::kDuplicate);  // queued already
  CHECK(Get(ingest.Receive(msgs[1])).verdict == IngestVerdict::kDuplicate);
  CHECK(ingest.queued() == 1);
  auto report = ingest.Flush();
  REQUIRE(report.ok());
  CHECK(report->appended.size() == 1);
  CHECK(Get(ingest.Receive(msgs[3])).verdict == IngestVerdict::kDuplicate);  // stored now
  auto forks = store->ListForks();
  REQUIRE(forks.ok());
  CHECK(forks->empty());
}

TEST_CASE("FeedIngest: feeds outside the replication set are ignored") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  Feed alice{1}, mallory{9};
  FeedIngest ingest(*store, Only({alice.id()}));
  auto r = Get(ingest.Receive(mallory.Post("spam")));
  CHECK(r.verdict == IngestVerdict::kNotReplicated);
  CHECK(ingest.queued() == 0);
  // The predicate can change (after a recompute of the replication set).
  ingest.SetWanted(Only({alice.id(), mallory.id()}));
  CHECK(Get(ingest.Receive(mallory.Post("now wanted"))).verdict == IngestVerdict::kInvalid);
  // ... invalid because mallory's first message (sequence 1) was never stored: a gap.
}

TEST_CASE("FeedIngest: invalid messages name the rule") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  Feed alice{1};
  FeedIngest ingest(*store, Only({alice.id()}));
  Message m1 = alice.Post("one");

  SECTION("bad signature") {
    json::Value v = m1.value();
    v.Find("content")->Set("text", json::Value::String("tampered"));
    auto r = Get(ingest.Receive(Message::FromValue(v)));
    CHECK(r.verdict == IngestVerdict::kInvalid);
    CHECK(r.status.code() == Code::kInvalidMessage);
    CHECK_THAT(r.status.message(), Catch::Contains("signature"));
  }
  SECTION("not JSON") {
    auto r = Get(ingest.Receive(std::string_view("{\"author\":")));
    CHECK(r.verdict == IngestVerdict::kInvalid);
    CHECK(r.status.code() == Code::kInvalidInput);
  }
  SECTION("too long") {
    std::string big(70 * 1024, ' ');
    auto r = Get(ingest.Receive(std::string_view(big)));
    CHECK(r.verdict == IngestVerdict::kInvalid);
    CHECK(r.status.code() == Code::kLimitExceeded);
  }
  SECTION("no author") {
    json::Value v = m1.value();
    v.Erase("author");
    auto r = Get(ingest.Receive(std::move(v)));
    CHECK(r.verdict == IngestVerdict::kInvalid);
    CHECK(r.status.code() == Code::kInvalidMessage);
  }
  SECTION("sequence gap") {
    Message m2 = alice.Post("two");
    Message m3 = alice.Post("three");
    CHECK(Get(ingest.Receive(m1)).verdict == IngestVerdict::kAccepted);
    auto r = Get(ingest.Receive(m3));
    CHECK(r.verdict == IngestVerdict::kInvalid);
    CHECK_THAT(r.status.message(), Catch::Contains("sequence gap"));
    // The gap check flushed what was queued to look at the store's head.
    CHECK(StoredSeq(*store, alice.id()) == 1);
    CHECK(Get(ingest.Receive(m2)).verdict == IngestVerdict::kAccepted);
    CHECK(Get(ingest.Receive(m3)).verdict == IngestVerdict::kAccepted);
  }
  CHECK(ingest.queued() <= 2);
  auto forks = store->ListForks();
  REQUIRE(forks.ok());
  CHECK(forks->empty());
}

TEST_CASE("FeedIngest: a second message at a held sequence is recorded as a fork") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  Feed alice{1};
  Message m1 = alice.Post("one");
  auto after1 = alice.head();
  Message m2 = alice.Post("two");
  Message m3 = alice.Post("three");
  alice.ResetTo(after1);
  Message m2_fork = alice.Post("two, differently");
  Message m3_fork = alice.Post("three on the fork");

  FeedIngest ingest(*store, Only({alice.id()}));
  for (const Message& m : {m1, m2, m3}) {
    REQUIRE(Get(ingest.Receive(m)).verdict == IngestVerdict::kAccepted);
  }

  SECTION("same sequence") {
    auto r = Get(ingest.Receive(m2_fork));  // flushes m1..m3 first, then the store records it
    CHECK(r.verdict == IngestVerdict::kFork);
    CHECK(r.fork_recorded);
    CHECK(r.status.code() == Code::kFork);
    auto forks = store->ListForks(alice.id());
    REQUIRE(forks.ok());
    REQUIRE(forks->size() == 1);
    CHECK((*forks)[0].kind == ForkRecord::Kind::kSameSequence);
    CHECK((*forks)[0].stored_key == m2.id());
    CHECK((*forks)[0].offending_key == m2_fork.id());
    // The feed is frozen: its next message is refused as a fork too, without a new record.
    alice.ResetTo(FeedState{m3.id(), 3});
    Message m4 = alice.Post("four");
    auto r4 = Get(ingest.Receive(m4));
    CHECK(r4.verdict == IngestVerdict::kFork);
    CHECK(!r4.fork_recorded);
  }
  SECTION("previous mismatch at the next sequence") {
    REQUIRE(ingest.Flush().ok());
    // The store holds m1..m3; a 4th message whose previous is the other branch's 3rd.
    alice.ResetTo(FeedState{m3_fork.id(), 3});
    Message m4_fork = alice.Post("four on the fork");
    auto r = Get(ingest.Receive(m4_fork));
    CHECK(r.verdict == IngestVerdict::kFork);
    CHECK(r.fork_recorded);
    auto forks = store->ListForks(alice.id());
    REQUIRE(forks.ok());
    REQUIRE(forks->size() == 1);
    CHECK((*forks)[0].kind == ForkRecord::Kind::kPreviousMismatch);
  }
  SECTION("a forged message at a held sequence is invalid, not a fork") {
    json::Value v = m2_fork.value();
    v.Find("content")->Set("text", json::Value::String("forged"));
    auto r = Get(ingest.Receive(Message::FromValue(v)));
    CHECK(r.verdict == IngestVerdict::kInvalid);
    auto forks = store->ListForks(alice.id());
    REQUIRE(forks.ok());
    CHECK(forks->empty());
  }
  CHECK(StoredSeq(*store, alice.id()) == 3);
}

TEST_CASE("FeedIngest: two ingests on one store (stale cached head is re-read)") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  Feed alice{1};
  std::vector<Message> msgs;
  for (int i = 0; i < 8; ++i) msgs.push_back(alice.Post("x"));
  FeedIngest peer1(*store, Only({alice.id()}));
  FeedIngest peer2(*store, Only({alice.id()}));
  auto l = peer2.Latest(alice.id());  // caches head 0
  REQUIRE(l.ok());
  CHECK(*l == 0);
  for (int i = 0; i < 5; ++i) REQUIRE(Get(peer1.Receive(msgs[i])).verdict == IngestVerdict::kAccepted);
  REQUIRE(peer1.Flush().ok());
  // peer2 still believes the feed is empty; message 6 is not a gap once the store is asked.
  CHECK(Get(peer2.Receive(msgs[5])).verdict == IngestVerdict::kAccepted);
  // Both peers deliver message 7: one appends it, the other finds it stored at flush time.
  CHECK(Get(peer2.Receive(msgs[6])).verdict == IngestVerdict::kAccepted);
  CHECK(Get(peer1.Receive(msgs[5])).verdict == IngestVerdict::kAccepted);
  CHECK(Get(peer1.Receive(msgs[6])).verdict == IngestVerdict::kAccepted);
  auto r2 = peer2.Flush();
  REQUIRE(r2.ok());
  CHECK(r2->appended.size() == 2);
  auto r1 = peer1.Flush();
  REQUIRE(r1.ok());
  CHECK(r1->appended.empty());
  CHECK(r1->duplicates == 2);
  CHECK(StoredSeq(*store, alice.id()) == 7);
}

TEST_CASE("FeedIngest: KVT objects are unwrapped, HMAC networks") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  HmacKey key{};
  key.fill(7);
  Feed alice{1, key};
  Message m1 = alice.Post("one");
  Message m2 = alice.Post("two");

  FeedIngest main_net(*store, Only({alice.id()}));
  auto bad = Get(main_net.Receive(m1));
  CHECK(bad.verdict == IngestVerdict::kInvalid);  // signed for another network

  FeedIngestOptions opt;
  opt.validate.hmac_key = key;
  FeedIngest test_net(*store, Only({alice.id()}), opt);
  std::string kvt = KvtJson(m1, 1234);
  auto r1 = Get(test_net.Receive(std::string_view(kvt)));
  CHECK(r1.verdict == IngestVerdict::kAccepted);
  CHECK(r1.key == m1.id());
  auto parsed = json::Parse(KvtJson(m2, 1235));
  REQUIRE(parsed.ok());
  CHECK(Get(test_net.Receive(std::move(parsed).value())).verdict == IngestVerdict::kAccepted);
  auto report = test_net.Flush();
  REQUIRE(report.ok());
  CHECK(report->appended.size() == 2);
  CHECK(StoredSeq(*store, alice.id()) == 2);
  CHECK(VerdictName(IngestVerdict::kNotReplicated) == "not-replicated");
}

TEST_CASE("FeedIngest: the destructor flushes what is queued") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  Feed alice{1};
  {
    FeedIngest ingest(*store, Only({alice.id()}));
    REQUIRE(Get(ingest.Receive(alice.Post("x"))).verdict == IngestVerdict::kAccepted);
  }
  CHECK(StoredSeq(*store, alice.id()) == 1);
}

TEST_CASE("FeedIngest + ContactGraph: appended contact messages update the set") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  Feed me{1}, a{2}, b{3};
  ContactGraph graph;
  REQUIRE(graph.Update(*store).ok());
  ReplicationSet set = ReplicationSet::Compute(graph, me.id());
  FeedIngest ingest(*store, [&](std::string_view f) { return set.Contains(f); });
  // Our own feed arrives from a peer (e.g. restoring from a backup peer).
  REQUIRE(Get(ingest.Receive(me.Follow(a))).verdict == IngestVerdict::kAccepted);
  CHECK(Get(ingest.Receive(a.Follow(b))).verdict == IngestVerdict::kNotReplicated);
  auto report = ingest.Flush();
  REQUIRE(report.ok());
  bool changed = false;
  for (const Message& m : report->appended) {
    if (AffectsGraph(m)) changed |= graph.Apply(m);
  }
  CHECK(changed);
  set = ReplicationSet::Compute(graph, me.id());
  CHECK(set.Contains(a.id()));
  a.ResetTo(std::nullopt);
  CHECK(Get(ingest.Receive(a.Follow(b))).verdict == IngestVerdict::kAccepted);
}

TEST_CASE("FeedIngest: ReceiveVerified skips only the signature check") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  Feed alice{1};
  FeedIngest ingest(*store, Only({alice.id()}));
  Message m1 = alice.Post("one");
  Message m2 = alice.Post("two");
  Message m3 = alice.Post("three");
  // Signatures checked elsewhere (the server does it on other threads): accepted in order.
  CHECK(Get(ingest.ReceiveVerified(m1)).verdict == IngestVerdict::kAccepted);
  // The chain rules still apply: a gap is invalid, whatever the caller verified.
  auto gap = Get(ingest.ReceiveVerified(m3));
  CHECK(gap.verdict == IngestVerdict::kInvalid);
  CHECK_THAT(gap.status.message(), Catch::Contains("gap"));
  CHECK(Get(ingest.ReceiveVerified(m2)).verdict == IngestVerdict::kAccepted);
  CHECK(Get(ingest.ReceiveVerified(m2)).verdict == IngestVerdict::kDuplicate);
  auto report = ingest.Flush();
  REQUIRE(report.ok());
  CHECK(report->appended.size() == 2);
  CHECK(StoredSeq(*store, alice.id()) == 2);
}
