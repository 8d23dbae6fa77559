// The ingest stage: the one way received messages enter the store. Peers (EBT and legacy
// replication), bundle import, `sbot add`, and imports of other logs all go through it.
//
//   records ──► IngestChecker ──────────────► IngestQueue ──────► IngestWriter ──► hooks
//   (text or     on the process's worker       back in the         on the caller's   what was
//   parsed       pool, every core: parse once, order they went      thread: chain     stored, in
//   JSON, in     shape + signature, decrypt    in, with bounded     rules in order,   order
//   batches)     what we can read, stored      batches and bytes    insert in the
//                text and links                in flight            caller's
//                                                                   transaction
//
// A record is parsed exactly once, on a worker; what the store needs of it that does not depend
// on the store's state (the stored text, the plaintext, the links) is computed there too, so the
// single writer only applies the chain rules and inserts. Nothing is formatted to text to be
// parsed back, and nothing stored is read back.
//
// The halves are separate so that each caller keeps its own threads and transaction policy:
//   - the network checks batches with IngestChecker::CheckAsync from its event loop (which must
//     not block) and appends them there, in order, one transaction per batch;
//   - bundle import and `sbot add` push batches into an IngestQueue from a reader thread and pop
//     them on the thread that appends: a bundle inside one StoreTransaction, `sbot add` in
//     durable batches;
//   - an importer of another log (ssb-server's flume log.offset, ssb-db2's log.bipf) feeds
//     {key, value, timestamp} records in log order with keep_received, and commits one
//     transaction per chunk (see "Importing another log" below).
//
// Untrusted input: every record is bounded (max_record_bytes) before it is parsed, a batch is
// checked in chunks across the workers, and an IngestQueue bounds the batches and the bytes
// between the reader and the writer — input bytes until a batch is checked, then what its
// parsed messages hold (up to ~50 times more for hostile input) — so memory does not grow with
// the input. A batch is only checked while the queue is under its byte bound, or when it is the
// one the writer needs next.
//
// Importing another log: feed the records in log order, in batches (Add(json::Value) when the
// log is not JSON text, e.g. bipf decoded into ssb::json values, never another JSON library's:
// ids depend on JS-exact values), each with IngestRecord::received (or, for {key, value,
// timestamp} records, IngestOptions::keep_received) so that each message keeps its original
// receive time (raised only where needed to stay strictly increasing in log order; a time in
// the future becomes now). ssb/migrate.h does this for ssb-server's and ssb-db2's logs. Per chunk: Store::BeginTransaction, IngestWriter::Append for its batches, then the
// importer's own record of how far it got (in the same transaction if it keeps it in the
// store, else right after Commit), then Commit. A record that is invalid comes back rejected
// with its reason (kInvalidMessage, kInvalidInput...) and is skipped; a fork is recorded by
// the store (AppendOutcome::fork_recorded) and its feed frozen; a message already stored comes
// back kDuplicate, so re-feeding the chunk that a crash interrupted is harmless (it is checked
// again, though: resume from the last committed chunk, not from the start).
//
// Thread-safety: IngestChecker is immutable and may be shared; IngestQueue has one producer
// and one consumer thread; IngestWriter is used from one thread (the Store it writes is itself
// thread-safe).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ssb/json.h"
#include "ssb/keys.h"
#include "ssb/message.h"
#include "ssb/status.h"
#include "ssb/store.h"
#include "ssb/worker_pool.h"

namespace ssb {

struct IngestRecord;

// What the stage checks and keeps.
struct IngestOptions {
  // The network's rules (hmac key of a test network; kStrict for what we emit). Both the check
  // and the append use them.
  ValidateOptions validate;
  // Private messages that open with this identity's key are stored with their plaintext
  // (DecryptContent, ssb/box.h). Null: nothing is decrypted. Must outlive the stage.
  const Keypair* reader = nullptr;
  // A text record longer than this is rejected (kLimitExceeded) without being parsed. A valid
  // message is at most 8192 UTF-16 units pretty-printed, far below this.
  size_t max_record_bytes = 64 * 1024;
  // A {key, value, timestamp} object holds the message in `value` (createHistoryStream with
  // keys, `sbot add` lines, other logs). Its `key` is not trusted: the id is computed.
  bool unwrap_kvt = true;
  // With unwrap_kvt: the wrapper's numeric `timestamp` becomes the message's receive time
  // (imports of other logs). Otherwise messages are stamped when they are stored.
  bool keep_received = false;
  // Called on a worker with each parsed record (and the record, for its tag); false: it is
  // not a message at all (an EBT note map) and comes back as kOther with its value, unchecked.
  // Empty: all are messages.
  std::function<bool(const IngestRecord&, const json::Value&)> is_message;
  // false: only parse and check (`sbot validate`): no stored text, links or decryption, and
  // IngestRecord::message holds just the Message (with authentic set).
  bool for_store = true;
};

// One record on its way in.
struct IngestRecord {
  enum class Kind : uint8_t {
    kPending,  // not checked yet
    kMessage,  // a message: `message` is set; `status` says whether it is authentic
    kOther,    // not a message (IngestOptions::is_message said so): `other` holds it
    kBad,      // cannot be a message: `status` says why
  };

  // ---- set by the caller
  std::string text;                  // the JSON text (released once it parsed); or
  std::optional<json::Value> value;  // the value already parsed (set instead of text)
  uint64_t tag = 0;                  // the caller's own: a line number, a log offset, a range
  // The receive time to keep (an imported log's; ms since the epoch), as Store::AppendBatch
  // with receive times treats it. Unset: the wrapper's with keep_received, else the clock's.
  std::optional<double> received;

  // ---- set by the check
  Kind kind = Kind::kPending;
  // kBad: kInvalidInput (not JSON), kLimitExceeded (too long or too deep). kMessage: ok, or
  // kInvalidMessage when its shape or signature is wrong (Append then reports the first rule
  // it breaks: a sequence gap or a duplicate is found before a bad signature, as in
  // Store::Append).
  Status status;
  std::optional<PreparedMessage> message;  // kMessage
  json::Value other;                       // kOther

  // ---- set by the caller between the check and Append
  bool skip = false;  // leave this message out of Append (e.g. a feed we do not replicate)

  // ---- set by Append, for kMessage and kBad records that were not skipped
  AppendOutcome outcome;
};

// A batch of records. Callers may derive from it to carry their own data along (a bundle's
// blob record, a reader's end-of-input), since batches travel through an IngestQueue whole.
class IngestBatch {
 public:
  virtual ~IngestBatch() = default;

  // Adds a record; `bytes()` grows by the text's size (a parsed value counts as its wire size
  // estimate `size_hint`).
  IngestRecord& Add(std::string text, uint64_t tag = 0);
  IngestRecord& Add(json::Value value, uint64_t tag = 0, size_t size_hint = 1024);
  // Counts bytes the batch carries besides its records (a bundle's blob) against the limits.
  void CountBytes(size_t n) { bytes_ += n; }

  std::vector<IngestRecord> records;
  // Input bytes in the batch (what IngestLimits::max_bytes counts).
  size_t bytes() const { return bytes_; }
  // About how many bytes of memory the records hold (texts, parsed messages, stored texts,
  // plaintexts): what an IngestQueue counts once the batch is checked.
  size_t held_bytes() const;
  // True once every record was checked.
  bool checked() const { return checked_.load(std::memory_order_acquire); }

 private:
  friend class IngestChecker;
  size_t bytes_ = 0;
  std::atomic<size_t> pending_{0};  // check jobs still running
  std::atomic<bool> checked_{false};
};

// The parallel half: parses and checks records on a worker pool.
class IngestChecker {
 public:
  // `pool` runs the checks; the process's shared pool unless a test gives its own.
  explicit IngestChecker(IngestOptions options, WorkerPool& pool = WorkerPool::Shared());

  // Checks every record of `batch` on the pool, in chunks spread over its threads, and then
  // calls `done` on the worker that finished last (keep the batch alive until then: capture the
  // shared_ptr in `done`). Never blocks. REQUIRES: the batch is not being checked already.
  void CheckAsync(std::shared_ptr<IngestBatch> batch, std::function<void()> done) const;
  // Checks `batch` on the pool and the calling thread; returns when every record is checked.
  void Check(IngestBatch& batch) const;
  // Checks one record on the calling thread. A record whose kind is not kPending is left as
  // it is (a reader may mark one kBad itself, e.g. a line too long to keep).
  void CheckRecord(IngestRecord& record) const;

  const IngestOptions& options() const { return options_; }
  WorkerPool& pool() const { return pool_; }

 private:
  // Checks records [from, to) of `batch`; returns true when that was the last chunk.
  bool CheckChunk(IngestBatch& batch, size_t from, size_t to) const;
  // Splits `batch` into chunks for the pool; `last` runs after the last one.
  void Spread(IngestBatch& batch, std::function<void()> last) const;

  IngestOptions options_;
  WorkerPool& pool_;
};

// How much may be read ahead of the writer. The defaults hold a few MiB of records.
struct IngestLimits {
  size_t max_batches = 16;       // batches pushed but not popped
  // Their bytes: input bytes until a batch is checked, then what its parsed records hold
  // (IngestBatch::held_bytes). Push waits while a new batch would pass it; checks wait while
  // the queue is over it, except the check of the batch the consumer needs next (so it always
  // makes progress).
  size_t max_bytes = 8u << 20;
};

// An ordered, bounded pipe from a producer thread (reading input into batches) to a consumer
// thread (appending them), checking the batches on the pool on the way: Pop returns them in
// the order they were pushed, each fully checked. Push blocks while the limits are reached.
class IngestQueue {
 public:
  // `checker` must outlive the queue.
  IngestQueue(const IngestChecker& checker, IngestLimits limits = {});
  // Cancels and waits for the checks still running.
  ~IngestQueue();
  IngestQueue(const IngestQueue&) = delete;
  IngestQueue& operator=(const IngestQueue&) = delete;

  // Producer: queues `batch` after waiting for room, and starts checking it when the byte
  // bound allows. Returns false (dropping the batch) once the queue was cancelled.
  bool Push(std::unique_ptr<IngestBatch> batch);
  // Producer: no more batches.
  void Close();
  // Consumer: the next batch in push order, checked; nullptr once the queue is closed and
  // empty, or cancelled. While it waits it runs pool jobs itself. (Shared because the last
  // check job may still hold it for a moment; the caller is its only user.)
  std::shared_ptr<IngestBatch> Pop();
  // Either side: stop. Push returns false and Pop nullptr from now on.
  void Cancel();

 private:
  struct Entry {
    std::shared_ptr<IngestBatch> batch;
    size_t bytes = 0;      // input bytes; once checked, IngestBatch::held_bytes
    bool started = false;  // its check was started
  };
  // Marks the batches that may be checked now as started; the caller starts them after
  // releasing mu_. REQUIRES: mu_ held.
  std::vector<std::shared_ptr<IngestBatch>> TakeStartable();
  void Start(std::vector<std::shared_ptr<IngestBatch>> batches);

  const IngestChecker& checker_;
  IngestLimits limits_;
  std::mutex mu_;
  std::condition_variable room_, ready_;
  std::deque<Entry> queue_;  // in push order
  size_t bytes_ = 0;         // sum of the entries' bytes
  size_t running_ = 0;  // checks not finished (the destructor waits for them)
  size_t max_running_;  // checks started at once (the pool's threads + 1)
  bool closed_ = false, cancelled_ = false;
};

// The serial half: appends checked records to the store, in order, and tells the hooks.
class IngestWriter {
 public:
  // Called after each Append with the messages it stored, in order (not with duplicates).
  using Hook = std::function<void(const std::vector<const PreparedMessage*>& stored)>;

  // `store` must outlive the writer. `options` as the checker's (validate is used).
  IngestWriter(Store& store, const IngestOptions& options);

  void AddHook(Hook hook) { hooks_.push_back(std::move(hook)); }

  // Appends the checked messages of `batch` that are not skipped, in order, in one transaction
  // (a savepoint of the caller's StoreTransaction when one is open), then runs the hooks with
  // what was stored. Sets the outcome of every kMessage and kBad record not skipped: kBad ones
  // are rejected with their status. Error: the store's (kIoError, kNoSpace, kBusy...; the
  // batch is rolled back and no hook runs). REQUIRES: the batch was checked.
  Status Append(IngestBatch& batch);

  // Totals over every Append so far.
  struct Counts {
    uint64_t appended = 0, duplicates = 0, rejected = 0, forks_recorded = 0;
  };
  const Counts& counts() const { return counts_; }

 private:
  Store& store_;
  AppendOptions append_;
  std::vector<Hook> hooks_;
  Counts counts_;
};

// Stable lower-case name of an AppendKind ("appended", "duplicate", "rejected").
std::string_view AppendKindName(AppendKind kind);

// Newline-delimited records (NDJSON, as `sbot add` reads them) from a file descriptor.
struct LineReaderOptions {
  size_t batch_records = 256;  // records per batch pushed
  // A longer line is not kept: it becomes a kBad record (kLimitExceeded) without its text,
  // and memory stays bounded whatever the input.
  size_t max_line_bytes = 1u << 20;
};

// Reads `fd` to its end in large blocks (ssb/line_reader.h), cuts it into lines (a final line
// without a newline counts; lines of only spaces, tabs and CRs are skipped) and pushes them to
// `queue` in batches, tagged with their 1-based line numbers. Closes the queue at the end,
// also on error. Run it on a thread of its own: Push blocks while the consumer is behind; when
// the queue is cancelled it stops early, without error. Error: a read error naming `name`.
Status ReadLines(int fd, std::string_view name, IngestQueue& queue,
                 const LineReaderOptions& options = {});

}  // namespace ssb
