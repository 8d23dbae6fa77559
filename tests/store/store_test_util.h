// Helpers shared by the store tests: temporary directories, fixtures, chains of messages.
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ssb/base64.h"
#include "ssb/json.h"
#include "ssb/keys.h"
#include "ssb/message.h"
#include "ssb/store.h"
#include "support/vectors.h"

namespace ssb::test {

// A fresh directory under the build tree, removed with its contents at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string base = std::string(SSB_BINARY_DIR) + "/tmp-store-tests";
    std::filesystem::create_directories(base);
    std::string tmpl = base + "/t-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
    path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::unique_ptr<Store> OpenStore(const std::string& path, StoreOptions opt = {}) {
  opt.durable_commits = false;  // tests do not need fsync; crash safety is tested separately
  auto s = Store::Open(path, opt);
  INFO(s.status().ToString());
  REQUIRE(s.ok());
  return std::move(s).value();
}

// One line of a KVT fixture: its key, the wire text of its value and the parsed message.
struct KvtLine {
  std::string key;
  std::string wire;  // json::Stringify of the "value" member
  std::string raw;   // the value's text as it appears in the line ("" if not found)
  double timestamp = 0;
  Message msg;
};

inline std::vector<KvtLine> LoadKvt(const std::string& rel) {
  std::istringstream in(ReadVectorFile(rel));
  std::string line;
  std::vector<KvtLine> out;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto kvt = json::Parse(line);
    if (!kvt.ok()) throw std::runtime_error(rel + ": " + kvt.status().ToString());
    const json::Value& value = At(*kvt, "value");
    // The fixture lines are {"key":…,"value":{…},"timestamp":…} as JSON.stringify wrote them.
    std::string raw;
    size_t v = line.find(",\"value\":");
    size_t t = line.rfind(",\"timestamp\":");
    if (v != std::string::npos && t != std::string::npos && t > v) {
      raw = line.substr(v + 9, t - (v + 9));
    }
    KvtLine l{Str(*kvt, "key"), json::Stringify(value), raw, At(*kvt, "timestamp").as_number(),
              Message::FromValue(value)};
    out.push_back(std::move(l));
  }
  return out;
}

inline std::vector<Message> Messages(const std::vector<KvtLine>& lines) {
  std::vector<Message> out;
  for (const auto& l : lines) out.push_back(l.msg);
  return out;
}

// A message vector from generated/messages.json by name (its `wire`, parsed as WTF-8).
inline Message VectorMessage(const std::string& name) {
  static const json::Value doc = ReadVectorJson("generated/messages.json");
  for (const json::Value& e : At(doc, "entries").items()) {
    if (Str(e, "name") != name) continue;
    json::ParseOptions opt;
    opt.wtf8_input = true;
    auto v = json::Parse(Str(e, "wire"), opt);
    if (!v.ok()) throw std::runtime_error(name + ": " + v.status().ToString());
    return Message::FromValue(std::move(v).value());
  }
  throw std::runtime_error("no message vector " + name);
}

// Signs consecutive messages of one feed.
class Chain {
 public:
  explicit Chain(uint8_t seed_byte) {
    std::array<uint8_t, 32> seed{};
    seed.fill(seed_byte);
    keys_ = Keypair::FromSeed(seed);
  }
  const Keypair& keys() const { return keys_; }
  std::string id() const { return keys_.id(); }
  const std::optional<FeedState>& head() const { return head_; }

  // The next message; does not advance the chain (see Next / Advance).
  Message Make(const std::string& type, double timestamp, const std::string& text = "") const {
    json::Value c = json::Value::Object();
    c.Set("type", json::Value::String(type));
    if (!text.empty()) c.Set("text", json::Value::String(text));
    auto m = CreateMessage(keys_, head_ ? &*head_ : nullptr, std::move(c), timestamp);
    if (!m.ok()) throw std::runtime_error(m.status().ToString());
    return std::move(m).value();
  }
  // An encrypted-looking message (content is "<base64>.box").
  Message MakeBoxed(double timestamp) const {
    auto m = CreateMessage(keys_, head_ ? &*head_ : nullptr,
                           json::Value::String("aGVsbG8gd29ybGQ=.box"), timestamp);
    if (!m.ok()) throw std::runtime_error(m.status().ToString());
    return std::move(m).value();
  }
  // Signs an arbitrary value (all fields but "signature", in order) with this chain's key:
  // for messages CreateMessage refuses to build.
  Message SignValue(json::Value value) const {
    Message unsigned_msg = Message::FromValue(value);
    const std::string& bytes = unsigned_msg.signing_bytes();
    Signature sig = keys_.Sign(
        std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
    value.Set("signature", json::Value::String(Base64Encode(sig) + ".sig.ed25519"));
    return Message::FromValue(std::move(value));
  }
  void Advance(const Message& m) { head_ = FeedState{m.id(), *m.sequence()}; }
  Message Next(const std::string& type, double timestamp, const std::string& text = "") {
    Message m = Make(type, timestamp, text);
    Advance(m);
    return m;
  }

 private:
  Keypair keys_;
  std::optional<FeedState> head_;
};

inline void WriteBytes(const std::string& path, const std::string& bytes, std::streamoff at = 0,
                       bool truncate = true) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out |
                           (truncate ? std::ios::trunc : std::ios::openmode{}));
  if (!f) {
    std::ofstream create(path, std::ios::binary);
    create.close();
    f.open(path, std::ios::binary | std::ios::in | std::ios::out);
  }
  f.seekp(at);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace ssb::test
