// RAII over the SQLite C API, private to libsync/store (the only module that includes
// <sqlite3.h>). Every handle has one owner; a Transaction rolls back unless committed.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ssb/status.h"

namespace ssb::store {

// Maps an SQLite result code to a Status naming `context` (always includes the file path).
// SQLITE_BUSY/LOCKED → kBusy, FULL → kNoSpace, CORRUPT/NOTADB → kCorruption,
// READONLY/PERM/AUTH → kPermissionDenied, everything else → kIoError.
Status SqliteStatus(int rc, sqlite3* db, const std::string& context);

// Owns a database connection.
class Db {
 public:
  Db() = default;
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // `flags` as for sqlite3_open_v2. On failure the connection is closed again.
  Status Open(const std::string& path, int flags);
  sqlite3* get() const { return db_; }
  const std::string& path() const { return path_; }

  // Runs one or more statements that return no rows.
  Status Exec(const char* sql);
  // Runs a statement returning one integer (e.g. a PRAGMA).
  Result<int64_t> QueryInt(const char* sql);
  Status Error(int rc, std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

// Owns a prepared statement; reusable after Reset().
class Stmt {
 public:
  Stmt() = default;
  ~Stmt();
  Stmt(Stmt&& other) noexcept : stmt_(other.stmt_), db_(other.db_) { other.stmt_ = nullptr; }
  Stmt& operator=(Stmt&& other) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Status Prepare(const Db& db, const char* sql);
  bool prepared() const { return stmt_ != nullptr; }

  // Binds are 1-based, as in SQLite. Text is copied (SQLITE_TRANSIENT) unless `static_text`.
  void BindInt(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void BindDouble(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  void BindNull(int i) { sqlite3_bind_null(stmt_, i); }
  // An empty view binds '' (never NULL, which a null data() pointer would give).
  void BindText(int i, std::string_view s) {
    sqlite3_bind_text64(stmt_, i, s.data() ? s.data() : "", s.size(), SQLITE_TRANSIENT,
                        SQLITE_UTF8);
  }
  // REQUIRES: `s` outlives the next Step()/Reset().
  void BindTextNoCopy(int i, std::string_view s) {
    sqlite3_bind_text64(stmt_, i, s.data() ? s.data() : "", s.size(), SQLITE_STATIC,
                        SQLITE_UTF8);
  }
  void BindOptText(int i, const std::optional<std::string>& s) {
    if (s) BindText(i, *s); else BindNull(i);
  }

  // Returns true for a row, false when done; a non-ok Status on error.
  Result<bool> Step();
  // Step() for statements that return no row.
  Status Run();
  // Makes the statement reusable and clears bindings.
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  int64_t ColumnInt(int i) const { return sqlite3_column_int64(stmt_, i); }
  double ColumnDouble(int i) const { return sqlite3_column_double(stmt_, i); }
  bool ColumnIsNull(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }
  std::string ColumnText(int i) const;
  std::optional<std::string> ColumnOptText(int i) const;

 private:
  sqlite3_stmt* stmt_ = nullptr;
  const Db* db_ = nullptr;
};

// Resets a statement when the scope ends, so that an early return never leaves it mid-step
// (which would hold a read snapshot open).
// A statement prepared on its first use, then kept: opening a store prepares nothing that the
// caller may never run (a CLI verb or a server start runs a few of them).
class LazyStmt {
 public:
  explicit LazyStmt(std::string sql) : sql_(std::move(sql)) {}
  LazyStmt(const LazyStmt&) = delete;
  LazyStmt& operator=(const LazyStmt&) = delete;

  // The prepared statement, prepared on `db` by the first call.
  Result<Stmt*> Get(const Db& db);

 private:
  std::string sql_;
  Stmt stmt_;
};

class StmtScope {
 public:
  explicit StmtScope(Stmt& s) : s_(s) {}
  ~StmtScope() { s_.Reset(); }
  StmtScope(const StmtScope&) = delete;
  StmtScope& operator=(const StmtScope&) = delete;

 private:
  Stmt& s_;
};

// BEGIN (IMMEDIATE for writers) ... COMMIT; rolls back in the destructor unless committed.
// Inside a transaction that is already open on the connection (Store::BeginTransaction), it is
// a SAVEPOINT instead: Commit releases it into the outer transaction, and the destructor rolls
// back to it, so a call keeps its all-or-nothing behaviour there too.
class Transaction {
 public:
  explicit Transaction(Db& db) : db_(db) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Status Begin(bool immediate);
  Status Commit();

 private:
  Db& db_;
  bool open_ = false;
  bool nested_ = false;
};

}  // namespace ssb::store
