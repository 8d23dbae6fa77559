// What the store keeps for imports of other implementations' logs: kept receive times, the
// import bookkeeping rows and feed floors, and the migration from schema 2.
#include <cmath>

#include "store/store_test_util.h"

namespace ssb::test {
namespace {

TEST_CASE("imported messages keep their receive times, raised only to stay increasing") {
  TempDir dir;
  StoreOptions opt;
  double now = 1'800'000'000'000;
  opt.clock = [&] { return now; };
  auto store = OpenStore(dir.File("db.sqlite"), opt);
  Chain a(21);
  std::vector<Message> msgs;
  for (int i = 0; i < 7; ++i) msgs.push_back(a.Next("post", 1'600'000'000'000 + i));
  // Kept; tie; backwards; NaN (the clock); kept; in the future (the clock); kept but below.
  std::vector<double> received = {1'700'000'000'000.5, 1'700'000'000'000.5, 1'600'000'000'000,
                                  NAN, 1'799'000'000'000, 1'900'000'000'000, 1'799'000'000'001};
  // As the ingest stage hands them over (ssb/ingest.h "Importing another log").
  std::vector<PreparedMessage> prepared;
  for (size_t i = 0; i < msgs.size(); ++i) {
    prepared.push_back(PrepareMessage(msgs[i]));
    prepared.back().received = received[i];
  }
  std::vector<const PreparedMessage*> ptrs;
  for (const auto& p : prepared) ptrs.push_back(&p);
  auto out = store->AppendPrepared(ptrs);
  REQUIRE(out.ok());
  std::vector<double> got;
  for (const auto& o : *out) {
    REQUIRE(o.kind == AppendKind::kAppended);
    got.push_back(o.received);
  }
  CHECK(got[0] == 1'700'000'000'000.5);
  CHECK(got[1] == Approx(1'700'000'000'000.501).epsilon(0));
  CHECK(got[2] == Approx(1'700'000'000'000.502).epsilon(0));
  CHECK(got[3] == now);
  CHECK(got[4] == Approx(now + 0.001).epsilon(0));  // 1'799… is below the latest (now)
  CHECK(got[5] == Approx(now + 0.002).epsilon(0));
  CHECK(got[6] == Approx(now + 0.003).epsilon(0));
  for (size_t i = 1; i < got.size(); ++i) CHECK(got[i] > got[i - 1]);
  // What a read returns is what the outcome said.
  auto log = store->LogStream(RangeQuery{});
  REQUIRE(log.ok());
  for (size_t i = 0; i < got.size(); ++i) CHECK((*log)[i].received == got[i]);
}

TEST_CASE("import rows are written, replaced and read back, inside a transaction they roll back") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  CHECK(store->Imports()->empty());
  CHECK_FALSE(store->Import("flume/log.offset")->has_value());
  ImportState st;
  st.source = "flume/log.offset";
  st.format = "flume-log-offset";
  st.next_offset = 465;
  st.last_offset = 0;
  st.last_digest = std::string(64, 'a');
  st.records = 1;
  st.stored = 1;
  st.file_size = 1000;
  st.file_mtime_ns = 123456789012345678;
  st.started = 1.5;
  REQUIRE(store->PutImport(st).ok());
  auto back = store->Import("flume/log.offset");
  REQUIRE(back.ok());
  REQUIRE(back->has_value());
  CHECK((*back)->next_offset == 465);
  CHECK((*back)->last_digest == st.last_digest);
  CHECK((*back)->file_mtime_ns == 123456789012345678);
  CHECK_FALSE((*back)->finished);
  st.finished = 2.5;
  st.next_offset = 930;
  REQUIRE(store->PutImport(st).ok());
  REQUIRE(store->Imports()->size() == 1);
  CHECK(store->Import("flume/log.offset").value()->finished == 2.5);
  {
    auto tx = store->BeginTransaction();
    REQUIRE(tx.ok());
    st.next_offset = 2000;
    REQUIRE(store->PutImport(st).ok());
    REQUIRE(store->RaiseFeedFloor("@x", 9, "flume/log.offset").ok());
    CHECK(store->Import("flume/log.offset").value()->next_offset == 2000);
    // dropped without Commit: rolled back
  }
  CHECK(store->Import("flume/log.offset").value()->next_offset == 930);
  CHECK(store->FeedFloor("@x").value() == 0);
}

TEST_CASE("feed floors only rise") {
  TempDir dir;
  auto store = OpenStore(dir.File("db.sqlite"));
  CHECK(store->FeedFloor("@a").value() == 0);
  REQUIRE(store->RaiseFeedFloor("@a", 40, "flume/log.offset").ok());
  REQUIRE(store->RaiseFeedFloor("@a", 12, "db2/log.bipf").ok());
  CHECK(store->FeedFloor("@a").value() == 40);
  REQUIRE(store->RaiseFeedFloor("@a", 41, "db2/log.bipf").ok());
  CHECK(store->FeedFloor("@a").value() == 41);
  CHECK(store->FeedFloor("@b").value() == 0);
}

TEST_CASE("a schema 3 store gains the import tables and keeps its messages") {
  if (std::system("command -v sqlite3 >/dev/null 2>&1") != 0) {
    WARN("SKIPPED: the sqlite3 shell is not installed (Debian package sqlite3)");
    return;
  }
  TempDir dir;
  std::string path = dir.File("db.sqlite");
  Chain a(22);
  {
    auto store = OpenStore(path);
    for (int i = 0; i < 3; ++i) REQUIRE(store->Append(a.Next("post", 1000 + i)).ok());
  }
  std::string cmd = "sqlite3 '" + path +
                    "' 'DROP TABLE imports; DROP TABLE feed_floors; PRAGMA user_version=3;'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  auto store = OpenStore(path);
  CHECK(store->Stats()->messages == 3);
  CHECK(store->Imports()->empty());
  REQUIRE(store->RaiseFeedFloor(a.id(), 3, "x").ok());
  CHECK(store->FeedFloor(a.id()).value() == 3);
}

}  // namespace
}  // namespace ssb::test
