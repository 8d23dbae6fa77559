// ssb-db 20's reads over a store: signed values, decryption on request, get's forms, live
// streams with ssb-db's options, bounded pages, links, queries and query.explain.
#include <catch2/catch.hpp>
#include <filesystem>

#include "ssb/base64.h"
#include "ssb/box.h"
#include "ssb/db_view.h"
#include "ssb/ref.h"
#include "support/vectors.h"

namespace ssb {
namespace {

using json::Value;
using view::Source;

class TempStore {
 public:
  TempStore() {
    std::string base = std::string(SSB_BINARY_DIR) + "/tmp-view-tests";
    std::filesystem::create_directories(base);
    std::string tmpl = base + "/t-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    REQUIRE(::mkdtemp(buf.data()));
    dir_ = buf.data();
    StoreOptions opt;
    opt.durable_commits = false;
    auto s = Store::Open(dir_ + "/db.sqlite", opt);
    REQUIRE(s.ok());
    store = std::move(s).value();
  }
  ~TempStore() {
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::unique_ptr<Store> store;

 private:
  std::string dir_;
};

Keypair Key(uint8_t b) {
  std::array<uint8_t, 32> seed{};
  seed.fill(b);
  return Keypair::FromSeed(seed);
}

// Publishes `content` on `keys`'s feed; boxes it for `recps` (and the author) when given, and
// stores the plaintext as the node does for messages it can read.
Message Publish(Store& store, const Keypair& keys, Value content, std::vector<PublicKey> recps = {}) {
  auto latest = store.Latest(keys.id());
  REQUIRE(latest.ok());
  const FeedState* prev = latest->has_value() ? &**latest : nullptr;
  double ts = 1700000000000.0 + static_cast<double>(prev ? prev->sequence : 0);
  std::optional<std::string> plain;
  if (!recps.empty()) {
    recps.insert(recps.begin(), keys.public_key());
    plain = json::Stringify(content);
    auto box = BoxEncrypt(*plain, recps);
    REQUIRE(box.ok());
    content = Value::String(*box);
  }
  auto m = CreateMessage(keys, prev, std::move(content), ts);
  REQUIRE(m.ok());
  REQUIRE(store.Append(*m).ok());
  if (plain) REQUIRE(store.SetPlaintext(m->id(), plain).ok());
  return std::move(m).value();
}

Value Post(const std::string& text) {
  Value c = Value::Object();
  c.Set("type", Value::String("post"));
  c.Set("text", Value::String(text));
  return c;
}

Value Args(const std::string& opts_json) {
  Value a = Value::Array();
  a.Push(*json::Parse(opts_json));
  return a;
}

// Runs `src` until it is done or live; returns the items.
std::vector<std::string> Drain(Source& src, size_t page = 1000, Source::State* last = nullptr) {
  std::vector<std::string> out;
  for (int i = 0; i < 100000; ++i) {
    auto st = src.Next(page, &out);
    REQUIRE(st.ok());
    if (*st != Source::State::kMore) {
      if (last) *last = *st;
      break;
    }
  }
  return out;
}

Value Parse(const std::string& s) { return *json::Parse(s, {.wtf8_input = true}); }

TEST_CASE("streams return values as signed unless private: true, then as ssb-db decorates them",
          "[view]") {
  TempStore t;
  Keypair me = Key(1), friend_ = Key(2);
  view::Context ctx{t.store.get(), &me};
  Message pub = Publish(*t.store, me, Post("public"));
  Message priv = Publish(*t.store, me, Post("secret"), {friend_.public_key()});
  auto src = view::CreateLogStream(ctx, Args("{}"));
  REQUIRE(src.ok());
  auto items = Drain(**src);
  REQUIRE(items.size() == 2);
  Value kvt = Parse(items[1]);
  CHECK(json::Stringify(*kvt.Find("value")) == priv.Wire());
  CHECK(kvt.Find("key")->as_string() == priv.id());
  // private: true
  src = view::CreateLogStream(ctx, Args(R"({"private": true})"));
  items = Drain(**src);
  Value dec = *Parse(items[1]).Find("value");
  std::vector<std::string> keys = dec.keys();
  CHECK(keys == std::vector<std::string>{"previous", "sequence", "author", "timestamp", "hash", "content",
                                         "signature", "meta", "cyphertext", "private", "unbox"});
  CHECK(dec.Find("content")->Find("text")->as_string() == "secret");
  std::string box = priv.content()->as_string();
  CHECK(dec.Find("cyphertext")->as_string() == box);
  CHECK(dec.Find("meta")->Find("original")->Find("content")->as_string() == box);
  CHECK(dec.Find("meta")->Find("private")->as_bool());
  std::string unbox = Base64Encode(*BoxUnboxKey(box, me));
  CHECK(dec.Find("unbox")->as_string() == unbox);
  CHECK(dec.Find("meta")->Find("unbox")->as_string() == unbox);
  // The public one is untouched either way.
  CHECK(json::Stringify(*Parse(items[0]).Find("value")) == pub.Wire());
  // keys: false gives bare values, as signed; values: false bare ids.
  src = view::CreateLogStream(ctx, Args(R"({"keys": false})"));
  items = Drain(**src);
  CHECK(items[1] == priv.Wire());
  src = view::CreateLogStream(ctx, Args(R"({"values": false})"));
  items = Drain(**src);
  CHECK(Parse(items[1]).as_string() == priv.id());
  // createHistoryStream never decrypts.
  src = view::CreateHistoryStream(ctx, Args(R"({"id": ")" + me.id() + R"(", "private": true})"));
  items = Drain(**src);
  CHECK(json::Stringify(*Parse(items[1]).Find("value")) == priv.Wire());
  // Someone else's key cannot read it: decrypt leaves it as signed.
  view::Context other{t.store.get(), nullptr};
  StoredMessage stored = *t.store->Get(priv.id());
  stored.plaintext.reset();
  CHECK(view::DecryptedValue(other, stored) == priv.Wire());
}

TEST_CASE("get by id, {id, private}, {id, meta}, ?unbox= and log position", "[view]") {
  TempStore t;
  Keypair me = Key(3), friend_ = Key(4);
  view::Context ctx{t.store.get(), &me};
  Message priv = Publish(*t.store, me, Post("secret"), {friend_.public_key()});
  auto get = [&](const std::string& arg) { return view::Get(ctx, *json::Parse(arg)); };
  auto plain = get("\"" + priv.id() + "\"");
  REQUIRE(plain.ok());
  CHECK(*plain == priv.Wire());
  auto dec = get(R"({"id": ")" + priv.id() + R"(", "private": true})");
  REQUIRE(dec.ok());
  CHECK(Parse(*dec).Find("content")->Find("text")->as_string() == "secret");
  auto meta = get(R"({"id": ")" + priv.id() + R"(", "meta": true})");
  REQUIRE(meta.ok());
  Value kvt = Parse(*meta);
  CHECK(kvt.keys() == std::vector<std::string>{"key", "value", "timestamp"});
  CHECK(json::Stringify(*kvt.Find("value")) == priv.Wire());
  auto both = get(R"({"id": ")" + priv.id() + R"(", "private": true, "meta": true})");
  REQUIRE(both.ok());
  CHECK(Parse(*both).Find("value")->Find("private")->as_bool());
  // Shared with its key: anyone holding "%id?unbox=KEY" reads it, without our identity.
  std::string key = Base64Encode(*BoxUnboxKey(priv.content()->as_string(), me));
  view::Context stranger{t.store.get(), nullptr};
  auto shared = view::Get(stranger, Value::String(priv.id() + "?unbox=" + key));
  REQUIRE(shared.ok());
  CHECK(Parse(*shared).Find("content")->Find("text")->as_string() == "secret");
  auto missing = get("\"%AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.sha256\"");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK(missing.status().message().find("Key not found in database") == 0);
  auto by_pos = get("1");
  REQUIRE(by_pos.ok());
  CHECK(Parse(*by_pos).Find("key")->as_string() == priv.id());
  CHECK_FALSE(get("{}").ok());
}

TEST_CASE("live streams: old, the sync marker, then what is stored later, old: false only that",
          "[view]") {
  TempStore t;
  Keypair me = Key(5);
  view::Context ctx{t.store.get(), &me};
  for (int i = 0; i < 3; ++i) Publish(*t.store, me, Post("old " + std::to_string(i)));
  struct Case {
    const char* name;
    Result<view::SourcePtr> (*make)(const view::Context&, const Value&);
    std::string opts;
    size_t old;
    bool marker;
  };
  std::string id = me.id();
  std::vector<Case> cases = {
      {"log", &view::CreateLogStream, R"({"live": true})", 3, true},
      {"log sync false", &view::CreateLogStream, R"({"live": true, "sync": false})", 3, false},
      {"log old false", &view::CreateLogStream, R"({"old": false})", 0, false},
      {"feed", &view::CreateFeedStream, R"({"live": true})", 3, true},
      {"type", &view::MessagesByType, R"({"type": "post", "live": true})", 3, true},
      {"user", &view::CreateUserStream, R"({"id": ")" + id + R"(", "live": true})", 3, true},
      // createHistoryStream passes sync === false down: the marker only with sync: false.
      {"history", &view::CreateHistoryStream, R"({"id": ")" + id + R"(", "live": true})", 3, false},
      {"history sync false", &view::CreateHistoryStream,
       R"({"id": ")" + id + R"(", "live": true, "sync": false})", 3, true},
      {"query", &view::QueryRead, R"({"query": [{"$filter": {"value": {"author": ")" + id + R"("}}}], "live": true})", 3, true},
      {"links", &view::Links, R"({"source": ")" + id + R"(", "live": true})", 0, true},
  };
  std::vector<view::SourcePtr> sources;
  for (const auto& c : cases) {
    INFO(c.name);
    auto src = c.make(ctx, Args(c.opts));
    REQUIRE(src.ok());
    Source::State st;
    auto items = Drain(**src, 2, &st);
    CHECK(st == Source::State::kLive);
    CHECK(items.size() == c.old + (c.marker ? 1 : 0));
    if (c.marker) CHECK(items.back() == R"({"sync":true})");
    sources.push_back(std::move(src).value());
  }
  // A new message (linking to us, so that links sees it too) reaches every live stream once.
  Value about = Value::Object();
  about.Set("type", Value::String("post"));
  about.Set("text", Value::String("new"));
  about.Set("mentions", Value::String(id));
  Message fresh = Publish(*t.store, me, about);
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO(cases[i].name);
    Source::State st;
    auto items = Drain(*sources[i], 2, &st);
    CHECK(st == Source::State::kLive);
    REQUIRE(items.size() == 1);
    CHECK(items[0].find(fresh.id()) != std::string::npos);
    CHECK(Drain(*sources[i]).empty());
  }
}

TEST_CASE("limit bounds the old part, reverse, createFeedStream items carry rts", "[view]") {
  TempStore t;
  Keypair me = Key(6);
  view::Context ctx{t.store.get(), &me};
  std::vector<Message> ms;
  for (int i = 0; i < 5; ++i) ms.push_back(Publish(*t.store, me, Post(std::to_string(i))));
  auto src = view::CreateLogStream(ctx, Args(R"({"limit": 2, "reverse": true})"));
  REQUIRE(src.ok());
  Source::State st;
  auto items = Drain(**src, 1000, &st);
  CHECK(st == Source::State::kDone);
  REQUIRE(items.size() == 2);
  CHECK(Parse(items[0]).Find("key")->as_string() == ms[4].id());
  // ssb-db: limit applies to the old part only; the live part is not limited.
  src = view::CreateLogStream(ctx, Args(R"({"limit": 1, "live": true})"));
  items = Drain(**src, 1000, &st);
  CHECK(items.size() == 2);  // one old, the marker
  CHECK(st == Source::State::kLive);
  Publish(*t.store, me, Post("a"));
  Publish(*t.store, me, Post("b"));
  CHECK(Drain(**src).size() == 2);
  src = view::CreateFeedStream(ctx, Args("{}"));
  items = Drain(**src);
  Value first = Parse(items[0]);
  CHECK(first.keys() == std::vector<std::string>{"key", "value", "timestamp", "rts"});
  CHECK(first.Find("rts")->as_number() == 1700000000000.0);
}

TEST_CASE("a slow reader: a source produces at most one page per call, however much is stored",
          "[view]") {
  TempStore t;
  Keypair me = Key(7);
  view::Context ctx{t.store.get(), &me};
  auto src = view::CreateLogStream(ctx, Args(R"({"live": true, "old": false})"));
  REQUIRE(src.ok());
  std::vector<std::string> out;
  CHECK(*(*src)->Next(16, &out) == Source::State::kLive);
  for (int i = 0; i < 500; ++i) Publish(*t.store, me, Post(std::to_string(i)));
  // The reader takes one page; the source holds nothing else, whatever waits in the store.
  out.clear();
  CHECK(*(*src)->Next(16, &out) == Source::State::kMore);
  CHECK(out.size() == 16);
  CHECK((*src)->produced() == 16);
  size_t total = out.size();
  for (;;) {
    out.clear();
    auto st = (*src)->Next(16, &out);
    REQUIRE(st.ok());
    CHECK(out.size() <= 16);
    total += out.size();
    if (*st != Source::State::kMore) break;
  }
  CHECK(total == 500);
}

TEST_CASE("messagesByType finds decrypted private messages, deleted ones are gone", "[view]") {
  TempStore t;
  Keypair me = Key(8), other = Key(9);
  view::Context ctx{t.store.get(), &me};
  Publish(*t.store, me, Post("public"));
  Message priv = Publish(*t.store, me, Post("private"), {other.public_key()});
  auto src = view::MessagesByType(ctx, Value::Array());
  CHECK_FALSE(src.ok());
  Value args = Value::Array();
  args.Push(Value::String("post"));
  src = view::MessagesByType(ctx, args);
  REQUIRE(src.ok());
  auto items = Drain(**src);
  REQUIRE(items.size() == 2);
  CHECK(json::Stringify(*Parse(items[1]).Find("value")) == priv.Wire());  // as signed
  REQUIRE(t.store->Delete(priv.id()).ok());
  src = view::MessagesByType(ctx, args);
  CHECK(Drain(**src).size() == 1);
}

TEST_CASE("links: ssb-db's item shapes for meta, keys and values", "[view]") {
  TempStore t;
  Keypair me = Key(10);
  view::Context ctx{t.store.get(), &me};
  Message first = Publish(*t.store, me, Post("first"));
  Value reply = Post("reply");
  reply.Set("root", Value::String(first.id()));
  Message second = Publish(*t.store, me, reply);
  auto run = [&](const std::string& opts) {
    auto src = view::Links(ctx, Args(opts));
    REQUIRE(src.ok());
    return Drain(**src);
  };
  auto items = run(R"({"dest": ")" + first.id() + R"("})");
  REQUIRE(items.size() == 1);
  CHECK(Parse(items[0]).keys() == std::vector<std::string>{"source", "rel", "dest", "key"});
  items = run(R"({"dest": ")" + first.id() + R"(", "values": true})");
  CHECK(json::Stringify(*Parse(items[0]).Find("value")) == second.Wire());
  items = run(R"({"dest": ")" + first.id() + R"(", "meta": false})");
  CHECK(Parse(items[0]).as_string() == second.id());
  items = run(R"({"dest": "%", "rel": "root", "meta": false, "keys": false, "values": true})");
  CHECK(items[0] == second.Wire());
  CHECK(run(R"({"source": ")" + me.id() + R"(", "dest": "&"})").empty());
  CHECK_FALSE(view::Links(ctx, Args(R"({"meta": false, "keys": false})")).ok());
}

TEST_CASE("query.read and links2.read run map-filter-reduce over the store's items", "[view]") {
  TempStore t;
  Keypair me = Key(11), other = Key(12);
  view::Context ctx{t.store.get(), &me};
  Message first = Publish(*t.store, me, Post("hello"));
  Value vote = Value::Object();
  Value v = Value::Object();
  v.Set("link", Value::String(first.id()));
  v.Set("value", Value::Number(1));
  vote.Set("type", Value::String("vote"));
  vote.Set("vote", v);
  Publish(*t.store, other, vote);
  Publish(*t.store, me, Post("again"));
  auto run = [&](auto make, const std::string& opts) {
    auto src = make(ctx, Args(opts));
    INFO(opts);
    REQUIRE(src.ok());
    return Drain(**src, 2);
  };
  auto items = run(&view::QueryRead, R"({"query": [{"$filter": {"value": {"content": {"type": "post"}}}}]})");
  REQUIRE(items.size() == 2);
  Value item = Parse(items[0]);
  CHECK(item.keys() == std::vector<std::string>{"key", "value", "timestamp", "rts"});  // an index served it
  CHECK(json::Stringify(*item.Find("value")) == first.Wire());
  items = run(&view::QueryRead, R"({"query": [{"$filter": {"value": {"content": {"text": "again"}}}}]})");
  REQUIRE(items.size() == 1);
  CHECK(Parse(items[0]).keys() == std::vector<std::string>{"key", "value", "timestamp"});  // a scan
  items = run(&view::QueryRead, R"({"query": "[{\"$filter\": {\"value\": {\"author\": \")" + me.id() +
                                    R"(\"}}}, {\"$map\": [\"value\", \"sequence\"]}]", "reverse": true})");
  CHECK(items == std::vector<std::string>{"2", "1"});
  items = run(&view::QueryRead, R"({"query": [{"$reduce": {"$count": true}}]})");
  CHECK(items == std::vector<std::string>{"3"});
  items = run(&view::QueryRead, R"({"query": [{"$map": "key"}], "limit": 2})");
  CHECK(items.size() == 2);
  CHECK_FALSE(view::QueryRead(ctx, Args(R"({"query": [{"$reduce": {"$count": true}}], "live": true})")).ok());
  CHECK_FALSE(view::QueryRead(ctx, Args(R"({"query": [{"$nosuch": 1}]})")).ok());
  items = run(&view::Links2Read, R"({"query": [{"$filter": {"dest": ")" + first.id() + R"("}}]})");
  REQUIRE(items.size() == 1);
  Value link = Parse(items[0]);
  CHECK(link.keys() == std::vector<std::string>{"dest", "rel", "source", "ts"});
  CHECK(json::Stringify(*link.Find("rel")) == R"(["vote",1])");
  CHECK(link.Find("source")->as_string() == other.id());
}

TEST_CASE("query.explain picks the index ssb-query picks", "[view]") {
  TempStore t;
  view::Context ctx{t.store.get(), nullptr};
  Value cases = *test::ReadVectorJson("generated/mfr_queries.json").Find("cases");
  size_t checked = 0, same = 0;
  for (const Value& c : cases.items()) {
    const Value* want = c.Find("explain");
    if (!want) continue;
    Value opts = *c.Find("options");
    opts.Set("query", *c.Find("query"));
    Value args = Value::Array();
    args.Push(opts);
    auto got = view::QueryExplain(ctx, args);
    INFO(json::Stringify(opts));
    REQUIRE(got.ok());
    ++checked;
    CHECK(json::Stringify(*got) == json::Stringify(*want));
    if (json::Stringify(*got) == json::Stringify(*want)) ++same;
  }
  test::ReportCount("query.explain vs flumeview-query 8 (ssb-query 2.4's indexes)", same, checked);
  CHECK(checked > 80);
}

}  // namespace
}  // namespace ssb
