// The contact graph and the replication set: hops, unfollow, blocks, requests, incremental
// updates from a real store.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>

#include "repl/repl_test_util.h"
#include "ssb/replication.h"

using namespace ssb;
using namespace ssb::test;

namespace {

std::set<std::string> Ids(const ReplicationSet& s) {
  std::set<std::string> out;
  for (const auto& [feed, e] : s.feeds()) out.insert(feed);
  return out;
}

// me → a → b → c → d, me → e, all stored as signed contact messages.
struct Graph {
  Feed me{1}, a{2}, b{3}, c{4}, d{5}, e{6};
  TempDir dir;
  std::unique_ptr<Store> store = OpenStore(dir.File("db.sqlite"));

  Graph() {
    AppendAll(*store, {me.Follow(a), a.Follow(b), b.Follow(c), c.Follow(d), me.Follow(e)});
  }
  ReplicationSet Set(int hops, std::set<std::string, std::less<>> requests = {}) {
    ReplicationOptions opt;
    opt.hops = hops;
    opt.requests = std::move(requests);
    auto s = ReplicationSet::FromStore(*store, me.id(), opt);
    REQUIRE(s.ok());
    return std::move(s).value();
  }
};

}  // namespace

TEST_CASE("replication set: follows within hops 0/1/2/3 with their distances") {
  Graph g;
  CHECK(Ids(g.Set(0)) == std::set<std::string>{g.me.id()});
  CHECK(Ids(g.Set(1)) == std::set<std::string>{g.me.id(), g.a.id(), g.e.id()});
  CHECK(Ids(g.Set(2)) == std::set<std::string>{g.me.id(), g.a.id(), g.e.id(), g.b.id()});
  auto s3 = g.Set(3);
  CHECK(Ids(s3) == std::set<std::string>{g.me.id(), g.a.id(), g.e.id(), g.b.id(), g.c.id()});
  CHECK(s3.Hops(g.me.id()) == 0);
  CHECK(s3.Hops(g.a.id()) == 1);
  CHECK(s3.Hops(g.e.id()) == 1);
  CHECK(s3.Hops(g.b.id()) == 2);
  CHECK(s3.Hops(g.c.id()) == 3);
  CHECK(!s3.Hops(g.d.id()));
  CHECK(!s3.truncated());
  // The default is 2 hops.
  ReplicationOptions def;
  CHECK(def.hops == 2);
  auto s = ReplicationSet::FromStore(*g.store, g.me.id());
  REQUIRE(s.ok());
  CHECK(Ids(*s) == Ids(g.Set(2)));
}

TEST_CASE("replication set: the shortest path gives the distance") {
  Graph g;
  // me also follows c directly: c is at 1 hop, d at 2.
  AppendAll(*g.store, {g.me.Follow(g.c)});
  auto s = g.Set(2);
  CHECK(s.Hops(g.c.id()) == 1);
  CHECK(s.Hops(g.d.id()) == 2);
  CHECK(s.Hops(g.b.id()) == 2);
}

TEST_CASE("replication set: unfollow removes a feed and what it brought in") {
  Graph g;
  REQUIRE(g.Set(2).Contains(g.b.id()));
  AppendAll(*g.store, {g.me.Unfollow(g.a)});
  auto s = g.Set(3);
  CHECK(!s.Contains(g.a.id()));
  CHECK(!s.Contains(g.b.id()));
  CHECK(!s.Contains(g.c.id()));
  CHECK(s.Contains(g.e.id()));
  // Following again brings them back: the latest message wins.
  AppendAll(*g.store, {g.me.Follow(g.a)});
  CHECK(g.Set(2).Contains(g.b.id()));
}

TEST_CASE("replication set: our block overrides follows and requests, others' blocks do not") {
  Graph g;
  // We block b although a follows it: b is not replicated and not traversed (c, d gone).
  AppendAll(*g.store, {g.me.Block(g.b)});
  auto s = g.Set(3, {g.b.id()});
  CHECK(!s.Contains(g.b.id()));
  CHECK(!s.Contains(g.c.id()));
  CHECK(s.WeBlock(g.b.id()));
  CHECK(s.blocked() == std::set<std::string, std::less<>>{g.b.id()});
  CHECK(s.Contains(g.a.id()));

  // Someone else's block does not exclude: a blocks e, we follow e.
  AppendAll(*g.store, {g.a.Block(g.e)});
  CHECK(g.Set(3).Contains(g.e.id()));

  // A follow after the block (latest message) lifts it; so does blocking:false.
  AppendAll(*g.store, {g.me.Follow(g.b)});
  auto s2 = g.Set(2);
  CHECK(s2.Hops(g.b.id()) == 1);
  CHECK(!s2.WeBlock(g.b.id()));
  AppendAll(*g.store, {g.me.Block(g.b), g.me.Contact(g.b.id(), std::nullopt, false)});
  auto s3 = g.Set(2);
  CHECK(!s3.WeBlock(g.b.id()));
  CHECK(s3.Hops(g.b.id()) == 2);  // via a again (our own edge is now "none")
}

TEST_CASE("replication set: explicit requests") {
  Graph g;
  Feed stranger{42};
  auto s = g.Set(1, {stranger.id(), g.b.id(), "not a feed"});
  CHECK(s.Contains(stranger.id()));
  CHECK(s.Hops(stranger.id()) == -1);
  CHECK(s.feeds().at(stranger.id()).requested);
  CHECK(s.Hops(g.b.id()) == -1);  // beyond 1 hop: only requested
  CHECK(!s.Contains("not a feed"));
  auto s2 = g.Set(2, {g.b.id()});
  CHECK(s2.Hops(g.b.id()) == 2);  // requested and followed within range
  CHECK(s2.feeds().at(g.b.id()).requested);
  CHECK(!s2.feeds().at(g.a.id()).requested);
}

TEST_CASE("replication set: max_feeds truncates deterministically") {
  Graph g;
  ReplicationOptions opt;
  opt.hops = 3;
  opt.max_feeds = 3;
  auto s = ReplicationSet::FromStore(*g.store, g.me.id(), opt);
  REQUIRE(s.ok());
  CHECK(s->size() == 3);
  CHECK(s->truncated());
  CHECK(s->Contains(g.me.id()));
  CHECK(s->Contains(g.a.id()));
  CHECK(s->Contains(g.e.id()));
}

TEST_CASE("AffectsGraph: which messages can change the graph") {
  Feed me{1}, a{2};
  CHECK(AffectsGraph(me.Follow(a)));
  CHECK(AffectsGraph(me.Unfollow(a)));
  CHECK(AffectsGraph(me.Block(a)));
  CHECK(AffectsGraph(me.Contact(a.id(), std::nullopt, false)));
  CHECK(!AffectsGraph(me.Contact(a.id(), std::nullopt, std::nullopt)));  // says nothing
  CHECK(!AffectsGraph(me.Post("hello")));
  CHECK(!AffectsGraph(me.Contact("@not-a-feed", true)));
  json::Value flagged = json::Value::Object();
  flagged.Set("type", json::Value::String("contact"));
  flagged.Set("contact", json::Value::String(a.id()));
  flagged.Set("flagged", json::Value::String("spam"));
  CHECK(AffectsGraph(me.Publish(flagged)));
}

TEST_CASE("ContactGraph: incremental Update and Apply, latest message by sequence wins") {
  Graph g;
  ContactGraph graph;
  auto n = graph.Update(*g.store);
  REQUIRE(n.ok());
  CHECK(*n == 5);
  CHECK(graph.edge_count() == 5);
  CHECK(graph.Edge(g.me.id(), g.a.id()) == ContactState::kFollow);
  auto before = ReplicationSet::Compute(graph, g.me.id());

  // Nothing new: nothing read.
  n = graph.Update(*g.store);
  REQUIRE(n.ok());
  CHECK(*n == 0);

  // A new message arrives; Apply it directly (as the ingest path would), then Update sees it
  // again and does not count it twice.
  Message block = g.me.Block(g.a);
  AppendAll(*g.store, {block});
  CHECK(graph.Apply(block));
  n = graph.Update(*g.store);
  REQUIRE(n.ok());
  CHECK(*n == 0);
  CHECK(graph.Edge(g.me.id(), g.a.id()) == ContactState::kBlock);
  CHECK(graph.Blocks(g.me.id()) == std::vector<std::string>{g.a.id()});
  CHECK(graph.Follows(g.me.id()) == std::vector<std::string>{g.e.id()});

  auto after = ReplicationSet::Compute(graph, g.me.id());
  auto diff = ReplicationSet::Diff(before, after);
  std::set<std::string> removed(diff.removed.begin(), diff.removed.end());
  CHECK(removed == std::set<std::string>{g.a.id(), g.b.id()});
  CHECK(diff.added.empty());

  // An older message about the same pair does not override the newer one.
  json::Value follow = json::Value::Object();
  follow.Set("type", json::Value::String("contact"));
  follow.Set("contact", json::Value::String(g.a.id()));
  follow.Set("following", json::Value::Bool(true));
  CHECK(!graph.Apply(g.me.id(), 1, follow));
  CHECK(graph.Edge(g.me.id(), g.a.id()) == ContactState::kBlock);
}

TEST_CASE("ContactGraph: limits drop what does not fit") {
  ContactGraphLimits limits;
  limits.max_feeds = 3;
  ContactGraph graph(limits);
  Feed me{1}, a{2}, b{3}, c{4};
  CHECK(graph.Apply(me.Follow(a)));
  CHECK(graph.Apply(me.Follow(b)));
  CHECK(!graph.Apply(me.Follow(c)));
  CHECK(graph.dropped() == 1);
  CHECK(graph.feed_count() == 3);
}

TEST_CASE("ReplicationSet: recompute over 100 feeds x 2000 contacts") {
  // Synthetic ids: ContactGraph::Apply takes content directly, no signing needed.
  std::vector<std::string> ids;
  for (int i = 0; i < 2100; ++i) {
    std::array<uint8_t, 32> seed{};
    seed[0] = static_cast<uint8_t>(i);
    seed[1] = static_cast<uint8_t>(i >> 8);
    ids.push_back(Keypair::FromSeed(seed).id());
  }
  ContactGraph graph;
  auto contact = [](const std::string& to, bool follow) {
    json::Value c = json::Value::Object();
    c.Set("type", json::Value::String("contact"));
    c.Set("contact", json::Value::String(to));
    c.Set(follow ? "following" : "blocking", json::Value::Bool(true));
    return c;
  };
  auto t0 = std::chrono::steady_clock::now();
  size_t edges = 0;
  for (int author = 0; author < 100; ++author) {
    for (int k = 0; k < 2000; ++k) {
      int to = (author * 37 + k * 13) % 2100;
      edges += graph.Apply(ids[author], k + 1, contact(ids[to], k % 50 != 0));
    }
  }
  auto t1 = std::chrono::steady_clock::now();
  ReplicationOptions opt;
  opt.hops = 3;
  ReplicationSet s;
  for (int i = 0; i < 10; ++i) s = ReplicationSet::Compute(graph, ids[0], opt);
  auto t2 = std::chrono::steady_clock::now();
  CHECK(edges > 100000);
  CHECK(s.size() > 1000);
  CHECK(s.Hops(ids[0]) == 0);
  using ms = std::chrono::duration<double, std::milli>;
  std::printf("contact graph: %zu edges applied in %.1f ms; recompute (%zu feeds, 3 hops) %.2f ms\n",
              graph.edge_count(), ms(t1 - t0).count(), s.size(), ms(t2 - t1).count() / 10);
}
