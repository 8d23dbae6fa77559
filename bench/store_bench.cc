// Store throughput next to the raw ed25519 verify rate measured in the same run (the reference;
// README "Performance"): the store's own append + validate on one thread, the ingest stage
// from wire texts with one and two workers, createHistoryStream reads, bytes on disk per
// message.
//
//   ssb_store_bench [messages=100000] [rounds=3] [dir=./store_bench_tmp]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "bench_util.h"
#include "corpus.h"
#include "ssb/base64.h"
#include "ssb/ingest.h"
#include "ssb/message.h"
#include "ssb/ref.h"
#include "ssb/store.h"

using namespace ssb;

namespace {

constexpr int kAuthors = 4;
constexpr size_t kBatch = 1000;

// Feeds shaped like the validate bench's corpus (posts of varied length with some non-ASCII,
// votes, contacts), generated one chain per thread and interleaved.
std::vector<std::string> MakeCorpus(size_t n) {
  std::vector<Keypair> authors;
  for (int i = 0; i < kAuthors; ++i) {
    std::array<uint8_t, 32> seed{};
    seed.fill(static_cast<uint8_t>(0x70 + i));
    authors.push_back(Keypair::FromSeed(seed));
  }
  std::vector<std::vector<std::string>> chains(kAuthors);
  std::vector<std::thread> threads;
  for (int a = 0; a < kAuthors; ++a) {
    threads.emplace_back([&, a] {
      std::mt19937_64 rng(static_cast<uint64_t>(a) * 7919 + 1);
      std::optional<FeedState> head;
      size_t count = n / kAuthors + (static_cast<size_t>(a) < n % kAuthors ? 1 : 0);
      for (size_t i = 0; i < count; ++i) {
        json::Value c = ssb::bench::FeedLikeContent(rng, authors[(a + 1) % kAuthors].id());
        auto m = CreateMessage(authors[a], head ? &*head : nullptr, std::move(c),
                               1.7e12 + static_cast<double>(i * 977 + rng() % 500));
        if (!m.ok()) {
          std::fprintf(stderr, "%s\n", m.status().ToString().c_str());
          std::exit(1);
        }
        head = FeedState{m->id(), *m->sequence()};
        chains[a].push_back(m->Wire());
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<int> order;
  for (int a = 0; a < kAuthors; ++a) order.insert(order.end(), chains[a].size(), a);
  std::mt19937_64 rng(99);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<size_t> next(kAuthors, 0);
  std::vector<std::string> out;
  for (int a : order) out.push_back(std::move(chains[a][next[a]++]));
  return out;
}

struct VerifyInputs {
  std::vector<std::string> signing;
  std::vector<PublicKey> keys;
  std::vector<Signature> sigs;
};

double RawVerifyRate(const VerifyInputs& in) {
  double t0 = bench::Now();
  size_t ok = 0;
  for (size_t i = 0; i < in.signing.size(); ++i) {
    ok += VerifySignature(in.keys[i],
                          std::span(reinterpret_cast<const uint8_t*>(in.signing[i].data()),
                                    in.signing[i].size()),
                          in.sigs[i]);
  }
  double t = bench::Now() - t0;
  if (ok != in.signing.size()) {
    std::fprintf(stderr, "raw verification failed\n");
    std::exit(1);
  }
  return static_cast<double>(in.signing.size()) / t;
}

void RemoveStore(const std::string& db) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
}

std::unique_ptr<Store> FreshStore(const std::string& db) {
  RemoveStore(db);
  auto s = Store::Open(db, StoreOptions{});
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(s).value();
}

void CheckAppended(const Result<std::vector<AppendOutcome>>& r) {
  if (!r.ok()) {
    std::fprintf(stderr, "append: %s\n", r.status().ToString().c_str());
    std::exit(1);
  }
  for (const auto& o : *r) {
    if (o.kind != AppendKind::kAppended) {
      std::fprintf(stderr, "not appended: %s\n", o.status.ToString().c_str());
      std::exit(1);
    }
  }
}

// msgs/s of the ingest stage from wire texts into a fresh store, as `sbot add` runs it: a
// producer thread pushes batches of 256 texts into an IngestQueue, a pool of `threads` workers
// parses and checks them, this thread appends them, committing every kBatch messages.
double IngestFromWire(const std::string& db, const std::vector<std::string_view>& texts,
                      unsigned threads) {
  auto store = FreshStore(db);
  WorkerPool pool(threads);
  IngestOptions io;
  IngestChecker checker(io, pool);
  IngestWriter writer(*store, io);
  IngestQueue queue(checker);
  double t0 = bench::Now();
  std::thread producer([&] {
    for (size_t i = 0; i < texts.size(); i += 256) {
      auto b = std::make_unique<IngestBatch>();
      for (size_t j = i; j < std::min(texts.size(), i + 256); ++j) b->Add(std::string(texts[j]));
      if (!queue.Push(std::move(b))) break;
    }
    queue.Close();
  });
  std::unique_ptr<StoreTransaction> tx;
  size_t in_tx = 0;
  while (auto b = queue.Pop()) {
    if (!tx) tx = std::move(store->BeginTransaction()).value();
    if (!writer.Append(*b).ok()) std::exit(1);
    for (const auto& r : b->records) {
      if (r.outcome.kind != AppendKind::kAppended) {
        std::fprintf(stderr, "not appended: %s\n", r.outcome.status.ToString().c_str());
        std::exit(1);
      }
    }
    in_tx += b->records.size();
    if (in_tx >= kBatch) {
      if (!tx->Commit().ok()) std::exit(1);
      tx.reset();
      in_tx = 0;
    }
  }
  if (tx && !tx->Commit().ok()) std::exit(1);
  producer.join();
  return static_cast<double>(texts.size()) / (bench::Now() - t0);
}

// msgs/s of the store's own AppendBatch of parsed Messages (the signature checked inline by its
// single writer), in batches of kBatch.
double AppendParsed(const std::string& db, const std::vector<Message>& msgs) {
  auto store = FreshStore(db);
  AppendOptions opt;
  double t0 = bench::Now();
  for (size_t i = 0; i < msgs.size(); i += kBatch) {
    size_t n = std::min(kBatch, msgs.size() - i);
    CheckAppended(store->AppendBatch(std::span(msgs.data() + i, n), opt));
  }
  return static_cast<double>(msgs.size()) / (bench::Now() - t0);
}

}  // namespace

int main(int argc, char** argv) {
  size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100000;
  int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  std::string dir = argc > 3 ? argv[3] : "store_bench_tmp";
  if (!CryptoInit()) return 1;
  std::filesystem::create_directories(dir);
  std::string db = dir + "/db.sqlite";

  double g0 = bench::Now();
  std::vector<std::string> wires = MakeCorpus(n);
  double gen_time = bench::Now() - g0;
  std::vector<std::string_view> texts(wires.begin(), wires.end());
  std::vector<Message> parsed;
  VerifyInputs raw;
  size_t wire_bytes = 0;
  for (const auto& w : wires) {
    auto m = Message::Parse(w);
    if (!m.ok()) return 1;
    // The reference verifies a sample of up to 20,000 messages, prepared up front.
    if (raw.signing.size() < 20000) {
      raw.signing.push_back(m->signing_bytes());
      raw.keys.push_back(*ParseFeedId(m->author()));
      Signature s;
      auto dec = Base64DecodeCanonical(
          std::string_view(m->value().Find("signature")->as_string()).substr(0, 88));
      std::copy(dec->begin(), dec->end(), s.begin());
      raw.sigs.push_back(s);
    }
    wire_bytes += w.size();
    parsed.push_back(std::move(m).value());
  }

  // Each round measures the reference right before each store run, so that load from other
  // processes on this shared machine hits both alike.
  std::vector<double> raw_rates, wire1, wire2, parsed1, reads;
  for (int r = 0; r < rounds; ++r) {
    raw_rates.push_back(RawVerifyRate(raw));
    wire1.push_back(IngestFromWire(db, texts, 1));
    raw_rates.push_back(RawVerifyRate(raw));
    wire2.push_back(IngestFromWire(db, texts, 2));
    raw_rates.push_back(RawVerifyRate(raw));
    parsed1.push_back(AppendParsed(db, parsed));
  }

  // Reads and size, on the store the last run left behind.
  auto opened = Store::Open(db, StoreOptions{});
  if (!opened.ok()) return 1;
  auto& store = *opened;
  (void)store->Checkpoint();
  auto stats = store->Stats();
  auto feeds = store->Feeds();
  if (!stats.ok() || !feeds.ok() || static_cast<size_t>(stats->messages) != n) {
    std::fprintf(stderr, "store holds the wrong number of messages\n");
    return 1;
  }
  for (int r = 0; r < rounds; ++r) {
    size_t count = 0, bytes = 0;
    double t0 = bench::Now();
    for (const auto& f : *feeds) {
      HistoryQuery q;
      q.author = f.author;
      Status s = store->History(q, [&](const StoredMessage& m) {
        ++count;
        bytes += m.value_json.size();
        return true;
      });
      if (!s.ok() || bytes == 0) return 1;
    }
    reads.push_back(static_cast<double>(count) / (bench::Now() - t0));
  }

  double raw_rate = bench::Median(raw_rates);
  std::printf("store_bench: %zu messages (%.0f bytes average wire JSON, %d feeds), batches of "
              "%zu, %d rounds, %u hardware threads; corpus generated in %.1f s\n",
              n, static_cast<double>(wire_bytes) / static_cast<double>(n), kAuthors, kBatch,
              rounds, std::thread::hardware_concurrency(), gen_time);
  bench::Header("Store");
  bench::Row("raw crypto_sign_verify_detached, one core", raw_rate, "msgs/s", "reference");
  auto ratio_row = [&](const char* name, const std::vector<double>& v, const char* goal) {
    double m = bench::Median(v);
    char note[96];
    std::snprintf(note, sizeof note, "%.2fx raw%s", m / raw_rate, goal);
    bench::Row(name, m, "msgs/s", note);
  };
  ratio_row("store AppendBatch, parsed Messages, 1 thread", parsed1, " (goal >= 0.6)");
  ratio_row("ingest from wire, 1 worker + writer", wire1, "");
  ratio_row("ingest from wire, 2 workers + writer", wire2, " (goal >= 1.1)");
  bench::Row("createHistoryStream read (all feeds)", bench::Median(reads), "msgs/s", "");
  bench::Row("bytes on disk per message", static_cast<double>(stats->file_bytes) /
                                              static_cast<double>(n),
             "bytes", "after checkpoint; incl. indexes");
  std::printf("(durable commits: fsync per batch of %zu; all runs of one kind: ", kBatch);
  for (double v : wire2) std::printf("%.0f ", v);
  std::printf("msgs/s parsed 2 threads)\n");
  store.reset();
  std::filesystem::remove_all(dir);
  return 0;
}
