#include "sqlite.h"

#include <mutex>

namespace ssb::store {

namespace {

// Process-wide SQLite settings, applied once before the first connection. SQLite ignores them
// (SQLITE_MISUSE) if the host program initialized SQLite first, which is harmless.
void ConfigureSqliteOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    // No up-front bulk allocation of 20 page-cache slots per connection: SQLite writes a header
    // into every slot of it at once, which costs ~20 page faults (about 0.3 ms on a VM) before
    // the first row is read. Slots are allocated as pages are actually cached instead.
    sqlite3_config(SQLITE_CONFIG_PAGECACHE, nullptr, 0, 0);
    // A batch appended inside a caller's transaction is a savepoint, and SQLite keeps the
    // original of every page the savepoint changes in a sub-journal, which it moves to a file in
    // /var/tmp past 64 KiB: `sbot add` wrote more there (75 MB for 20,000 messages) than to the
    // WAL (64 MB). Held in memory up to 16 MiB instead (a batch's pages take ~1 MB).
    sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, 16 << 20);
  });
}

}  // namespace

Status SqliteStatus(int rc, sqlite3* db, const std::string& context) {
  std::string msg = context + ": " + sqlite3_errstr(rc);
  if (db) {
    const char* detail = sqlite3_errmsg(db);
    if (detail && std::string_view(detail) != sqlite3_errstr(rc)) {
      msg += " (";
      msg += detail;
      msg += ")";
    }
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Busy(std::move(msg));
    case SQLITE_FULL:
      return Status::NoSpace(std::move(msg));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(std::move(msg));
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Status::PermissionDenied(std::move(msg));
    default:
      return Status::IoError(std::move(msg));
  }
}

Db::~Db() {
  // Statements are owned by their users and finalized before the Db goes (the Store declares
  // its Db first); sqlite3_close_v2 tolerates stragglers anyway.
  if (db_) sqlite3_close_v2(db_);
}

Status Db::Open(const std::string& path, int flags) {
  path_ = path;
  ConfigureSqliteOnce();
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteStatus(rc, db_, "cannot open store " + path);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    return s;
  }
  sqlite3_extended_result_codes(db_, 1);
  return Status::Ok();
}

Status Db::Error(int rc, std::string_view what) const {
  return SqliteStatus(rc, db_, "store " + path_ + ": " + std::string(what));
}

Status Db::Exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) return Error(rc, sql);
  return Status::Ok();
}

Result<int64_t> Db::QueryInt(const char* sql) {
  Stmt s;
  SSB_RETURN_IF_ERROR(s.Prepare(*this, sql));
  auto row = s.Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::Corruption("store " + path_ + ": no result from " + sql);
  return s.ColumnInt(0);
}

Stmt::~Stmt() {
  if (stmt_) sqlite3_finalize(stmt_);
}

Stmt& Stmt::operator=(Stmt&& other) noexcept {
  if (this != &other) {
    if (stmt_) sqlite3_finalize(stmt_);
    stmt_ = other.stmt_;
    db_ = other.db_;
    other.stmt_ = nullptr;
  }
  return *this;
}

Status Stmt::Prepare(const Db& db, const char* sql) {
  db_ = &db;
  if (stmt_) sqlite3_finalize(stmt_);
  stmt_ = nullptr;
  int rc = sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) return db.Error(rc, std::string("prepare ") + sql);
  return Status::Ok();
}

Result<Stmt*> LazyStmt::Get(const Db& db) {
  if (!stmt_.prepared()) SSB_RETURN_IF_ERROR(stmt_.Prepare(db, sql_.c_str()));
  return &stmt_;
}

Result<bool> Stmt::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Status s = db_->Error(rc, sqlite3_sql(stmt_));
  sqlite3_reset(stmt_);
  return s;
}

Status Stmt::Run() {
  auto r = Step();
  if (!r.ok()) return r.status();
  return Status::Ok();
}

std::string Stmt::ColumnText(int i) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
  int n = sqlite3_column_bytes(stmt_, i);
  return p ? std::string(p, static_cast<size_t>(n)) : std::string();
}

std::optional<std::string> Stmt::ColumnOptText(int i) const {
  if (ColumnIsNull(i)) return std::nullopt;
  return ColumnText(i);
}

Transaction::~Transaction() {
  // Rollback cannot be reported from a destructor; the caller is already returning the error
  // that made it skip Commit().
  if (!open_) return;
  if (nested_) {
    sqlite3_exec(db_.get(), "ROLLBACK TO nested; RELEASE nested", nullptr, nullptr, nullptr);
  } else {
    sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

Status Transaction::Begin(bool immediate) {
  // An outer transaction already holds the write lock (it was begun IMMEDIATE).
  nested_ = sqlite3_get_autocommit(db_.get()) == 0;
  SSB_RETURN_IF_ERROR(db_.Exec(nested_ ? "SAVEPOINT nested" : immediate ? "BEGIN IMMEDIATE" : "BEGIN"));
  open_ = true;
  return Status::Ok();
}

Status Transaction::Commit() {
  Status s = db_.Exec(nested_ ? "RELEASE nested" : "COMMIT");
  // A failed COMMIT (e.g. SQLITE_FULL) may leave the transaction open; the destructor then
  // rolls it back. When SQLite rolled back by itself, the ROLLBACK is a harmless no-op.
  if (s.ok()) open_ = false;
  return s;
}

}  // namespace ssb::store
