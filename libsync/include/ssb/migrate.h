// Importing the data of ssb-server (flume/log.offset) or of an ssb-db2 app (db2/log.bipf) from
// a data directory into our store, so that switching keeps every message
// (README "Switching from ssb-server or Manyverse", formats/data-dir.md).
//
// Every record goes through the store's ordinary append: parsed, validated with ssb-validate's
// rules, its signature verified, its chain checked; invalid ones are reported and skipped, forks
// are recorded as forks, private messages are stored as signed (and decrypted for us when they
// are ours to read). Messages keep their log order and, where the store's rules allow, their
// old receive times. The old files are only read.
//
// Resumable: each chunk of records is appended in one store transaction that also records how
// far the import got (Store::PutImport), so a kill at any moment leaves a store that the next
// Migrate continues from the last commit, with nothing lost and nothing twice.
//
// Thread-safety: one Migrate at a time per Store object; several processes may run it on one
// data dir (the second finds the first's progress, or fails with kBusy while it runs).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ssb/keys.h"
#include "ssb/message.h"
#include "ssb/oldlog.h"
#include "ssb/status.h"
#include "ssb/store.h"

namespace ssb {

// One log of another implementation found in a data dir.
struct OldLog {
  std::string source;           // path relative to the data dir: "flume/log.offset"
  std::string path;             // data_dir + "/" + source
  oldlog::LogFormat format = oldlog::LogFormat::kFlumeOffset;
  uint64_t size = 0;            // when found
  int64_t mtime_ns = 0;
};

// The non-empty old logs `data_dir` holds, in the order they are imported: ssb-server's
// flume/log.offset first (an ssb-db2 app that migrated from it copied it into db2/log.bipf,
// whose newer messages come after), then db2/log.bipf. A path that exists but is not a regular
// file is skipped.
std::vector<OldLog> FindOldLogs(const std::string& data_dir);

// Whether any of `logs` has not been imported completely into `store`: never imported, a pass
// that did not finish (killed), or a log that changed (size or modification time) since the
// last pass ended. Errors: the store's.
Result<bool> MigrationPending(Store& store, const std::vector<OldLog>& logs);

struct MigrateEvent {
  enum class Kind : uint8_t {
    kBegin,     // a log is about to be read from `offset` (0, or where the last run stopped)
    kRestart,   // the log changed since the last run (`what` says how): read from 0 again
    kProgress,  // a chunk was committed; `offset` bytes of `size` read
    kRejected,  // the record at `offset` was not stored: `status` (and `key`, if it parsed)
    kDamaged,   // bytes [offset, end) were not a readable record: `status`
    kEnd,       // the log was read to its end
  };
  Kind kind = Kind::kBegin;
  const OldLog* log = nullptr;
  uint64_t offset = 0;
  uint64_t end = 0;
  uint64_t size = 0;            // the log's size when this pass began
  std::string key;              // kRejected: the message id, when the record parsed
  Status status;                // kRejected, kDamaged: why
  std::string what;             // kRestart: why
  const ImportState* state = nullptr;  // kProgress, kEnd: the counts so far
};

struct MigrateOptions {
  // The network's rules (caps.sign of a test network).
  ValidateOptions validate;
  // Our identity: private messages for it are decrypted as they are stored, and the highest
  // sequence of its feed that a log holds becomes its feed floor (Store::RaiseFeedFloor), so that
  // nothing is published from a store that is behind. nullptr: neither.
  const Keypair* self = nullptr;
  // Read every log from its beginning again (already stored messages count as duplicates).
  bool from_start = false;
  // Records per store transaction.
  size_t batch_records = 2000;
  // Told about every step; may be empty.
  std::function<void(const MigrateEvent&)> on_event;
};

// Imports `logs` into `store` in order, each from where the last run's last commit ended
// (or from the start with options.from_start, or when the log changed underneath: compaction,
// replacement). Returns the final ImportState of each log. Damaged regions and bad records are
// events, not errors. Errors: the store's (kNoSpace, kIoError, kCorruption...), the log's
// (kIoError, kPermissionDenied naming it), kBusy when another process is importing the same log.
Result<std::vector<ImportState>> Migrate(Store& store, const std::vector<OldLog>& logs,
                                         const MigrateOptions& options);

}  // namespace ssb
