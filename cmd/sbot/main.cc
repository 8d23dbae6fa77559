// sbot: the scuttlesync server and its command line, in ssb-server's style.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include "ssb/base64.h"
#include "ssb/json.h"
#include "ssb/keys.h"
#include "ssb/message.h"
#include "ssb/status.h"

namespace {

// Exit codes (man/sbot.1 "EXIT STATUS").
constexpr int kExitOk = 0;
constexpr int kExitRejected = 1;  // some input message was invalid
constexpr int kExitUsage = 2;

int ExitCodeFor(const ssb::Status& st) {
  switch (st.code()) {
    case ssb::Code::kOk: return kExitOk;
    case ssb::Code::kInvalidArgument: return kExitUsage;
    case ssb::Code::kInvalidMessage:
    case ssb::Code::kFork: return kExitRejected;
    case ssb::Code::kNotFound: return 3;
    case ssb::Code::kInvalidInput:
    case ssb::Code::kLimitExceeded: return 4;
    case ssb::Code::kCorruption: return 5;
    case ssb::Code::kBusy: return 75;
    case ssb::Code::kNoSpace: return 6;
    case ssb::Code::kPermissionDenied:
    case ssb::Code::kIoError:
    case ssb::Code::kUnsupported: return 7;
  }
  return 7;
}

int Fail(const ssb::Status& st) {
  std::cerr << "sbot: " << st.ToString() << "\n";
  return ExitCodeFor(st);
}

std::string DefaultPath() {
  if (const char* p = std::getenv("SSB_PATH"); p && *p) return p;
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.ssb";
  return ".ssb";
}

struct Globals {
  std::string path;
  bool pretty = false;
  std::string hmac;  // caps.sign, base64
};

void PrintJson(const Globals& g, const ssb::json::Value& v) {
  std::string out = g.pretty ? ssb::json::StringifyPretty(v) : ssb::json::Stringify(v);
  out += '\n';
  std::fwrite(out.data(), 1, out.size(), stdout);
}

ssb::Result<ssb::Keypair> LoadIdentity(const Globals& g) {
  std::string warning;
  auto keys = ssb::LoadOrCreateSecretFile(g.path + "/secret", &warning);
  if (!warning.empty()) std::cerr << "sbot: " << warning << "\n";
  return keys;
}

int CmdWhoami(const Globals& g) {
  auto keys = LoadIdentity(g);
  if (!keys.ok()) return Fail(keys.status());
  ssb::json::Value out = ssb::json::Value::Object();
  out.Set("id", ssb::json::Value::String(keys->id()));
  PrintJson(g, out);
  return kExitOk;
}

// Reads NDJSON message values or {key, value, ...} objects; checks each against the previous
// message of its feed seen earlier in the same input.
int CmdValidate(const Globals& g, ssb::ValidationMode mode) {
  ssb::ValidateOptions opt;
  opt.mode = mode;
  if (!g.hmac.empty()) {
    auto key = ssb::Base64DecodeCanonical(g.hmac);
    if (!key || key->size() != 32) {
      return Fail(ssb::Status::InvalidArgument("--hmac must be canonical base64 of 32 bytes"));
    }
    ssb::HmacKey k;
    std::copy(key->begin(), key->end(), k.begin());
    opt.hmac_key = k;
  }
  std::map<std::string, ssb::FeedState, std::less<>> feeds;
  std::string line;
  size_t total = 0, invalid = 0;
  while (std::getline(std::cin, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++total;
    ssb::json::Value out = ssb::json::Value::Object();
    auto parsed = ssb::json::Parse(line);
    if (!parsed.ok()) {
      ++invalid;
      out.Set("valid", ssb::json::Value::Bool(false));
      out.Set("error", ssb::json::Value::String(parsed.status().message()));
      PrintJson(g, out);
      continue;
    }
    ssb::json::Value value = std::move(parsed).value();
    if (value.is_object() && !value.Find("author") && value.Find("value")) {
      value = *value.Find("value");  // a {key, value, timestamp} wrapper
    }
    ssb::Message msg = ssb::Message::FromValue(std::move(value));
    std::string author(msg.author());
    auto it = feeds.find(author);
    const ssb::FeedState* prev = it == feeds.end() ? nullptr : &it->second;
    ssb::FeedState assumed;
    auto seq = msg.sequence();
    if (!prev && seq && *seq > 1) {
      // The input starts in the middle of this feed: trust the link to the unseen predecessor.
      assumed = {std::string(msg.previous()), *seq - 1};
      prev = &assumed;
      out.Set("note", ssb::json::Value::String("previous message not in the input"));
    }
    ssb::Status st = ssb::Validate(msg, prev, opt);
    out.Set("key", ssb::json::Value::String(msg.id()));
    out.Set("valid", ssb::json::Value::Bool(st.ok()));
    if (st.ok()) {
      feeds[author] = {msg.id(), *msg.sequence()};
    } else {
      ++invalid;
      out.Set("error", ssb::json::Value::String(st.message()));
    }
    PrintJson(g, out);
  }
  if (invalid) {
    std::cerr << "sbot: " << invalid << " of " << total << " messages are invalid\n";
    return kExitRejected;
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  if (!ssb::CryptoInit()) {
    std::cerr << "sbot: libsodium failed to initialise\n";
    return 7;
  }
  CLI::App app{"sbot: a Secure Scuttlebutt peer (scuttlesync)", "sbot"};
  app.require_subcommand(1);
  Globals g;
  g.path = DefaultPath();
  app.add_option("--path", g.path, "data directory (default $SSB_PATH, then ~/.ssb)");
  app.add_flag("--pretty", g.pretty, "indent JSON output for people");
  app.add_option("--hmac", g.hmac, "caps.sign of a test network (base64 of 32 bytes)");

  auto* whoami = app.add_subcommand("whoami", "print this identity's feed id");
  auto* validate = app.add_subcommand("validate",
                                      "validate NDJSON messages from stdin, one result per line");
  bool strict = false;
  validate->add_flag("--strict", strict, "also apply ssb-classic 1.1.0 rules (what we emit)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  if (*whoami) return CmdWhoami(g);
  if (*validate) {
    return CmdValidate(g, strict ? ssb::ValidationMode::kStrict : ssb::ValidationMode::kSsbValidate);
  }
  return kExitUsage;
}
