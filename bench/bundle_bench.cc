// Bundle throughput and size, next to references measured in the same run: the raw ed25519
// verify rate, the store's own append rate (parse + validate + verify on all cores), the same
// messages as NDJSON and gzip -6 of it.
//
//   ssb_bundle_bench [messages=100000] [feeds=20] [dir=./bundle_bench_tmp] [runs=1]
// The corpus is bench/corpus.h's feed-like content (posts with random-letter text, votes,
// contacts). The store append and the import are each run `runs` times (alternating, each
// into a fresh store) and reported as medians. Each import runs in a freshly executed child
// process (this program with --import-child), so that its wall time and peak RSS (VmHWM of
// the child, nothing inherited from the parent) are the import's alone. 1000000 messages gives
// the 1M-message figures (goal: <= 60 s, peak RSS <= 256 MiB on 2 cores).
//
//   ssb_bundle_bench --import-child BUNDLE STORE
// imports BUNDLE into a new store at STORE and prints "seconds messages vmhwm_kib".
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "bench_util.h"
#include "corpus.h"
#include "ssb/base64.h"
#include "ssb/bundle_sync.h"
#include "ssb/ingest.h"
#include "ssb/ref.h"

extern char** environ;

using namespace ssb;
namespace fs = std::filesystem;

namespace {

// VmHWM of this process in KiB: the peak resident set since exec.
long PeakRssKib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

int ImportChild(const std::string& bundle, const std::string& store_path) {
  CryptoInit();
  StoreOptions so;
  so.durable_commits = true;
  auto store = Store::Open(store_path, so);
  if (!store.ok()) return std::fprintf(stderr, "%s\n", store.status().ToString().c_str()), 1;
  ImportOptions io;
  io.network = NetworkIdFromKey(MainNetKey());
  double s = bench::Now();
  auto r = ImportBundle(**store, nullptr, bundle, io);
  double secs = bench::Now() - s;
  if (!r.ok()) return std::fprintf(stderr, "%s\n", r.status().ToString().c_str()), 1;
  std::printf("%.6f %llu %ld\n", secs, static_cast<unsigned long long>(r->messages_applied), PeakRssKib());
  return 0;
}

struct ChildResult {
  double seconds = 0;
  uint64_t messages = 0;
  double rss_mib = 0;
};

// Runs this program again as a fresh process that imports `bundle`.
bool RunImportChild(const std::string& self, const std::string& bundle, const std::string& store,
                    ChildResult* out) {
  int pipefd[2];
  if (::pipe(pipefd) != 0) return false;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  posix_spawn_file_actions_addclose(&fa, pipefd[0]);
  std::string flag = "--import-child";
  char* argv[] = {const_cast<char*>(self.c_str()), flag.data(), const_cast<char*>(bundle.c_str()),
                  const_cast<char*>(store.c_str()), nullptr};
  pid_t pid;
  int rc = posix_spawn(&pid, self.c_str(), &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(pipefd[1]);
  if (rc != 0) {
    ::close(pipefd[0]);
    return false;
  }
  std::string text;
  char buf[256];
  for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return false;
  unsigned long long msgs = 0;
  long kib = 0;
  if (std::sscanf(text.c_str(), "%lf %llu %ld", &out->seconds, &msgs, &kib) != 3) return false;
  out->messages = msgs;
  out->rss_mib = static_cast<double>(kib) / 1024.0;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--import-child") return ImportChild(argv[2], argv[3]);
  size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100000;
  size_t feeds = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 20;
  std::string dir = argc > 3 ? argv[3] : "./bundle_bench_tmp";
  int runs = argc > 4 ? std::max(1, std::atoi(argv[4])) : 1;
  std::string self = fs::canonical("/proc/self/exe").string();
  CryptoInit();
  fs::remove_all(dir);
  fs::create_directories(dir);
  dir = fs::canonical(dir).string();
  StoreOptions so;
  so.durable_commits = true;

  // Corpus: `feeds` feeds of posts of varied length, as in the other benches.
  std::vector<Keypair> authors;
  for (size_t i = 0; i < feeds; ++i) authors.push_back(Keypair::Generate());
  std::vector<std::optional<FeedState>> heads(feeds);
  std::vector<std::string> wires;
  wires.reserve(n);
  uint64_t seed = 42;
  auto rnd = [&] { return seed = seed * 6364136223846793005ull + 1442695040888963407ull, seed >> 33; };
  double t0 = bench::Now();
  for (size_t i = 0; i < n; ++i) {
    size_t a = i % feeds;
    json::Value c = bench::FeedLikeContent(rnd, authors[(a + 1) % feeds].id());
    auto m = CreateMessage(authors[a], heads[a] ? &*heads[a] : nullptr, std::move(c), 1.7e12 + static_cast<double>(i));
    heads[a] = FeedState{m->id(), *m->sequence()};
    wires.push_back(m->Wire());
  }
  std::printf("bundle_bench: %zu messages in %zu feeds, corpus made in %.1f s; %d run(s)\n", n, feeds,
              bench::Now() - t0, runs);
  std::fflush(stdout);

  // Reference: the ingest stage's append rate for the same messages (wire -> store, checked on
  // the worker pool, one transaction per batch of 2,000).
  auto append_all = [&](const std::string& path) {
    auto store = std::move(Store::Open(path, so)).value();
    IngestOptions io;
    IngestChecker checker(io);
    IngestWriter writer(*store, io);
    double start = bench::Now();
    for (size_t i = 0; i < wires.size(); i += 2000) {
      IngestBatch batch;
      for (size_t j = i; j < std::min(wires.size(), i + 2000); ++j) batch.Add(wires[j]);
      checker.Check(batch);
      if (!writer.Append(batch).ok()) std::abort();
    }
    return std::make_pair(static_cast<double>(n) / (bench::Now() - start), std::move(store));
  };
  auto [first_append, source] = append_all(dir + "/a.sqlite");
  std::vector<double> append_rates = {first_append};
  // Raw verify on one core, for scale.
  auto raw_verify = [&] {
    size_t k = std::min<size_t>(n, 20000);
    std::vector<Message> msgs;
    for (size_t i = 0; i < k; ++i) msgs.push_back(std::move(Message::Parse(wires[i])).value());
    ValidateOptions vo;
    double start = bench::Now();
    for (const auto& m : msgs) if (!VerifyMessageSignature(m, vo)) std::abort();
    return static_cast<double>(k) / (bench::Now() - start);
  };
  std::vector<double> raw_rates = {raw_verify()};
  // NDJSON and gzip -6 of it.
  std::string ndjson = dir + "/messages.ndjson";
  {
    std::ofstream out(ndjson);
    for (const auto& w : wires) out << w << "\n";
  }
  double ndjson_size = static_cast<double>(fs::file_size(ndjson));
  if (std::system(("gzip -6 -k -f " + ndjson).c_str()) != 0) std::fprintf(stderr, "gzip failed\n");
  double gzip_size = static_cast<double>(fs::file_size(ndjson + ".gz"));
  fs::remove(ndjson);
  fs::remove(ndjson + ".gz");

  auto exporter = Keypair::Generate();
  ExportOptions eo;
  eo.all = true;
  eo.network = NetworkIdFromKey(MainNetKey());
  double start = bench::Now();
  auto exported = ExportBundle(*source, nullptr, exporter, eo, dir + "/all.ssb-bundle");
  double export_s = bench::Now() - start;
  if (!exported.ok()) return std::fprintf(stderr, "%s\n", exported.status().ToString().c_str()), 1;
  double bundle_size = static_cast<double>(fs::file_size(dir + "/all.ssb-bundle"));
  source.reset();

  // Imports, alternating with further store appends so that both see the same machine load.
  std::vector<double> import_secs, import_rss;
  for (int run = 0; run < runs; ++run) {
    if (run > 0) {
      std::string path = dir + "/a" + std::to_string(run) + ".sqlite";
      append_rates.push_back(append_all(path).first);
      for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path + suffix);
      raw_rates.push_back(raw_verify());
    }
    std::string store = dir + "/b" + std::to_string(run) + ".sqlite";
    ChildResult r;
    if (!RunImportChild(self, dir + "/all.ssb-bundle", store, &r) || r.messages != n) {
      return std::fprintf(stderr, "import failed\n"), 1;
    }
    import_secs.push_back(r.seconds);
    import_rss.push_back(r.rss_mib);
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(store + suffix);
    std::printf("run %d: store append %.0f msgs/s, import %.1f s (%.0f msgs/s), peak RSS %.1f MiB\n", run + 1,
                append_rates.back(), r.seconds, static_cast<double>(n) / r.seconds, r.rss_mib);
    std::fflush(stdout);
  }
  double append_rate = bench::Median(append_rates);
  double raw_rate = bench::Median(raw_rates);
  double import_s = bench::Median(import_secs);
  double import_rate = static_cast<double>(n) / import_s;
  std::vector<double> ratios;
  for (size_t i = 0; i < import_secs.size(); ++i) {
    ratios.push_back(static_cast<double>(n) / import_secs[i] / append_rates[i]);
  }
  bench::Header("Bundles (" + std::to_string(n) + " messages, " + std::to_string(feeds) + " feeds; medians of " +
                std::to_string(runs) + ")");
  bench::Row("raw crypto_sign_verify_detached, one core", raw_rate, "msgs/s", "reference");
  bench::Row("store append+validate from wire, all cores", append_rate, "msgs/s", "reference");
  bench::Row("export", static_cast<double>(exported->body_bytes) / 1e6 / export_s, "MB/s", "uncompressed message bytes");
  bench::Row("import (one pass, verify on all cores)", import_rate, "msgs/s", "fresh child process");
  bench::Row("import time", import_s, "s", n >= 1000000 ? "goal <= 60 s for 1,000,000" : "");
  bench::Row("import peak RSS (child VmHWM)", bench::Median(import_rss), "MiB", "goal <= 256");
  bench::Row("bundle bytes", bundle_size, "bytes", "");
  std::printf("ratio bundle/NDJSON: %.3f (goal <= 0.4); bundle/gzip -6: %.3f\n", bundle_size / ndjson_size, bundle_size / gzip_size);
  std::printf("ratio import/store-append: %.3f (median of per-run ratios %.3f; goal >= 0.95); import/raw-verify: %.3f\n",
              import_rate / append_rate, bench::Median(ratios), import_rate / raw_rate);
  if (!std::getenv("SSB_BENCH_KEEP")) fs::remove_all(dir);
  return 0;
}
