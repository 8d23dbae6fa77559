// Content-addressed blobs (file synchronisation): files named by the sha256 of their bytes.
//
// Layout (formats/data-dir.md): <dir>/sha256/<first 2 hex digits>/<other 62 hex digits>.
// Hex, not base64, so names survive case-insensitive filesystems and contain no '/' or '+'.
// Writes are atomic (temp file in the same directory, fsync, rename, fsync the directory) and
// hash-checked, so a blob file is either absent or complete and correct.
//
// Thread-safety: safe to use from several threads and processes at once; writers of the same
// blob race harmlessly (both write identical bytes, the last rename wins).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ssb/status.h"

namespace ssb {

// ssb-blobs refuses blobs of 5 MiB or more, so the largest blob is 5 MiB - 1.
inline constexpr uint64_t kDefaultMaxBlobSize = 5 * 1024 * 1024 - 1;

struct BlobStoreOptions {
  uint64_t max_size = kDefaultMaxBlobSize;
  bool read_only = false;
};

class BlobStore {
 public:
  // Opens (creating when allowed) the blob directory `dir` and removes temp files that a
  // crashed writer left behind. Error: kIoError / kPermissionDenied naming the path.
  static Result<BlobStore> Open(const std::string& dir, const BlobStoreOptions& options = {});

  // Stores `bytes` and returns its id "&…=.sha256". Error: kLimitExceeded over max_size,
  // kNoSpace, kIoError.
  Result<std::string> Add(std::span<const uint8_t> bytes);
  // Stores the bytes only if they hash to `id`. Error: kInvalidInput on mismatch (nothing is
  // written), kInvalidArgument for a malformed id, others as Add.
  Status AddExpecting(std::string_view id, std::span<const uint8_t> bytes);
  // Streams a file (or stdin with path "-") into the store, hashing as it goes; the size limit
  // is enforced without reading past it.
  Result<std::string> AddFile(const std::string& path);

  bool Has(std::string_view id) const;
  // Size in bytes. Error: kNotFound.
  Result<uint64_t> Size(std::string_view id) const;
  // The whole blob, re-hashed on read (a damaged file gives kCorruption). Error: kNotFound.
  Result<std::vector<uint8_t>> Get(std::string_view id) const;
  // Every stored blob id, sorted.
  Result<std::vector<std::string>> List() const;
  // Error: kNotFound.
  Status Remove(std::string_view id);

  // Path of the file that holds `id` (it may not exist); empty for a malformed id.
  std::string PathFor(std::string_view id) const;
  const std::string& dir() const { return dir_; }
  uint64_t max_size() const { return opt_.max_size; }

 private:
  BlobStore(std::string dir, BlobStoreOptions opt) : dir_(std::move(dir)), opt_(opt) {}
  Result<std::string> Commit(const std::string& tmp_path, const std::string& id);
  std::string dir_;
  BlobStoreOptions opt_;
};

}  // namespace ssb
