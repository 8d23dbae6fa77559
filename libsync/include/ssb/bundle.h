// Bundles: signed, zstd-compressed ranges of feeds and blobs for sneakernet transfer
// (formats/bundle.md). The codec here knows nothing about stores or networks; export and
// import (ssb/bundle_sync.h) build on it.
//
// Thread-safety: a BundleReader or BundleWriter is used by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ssb/keys.h"
#include "ssb/status.h"

namespace ssb {

inline constexpr uint32_t kBundleVersion = 1;
// formats/bundle.md "Limits".
inline constexpr size_t kBundleMaxHeader = 16u << 20;
inline constexpr size_t kBundleMaxMessageRecord = 256u << 10;
inline constexpr size_t kBundleMaxBlobRecord = (8u << 20) + 32;
// Blob entries in one header; each id at most once.
inline constexpr size_t kBundleMaxBlobs = 100000;

// One feed's messages in a bundle: sequences first..last, all present, in order.
struct BundleRange {
  std::string author;
  int64_t first = 0;
  int64_t last = 0;
  std::string previous;  // id that message `first` must follow ("" when first == 1)
  std::string last_id;   // id of message `last`
  std::string sha256;    // hex sha256 over this range's message records (formats/bundle.md)
  int64_t count() const { return last - first + 1; }
};

struct BundleBlob {
  std::string id;
  uint64_t size = 0;
};

// The signed header of one bundle file (one part of an export).
struct BundleHeader {
  uint32_t version = kBundleVersion;
  std::vector<std::string> critical;  // capabilities a reader must understand
  std::string network;                // hex sha256 of the network key (caps.shs)
  std::string sign_key;               // hex sha256 of caps.sign, "" on networks without one
  std::string exporter;               // feed id that signed the header
  std::string set;                    // hex id shared by all parts of one export
  uint32_t part = 1;                  // 1-based index within the set
  std::vector<BundleRange> ranges;
  std::vector<BundleBlob> blobs;
  uint64_t records = 0;               // message + blob records in the body
  uint64_t body_bytes = 0;            // uncompressed body size
  std::string signature;              // "<b64>.sig.ed25519" over the unsigned header JSON
};

// The network identity recorded in bundles and want files.
std::string NetworkIdFromKey(std::span<const uint8_t, 32> shs_key);
// The sign-key identity recorded in bundle headers: hex sha256 of caps.sign, "" without one.
std::string SignIdFromKey(const std::optional<HmacKey>& sign_cap);
// The main network's caps.shs (PROTOCOL.md §3): kMainNetKey of ssb/keys.h.
const std::array<uint8_t, 32>& MainNetKey();

// Header JSON without the signature (the signed bytes), and parsing with limits.
std::string BundleHeaderSigningJson(const BundleHeader& h);
Result<BundleHeader> ParseBundleHeaderJson(std::string_view json);

// A record of the body.
struct BundleRecord {
  enum class Type : uint8_t { kMessage = 1, kBlob = 2 };
  Type type = Type::kMessage;
  std::string message;         // kMessage: the message's wire JSON
  std::string blob_id;         // kBlob
  std::vector<uint8_t> blob;   // kBlob: the bytes
};

// Streams one bundle file. Open reads and checks the header (magic, length, JSON, version,
// critical capabilities, exporter signature); Next() decompresses records one at a time and
// checks each against the header (range order and hashes, blob index); the end of the body and
// the trailer are checked when Next() returns nullopt. Every error is a Status naming the
// section and offset: kInvalidInput for damage or truncation, kUnsupported for a newer version
// or unknown critical capability, kLimitExceeded for a record over its limit.
class BundleReader {
 public:
  // `path` "-" reads standard input.
  static Result<std::unique_ptr<BundleReader>> Open(const std::string& path);
  // Reads an open file from its start (it is rewound; the reader uses a duplicate of `fd`, which
  // the caller keeps). `name` names it in errors.
  static Result<std::unique_ptr<BundleReader>> OpenFd(int fd, const std::string& name);
  ~BundleReader();

  const BundleHeader& header() const { return header_; }
  // The next record, or nullopt at a verified end.
  Result<std::optional<BundleRecord>> Next();
  // Which range the last message record belonged to (index into header().ranges).
  size_t current_range() const { return range_index_; }
  uint64_t file_bytes_read() const { return file_offset_; }

  class Impl;

 private:
  explicit BundleReader(std::unique_ptr<Impl> impl);
  static Result<std::unique_ptr<BundleReader>> Start(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  BundleHeader header_;
  size_t range_index_ = 0;
  uint64_t file_offset_ = 0;
};

// Writes one bundle file. The caller gives the complete header up front (ranges with their
// hashes, blobs) — the exporter plans in a first pass — then the records in header order.
// Output is deterministic: the same header and records give the same bytes.
class BundleWriter {
 public:
  // Writes to `fd` (not owned). The header is signed with `exporter`.
  static Result<std::unique_ptr<BundleWriter>> Start(int fd, BundleHeader header,
                                                     const Keypair& exporter,
                                                     int compression_level = 9);
  ~BundleWriter();
  Status AddMessage(std::string_view wire_json);
  Status AddBlob(std::string_view id, std::span<const uint8_t> bytes);
  // Ends the body and writes the trailer. Error if the records did not match the header.
  Status Finish();
  uint64_t bytes_written() const;

  class Impl;

 private:
  explicit BundleWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Incremental hash of a range's records, as BundleRange::sha256 defines it.
class RangeHasher {
 public:
  RangeHasher();
  ~RangeHasher();
  RangeHasher(RangeHasher&&) noexcept;
  RangeHasher& operator=(RangeHasher&&) noexcept;
  void Add(std::string_view wire_json);
  std::string FinishHex();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace ssb
