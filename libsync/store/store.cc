// Store: opening, schema migrations and reads. Appends are in append.cc.
// The schema is specified in formats/store-schema.md; section names are cited below.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "sqlite.h"
#include "ssb/ref.h"
#include "ssb/store.h"
#include "ssb/files.h"
#include "store_impl.h"

namespace ssb {
namespace {

using store::Db;
using store::Stmt;
using store::StmtScope;
using store::Transaction;

// formats/store-schema.md "Version history": migrations[v] upgrades version v to v + 1.
// Never edit a released step; append a new one and bump kStoreSchemaVersion.
const char* const kMigrations[] = {
    // 0 -> 1: the initial schema (formats/store-schema.md "Tables").
    R"sql(
CREATE TABLE feeds (
  id          INTEGER PRIMARY KEY,
  author      TEXT    NOT NULL UNIQUE,
  latest_seq  INTEGER NOT NULL,
  latest_key  TEXT    NOT NULL,
  frozen_at   INTEGER
);
CREATE TABLE messages (
  log_seq     INTEGER PRIMARY KEY,
  key_hash    INTEGER NOT NULL,
  key         TEXT    NOT NULL,
  feed        INTEGER NOT NULL REFERENCES feeds(id),
  sequence    INTEGER NOT NULL,
  claimed_ts  REAL    NOT NULL,
  received    REAL    NOT NULL,
  type        TEXT,
  value       TEXT    NOT NULL,
  plaintext   TEXT,
  UNIQUE (feed, sequence)
);
CREATE INDEX messages_key ON messages (key_hash);
CREATE INDEX messages_claimed ON messages (claimed_ts);
CREATE INDEX messages_type ON messages (type);
CREATE TABLE forks (
  id              INTEGER PRIMARY KEY,
  feed            INTEGER NOT NULL REFERENCES feeds(id),
  sequence        INTEGER NOT NULL,
  kind            INTEGER NOT NULL,
  stored_key      TEXT    NOT NULL,
  offending_key   TEXT    NOT NULL UNIQUE,
  offending_value TEXT    NOT NULL,
  detected        REAL    NOT NULL,
  reason          TEXT    NOT NULL
);
CREATE INDEX forks_feed ON forks (feed);
)sql",
    // 1 -> 2: blobs referenced by stored messages (formats/store-schema.md "blob_refs"); the
    // rows for messages stored before are filled by BackfillBlobRefs.
    R"sql(
CREATE TABLE blob_refs (
  blob     TEXT    PRIMARY KEY,
  log_seq  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX blob_refs_recent ON blob_refs (log_seq);
)sql",
    // 2 -> 3: what apps read (formats/store-schema.md "Version history"): the type of decrypted
    // private messages, links, deletions, and createFeedStream's resolved-timestamp order.
    // Rows for messages stored before are filled by BackfillLinks.
    R"sql(
ALTER TABLE messages ADD COLUMN ptype TEXT;
CREATE INDEX messages_ptype ON messages (ptype) WHERE ptype IS NOT NULL;
DROP INDEX messages_claimed;
CREATE INDEX messages_rts ON messages
  ((CASE WHEN claimed_ts = 0 OR received < claimed_ts THEN received ELSE claimed_ts END));
CREATE TABLE links (
  log_seq   INTEGER NOT NULL,
  idx       INTEGER NOT NULL,
  feed      INTEGER NOT NULL,
  sequence  INTEGER NOT NULL,
  dest      TEXT    NOT NULL,
  rel       TEXT    NOT NULL,
  rel2      TEXT    NOT NULL,
  kind      INTEGER NOT NULL,
  PRIMARY KEY (log_seq, idx)
) WITHOUT ROWID;
CREATE INDEX links_dest ON links (dest, rel, feed, log_seq, idx);
CREATE INDEX links_source ON links (feed, rel, dest, log_seq, idx);
CREATE TABLE deleted (
  log_seq   INTEGER PRIMARY KEY,
  key       TEXT    NOT NULL,
  feed      INTEGER NOT NULL,
  sequence  INTEGER NOT NULL,
  deleted   REAL    NOT NULL
);
CREATE INDEX deleted_feed ON deleted (feed, sequence);
)sql",
    // 3 -> 4: imports of other implementations' logs and the floors of feeds they revealed
    // (formats/store-schema.md "imports", "feed_floors").
    R"sql(
CREATE TABLE imports (
  source        TEXT    PRIMARY KEY,
  format        TEXT    NOT NULL,
  next_offset   INTEGER NOT NULL,
  last_offset   INTEGER NOT NULL,
  last_digest   TEXT    NOT NULL,
  records       INTEGER NOT NULL,
  stored        INTEGER NOT NULL,
  duplicates    INTEGER NOT NULL,
  invalid       INTEGER NOT NULL,
  forks         INTEGER NOT NULL,
  deleted       INTEGER NOT NULL,
  damaged       INTEGER NOT NULL,
  file_size     INTEGER NOT NULL,
  file_mtime_ns INTEGER NOT NULL,
  started       REAL    NOT NULL,
  finished      REAL
) WITHOUT ROWID;
CREATE TABLE feed_floors (
  author    TEXT    PRIMARY KEY,
  sequence  INTEGER NOT NULL,
  source    TEXT    NOT NULL
) WITHOUT ROWID;
)sql",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kStoreSchemaVersion);

// The store's messages put the path inside `what`.
Status ErrnoStatus(const std::string& what, int err) { return ssb::ErrnoStatus(what, "", err); }

// Checks what SQLite would report vaguely ("unable to open database file") with a message that
// says which path and why. Root passes access() checks; SQLite's own errors cover that case.
Status PreflightPath(const std::string& path, const StoreOptions& opt) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      return Status::InvalidArgument("store " + path + " is a directory, not a database file");
    }
    if (::access(path.c_str(), opt.read_only ? R_OK : R_OK | W_OK) != 0) {
      return ErrnoStatus(std::string("store ") + path + (opt.read_only ? " is not readable"
                                                                       : " is not writable"),
                         errno);
    }
    if (!opt.read_only) {
      std::string dir = DirName(path);
      if (::access(dir.c_str(), W_OK | X_OK) != 0) {
        return ErrnoStatus("directory " + dir + " of store " + path +
                               " is not writable (SQLite creates the -wal and -shm files there)",
                           errno);
      }
    }
    return Status::Ok();
  }
  int err = errno;
  if (err == ENOTDIR) {
    return Status::IoError("cannot open store " + path + ": a component of the path is not a "
                           "directory");
  }
  if (err != ENOENT) return ErrnoStatus("cannot open store " + path, err);
  if (opt.read_only || !opt.create_if_missing) {
    return Status::NotFound("no store at " + path);
  }
  std::string dir = DirName(path);
  if (::stat(dir.c_str(), &st) != 0) {
    int e = errno;
    if (e == ENOTDIR) {
      return Status::IoError("cannot create store " + path + ": a component of " + dir +
                             " is not a directory");
    }
    return ErrnoStatus("cannot create store " + path + ": directory " + dir, e);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::IoError("cannot create store " + path + ": " + dir + " is not a directory");
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return ErrnoStatus("cannot create store " + path + ": directory " + dir, errno);
  }
  return Status::Ok();
}

// Turns SQLite's "file is not a database" into something a user can act on.
Status Unrecognized(const std::string& path, const Status& s) {
  if (s.code() == Code::kCorruption) {
    return Status::Corruption("store " + path + " is not a scuttlesync store or is damaged: " +
                              s.message());
  }
  return s;
}

// Schema 2 indexes the blob ids that messages reference as they are appended; a store that
// had messages before fills the index once, here, in the migration's transaction.
Status BackfillBlobRefs(Db& db) {
  Stmt scan, insert;
  SSB_RETURN_IF_ERROR(scan.Prepare(
      db, "SELECT log_seq, value FROM messages WHERE instr(value, '&') > 0 ORDER BY log_seq"));
  SSB_RETURN_IF_ERROR(insert.Prepare(db, store::kInsertBlobRef));
  for (;;) {
    auto row = scan.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
    int64_t log_seq = scan.ColumnInt(0);
    std::string value = scan.ColumnText(1);
    Status st;
    store::ForEachBlobRef(value, [&](std::string_view blob) {
      if (!st.ok()) return;
      StmtScope s(insert);
      insert.BindText(1, blob);
      insert.BindInt(2, log_seq);
      st = insert.Run();
    });
    SSB_RETURN_IF_ERROR(st);
  }
}

// Schema 3 indexes links and the type of decrypted private messages as messages are stored (or
// decrypted); a store that had messages before gets them here, in the migration's transaction.
Status BackfillLinks(Store::Impl& impl) {
  Db& db = impl.db;
  Stmt scan, set_ptype;
  SSB_RETURN_IF_ERROR(scan.Prepare(
      db, "SELECT log_seq, feed, sequence, value, plaintext FROM messages ORDER BY log_seq"));
  SSB_RETURN_IF_ERROR(set_ptype.Prepare(db, "UPDATE messages SET ptype = ?2 WHERE log_seq = ?1"));
  for (;;) {
    auto row = scan.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
    auto value = json::Parse(scan.ColumnText(3), {.wtf8_input = true});
    if (!value.ok() || !value->is_object()) continue;  // never stored so; nothing to index
    json::Value content;
    if (auto plain = scan.ColumnOptText(4)) {
      auto p = json::Parse(*plain, {.wtf8_input = true});
      if (p.ok() && p->is_object()) {
        content = std::move(p).value();
        if (const json::Value* t = content.Find("type"); t && t->is_string()) {
          StmtScope scope(set_ptype);
          set_ptype.BindInt(1, scan.ColumnInt(0));
          set_ptype.BindText(2, t->as_string());
          SSB_RETURN_IF_ERROR(set_ptype.Run());
        }
      }
    }
    if (content.is_null()) {
      if (const json::Value* c = value->Find("content")) content = *c;
    }
    SSB_RETURN_IF_ERROR(store::IndexLinks(impl, /*fresh=*/true, scan.ColumnInt(0),
                                          scan.ColumnInt(1), scan.ColumnInt(2), *value, content));
  }
}

Status Migrate(Store::Impl& impl, int64_t from) {
  Db& db = impl.db;
  Transaction tx(db);
  SSB_RETURN_IF_ERROR(tx.Begin(/*immediate=*/true));
  // Another process may have migrated between our check and BEGIN IMMEDIATE.
  auto now = db.QueryInt("PRAGMA user_version");
  if (!now.ok()) return now.status();
  if (*now != from) {
    return *now == kStoreSchemaVersion ? Status::Ok()
                                       : Status::Busy("store " + db.path() +
                                                      " changed version during open; retry");
  }
  for (int64_t v = from; v < kStoreSchemaVersion; ++v) {
    SSB_RETURN_IF_ERROR(db.Exec(kMigrations[v]));
    if (v == 1) SSB_RETURN_IF_ERROR(BackfillBlobRefs(db));
    if (v == 2) SSB_RETURN_IF_ERROR(BackfillLinks(impl));
  }
  char pragma[96];
  std::snprintf(pragma, sizeof pragma, "PRAGMA application_id = %u; PRAGMA user_version = %d;",
                kStoreApplicationId, kStoreSchemaVersion);
  SSB_RETURN_IF_ERROR(db.Exec(pragma));
  return tx.Commit();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Open

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

const std::string& Store::path() const { return impl_->db.path(); }

double Store::Impl::NowMs() const {
  if (options.clock) return options.clock();
  using namespace std::chrono;
  return static_cast<double>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path, const StoreOptions& options) {
  if (path.empty()) return Status::InvalidArgument("store path is empty");
  SSB_RETURN_IF_ERROR(PreflightPath(path, options));
  // Appends verify signatures, possibly on several threads at once.
  if (!CryptoInit()) return Status::Unsupported("libsodium cannot initialise on this machine");

  auto impl = std::make_unique<Impl>();
  impl->options = options;
  Db& db = impl->db;
  int flags = SQLITE_OPEN_NOMUTEX;  // Impl::mu serializes use of the connection
  if (options.read_only) {
    flags |= SQLITE_OPEN_READONLY;
  } else {
    flags |= SQLITE_OPEN_READWRITE | (options.create_if_missing ? SQLITE_OPEN_CREATE : 0);
  }
  SSB_RETURN_IF_ERROR(db.Open(path, flags));
  sqlite3_busy_timeout(db.get(), options.busy_timeout_ms);

  // formats/store-schema.md "Identification": decide whose file this is before writing to it.
  auto app_id = db.QueryInt("PRAGMA application_id");
  if (!app_id.ok()) return Unrecognized(path, app_id.status());
  auto version = db.QueryInt("PRAGMA user_version");
  if (!version.ok()) return Unrecognized(path, version.status());
  auto tables = db.QueryInt("SELECT count(*) FROM sqlite_master");
  if (!tables.ok()) return Unrecognized(path, tables.status());
  uint32_t app = static_cast<uint32_t>(*app_id);
  bool fresh = app == 0 && *version == 0 && *tables == 0;
  if (!fresh && app != kStoreApplicationId) {
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  " is an SQLite database of another application (application_id 0x%08x, "
                  "user_version %lld, %lld schema objects), not a scuttlesync store",
                  app, static_cast<long long>(*version), static_cast<long long>(*tables));
    return Status::InvalidArgument("store " + path + buf);
  }
  if (*version > kStoreSchemaVersion) {
    return Status::Unsupported("store " + path + " has schema version " +
                               std::to_string(*version) + ", newer than this build's " +
                               std::to_string(kStoreSchemaVersion) + "; upgrade scuttlesync");
  }

  char pragma[64];
  std::snprintf(pragma, sizeof pragma, "PRAGMA cache_size = %d", -1024 * options.cache_mib);
  SSB_RETURN_IF_ERROR(db.Exec(pragma));
  if (options.read_only) {
    if (fresh) return Status::NotFound("store " + path + " is empty (never initialized)");
    if (*version < kStoreSchemaVersion) {
      return Status::Unsupported("store " + path + " has schema version " +
                                 std::to_string(*version) + " and needs a migration to " +
                                 std::to_string(kStoreSchemaVersion) +
                                 "; open it read-write once");
    }
  } else {
    // formats/store-schema.md "Journal": WAL, so that readers never block the writer.
    {
      Stmt jm;
      SSB_RETURN_IF_ERROR(jm.Prepare(db, "PRAGMA journal_mode = WAL"));
      auto row = jm.Step();
      if (!row.ok()) return row.status();
      if (!*row || jm.ColumnText(0) != "wal") {
        return Status::IoError("store " + path + ": cannot switch to WAL journal mode");
      }
    }
    SSB_RETURN_IF_ERROR(db.Exec(options.durable_commits ? "PRAGMA synchronous = FULL"
                                                        : "PRAGMA synchronous = NORMAL"));
    // formats/store-schema.md "Journal": checkpoint every 8192 pages (32 MiB) rather than
    // SQLite's 1000, so that bulk appends copy a hot index page once per checkpoint, not once
    // per commit.
    SSB_RETURN_IF_ERROR(db.Exec("PRAGMA wal_autocheckpoint = 8192"));
    if (*version < kStoreSchemaVersion) SSB_RETURN_IF_ERROR(Migrate(*impl, *version));
  }
  // Our application_id but a table missing: damaged, not merely old. (Statements are prepared
  // on first use; one that no longer compiles reports the same, see Impl::Use.)
  auto have = db.QueryInt(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
      "name IN ('feeds', 'messages', 'forks', 'blob_refs', 'links', 'deleted', 'imports', "
      "'feed_floors')");
  if (!have.ok()) return Unrecognized(path, have.status());
  if (*have != 8) {
    return Status::Corruption("store " + path + ": schema is damaged: " +
                              std::to_string(8 - *have) + " of its 8 tables are missing");
  }
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Result<store::Stmt*> Store::Impl::Use(const std::string& sql) {
  auto& slot = dynamic[sql];
  if (!slot) slot = std::make_unique<store::LazyStmt>(sql);
  return Use(*slot);
}

Result<store::Stmt*> Store::Impl::Use(store::LazyStmt& stmt) {
  auto got = stmt.Get(db);
  if (!got.ok()) {
    return Status::Corruption("store " + db.path() + ": schema is damaged: " +
                              got.status().message());
  }
  return got;
}

// ---------------------------------------------------------------------------------------------
// Reads

namespace store {

std::optional<int64_t> KeyHash(std::string_view key) {
  auto digest = ParseHashId(key, '%');
  if (!digest) return std::nullopt;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | (*digest)[static_cast<size_t>(i)];
  return static_cast<int64_t>(v);
}

void ForEachBlobRef(std::string_view text, const std::function<void(std::string_view)>& visit) {
  // A blob id is 52 characters: '&', 44 base64, ".sha256".
  for (size_t i = text.find('&'); i != std::string_view::npos; i = text.find('&', i + 1)) {
    if (i + 52 <= text.size() && IsBlobId(text.substr(i, 52))) visit(text.substr(i, 52));
  }
}

StoredMessage ReadRow(const Stmt& s) {
  StoredMessage m;
  m.log_seq = s.ColumnInt(0);
  m.key = s.ColumnText(1);
  m.value_json = s.ColumnText(2);
  m.received = s.ColumnDouble(3);
  m.author = s.ColumnText(4);
  m.sequence = s.ColumnInt(5);
  m.timestamp = s.ColumnDouble(6);
  m.type = s.ColumnOptText(7);
  m.plaintext = s.ColumnOptText(8);
  return m;
}

}  // namespace store

namespace {

// Steps `s` (already bound) and hands every row to `visit` until it returns false.
Status Drain(Stmt& s, const MessageVisitor& visit) {
  StmtScope scope(s);
  for (;;) {
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
    if (!visit(store::ReadRow(s))) return Status::Ok();
  }
}

template <typename F>
Result<std::vector<StoredMessage>> Collect(F&& run) {
  std::vector<StoredMessage> out;
  Status s = run([&out](const StoredMessage& m) {
    out.push_back(m);
    return true;
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace

namespace store {

Result<std::optional<int64_t>> FirstLogSeqAfter(Db& db, double x, bool inclusive) {
  Stmt probe, bounds;
  SSB_RETURN_IF_ERROR(probe.Prepare(
      db, "SELECT log_seq, received FROM messages WHERE log_seq >= ?1 ORDER BY log_seq LIMIT 1"));
  SSB_RETURN_IF_ERROR(bounds.Prepare(db, "SELECT min(log_seq), max(log_seq) FROM messages"));
  auto row = bounds.Step();
  if (!row.ok()) return row.status();
  if (!*row || bounds.ColumnIsNull(0)) return std::optional<int64_t>();
  int64_t lo = bounds.ColumnInt(0), hi = bounds.ColumnInt(1) + 1;
  // Invariant: every row below lo fails the predicate; the first row at or above hi (if any)
  // passes it. Rowids are dense in practice; the probe tolerates gaps.
  std::optional<int64_t> found;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    probe.Reset();
    probe.BindInt(1, mid);
    auto r = probe.Step();
    if (!r.ok()) return r.status();
    if (!*r) {
      hi = mid;
      continue;
    }
    int64_t seq = probe.ColumnInt(0);
    double rec = probe.ColumnDouble(1);
    if (inclusive ? rec >= x : rec > x) {
      found = seq;
      hi = mid;
    } else {
      lo = seq + 1;
    }
  }
  return found;
}

}  // namespace store

namespace {

using store::FirstLogSeqAfter;

enum class Order { kResolved, kLog };

// A range query in claimed-timestamp order (index messages_claimed) or in log order (rowid,
// with the receive-time bounds translated to log_seq bounds), with optional extra WHERE terms
// on an indexed column. The statement text depends only on which bounds are present.
Status RangeScan(Db& db, Order order, const std::string& extra_where,
                 const std::optional<std::string>& extra_bind, const RangeQuery& q,
                 const MessageVisitor& visit) {
  // One snapshot for the bound lookups and the scan.
  Transaction tx(db);
  SSB_RETURN_IF_ERROR(tx.Begin(/*immediate=*/false));
  std::optional<int64_t> seq_from, seq_to;  // log_seq >= seq_from, log_seq < seq_to
  if (order == Order::kLog) {
    if (q.gt) {
      auto r = FirstLogSeqAfter(db, *q.gt, /*inclusive=*/false);
      if (!r.ok()) return r.status();
      if (!*r) return tx.Commit();  // nothing received after gt
      seq_from = **r;
    }
    if (q.lt) {
      auto r = FirstLogSeqAfter(db, *q.lt, /*inclusive=*/true);
      if (!r.ok()) return r.status();
      seq_to = *r;  // nullopt: every stored message was received before lt
    }
  }
  std::string sql = std::string("SELECT ") + store::kMessageColumns +
                    " FROM messages m CROSS JOIN feeds f ON f.id = m.feed WHERE 1";
  int next = 1;
  int bind_extra = 0, bind_lo = 0, bind_hi = 0;
  if (!extra_where.empty()) {
    sql += " AND " + extra_where;
    if (extra_bind) bind_extra = next++;
  }
  const char* col = order == Order::kLog ? "m.log_seq" : SSB_STORE_RTS_EXPR;
  if (order == Order::kLog ? seq_from.has_value() : q.gt.has_value()) {
    bind_lo = next++;
    sql += std::string(" AND ") + col + (order == Order::kLog ? " >= ?" : " > ?") +
           std::to_string(bind_lo);
  }
  if (order == Order::kLog ? seq_to.has_value() : q.lt.has_value()) {
    bind_hi = next++;
    sql += std::string(" AND ") + col + " < ?" + std::to_string(bind_hi);
  }
  const char* dir = q.reverse ? " DESC" : "";
  sql += std::string(" ORDER BY ") + col + dir;
  if (order == Order::kResolved) sql += std::string(", m.log_seq") + dir;
  sql += " LIMIT ?" + std::to_string(next);
  Stmt s;
  SSB_RETURN_IF_ERROR(s.Prepare(db, sql.c_str()));
  if (bind_extra) s.BindText(bind_extra, *extra_bind);
  if (order == Order::kLog) {
    if (bind_lo) s.BindInt(bind_lo, *seq_from);
    if (bind_hi) s.BindInt(bind_hi, *seq_to);
  } else {
    if (bind_lo) s.BindDouble(bind_lo, *q.gt);
    if (bind_hi) s.BindDouble(bind_hi, *q.lt);
  }
  s.BindInt(next, q.limit < 0 ? -1 : q.limit);
  SSB_RETURN_IF_ERROR(Drain(s, visit));
  return tx.Commit();
}

}  // namespace

Result<StoredMessage> Store::Get(std::string_view key) {
  std::lock_guard lock(impl_->mu);
  auto hash = store::KeyHash(key);
  if (!hash) return Status::NotFound("no message " + std::string(key) + " (not a message id)");
  auto s_stmt = impl_->Use(impl_->get_by_key);
  if (!s_stmt.ok()) return s_stmt.status();
  Stmt& s = **s_stmt;
  StmtScope scope(s);
  s.BindInt(1, *hash);
  s.BindText(2, key);
  auto row = s.Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound("no message " + std::string(key));
  return store::ReadRow(s);
}

Status Store::History(const HistoryQuery& q, const MessageVisitor& visit) {
  std::lock_guard lock(impl_->mu);
  auto s_stmt = impl_->Use(q.reverse ? impl_->history_rev : impl_->history_fwd);
  if (!s_stmt.ok()) return s_stmt.status();
  Stmt& s = **s_stmt;
  s.BindText(1, q.author);
  s.BindInt(2, q.start_seq);
  s.BindInt(3, q.limit < 0 ? -1 : q.limit);
  return Drain(s, visit);
}

Result<std::vector<StoredMessage>> Store::History(const HistoryQuery& q) {
  return Collect([&](const MessageVisitor& v) { return History(q, v); });
}

Status Store::FeedStream(const RangeQuery& q, const MessageVisitor& visit) {
  std::lock_guard lock(impl_->mu);
  return RangeScan(impl_->db, Order::kResolved, "", std::nullopt, q, visit);
}

Result<std::vector<StoredMessage>> Store::FeedStream(const RangeQuery& q) {
  return Collect([&](const MessageVisitor& v) { return FeedStream(q, v); });
}

Status Store::LogStream(const RangeQuery& q, const MessageVisitor& visit) {
  std::lock_guard lock(impl_->mu);
  return RangeScan(impl_->db, Order::kLog, "", std::nullopt, q, visit);
}

Result<std::vector<StoredMessage>> Store::LogStream(const RangeQuery& q) {
  return Collect([&](const MessageVisitor& v) { return LogStream(q, v); });
}

Status Store::ByType(std::string_view type, const RangeQuery& q, const MessageVisitor& visit) {
  std::lock_guard lock(impl_->mu);
  return RangeScan(impl_->db, Order::kLog, "(m.type = ?1 OR m.ptype = ?1)", std::string(type), q,
                   visit);
}

Result<std::vector<StoredMessage>> Store::ByType(std::string_view type, const RangeQuery& q) {
  return Collect([&](const MessageVisitor& v) { return ByType(type, q, v); });
}

Status Store::Encrypted(double after_received, bool only_undecrypted, int64_t limit,
                        const MessageVisitor& visit) {
  std::lock_guard lock(impl_->mu);
  RangeQuery q;
  q.gt = after_received;
  q.limit = limit;
  return RangeScan(impl_->db, Order::kLog,
                   only_undecrypted ? "m.type IS NULL AND m.plaintext IS NULL" : "m.type IS NULL",
                   std::nullopt, q, visit);
}

Status Store::SetPlaintext(std::string_view key, const std::optional<std::string>& plaintext) {
  std::lock_guard lock(impl_->mu);
  auto hash = store::KeyHash(key);
  if (!hash) return Status::NotFound("no message " + std::string(key) + " (not a message id)");
  std::optional<json::Value> content;
  std::optional<std::string> ptype;
  if (plaintext) {
    // Indexed only when it is readable content (an object), as ssb-db's unboxer requires.
    auto c = json::Parse(*plaintext, {.wtf8_input = true});
    if (c.ok() && c->is_object()) {
      if (const json::Value* t = c->Find("type"); t && t->is_string()) ptype = t->as_string();
      content = std::move(c).value();
    }
  }
  Transaction tx(impl_->db);
  SSB_RETURN_IF_ERROR(tx.Begin(/*immediate=*/true));
  auto s_stmt = impl_->Use(impl_->set_plaintext);
  if (!s_stmt.ok()) return s_stmt.status();
  Stmt& s = **s_stmt;
  int64_t log_seq = 0, feed = 0, sequence = 0;
  std::string value_text;
  {
    StmtScope scope(s);
    s.BindInt(1, *hash);
    s.BindText(2, key);
    s.BindOptText(3, plaintext);
    s.BindOptText(4, ptype);
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("no message " + std::string(key));
    log_seq = s.ColumnInt(0);
    feed = s.ColumnInt(1);
    sequence = s.ColumnInt(2);
    value_text = s.ColumnText(3);
  }
  auto value = json::Parse(value_text, {.wtf8_input = true});
  if (value.ok() && value->is_object()) {
    const json::Value* own = value->Find("content");
    SSB_RETURN_IF_ERROR(store::IndexLinks(*impl_, /*fresh=*/false, log_seq, feed, sequence,
                                          *value, content ? *content : own ? *own : json::Value()));
  }
  return tx.Commit();
}

Result<std::optional<FeedInfo>> Store::Feed(std::string_view author) {
  std::lock_guard lock(impl_->mu);
  auto s_stmt = impl_->Use(impl_->find_feed);
  if (!s_stmt.ok()) return s_stmt.status();
  Stmt& s = **s_stmt;
  StmtScope scope(s);
  s.BindText(1, author);
  auto row = s.Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<FeedInfo>();
  FeedInfo f;
  f.author = std::string(author);
  f.sequence = s.ColumnInt(1);
  f.key = s.ColumnText(2);
  if (!s.ColumnIsNull(3)) f.frozen_at = s.ColumnInt(3);
  return std::optional<FeedInfo>(std::move(f));
}

Result<std::optional<FeedState>> Store::Latest(std::string_view author) {
  auto f = Feed(author);
  if (!f.ok()) return f.status();
  if (!f->has_value()) return std::optional<FeedState>();
  return std::optional<FeedState>(FeedState{(*f)->key, (*f)->sequence});
}

Result<std::vector<FeedInfo>> Store::Feeds() {
  std::lock_guard lock(impl_->mu);
  Stmt s;
  SSB_RETURN_IF_ERROR(s.Prepare(
      impl_->db, "SELECT author, latest_seq, latest_key, frozen_at FROM feeds ORDER BY author"));
  std::vector<FeedInfo> out;
  for (;;) {
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    FeedInfo f;
    f.author = s.ColumnText(0);
    f.sequence = s.ColumnInt(1);
    f.key = s.ColumnText(2);
    if (!s.ColumnIsNull(3)) f.frozen_at = s.ColumnInt(3);
    out.push_back(std::move(f));
  }
  return out;
}

Result<std::map<std::string, int64_t>> Store::Clock() {
  std::lock_guard lock(impl_->mu);
  Stmt s;
  SSB_RETURN_IF_ERROR(s.Prepare(impl_->db, "SELECT author, latest_seq FROM feeds"));
  std::map<std::string, int64_t> out;
  for (;;) {
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.emplace(s.ColumnText(0), s.ColumnInt(1));
  }
  return out;
}

Status Store::ReferencedBlobs(const std::function<bool(const std::string&)>& visit) {
  std::lock_guard lock(impl_->mu);
  Stmt s;
  SSB_RETURN_IF_ERROR(
      s.Prepare(impl_->db, "SELECT blob FROM blob_refs ORDER BY log_seq DESC, blob"));
  for (;;) {
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
    if (!visit(s.ColumnText(0))) return Status::Ok();
  }
}

Result<std::vector<ForkRecord>> Store::ListForks(std::string_view author) {
  std::lock_guard lock(impl_->mu);
  Stmt s;
  SSB_RETURN_IF_ERROR(s.Prepare(
      impl_->db,
      "SELECT k.id, f.author, k.sequence, k.kind, k.stored_key, k.offending_key, "
      "k.offending_value, k.detected, k.reason FROM forks k CROSS JOIN feeds f ON f.id = k.feed "
      "WHERE ?1 = '' OR f.author = ?1 ORDER BY k.id"));
  s.BindText(1, author);
  std::vector<ForkRecord> out;
  for (;;) {
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    ForkRecord r;
    r.id = s.ColumnInt(0);
    r.author = s.ColumnText(1);
    r.sequence = s.ColumnInt(2);
    r.kind = static_cast<ForkRecord::Kind>(s.ColumnInt(3));
    r.stored_key = s.ColumnText(4);
    r.offending_key = s.ColumnText(5);
    r.offending_value = s.ColumnText(6);
    r.detected = s.ColumnDouble(7);
    r.reason = s.ColumnText(8);
    out.push_back(std::move(r));
  }
  return out;
}

Result<StoreStats> Store::Stats() {
  std::lock_guard lock(impl_->mu);
  Db& db = impl_->db;
  // One read transaction, so that the counts agree with each other.
  Transaction tx(db);
  SSB_RETURN_IF_ERROR(tx.Begin(/*immediate=*/false));
  StoreStats st;
  // Chains are contiguous from 1 but for deletions, so the sum of latest sequences less the
  // deleted is the message count (formats/store-schema.md "Invariants"); no full scan needed.
  auto feeds = db.QueryInt("SELECT count(*) FROM feeds");
  auto msgs = db.QueryInt("SELECT coalesce(sum(latest_seq), 0) FROM feeds");
  auto deleted = db.QueryInt("SELECT count(*) FROM deleted");
  auto forks = db.QueryInt("SELECT count(*) FROM forks");
  auto boxed = db.QueryInt("SELECT count(*) FROM messages WHERE type IS NULL");
  auto decrypted =
      db.QueryInt("SELECT count(*) FROM messages WHERE type IS NULL AND plaintext IS NOT NULL");
  for (auto* r : {&feeds, &msgs, &deleted, &forks, &boxed, &decrypted}) {
    if (!r->ok()) return r->status();
  }
  st.feeds = *feeds;
  st.messages = *msgs - *deleted;
  st.deleted = *deleted;
  st.forks = *forks;
  st.encrypted = *boxed;
  st.decrypted = *decrypted;
  for (const char* suffix : {"", "-wal"}) {
    struct stat sb;
    if (::stat((db.path() + suffix).c_str(), &sb) == 0) {
      st.file_bytes += static_cast<uint64_t>(sb.st_size);
    }
  }
  return st;
}

// ---------------------------------------------------------------------------------------------
// Imports (formats/store-schema.md "imports", "feed_floors")

namespace {

constexpr const char* kImportColumns =
    "source, format, next_offset, last_offset, last_digest, records, stored, duplicates, "
    "invalid, forks, deleted, damaged, file_size, file_mtime_ns, started, finished";

ImportState ReadImport(const Stmt& s) {
  ImportState st;
  st.source = s.ColumnText(0);
  st.format = s.ColumnText(1);
  st.next_offset = s.ColumnInt(2);
  st.last_offset = s.ColumnInt(3);
  st.last_digest = s.ColumnText(4);
  st.records = s.ColumnInt(5);
  st.stored = s.ColumnInt(6);
  st.duplicates = s.ColumnInt(7);
  st.invalid = s.ColumnInt(8);
  st.forks = s.ColumnInt(9);
  st.deleted = s.ColumnInt(10);
  st.damaged = s.ColumnInt(11);
  st.file_size = s.ColumnInt(12);
  st.file_mtime_ns = s.ColumnInt(13);
  st.started = s.ColumnDouble(14);
  if (!s.ColumnIsNull(15)) st.finished = s.ColumnDouble(15);
  return st;
}

}  // namespace

Result<std::vector<ImportState>> Store::Imports() {
  std::lock_guard lock(impl_->mu);
  Stmt s;
  const std::string sql = std::string("SELECT ") + kImportColumns + " FROM imports ORDER BY source";
  SSB_RETURN_IF_ERROR(s.Prepare(impl_->db, sql.c_str()));
  std::vector<ImportState> out;
  for (;;) {
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(ReadImport(s));
  }
}

Result<std::optional<ImportState>> Store::Import(std::string_view source) {
  std::lock_guard lock(impl_->mu);
  Stmt s;
  const std::string sql = std::string("SELECT ") + kImportColumns + " FROM imports WHERE source = ?1";
  SSB_RETURN_IF_ERROR(s.Prepare(impl_->db, sql.c_str()));
  s.BindText(1, source);
  auto row = s.Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<ImportState>();
  return std::optional<ImportState>(ReadImport(s));
}

Status Store::PutImport(const ImportState& st) {
  std::lock_guard lock(impl_->mu);
  if (impl_->options.read_only) {
    return Status::PermissionDenied("store " + impl_->db.path() + " is open read-only");
  }
  Transaction tx(impl_->db);
  SSB_RETURN_IF_ERROR(tx.Begin(/*immediate=*/true));
  Stmt s;
  const std::string sql = std::string("INSERT OR REPLACE INTO imports (") + kImportColumns +
                          ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                          "?14, ?15, ?16)";
  SSB_RETURN_IF_ERROR(s.Prepare(impl_->db, sql.c_str()));
  s.BindText(1, st.source);
  s.BindText(2, st.format);
  s.BindInt(3, st.next_offset);
  s.BindInt(4, st.last_offset);
  s.BindText(5, st.last_digest);
  s.BindInt(6, st.records);
  s.BindInt(7, st.stored);
  s.BindInt(8, st.duplicates);
  s.BindInt(9, st.invalid);
  s.BindInt(10, st.forks);
  s.BindInt(11, st.deleted);
  s.BindInt(12, st.damaged);
  s.BindInt(13, st.file_size);
  s.BindInt(14, st.file_mtime_ns);
  s.BindDouble(15, st.started);
  if (st.finished) {
    s.BindDouble(16, *st.finished);
  } else {
    s.BindNull(16);
  }
  SSB_RETURN_IF_ERROR(s.Run());
  return tx.Commit();
}

Result<int64_t> Store::FeedFloor(std::string_view author) {
  std::lock_guard lock(impl_->mu);
  Stmt s;
  SSB_RETURN_IF_ERROR(s.Prepare(impl_->db, "SELECT sequence FROM feed_floors WHERE author = ?1"));
  s.BindText(1, author);
  auto row = s.Step();
  if (!row.ok()) return row.status();
  return *row ? s.ColumnInt(0) : int64_t{0};
}

Status Store::RaiseFeedFloor(std::string_view author, int64_t sequence, std::string_view source) {
  std::lock_guard lock(impl_->mu);
  if (impl_->options.read_only) {
    return Status::PermissionDenied("store " + impl_->db.path() + " is open read-only");
  }
  Transaction tx(impl_->db);
  SSB_RETURN_IF_ERROR(tx.Begin(/*immediate=*/true));
  Stmt s;
  SSB_RETURN_IF_ERROR(s.Prepare(
      impl_->db,
      "INSERT INTO feed_floors (author, sequence, source) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (author) DO UPDATE SET sequence = excluded.sequence, source = excluded.source "
      "WHERE excluded.sequence > feed_floors.sequence"));
  s.BindText(1, author);
  s.BindInt(2, sequence);
  s.BindText(3, source);
  SSB_RETURN_IF_ERROR(s.Run());
  return tx.Commit();
}

Status Store::CheckIntegrity() {
  std::lock_guard lock(impl_->mu);
  Stmt s;
  SSB_RETURN_IF_ERROR(s.Prepare(impl_->db, "PRAGMA quick_check(20)"));
  std::string problems;
  for (;;) {
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    std::string line = s.ColumnText(0);
    if (line == "ok") continue;
    if (!problems.empty()) problems += "; ";
    problems += line;
  }
  if (!problems.empty()) {
    return Status::Corruption("store " + impl_->db.path() + " failed quick_check: " + problems);
  }
  return Status::Ok();
}

Result<std::unique_ptr<StoreTransaction>> Store::BeginTransaction() {
  std::lock_guard lock(impl_->mu);
  if (impl_->options.read_only) {
    return Status::PermissionDenied("store " + impl_->db.path() + " is open read-only");
  }
  if (sqlite3_get_autocommit(impl_->db.get()) == 0) {
    return Status::InvalidArgument("store " + impl_->db.path() + ": a transaction is open already");
  }
  SSB_RETURN_IF_ERROR(impl_->db.Exec("BEGIN IMMEDIATE"));
  std::unique_ptr<StoreTransaction> t(new StoreTransaction(*this));
  t->open_ = true;
  return t;
}

StoreTransaction::~StoreTransaction() {
  if (!open_) return;
  std::lock_guard lock(store_.impl_->mu);
  // Harmless when SQLite rolled back already (e.g. after SQLITE_FULL).
  sqlite3_exec(store_.impl_->db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
}

Status StoreTransaction::Commit() {
  if (!open_) return Status::InvalidArgument("transaction is not open");
  std::lock_guard lock(store_.impl_->mu);
  Store::Impl& impl = *store_.impl_;
  if (sqlite3_get_autocommit(impl.db.get()) != 0) {
    // SQLite ended it on an error (SQLITE_FULL, SQLITE_IOERR...): nothing was kept.
    open_ = false;
    return Status::IoError("store " + impl.db.path() + ": the transaction was rolled back");
  }
  Status s = impl.db.Exec("COMMIT");
  if (!s.ok()) {
    sqlite3_exec(impl.db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  open_ = false;
  return s;
}

Status Store::Checkpoint() {
  std::lock_guard lock(impl_->mu);
  int log = 0, done = 0;
  int rc = sqlite3_wal_checkpoint_v2(impl_->db.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log,
                                     &done);
  if (rc != SQLITE_OK) return impl_->Err(rc, "checkpoint");
  return Status::Ok();
}

}  // namespace ssb
