// Export from a store into bundle files, and verified import back into a store
// (formats/bundle.md "Export" and "Import").
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ssb/blob_store.h"
#include "ssb/bundle.h"
#include "ssb/keys.h"
#include "ssb/store.h"

namespace ssb {

struct ExportOptions {
  std::vector<std::string> feeds;         // feed ids; empty with all=false: nothing
  bool all = false;                       // every feed in the store
  std::map<std::string, int64_t> since;   // export sequences above these (a receiver's clock)
  uint64_t blob_budget = 64u << 20;       // bytes of blobs (wanted or referenced), at most
  // Blobs a receiver asked for (its want file): shipped first when we hold them, even when no
  // message is exported (formats/bundle.md "Export"). Untrusted: ids we lack are skipped.
  std::vector<std::string> wanted_blobs;
  uint64_t max_part = 0;                  // largest file; 0: one file
  int level = 9;                          // zstd level
  std::string network;                    // NetworkIdFromKey of the network
  std::string sign_key;                   // hex sha256 of caps.sign, "" on main net
  bool dry_run = false;                   // plan only
  bool verify_after_write = true;         // read every written part back
  // When >= 0, `out` is a file name inside this directory (not owned), and every file is made,
  // renamed and read back relative to it without following links (a stick's folder).
  // ExportResult::files then holds names; out_dir_name names the folder in errors.
  int out_dir_fd = -1;
  std::string out_dir_name;
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct ExportResult {
  std::vector<std::string> files;         // written paths (none for dry_run or nothing to do)
  std::vector<BundleHeader> parts;        // the planned headers
  uint64_t messages = 0;
  uint64_t blobs = 0;
  uint64_t wanted_blobs = 0;              // ... of which a receiver asked for
  uint64_t bytes = 0;                     // bytes written
  uint64_t body_bytes = 0;                // uncompressed record bytes
};

// Writes the selection to `out` ("-" = stdout, one part only). With several parts the files are
// `out` with ".partN" appended. Files are written atomically (temp, fsync, rename, fsync dir);
// a symbolic link at a final name is replaced, never written through.
// Nothing to export → ok with no files. Error: kNoSpace, kIoError, kInvalidArgument.
Result<ExportResult> ExportBundle(Store& store, BlobStore* blobs, const Keypair& exporter,
                                  const ExportOptions& options, const std::string& out);

// What import decided for one range of a bundle.
struct RangeOutcome {
  enum class Kind : uint8_t {
    kApplied,        // new messages stored (maybe after an overlap we had)
    kAlreadyHave,    // every message was stored already
    kMissingPrerequisite,  // we lack sequences need_from..need_to: kept pending
    kFork,           // a different message at `fork_sequence`: reported, not applied
    kInvalid,        // a message failed validation: nothing of the bundle was applied
  };
  BundleRange range;
  Kind kind = Kind::kApplied;
  int64_t applied = 0;
  int64_t need_from = 0, need_to = 0;
  int64_t fork_sequence = 0;
  std::string ours, theirs;               // kFork: both ids
  std::string error;
};

struct ImportOptions {
  std::string network;                    // our network id; a bundle of another is refused
  std::string sign_key;
  ValidateOptions validate;               // hmac key of a test network
  // Private messages for this identity are stored decrypted as they are imported. Null: none.
  const Keypair* reader = nullptr;
  std::string pending_dir;                // where parts waiting for prerequisites are kept
  bool dry_run = false;                   // verify and decide, write nothing
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct ImportReport {
  std::string path;
  BundleHeader header;
  std::vector<RangeOutcome> ranges;
  uint64_t messages_applied = 0;
  uint64_t blobs_stored = 0;
  bool pending = false;                   // kept for later (missing prerequisites)
  bool changed() const { return messages_applied > 0 || blobs_stored > 0; }
};

// Verifies the whole file first (container, signature, every message, chains against the
// store), then applies it in transactions. Errors (nothing applied): kInvalidInput (damaged or
// forged), kUnsupported (newer format), kWrongNetwork for a bundle of another network, kInvalidMessage (a message fails validation).
Result<ImportReport> ImportBundle(Store& store, BlobStore* blobs, const std::string& path,
                                  const ImportOptions& options);

// The same for a bundle file already open (a file on a stick, opened without following links
// and checked to be a regular file): read from its start; `name` names it in the report and
// errors. The caller keeps `fd`.
Result<ImportReport> ImportBundleFd(Store& store, BlobStore* blobs, int fd,
                                    const std::string& name, const ImportOptions& options);

// Verifies a bundle without a store; with `store` also says what import would do.
Result<ImportReport> VerifyBundle(const std::string& path, Store* store,
                                  const ImportOptions& options);

// Imports every kept part in `options.pending_dir` whose prerequisites are now met, removing
// those that are fully applied. Returns their reports.
Result<std::vector<ImportReport>> ImportPending(Store& store, BlobStore* blobs,
                                                const ImportOptions& options);

}  // namespace ssb
