// Bundle throughput and size, next to references measured in the same run: the raw ed25519
// verify rate, the store's own append rate (parse + validate + verify on all cores), the same
// messages as NDJSON and gzip -6 of it.
//
//   ssb_bundle_bench [messages=100000] [feeds=20] [dir=./bundle_bench_tmp]
// The corpus is bench/corpus.h's feed-like content (posts with random-letter text, votes,
// contacts).
// With 1000000 messages it also reports the import time and the import's peak RSS (measured in
// a child process).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "bench_util.h"
#include "corpus.h"
#include "ssb/base64.h"
#include "ssb/bundle_sync.h"
#include "ssb/ref.h"

using namespace ssb;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100000;
  size_t feeds = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 20;
  std::string dir = argc > 3 ? argv[3] : "./bundle_bench_tmp";
  CryptoInit();
  fs::remove_all(dir);
  fs::create_directories(dir);
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
  std::printf("bundle_bench: %zu messages in %zu feeds, corpus made in %.1f s\n", n, feeds, bench::Now() - t0);

  // Reference: the store's own append rate for the same messages (wire → store, all cores).
  auto append_all = [&](const std::string& path) {
    auto store = std::move(Store::Open(path, so)).value();
    AppendOptions ao;
    ao.verify_threads = 0;
    double start = bench::Now();
    for (size_t i = 0; i < wires.size(); i += 2000) {
      std::vector<std::string_view> batch(wires.begin() + static_cast<std::ptrdiff_t>(i),
                                          wires.begin() + static_cast<std::ptrdiff_t>(std::min(wires.size(), i + 2000)));
      if (!store->AppendWireBatch(batch, ao).ok()) std::abort();
    }
    return std::make_pair(static_cast<double>(n) / (bench::Now() - start), std::move(store));
  };
  auto [append_rate, source] = append_all(dir + "/a.sqlite");
  // Raw verify on one core, for scale.
  double raw_rate;
  {
    size_t k = std::min<size_t>(n, 20000);
    std::vector<Message> msgs;
    for (size_t i = 0; i < k; ++i) msgs.push_back(std::move(Message::Parse(wires[i])).value());
    ValidateOptions vo;
    double start = bench::Now();
    for (const auto& m : msgs) if (!VerifyMessageSignature(m, vo)) std::abort();
    raw_rate = static_cast<double>(k) / (bench::Now() - start);
  }
  // NDJSON and gzip -6 of it.
  std::string ndjson = dir + "/messages.ndjson";
  {
    std::ofstream out(ndjson);
    for (const auto& w : wires) out << w << "\n";
  }
  double ndjson_size = static_cast<double>(fs::file_size(ndjson));
  if (std::system(("gzip -6 -k -f " + ndjson).c_str()) != 0) std::fprintf(stderr, "gzip failed\n");
  double gzip_size = static_cast<double>(fs::file_size(ndjson + ".gz"));

  auto exporter = Keypair::Generate();
  ExportOptions eo;
  eo.all = true;
  eo.network = NetworkIdFromKey(MainNetKey());
  double start = bench::Now();
  auto exported = ExportBundle(*source, nullptr, exporter, eo, dir + "/all.ssb-bundle");
  double export_s = bench::Now() - start;
  if (!exported.ok()) return std::fprintf(stderr, "%s\n", exported.status().ToString().c_str()), 1;
  double bundle_size = static_cast<double>(fs::file_size(dir + "/all.ssb-bundle"));

  // Import in a child process, to measure its peak RSS alone.
  int pipefd[2];
  if (::pipe(pipefd) != 0) return 1;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipefd[0]);
    auto store = std::move(Store::Open(dir + "/b.sqlite", so)).value();
    ImportOptions io;
    io.network = eo.network;
    double s = bench::Now();
    auto r = ImportBundle(*store, nullptr, dir + "/all.ssb-bundle", io);
    double secs = bench::Now() - s;
    if (!r.ok() || r->messages_applied != n) std::_Exit(2);
    if (::write(pipefd[1], &secs, sizeof secs) != sizeof secs) std::_Exit(3);
    std::_Exit(0);
  }
  ::close(pipefd[1]);
  double import_s = 0;
  if (::read(pipefd[0], &import_s, sizeof import_s) != sizeof import_s) return std::fprintf(stderr, "import failed\n"), 1;
  int status = 0;
  ::waitpid(pid, &status, 0);
  struct rusage ru;
  ::getrusage(RUSAGE_CHILDREN, &ru);
  double rss_mib = static_cast<double>(ru.ru_maxrss) / 1024.0;

  double import_rate = static_cast<double>(n) / import_s;
  bench::Header("Bundles");
  bench::Row("raw crypto_sign_verify_detached, one core", raw_rate, "msgs/s", "reference");
  bench::Row("store append+validate from wire, all cores", append_rate, "msgs/s", "reference");
  bench::Row("export", static_cast<double>(exported->body_bytes) / 1e6 / export_s, "MB/s", "uncompressed message bytes");
  bench::Row("import (verify pass + apply pass)", import_rate, "msgs/s", "");
  bench::Row("import time", import_s, "s", n >= 1000000 ? "goal <= 60 s for 1,000,000" : "");
  bench::Row("import peak RSS (child process)", rss_mib, "MiB", "goal <= 256");
  bench::Row("bundle bytes", bundle_size, "bytes", "");
  std::printf("ratio bundle/NDJSON: %.3f (goal <= 0.4); bundle/gzip -6: %.3f\n", bundle_size / ndjson_size, bundle_size / gzip_size);
  std::printf("ratio import/store-append: %.3f (goal >= 0.95); import/raw-verify: %.3f\n", import_rate / append_rate, import_rate / raw_rate);
  fs::remove_all(dir);
  return 0;
}
