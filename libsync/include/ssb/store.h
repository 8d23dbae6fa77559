// The message store: an append-only log of validated feed messages in one SQLite file,
// with the indexes replication and clients need (formats/store-schema.md).
//
// What goes in: ssb::Message values. Each is validated against its feed's latest stored
// message (ssb::Validate), so the store only ever holds unbroken chains that start at
// sequence 1. What comes out: the message's wire JSON (JSON.stringify of the parsed value,
// i.e. msg.Wire()) byte for byte, plus local metadata (receive time, log sequence).
//
// Forks (two validly signed messages at one (author, sequence)) are recorded with both ids
// and the offending message's text, and the feed is frozen: later messages of that feed are
// rejected with kFork. Nothing is silently dropped: every rejected message is reported to the
// caller with its Status.
//
// Thread-safety: a Store is safe to share between threads; calls are serialized by an internal
// mutex (a long AppendBatch blocks readers of the same Store). For reads that must not wait
// for a writer, open a second Store (read_only) on the same file: SQLite's WAL mode lets it
// read a consistent snapshot while another Store or process writes. A visitor callback MUST NOT
// call back into the Store that invokes it.
//
// Errors: "their fault" (kInvalidMessage, kInvalidInput, kFork) only ever appear in per-message
// AppendOutcome::status; "our fault" (kIoError, kCorruption, kNoSpace, kPermissionDenied,
// kBusy) are returned as the call's Status and roll back the whole call. Every Status from
// Open names the file.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ssb/links.h"
#include "ssb/message.h"
#include "ssb/status.h"

namespace ssb {

// SQLite's application_id of every store file: "ssbS" in ASCII, so `xxd db.sqlite | sed -n 5p`
// shows it (formats/store-schema.md "Identification").
inline constexpr uint32_t kStoreApplicationId = 0x73736253;
// The schema version this build writes (PRAGMA user_version). Older files are migrated on a
// read-write Open; newer files are refused with kUnsupported.
inline constexpr int kStoreSchemaVersion = 4;

struct StoreOptions {
  // Open without write access. The file must exist and be at the current schema version.
  bool read_only = false;
  // Create an empty store when `path` does not exist (ignored when read_only).
  bool create_if_missing = true;
  // true: every commit is fsynced (PRAGMA synchronous=FULL), so a power cut loses nothing that
  // a call reported as committed. false: synchronous=NORMAL; a power cut may lose the last
  // commits (never corrupts); a killed process loses nothing either way.
  bool durable_commits = true;
  // How long a call waits for another connection's write lock before failing with kBusy.
  int busy_timeout_ms = 5000;
  // SQLite page cache of this connection, in MiB.
  int cache_mib = 16;
  // Wall clock in milliseconds since the epoch, used for receive timestamps. Empty: the system
  // clock. Tests set it to simulate a clock that jumps backwards.
  std::function<double()> clock;
};

// One stored message as reads return it.
struct StoredMessage {
  int64_t log_seq = 0;       // position in the local log: strictly increasing, never reused
  std::string key;           // "%…=.sha256"
  std::string value_json;    // the message value exactly as stored (compact wire JSON)
  double received = 0;       // local receive time, ms since epoch; strictly increasing with
                             // log_seq (a fraction is added when the clock stalls or goes back)
  std::string author;        // "@…=.ed25519"
  int64_t sequence = 0;
  // The claimed `timestamp` of the value, used by FeedStream ordering. Later messages of a feed
  // may carry a non-number timestamp (ssb-validate allows it); those read as 0 here.
  double timestamp = 0;
  // content.type; nullopt for encrypted ("<base64>.box") content.
  std::optional<std::string> type;
  // Decrypted content JSON set by SetPlaintext; nullopt when not (yet) decrypted.
  std::optional<std::string> plaintext;
};

// A visitor for streaming reads; return false to stop early.
using MessageVisitor = std::function<bool(const StoredMessage&)>;

// createHistoryStream: one feed in sequence order.
struct HistoryQuery {
  std::string author;       // feed id
  int64_t start_seq = 0;    // inclusive: messages with sequence >= start_seq (0 and 1 alike)
  int64_t limit = -1;       // at most this many; negative: no limit
  bool reverse = false;     // highest sequence first
};

// createFeedStream / createLogStream / messages by type: ranges over a double-valued order key.
// The key is the resolved timestamp (FeedStream: see ResolvedTimestamp) or the receive
// timestamp (LogStream, ByType). Ties are broken by log_seq.
struct RangeQuery {
  std::optional<double> gt;  // exclusive lower bound
  std::optional<double> lt;  // exclusive upper bound
  int64_t limit = -1;        // negative: no limit
  bool reverse = false;      // highest first
};

// A fork: two validly signed messages of one author that cannot both be in its chain.
struct ForkRecord {
  enum class Kind : uint8_t {
    // A different message at a sequence we already hold: `stored_key` is our message at
    // `sequence`.
    kSameSequence = 1,
    // The next message of the feed, but its `previous` names a message we do not hold:
    // `stored_key` is our message at `sequence - 1`.
    kPreviousMismatch = 2,
  };
  int64_t id = 0;
  std::string author;
  int64_t sequence = 0;          // sequence of the offending message
  Kind kind = Kind::kSameSequence;
  std::string stored_key;        // the message we hold that it conflicts with
  std::string offending_key;     // the message that was not appended
  std::string offending_value;   // its wire JSON, kept as evidence
  double detected = 0;           // local time of detection, ms since epoch
  std::string reason;            // human-readable, e.g. Validate's message
};

// What the store knows about one feed.
struct FeedInfo {
  std::string author;
  int64_t sequence = 0;            // latest stored sequence
  std::string key;                 // id of the message at `sequence`
  std::optional<int64_t> frozen_at;  // set when a fork froze the feed: its sequence then
};

struct StoreStats {
  int64_t feeds = 0;
  int64_t messages = 0;          // stored now (deleted ones not counted)
  int64_t deleted = 0;           // removed by Delete/DeleteFeed
  int64_t forks = 0;
  int64_t encrypted = 0;         // messages with encrypted content
  int64_t decrypted = 0;         // ... of which SetPlaintext stored the plaintext
  uint64_t file_bytes = 0;       // db.sqlite + its -wal file, as on disk now
};

struct AppendOptions {
  // The rules each message is checked with. verify_signature=false trusts the caller to have
  // verified every signature already.
  // WARNING: with verify_signature=false a forged message is stored and can freeze a feed with
  // a fake fork. Leave it true unless the messages were verified with the same options.
  ValidateOptions validate;
};

// A message made ready for the store away from its writer: everything that does not depend on
// what the store holds, computed once, on any thread (the ingest stage does it on its worker
// pool, ssb/ingest.h). The writer then only applies the chain rules and inserts.
struct PreparedMessage {
  Message msg;
  // Outcome of CheckAuthentic(msg) with the append's ValidateOptions: nullopt when not run
  // (the writer checks), true when it passed (the writer skips the signature check), false
  // when it failed (the writer reports the failure where the chain rules do not fail first).
  std::optional<bool> authentic{};
  std::string wire{};                    // msg.Wire(): what is stored and served
  // Decrypted content (JSON text) of a private message we can read: stored with the message,
  // with its type and links indexed (as SetPlaintext would).
  std::optional<std::string> plaintext{};
  std::optional<std::string> ptype{};    // the plaintext's type, when it has one
  std::vector<MessageLink> links{};      // of the readable content (formats/store-schema.md)
  // The receive time to record (ms since the epoch), e.g. the original one of a message
  // imported from another log; nullopt, NaN, an infinity or a time later than the clock: now.
  // Either way it is raised to keep receive times strictly increasing in log order
  // (formats/store-schema.md "Receive timestamps").
  std::optional<double> received{};
};

// Fills wire, ptype and links of a PreparedMessage for `msg` and the plaintext (when it is
// readable content: a JSON object). Thread-safe; touches no store.
PreparedMessage PrepareMessage(Message msg, std::optional<std::string> plaintext = {});

enum class AppendKind : uint8_t {
  kAppended,   // stored now
  kDuplicate,  // a message with this id was stored already; nothing changed
  kRejected,   // not stored; `status` says why (kInvalidMessage, kInvalidInput, kFork)
};

struct AppendOutcome {
  AppendKind kind = AppendKind::kRejected;
  Status status;              // ok unless kRejected
  std::string key;            // the message id ("" when the text did not parse)
  int64_t log_seq = 0;        // kAppended and kDuplicate: its position in the log
  double received = 0;        // kAppended and kDuplicate: its receive timestamp
  bool fork_recorded = false; // kRejected with kFork: this message was recorded as a fork now
};

// The row that appending `m` wrote (outcome kAppended or kDuplicate), as reads return it,
// without reading it back.
StoredMessage AppendedRow(const PreparedMessage& m, const AppendOutcome& outcome);

// createFeedStream's order key, as ssb-db 20's feed index resolves it: the claimed timestamp,
// unless it is missing (not a number, or 0) or later than the receive time, then the receive
// time. ssb-query's `rts` is the same value.
double ResolvedTimestamp(const StoredMessage& m);

// ---- Cursor reads: pages of a sorted read that resume where the last page ended, so that a
// stream can send a page, wait for its reader, and continue with bounded memory; and tail the
// log for messages stored later (live streams).

// Which order a Read walks, and what its bounds (gt/gte/lt/lte) bound.
enum class ReadIndex : uint8_t {
  kLog,       // log order (log_seq); bounds on the receive timestamp (createLogStream)
  kFeedTime,  // resolved timestamp, ties by log_seq; bounds on it (createFeedStream)
  kFeed,      // one feed by sequence; bounds on the sequence (createHistoryStream,
              // createUserStream)
  kType,      // messages whose content.type (or, for a private message decrypted for us, its
              // plaintext's type) is `type`, in log order; bounds on the receive timestamp
              // (messagesByType)
};

// Where a page ended: the order key of its last row (resolved timestamp or sequence; unused
// for log order) and its log_seq.
struct ReadPosition {
  double key = 0;
  int64_t log_seq = 0;
};

struct ReadRequest {
  ReadIndex index = ReadIndex::kLog;
  // kFeed: the feed (required). kLog: only this feed's messages when not empty.
  std::string author;
  // kType: the type (required). kLog: only messages of this type when not empty.
  std::string type;
  std::optional<double> gt, gte, lt, lte;
  bool reverse = false;
  // Resume strictly after this position (in the read's direction).
  std::optional<ReadPosition> after;
  // Only messages with log_seq > min_log_seq and <= max_log_seq: max_log_seq pins the old part
  // of a live stream to what was stored when it began (LastLogSeq), min_log_seq starts a tail
  // after it.
  std::optional<int64_t> min_log_seq, max_log_seq;
  size_t limit = 256;  // rows in this page (at least 1)
};

// ---- Links (formats/store-schema.md "links"): what ssb-db's `links` and ssb-links'
// `links2.read` serve.

struct LinkPosition {
  std::string a;      // dest (by dest) / rel (by source)
  std::string b;      // rel (by dest) / dest (by source)
  int64_t feed = 0;   // by dest: the source feed's number
  int64_t log_seq = 0;
  int64_t idx = 0;
};

struct LinksQuery {
  // An exact feed id, one sigil ("@") for any, or empty for any.
  std::string source;
  // An exact link, a sigil ("@", "%", "&") for links of that kind, or empty for any.
  std::string dest;
  std::string rel;      // exact, or empty for any
  bool links2 = false;  // ssb-links' view (links2.read) instead of ssb-db's (links)
  bool reverse = false;
  // Log order (log_seq, then position in the message) instead of the index order: for live
  // tails (with min_log_seq).
  bool log_order = false;
  std::optional<LinkPosition> after;
  std::optional<int64_t> min_log_seq, max_log_seq;
  size_t limit = 256;
};

struct LinkRow {
  std::string source;   // author of the linking message
  std::string dest;
  std::string rel;
  std::string rel2;     // ssb-links' rel array (JSON)
  std::string key;      // the linking message
  int64_t sequence = 0;
  double received = 0;
  LinkPosition position;
};

// Where the import of another implementation's log stands (formats/store-schema.md
// "imports"): written in the same transaction as the messages it accounts for, so that a killed
// import resumes exactly where its last commit ended.
struct ImportState {
  std::string source;             // the log's path relative to the data dir ("flume/log.offset")
  std::string format;             // "flume-log-offset" or "db2-log-bipf"
  int64_t next_offset = 0;        // where reading resumes
  int64_t last_offset = -1;       // start of the last record read (-1: none yet)
  std::string last_digest;        // hex SHA-256 of that record's bytes, to notice a rewritten log
  int64_t records = 0;            // message records read (counts are over all passes)
  int64_t stored = 0;             // ... appended now
  int64_t duplicates = 0;         // ... held already
  int64_t invalid = 0;            // ... refused (not parseable, invalid, a gap, frozen feed)
  int64_t forks = 0;              // ... refused and recorded as forks (see ListForks)
  int64_t deleted = 0;            // records the other implementation had deleted
  int64_t damaged = 0;            // damaged regions skipped
  int64_t file_size = 0;          // the log's size and modification time (ns) when the last
  int64_t file_mtime_ns = 0;      // pass ended, to notice that it changed since
  double started = 0;             // when the first pass began, ms since epoch
  std::optional<double> finished; // when the last pass reached the end; nullopt while one runs
};

class Store;

// One write transaction spanning many calls on a Store (Store::BeginTransaction): everything
// those calls write becomes visible at Commit, all together, or never (destruction without
// Commit, a failed Commit, or a crash at any moment roll it all back). Each call inside keeps
// its own all-or-nothing behaviour as a savepoint. It holds the store's write lock until it
// ends, so other connections' writers wait (and fail with kBusy after busy_timeout_ms).
// SQLite spills the dirty pages of a large transaction to the WAL file, so memory stays
// bounded; the WAL grows by the transaction's size until Commit.
// WARNING: while it is open, every call on this Store from any thread joins it (reads see its
// uncommitted rows); use it where one thread owns the Store, as the bundle importer does.
class StoreTransaction {
 public:
  ~StoreTransaction();
  StoreTransaction(const StoreTransaction&) = delete;
  StoreTransaction& operator=(const StoreTransaction&) = delete;
  // Error: kNoSpace, kIoError, kBusy...; the transaction is rolled back then.
  Status Commit();

 private:
  friend class Store;
  explicit StoreTransaction(Store& store) : store_(store) {}
  Store& store_;
  bool open_ = false;
};

class Store {
 public:
  // Opens (or creates) the store file at `path` (normally <data dir>/db.sqlite; see
  // formats/data-dir.md). On success the caller owns the Store. Errors, each naming `path`:
  //   kNotFound          no file and (read_only or !create_if_missing)
  //   kPermissionDenied  the file or its directory is not writable (read-write open) or not
  //                      readable
  //   kIoError           cannot open for another reason (e.g. a path component is a file)
  //   kCorruption        the file is not an SQLite database, or the store's tables are damaged
  //   kInvalidArgument   an SQLite database that belongs to another application
  //   kUnsupported       written by a newer scuttlesync (schema version above ours), or an older
  //                      one opened read_only (migration needs write access)
  //   kBusy              another connection holds the write lock during creation/migration
  static Result<std::unique_ptr<Store>> Open(const std::string& path,
                                             const StoreOptions& options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const;

  // Validates `msg` against its feed's latest stored message and stores it.
  // Returns the outcome: kAppended, or kDuplicate when a message with the same id is stored.
  // A rejected message is returned as the error: kInvalidMessage (including a sequence gap),
  // kFork (a fork was detected and recorded, or the feed is frozen). Storage errors as above.
  Result<AppendOutcome> Append(const Message& msg, const AppendOptions& options = {});

  // Appends many messages in one transaction, in order; a message may extend one earlier in
  // the same batch. Returns one outcome per message, in input order; rejected messages do not
  // stop the batch. A storage error (kIoError, kNoSpace, kCorruption, kBusy...) rolls back the
  // whole batch and is returned instead.
  Result<std::vector<AppendOutcome>> AppendBatch(std::span<const Message> msgs,
                                                 const AppendOptions& options = {});

  // AppendBatch over prepared messages (see PreparedMessage): what they carry is trusted to
  // match `msg`, and their authentic flag to come from CheckAuthentic with options.validate.
  // Inside an open StoreTransaction the batch is a savepoint of it; otherwise its own
  // transaction. Outcomes and errors as AppendBatch.
  Result<std::vector<AppendOutcome>> AppendPrepared(std::span<const PreparedMessage* const> msgs,
                                                    const AppendOptions& options = {});

  // Begins a StoreTransaction (BEGIN IMMEDIATE). Error: kBusy when another connection holds
  // the write lock past busy_timeout_ms, kInvalidArgument when one is open on this Store
  // already, kPermissionDenied for a read-only store.
  Result<std::unique_ptr<StoreTransaction>> BeginTransaction();

  // Stores the decrypted content (JSON text, e.g. from private-box) of message `key`, and
  // when it is a JSON object indexes it as ssb-db does a message it can read: its type
  // (messagesByType) and its links. An empty optional clears all that. Error: kNotFound when
  // no such message is stored.
  Status SetPlaintext(std::string_view key, const std::optional<std::string>& plaintext_json);

  // Removes message `key` from the log (ssb-db's del): it is no longer returned by any read,
  // and nothing else changes — the feed's chain state stays, so its next message still
  // validates and replication does not fetch it again. Its log_seq is never reused.
  // Error: kNotFound.
  Status Delete(std::string_view key);
  // Removes every stored message of `author`, the same way; returns their ids in sequence
  // order (empty for an unknown feed).
  Result<std::vector<std::string>> DeleteFeed(std::string_view author);

  // One page of a sorted read (see ReadRequest). Returns the position of the last row handed
  // to `visit` (nullopt when none): pass it as `after` for the next page. A page with fewer
  // than `limit` rows (and no early stop) is the last one for now. Errors: kInvalidArgument
  // (a missing author or type), the store's.
  Result<std::optional<ReadPosition>> Read(const ReadRequest& request,
                                           const MessageVisitor& visit);
  // The log_seq of the newest message stored or deleted so far (0 for an empty store): every
  // message stored later has a greater one.
  Result<int64_t> LastLogSeq();

  // One page of links (see LinksQuery); the position of the last row, as for Read.
  Result<std::optional<LinkPosition>> Links(const LinksQuery& query,
                                            const std::function<bool(const LinkRow&)>& visit);

  // The message with id `key`. Error: kNotFound.
  Result<StoredMessage> Get(std::string_view key);

  // createHistoryStream: messages of one feed by sequence (see HistoryQuery). An unknown feed
  // yields nothing. The vector form collects what the visitor form streams.
  Status History(const HistoryQuery& query, const MessageVisitor& visit);
  Result<std::vector<StoredMessage>> History(const HistoryQuery& query);

  // createFeedStream: all messages ordered by resolved timestamp (ResolvedTimestamp), ties by
  // log_seq; gt/lt bound it.
  Status FeedStream(const RangeQuery& query, const MessageVisitor& visit);
  Result<std::vector<StoredMessage>> FeedStream(const RangeQuery& query);

  // createLogStream: all messages in receive order; gt/lt bound the receive timestamp.
  Status LogStream(const RangeQuery& query, const MessageVisitor& visit);
  Result<std::vector<StoredMessage>> LogStream(const RangeQuery& query);

  // Messages whose content.type equals `type` (exactly, WTF-8), in receive order; gt/lt bound
  // the receive timestamp. A private message matches by its plaintext's type once SetPlaintext
  // stored it (as ssb-db indexes what it can decrypt); others never match.
  Status ByType(std::string_view type, const RangeQuery& query, const MessageVisitor& visit);
  Result<std::vector<StoredMessage>> ByType(std::string_view type, const RangeQuery& query);

  // Encrypted messages in receive order, with receive timestamp > `after_received`;
  // `only_undecrypted` skips those with a plaintext. For the private-box decryptor.
  Status Encrypted(double after_received, bool only_undecrypted, int64_t limit,
                   const MessageVisitor& visit);

  // The latest stored message of `author`, or nullopt for an unknown feed.
  Result<std::optional<FeedState>> Latest(std::string_view author);
  // Everything about one feed, or nullopt for an unknown feed.
  Result<std::optional<FeedInfo>> Feed(std::string_view author);
  // All feeds, ordered by author.
  Result<std::vector<FeedInfo>> Feeds();
  // The vector clock: latest stored sequence of every feed (frozen feeds included, at the
  // sequence where they froze).
  Result<std::map<std::string, int64_t>> Clock();

  // Blob ids referenced (`&…=.sha256` anywhere in the wire JSON) by stored messages, each
  // once, the most recently stored reference first (ties by id). Kept by the store as messages
  // are appended (formats/store-schema.md "blob_refs"), so this reads an index, not every
  // message. Return false from `visit` to stop.
  Status ReferencedBlobs(const std::function<bool(const std::string&)>& visit);

  // Recorded forks, oldest first; `author` empty: of all feeds.
  Result<std::vector<ForkRecord>> ListForks(std::string_view author = {});

  Result<StoreStats> Stats();

  // Import bookkeeping (formats/store-schema.md "imports"), for ssb/migrate.h. Imports lists
  // every row, ordered by source; Import one, or nullopt. PutImport inserts or replaces the
  // row of state.source (inside an open StoreTransaction it joins it).
  Result<std::vector<ImportState>> Imports();
  Result<std::optional<ImportState>> Import(std::string_view source);
  Status PutImport(const ImportState& state);

  // The highest sequence of `author`'s feed known to exist although it may not be stored
  // (formats/store-schema.md "feed_floors"): an imported log held it. 0 when none is known.
  // Publishing on a feed whose stored latest sequence is below its floor would fork it.
  Result<int64_t> FeedFloor(std::string_view author);
  // Raises the floor of `author` to `sequence` (never lowers it); `source` says who knew.
  Status RaiseFeedFloor(std::string_view author, int64_t sequence, std::string_view source);

  // Runs SQLite's quick_check over the whole file (slow on big stores). Error: kCorruption
  // describing the first problems found.
  Status CheckIntegrity();

  // Moves the WAL's content into the main file and truncates the WAL (e.g. before copying the
  // file elsewhere). Error: kBusy when readers keep it from completing.
  Status Checkpoint();

  class Impl;  // private; defined in libsync/store/

 private:
  friend class StoreTransaction;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ssb
