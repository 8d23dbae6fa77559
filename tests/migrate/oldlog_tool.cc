// Test helper for the migration's shell tests (tests/cli/migrate_*.sh):
//   ssb_oldlog_tool make flume|db2 DATADIR MESSAGES FEEDS
//       writes DATADIR/flume/log.offset or DATADIR/db2/log.bipf holding MESSAGES signed
//       messages of FEEDS feeds (interleaved, as replication stores them, with increasing
//       receive times), framed as the JavaScript packages frame them (tests/oldlog proves the
//       bytes equal); prints "<offset> <key>" per record, in log order.
//   ssb_oldlog_tool bomb DEPTH
//       prints a bipf record {key, value, timestamp} whose value nests DEPTH arrays.
//   ssb_oldlog_tool rss COMMAND [ARG…]
//       runs COMMAND and prints its peak resident set size in KiB (the kernel's count,
//       ru_maxrss) on stderr; exits with COMMAND's status.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "ssb/keys.h"
#include "ssb/message.h"
#include "ssb/oldlog.h"

namespace {

using ssb::json::Value;

int Make(const std::string& kind, const std::string& dir, long messages, long feeds) {
  auto format = kind == "db2" ? ssb::oldlog::LogFormat::kDb2Bipf : ssb::oldlog::LogFormat::kFlumeOffset;
  std::string rel = kind == "db2" ? "db2/log.bipf" : "flume/log.offset";
  std::filesystem::create_directories(std::filesystem::path(dir + "/" + rel).parent_path());
  auto w = ssb::oldlog::LogWriter::Create(dir + "/" + rel, format);
  if (!w.ok()) {
    std::cerr << w.status().ToString() << "\n";
    return 1;
  }
  std::vector<ssb::Keypair> keys;
  std::vector<std::optional<ssb::FeedState>> heads(static_cast<size_t>(feeds));
  for (long f = 0; f < feeds; ++f) {
    std::array<uint8_t, 32> seed{};
    seed[0] = 0x5e;
    seed[1] = static_cast<uint8_t>(f);
    seed[2] = static_cast<uint8_t>(f >> 8);
    keys.push_back(ssb::Keypair::FromSeed(seed));
  }
  double received = 1'600'000'000'000;
  std::string out;
  for (long i = 0; i < messages; ++i) {
    auto f = static_cast<size_t>(i % feeds);
    Value c = Value::Object();
    c.Set("type", Value::String("post"));
    c.Set("text", Value::String("message " + std::to_string(i / feeds + 1) + " of feed " +
                                std::to_string(f) + ", some text so that it is message-sized"));
    auto m = ssb::CreateMessage(keys[f], heads[f] ? &*heads[f] : nullptr, std::move(c),
                                1'500'000'000'000 + static_cast<double>(i));
    if (!m.ok()) {
      std::cerr << m.status().ToString() << "\n";
      return 1;
    }
    heads[f] = ssb::FeedState{m->id(), *m->sequence()};
    std::string data = ssb::oldlog::EncodeRecord(format, m->id(), m->value(), received);
    received += 1.25;
    auto off = (*w)->Append(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
    if (!off.ok()) {
      std::cerr << off.status().ToString() << "\n";
      return 1;
    }
    out += std::to_string(*off) + " " + m->id() + "\n";
    if (out.size() > (1 << 16)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  auto st = (*w)->Flush();
  if (!st.ok()) {
    std::cerr << st.ToString() << "\n";
    return 1;
  }
  return 0;
}

int Bomb(long depth) {
  std::string v = ssb::oldlog::BipfEncode(Value::Array());
  for (long d = 1; d < depth; ++d) {
    std::string tag;
    uint64_t t = uint64_t{v.size()} << 3 | 4;
    while (t >= 0x80) {
      tag.push_back(static_cast<char>((t & 0x7f) | 0x80));
      t >>= 7;
    }
    tag.push_back(static_cast<char>(t));
    v = tag + v;
  }
  // {key, value: {content: <bomb>}, timestamp}: the value must be an object to be a record.
  std::string content = ssb::oldlog::BipfEncode(Value::String("content")) + v;
  std::string value;
  uint64_t t = uint64_t{content.size()} << 3 | 5;
  while (t >= 0x80) {
    value.push_back(static_cast<char>((t & 0x7f) | 0x80));
    t >>= 7;
  }
  value.push_back(static_cast<char>(t));
  value += content;
  std::string body = ssb::oldlog::BipfEncode(Value::String("key")) +
                     ssb::oldlog::BipfEncode(Value::String("%bomb")) +
                     ssb::oldlog::BipfEncode(Value::String("value")) + value;
  std::string rec;
  t = uint64_t{body.size()} << 3 | 5;
  while (t >= 0x80) {
    rec.push_back(static_cast<char>((t & 0x7f) | 0x80));
    t >>= 7;
  }
  rec.push_back(static_cast<char>(t));
  rec += body;
  std::fwrite(rec.data(), 1, rec.size(), stdout);
  return 0;
}

int Rss(char** argv) {
  pid_t pid = fork();
  if (pid < 0) return 127;
  if (pid == 0) {
    execvp(argv[0], argv);
    _exit(127);
  }
  int status = 0;
  struct rusage ru {};
  if (wait4(pid, &status, 0, &ru) < 0) return 127;
  std::fprintf(stderr, "peak-rss-kib %ld\n", ru.ru_maxrss);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

int main(int argc, char** argv) {
  if (!ssb::CryptoInit()) return 1;
  std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "make" && argc == 6) return Make(argv[2], argv[3], std::atol(argv[4]), std::atol(argv[5]));
  if (cmd == "bomb" && argc == 3) return Bomb(std::atol(argv[2]));
  if (cmd == "rss" && argc > 2) return Rss(argv + 2);
  std::cerr << "usage: see the comment at the top of tests/migrate/oldlog_tool.cc\n";
  return 2;
}
