// Importing old logs into the store (ssb/migrate.h), in process, on logs made by our writers
// (whose bytes tests/oldlog proves equal to the JavaScript packages'). The same with logs made
// by ssb-server and ssb-db2 themselves is tests/cli/migrate_test.sh.
#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>

#include "ssb/migrate.h"
#include "ssb/oldlog.h"
#include "store/store_test_util.h"

namespace ssb::test {
namespace {

using oldlog::LogFormat;

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string Source(LogFormat f) {
  return f == LogFormat::kFlumeOffset ? "flume/log.offset" : "db2/log.bipf";
}

// Writes `lines` (with their values as given, keys and timestamps) as DIR/<source>.
void WriteOldLog(const std::string& dir, LogFormat f, const std::vector<KvtLine>& lines) {
  std::string path = dir + "/" + Source(f);
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::filesystem::remove(path);
  auto w = oldlog::LogWriter::Create(path, f);
  REQUIRE(w.ok());
  for (const auto& l : lines) {
    std::string data = oldlog::EncodeRecord(f, l.key, l.msg.value(), l.timestamp);
    REQUIRE((*w)->Append(Bytes(data)).ok());
  }
  REQUIRE((*w)->Flush().ok());
}

struct Events {
  std::map<MigrateEvent::Kind, int> count;
  std::vector<Status> rejected;
  std::vector<std::string> restarts;
};

Result<std::vector<ImportState>> Run(Store& store, const std::string& dir, Events* ev = nullptr,
                                     MigrateOptions opt = {}) {
  if (ev) {
    opt.on_event = [ev](const MigrateEvent& e) {
      ev->count[e.kind]++;
      if (e.kind == MigrateEvent::Kind::kRejected) ev->rejected.push_back(e.status);
      if (e.kind == MigrateEvent::Kind::kRestart) ev->restarts.push_back(e.what);
    };
  }
  return Migrate(store, FindOldLogs(dir), opt);
}

Keypair Alice() {
  auto k = LoadSecretFile(VectorPath("generated/keys/secret.alice"));
  REQUIRE(k.ok());
  return std::move(k).value();
}

TEST_CASE("migrate: every message of an old log, byte for byte, in log order, with its receive time") {
  auto lines = LoadKvt("generated/feeds.jsonl");
  REQUIRE(lines.size() == 250);
  for (LogFormat f : {LogFormat::kFlumeOffset, LogFormat::kDb2Bipf}) {
    INFO(Source(f));
    TempDir dir;
    WriteOldLog(dir.path(), f, lines);
    auto store = OpenStore(dir.File("db.sqlite"));
    auto logs = FindOldLogs(dir.path());
    REQUIRE(logs.size() == 1);
    CHECK(MigrationPending(*store, logs).value());
    Keypair alice = Alice();
    MigrateOptions opt;
    opt.self = &alice;
    opt.batch_records = 64;
    Events ev;
    auto st = Run(*store, dir.path(), &ev, opt);
    INFO(st.status().ToString());
    REQUIRE(st.ok());
    REQUIRE(st->size() == 1);
    const ImportState& s = st->front();
    CHECK(s.records == 250);
    CHECK(s.stored == 250);
    CHECK(s.invalid + s.forks + s.duplicates + s.damaged + s.deleted == 0);
    CHECK(s.finished);
    CHECK(ev.count[MigrateEvent::Kind::kProgress] == 4);  // 250 records in chunks of 64
    CHECK_FALSE(MigrationPending(*store, logs).value());
    auto log = store->LogStream(RangeQuery{});
    REQUIRE(log.ok());
    REQUIRE(log->size() == 250);
    for (size_t i = 0; i < 250; ++i) {
      CHECK((*log)[i].key == lines[i].key);
      CHECK((*log)[i].value_json == lines[i].wire);
      CHECK((*log)[i].received == lines[i].timestamp);
    }
    // alice's private messages were decrypted for her.
    auto stats = store->Stats();
    CHECK(stats->encrypted == 20);
    CHECK(stats->decrypted > 0);
    CHECK(store->FeedFloor(alice.id()).value() == 120);
    ReportLine("migrate " + Source(f) + ": 250/250 feeds.jsonl messages byte-identical, same "
               "keys, log order and receive times");

    // A second run finds nothing new and changes nothing.
    auto again = Run(*store, dir.path());
    REQUIRE(again.ok());
    CHECK(again->front().stored == 250);
    CHECK(again->front().records == 250);
    auto log2 = store->LogStream(RangeQuery{});
    REQUIRE(log2->size() == 250);
    // --from-start reads it all again: every record is a duplicate.
    MigrateOptions redo;
    redo.from_start = true;
    auto third = Run(*store, dir.path(), nullptr, redo);
    REQUIRE(third.ok());
    CHECK(third->front().records == 500);
    CHECK(third->front().duplicates == 250);
    CHECK(store->Stats()->messages == 250);
  }
}

TEST_CASE("migrate: a log that grew is continued where the last import stopped") {
  auto lines = LoadKvt("generated/feeds.jsonl");
  for (LogFormat f : {LogFormat::kFlumeOffset, LogFormat::kDb2Bipf}) {
    INFO(Source(f));
    TempDir dir;
    std::vector<KvtLine> first(lines.begin(), lines.begin() + 100);
    WriteOldLog(dir.path(), f, first);
    auto store = OpenStore(dir.File("db.sqlite"));
    REQUIRE(Run(*store, dir.path()).ok());
    CHECK(store->Stats()->messages == 100);
    // The old application ran on and appended the rest (in ssb-db2, partly into the same block:
    // the size may stay the same, the modification time changes).
    WriteOldLog(dir.path(), f, lines);
    struct timespec later[2] = {{0, UTIME_OMIT}, {2'000'000'000, 0}};
    REQUIRE(::utimensat(AT_FDCWD, (dir.path() + "/" + Source(f)).c_str(), later, 0) == 0);
    CHECK(MigrationPending(*store, FindOldLogs(dir.path())).value());
    Events ev;
    auto st = Run(*store, dir.path(), &ev);
    REQUIRE(st.ok());
    CHECK(ev.restarts.empty());
    CHECK(st->front().records == 250);
    CHECK(st->front().stored == 250);
    CHECK(st->front().duplicates == 0);
    CHECK(store->Stats()->messages == 250);
  }
}

TEST_CASE("migrate: a log rewritten under the import (compaction) is read again from the start") {
  auto lines = LoadKvt("generated/feeds.jsonl");
  TempDir dir;
  WriteOldLog(dir.path(), LogFormat::kDb2Bipf, lines);
  auto store = OpenStore(dir.File("db.sqlite"));
  REQUIRE(Run(*store, dir.path()).ok());
  // Compaction removed the record of a message (deleted in ssb-db2) and shifted the rest.
  std::vector<KvtLine> compacted = lines;
  compacted.erase(compacted.begin() + 7);
  WriteOldLog(dir.path(), LogFormat::kDb2Bipf, compacted);
  struct timespec later[2] = {{0, UTIME_OMIT}, {2'000'000'000, 0}};
  REQUIRE(::utimensat(AT_FDCWD, dir.File("db2/log.bipf").c_str(), later, 0) == 0);
  Events ev;
  auto st = Run(*store, dir.path(), &ev);
  REQUIRE(st.ok());
  REQUIRE(ev.restarts.size() == 1);
  CHECK(ev.restarts[0].find("compacted or replaced") != std::string::npos);
  CHECK(st->front().duplicates == 249);
  CHECK(store->Stats()->messages == 250);
}

TEST_CASE("migrate: invalid records are reported and skipped, forks recorded, damage survived") {
  auto lines = LoadKvt("generated/feeds.jsonl");
  std::vector<KvtLine> log(lines.begin(), lines.begin() + 40);
  // alice's first message with another content: validly signed at a held sequence, a fork.
  auto alice = Alice();
  json::Value c = json::Value::Object();
  c.Set("type", json::Value::String("post"));
  c.Set("text", json::Value::String("the other first message"));
  auto fork = CreateMessage(alice, nullptr, c, 1'600'000'000'000);
  REQUIRE(fork.ok());
  log.push_back(KvtLine{fork->id(), fork->Wire(), "", 1'700'000'000'000, *fork});
  // A message whose signature does not match.
  json::Value bad = lines[40].msg.value();
  bad.Set("timestamp", json::Value::Number(1));
  Message tampered = Message::FromValue(bad);
  log.push_back(KvtLine{lines[40].key, tampered.Wire(), "", 1'700'000'000'001, tampered});
  log.insert(log.end(), lines.begin() + 41, lines.begin() + 60);
  for (LogFormat f : {LogFormat::kFlumeOffset, LogFormat::kDb2Bipf}) {
    INFO(Source(f));
    TempDir dir;
    WriteOldLog(dir.path(), f, log);
    auto store = OpenStore(dir.File("db.sqlite"));
    Events ev;
    auto st = Run(*store, dir.path(), &ev);
    REQUIRE(st.ok());
    const ImportState& s = st->front();
    CHECK(s.records == 61);
    CHECK(s.forks == 1);
    CHECK(s.invalid >= 1);  // the tampered one, and messages after it in its feed (a gap)
    CHECK(s.stored + s.invalid + s.forks == 61);
    auto forks = store->ListForks();
    REQUIRE(forks->size() == 1);
    CHECK(forks->front().offending_key == fork->id());
    CHECK(ev.rejected.size() == static_cast<size_t>(s.invalid + s.forks));
    CHECK_FALSE(store->Get(tampered.id()).ok());
  }
}

TEST_CASE("migrate: our own feed's floor comes from the old log, even past damage") {
  auto alice = Alice();
  auto lines = LoadKvt("generated/feeds.jsonl");
  std::vector<KvtLine> own;
  for (const auto& l : lines)
    if (l.msg.author() == alice.id()) own.push_back(l);
  REQUIRE(own.size() == 120);
  TempDir dir;
  WriteOldLog(dir.path(), LogFormat::kFlumeOffset, own);
  // Damage the record of alice's message 50: her messages 50..120 cannot be stored, but
  // those after it are authentic and show that her feed is at 120.
  auto r = oldlog::LogReader::Open(dir.File("flume/log.offset"), LogFormat::kFlumeOffset);
  REQUIRE(r.ok());
  oldlog::LogItem item;
  for (int i = 0; i < 50; ++i) REQUIRE((*r)->Next(&item).value());
  uint64_t at = item.offset + 4 + item.bytes.size() - 30;  // inside its signature
  {
    std::fstream fs(dir.File("flume/log.offset"), std::ios::binary | std::ios::in | std::ios::out);
    fs.seekp(static_cast<std::streamoff>(at));
    fs.put('#');
  }
  auto store = OpenStore(dir.File("db.sqlite"));
  MigrateOptions opt;
  opt.self = &alice;
  auto st = Run(*store, dir.path(), nullptr, opt);
  REQUIRE(st.ok());
  CHECK(st->front().stored == 49);
  CHECK(store->Latest(alice.id()).value()->sequence == 49);
  CHECK(store->FeedFloor(alice.id()).value() == 120);
}

TEST_CASE("migrate: two importers of one log do not interleave") {
  auto lines = LoadKvt("generated/feeds.jsonl");
  TempDir dir;
  WriteOldLog(dir.path(), LogFormat::kFlumeOffset, lines);
  auto store = OpenStore(dir.File("db.sqlite"));
  auto other = OpenStore(dir.File("db.sqlite"));
  MigrateOptions opt;
  opt.batch_records = 50;
  bool moved = false;
  opt.on_event = [&](const MigrateEvent& e) {
    if (e.kind != MigrateEvent::Kind::kProgress || moved) return;
    moved = true;
    // Another process committed a chunk of its own meanwhile.
    ImportState s = *e.state;
    s.next_offset += 1;
    REQUIRE(other->PutImport(s).ok());
  };
  auto st = Migrate(*store, FindOldLogs(dir.path()), opt);
  REQUIRE_FALSE(st.ok());
  CHECK(st.status().code() == Code::kBusy);
  CHECK(store->Stats()->messages == 50);  // the first chunk, committed before
}

}  // namespace
}  // namespace ssb::test
