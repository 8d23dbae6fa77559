// Appending to the store: fixtures read back byte for byte, validation outcomes, forks, batches,
// and prepared messages (checked ahead, as the ingest stage does) against plain ones.
#include <catch2/catch.hpp>

#include <map>

#include "ssb/base64.h"
#include "store_test_util.h"

using namespace ssb;
using namespace ssb::test;

namespace {

void CheckReadBack(Store& store, const std::vector<KvtLine>& lines) {
  size_t identical = 0;
  for (const auto& l : lines) {
    auto got = store.Get(l.key);
    REQUIRE(got.ok());
    CHECK(got->value_json == l.wire);
    CHECK(got->value_json == l.raw);  // also the very bytes of the input line
    CHECK(got->author == l.msg.author());
    CHECK(got->sequence == *l.msg.sequence());
    identical += got->value_json == l.wire;
  }
  CHECK(identical == lines.size());
  // Per feed, createHistoryStream returns the feed's lines in order, byte-identical.
  std::map<std::string, std::vector<const KvtLine*>> by_feed;
  for (const auto& l : lines) by_feed[std::string(l.msg.author())].push_back(&l);
  for (const auto& [author, expect] : by_feed) {
    HistoryQuery q;
    q.author = author;
    auto got = store.History(q);
    REQUIRE(got.ok());
    REQUIRE(got->size() == expect.size());
    for (size_t i = 0; i < expect.size(); ++i) {
      CHECK((*got)[i].key == expect[i]->key);
      CHECK((*got)[i].value_json == expect[i]->wire);
      CHECK((*got)[i].sequence == static_cast<int64_t>(i + 1));
    }
  }
  auto clock = store.Clock();
  REQUIRE(clock.ok());
  CHECK(clock->size() == by_feed.size());
  for (const auto& [author, expect] : by_feed) {
    CHECK((*clock)[author] == static_cast<int64_t>(expect.size()));
  }
}

// AppendBatch, or with `prepared` AppendPrepared of the messages checked ahead with
// CheckAuthentic (what the ingest stage hands the store): both must decide alike.
Result<std::vector<AppendOutcome>> AppendEither(Store& store, const std::vector<Message>& msgs,
                                                const AppendOptions& opt, bool prepared) {
  if (!prepared) return store.AppendBatch(msgs, opt);
  std::vector<PreparedMessage> ready;
  for (const Message& m : msgs) {
    ready.push_back(PrepareMessage(m));
    if (opt.validate.verify_signature) ready.back().authentic = CheckAuthentic(m, opt.validate).ok();
  }
  std::vector<const PreparedMessage*> ptrs;
  for (const auto& p : ready) ptrs.push_back(&p);
  return store.AppendPrepared(ptrs, opt);
}

int Count(const std::vector<AppendOutcome>& outs, AppendKind kind) {
  int n = 0;
  for (const auto& o : outs) n += o.kind == kind;
  return n;
}

}  // namespace

TEST_CASE("generated/feeds.jsonl: 250 messages of 3 feeds appended and read back identically") {
  auto lines = LoadKvt("generated/feeds.jsonl");
  REQUIRE(lines.size() == 250);
  bool prepared = GENERATE(false, true);
  INFO("prepared " << prepared);
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  auto msgs = Messages(lines);
  AppendOptions opt;
  auto outs = AppendEither(*store, msgs, opt, prepared);
  REQUIRE(outs.ok());
  REQUIRE(outs->size() == 250);
  for (size_t i = 0; i < outs->size(); ++i) {
    INFO(i << " " << (*outs)[i].status.ToString());
    CHECK((*outs)[i].kind == AppendKind::kAppended);
    CHECK((*outs)[i].key == lines[i].key);
    if (i) CHECK((*outs)[i].log_seq > (*outs)[i - 1].log_seq);
  }
  CheckReadBack(*store, lines);
  ReportCount("store generated/feeds.jsonl byte-identical", 250, lines.size());

  // Everything again: all duplicates, nothing changes.
  auto again = AppendEither(*store, msgs, opt, prepared);
  REQUIRE(again.ok());
  CHECK(Count(*again, AppendKind::kDuplicate) == 250);
  CHECK((*again)[7].log_seq == (*outs)[7].log_seq);
  auto stats = store->Stats();
  REQUIRE(stats.ok());
  CHECK(stats->messages == 250);
  CHECK(stats->feeds == 3);
  CHECK(stats->forks == 0);
}

TEST_CASE("real-feed-2018: 235 messages appended one by one, read back identically") {
  auto lines = LoadKvt("real-feed-2018/feed.jsonl");
  REQUIRE(lines.size() == 235);
  TempDir dir;
  {
    auto store = OpenStore(dir.File("db.sqlite"));
    for (const auto& l : lines) {
      auto r = store->Append(l.msg);
      INFO(l.key << " " << r.status().ToString());
      REQUIRE(r.ok());
      CHECK(r->kind == AppendKind::kAppended);
    }
  }
  // Reopened (read-only) the file holds the same bytes.
  StoreOptions ro;
  ro.read_only = true;
  auto store = OpenStore(dir.File("db.sqlite"), ro);
  CheckReadBack(*store, lines);
  ReportCount("store real-feed-2018 byte-identical", 235, lines.size());
  auto latest = store->Latest(lines.back().msg.author());
  REQUIRE(latest.ok());
  REQUIRE(latest->has_value());
  CHECK((*latest)->id == lines.back().key);
  CHECK((*latest)->sequence == 235);
}

TEST_CASE("sequence gaps are rejected as invalid and not stored") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  Chain a(1);
  Message m1 = a.Next("post", 1000);
  Message m2 = a.Next("post", 2000);
  Message m3 = a.Next("post", 3000);
  // A feed that starts at 2.
  auto r = store->Append(m2);
  CHECK(r.status().code() == Code::kInvalidMessage);
  CHECK(r.status().message().find("gap") != std::string::npos);
  REQUIRE(store->Append(m1).ok());
  // 3 after 1.
  r = store->Append(m3);
  CHECK(r.status().code() == Code::kInvalidMessage);
  auto clock = store->Clock();
  REQUIRE(clock.ok());
  CHECK((*clock)[a.id()] == 1);
  CHECK(store->Get(m3.id()).status().code() == Code::kNotFound);
  // Reverse order in one batch: only the first of the chain makes it, then in order all do.
  TempDir dir2;
  auto store2 = OpenStore(dir2.File("db.sqlite"));
  std::vector<Message> rev{m3, m2, m1};
  auto outs = store2->AppendBatch(rev);
  REQUIRE(outs.ok());
  CHECK((*outs)[0].status.code() == Code::kInvalidMessage);
  CHECK((*outs)[1].status.code() == Code::kInvalidMessage);
  CHECK((*outs)[2].kind == AppendKind::kAppended);
  std::vector<Message> fwd{m1, m2, m3};
  outs = store2->AppendBatch(fwd);
  REQUIRE(outs.ok());
  CHECK((*outs)[0].kind == AppendKind::kDuplicate);
  CHECK((*outs)[1].kind == AppendKind::kAppended);
  CHECK((*outs)[2].kind == AppendKind::kAppended);
}

TEST_CASE("duplicates are reported as such and change nothing") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  Chain a(2);
  Message m1 = a.Next("post", 1);
  Message m2 = a.Next("post", 2);
  auto first = store->Append(m1);
  REQUIRE(first.ok());
  auto dup = store->Append(m1);
  REQUIRE(dup.ok());
  CHECK(dup->kind == AppendKind::kDuplicate);
  CHECK(dup->log_seq == first->log_seq);
  CHECK(dup->received == first->received);
  // The same message twice in one batch, after its successor.
  std::vector<Message> batch{m2, m2, m1};
  auto outs = store->AppendBatch(batch);
  REQUIRE(outs.ok());
  CHECK((*outs)[0].kind == AppendKind::kAppended);
  CHECK((*outs)[1].kind == AppendKind::kDuplicate);
  CHECK((*outs)[2].kind == AppendKind::kDuplicate);
  CHECK(store->Stats()->messages == 2);
}

TEST_CASE("messages over 8192 UTF-16 units and bad signatures are rejected") {
  bool prepared = GENERATE(false, true);
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  AppendOptions opt;
  std::vector<Message> batch{VectorMessage("size-8193-ascii"),
                             VectorMessage("size-8194-emoji"),
                             VectorMessage("size-8193-escaped-newlines"),
                             VectorMessage("tampered-content"),
                             VectorMessage("signature-other-author"),
                             VectorMessage("hmac-signed-verified-without-key"),
                             VectorMessage("first-seq-0"),
                             VectorMessage("not-an-object")};
  auto outs = AppendEither(*store, batch, opt, prepared);
  REQUIRE(outs.ok());
  for (const auto& o : *outs) {
    INFO(o.key << " " << o.status.ToString());
    CHECK(o.kind == AppendKind::kRejected);
    CHECK(o.status.code() == Code::kInvalidMessage);
  }
  CHECK((*outs)[0].status.message().find("8192") != std::string::npos);
  CHECK((*outs)[3].status.message().find("signature") != std::string::npos);
  auto stats = store->Stats();
  REQUIRE(stats.ok());
  CHECK(stats->messages == 0);
  CHECK(stats->forks == 0);
  // The largest valid message fits, and reads back identically.
  Message big = VectorMessage("size-8192-ascii");
  auto r = store->Append(big);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  CHECK(store->Get(big.id())->value_json == big.Wire());
}

TEST_CASE("a validly signed second message at a stored sequence is recorded as a fork") {
  bool prepared = GENERATE(false, true);
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  AppendOptions opt;
  Chain a(3);
  Message m1 = a.Next("post", 1);
  Message m2 = a.Next("post", 2, "original");
  REQUIRE(AppendEither(*store, {m1, m2}, opt, prepared).ok());

  // Another message 2 (same previous, other content): same-sequence fork.
  Chain alt(3);
  alt.Advance(m1);
  Message m2b = alt.Next("post", 2, "the other history");
  // A forged message 2 (bad signature) is no evidence of anything.
  Message forged = VectorMessage("tampered-content");
  auto outs = AppendEither(*store, {forged, m2b, m2b}, opt, prepared);
  REQUIRE(outs.ok());
  CHECK((*outs)[0].status.code() == Code::kInvalidMessage);
  CHECK((*outs)[1].status.code() == Code::kFork);
  CHECK((*outs)[1].fork_recorded);
  CHECK((*outs)[2].status.code() == Code::kFork);
  CHECK_FALSE((*outs)[2].fork_recorded);  // the same evidence once only
  // ... also when it comes again in a later transaction.
  auto later = store->AppendBatch(std::vector<Message>{m2b}, opt);
  REQUIRE(later.ok());
  CHECK((*later)[0].status.code() == Code::kFork);
  CHECK_FALSE((*later)[0].fork_recorded);

  auto forks = store->ListForks();
  REQUIRE(forks.ok());
  REQUIRE(forks->size() == 1);
  const ForkRecord& f = forks->front();
  CHECK(f.author == a.id());
  CHECK(f.sequence == 2);
  CHECK(f.kind == ForkRecord::Kind::kSameSequence);
  CHECK(f.stored_key == m2.id());
  CHECK(f.offending_key == m2b.id());
  CHECK(f.offending_value == m2b.Wire());
  CHECK(f.detected > 0);

  // The feed is frozen: its next message is refused, with kFork.
  Message m3 = a.Next("post", 3);
  auto r = store->Append(m3, opt);
  CHECK(r.status().code() == Code::kFork);
  CHECK(r.status().message().find("frozen") != std::string::npos);
  auto info = store->Feed(a.id());
  REQUIRE(info.ok());
  REQUIRE(info->has_value());
  CHECK((*info)->frozen_at == 2);
  CHECK((*info)->sequence == 2);
  // Stored messages are still duplicates, the chain still reads back.
  CHECK(store->Append(m1, opt)->kind == AppendKind::kDuplicate);
  CHECK(store->History(HistoryQuery{a.id(), 0, -1, false})->size() == 2);
  // Other feeds are unaffected.
  Chain b(4);
  CHECK(store->Append(b.Next("post", 1), opt).ok());
  CHECK(store->Stats()->forks == 1);
  CHECK(store->ListForks(b.id())->empty());
  CHECK(store->ListForks(a.id())->size() == 1);
}

TEST_CASE("the next message whose previous is not our head is recorded as a fork") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  Chain a(5);
  Message m1 = a.Next("post", 1);
  Message m2 = a.Next("post", 2);
  Chain other(5);
  other.Advance(m1);
  Message m2b = other.Next("post", 2, "forked");
  Message m3b = other.Next("post", 3, "forked continues");
  // In one batch: the chain 1, 2 then 3 of the other branch.
  auto outs = store->AppendBatch(std::vector<Message>{m1, m2, m3b});
  REQUIRE(outs.ok());
  CHECK((*outs)[1].kind == AppendKind::kAppended);
  CHECK((*outs)[2].status.code() == Code::kFork);
  auto forks = store->ListForks();
  REQUIRE(forks.ok());
  REQUIRE(forks->size() == 1);
  CHECK((*forks)[0].kind == ForkRecord::Kind::kPreviousMismatch);
  CHECK((*forks)[0].sequence == 3);
  CHECK((*forks)[0].stored_key == m2.id());
  CHECK((*forks)[0].offending_key == m3b.id());
  // Further evidence for the frozen feed is recorded too, never silently dropped.
  auto r = store->Append(m2b);
  CHECK(r.status().code() == Code::kFork);
  CHECK(store->ListForks()->size() == 2);
  // The vectors' own fork: a different first message of alice.
  TempDir dir2;
  auto store2 = OpenStore(dir2.File("db.sqlite"));
  REQUIRE(store2->Append(VectorMessage("basic-first")).ok());
  CHECK(store2->Append(VectorMessage("basic-first-swapped")).status().code() == Code::kFork);
  CHECK(store2->ListForks()->size() == 1);
}

TEST_CASE("a signed message with a null previous after sequence 1 is invalid, not a fork") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  Chain a(8);
  Message m1 = a.Next("post", 1);
  Message m2 = a.Next("post", 2);
  REQUIRE(store->AppendBatch(std::vector<Message>{m1, m2}).ok());
  for (int64_t seq : {2, 3}) {
    json::Value v = m2.value();
    v.Erase("signature");
    v.Set("previous", json::Value::Null());
    v.Set("sequence", json::Value::Number(static_cast<double>(seq)));
    Message bad = a.SignValue(v);
    for (bool prepared : {false, true}) {
      AppendOptions opt;
      auto outs = AppendEither(*store, {bad, bad, bad, bad}, opt, prepared);
      REQUIRE(outs.ok());
      INFO("sequence " << seq << ": " << (*outs)[0].status.ToString());
      CHECK((*outs)[0].status.code() == Code::kInvalidMessage);
    }
  }
  CHECK(store->Stats()->forks == 0);
  CHECK_FALSE((*store->Feed(a.id()))->frozen_at.has_value());
  // The same signer's genuine second message 2 is a fork.
  json::Value v = m2.value();
  v.Erase("signature");
  v.Set("timestamp", json::Value::Number(99));
  CHECK(store->Append(a.SignValue(v)).status().code() == Code::kFork);
}

TEST_CASE("verify_signature=false trusts the caller, prepared and plain outcomes agree") {
  // A mixed batch: valid chains, duplicates, forks, gaps, forged and oversize messages.
  Chain a(6), b(7);
  std::vector<Message> batch;
  for (int i = 0; i < 150; ++i) batch.push_back(a.Next("post", 1000 + i));
  for (int i = 0; i < 130; ++i) batch.push_back(b.Next("vote", 500 + i));
  Chain a_alt(6);
  a_alt.Advance(batch[9]);
  batch.insert(batch.begin() + 200, a_alt.Make("post", 5, "fork at 11"));
  batch.insert(batch.begin() + 50, VectorMessage("tampered-content"));
  batch.insert(batch.begin() + 70, batch[3]);        // duplicate
  batch.insert(batch.begin() + 80, b.Make("post", 1));  // gap for b
  batch.push_back(VectorMessage("size-8193-ascii"));
  std::vector<std::string> serial;
  for (bool prepared : {false, true}) {
    TempDir dir;
    auto store = OpenStore(dir.File("db.sqlite"));
    AppendOptions opt;
    auto outs = AppendEither(*store, batch, opt, prepared);
    REQUIRE(outs.ok());
    std::vector<std::string> got;
    for (const auto& o : *outs) {
      got.push_back(std::to_string(static_cast<int>(o.kind)) + " " + o.status.ToString());
    }
    if (!prepared) {
      serial = got;
    } else {
      CHECK(got == serial);
    }
    CHECK(Count(*outs, AppendKind::kDuplicate) == 1);
    CHECK(store->Stats()->forks == 1);
  }
  // Skipping signatures accepts a forged message: the caller's responsibility.
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  AppendOptions trust;
  trust.validate.verify_signature = false;
  CHECK(store->Append(VectorMessage("tampered-content"), trust).ok());
}

TEST_CASE("HMAC-signed messages need the network's key") {
  json::Value doc = ReadVectorJson("generated/messages.json");
  auto key = Base64DecodeCanonical(Str(doc, "hmac_key_b64"));
  REQUIRE(key);
  REQUIRE(key->size() == 32);
  bool prepared = GENERATE(false, true);
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  Message m = VectorMessage("hmac-signed-valid");
  AppendOptions opt;
  auto r = AppendEither(*store, {m}, opt, prepared);
  REQUIRE(r.ok());
  CHECK((*r)[0].status.code() == Code::kInvalidMessage);
  HmacKey k;
  std::copy(key->begin(), key->end(), k.begin());
  opt.validate.hmac_key = k;
  auto outs = AppendEither(*store, {m}, opt, prepared);
  REQUIRE(outs.ok());
  CHECK((*outs)[0].kind == AppendKind::kAppended);
}

namespace {

// A post by `keys` after `prev` whose text mentions `text`.
Message PostMentioning(const Keypair& keys, std::optional<FeedState>& prev, const std::string& text) {
  auto c = json::Value::Object();
  c.Set("type", json::Value::String("post"));
  c.Set("text", json::Value::String(text));
  auto m = CreateMessage(keys, prev ? &*prev : nullptr, c, 1000.0 + (prev ? static_cast<double>(prev->sequence) : 0));
  REQUIRE(m.ok());
  prev = FeedState{m->id(), prev ? prev->sequence + 1 : 1};
  return std::move(m).value();
}

std::string BlobIdOf(int i) {
  auto d = Sha256(std::span(reinterpret_cast<const uint8_t*>(&i), sizeof i));
  return "&" + Base64Encode(d) + ".sha256";
}

std::vector<std::string> Referenced(Store& s) {
  std::vector<std::string> out;
  REQUIRE(s.ReferencedBlobs([&](const std::string& id) {
    out.push_back(id);
    return true;
  }).ok());
  return out;
}

}  // namespace

TEST_CASE("appends index the blobs a message references, newest reference first") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  auto keys = Keypair::FromSeed(std::array<uint8_t, 32>{11});
  std::optional<FeedState> prev;
  REQUIRE(store->Append(PostMentioning(keys, prev, "see " + BlobIdOf(1) + " and " + BlobIdOf(2))).ok());
  REQUIRE(store->Append(PostMentioning(keys, prev, "no blob, & no id &abc.sha256")).ok());
  REQUIRE(store->Append(PostMentioning(keys, prev, "again " + BlobIdOf(1))).ok());
  CHECK(Referenced(*store) == std::vector<std::string>{BlobIdOf(1), BlobIdOf(2)});
  // A rejected message (a gap) indexes nothing.
  std::optional<FeedState> skip = FeedState{prev->id, prev->sequence + 1};
  auto gap = PostMentioning(keys, skip, BlobIdOf(3));
  CHECK_FALSE(store->Append(gap).ok());
  CHECK(Referenced(*store).size() == 2);
}

// What turns a schema 3 store back into schema 2 (formats/store-schema.md "Version history").
// What schema 4 added (imports), and schema 3 (links, deletions).
const std::string kUndoSchema4 = "DROP TABLE imports; DROP TABLE feed_floors; ";
const std::string kUndoSchema3 =
    "DROP TABLE links; DROP TABLE deleted; DROP INDEX messages_ptype; DROP INDEX messages_rts; "
    "ALTER TABLE messages DROP COLUMN ptype; CREATE INDEX messages_claimed ON messages "
    "(claimed_ts);";

TEST_CASE("a schema 1 store is migrated and its blob references filled in once") {
  if (std::system("command -v sqlite3 >/dev/null 2>&1") != 0) {
    WARN("SKIPPED: the sqlite3 shell is not installed (Debian package sqlite3)");
    return;
  }
  TempDir dir;
  std::string path = dir.File("db.sqlite");
  auto keys = Keypair::FromSeed(std::array<uint8_t, 32>{12});
  {
    auto store = OpenStore(path);
    std::optional<FeedState> prev;
    REQUIRE(store->Append(PostMentioning(keys, prev, BlobIdOf(5))).ok());
    REQUIRE(store->Append(PostMentioning(keys, prev, "plain")).ok());
    REQUIRE(store->Append(PostMentioning(keys, prev, BlobIdOf(6))).ok());
  }
  // Make it what schema 1 wrote: no blob_refs table, nor what schemas 3 and 4 added.
  std::string cmd = "sqlite3 '" + path + "' 'DROP TABLE blob_refs; " + kUndoSchema4 +
                    kUndoSchema3 + " PRAGMA user_version=1;'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  auto store = OpenStore(path);
  CHECK(Referenced(*store) == std::vector<std::string>{BlobIdOf(6), BlobIdOf(5)});
  CHECK(store->Stats().value().messages == 3);
}

TEST_CASE("a store transaction makes many appends visible together, or not at all") {
  TempDir dir;
  std::string path = dir.File("db.sqlite");
  auto store = OpenStore(path);
  auto keys = Keypair::FromSeed(std::array<uint8_t, 32>{13});
  std::optional<FeedState> prev;
  std::vector<Message> first, second;
  for (int i = 0; i < 3; ++i) first.push_back(PostMentioning(keys, prev, "one " + std::to_string(i)));
  for (int i = 0; i < 3; ++i) second.push_back(PostMentioning(keys, prev, "two " + std::to_string(i)));
  {
    auto tx = store->BeginTransaction();
    REQUIRE(tx.ok());
    CHECK(store->BeginTransaction().status().code() == Code::kInvalidArgument);
    REQUIRE(store->AppendBatch(first).ok());
    REQUIRE(store->AppendBatch(second).ok());
    CHECK(store->Latest(keys.id()).value()->sequence == 6);  // seen inside
    // Another connection sees nothing yet.
    StoreOptions ro;
    ro.read_only = true;
    auto other = OpenStore(path, ro);
    CHECK_FALSE(other->Latest(keys.id()).value().has_value());
  }  // rolled back
  CHECK_FALSE(store->Latest(keys.id()).value().has_value());
  {
    auto tx = store->BeginTransaction();
    REQUIRE(tx.ok());
    REQUIRE(store->AppendBatch(first).ok());
    // A call that fails inside rolls back only itself (a savepoint).
    auto bad = second;
    bad.erase(bad.begin());  // a gap: rejected, nothing of it stored
    auto r = store->AppendBatch(bad);
    REQUIRE(r.ok());
    CHECK((*r)[0].kind == AppendKind::kRejected);
    REQUIRE((*tx)->Commit().ok());
  }
  CHECK(store->Latest(keys.id()).value()->sequence == 3);
  CHECK(store->CheckIntegrity().ok());
}
