// ssb_verify_floor: the least time any peer on this machine can take to receive a corpus, if it
// checks every signature (as replication must): the corpus's ed25519 signatures verified with
// libsodium on every core and nothing else (no parsing, hashing, storing or network in the
// timed part). bench/net/net_bench.js prints it beside the C++ → C++ replication time.
//
//   ssb_verify_floor CORPUS.ndjson [THREADS] [ROUNDS]
//
// CORPUS: one message value (wire JSON) per line, as net_bench.js writes it. THREADS defaults to
// the number of cores, ROUNDS to 3. Prints one JSON line:
//   {"messages":N,"threads":T,"secs":S,"rounds":[...],"per_core_rate":R}
// where secs is the median round. Exit status 1 if a signature does not verify or a line is not
// a message.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "../bench_util.h"
#include "ssb/base64.h"
#include "ssb/message.h"
#include "ssb/ref.h"

using namespace ssb;

namespace {

struct Job {
  std::string signing;
  PublicKey key;
  Signature sig;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: ssb_verify_floor CORPUS.ndjson [THREADS] [ROUNDS]\n");
    return 2;
  }
  unsigned threads = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2]))
                              : std::max(1u, std::thread::hardware_concurrency());
  int rounds = argc > 3 ? std::atoi(argv[3]) : 3;
  if (threads == 0 || rounds <= 0) return std::fprintf(stderr, "bad THREADS or ROUNDS\n"), 2;
  CryptoInit();

  std::ifstream in(argv[1]);
  if (!in) return std::fprintf(stderr, "cannot read %s\n", argv[1]), 2;
  std::vector<Job> jobs;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto m = Message::Parse(line);
    if (!m.ok()) {
      std::fprintf(stderr, "line %zu: %s\n", jobs.size() + 1, m.status().ToString().c_str());
      return 1;
    }
    auto key = ParseFeedId(m->author());
    const json::Value* sig = m->value().Find("signature");
    if (!key || !sig || !sig->is_string()) return std::fprintf(stderr, "unsigned message\n"), 1;
    auto raw = Base64DecodeCanonical(std::string_view(sig->as_string()).substr(0, 88));
    if (!raw || raw->size() != 64) return std::fprintf(stderr, "bad signature\n"), 1;
    Job j;
    j.signing = m->signing_bytes();
    j.key = *key;
    std::copy(raw->begin(), raw->end(), j.sig.begin());
    jobs.push_back(std::move(j));
  }
  if (jobs.empty()) return std::fprintf(stderr, "%s holds no messages\n", argv[1]), 2;

  std::vector<double> times;
  for (int r = 0; r < rounds; ++r) {
    std::atomic<size_t> next{0}, bad{0};
    constexpr size_t kGrain = 64;
    auto work = [&] {
      for (;;) {
        size_t start = next.fetch_add(kGrain);
        if (start >= jobs.size()) return;
        size_t end = std::min(jobs.size(), start + kGrain);
        for (size_t i = start; i < end; ++i) {
          const Job& j = jobs[i];
          if (!VerifySignature(j.key,
                               std::span(reinterpret_cast<const uint8_t*>(j.signing.data()),
                                         j.signing.size()),
                               j.sig)) {
            bad.fetch_add(1);
          }
        }
      }
    };
    double t0 = bench::Now();
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    times.push_back(bench::Now() - t0);
    if (bad.load() != 0) return std::fprintf(stderr, "%zu signatures failed\n", bad.load()), 1;
  }
  double secs = bench::Median(times);
  std::printf("{\"messages\":%zu,\"threads\":%u,\"secs\":%.4f,\"rounds\":[", jobs.size(), threads,
              secs);
  for (size_t i = 0; i < times.size(); ++i) std::printf("%s%.4f", i ? "," : "", times[i]);
  std::printf("],\"per_core_rate\":%.0f}\n",
              static_cast<double>(jobs.size()) / secs / static_cast<double>(threads));
  return 0;
}
