// Cursor reads, links, decrypted types and deletions (schema 3).
#include "store_test_util.h"

namespace ssb::test {
namespace {

using json::Value;

std::unique_ptr<Store> CorpusStore(const TempDir& dir) {
  auto store = OpenStore(dir.File("db.sqlite"));
  auto lines = LoadKvt("generated/feeds.jsonl");
  auto r = store->AppendBatch(Messages(lines));
  REQUIRE(r.ok());
  for (const auto& o : *r) REQUIRE(o.kind == AppendKind::kAppended);
  return store;
}

// Every row of `q`, read in pages of `page`.
std::vector<StoredMessage> ReadAll(Store& store, ReadRequest q, size_t page) {
  std::vector<StoredMessage> out;
  q.limit = page;
  for (int guard = 0; guard < 10000; ++guard) {
    size_t n = 0;
    auto pos = store.Read(q, [&](const StoredMessage& m) {
      out.push_back(m);
      ++n;
      return true;
    });
    REQUIRE(pos.ok());
    if (n < page) break;
    q.after = **pos;
  }
  return out;
}

std::vector<std::string> Keys(const std::vector<StoredMessage>& ms) {
  std::vector<std::string> out;
  for (const auto& m : ms) out.push_back(m.key);
  return out;
}

Message WithContent(Chain& chain, Value content, double ts) {
  auto m = CreateMessage(chain.keys(), chain.head() ? &*chain.head() : nullptr, std::move(content), ts);
  REQUIRE(m.ok());
  chain.Advance(*m);
  return std::move(m).value();
}

TEST_CASE("reads in pages give the same rows as one read, both ways, for every index") {
  TempDir dir;
  auto store = CorpusStore(dir);
  auto lines = LoadKvt("generated/feeds.jsonl");
  std::string bob = std::string(lines[0].msg.author());
  struct Case {
    ReadIndex index;
    std::string author, type;
  } cases[] = {{ReadIndex::kLog, "", ""},
               {ReadIndex::kFeedTime, "", ""},
               {ReadIndex::kFeed, bob, ""},
               {ReadIndex::kType, "", "post"},
               {ReadIndex::kLog, bob, ""},
               {ReadIndex::kLog, "", "vote"}};
  for (const auto& c : cases) {
    for (bool reverse : {false, true}) {
      ReadRequest q;
      q.index = c.index;
      q.author = c.author;
      q.type = c.type;
      q.reverse = reverse;
      auto whole = ReadAll(*store, q, 100000);
      for (size_t page : {1, 7, 64}) {
        INFO("index " << int(c.index) << " reverse " << reverse << " page " << page);
        CHECK(Keys(ReadAll(*store, q, page)) == Keys(whole));
      }
      REQUIRE_FALSE(whole.empty());
      // The order is the index's, in the direction asked.
      for (size_t i = 1; i < whole.size(); ++i) {
        const auto& a = whole[reverse ? i : i - 1];
        const auto& b = whole[reverse ? i - 1 : i];
        if (c.index == ReadIndex::kFeed) CHECK(a.sequence < b.sequence);
        else if (c.index == ReadIndex::kFeedTime) {
          CHECK((ResolvedTimestamp(a) < ResolvedTimestamp(b) ||
                 (ResolvedTimestamp(a) == ResolvedTimestamp(b) && a.log_seq < b.log_seq)));
        } else {
          CHECK(a.log_seq < b.log_seq);
        }
      }
    }
  }
  // The whole log and every feed.
  ReadRequest all;
  CHECK(ReadAll(*store, all, 13).size() == 250);
  all.index = ReadIndex::kFeed;
  all.author = bob;
  CHECK(ReadAll(*store, all, 13).size() == 80);
}

TEST_CASE("read bounds: receive time, resolved time, sequence") {
  TempDir dir;
  auto store = CorpusStore(dir);
  ReadRequest q;
  auto log = ReadAll(*store, q, 1000);
  REQUIRE(log.size() == 250);
  // Receive time: (log[10], log[20]] and [log[10], log[20]).
  q.gt = log[10].received;
  q.lte = log[20].received;
  auto r = ReadAll(*store, q, 3);
  REQUIRE(r.size() == 10);
  CHECK(r.front().key == log[11].key);
  CHECK(r.back().key == log[20].key);
  q = ReadRequest{};
  q.gte = log[10].received;
  q.lt = log[20].received;
  q.reverse = true;
  r = ReadAll(*store, q, 4);
  REQUIRE(r.size() == 10);
  CHECK(r.front().key == log[19].key);
  CHECK(r.back().key == log[10].key);
  // Sequence of one feed.
  q = ReadRequest{};
  q.index = ReadIndex::kFeed;
  q.author = log[0].author;
  q.gt = 3;
  q.lt = 7;
  r = ReadAll(*store, q, 2);
  REQUIRE(r.size() == 3);
  CHECK(r.front().sequence == 4);
  CHECK(r.back().sequence == 6);
  q.gt.reset();
  q.gte = 78;
  q.lt.reset();
  CHECK(ReadAll(*store, q, 2).size() == 3);  // bob has 80
  // Resolved time.
  q = ReadRequest{};
  q.index = ReadIndex::kFeedTime;
  auto by_time = ReadAll(*store, q, 1000);
  q.gte = ResolvedTimestamp(by_time[5]);
  q.lt = ResolvedTimestamp(by_time[15]);
  r = ReadAll(*store, q, 3);
  REQUIRE(r.size() == 10);
  CHECK(r.front().key == by_time[5].key);
  // Nothing in range.
  q = ReadRequest{};
  q.gt = log.back().received;
  CHECK(ReadAll(*store, q, 3).empty());
  q = ReadRequest{};
  q.lt = log.front().received;
  CHECK(ReadAll(*store, q, 3).empty());
}

TEST_CASE("max_log_seq pins the old part of a stream and min_log_seq tails what comes after") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  Chain a(21);
  for (int i = 0; i < 5; ++i) REQUIRE(store->Append(a.Next("post", 1000 + i)).ok());
  auto pin = store->LastLogSeq();
  REQUIRE(pin.ok());
  // More arrive while the old part is being read.
  for (int i = 0; i < 3; ++i) REQUIRE(store->Append(a.Next("post", 2000 + i)).ok());
  ReadRequest old;
  old.index = ReadIndex::kFeedTime;
  old.max_log_seq = *pin;
  CHECK(ReadAll(*store, old, 2).size() == 5);
  ReadRequest tail;
  tail.min_log_seq = *pin;
  tail.author = a.id();
  CHECK(ReadAll(*store, tail, 2).size() == 3);
  tail.type = "vote";
  CHECK(ReadAll(*store, tail, 2).empty());
  CHECK(*store->LastLogSeq() == *pin + 3);
}

TEST_CASE("links: by destination, by source, by rel, sigils, and pages") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  Chain alice(31), bob(32);
  Message first = alice.Next("post", 1000, "hello");
  REQUIRE(store->Append(first).ok());
  std::string blob = "&hX3hCrhv+u7P5V8BTsMRNnuZ6z7WKHuFiez2WkiMPWo=.sha256";
  for (int i = 0; i < 5; ++i) {
    Value vote = Value::Object();
    vote.Set("link", Value::String(first.id()));
    vote.Set("value", Value::Number(1));
    Value c = Value::Object();
    c.Set("type", Value::String("vote"));
    c.Set("vote", vote);
    REQUIRE(store->Append(WithContent(bob, c, 2000 + i)).ok());
  }
  Value mention = Value::Object();
  mention.Set("link", Value::String(blob));
  mention.Set("name", Value::String("pic"));
  Value mentions = Value::Array();
  mentions.Push(mention);
  Value post = Value::Object();
  post.Set("type", Value::String("post"));
  post.Set("root", Value::String(first.id()));
  post.Set("mentions", mentions);
  REQUIRE(store->Append(WithContent(alice, post, 3000)).ok());

  auto collect = [&](LinksQuery q, size_t page) {
    std::vector<LinkRow> out;
    q.limit = page;
    for (int guard = 0; guard < 1000; ++guard) {
      size_t n = 0;
      auto pos = store->Links(q, [&](const LinkRow& r) {
        out.push_back(r);
        ++n;
        return true;
      });
      REQUIRE(pos.ok());
      if (n < page) break;
      q.after = **pos;
    }
    return out;
  };
  LinksQuery to_first;
  to_first.dest = first.id();
  auto back = collect(to_first, 100);
  REQUIRE(back.size() == 6);  // 5 votes, 1 root
  CHECK(collect(to_first, 2).size() == 6);
  to_first.rel = "vote";
  auto votes = collect(to_first, 2);
  REQUIRE(votes.size() == 5);
  CHECK(votes[0].source == bob.id());
  CHECK(votes[0].rel2 == R"(["vote",1])");
  LinksQuery from_alice;
  from_alice.source = alice.id();
  auto fwd = collect(from_alice, 1);
  REQUIRE(fwd.size() == 2);  // mentions (the blob), root: by rel
  CHECK(fwd[0].rel == "mentions");
  CHECK(fwd[0].dest == blob);
  CHECK(fwd[0].rel2 == R"(["mentions","pic",null])");
  CHECK(fwd[1].rel == "root");
  from_alice.dest = "&";
  CHECK(collect(from_alice, 1).size() == 1);
  from_alice.dest = "%";
  CHECK(collect(from_alice, 1).size() == 1);
  LinksQuery any;
  CHECK(collect(any, 3).size() == 7);
  any.reverse = true;
  auto rev = collect(any, 3);
  REQUIRE(rev.size() == 7);
  CHECK(rev.front().rel == "mentions");
}

TEST_CASE("a decrypted private message is indexed by its type and links, undecrypted only by "
          "ssb-links' previous/author") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  Chain a(41);
  REQUIRE(store->Append(a.Next("post", 1000)).ok());
  Message boxed = a.MakeBoxed(1001);
  a.Advance(boxed);
  REQUIRE(store->Append(boxed).ok());
  auto by_type = [&](const std::string& t) { return store->ByType(t, RangeQuery{}).value().size(); };
  CHECK(by_type("post") == 1);
  LinksQuery to_author;
  to_author.dest = a.id();
  auto count = [&](LinksQuery q) {
    size_t n = 0;
    REQUIRE(store->Links(q, [&](const LinkRow&) { return ++n, true; }).ok());
    return n;
  };
  CHECK(count(to_author) == 0);  // ssb-db indexes nothing it cannot read
  to_author.links2 = true;
  CHECK(count(to_author) == 1);  // ssb-links: the unreadable value's author
  std::string plain = R"({"type":"post","text":"secret","about":")" + a.id() + R"("})";
  REQUIRE(store->SetPlaintext(boxed.id(), plain).ok());
  CHECK(by_type("post") == 2);
  ReadRequest q;
  q.index = ReadIndex::kType;
  q.type = "post";
  CHECK(ReadAll(*store, q, 1).size() == 2);
  to_author.links2 = false;
  CHECK(count(to_author) == 1);  // now readable: "about"
  to_author.rel = "about";
  CHECK(count(to_author) == 1);
  REQUIRE(store->SetPlaintext(boxed.id(), std::nullopt).ok());
  CHECK(by_type("post") == 1);
  CHECK(count(to_author) == 0);
}

TEST_CASE("deleted messages are gone from every read, their numbers never come back, and the "
          "chain goes on") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  Chain a(51), b(52);
  std::vector<Message> as;
  for (int i = 0; i < 4; ++i) {
    as.push_back(a.Next("post", 1000 + i));
    REQUIRE(store->Append(as.back()).ok());
  }
  Message bs = b.Next("vote", 5000);
  REQUIRE(store->Append(bs).ok());
  // The newest message is deleted: its log_seq must not be handed out again.
  auto last = store->LastLogSeq();
  REQUIRE(store->Delete(bs.id()).ok());
  CHECK(store->Get(bs.id()).status().code() == Code::kNotFound);
  CHECK(store->Delete(bs.id()).code() == Code::kNotFound);
  CHECK(*store->LastLogSeq() == *last);
  REQUIRE(store->Delete(as[1].id()).ok());
  auto stats = store->Stats();
  REQUIRE(stats.ok());
  CHECK(stats->messages == 3);
  CHECK(stats->deleted == 2);
  ReadRequest feed;
  feed.index = ReadIndex::kFeed;
  feed.author = a.id();
  auto seqs = ReadAll(*store, feed, 10);
  REQUIRE(seqs.size() == 3);
  CHECK(seqs[1].sequence == 3);
  // The chain state stays: the next message of each feed validates, and gets a new number.
  auto next = store->Append(a.Next("post", 2000));
  REQUIRE(next.ok());
  CHECK(next->log_seq > *last);
  REQUIRE(store->Append(b.Next("post", 6000)).ok());
  // A deleted message that arrives again is not stored again (its sequence is behind).
  auto again = store->Append(as[1]);
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().code() == Code::kInvalidMessage);
  CHECK(store->Get(as[1].id()).status().code() == Code::kNotFound);
  auto gone = store->DeleteFeed(a.id());
  REQUIRE(gone.ok());
  CHECK(gone->size() == 4);
  CHECK(store->DeleteFeed(a.id())->empty());
  CHECK(store->Stats()->messages == 1);
  CHECK(store->Latest(a.id()).value()->sequence == 5);
  CHECK(store->CheckIntegrity().ok());
}

TEST_CASE("a schema 2 store is migrated to 3: links and decrypted types are filled in") {
  if (std::system("command -v sqlite3 >/dev/null 2>&1") != 0) {
    WARN("SKIPPED: the sqlite3 shell is not installed (Debian package sqlite3)");
    return;
  }
  TempDir dir;
  std::string path = dir.File("db.sqlite");
  Chain a(61);
  Message first = a.Next("post", 1000, "x");
  Message boxed = a.MakeBoxed(1001);
  a.Advance(boxed);
  {
    auto store = OpenStore(path);
    REQUIRE(store->Append(first).ok());
    REQUIRE(store->Append(boxed).ok());
    Value c = Value::Object();
    c.Set("type", Value::String("post"));
    c.Set("root", Value::String(first.id()));
    REQUIRE(store->Append(WithContent(a, c, 1002)).ok());
    REQUIRE(store->SetPlaintext(boxed.id(), R"({"type":"vote","vote":{"link":")" + first.id() +
                                                 R"(","value":1}})").ok());
  }
  std::string cmd = "sqlite3 '" + path +
                    "' 'DROP TABLE links; DROP TABLE deleted; DROP INDEX messages_ptype; DROP INDEX "
                    "messages_rts; ALTER TABLE messages DROP COLUMN ptype; CREATE INDEX "
                    "messages_claimed ON messages (claimed_ts); DROP TABLE imports; DROP TABLE feed_floors; "
                    "PRAGMA user_version=2;'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  auto store = OpenStore(path);
  CHECK(store->ByType("vote", RangeQuery{}).value().size() == 1);
  LinksQuery to_first;
  to_first.dest = first.id();
  size_t n = 0;
  REQUIRE(store->Links(to_first, [&](const LinkRow&) { return ++n, true; }).ok());
  CHECK(n == 2);  // the root and the decrypted vote
  CHECK(store->FeedStream(RangeQuery{}).value().size() == 3);
  CHECK(store->CheckIntegrity().ok());
}

}  // namespace
}  // namespace ssb::test
