// Bundles: codec round trips and every failure case of SNEAKERNET.md that the library sees.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "ssb/base64.h"
#include "ssb/bundle_sync.h"
#include "ssb/stick.h"
#include "ssb/files.h"
#include "support/vectors.h"

namespace fs = std::filesystem;
using namespace ssb;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/ssb-bundle-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

struct Node {
  std::unique_ptr<Store> store;
  std::optional<BlobStore> blobs;
  explicit Node(const std::string& dir) {
    fs::create_directories(dir);
    auto s = Store::Open(dir + "/db.sqlite");
    REQUIRE(s.ok());
    store = std::move(s).value();
    auto b = BlobStore::Open(dir + "/blobs");
    REQUIRE(b.ok());
    blobs = std::move(b).value();
  }
  void AddLines(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      auto kvt = json::Parse(line);
      REQUIRE(kvt.ok());
      auto r = store->Append(Message::FromValue(*kvt->Find("value")));
      REQUIRE(r.ok());
    }
  }
  std::map<std::string, int64_t> Clock() { return store->Clock().value(); }
};

Keypair Exporter() {
  std::array<uint8_t, 32> seed{};
  seed.fill(9);
  return Keypair::FromSeed(seed);
}

ExportOptions AllOptions() {
  ExportOptions o;
  o.all = true;
  o.network = NetworkIdFromKey(MainNetKey());
  return o;
}

ImportOptions Import(const std::string& pending = "") {
  ImportOptions o;
  o.network = NetworkIdFromKey(MainNetKey());
  o.pending_dir = pending;
  return o;
}

std::string ReadAll(const std::string& path) { return ReadFile(path).value(); }
void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

// Reads a bundle to its end: ok, or the first error.
Status ReadToEnd(const std::string& path) {
  auto r = BundleReader::Open(path);
  if (!r.ok()) return r.status();
  for (;;) {
    auto rec = (*r)->Next();
    if (!rec.ok()) return rec.status();
    if (!rec->has_value()) return Status::Ok();
  }
}

}  // namespace

TEST_CASE("export and import round trip, deterministic bytes, idempotent re-import") {
  TempDir t;
  Node a(t / "a");
  a.AddLines(test::ReadVectorFile("generated/feeds.jsonl"));
  a.AddLines(test::ReadVectorFile("real-feed-2018/feed.jsonl"));
  auto blob = a.blobs->Add(std::vector<uint8_t>(70000, 3));
  REQUIRE(blob.ok());
  auto exported = ExportBundle(*a.store, &*a.blobs, Exporter(), AllOptions(), t / "one.ssb-bundle");
  REQUIRE(exported.ok());
  CHECK(exported->messages == 485);
  auto again = ExportBundle(*a.store, &*a.blobs, Exporter(), AllOptions(), t / "two.ssb-bundle");
  REQUIRE(again.ok());
  CHECK(ReadAll(t / "one.ssb-bundle") == ReadAll(t / "two.ssb-bundle"));

  Node b(t / "b");
  auto r = ImportBundle(*b.store, &*b.blobs, t / "one.ssb-bundle", Import());
  REQUIRE(r.ok());
  CHECK(r->messages_applied == 485);
  CHECK(b.Clock() == a.Clock());
  // Byte-identical values on the other side.
  for (const auto& [feed, seq] : a.Clock()) {
    auto ours = a.store->History(HistoryQuery{feed, 1, -1, false}).value();
    auto theirs = b.store->History(HistoryQuery{feed, 1, -1, false}).value();
    REQUIRE(ours.size() == theirs.size());
    for (size_t i = 0; i < ours.size(); ++i) CHECK(ours[i].value_json == theirs[i].value_json);
  }
  auto twice = ImportBundle(*b.store, &*b.blobs, t / "one.ssb-bundle", Import());
  REQUIRE(twice.ok());
  CHECK(twice->messages_applied == 0);
  for (const auto& o : twice->ranges) CHECK(o.kind == RangeOutcome::Kind::kAlreadyHave);
}

TEST_CASE("blobs referenced by messages travel under the budget") {
  TempDir t;
  Node a(t / "a");
  auto keys = Keypair::FromSeed(std::array<uint8_t, 32>{1});
  std::optional<FeedState> prev;
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto id = a.blobs->Add(std::vector<uint8_t>(1000 * (i + 1), static_cast<uint8_t>(i)));
    REQUIRE(id.ok());
    ids.push_back(*id);
    auto c = json::Value::Object();
    c.Set("type", json::Value::String("post"));
    c.Set("text", json::Value::String("see " + *id));
    auto m = CreateMessage(keys, prev ? &*prev : nullptr, c, 1000 + i);
    REQUIRE(m.ok());
    REQUIRE(a.store->Append(*m).ok());
    prev = FeedState{m->id(), i + 1};
  }
  ExportOptions o = AllOptions();
  o.blob_budget = 3500;  // the first two fit
  auto e = ExportBundle(*a.store, &*a.blobs, keys, o, t / "b.ssb-bundle");
  REQUIRE(e.ok());
  CHECK(e->blobs == 2);
  Node b(t / "b");
  auto r = ImportBundle(*b.store, &*b.blobs, t / "b.ssb-bundle", Import());
  REQUIRE(r.ok());
  CHECK(r->blobs_stored == 2);
  CHECK(b.blobs->Has(ids[0]));
  CHECK(b.blobs->Has(ids[1]));
  CHECK_FALSE(b.blobs->Has(ids[2]));
}

TEST_CASE("failure cases: truncation, bit flips, garbage, versions, networks") {
  TempDir t;
  Node a(t / "a");
  // A small bundle so that every byte offset can be tried.
  std::istringstream in(test::ReadVectorFile("generated/feeds.jsonl"));
  std::string lines, line;
  for (int i = 0; i < 12 && std::getline(in, line); ++i) lines += line + "\n";
  a.AddLines(lines);
  REQUIRE(a.blobs->Add(std::vector<uint8_t>{1, 2, 3}).ok());
  auto e = ExportBundle(*a.store, &*a.blobs, Exporter(), AllOptions(), t / "small.ssb-bundle");
  REQUIRE(e.ok());
  std::string good = ReadAll(t / "small.ssb-bundle");
  REQUIRE(ReadToEnd(t / "small.ssb-bundle").ok());
  size_t cases = 0, passed = 0;

  // Truncation at every byte: never a clean end.
  for (size_t cut = 0; cut < good.size(); ++cut) {
    WriteAll(t / "cut", good.substr(0, cut));
    Status st = ReadToEnd(t / "cut");
    ++cases;
    passed += !st.ok() && st.code() == Code::kInvalidInput;
    if (st.ok()) FAIL("truncation at " << cut << " read as a clean end");
  }
  // A single flipped bit anywhere (header, signature, body, blob, trailer) is detected.
  std::mt19937 rng(7);
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ (1 << (rng() % 8)));
    WriteAll(t / "flip", bad);
    Status st = ReadToEnd(t / "flip");
    ++cases;
    passed += !st.ok();
    if (st.ok()) FAIL("bit flip at byte " << i << " was not detected");
  }
  // Garbage, empty file, data after the trailer.
  for (const std::string& junk : {std::string("foo\n"), std::string(), good + "x"}) {
    WriteAll(t / "junk", junk);
    Status st = ReadToEnd(t / "junk");
    ++cases;
    passed += st.code() == Code::kInvalidInput;
    CHECK(st.code() == Code::kInvalidInput);
  }
  // A newer version and an unknown critical capability are refused clearly.
  {
    BundleHeader h;
    h.network = NetworkIdFromKey(MainNetKey());
    h.set = std::string(64, 'a');
    h.critical = {"future-thing"};
    int fd = ::open((t / "crit").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    auto w = BundleWriter::Start(fd, h, Exporter());
    REQUIRE(w.ok());
    REQUIRE((*w)->Finish().ok());
    ::close(fd);
    Status st = ReadToEnd(t / "crit");
    ++cases;
    passed += st.code() == Code::kUnsupported;
    CHECK(st.code() == Code::kUnsupported);
    CHECK(st.message().find("future-thing") != std::string::npos);
  }
  {
    std::string v2 = good;
    auto pos = v2.find("\"version\":1");
    REQUIRE(pos != std::string::npos);
    v2[pos + 10] = '2';
    WriteAll(t / "v2", v2);
    Status st = ReadToEnd(t / "v2");
    ++cases;
    passed += st.code() == Code::kUnsupported;  // checked before the signature
    CHECK(st.code() == Code::kUnsupported);
  }
  // Another network: refused before anything is written.
  {
    Node b(t / "b");
    ImportOptions o = Import();
    std::array<uint8_t, 32> other{};
    o.network = NetworkIdFromKey(other);
    auto r = ImportBundle(*b.store, &*b.blobs, t / "small.ssb-bundle", o);
    ++cases;
    passed += r.status().code() == Code::kWrongNetwork;
    CHECK(r.status().message().find("network") != std::string::npos);
    CHECK(b.Clock().empty());
  }
  test::ReportCount("bundle failure cases (truncation, bit flips, garbage, version, network)",
                    passed, cases);
  CHECK(passed == cases);
}

TEST_CASE("parts: self-contained, any order, gaps wait as pending, forks are reported") {
  TempDir t;
  Node a(t / "a");
  a.AddLines(test::ReadVectorFile("real-feed-2018/feed.jsonl"));
  ExportOptions o = AllOptions();
  o.max_part = 30000;
  auto e = ExportBundle(*a.store, &*a.blobs, Exporter(), o, t / "feed.ssb-bundle");
  REQUIRE(e.ok());
  REQUIRE(e->files.size() > 3);
  for (const auto& f : e->files) {
    CHECK(fs::file_size(f) <= o.max_part);
    CHECK(ReadToEnd(f).ok());  // each part verifies on its own
  }
  // Import in reverse order: all but the first wait, then everything applies.
  Node b(t / "b");
  std::string pending = t / "b/pending";
  for (size_t i = e->files.size(); i-- > 1;) {
    auto r = ImportBundle(*b.store, &*b.blobs, e->files[i], Import(pending));
    REQUIRE(r.ok());
    CHECK(r->pending);
    CHECK(r->ranges[0].kind == RangeOutcome::Kind::kMissingPrerequisite);
    CHECK(r->ranges[0].need_from == 1);
  }
  CHECK(b.Clock().empty());
  auto first = ImportBundle(*b.store, &*b.blobs, e->files[0], Import(pending));
  REQUIRE(first.ok());
  auto rest = ImportPending(*b.store, &*b.blobs, Import(pending));
  REQUIRE(rest.ok());
  CHECK(b.Clock() == a.Clock());
  CHECK(fs::is_empty(pending));

  // A fork: a different message 2 of a feed we hold. Reported with both ids, not applied.
  Node c(t / "c");
  auto keys = Keypair::FromSeed(std::array<uint8_t, 32>{5});
  auto post = [&](const char* text) {
    auto v = json::Value::Object();
    v.Set("type", json::Value::String("post"));
    v.Set("text", json::Value::String(text));
    return v;
  };
  auto m1 = CreateMessage(keys, nullptr, post("one"), 1);
  FeedState s1{m1->id(), 1};
  auto m2 = CreateMessage(keys, &s1, post("two"), 2);
  auto m2b = CreateMessage(keys, &s1, post("two, forked"), 2);
  REQUIRE(c.store->Append(*m1).ok());
  REQUIRE(c.store->Append(*m2).ok());
  Node d(t / "d");
  REQUIRE(d.store->Append(*m1).ok());
  REQUIRE(d.store->Append(*m2b).ok());
  auto fork_file = ExportBundle(*d.store, &*d.blobs, keys, AllOptions(), t / "fork.ssb-bundle");
  REQUIRE(fork_file.ok());
  auto r = ImportBundle(*c.store, &*c.blobs, t / "fork.ssb-bundle", Import());
  REQUIRE(r.ok());
  REQUIRE(r->ranges.size() == 1);
  CHECK(r->ranges[0].kind == RangeOutcome::Kind::kFork);
  CHECK(r->ranges[0].ours == m2->id());
  CHECK(r->ranges[0].theirs == m2b->id());
  CHECK(c.store->Latest(keys.id()).value()->id == m2->id());
  CHECK(c.store->ListForks().value().size() == 1);
}

TEST_CASE("a bundle with an invalid message applies nothing") {
  TempDir t;
  Node a(t / "a");
  a.AddLines(test::ReadVectorFile("generated/feeds.jsonl"));
  auto e = ExportBundle(*a.store, &*a.blobs, Exporter(), AllOptions(), t / "x.ssb-bundle");
  REQUIRE(e.ok());
  // Re-sign the header over a tampered message: the container is intact, the message is not.
  Node b(t / "b");
  auto r = BundleReader::Open(t / "x.ssb-bundle");
  REQUIRE(r.ok());
  BundleHeader h = (*r)->header();
  std::vector<std::string> msgs;
  for (;;) {
    auto rec = (*r)->Next();
    REQUIRE(rec.ok());
    if (!rec->has_value()) break;
    msgs.push_back((*rec)->message);
  }
  auto pos = msgs[100].find("\"content\":{");
  REQUIRE(pos != std::string::npos);
  msgs[100].insert(pos + 11, "\"x\":1,");
  // Recompute the hash of the range that holds message 100.
  size_t idx = 0;
  for (auto& range : h.ranges) {
    RangeHasher hasher;
    for (int64_t k = 0; k < range.count(); ++k) hasher.Add(msgs[idx++]);
    range.sha256 = hasher.FinishHex();
  }
  h.body_bytes += 6;
  int fd = ::open((t / "forged.ssb-bundle").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  auto w = BundleWriter::Start(fd, h, Exporter());
  REQUIRE(w.ok());
  for (const auto& m : msgs) REQUIRE((*w)->AddMessage(m).ok());
  REQUIRE((*w)->Finish().ok());
  ::close(fd);
  auto imported = ImportBundle(*b.store, &*b.blobs, t / "forged.ssb-bundle", Import());
  REQUIRE_FALSE(imported.ok());
  CHECK(imported.status().code() == Code::kInvalidMessage);
  CHECK(b.Clock().empty());  // verified before any write
}

namespace {

// A feed of `n` posts by `keys`; post i references blob_refs[i] when that is not empty.
std::vector<Message> PostsWithRefs(const Keypair& keys, const std::vector<std::string>& blob_refs) {
  std::vector<Message> out;
  std::optional<FeedState> prev;
  for (size_t i = 0; i < blob_refs.size(); ++i) {
    auto c = json::Value::Object();
    c.Set("type", json::Value::String("post"));
    c.Set("text", json::Value::String("post " + std::to_string(i) +
                                      (blob_refs[i].empty() ? "" : " with " + blob_refs[i])));
    auto m = CreateMessage(keys, prev ? &*prev : nullptr, c, 1000.0 + static_cast<double>(i));
    REQUIRE(m.ok());
    prev = FeedState{m->id(), static_cast<int64_t>(i + 1)};
    out.push_back(std::move(m).value());
  }
  return out;
}

}  // namespace

TEST_CASE("want files list missing referenced blobs, and export --want ships exactly those") {
  TempDir t;
  Node a(t / "a"), b(t / "b");
  auto keys = Keypair::FromSeed(std::array<uint8_t, 32>{3});
  std::vector<uint8_t> present(5000, 1), missing(7000, 2), unreferenced(3000, 4);
  auto present_id = a.blobs->Add(present).value();
  auto missing_id = a.blobs->Add(missing).value();
  auto unref_id = a.blobs->Add(unreferenced).value();
  // b holds every message (both reference blobs) and the first blob, not the second.
  auto posts = PostsWithRefs(keys, {present_id, "", missing_id});
  for (const auto& m : posts) {
    REQUIRE(a.store->Append(m).ok());
    REQUIRE(b.store->Append(m).ok());
  }
  REQUIRE(b.blobs->Add(present).ok());

  auto want = MakeWantFile(*b.store, &*b.blobs, NetworkIdFromKey(MainNetKey()));
  REQUIRE(want.ok());
  CHECK(want->blobs == std::vector<std::string>{missing_id});
  // The signed file round-trips with its blob list.
  auto parsed = ParseWantFile(EncodeWantFile(*want, keys));
  REQUIRE(parsed.ok());
  CHECK(parsed->blobs == want->blobs);
  CHECK(parsed->clock == b.Clock());

  // No message is missing, so the bundle carries the wanted blob alone.
  ExportOptions o = AllOptions();
  o.since = parsed->clock;
  o.wanted_blobs = parsed->blobs;
  o.wanted_blobs.push_back("&" + std::string(43, 'A') + "=.sha256");  // a blob a lacks: skipped
  auto e = ExportBundle(*a.store, &*a.blobs, Exporter(), o, t / "blobs.ssb-bundle");
  REQUIRE(e.ok());
  CHECK(e->messages == 0);
  CHECK(e->blobs == 1);
  CHECK(e->wanted_blobs == 1);
  REQUIRE(e->files.size() == 1);
  CHECK(ReadToEnd(t / "blobs.ssb-bundle").ok());
  auto v = VerifyBundle(t / "blobs.ssb-bundle", b.store.get(), Import());
  REQUIRE(v.ok());
  CHECK(v->header.ranges.empty());
  REQUIRE(v->header.blobs.size() == 1);
  CHECK(v->header.blobs[0].id == missing_id);

  auto r = ImportBundle(*b.store, &*b.blobs, t / "blobs.ssb-bundle", Import());
  REQUIRE(r.ok());
  CHECK(r->blobs_stored == 1);
  CHECK(r->messages_applied == 0);
  CHECK(b.blobs->Get(missing_id).value() == missing);  // Get re-hashes
  CHECK_FALSE(b.blobs->Has(unref_id));
  CHECK(MakeWantFile(*b.store, &*b.blobs, NetworkIdFromKey(MainNetKey()))->blobs.empty());
  // Importing it again stores nothing new.
  auto again = ImportBundle(*b.store, &*b.blobs, t / "blobs.ssb-bundle", Import());
  REQUIRE(again.ok());
  CHECK(again->blobs_stored == 0);

  // The budget still applies to wanted blobs.
  o.blob_budget = 1000;
  auto small = ExportBundle(*a.store, &*a.blobs, Exporter(), o, t / "none.ssb-bundle");
  REQUIRE(small.ok());
  CHECK(small->blobs == 0);
  CHECK(small->files.empty());  // nothing to do
}

TEST_CASE("want files ask for the most recently referenced blobs first") {
  TempDir t;
  Node b(t / "b");
  auto keys = Keypair::FromSeed(std::array<uint8_t, 32>{4});
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    auto sha = Sha256(std::span(reinterpret_cast<const uint8_t*>(&i), sizeof i));
    ids.push_back("&" + Base64Encode(sha) + ".sha256");
  }
  // ids[0] is referenced by posts 0 and 3, so it counts as newest; ids[1] by post 1 only.
  auto posts = PostsWithRefs(keys, {ids[0], ids[1], ids[2], ids[0] + " " + ids[3]});
  REQUIRE(b.store->AppendBatch(posts).ok());
  auto want = MakeWantFile(*b.store, &*b.blobs, NetworkIdFromKey(MainNetKey()));
  REQUIRE(want.ok());
  std::vector<std::string> newest_first = {ids[0], ids[3], ids[2], ids[1]};
  std::sort(newest_first.begin(), newest_first.begin() + 2);  // same message: by id
  CHECK(want->blobs == newest_first);
}

TEST_CASE("stick sync carries a blob that the receiver's want file asks for") {
  TempDir t;
  Node a(t / "a"), b(t / "b");
  auto ka = Keypair::FromSeed(std::array<uint8_t, 32>{6});
  auto kb = Keypair::FromSeed(std::array<uint8_t, 32>{7});
  std::vector<uint8_t> bytes(12345, 9);
  auto blob = a.blobs->Add(bytes).value();
  // b already has a's messages (e.g. from an online sync) but not the blob they reference.
  for (const auto& m : PostsWithRefs(ka, {"", blob, ""})) {
    REQUIRE(a.store->Append(m).ok());
    REQUIRE(b.store->Append(m).ok());
  }
  std::string stick = t / "stick";
  fs::create_directories(stick);
  REQUIRE(InitStick(stick, NetworkIdFromKey(MainNetKey())).ok());
  StickOptions so;
  so.check_mount = false;
  so.import = Import();
  auto sync = [&](Node& n, const Keypair& k, const std::string& name) {
    StickOptions o = so;
    o.import.pending_dir = t / (name + "-pending");
    auto r = SyncStick(*n.store, &*n.blobs, k, stick, o);
    REQUIRE(r.ok());
    return std::move(r).value();
  };
  sync(b, kb, "b");  // leaves b's want file, which lists the blob
  CHECK_FALSE(b.blobs->Has(blob));
  auto ra = sync(a, ka, "a");  // a ships the blob alone: b lacks no message
  CHECK(ra.messages_exported == 0);
  CHECK(ra.blobs_exported == 1);
  auto rb = sync(b, kb, "b");
  CHECK(rb.messages_imported == 0);
  REQUIRE(b.blobs->Has(blob));
  CHECK(b.blobs->Get(blob).value() == bytes);
  // b's new want file no longer asks for it.
  auto w = MakeWantFile(*b.store, &*b.blobs, NetworkIdFromKey(MainNetKey()));
  CHECK(w->blobs.empty());
}

TEST_CASE("import is all or nothing: a damaged end rolls back every message already appended") {
  TempDir t;
  Node a(t / "a");
  a.AddLines(test::ReadVectorFile("generated/feeds.jsonl"));
  a.AddLines(test::ReadVectorFile("real-feed-2018/feed.jsonl"));
  auto blob = a.blobs->Add(std::vector<uint8_t>(4000, 5));
  REQUIRE(blob.ok());
  for (const auto& m : PostsWithRefs(Keypair::FromSeed(std::array<uint8_t, 32>{8}), {*blob})) {
    REQUIRE(a.store->Append(m).ok());
  }
  auto e = ExportBundle(*a.store, &*a.blobs, Exporter(), AllOptions(), t / "x.ssb-bundle");
  REQUIRE(e.ok());
  std::string good = ReadAll(t / "x.ssb-bundle");
  // Every message record precedes the trailer: cut into it, and flip a bit of file_sha256.
  std::string flipped = good;
  flipped[flipped.size() - 1] = static_cast<char>(flipped.back() ^ 1);
  for (const std::string& bad : {good.substr(0, good.size() - 20), flipped}) {
    WriteAll(t / "bad.ssb-bundle", bad);
    Node b(t / "b");
    auto r = ImportBundle(*b.store, &*b.blobs, t / "bad.ssb-bundle", Import(t / "b/pending"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidInput);
    CHECK(b.Clock().empty());
    CHECK(b.store->Stats().value().messages == 0);
    CHECK(b.blobs->List().value().empty());
    CHECK_FALSE(fs::exists(t / "b/pending"));
    // The same store takes the good file afterwards.
    auto ok = ImportBundle(*b.store, &*b.blobs, t / "x.ssb-bundle", Import());
    REQUIRE(ok.ok());
    CHECK(ok->messages_applied == 486);
    CHECK(ok->blobs_stored == 1);
    CHECK(b.Clock() == a.Clock());
    fs::remove_all(t / "b");
  }
}

TEST_CASE("a range that overlaps what we hold applies only the new messages") {
  TempDir t;
  Node a(t / "a"), b(t / "b");
  a.AddLines(test::ReadVectorFile("real-feed-2018/feed.jsonl"));
  auto author = a.Clock().begin()->first;
  int64_t total = a.Clock().begin()->second;
  // b holds the first 100 messages.
  for (const auto& m : a.store->History(HistoryQuery{author, 1, 100, false}).value()) {
    REQUIRE(b.store->Append(std::move(Message::Parse(m.value_json)).value()).ok());
  }
  auto e = ExportBundle(*a.store, &*a.blobs, Exporter(), AllOptions(), t / "all.ssb-bundle");
  REQUIRE(e.ok());
  auto dry = VerifyBundle(t / "all.ssb-bundle", b.store.get(), Import());
  REQUIRE(dry.ok());
  CHECK(dry->ranges[0].kind == RangeOutcome::Kind::kApplied);
  CHECK(dry->ranges[0].applied == total - 100);
  CHECK(b.Clock()[author] == 100);
  auto r = ImportBundle(*b.store, &*b.blobs, t / "all.ssb-bundle", Import());
  REQUIRE(r.ok());
  CHECK(r->ranges[0].kind == RangeOutcome::Kind::kApplied);
  CHECK(r->messages_applied == static_cast<uint64_t>(total - 100));
  CHECK(b.Clock() == a.Clock());
}
