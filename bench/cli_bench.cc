// `sbot add` and `sbot validate` as users run them: the real binary, spawned with a corpus file
// on stdin, timed from spawn to exit, next to the raw one-core ed25519 verify rate of the same
// messages measured in the same run (the reference; README "Performance").
//
//   ssb_cli_bench SBOT [messages=20000] [feeds=4] [rounds=5] [dir=./cli_bench_tmp]
//
// The corpus is realistic feed data: ~1 KB messages of several feeds, mostly posts, with votes,
// contacts and private messages (a tenth of them, half of those for the data dir's own
// identity, which `sbot add` stores decrypted). `validate` runs pinned to one CPU and to two;
// `add` on two, each into a fresh store (durable commits, as users get them). Rounds
// interleave the reference and the runs, so that load from other processes on a shared
// machine hits both alike; the table shows medians and the median of per-round ratios.
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bench_util.h"
#include "ssb/base64.h"
#include "ssb/box.h"
#include "ssb/keys.h"
#include "ssb/message.h"
#include "ssb/ref.h"
#include "ssb/worker_pool.h"

using namespace ssb;

namespace {

Keypair Seeded(uint8_t b) {
  std::array<uint8_t, 32> seed{};
  seed.fill(b);
  return Keypair::FromSeed(seed);
}

std::string Text(std::mt19937_64& rng, size_t len) {
  std::string text;
  while (text.size() < len) {
    if (rng() % 40 == 0) {
      text += "\xC3\xA9";
    } else if (rng() % 7 == 0) {
      text += ' ';
    } else {
      text += static_cast<char>('a' + rng() % 26);
    }
  }
  return text;
}

// Content of about 1 KB on the wire: posts (75%), votes, contacts, and a tenth private.
json::Value Content(std::mt19937_64& rng, const Keypair& me, const Keypair& other,
                    const std::vector<Keypair>& authors, bool* boxed) {
  json::Value c = json::Value::Object();
  unsigned kind = static_cast<unsigned>(rng() % 20);
  if (kind < 15) {
    c.Set("type", json::Value::String("post"));
    c.Set("text", json::Value::String(Text(rng, 500 + rng() % 700)));
    c.Set("root", json::Value::String("%" + std::string(43, 'A') + "=.sha256"));
    json::Value mentions = json::Value::Array();
    json::Value m = json::Value::Object();
    m.Set("link", json::Value::String(authors[rng() % authors.size()].id()));
    m.Set("name", json::Value::String("friend"));
    mentions.Push(std::move(m));
    c.Set("mentions", std::move(mentions));
  } else if (kind < 17) {
    c.Set("type", json::Value::String("vote"));
    json::Value vote = json::Value::Object();
    vote.Set("link", json::Value::String("%" + std::string(43, 'B') + "=.sha256"));
    vote.Set("value", json::Value::Number(1));
    vote.Set("expression", json::Value::String("Like"));
    c.Set("vote", std::move(vote));
  } else if (kind < 18) {
    c.Set("type", json::Value::String("contact"));
    c.Set("contact", json::Value::String(authors[rng() % authors.size()].id()));
    c.Set("following", json::Value::Bool(true));
  } else {
    c.Set("type", json::Value::String("post"));
    c.Set("text", json::Value::String(Text(rng, 300 + rng() % 400)));
    std::vector<PublicKey> to{kind == 18 ? me.public_key() : other.public_key()};
    auto box = BoxEncrypt(json::Stringify(c), to);
    if (!box.ok()) std::exit(1);
    *boxed = true;
    return json::Value::String(*box);
  }
  return c;
}

struct Corpus {
  std::string ndjson;
  std::vector<std::string> signing;  // for the reference
  std::vector<PublicKey> keys;
  std::vector<Signature> sigs;
  size_t messages = 0, boxed = 0, bytes = 0;
};

Corpus MakeCorpus(size_t n, size_t feeds, const Keypair& me) {
  Corpus out;
  std::vector<Keypair> authors;
  for (size_t i = 0; i < feeds; ++i) authors.push_back(Seeded(static_cast<uint8_t>(0x30 + i)));
  Keypair other = Seeded(0x2f);
  std::vector<std::optional<FeedState>> heads(feeds);
  std::mt19937_64 rng(42);
  for (size_t i = 0; i < n; ++i) {
    size_t a = rng() % feeds;
    bool boxed = false;
    json::Value c = Content(rng, me, other, authors, &boxed);
    auto m = CreateMessage(authors[a], heads[a] ? &*heads[a] : nullptr, std::move(c),
                           1.7e12 + static_cast<double>(i) * 1000);
    if (!m.ok()) {
      std::fprintf(stderr, "%s\n", m.status().ToString().c_str());
      std::exit(1);
    }
    heads[a] = FeedState{m->id(), *m->sequence()};
    std::string wire = m->Wire();
    out.bytes += wire.size();
    out.ndjson += wire;
    out.ndjson += '\n';
    out.signing.push_back(m->signing_bytes());
    out.keys.push_back(authors[a].public_key());
    Signature s;
    auto dec = Base64DecodeCanonical(
        std::string_view(m->value().Find("signature")->as_string()).substr(0, 88));
    std::copy(dec->begin(), dec->end(), s.begin());
    out.sigs.push_back(s);
    out.boxed += boxed;
  }
  out.messages = n;
  return out;
}

// crypto_sign_verify_detached over every message, on this thread: one core.
double RawVerifyRate(const Corpus& c) {
  double t0 = bench::Now();
  size_t ok = 0;
  for (size_t i = 0; i < c.signing.size(); ++i) {
    ok += VerifySignature(c.keys[i],
                          std::span(reinterpret_cast<const uint8_t*>(c.signing[i].data()),
                                    c.signing[i].size()),
                          c.sigs[i]);
  }
  double t = bench::Now() - t0;
  if (ok != c.signing.size()) std::exit(1);
  return static_cast<double>(c.signing.size()) / t;
}

// Runs `argv` with stdin from `in`, stdout to `out`, pinned to the first `cpus` CPUs the
// bench may use; returns the wall time from fork to exit. Exits on a non-zero status.
double Run(const std::vector<std::string>& argv, const std::string& in, const std::string& out,
           unsigned cpus) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  sched_getaffinity(0, sizeof allowed, &allowed);
  cpu_set_t pin;
  CPU_ZERO(&pin);
  unsigned taken = 0;
  for (int c = 0; c < CPU_SETSIZE && taken < cpus; ++c) {
    if (CPU_ISSET(c, &allowed)) {
      CPU_SET(c, &pin);
      ++taken;
    }
  }
  double t0 = bench::Now();
  pid_t pid = fork();
  if (pid == 0) {
    sched_setaffinity(0, sizeof pin, &pin);
    int i = open(in.c_str(), O_RDONLY);
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (i < 0 || o < 0) _exit(126);
    dup2(i, 0);
    dup2(o, 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  double t = bench::Now() - t0;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "%s %s failed (status %d)\n", argv[0].c_str(), argv[3].c_str(), status);
    std::exit(1);
  }
  return t;
}

size_t CountLines(const std::string& path, const std::string& needle) {
  std::ifstream f(path);
  std::string line;
  size_t n = 0;
  while (std::getline(f, line)) n += line.find(needle) != std::string::npos;
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: ssb_cli_bench SBOT [messages] [feeds] [rounds] [dir]\n");
    return 2;
  }
  std::string sbot = std::filesystem::absolute(argv[1]).string();
  size_t n = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 20000;
  size_t feeds = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 4;
  int rounds = argc > 4 ? std::atoi(argv[4]) : 5;
  std::string dir = argc > 5 ? argv[5] : "cli_bench_tmp";
  if (!CryptoInit() || feeds == 0 || n == 0) return 1;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  dir = std::filesystem::absolute(dir).string();
  std::string data = dir + "/data";
  // The data dir's identity: a tenth of the private messages are for it.
  Keypair me = Seeded(0x2e);
  if (!WriteSecretFile(data + "/secret", me).ok()) return 1;

  double g0 = bench::Now();
  Corpus corpus = MakeCorpus(n, feeds, me);
  std::string input = dir + "/corpus.ndjson";
  {
    std::ofstream f(input, std::ios::binary);
    f << corpus.ndjson;
  }
  std::printf("cli_bench: %zu messages of %zu feeds, %.0f bytes average wire JSON, %zu private "
              "(half of them for us); corpus made in %.1f s; %d rounds; %u CPUs usable\n",
              n, feeds, static_cast<double>(corpus.bytes) / static_cast<double>(n), corpus.boxed,
              bench::Now() - g0, rounds, UsableCpus());
  std::fflush(stdout);
  unsigned two = std::min(2u, UsableCpus());

  std::vector<double> raw, v1, v2, add2, rv1, rv2, radd;
  std::string out = dir + "/out.ndjson";
  for (int r = 0; r < rounds; ++r) {
    double ref = RawVerifyRate(corpus);
    raw.push_back(ref);
    double t = Run({sbot, "--path", data, "validate"}, input, out, 1);
    v1.push_back(static_cast<double>(n) / t);
    rv1.push_back(v1.back() / ref);
    t = Run({sbot, "--path", data, "validate"}, input, out, two);
    v2.push_back(static_cast<double>(n) / t);
    rv2.push_back(v2.back() / ref);
    for (const char* s : {"/db.sqlite", "/db.sqlite-wal", "/db.sqlite-shm"}) {
      std::filesystem::remove(data + s);
    }
    t = Run({sbot, "--path", data, "add"}, input, out, two);
    if (CountLines(out, "\"stored\":true") != n) {
      std::fprintf(stderr, "sbot add did not store every message\n");
      return 1;
    }
    add2.push_back(static_cast<double>(n) / t);
    radd.push_back(add2.back() / ref);
  }
  double ref = bench::Median(raw);
  bench::Header("sbot add / validate (the binary, stdin from a file)");
  bench::Row("raw crypto_sign_verify_detached, one core", ref, "msgs/s", "reference");
  auto row = [&](const char* name, const std::vector<double>& v, const std::vector<double>& ratios,
                 const char* goal) {
    char note[128];
    std::snprintf(note, sizeof note, "%.2fx raw (per-round median %.2fx)%s",
                  bench::Median(v) / ref, bench::Median(ratios), goal);
    bench::Row(name, bench::Median(v), "msgs/s", note);
  };
  row("sbot validate, 1 CPU", v1, rv1, " goal >= 0.9");
  row("sbot validate, 2 CPUs", v2, rv2, " goal >= 1.7");
  row("sbot add, 2 CPUs (durable commits)", add2, radd, " goal >= 1.1");
  std::printf("(all runs, msgs/s: validate 1 CPU");
  for (double x : v1) std::printf(" %.0f", x);
  std::printf("; validate 2 CPUs");
  for (double x : v2) std::printf(" %.0f", x);
  std::printf("; add");
  for (double x : add2) std::printf(" %.0f", x);
  std::printf("; raw");
  for (double x : raw) std::printf(" %.0f", x);
  std::printf(")\n");
  // SSB_BENCH_KEEP=1 keeps the corpus and data dir, to profile a run by hand.
  if (std::getenv("SSB_BENCH_KEEP") == nullptr) std::filesystem::remove_all(dir);
  return 0;
}
