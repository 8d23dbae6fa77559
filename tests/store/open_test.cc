// Opening the store: foreign, corrupt, newer and unreachable files give clear errors; read-only
// stores; a reader in one process while another process writes.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <random>
#include <thread>

#include "store_test_util.h"

using namespace ssb;
using namespace ssb::test;

namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string BigEndian32(uint32_t v) {
  return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// A closed store file with a few messages (no -wal left behind).
void MakeStore(const std::string& path, int messages = 5) {
  auto store = OpenStore(path);
  Chain c(21);
  std::vector<Message> batch;
  for (int i = 0; i < messages; ++i) batch.push_back(c.Next("post", 1000 + i, "hello"));
  auto r = store->AppendBatch(batch);
  REQUIRE(r.ok());
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Status OpenStatus(const std::string& path, bool read_only = false) {
  StoreOptions opt;
  opt.read_only = read_only;
  return Store::Open(path, opt).status();
}

}  // namespace

TEST_CASE("a new store is identified by application_id and user_version") {
  TempDir dir;
  std::string path = dir.File("db.sqlite");
  MakeStore(path);
  CHECK_FALSE(Exists(path + "-wal"));  // the last close checkpoints and removes the WAL
  std::string bytes = ReadAll(path);
  REQUIRE(bytes.size() >= 100);
  CHECK(bytes.substr(0, 16) == std::string("SQLite format 3\0", 16));
  CHECK(bytes.substr(68, 4) == BigEndian32(kStoreApplicationId));
  CHECK(bytes.substr(68, 4) == "ssbS");
  CHECK(bytes.substr(60, 4) == BigEndian32(kStoreSchemaVersion));
  auto store = OpenStore(path);
  CHECK(store->Stats()->messages == 5);
}

TEST_CASE("a file of random bytes is reported as corrupt, and left alone") {
  TempDir dir;
  std::string path = dir.File("db.sqlite");
  std::string junk = RandomBytes(16384, 1);
  WriteBytes(path, junk);
  for (bool ro : {false, true}) {
    Status s = OpenStatus(path, ro);
    INFO(s.ToString());
    CHECK(s.code() == Code::kCorruption);
    CHECK(s.message().find(path) != std::string::npos);
    CHECK(s.message().find("not a scuttlesync store or is damaged") != std::string::npos);
  }
  CHECK(ReadAll(path) == junk);
  CHECK_FALSE(Exists(path + "-wal"));
}

TEST_CASE("an SQLite file of another application is refused, and left alone") {
  TempDir dir;
  std::string path = dir.File("db.sqlite");
  MakeStore(path);
  SECTION("another application_id") { WriteBytes(path, BigEndian32(0x4750534b), 68, false); }
  SECTION("no application_id but tables") { WriteBytes(path, BigEndian32(0), 68, false); }
  std::string before = ReadAll(path);
  for (bool ro : {false, true}) {
    Status s = OpenStatus(path, ro);
    INFO(s.ToString());
    CHECK(s.code() == Code::kInvalidArgument);
    CHECK(s.message().find(path) != std::string::npos);
    CHECK(s.message().find("another application") != std::string::npos);
  }
  CHECK(ReadAll(path) == before);
}

TEST_CASE("a store of ours with a table or column gone is reported as damaged") {
  if (std::system("command -v sqlite3 >/dev/null 2>&1") != 0) {
    WARN("SKIPPED: the sqlite3 shell is not installed (Debian package sqlite3)");
    return;
  }
  TempDir dir;
  std::string path = dir.File("db.sqlite");
  MakeStore(path);
  SECTION("a table dropped: refused at open") {
    REQUIRE(std::system(("sqlite3 '" + path + "' 'DROP TABLE forks;'").c_str()) == 0);
    for (bool ro : {false, true}) {
      Status s = OpenStatus(path, ro);
      INFO(s.ToString());
      CHECK(s.code() == Code::kCorruption);
      CHECK(s.message().find("schema is damaged") != std::string::npos);
      CHECK(s.message().find(path) != std::string::npos);
    }
  }
  SECTION("a column dropped: the first query that needs it says so") {
    REQUIRE(std::system(("sqlite3 '" + path + "' 'ALTER TABLE messages DROP COLUMN plaintext;'")
                            .c_str()) == 0);
    StoreOptions o;
    o.read_only = true;
    auto store = Store::Open(path, o);
    REQUIRE(store.ok());
    auto feeds = (*store)->Feeds();
    REQUIRE(feeds.ok());
    REQUIRE_FALSE(feeds->empty());
    HistoryQuery q;
    q.author = feeds->front().author;
    auto history = (*store)->History(q);
    REQUIRE_FALSE(history.ok());
    INFO(history.status().ToString());
    CHECK(history.status().code() == Code::kCorruption);
    CHECK(history.status().message().find("schema is damaged") != std::string::npos);
  }
}

TEST_CASE("databases made by other programs (sqlite3 shell) are refused, and left alone") {
  if (std::system("command -v sqlite3 >/dev/null 2>&1") != 0) {
    WARN("SKIPPED: the sqlite3 shell is not installed (Debian package sqlite3); the foreign "
         "application_id test above covers the check");
    return;
  }
  TempDir dir;
  struct Case {
    const char* name;
    const char* sql;
  } cases[] = {
      {"geopackage.sqlite", "PRAGMA application_id=1196444487; CREATE TABLE gpkg_contents(x);"},
      {"plain.sqlite", "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);"},
      {"versioned.sqlite", "PRAGMA user_version=7;"},
  };
  for (const auto& c : cases) {
    std::string path = dir.File(c.name);
    std::string cmd = "sqlite3 '" + path + "' '" + c.sql + "'";
    REQUIRE(std::system(cmd.c_str()) == 0);
    std::string before = ReadAll(path);
    for (bool ro : {false, true}) {
      Status s = OpenStatus(path, ro);
      INFO(c.name << " " << s.ToString());
      CHECK(s.code() == Code::kInvalidArgument);
      CHECK(s.message().find("another application") != std::string::npos);
    }
    CHECK(ReadAll(path) == before);
  }
}

TEST_CASE("a store written by a newer version is refused") {
  TempDir dir;
  std::string path = dir.File("db.sqlite");
  MakeStore(path);
  WriteBytes(path, BigEndian32(kStoreSchemaVersion + 1), 60, false);
  for (bool ro : {false, true}) {
    Status s = OpenStatus(path, ro);
    INFO(s.ToString());
    CHECK(s.code() == Code::kUnsupported);
    CHECK(s.message().find("newer") != std::string::npos);
    CHECK(s.message().find(path) != std::string::npos);
  }
}

TEST_CASE("an empty file becomes a store, missing files are not created when asked not to") {
  TempDir dir;
  std::string path = dir.File("db.sqlite");
  WriteBytes(path, "");
  CHECK(OpenStatus(path, true).code() == Code::kNotFound);
  CHECK(OpenStatus(path).ok());
  std::string missing = dir.File("missing.sqlite");
  CHECK(OpenStatus(missing, true).code() == Code::kNotFound);
  StoreOptions opt;
  opt.create_if_missing = false;
  Status s = Store::Open(missing, opt).status();
  CHECK(s.code() == Code::kNotFound);
  CHECK(s.message().find(missing) != std::string::npos);
  CHECK_FALSE(Exists(missing));
  CHECK(OpenStatus(dir.path()).code() == Code::kInvalidArgument);  // a directory
  CHECK(OpenStatus("").code() == Code::kInvalidArgument);
}

TEST_CASE("damaged pages are reported as corruption, never a crash") {
  TempDir dir;
  std::string path = dir.File("db.sqlite");
  MakeStore(path, 300);
  std::string bytes = ReadAll(path);
  REQUIRE(bytes.size() > 8 * 4096);
  // Keep the header page, overwrite everything after the schema pages.
  WriteBytes(path, RandomBytes(bytes.size() - 3 * 4096, 7), 3 * 4096, false);
  StoreOptions opt;
  auto store = Store::Open(path, opt);
  if (!store.ok()) {
    INFO(store.status().ToString());
    CHECK(store.status().code() == Code::kCorruption);
    return;
  }
  Status integrity = (*store)->CheckIntegrity();
  INFO(integrity.ToString());
  CHECK(integrity.code() == Code::kCorruption);
  auto all = (*store)->LogStream(RangeQuery{});
  if (!all.ok()) CHECK(all.status().code() == Code::kCorruption);
}

TEST_CASE("unreachable paths give a clear error naming the path") {
  TempDir dir;
  std::string file = dir.File("regular-file");
  WriteBytes(file, "not a directory");
  std::string path = file + "/db.sqlite";
  for (bool ro : {false, true}) {
    Status s = OpenStatus(path, ro);
    INFO(s.ToString());
    CHECK(s.code() == Code::kIoError);
    CHECK(s.message().find(path) != std::string::npos);
    CHECK(s.message().find("not a directory") != std::string::npos);
  }
  Status s = OpenStatus(dir.File("no/such/dir/db.sqlite"));
  CHECK(s.code() == Code::kNotFound);
  CHECK(s.message().find("no/such/dir") != std::string::npos);
}

TEST_CASE("a read-only store reads, and refuses writes with kPermissionDenied") {
  TempDir dir;
  std::string path = dir.File("db.sqlite");
  MakeStore(path);
  StoreOptions ro;
  ro.read_only = true;
  auto store = OpenStore(path, ro);
  CHECK(store->Stats()->messages == 5);
  Chain other(22);
  auto r = store->Append(other.Next("post", 1));
  INFO(r.status().ToString());
  CHECK(r.status().code() == Code::kPermissionDenied);
  CHECK(r.status().message().find(path) != std::string::npos);
  CHECK(store->Stats()->messages == 5);
}

TEST_CASE("directories and files without write permission (skipped as root)") {
  if (::geteuid() == 0) {
    WARN("SKIPPED: running as root, which ignores file permissions; the parent-is-a-file test "
         "covers unreachable paths instead");
    return;
  }
  TempDir dir;
  std::string sub = dir.File("ro");
  REQUIRE(::mkdir(sub.c_str(), 0700) == 0);
  std::string path = sub + "/db.sqlite";
  MakeStore(path);
  REQUIRE(::chmod(sub.c_str(), 0500) == 0);
  Status s = OpenStatus(path);
  INFO(s.ToString());
  CHECK(s.code() == Code::kPermissionDenied);
  CHECK(s.message().find(path) != std::string::npos);
  // Reading still works from a read-only directory.
  {
    StoreOptions ro;
    ro.read_only = true;
    auto store = Store::Open(path, ro);
    INFO(store.status().ToString());
    CHECK(store.ok());
    if (store.ok()) CHECK((*store)->Stats()->messages == 5);
  }
  s = OpenStatus(sub + "/new.sqlite");
  CHECK(s.code() == Code::kPermissionDenied);
  REQUIRE(::chmod(sub.c_str(), 0700) == 0);
  REQUIRE(::chmod(path.c_str(), 0400) == 0);
  s = OpenStatus(path);
  CHECK(s.code() == Code::kPermissionDenied);
  CHECK(s.message().find("not writable") != std::string::npos);
}

TEST_CASE("a read-only Store in another process reads consistent snapshots while one writes") {
  TempDir dir;
  std::string path = dir.File("db.sqlite");
  { auto init = OpenStore(path); }
  // Pre-generate so that the writer does nothing but append.
  constexpr int kFeeds = 3, kPerFeed = 400, kBatch = 40;
  std::vector<Chain> chains;
  for (int f = 0; f < kFeeds; ++f) chains.emplace_back(static_cast<uint8_t>(30 + f));
  std::vector<Message> all;
  for (int i = 0; i < kPerFeed; ++i) {
    for (auto& c : chains) all.push_back(c.Next("post", 1000 + i, "concurrent"));
  }
  std::fflush(nullptr);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Child: the writer. No Catch2 macros here; the exit code says how it went.
    auto w = Store::Open(path, StoreOptions{});
    if (!w.ok()) ::_exit(2);
    for (size_t i = 0; i < all.size(); i += kBatch) {
      size_t n = std::min<size_t>(kBatch, all.size() - i);
      auto r = (*w)->AppendBatch(std::span<const Message>(all.data() + i, n));
      if (!r.ok()) ::_exit(3);
      for (const auto& o : *r) {
        if (o.kind != AppendKind::kAppended) ::_exit(4);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ::_exit(0);
  }
  StoreOptions ro;
  ro.read_only = true;
  auto reader = OpenStore(path, ro);
  int64_t last_total = 0;
  int snapshots = 0, partial = 0;
  int status = 0;
  for (;;) {
    bool done = ::waitpid(pid, &status, WNOHANG) == pid;
    auto clock = reader->Clock();
    REQUIRE(clock.ok());
    int64_t total = 0;
    for (const auto& [author, seq] : *clock) {
      // Each feed reads as an unbroken chain up to at least what the clock said.
      HistoryQuery q;
      q.author = author;
      auto hist = reader->History(q);
      REQUIRE(hist.ok());
      REQUIRE(static_cast<int64_t>(hist->size()) >= seq);
      const FeedState* prev = nullptr;
      FeedState st;
      for (const auto& m : *hist) {
        auto parsed = Message::Parse(m.value_json);
        REQUIRE(parsed.ok());
        ValidateOptions vo;
        vo.verify_signature = false;
        REQUIRE(Validate(*parsed, prev, vo).ok());
        st = FeedState{m.key, m.sequence};
        prev = &st;
      }
      total += seq;
    }
    CHECK(total >= last_total);
    CHECK(total % kBatch == 0);  // batches are atomic
    if (total > 0 && total < static_cast<int64_t>(all.size())) ++partial;
    last_total = total;
    ++snapshots;
    if (done) break;
  }
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(last_total == static_cast<int64_t>(all.size()));
  INFO("snapshots " << snapshots << ", during the write " << partial);
  CHECK(partial > 0);
}
