// Crash test: a child process appends 100,000 messages in batches and is killed with SIGKILL
// at random moments; after every kill the parent checks that the store holds exactly the
// committed batches as valid chains, then restarts the child, which resumes.
//
//   ssb_store_crash_test [--dir DIR] [--kills N] [--seed S] [--messages N] [--batch N]
//   ssb_store_crash_test child DB MESSAGES_FILE BATCH      (the child; run by the parent)
//
// Prints lines starting with "crash" (collected by scripts/test); exits non-zero on failure.
// The messages are generated once (deterministically) and cached next to the store.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ssb/ingest.h"
#include "ssb/keys.h"
#include "ssb/message.h"
#include "ssb/store.h"

using namespace ssb;

namespace {

constexpr int kFeeds = 5;
constexpr int kFormatVersion = 2;  // bump when the generator changes, to refresh caches

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "crash: FAILED: %s\n", what.c_str());
  std::exit(1);
}

double NowSec() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) Fail("cannot read " + path);
  std::string data(static_cast<size_t>(in.tellg()), '\0');
  in.seekg(0);
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  if (!in) Fail("cannot read " + path);
  return data;
}

std::vector<std::string_view> Lines(const std::string& text) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    if (nl > pos) out.emplace_back(text.data() + pos, nl - pos);
    pos = nl + 1;
  }
  return out;
}

// kFeeds chains generated on separate threads, interleaved by a seeded shuffle.
void Generate(const std::string& path, size_t total) {
  double t0 = NowSec();
  std::vector<size_t> per_feed(kFeeds, total / kFeeds);
  for (size_t i = 0; i < total % kFeeds; ++i) ++per_feed[i];
  std::vector<std::vector<std::string>> wires(kFeeds);
  std::vector<std::thread> threads;
  for (int f = 0; f < kFeeds; ++f) {
    threads.emplace_back([&, f] {
      std::array<uint8_t, 32> seed{};
      seed.fill(static_cast<uint8_t>(0x40 + f));
      Keypair keys = Keypair::FromSeed(seed);
      std::mt19937_64 rng(static_cast<uint64_t>(f) + 1);
      std::optional<FeedState> head;
      for (size_t i = 0; i < per_feed[f]; ++i) {
        json::Value c = json::Value::Object();
        c.Set("type", json::Value::String(i % 5 == 0 ? "vote" : "post"));
        std::string text;
        size_t len = 10 + rng() % 120;
        for (size_t k = 0; k < len; ++k) text += static_cast<char>('a' + rng() % 26);
        c.Set("text", json::Value::String(text));
        auto m = CreateMessage(keys, head ? &*head : nullptr, std::move(c),
                               1.6e12 + static_cast<double>(i * 1000 + rng() % 999));
        if (!m.ok()) Fail("generate: " + m.status().ToString());
        head = FeedState{m->id(), *m->sequence()};
        wires[f].push_back(m->Wire());
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<int> order;
  for (int f = 0; f < kFeeds; ++f) order.insert(order.end(), per_feed[f], f);
  std::mt19937_64 rng(12345);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<size_t> next(kFeeds, 0);
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    std::ofstream idx(path + ".idx", std::ios::binary | std::ios::trunc);
    uint64_t offset = 0;
    for (int f : order) {
      const std::string& w = wires[f][next[f]++];
      idx.write(reinterpret_cast<const char*>(&offset), sizeof offset);
      out << w << '\n';
      offset += w.size() + 1;
    }
    idx.write(reinterpret_cast<const char*>(&offset), sizeof offset);
    if (!out || !idx) Fail("cannot write " + tmp);
  }
  std::filesystem::rename(tmp, path);
  std::printf("crash: generated %zu messages of %d feeds in %.1f s (cached in %s)\n", total,
              kFeeds, NowSec() - t0, path.c_str());
}

// ---------------------------------------------------------------------------------------------
// The child: resume from the store's state, append batch after batch, report each commit.

int Child(const std::string& db, const std::string& msgs_path, size_t batch) {
  auto store = Store::Open(db, StoreOptions{});
  if (!store.ok()) {
    std::fprintf(stderr, "child: %s\n", store.status().ToString().c_str());
    return 2;
  }
  auto stats = (*store)->Stats();
  if (!stats.ok()) return 2;
  size_t done = static_cast<size_t>(stats->messages);
  // Only the batches still to do are read, through the index of line offsets, so that a
  // restart costs little however far the store is.
  std::string idx = ReadWhole(msgs_path + ".idx");
  size_t total = idx.size() / sizeof(uint64_t) - 1;
  auto offset = [&](size_t i) {
    uint64_t v;
    std::memcpy(&v, idx.data() + i * sizeof v, sizeof v);
    return v;
  };
  int fd = ::open(msgs_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 2;
  // Through the ingest stage, as `sbot add` and the network write: checked on the worker
  // pool, appended in one transaction per chunk.
  IngestOptions iopt;
  IngestChecker checker(iopt);
  IngestWriter writer(**store, iopt);
  std::string chunk;
  while (done < total) {
    size_t n = std::min(batch, total - done);
    chunk.resize(offset(done + n) - offset(done));
    if (::pread(fd, chunk.data(), chunk.size(), static_cast<off_t>(offset(done))) !=
        static_cast<ssize_t>(chunk.size())) {
      return 2;
    }
    auto lines = Lines(chunk);
    if (lines.size() != n) return 2;
    IngestBatch b;
    for (std::string_view l : lines) b.Add(std::string(l));
    checker.Check(b);
    if (auto st = writer.Append(b); !st.ok()) {
      std::fprintf(stderr, "child: %s\n", st.ToString().c_str());
      return 3;
    }
    for (const auto& r : b.records) {
      const AppendOutcome& o = r.outcome;
      if (o.kind != AppendKind::kAppended) {
        std::fprintf(stderr, "child: message not appended: %s\n", o.status.ToString().c_str());
        return 4;
      }
    }
    done += n;
    std::printf("%zu\n", done);
    std::fflush(stdout);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// The parent.

struct Expected {
  std::vector<std::string_view> lines;
  std::vector<std::string> authors;      // per line
  std::vector<int64_t> seqs;             // per line
};

struct ChildRun {
  bool exited_ok = false;   // ran to completion
  bool killed = false;
  long long reported = -1;  // last count the child printed, -1 if none
};

ChildRun RunChild(const std::string& self, const std::string& db, const std::string& msgs,
                  size_t batch, int kill_after_ms) {
  int fds[2];
  if (::pipe(fds) != 0) Fail("pipe");
  std::string batch_s = std::to_string(batch);
  pid_t pid = ::fork();
  if (pid < 0) Fail("fork");
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl(self.c_str(), self.c_str(), "child", db.c_str(), msgs.c_str(), batch_s.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  ChildRun run;
  std::string out;
  if (kill_after_ms >= 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(kill_after_ms));
    ::kill(pid, SIGKILL);
  }
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
    run.killed = true;
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    run.exited_ok = true;
  } else {
    Fail("child failed with status " + std::to_string(status));
  }
  // Complete lines only: a kill may cut the last one.
  size_t end = out.rfind('\n');
  if (end != std::string::npos) {
    size_t start = out.rfind('\n', end - 1);
    start = start == std::string::npos ? 0 : start + 1;
    run.reported = std::atoll(out.substr(start, end - start).c_str());
  }
  return run;
}

// Checks the store after a kill; returns the number of messages it holds.
size_t Verify(const std::string& db, const Expected& exp, size_t batch, long long reported,
              bool verify_signatures) {
  StoreOptions ro;
  ro.read_only = true;
  auto store = Store::Open(db, ro);
  if (!store.ok() && store.status().code() == Code::kNotFound && reported <= 0) {
    // Killed before the store was created, or while it was being initialized: SQLite had
    // created the file but the schema transaction had not committed. The next open starts over.
    return 0;
  }
  if (!store.ok()) Fail("reopen: " + store.status().ToString());
  Status integrity = (*store)->CheckIntegrity();
  if (!integrity.ok()) Fail(integrity.ToString());
  auto stats = (*store)->Stats();
  if (!stats.ok()) Fail(stats.status().ToString());
  size_t count = static_cast<size_t>(stats->messages);
  size_t total = exp.lines.size();
  size_t committed = reported < 0 ? 0 : static_cast<size_t>(reported);
  // Durability: everything reported is there. Atomicity: at most one more whole batch (it
  // committed, and the kill came before the child printed it).
  bool whole_batches = count % batch == 0 || count == total;
  if (count < committed || count > std::min(total, committed + batch) || !whole_batches) {
    Fail("store holds " + std::to_string(count) + " messages, child reported " +
         std::to_string(reported));
  }
  // The vector clock is exactly that of the first `count` messages.
  std::map<std::string, int64_t> want;
  for (size_t i = 0; i < count; ++i) want[exp.authors[i]] = exp.seqs[i];
  auto clock = (*store)->Clock();
  if (!clock.ok()) Fail(clock.status().ToString());
  if (*clock != want) Fail("vector clock differs from the committed prefix");
  // Every feed re-validates as a chain and reads back byte-identically.
  std::map<std::pair<std::string, int64_t>, std::string_view> text_of;
  for (size_t i = 0; i < count; ++i) text_of[{exp.authors[i], exp.seqs[i]}] = exp.lines[i];
  ValidateOptions vo;
  vo.verify_signature = verify_signatures;
  size_t checked = 0;
  for (const auto& [feed, seq] : want) {
    const std::string& author = feed;  // (a structured binding cannot be captured by clang 14)
    std::optional<FeedState> prev;
    HistoryQuery q;
    q.author = author;
    Status s = (*store)->History(q, [&](const StoredMessage& m) {
      auto it = text_of.find({author, m.sequence});
      if (it == text_of.end() || it->second != m.value_json) {
        Fail("stored text differs at " + author + " " + std::to_string(m.sequence));
      }
      auto parsed = Message::Parse(m.value_json);
      if (!parsed.ok()) Fail("stored message does not parse: " + parsed.status().ToString());
      Status v = Validate(*parsed, prev ? &*prev : nullptr, vo);
      if (!v.ok()) Fail("chain broken at " + author + " " + std::to_string(m.sequence) + ": " +
                        v.ToString());
      if (parsed->id() != m.key) Fail("stored key differs from the message id");
      prev = FeedState{m.key, m.sequence};
      ++checked;
      return true;
    });
    if (!s.ok()) Fail(s.ToString());
    if (!prev || prev->sequence != seq) Fail("history of " + author + " ends early");
  }
  if (checked != count) Fail("history holds a different number of messages than the clock");
  return count;
}

void RemoveStore(const std::string& db) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((db + suffix).c_str());
}

int Parent(int argc, char** argv) {
  std::string dir = "crash-test";
  bool long_run = std::getenv("SSB_TEST_LONG") && std::string(std::getenv("SSB_TEST_LONG")) == "1";
  int kills = long_run ? 60 : 20;
  size_t total = 100000, batch = 500;
  uint64_t seed = static_cast<uint64_t>(
      std::chrono::system_clock::now().time_since_epoch().count());
  if (const char* s = std::getenv("SSB_CRASH_SEED")) seed = std::strtoull(s, nullptr, 10);
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--dir") dir = argv[i + 1];
    else if (a == "--kills") kills = std::atoi(argv[i + 1]);
    else if (a == "--seed") seed = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--messages") total = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--batch") batch = std::strtoull(argv[i + 1], nullptr, 10);
    else Fail("unknown option " + a);
  }
  std::printf("crash: seed %llu (rerun with --seed %llu or SSB_CRASH_SEED), %d kills, %zu "
              "messages, batches of %zu\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed), kills,
              total, batch);
  std::fflush(stdout);
  if (!CryptoInit()) Fail("libsodium");
  std::filesystem::create_directories(dir);
  std::string self = std::filesystem::canonical("/proc/self/exe");
  std::string msgs = dir + "/messages-" + std::to_string(total) + "-v" +
                     std::to_string(kFormatVersion) + ".jsonl";
  if (!std::filesystem::exists(msgs) || !std::filesystem::exists(msgs + ".idx")) {
    Generate(msgs, total);
  }
  std::string text = ReadWhole(msgs);
  Expected exp;
  exp.lines = Lines(text);
  if (exp.lines.size() != total) Fail("bad message cache " + msgs + "; delete it");
  for (auto l : exp.lines) {
    auto v = json::Parse(l);
    if (!v.ok()) Fail("cache: " + v.status().ToString());
    exp.authors.push_back(v->Find("author")->as_string());
    exp.seqs.push_back(static_cast<int64_t>(v->Find("sequence")->as_number()));
  }

  std::string db = dir + "/db.sqlite";
  RemoveStore(db);
  std::mt19937_64 rng(seed);
  int done_kills = 0, rounds = 1, unreported_batches = 0;
  size_t count = 0;
  double t0 = NowSec();
  while (done_kills < kills) {
    int delay = static_cast<int>(5 + rng() % 400);
    ChildRun run = RunChild(self, db, msgs, batch, delay);
    size_t before = count;
    count = Verify(db, exp, batch, run.reported < 0 ? static_cast<long long>(before) : run.reported,
                   false);
    if (run.killed) {
      ++done_kills;
      long long reported = run.reported < 0 ? static_cast<long long>(before) : run.reported;
      if (static_cast<long long>(count) > reported) ++unreported_batches;
      std::printf("crash: kill %d after %d ms: %zu messages committed (child reported %lld)\n",
                  done_kills, delay, count, reported);
      std::fflush(stdout);
    }
    if (count == total && done_kills < kills) {
      // Finished before enough kills: start over with an empty store.
      RemoveStore(db);
      count = 0;
      ++rounds;
    }
  }
  // Let it finish, then check everything including the signatures.
  ChildRun last = RunChild(self, db, msgs, batch, -1);
  if (!last.exited_ok) Fail("final run did not complete");
  count = Verify(db, exp, batch, static_cast<long long>(total), true);
  std::printf("crash: %d kills in %d round(s), %d commits not yet reported at the kill; final "
              "store %zu/%zu messages, chains and signatures valid; %.1f s\n",
              done_kills, rounds, unreported_batches, count, total, NowSec() - t0);
  std::printf("crash: PASSED\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::string(argv[1]) == "child") {
    if (!CryptoInit()) return 2;
    return Child(argv[2], argv[3], std::strtoull(argv[4], nullptr, 10));
  }
  return Parent(argc, argv);
}
