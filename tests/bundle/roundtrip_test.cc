// Three peers and one stick: 20 feeds with blobs carried around in random order until every
// peer has everything. SSB_TEST_LONG=1 runs the full 20 × 5,000 messages; the default run uses
// 20 × 500 so the suite stays quick.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>

#include "ssb/stick.h"
#include "support/vectors.h"

namespace fs = std::filesystem;
using namespace ssb;

namespace {

struct Peer {
  std::string dir;
  Keypair keys;
  std::unique_ptr<Store> store;
  std::optional<BlobStore> blobs;
  explicit Peer(const std::string& d) : dir(d), keys(Keypair::Generate()) {
    fs::create_directories(d);
    StoreOptions so;
    so.durable_commits = false;  // a test machine: speed over power-cut safety
    store = std::move(Store::Open(d + "/db.sqlite", so)).value();
    blobs = std::move(BlobStore::Open(d + "/blobs")).value();
  }
};

std::vector<std::string> AllValues(Store& s) {
  std::vector<std::string> out;
  for (const auto& f : s.Feeds().value()) {
    for (const auto& m : s.History(HistoryQuery{f.author, 1, -1, false}).value()) out.push_back(m.value_json);
  }
  return out;
}

}  // namespace

TEST_CASE("three peers converge through one stick in random order") {
  const char* long_env = std::getenv("SSB_TEST_LONG");
  bool long_run = long_env && std::string(long_env) == "1";
  const int feeds = 20, per_feed = long_run ? 5000 : 500;
  char tmpl[] = "/tmp/ssb-roundtrip-XXXXXX";
  std::string root = ::mkdtemp(tmpl);
  std::vector<std::unique_ptr<Peer>> peers;
  for (int i = 0; i < 3; ++i) peers.push_back(std::make_unique<Peer>(root + "/peer" + std::to_string(i)));
  std::string stick = root + "/stick";
  fs::create_directories(stick);
  std::string network = NetworkIdFromKey(MainNetKey());
  REQUIRE(InitStick(stick, network).ok());

  // Each peer authors some of the 20 feeds; messages reference blobs now and then.
  std::mt19937_64 rng(std::random_device{}());
  uint64_t seed = rng();
  INFO("seed " << seed);
  rng.seed(seed);
  size_t blobs_made = 0;
  for (int f = 0; f < feeds; ++f) {
    Peer& owner = *peers[static_cast<size_t>(f) % 3];
    Keypair author = Keypair::Generate();
    std::optional<FeedState> prev;
    std::vector<Message> batch;
    for (int s = 1; s <= per_feed; ++s) {
      auto c = json::Value::Object();
      c.Set("type", json::Value::String("post"));
      std::string text = "message " + std::to_string(s) + " of feed " + std::to_string(f);
      if (rng() % 100 == 0) {
        std::vector<uint8_t> blob(1000 + rng() % 20000, static_cast<uint8_t>(rng()));
        blob[0] = static_cast<uint8_t>(blobs_made++);
        auto id = owner.blobs->Add(blob);
        REQUIRE(id.ok());
        text += " with " + *id;
      }
      c.Set("text", json::Value::String(text));
      auto m = CreateMessage(author, prev ? &*prev : nullptr, std::move(c), 1.7e12 + s);
      REQUIRE(m.ok());
      prev = FeedState{m->id(), s};
      batch.push_back(std::move(m).value());
    }
    AppendOptions ao;
    ao.validate.verify_signature = false;  // we just signed them
    REQUIRE(owner.store->AppendBatch(batch, ao).ok());
  }

  StickOptions so;
  so.check_mount = false;
  so.import.network = network;
  so.blob_budget = 1u << 30;
  // Visit the stick in random order until every peer holds every feed.
  const size_t total = static_cast<size_t>(feeds) * per_feed;
  int visits = 0;
  auto done = [&] {
    for (auto& p : peers)
      if (p->store->Stats().value().messages != static_cast<int64_t>(total)) return false;
    return true;
  };
  while (!done() && visits < 30) {
    Peer& p = *peers[rng() % 3];
    StickOptions o = so;
    o.import.pending_dir = p.dir + "/bundles/pending";
    auto r = SyncStick(*p.store, &*p.blobs, p.keys, stick, o);
    REQUIRE(r.ok());
    CHECK_FALSE(r->fork);
    ++visits;
  }
  // One more round so the last writer's blobs reach everyone.
  for (auto& p : peers) {
    StickOptions o = so;
    o.import.pending_dir = p->dir + "/bundles/pending";
    REQUIRE(SyncStick(*p->store, &*p->blobs, p->keys, stick, o).ok());
  }
  REQUIRE(done());
  auto reference = AllValues(*peers[0]->store);
  CHECK(reference.size() == total);
  for (auto& p : peers) {
    CHECK(AllValues(*p->store) == reference);
    CHECK(p->blobs->List().value().size() == blobs_made);
  }
  test::ReportLine("roundtrip: 3 peers, " + std::to_string(feeds) + " feeds x " +
                   std::to_string(per_feed) + " messages, " + std::to_string(blobs_made) +
                   " blobs, identical stores after " + std::to_string(visits) + " stick visits");
  fs::remove_all(root);
}
