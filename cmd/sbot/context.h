// What every sbot verb works with: the data directory, the identity and the store.
#pragma once

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "ssb/blob_store.h"
#include "ssb/config.h"
#include "ssb/json.h"
#include "ssb/keys.h"
#include "ssb/status.h"
#include "ssb/store.h"

namespace sbot {

// Exit codes (man/sbot.1 "EXIT STATUS"). Stable: scripts depend on them.
enum Exit : int {
  kExitOk = 0,
  kExitRejected = 1,    // some input message or blob was invalid or rejected
  kExitUsage = 2,       // bad command line
  kExitNotFound = 3,    // the message, feed or blob asked for does not exist
  kExitBadInput = 4,    // input that does not parse, or over a limit
  kExitCorrupt = 5,     // local data is damaged
  kExitNoSpace = 6,
  kExitIo = 7,          // I/O or permission error, unsupported store version
  kExitTempFail = 75,   // EX_TEMPFAIL: busy, try later
};

int ExitCodeFor(const ssb::Status& st);

struct Globals {
  std::string path;       // data directory
  bool pretty = false;    // indent JSON for people
  std::string hmac;       // caps.sign (base64), test networks
};

// Moves --path, --pretty and --hmac from a verb's options into `g`.
ssb::Status TakeGlobals(ssb::json::Value* options, Globals* g);

class Context {
 public:
  explicit Context(Globals g) : g_(std::move(g)) {}

  const Globals& globals() const { return g_; }
  // Reads <path>/config (ssb/config.h) and prints its warnings on stderr. Every verb calls it
  // first: a config that does not parse, or a bad value, stops every verb (naming file and key).
  ssb::Status LoadConfig();
  // The settings read by LoadConfig (defaults before it).
  const ssb::Config& config() const { return config_; }
  // The identity at <path>/secret, created on first use as ssb-server does.
  ssb::Result<const ssb::Keypair*> Identity();
  // The identity when <path>/secret exists, else nullptr (nothing is created).
  ssb::Result<const ssb::Keypair*> ExistingIdentity();
  // The store at <path>/db.sqlite, opened on first use.
  ssb::Result<ssb::Store*> Store(bool read_only = false);
  // The blob store at <path>/blobs.
  ssb::Result<ssb::BlobStore*> Blobs();
  // Validation (and signing) options: caps.sign from --hmac, else from the config.
  ssb::Result<ssb::ValidateOptions> ValidateOptions() const;
  // Decrypts `content` (a "…box" string) with our key: its plaintext JSON, or nullopt.
  std::optional<std::string> Unbox(const ssb::json::Value& content);

  // Writes one JSON document (compact, or indented with --pretty) and a newline to stdout.
  void Print(const ssb::json::Value& v) const;
  // Writes a line of already-serialized JSON.
  void PrintRaw(const std::string& json) const;
  // Reports `st` on stderr and returns its exit code.
  int Fail(const ssb::Status& st) const;

 private:
  Globals g_;
  ssb::Config config_;
  std::optional<ssb::Keypair> keys_;
  std::unique_ptr<ssb::Store> store_;
  std::optional<ssb::BlobStore> blobs_;
};

}  // namespace sbot
