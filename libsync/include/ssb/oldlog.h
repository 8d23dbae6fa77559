// Readers of the message logs that the JavaScript SSB implementations keep in a data directory,
// so that a person switching to scuttlesync keeps everything they had:
//   - ssb-server 16 / ssb-db 20: `flume/log.offset` (formats/flume-log-offset.md);
//   - ssb-db2 apps (Manyverse and newer Node apps): `db2/log.bipf` (formats/db2-log-bipf.md).
// Also writers of both formats, used by tests and benchmarks to make logs without Node.
//
// Everything read here is untrusted: the files may be truncated by a crash, damaged, sparse or
// crafted. Readers stream through the file with a bounded buffer (a few hundred KiB, whatever
// the file size), report every region they cannot use (LogItem::kDamaged) and go on with the
// next readable record, and never modify the file (it is opened O_RDONLY).
//
// This module knows the files, not the store: ssb/migrate.h imports their records.
//
// Thread-safety: a LogReader or LogWriter is used by one thread at a time; the free functions
// are pure.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ssb/json.h"
#include "ssb/status.h"

namespace ssb::oldlog {

enum class LogFormat : uint8_t {
  kFlumeOffset,  // flume/log.offset of ssb-db 20 (flumelog-offset 3, 32-bit offsets, JSON)
  kDb2Bipf,      // db2/log.bipf of ssb-db2 (async-append-only-log 4, 64 KiB blocks, bipf)
};

// "flume-log-offset" / "db2-log-bipf".
std::string_view FormatName(LogFormat format);

// formats/db2-log-bipf.md "Blocks".
inline constexpr uint32_t kDb2BlockSize = 65536;
// formats/flume-log-offset.md "Limits": its end offsets are 32-bit.
inline constexpr uint64_t kFlumeMaxFileBytes = 0xFFFFFFFFull;

struct ReaderOptions {
  // A flume record whose data is longer than this is skipped (reported as kDamaged) without
  // being read. A classic message is at most 8192 UTF-16 units of pretty-printed JSON, so a
  // real record stays far below. (db2 records are bounded by the block size.)
  uint32_t max_record_bytes = 256u << 10;
  // Where reading starts: 0, or a LogItem::end returned by an earlier reader of the same file.
  // A position that is not a record boundary is read as damage up to the next record.
  uint64_t start = 0;
};

// One step through a log.
struct LogItem {
  enum class Kind : uint8_t {
    kRecord,   // `bytes` holds one record's data (a flume JSON text or a db2 bipf value)
    kDeleted,  // a record its application deleted (its data zero-filled); nothing to import
    kDamaged,  // bytes [offset, end) are not a usable record; `problem` says why
  };
  Kind kind = Kind::kRecord;
  uint64_t offset = 0;  // where the record (or the damaged region) starts in the file
  uint64_t end = 0;     // where reading continues: a resume point for ReaderOptions::start
  // kRecord: the record's data. Valid until the next call on the reader.
  std::span<const uint8_t> bytes;
  std::string problem;  // kDamaged: what is wrong, for people ("length past the end of file")
};

// Streams the records of one log file in log order.
class LogReader {
 public:
  // Opens `path` read-only. Errors: kNotFound, kPermissionDenied, kIoError (each naming the
  // file), kInvalidArgument when options.start is past the end of the file.
  static Result<std::unique_ptr<LogReader>> Open(const std::string& path, LogFormat format,
                                                 const ReaderOptions& options = {});
  virtual ~LogReader() = default;

  // The next item, or false at the end of the file. Damaged regions are items, not errors;
  // the error is only for reading the file itself (kIoError naming it), after which the
  // reader must not be used.
  virtual Result<bool> Next(LogItem* item) = 0;

  // File size when opened (reading stops there even if the file grows).
  virtual uint64_t size() const = 0;
  // Bytes consumed so far (offset of the next item), for progress.
  virtual uint64_t position() const = 0;
  virtual LogFormat format() const = 0;
};

// A record's content: the {key, value, timestamp} object both implementations store.
struct OldRecord {
  std::string key;            // the id the log claims ("" when absent); never trusted
  json::Value value;          // the message value, as JSON.stringify would see it
  std::optional<double> received;  // `timestamp`: receive time in ms, when a finite number
  bool out_of_order = false;  // db2 `ooo`: added without its feed's earlier messages
  std::string feed;           // db2 `feed`: set when the record is of another feed format
};

struct DecodeLimits {
  // Containers nested deeper than this are refused (a 64 KiB record could nest 30,000 deep).
  uint32_t max_depth = 128;
};

// Decodes a flume record's data (UTF-8 JSON). Error: kInvalidInput (not JSON, not an object
// with an object `value`) or kLimitExceeded, naming the problem.
Result<OldRecord> DecodeFlumeRecord(std::span<const uint8_t> data,
                                    const DecodeLimits& limits = {});
// Decodes a db2 record's data (bipf). Errors as above.
Result<OldRecord> DecodeDb2Record(std::span<const uint8_t> data, const DecodeLimits& limits = {});
inline Result<OldRecord> DecodeRecord(LogFormat format, std::span<const uint8_t> data,
                                      const DecodeLimits& limits = {}) {
  return format == LogFormat::kFlumeOffset ? DecodeFlumeRecord(data, limits)
                                           : DecodeDb2Record(data, limits);
}

// bipf 1.9 (formats/db2-log-bipf.md "bipf"): one value decoded the way JSON.stringify of
// bipf.decode's result reads it (undefined members dropped, non-finite doubles as null).
// Error: kInvalidInput for malformed bytes, trailing bytes, or types JSON has no form for
// (buffers); kLimitExceeded past max_depth.
Result<json::Value> BipfDecode(std::span<const uint8_t> bytes, const DecodeLimits& limits = {});
// bipf.allocAndEncode of a JSON value, byte for byte as the JavaScript encoder writes it.
std::string BipfEncode(const json::Value& value);

// The record data an application writes for a message: JSON.stringify or bipf of
// {key, value, timestamp}.
std::string EncodeRecord(LogFormat format, std::string_view key, const json::Value& value,
                         double received);

// Appends records to a new log file, framed exactly as the JavaScript packages frame them
// (tests prove the bytes equal). For tests and benchmarks: making a 100,000-message log with
// Node takes minutes.
class LogWriter {
 public:
  // Creates `path` (refuses to overwrite: kInvalidArgument when it exists).
  static Result<std::unique_ptr<LogWriter>> Create(const std::string& path, LogFormat format);
  virtual ~LogWriter() = default;
  // Appends one record's data; returns its offset. Errors: kInvalidArgument for data the
  // format cannot frame (empty, or a db2 record over 65532 bytes, or a flume file past 4 GiB),
  // kIoError / kNoSpace.
  virtual Result<uint64_t> Append(std::span<const uint8_t> data) = 0;
  // Writes what is buffered (a db2 log's last block in full) and fsyncs. Further appends
  // continue the file.
  virtual Status Flush() = 0;
};

}  // namespace ssb::oldlog
