// The ingest stage against a real store: checks on a worker pool, the ordered queue, appends,
// hooks, decryption, kept receive times, and NDJSON input.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <set>
#include <thread>

#include "repl/repl_test_util.h"
#include "ssb/box.h"
#include "ssb/ingest.h"
#include "ssb/replication.h"

using namespace ssb;
using namespace ssb::test;

namespace {

// Wire texts of `msgs`.
std::vector<std::string> Wires(const std::vector<Message>& msgs) {
  std::vector<std::string> out;
  for (const auto& m : msgs) out.push_back(m.Wire());
  return out;
}

// Adds `texts` to `b`, tagged 1, 2, ...
void AddAll(IngestBatch& b, const std::vector<std::string>& texts) {
  uint64_t tag = 0;
  for (const auto& t : texts) b.Add(t, ++tag);
}

// Checks `b` on `pool` and appends it; returns the outcome kinds as names.
std::vector<std::string> CheckAndAppend(Store& store, IngestBatch& b, const IngestOptions& o,
                                        WorkerPool& pool) {
  IngestChecker checker(o, pool);
  checker.Check(b);
  IngestWriter writer(store, o);
  Status st = writer.Append(b);
  INFO(st.ToString());
  REQUIRE(st.ok());
  std::vector<std::string> out;
  for (const auto& r : b.records) out.emplace_back(AppendKindName(r.outcome.kind));
  return out;
}

int64_t StoredSeq(Store& store, const std::string& feed) {
  auto l = store.Latest(feed);
  REQUIRE(l.ok());
  return *l ? (*l)->sequence : 0;
}

// A pipe whose write end is filled by a thread, for ReadLines.
class Pipe {
 public:
  explicit Pipe(std::string data) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    read_ = fds[0];
    writer_ = std::thread([fd = fds[1], data = std::move(data)] {
      size_t off = 0;
      while (off < data.size()) {
        ssize_t w = ::write(fd, data.data() + off, data.size() - off);
        if (w <= 0) break;
        off += static_cast<size_t>(w);
      }
      ::close(fd);
    });
  }
  ~Pipe() {
    writer_.join();
    ::close(read_);
  }
  int fd() const { return read_; }

 private:
  int read_ = -1;
  std::thread writer_;
};

}  // namespace

TEST_CASE("ingest: valid messages are checked on the pool, appended in order, hooks told") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  Feed alice{1}, bob{2};
  std::vector<Message> msgs;
  for (int i = 0; i < 150; ++i) msgs.push_back((i % 3 ? alice : bob).Post("m" + std::to_string(i)));
  unsigned threads = GENERATE(1u, 3u);
  WorkerPool pool(threads);
  IngestOptions o;
  IngestChecker checker(o, pool);
  IngestBatch b;
  AddAll(b, Wires(msgs));
  checker.Check(b);
  std::vector<std::string> wires = Wires(msgs);
  for (size_t i = 0; i < b.records.size(); ++i) {
    const IngestRecord& r = b.records[i];
    REQUIRE(r.kind == IngestRecord::Kind::kMessage);
    CHECK(r.status.ok());
    CHECK(*r.message->authentic);
    CHECK(r.message->wire == wires[i]);
    CHECK(r.text.empty());  // released once parsed
  }
  IngestWriter writer(*store, o);
  std::vector<std::string> told;
  writer.AddHook([&](const std::vector<const PreparedMessage*>& stored) {
    for (const auto* p : stored) told.push_back(p->msg.id());
  });
  REQUIRE(writer.Append(b).ok());
  REQUIRE(told.size() == msgs.size());
  for (size_t i = 0; i < msgs.size(); ++i) {
    CHECK(told[i] == msgs[i].id());
    CHECK(b.records[i].outcome.kind == AppendKind::kAppended);
    CHECK(b.records[i].tag == i + 1);
    auto got = store->Get(msgs[i].id());
    REQUIRE(got.ok());
    CHECK(got->value_json == msgs[i].Wire());
  }
  CHECK(writer.counts().appended == msgs.size());

  // Everything again: duplicates, and the hooks hear of nothing.
  told.clear();
  IngestBatch again;
  AddAll(again, Wires(msgs));
  checker.Check(again);
  REQUIRE(writer.Append(again).ok());
  for (const auto& r : again.records) CHECK(r.outcome.kind == AppendKind::kDuplicate);
  CHECK(told.empty());
  CHECK(writer.counts().duplicates == msgs.size());
}

TEST_CASE("ingest: what cannot be stored is rejected with the rule it breaks") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  WorkerPool pool(2);
  Feed alice{1};
  Message m1 = alice.Post("one");
  Message m2 = alice.Post("two");
  Message m3 = alice.Post("three");
  json::Value forged = m2.value();
  forged.Find("content")->Set("text", json::Value::String("forged"));
  std::vector<std::string> texts = {
      m1.Wire(),
      "{\"previous\": nul",                            // not JSON
      std::string(70 * 1024, ' ') + "{}",              // too long
      "{\"type\":\"post\"}",                           // no author
      m3.Wire(),                                       // a gap (2 is not stored yet)
      json::Stringify(forged),                         // bad signature
      m2.Wire(),
  };
  IngestOptions o;
  IngestBatch b;
  AddAll(b, texts);
  auto kinds = CheckAndAppend(*store, b, o, pool);
  CHECK(kinds == std::vector<std::string>{"appended", "rejected", "rejected", "rejected",
                                          "rejected", "rejected", "appended"});
  CHECK(b.records[1].kind == IngestRecord::Kind::kBad);
  CHECK(b.records[1].outcome.status.code() == Code::kInvalidInput);
  CHECK(b.records[2].kind == IngestRecord::Kind::kBad);
  CHECK(b.records[2].outcome.status.code() == Code::kLimitExceeded);
  CHECK(b.records[3].outcome.status.code() == Code::kInvalidMessage);
  CHECK_THAT(b.records[4].outcome.status.message(), Catch::Contains("gap"));
  CHECK(b.records[5].kind == IngestRecord::Kind::kMessage);
  CHECK_FALSE(*b.records[5].message->authentic);
  CHECK_THAT(b.records[5].outcome.status.message(), Catch::Contains("signature"));
  CHECK(StoredSeq(*store, alice.id()) == 2);
  CHECK(store->Stats()->forks == 0);
}

TEST_CASE("ingest: a second message at a held sequence is recorded as a fork") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  WorkerPool pool(2);
  Feed alice{1};
  Message m1 = alice.Post("one");
  auto after1 = alice.head();
  Message m2 = alice.Post("two");
  Message m3 = alice.Post("three");
  alice.ResetTo(after1);
  Message m2_fork = alice.Post("two, differently");
  Message m3_fork = alice.Post("three on the fork");
  json::Value forged = m2_fork.value();
  forged.Find("content")->Set("text", json::Value::String("forged"));
  IngestOptions o;
  IngestBatch b;
  AddAll(b, {m1.Wire(), m2.Wire(), m3.Wire(), json::Stringify(forged),
                           m2_fork.Wire(), m3_fork.Wire()});
  auto kinds = CheckAndAppend(*store, b, o, pool);
  CHECK(kinds == std::vector<std::string>{"appended", "appended", "appended", "rejected",
                                          "rejected", "rejected"});
  // The forged one is no evidence; the signed one is recorded and freezes the feed.
  CHECK(b.records[3].outcome.status.code() == Code::kInvalidMessage);
  CHECK_FALSE(b.records[3].outcome.fork_recorded);
  CHECK(b.records[4].outcome.status.code() == Code::kFork);
  CHECK(b.records[4].outcome.fork_recorded);
  CHECK(b.records[5].outcome.status.code() == Code::kFork);
  auto forks = store->ListForks(alice.id());
  REQUIRE(forks.ok());
  REQUIRE(forks->size() == 2);  // m3_fork too: authentic, and conflicting at a held sequence
  CHECK((*forks)[0].kind == ForkRecord::Kind::kSameSequence);
  CHECK((*forks)[0].stored_key == m2.id());
  CHECK((*forks)[0].offending_key == m2_fork.id());
  CHECK(StoredSeq(*store, alice.id()) == 3);
}

TEST_CASE("ingest: {key, value, timestamp} records keep their receive times when asked") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  WorkerPool pool(2);
  Feed alice{1};
  std::vector<Message> msgs;
  for (int i = 0; i < 5; ++i) msgs.push_back(alice.Post("x"));
  // Log order with receive times, one of them going back (as an old log may have).
  std::vector<double> times = {1500000000000, 1500000000500, 1500000000400, 1500000001000,
                               1500000002000};
  std::vector<std::string> texts;
  for (size_t i = 0; i < msgs.size(); ++i) texts.push_back(KvtJson(msgs[i], times[i]));
  bool keep = GENERATE(false, true);
  IngestOptions o;
  o.keep_received = keep;
  IngestBatch b;
  AddAll(b, texts);
  auto kinds = CheckAndAppend(*store, b, o, pool);
  for (const auto& k : kinds) CHECK(k == "appended");
  std::vector<double> got;
  for (const auto& m : msgs) got.push_back(store->Get(m.id())->received);
  if (keep) {
    CHECK(got[0] == times[0]);
    CHECK(got[1] == times[1]);
    CHECK(got[2] > times[1]);  // raised: receive times strictly increase in log order
    CHECK(got[2] < times[1] + 1);
    CHECK(got[3] == times[3]);
    CHECK(got[4] == times[4]);
  } else {
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] > 1600000000000.0);
  }
  for (size_t i = 1; i < got.size(); ++i) CHECK(got[i] > got[i - 1]);
}

TEST_CASE("ingest: HMAC networks need their key") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  WorkerPool pool(1);
  HmacKey key{};
  key.fill(7);
  Feed alice{1, key};
  Message m1 = alice.Post("one");
  IngestOptions main_net;
  IngestBatch b1;
  AddAll(b1, {m1.Wire()});
  CHECK(CheckAndAppend(*store, b1, main_net, pool) == std::vector<std::string>{"rejected"});
  IngestOptions test_net;
  test_net.validate.hmac_key = key;
  IngestBatch b2;
  AddAll(b2, {m1.Wire()});
  CHECK(CheckAndAppend(*store, b2, test_net, pool) == std::vector<std::string>{"appended"});
}

TEST_CASE("ingest: private messages for the reader are stored decrypted, once") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  WorkerPool pool(2);
  Feed alice{1}, me{2}, other{3};
  auto boxed = [&](const Keypair& to, const std::string& text) {
    json::Value c = json::Value::Object();
    c.Set("type", json::Value::String("post"));
    c.Set("text", json::Value::String(text));
    std::vector<PublicKey> recps{to.public_key()};
    auto box = BoxEncrypt(json::Stringify(c), recps);
    REQUIRE(box.ok());
    return alice.Publish(json::Value::String(*box));
  };
  Message for_me = boxed(me.keys(), "hello me");
  Message for_other = boxed(other.keys(), "hello other");
  Message plain = alice.Post("public");
  IngestOptions o;
  o.reader = &me.keys();
  IngestBatch b;
  AddAll(b, Wires({for_me, for_other, plain}));
  std::vector<std::optional<std::string>> told;
  IngestChecker checker(o, pool);
  checker.Check(b);
  IngestWriter writer(*store, o);
  writer.AddHook([&](const std::vector<const PreparedMessage*>& stored) {
    for (const auto* p : stored) told.push_back(p->plaintext);
  });
  REQUIRE(writer.Append(b).ok());
  REQUIRE(told.size() == 3);
  REQUIRE(told[0]);
  CHECK(*told[0] == "{\"type\":\"post\",\"text\":\"hello me\"}");
  CHECK_FALSE(told[1]);
  CHECK_FALSE(told[2]);
  auto got = store->Get(for_me.id());
  REQUIRE(got.ok());
  CHECK(got->plaintext == told[0]);
  CHECK(got->value_json == for_me.Wire());  // the signed bytes, untouched
  CHECK_FALSE(store->Get(for_other.id())->plaintext);
  // Its plaintext's type is indexed as a decrypted message's (messagesByType).
  auto posts = store->ByType("post", RangeQuery{});
  REQUIRE(posts.ok());
  std::set<std::string> keys;
  for (const auto& m : *posts) keys.insert(m.key);
  CHECK(keys.count(for_me.id()) == 1);
  CHECK(keys.count(for_other.id()) == 0);
  CHECK(store->Stats()->decrypted == 1);
}

TEST_CASE("ingest: records that are not messages come back parsed, in their place") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  WorkerPool pool(2);
  Feed alice{1};
  Message m1 = alice.Post("one");
  IngestOptions o;
  o.is_message = [](const IngestRecord&, const json::Value& v) { return !v.Find("notes"); };
  IngestBatch b;
  AddAll(b, {"{\"notes\":{\"a\":1}}", m1.Wire()});
  auto kinds = CheckAndAppend(*store, b, o, pool);
  CHECK(b.records[0].kind == IngestRecord::Kind::kOther);
  CHECK(b.records[0].other.Find("notes") != nullptr);
  CHECK(b.records[1].outcome.kind == AppendKind::kAppended);
}

TEST_CASE("ingest: appends join the caller's transaction") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  WorkerPool pool(2);
  Feed alice{1};
  std::vector<Message> msgs;
  for (int i = 0; i < 40; ++i) msgs.push_back(alice.Post("x"));
  IngestOptions o;
  IngestChecker checker(o, pool);
  IngestWriter writer(*store, o);
  auto reader = OpenStore(dir.File("db.sqlite"));
  {
    auto tx = store->BeginTransaction();
    REQUIRE(tx.ok());
    IngestBatch b1;
    AddAll(b1, Wires({msgs.begin(), msgs.begin() + 20}));
    IngestBatch b2;
    AddAll(b2, Wires({msgs.begin() + 20, msgs.end()}));
    checker.Check(b1);
    checker.Check(b2);
    REQUIRE(writer.Append(b1).ok());
    REQUIRE(writer.Append(b2).ok());
    CHECK(StoredSeq(*reader, alice.id()) == 0);  // not committed
    // Dropped without Commit: rolled back.
  }
  CHECK(StoredSeq(*store, alice.id()) == 0);
  auto tx = store->BeginTransaction();
  REQUIRE(tx.ok());
  IngestBatch b;
  AddAll(b, Wires(msgs));
  checker.Check(b);
  REQUIRE(writer.Append(b).ok());
  REQUIRE((*tx)->Commit().ok());
  CHECK(StoredSeq(*reader, alice.id()) == 40);
}

TEST_CASE("ingest: the queue returns batches in push order, checked") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  Feed alice{1};
  std::vector<std::string> texts;
  for (int i = 0; i < 2000; ++i) texts.push_back(alice.Post("m" + std::to_string(i)).Wire());
  unsigned threads = GENERATE(1u, 4u);
  WorkerPool pool(threads);
  IngestOptions o;
  IngestChecker checker(o, pool);
  IngestQueue queue(checker, IngestLimits{.max_batches = 3, .max_bytes = 64 * 1024});
  std::thread producer([&] {
    for (size_t i = 0; i < texts.size(); i += 37) {
      auto b = std::make_unique<IngestBatch>();
      for (size_t j = i; j < std::min(texts.size(), i + 37); ++j) b->Add(texts[j], j);
      REQUIRE(queue.Push(std::move(b)));
    }
    queue.Close();
  });
  IngestWriter writer(*store, o);
  uint64_t next = 0;
  while (auto b = queue.Pop()) {
    REQUIRE(b->checked());
    for (const auto& r : b->records) CHECK(r.tag == next++);
    REQUIRE(writer.Append(*b).ok());
  }
  producer.join();
  CHECK(next == texts.size());
  CHECK(writer.counts().appended == texts.size());
  CHECK(StoredSeq(*store, alice.id()) == 2000);
}

TEST_CASE("ingest: the queue counts what checked batches hold and still moves when one is over its bound") {
  // Records whose parsed trees are ~25 times their text (as a hostile bundle's are): one
  // checked batch holds more than the whole bound, and the queue must still hand out every
  // batch, checking only the next one while it is over.
  std::string arr = "[";
  for (int i = 0; i < 4000; ++i) arr += i ? ",0" : "0";
  arr += "]";
  WorkerPool pool(2);
  IngestOptions o;
  IngestChecker checker(o, pool);
  IngestQueue queue(checker, IngestLimits{.max_batches = 8, .max_bytes = 100 * 1024});
  std::thread producer([&] {
    for (int i = 0; i < 20; ++i) {
      auto b = std::make_unique<IngestBatch>();
      for (int j = 0; j < 10; ++j) b->Add(arr, static_cast<uint64_t>(i * 10 + j));
      REQUIRE(queue.Push(std::move(b)));
    }
    queue.Close();
  });
  uint64_t next = 0;
  while (auto b = queue.Pop()) {
    REQUIRE(b->checked());
    CHECK(b->held_bytes() > 10 * b->bytes());
    CHECK(b->held_bytes() > 100 * 1024);
    for (const auto& r : b->records) {
      CHECK(r.tag == next++);
      CHECK(r.kind == IngestRecord::Kind::kMessage);
      CHECK(r.status.code() == Code::kInvalidMessage);  // an array is no message
    }
  }
  producer.join();
  CHECK(next == 200);
}

TEST_CASE("ingest: a cancelled queue releases a producer waiting for room") {
  WorkerPool pool(1);
  IngestOptions o;
  IngestChecker checker(o, pool);
  IngestQueue queue(checker, IngestLimits{.max_batches = 2, .max_bytes = 1 << 20});
  int pushed = 0;
  std::thread producer([&] {
    for (int i = 0; i < 3; ++i) {
      auto b = std::make_unique<IngestBatch>();
      b->Add("{}");
      if (!queue.Push(std::move(b))) break;  // the third waits for room until the cancel
      ++pushed;
    }
  });
  queue.Cancel();
  producer.join();
  CHECK(pushed <= 2);
  CHECK(queue.Pop() == nullptr);
}

TEST_CASE("ingest: ReadLines cuts NDJSON into batches, skipping blank lines, bounding long ones") {
  Feed alice{1};
  std::string input;
  std::vector<std::string> wires;
  for (int i = 0; i < 700; ++i) {
    wires.push_back(alice.Post("line " + std::to_string(i)).Wire());
    input += wires.back() + (i % 2 ? "\r\n" : "\n");
    if (i == 10) input += "   \t\r\n\n";      // blank lines: lines 12 and 13
    if (i == 20) input += std::string(3000, 'x') + "\n";  // over the limit below
  }
  input += "{\"no\":\"newline at the end\"}";
  Pipe pipe(input);
  WorkerPool pool(2);
  IngestOptions o;
  IngestChecker checker(o, pool);
  IngestQueue queue(checker);
  LineReaderOptions lo;
  lo.batch_records = 100;
  lo.max_line_bytes = 2048;
  Status read_status;
  std::thread reader([&] { read_status = ReadLines(pipe.fd(), "the pipe", queue, lo); });
  std::vector<const IngestRecord*> all;
  std::vector<std::shared_ptr<IngestBatch>> keep;
  while (auto b = queue.Pop()) {
    CHECK(b->records.size() <= 100);
    for (const auto& r : b->records) all.push_back(&r);
    keep.push_back(std::move(b));
  }
  reader.join();
  CHECK(read_status.ok());
  REQUIRE(all.size() == 700 + 1 + 1);
  size_t w = 0;
  for (const IngestRecord* r : all) {
    if (r->kind == IngestRecord::Kind::kBad) {
      CHECK(r->status.code() == Code::kLimitExceeded);
      CHECK(r->tag == 24);  // line 24: after 21 messages and two blank lines
      CHECK(r->text.empty());
      continue;
    }
    if (w < wires.size()) {
      CHECK(r->message->msg.id() == Message::Parse(wires[w]).value().id());
      ++w;
    } else {
      CHECK(r->tag == 700 + 2 + 1 + 1);
      CHECK(r->message->msg.value().Find("no") != nullptr);
    }
  }
  CHECK(w == wires.size());
}

TEST_CASE("ingest + ContactGraph: stored contact messages update the replication set") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  WorkerPool pool(2);
  Feed me{1}, a{2}, b{3};
  ContactGraph graph;
  REQUIRE(graph.Update(*store).ok());
  ReplicationSet set = ReplicationSet::Compute(graph, me.id());
  IngestOptions o;
  IngestChecker checker(o, pool);
  IngestWriter writer(*store, o);
  bool changed = false;
  writer.AddHook([&](const std::vector<const PreparedMessage*>& stored) {
    for (const auto* p : stored) {
      if (AffectsGraph(p->msg)) changed |= graph.Apply(p->msg);
    }
  });
  Message follow = me.Follow(a);
  Message theirs = a.Follow(b);
  IngestBatch batch;
  AddAll(batch, Wires({follow, theirs}));
  checker.Check(batch);
  // The caller skips feeds it does not replicate (the network does).
  for (auto& r : batch.records) r.skip = !set.Contains(r.message->msg.author());
  REQUIRE(writer.Append(batch).ok());
  CHECK(batch.records[0].outcome.kind == AppendKind::kAppended);
  CHECK(StoredSeq(*store, a.id()) == 0);
  CHECK(changed);
  set = ReplicationSet::Compute(graph, me.id());
  CHECK(set.Contains(a.id()));
}
