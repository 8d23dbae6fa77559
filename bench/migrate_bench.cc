// Importing an old log, on the path users run: `sbot migrate` of a data dir holding
// ssb-server's flume/log.offset (and, for information, ssb-db2's db2/log.bipf), against
// `sbot add` of the same messages as NDJSON, in the same run.
//
//   ssb_migrate_bench SBOT [messages=100000] [feeds=20] [runs=5] [dir=./migrate_bench_tmp]
//
// The corpus is bench/corpus.h's feed-like content, MESSAGES signed messages of FEEDS feeds,
// interleaved as replication stores them. It is written once as {key, value, timestamp} lines
// (what `sbot add` reads) and as both old logs, framed by libsync's writers, whose bytes tests
// prove equal to what the npm packages write (tests/oldlog; generating 100,000 messages through
// ssb-server would take many minutes). Each run executes `sbot add` and `sbot migrate` (and the
// db2 import) as fresh processes on fresh data dirs, alternating which goes first; the table
// gives medians, the median of the per-run ratios import/add (goal >= 0.9), and each child's
// peak RSS (ru_maxrss).
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bench_util.h"
#include "corpus.h"
#include "ssb/keys.h"
#include "ssb/message.h"
#include "ssb/oldlog.h"

extern char** environ;

using namespace ssb;
namespace fs = std::filesystem;

namespace {

struct Run {
  double seconds = 0;
  double rss_mib = 0;
  int status = -1;
  std::string out;  // first bytes of stdout
};

// Runs argv with stdin from `in` ("" for /dev/null) and stdout into a temporary file.
Run Spawn(std::vector<std::string> args, const std::string& in, const std::string& out_path) {
  Run r;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, in.empty() ? "/dev/null" : in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  double t0 = bench::Now();
  int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return r;
  int status = 0;
  struct rusage ru {};
  wait4(pid, &status, 0, &ru);
  r.seconds = bench::Now() - t0;
  r.rss_mib = static_cast<double>(ru.ru_maxrss) / 1024;
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream o(out_path);
  std::string line;
  std::getline(o, line);
  r.out = line.substr(0, 400);
  return r;
}

// The number after "stored": in migrate's JSON.
long Stored(const std::string& json) {
  auto at = json.find("\"stored\":");
  return at == std::string::npos ? -1 : std::strtol(json.c_str() + at + 9, nullptr, 10);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: ssb_migrate_bench SBOT [messages] [feeds] [runs] [dir]\n");
    return 2;
  }
  std::string sbot = fs::absolute(argv[1]).string();
  long n = argc > 2 ? std::atol(argv[2]) : 100000;
  long feeds = argc > 3 ? std::atol(argv[3]) : 20;
  int runs = argc > 4 ? std::atoi(argv[4]) : 5;
  std::string dir = argc > 5 ? argv[5] : "./migrate_bench_tmp";
  CryptoInit();
  fs::remove_all(dir);
  fs::create_directories(dir + "/flume-src/flume");
  fs::create_directories(dir + "/db2-src/db2");

  // The corpus, once: NDJSON for `sbot add`, and both old logs.
  double t0 = bench::Now();
  std::mt19937_64 rng(42);
  std::vector<Keypair> keys;
  std::vector<std::optional<FeedState>> heads(static_cast<size_t>(feeds));
  for (long f = 0; f < feeds; ++f) keys.push_back(Keypair::Generate());
  auto flume = oldlog::LogWriter::Create(dir + "/flume-src/flume/log.offset", oldlog::LogFormat::kFlumeOffset);
  auto db2 = oldlog::LogWriter::Create(dir + "/db2-src/db2/log.bipf", oldlog::LogFormat::kDb2Bipf);
  if (!flume.ok() || !db2.ok()) return std::fprintf(stderr, "cannot create the logs\n"), 1;
  std::ofstream ndjson(dir + "/corpus.ndjson", std::ios::binary);
  double received = bench::Now() * 1000 - static_cast<double>(n) * 10;
  size_t json_bytes = 0;
  for (long i = 0; i < n; ++i) {
    auto f = static_cast<size_t>(i % feeds);
    json::Value c = bench::FeedLikeContent(rng, keys[(f + 1) % keys.size()].id());
    auto m = CreateMessage(keys[f], heads[f] ? &*heads[f] : nullptr, std::move(c),
                           1'600'000'000'000 + static_cast<double>(i));
    if (!m.ok()) return std::fprintf(stderr, "%s\n", m.status().ToString().c_str()), 1;
    heads[f] = FeedState{m->id(), *m->sequence()};
    received += 7.5;
    for (auto* w : {&*flume, &*db2}) {
      std::string data = oldlog::EncodeRecord(w == &*flume ? oldlog::LogFormat::kFlumeOffset
                                                           : oldlog::LogFormat::kDb2Bipf,
                                              m->id(), m->value(), received);
      if (!(**w).Append(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()),
                                                 data.size())).ok()) {
        return std::fprintf(stderr, "append failed\n"), 1;
      }
    }
    std::string line = oldlog::EncodeRecord(oldlog::LogFormat::kFlumeOffset, m->id(), m->value(), received);
    json_bytes += line.size();
    ndjson << line << '\n';
  }
  if (!(*flume)->Flush().ok() || !(*db2)->Flush().ok()) return 1;
  ndjson.close();
  std::printf("corpus: %ld messages of %ld feeds, %.1f MB of KVT JSON, made in %.1f s\n", n, feeds,
              static_cast<double>(json_bytes) / 1e6, bench::Now() - t0);
  std::printf("flume/log.offset %.1f MB, db2/log.bipf %.1f MB\n",
              static_cast<double>(fs::file_size(dir + "/flume-src/flume/log.offset")) / 1e6,
              static_cast<double>(fs::file_size(dir + "/db2-src/db2/log.bipf")) / 1e6);

  std::vector<double> add_rate, flume_rate, db2_rate, ratio, add_rss, flume_rss, db2_rss;
  std::string out = dir + "/stdout";
  for (int r = 0; r < runs; ++r) {
    auto add = [&] {
      std::string d = dir + "/add";
      fs::remove_all(d);
      Run a = Spawn({sbot, "--path", d, "add"}, dir + "/corpus.ndjson", out);
      fs::remove_all(d);
      return a;
    };
    auto import = [&](const std::string& src, const std::string& rel) {
      std::string d = dir + "/import";
      fs::remove_all(d);
      fs::create_directories(fs::path(d + "/" + rel).parent_path());
      fs::create_hard_link(dir + "/" + src + "/" + rel, d + "/" + rel);  // read-only use
      Run a = Spawn({sbot, "--path", d, "migrate"}, "", out);
      fs::remove_all(d);
      return a;
    };
    Run a, f, b;
    if (r % 2 == 0) {
      a = add();
      f = import("flume-src", "flume/log.offset");
    } else {
      f = import("flume-src", "flume/log.offset");
      a = add();
    }
    b = import("db2-src", "db2/log.bipf");
    if (a.status != 0 || f.status != 0 || b.status != 0 || Stored(f.out) != n || Stored(b.out) != n) {
      std::fprintf(stderr, "run %d failed: add %d, import %d (%s), db2 %d (%s)\n", r, a.status,
                   f.status, f.out.c_str(), b.status, b.out.c_str());
      return 1;
    }
    double na = static_cast<double>(n);
    add_rate.push_back(na / a.seconds);
    flume_rate.push_back(na / f.seconds);
    db2_rate.push_back(na / b.seconds);
    ratio.push_back(a.seconds / f.seconds);
    add_rss.push_back(a.rss_mib);
    flume_rss.push_back(f.rss_mib);
    db2_rss.push_back(b.rss_mib);
    std::printf("run %d: sbot add %.2f s, migrate flume/log.offset %.2f s (ratio %.2f), db2/log.bipf %.2f s\n",
                r + 1, a.seconds, f.seconds, a.seconds / f.seconds, b.seconds);
    std::fflush(stdout);
  }
  fs::remove_all(dir);

  bench::Header("import of an old log vs `sbot add` of the same messages (" + std::to_string(n) +
                " messages, " + std::to_string(runs) + " runs, medians)");
  bench::Row("sbot add (NDJSON of {key,value,timestamp})", bench::Median(add_rate), "msgs/s", "reference");
  bench::Row("sbot migrate: flume/log.offset", bench::Median(flume_rate), "msgs/s");
  bench::Row("sbot migrate: db2/log.bipf", bench::Median(db2_rate), "msgs/s", "for information");
  std::printf("| %-46s | %14.2f | %-8s | %s\n", "import / add, median of per-run ratios",
              bench::Median(ratio), "x", "goal >= 0.9");
  std::printf("| %-46s | %14.2f | %-8s | %s\n", "import / add, ratio of medians",
              bench::Median(flume_rate) / bench::Median(add_rate), "x", "");
  bench::Row("peak RSS sbot add", bench::Median(add_rss), "MiB");
  bench::Row("peak RSS migrate flume/log.offset", bench::Median(flume_rss), "MiB");
  bench::Row("peak RSS migrate db2/log.bipf", bench::Median(db2_rss), "MiB");
  return 0;
}
