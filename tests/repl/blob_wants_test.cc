// Blob wants as ssb-blobs does them: forwarding with hop limit, have answers, peer choice,
// completion, referenced blobs.
#include <catch2/catch.hpp>

#include "repl/repl_test_util.h"
#include "ssb/blob_store.h"
#include "ssb/blob_wants.h"
#include "ssb/ref.h"

using namespace ssb;
using namespace ssb::test;

namespace {

class FakeBlobs : public BlobLookup {
 public:
  std::optional<uint64_t> Size(std::string_view id) const override {
    auto it = sizes.find(std::string(id));
    if (it == sizes.end()) return std::nullopt;
    return it->second;
  }
  std::map<std::string, uint64_t> sizes;
};

std::string Blob(int i) {
  std::string text = "blob " + std::to_string(i);
  return BlobIdFromDigest(
      Sha256(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size())));
}

const WantMap* SentTo(const BlobWants::Actions& a, const std::string& peer) {
  for (const auto& s : a.sends) {
    if (s.peer == peer) return &s.map;
  }
  return nullptr;
}

json::Value JsonOf(const std::string& text) {
  auto v = json::Parse(text);
  REQUIRE(v.ok());
  return std::move(v).value();
}

constexpr uint64_t kMax = 5 * 1024 * 1024;

}  // namespace

TEST_CASE("blob wants: a new peer gets our whole want map first") {
  FakeBlobs blobs;
  BlobWants w(blobs);
  auto a = w.PeerConnected("@p1");
  REQUIRE(a.sends.size() == 1);
  CHECK(a.sends[0].peer == "@p1");
  CHECK(a.sends[0].map.empty());  // {} is sent too
  REQUIRE(w.Want(Blob(1)).ok());
  a = w.PeerConnected("@p2");
  REQUIRE(SentTo(a, "@p2"));
  CHECK(*SentTo(a, "@p2") == WantMap{{Blob(1), -1}});
  CHECK(w.peer_count() == 2);
}

TEST_CASE("blob wants: forwarding -k as -(k+1) to the other peers, up to sympathy 3") {
  FakeBlobs blobs;
  BlobWants w(blobs);
  for (const char* p : {"@p1", "@p2", "@p3"}) static_cast<void>(w.PeerConnected(p));

  auto a = w.OnWants("@p1", JsonOf("{\"" + Blob(1) + "\":-1}"));
  CHECK(w.wants().at(Blob(1)) == -2);
  CHECK(!SentTo(a, "@p1"));  // not back to the asker
  REQUIRE(SentTo(a, "@p2"));
  CHECK(*SentTo(a, "@p2") == WantMap{{Blob(1), -2}});
  CHECK(*SentTo(a, "@p3") == WantMap{{Blob(1), -2}});
  CHECK(a.fetches.empty());
  REQUIRE(w.PeerWants("@p1"));
  CHECK(w.PeerWants("@p1")->at(Blob(1)) == -1);

  // -2 becomes -3 (still within sympathy); -3 would become -4: dropped.
  a = w.OnWants("@p1", JsonOf("{\"" + Blob(2) + "\":-2,\"" + Blob(3) + "\":-3}"));
  CHECK(w.wants().at(Blob(2)) == -3);
  CHECK(!w.wants().count(Blob(3)));
  CHECK(*SentTo(a, "@p2") == WantMap{{Blob(2), -3}});

  // A closer want replaces a farther one and is forwarded again; a farther one changes nothing.
  a = w.OnWants("@p2", JsonOf("{\"" + Blob(2) + "\":-1}"));
  CHECK(w.wants().at(Blob(2)) == -2);
  CHECK(*SentTo(a, "@p3") == WantMap{{Blob(2), -2}});
  a = w.OnWants("@p3", JsonOf("{\"" + Blob(2) + "\":-2}"));
  CHECK(a.empty());
  CHECK(w.wants().at(Blob(2)) == -2);

  // 0 counts as a want (ssb-blobs: n <= 0); junk entries are ignored.
  a = w.OnWants("@p3", JsonOf("{\"" + Blob(4) + "\":0,\"" + Blob(5) + "\":-1.5,\"" + Blob(6) +
                              "\":\"-1\",\"&nope\":-1}"));
  CHECK(w.wants().at(Blob(4)) == -1);
  CHECK(!w.wants().count(Blob(5)));
  CHECK(!w.wants().count(Blob(6)));
  CHECK(w.OnWants("@p3", json::Value::Array()).empty());

  // sympathy 1: only the asker's own wants are forwarded... not even those (-1 → -2 > 1).
  BlobWantsOptions opt;
  opt.sympathy = 1;
  BlobWants stingy(blobs, opt);
  static_cast<void>(stingy.PeerConnected("@p1"));
  CHECK(stingy.OnWants("@p1", JsonOf("{\"" + Blob(1) + "\":-1}")).empty());
}

TEST_CASE("blob wants: wants for blobs we hold are answered with the size, to the asker") {
  FakeBlobs blobs;
  blobs.sizes[Blob(1)] = 1234;
  blobs.sizes[Blob(2)] = 0;  // the empty blob: a 0 would read as a want, never announced
  BlobWants w(blobs);
  static_cast<void>(w.PeerConnected("@p1"));
  static_cast<void>(w.PeerConnected("@p2"));
  auto a = w.OnWants("@p1", JsonOf("{\"" + Blob(1) + "\":-2,\"" + Blob(2) + "\":-1}"));
  REQUIRE(SentTo(a, "@p1"));
  CHECK(*SentTo(a, "@p1") == WantMap{{Blob(1), 1234}});
  CHECK(!w.wants().count(Blob(1)));
  CHECK(w.wants().at(Blob(2)) == -2);  // like ssb-blobs: size 0 is "not had"
  REQUIRE(SentTo(a, "@p2"));
  CHECK(*SentTo(a, "@p2") == WantMap{{Blob(2), -2}});

  // Wanting a blob we hold does nothing.
  auto own = w.Want(Blob(1));
  REQUIRE(own.ok());
  CHECK(own->empty());
}

TEST_CASE("blob wants: fetch from a peer that advertised a size below max, retry elsewhere") {
  FakeBlobs blobs;
  BlobWants w(blobs);
  for (const char* p : {"@p1", "@p2", "@p3"}) static_cast<void>(w.PeerConnected(p));
  auto a = w.Want(Blob(1));
  REQUIRE(a.ok());
  CHECK(a->sends.size() == 3);
  CHECK(a->fetches.empty());

  // p1 has it but too big (>= max): not a source. p2 has it: fetch from p2 with max.
  auto b = w.OnWants("@p1", JsonOf("{\"" + Blob(1) + "\":" + std::to_string(kMax) + "}"));
  CHECK(b.fetches.empty());
  b = w.OnWants("@p2", JsonOf("{\"" + Blob(1) + "\":100}"));
  REQUIRE(b.fetches.size() == 1);
  CHECK(b.fetches[0].peer == "@p2");
  CHECK(b.fetches[0].blob == Blob(1));
  CHECK(b.fetches[0].max == kMax);
  CHECK(w.FetchingFrom(Blob(1)) == "@p2");
  // Another source while the fetch runs: no second fetch.
  CHECK(w.OnWants("@p3", JsonOf("{\"" + Blob(1) + "\":100}")).fetches.empty());

  // p2's stream fails (or the hash did not match): p3 is asked.
  auto c = w.FetchFailed("@p2", Blob(1));
  REQUIRE(c.fetches.size() == 1);
  CHECK(c.fetches[0].peer == "@p3");
  CHECK(!w.PeerHaves("@p2")->count(Blob(1)));
  // p3 disconnects mid-fetch: nobody else has it below max.
  CHECK(w.PeerDisconnected("@p3").fetches.empty());
  CHECK(!w.FetchingFrom(Blob(1)));
  // p2 says it has it again: fetched from p2.
  auto d = w.OnWants("@p2", JsonOf("{\"" + Blob(1) + "\":100}"));
  REQUIRE(d.fetches.size() == 1);
  CHECK(d.fetches[0].peer == "@p2");

  // Stored: announced to every peer, no longer wanted.
  blobs.sizes[Blob(1)] = 100;
  auto e = w.BlobStored(Blob(1), 100);
  CHECK(!w.wants().count(Blob(1)));
  CHECK(!w.FetchingFrom(Blob(1)));
  REQUIRE(SentTo(e, "@p1"));
  CHECK(*SentTo(e, "@p1") == WantMap{{Blob(1), 100}});
  CHECK(*SentTo(e, "@p2") == WantMap{{Blob(1), 100}});
}

TEST_CASE("blob wants: forwarded wants are fetched too, parallel fetches are capped") {
  FakeBlobs blobs;
  BlobWantsOptions opt;
  opt.max_parallel_fetches = 2;
  BlobWants w(blobs, opt);
  static_cast<void>(w.PeerConnected("@asker"));
  static_cast<void>(w.PeerConnected("@source"));
  // The source has three blobs; the asker wants them.
  static_cast<void>(w.OnWants("@source", JsonOf("{\"" + Blob(1) + "\":10,\"" + Blob(2) +
                                                "\":20,\"" + Blob(3) + "\":30}")));
  auto a = w.OnWants("@asker", JsonOf("{\"" + Blob(1) + "\":-1,\"" + Blob(2) + "\":-1,\"" +
                                      Blob(3) + "\":-1}"));
  CHECK(a.fetches.size() == 2);
  auto b = w.BlobStored(a.fetches[0].blob, 10);
  REQUIRE(b.fetches.size() == 1);
  CHECK(b.fetches[0].peer == "@source");
  // The asker hears that we have it now and will fetch it from us.
  REQUIRE(SentTo(b, "@asker"));
  CHECK(SentTo(b, "@asker")->at(a.fetches[0].blob) == 10);
}

TEST_CASE("blob wants: limits") {
  FakeBlobs blobs;
  BlobWantsOptions opt;
  opt.max_wants = 2;
  BlobWants w(blobs, opt);
  CHECK(w.Want("not a blob").status().code() == Code::kInvalidArgument);
  REQUIRE(w.Want(Blob(1)).ok());
  REQUIRE(w.Want(Blob(2)).ok());
  CHECK(w.Want(Blob(3)).status().code() == Code::kLimitExceeded);
  CHECK(w.Want(Blob(1)).ok());  // already wanted: fine
  static_cast<void>(w.PeerConnected("@p"));
  static_cast<void>(w.OnWants("@p", JsonOf("{\"" + Blob(4) + "\":-1}")));
  CHECK(!w.wants().count(Blob(4)));
  CHECK(w.wants().size() == 2);
}

TEST_CASE("BlobRefsIn: blob ids anywhere in the content, capped, deduplicated") {
  std::string b1 = Blob(1), b2 = Blob(2), b3 = Blob(3);
  std::string msg_id = "%" + b1.substr(1);
  json::Value c = json::Value::Object();
  c.Set("type", json::Value::String("post"));
  c.Set("text", json::Value::String("look ![img](" + b1 + ") and &notablob.sha256"));
  json::Value mentions = json::Value::Array();
  json::Value m1 = json::Value::Object();
  m1.Set("link", json::Value::String(b2));
  m1.Set("name", json::Value::String("x"));
  json::Value m2 = json::Value::Object();
  m2.Set("link", json::Value::String(msg_id));
  mentions.Push(m1);
  mentions.Push(m2);
  c.Set("mentions", mentions);
  json::Value inner = json::Value::Array();
  inner.Push(json::Value::String(b3 + "?unbox=abc.boxs"));
  json::Value deep = json::Value::Array();
  deep.Push(inner);
  json::Value nested = json::Value::Object();
  nested.Set("deep", deep);
  nested.Set("again", json::Value::String(b1));
  c.Set("nested", nested);
  auto refs = BlobRefsIn(c);
  CHECK(refs == std::vector<std::string>{b1, b2, b3});
  CHECK(BlobRefsIn(c, 2) == std::vector<std::string>{b1, b2});
  CHECK(BlobRefsIn(c, 10, 1) == std::vector<std::string>{b1});  // depth 1: top-level strings
  CHECK(BlobRefsIn(json::Value::String("aGVsbG8=.box")).empty());

  // Auto-want from a replicated message.
  FakeBlobs blobs;
  blobs.sizes[b2] = 5;
  BlobWants w(blobs);
  static_cast<void>(w.PeerConnected("@p"));
  Feed alice{1};
  Message m = alice.Publish(c);
  auto a = w.WantReferenced(m);
  CHECK(w.wants() == WantMap{{b1, -1}, {b3, -1}});
  REQUIRE(SentTo(a, "@p"));
  CHECK(*SentTo(a, "@p") == WantMap{{b1, -1}, {b3, -1}});
  CHECK(json::Stringify(WantMapToJson(w.wants())).find(b1) != std::string::npos);
}

TEST_CASE("BlobStoreLookup over a real BlobStore") {
  TempDir dir;
  auto store = BlobStore::Open(dir.File("blobs"));
  REQUIRE(store.ok());
  std::string text = "hello blobs";
  auto id = store->Add(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  REQUIRE(id.ok());
  BlobStoreLookup lookup(*store);
  CHECK(lookup.Size(*id) == text.size());
  CHECK(!lookup.Size(Blob(9)));
  CHECK(!lookup.Size("junk"));
  BlobWants w(lookup);
  static_cast<void>(w.PeerConnected("@p"));
  auto a = w.OnWants("@p", JsonOf("{\"" + *id + "\":-1}"));
  REQUIRE(SentTo(a, "@p"));
  CHECK(SentTo(a, "@p")->at(*id) == static_cast<int64_t>(text.size()));
}
