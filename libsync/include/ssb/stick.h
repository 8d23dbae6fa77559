// The stick as a peer: want files and `ssb-bundle sync` on a removable medium
// (formats/want-file.md, formats/stick-layout.md).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ssb/bundle_sync.h"

namespace ssb {

// A receiver's signed statement of what it has (formats/want-file.md). Untrusted input for
// exporters: it only narrows what they send.
struct WantFile {
  std::string network;                   // NetworkIdFromKey
  std::string feed;                      // the writer
  std::map<std::string, int64_t> clock;  // feed → latest sequence held
  std::vector<std::string> blobs;        // blob ids wanted
};

inline constexpr size_t kMaxWantFile = 32u << 20;
inline constexpr size_t kMaxWantFeeds = 1000000;
inline constexpr size_t kMaxWantBlobs = 100000;

// What the store holds and lacks now (formats/want-file.md "Writing"): its clock, and the blob
// ids that stored messages reference but `blobs` does not hold, most recently referenced first,
// at most kMaxWantBlobs. `blobs` null: no blob wants. Errors from the store.
Result<WantFile> MakeWantFile(Store& store, const BlobStore* blobs, const std::string& network);

std::string EncodeWantFile(const WantFile& w, const Keypair& writer);
// Checks limits, shape and the writer's signature. Error: kInvalidInput.
Result<WantFile> ParseWantFile(std::string_view text);

struct StickOptions {
  ImportOptions import;                  // network, validation, pending dir
  bool check_mount = true;               // refuse a directory that is not a mount point
  uint64_t max_part = 0;                 // 0: automatic (4 GiB - 1 on FAT, else unlimited)
  uint64_t blob_budget = 64u << 20;
  bool dry_run = false;
};

// A file or folder on the stick that a sync could not use: it was skipped and the sync went on.
struct SkippedFile {
  std::string path;
  std::string reason;  // Status::ToString() of why
};

struct StickReport {
  std::vector<ImportReport> imported;
  std::vector<SkippedFile> skipped;      // links, FIFOs, damaged or foreign files, bad want files
  std::vector<std::string> written;      // files we wrote on the stick
  uint64_t messages_imported = 0;
  uint64_t messages_exported = 0;
  uint64_t blobs_exported = 0;
  size_t other_wants = 0;                // want files of other people found
  bool fork = false;
  bool pending = false;
};

// The stick marker (formats/stick-layout.md "Marker"): at most kMaxStickMarker bytes.
inline constexpr size_t kMaxStickMarker = 4096;
// The network id a marker names. Error: kInvalidInput, kLimitExceeded.
Result<std::string> ParseStickMarker(std::string_view text);

// What a file name in a stick folder is to a sync (formats/stick-layout.md "Names").
enum class StickName : uint8_t {
  kBundle,   // NAME.ssb-bundle or NAME.ssb-bundle.partN: imported
  kWant,     // NAME.ssb-want: read as someone's want file
  kTemp,     // a temp file of a write in progress, or of a killed run
  kIgnored,  // everything else (dot files, OS junk): never read, never deleted
};
StickName ClassifyStickName(std::string_view name);

// Prepares DIR as a stick: the marker file and folders (never through a link). Error: kIoError.
Status InitStick(const std::string& dir, const std::string& network);

// One sync run (formats/stick-layout.md "Sync"): import every bundle on the stick, write our
// want file, and export what the other people's want files say they lack. Everything on the
// stick is opened from the stick root's descriptor without following links; a file that cannot
// be used (a link, FIFO, a damaged or foreign bundle or want file) is skipped and listed in
// StickReport::skipped, and the sync goes on. Error: kBusy when the stick is missing, not
// mounted, or locked by another run; kInvalidArgument when DIR is not a prepared stick or a
// folder of its layout is a link or a file; kWrongNetwork; our own store's errors.
Result<StickReport> SyncStick(Store& store, BlobStore* blobs, const Keypair& me,
                              const std::string& dir, const StickOptions& options);

}  // namespace ssb
