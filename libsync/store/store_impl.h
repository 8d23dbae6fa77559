// Store internals shared by store.cc (open, schema, reads) and append.cc (writes).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "sqlite.h"
#include "ssb/store.h"

namespace ssb {

namespace store {


// Columns every message read selects, in the order ReadRow expects.
inline constexpr const char* kMessageColumns =
    "m.log_seq, m.key, m.value, m.received, f.author, m.sequence, m.claimed_ts, m.type, "
    "m.plaintext";
StoredMessage ReadRow(const Stmt& s);
// formats/store-schema.md "messages": key_hash is the first 8 bytes of the SHA-256 digest that
// the message id names, big-endian, as a signed 64-bit integer. nullopt: not a message id.
std::optional<int64_t> KeyHash(std::string_view key);
// formats/store-schema.md "blob_refs": every blob id (`&` + 44 base64 + `.sha256`) that occurs
// anywhere in a message's wire JSON, in order of occurrence (repeats included).
void ForEachBlobRef(std::string_view text, const std::function<void(std::string_view)>& visit);
// formats/store-schema.md "messages": the resolved timestamp (ResolvedTimestamp), exactly as the
// expression index messages_rts is written, so that queries use it.
#define SSB_STORE_RTS_EXPR \
  "(CASE WHEN m.claimed_ts = 0 OR m.received < m.claimed_ts THEN m.received ELSE m.claimed_ts END)"
// The smallest log_seq whose receive timestamp is > x (`inclusive`: >= x), or nullopt when
// no stored message qualifies. Receive timestamps increase strictly with log_seq
// (formats/store-schema.md "Invariants"), so a binary search over rowid lookups finds it and
// the receive-order queries need no index of their own. REQUIRES: inside a read transaction.
Result<std::optional<int64_t>> FirstLogSeqAfter(Db& db, double x, bool inclusive);
inline constexpr const char* kInsertBlobRef =
    "INSERT INTO blob_refs (blob, log_seq) VALUES (?1, ?2) "
    "ON CONFLICT (blob) DO UPDATE SET log_seq = max(log_seq, excluded.log_seq)";

}  // namespace store

class Store::Impl {
 public:
  // Declared first so that it is destroyed last, after every statement.
  store::Db db;
  StoreOptions options;
  std::mutex mu;  // serializes every call on this connection

  // Prepared on first use (formats/store-schema.md "Tables"), through Use().
  store::LazyStmt find_key{  // key -> rowid, received
      "SELECT log_seq, received FROM messages WHERE key_hash = ?1 AND key = ?2"};
  store::LazyStmt find_feed{  // author -> feed row
      "SELECT id, latest_seq, latest_key, frozen_at FROM feeds WHERE author = ?1"};
  store::LazyStmt key_at_seq{  // (feed, sequence) -> key
      "SELECT key FROM messages WHERE feed = ?1 AND sequence = ?2"};
  store::LazyStmt deleted_at_seq{  // (feed, sequence) -> key of a deleted message
      "SELECT key FROM deleted WHERE feed = ?1 AND sequence = ?2"};
  store::LazyStmt insert_feed{
      "INSERT INTO feeds (author, latest_seq, latest_key) VALUES (?1, ?2, ?3)"};
  store::LazyStmt update_feed{"UPDATE feeds SET latest_seq = ?2, latest_key = ?3 WHERE id = ?1"};
  store::LazyStmt freeze_feed{
      "UPDATE feeds SET frozen_at = ?2 WHERE id = ?1 AND frozen_at IS NULL"};
  // ?9: the log_seq, NULL (SQLite picks the next) unless deletions at the end of the log must
  // not be reused (formats/store-schema.md "deleted").
  // ?10, ?11: the plaintext and its type of a private message decrypted before the append.
  store::LazyStmt insert_msg{
      "INSERT INTO messages (key, feed, sequence, claimed_ts, received, type, value, key_hash, "
      "log_seq, plaintext, ptype) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"};
  store::LazyStmt max_log_seq{
      "SELECT max((SELECT coalesce(max(log_seq), 0) FROM messages), "
      "(SELECT coalesce(max(log_seq), 0) FROM deleted))"};
  store::LazyStmt insert_fork{
      "INSERT OR IGNORE INTO forks (feed, sequence, kind, stored_key, offending_key, "
      "offending_value, detected, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"};
  store::LazyStmt insert_blob_ref{store::kInsertBlobRef};  // the newest reference wins
  store::LazyStmt insert_link{
      "INSERT INTO links (log_seq, idx, feed, sequence, dest, rel, rel2, kind) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"};
  store::LazyStmt max_received{"SELECT received FROM messages ORDER BY log_seq DESC LIMIT 1"};
  store::LazyStmt set_plaintext{
      "UPDATE messages SET plaintext = ?3, ptype = ?4 WHERE key_hash = ?1 AND key = ?2 "
      "RETURNING log_seq, feed, sequence, value"};
  store::LazyStmt get_by_key{std::string("SELECT ") + store::kMessageColumns +
                             " FROM messages m CROSS JOIN feeds f ON f.id = m.feed "
                             "WHERE m.key_hash = ?1 AND m.key = ?2"};
  store::LazyStmt history_fwd{std::string("SELECT ") + store::kMessageColumns +
                              " FROM feeds f CROSS JOIN messages m ON m.feed = f.id "
                              "WHERE f.author = ?1 AND m.sequence >= ?2 "
                              "ORDER BY m.sequence LIMIT ?3"};
  store::LazyStmt history_rev{std::string("SELECT ") + store::kMessageColumns +
                              " FROM feeds f CROSS JOIN messages m ON m.feed = f.id "
                              "WHERE f.author = ?1 AND m.sequence >= ?2 "
                              "ORDER BY m.sequence DESC LIMIT ?3"};

  // Statements whose text a read builds from its options, prepared once per distinct text.
  std::map<std::string, std::unique_ptr<store::LazyStmt>> dynamic;

  // One of the statements above, prepared. A statement that no longer compiles against the
  // file's schema (a table or column gone) reports the store as damaged.
  Result<store::Stmt*> Use(store::LazyStmt& stmt);
  Result<store::Stmt*> Use(const std::string& sql);
  double NowMs() const;
  Status Err(int rc, std::string_view what) const { return db.Error(rc, what); }
};

namespace store {
// Writes the links of one message (formats/store-schema.md "links"): `value` is its value and
// `content` what we can read of it (the plaintext of a private message we decrypted, or the
// value's own content). Replaces what was indexed for it before unless `fresh` (a new row).
Status IndexLinks(Store::Impl& impl, bool fresh, int64_t log_seq, int64_t feed,
                  int64_t sequence, const json::Value& value, const json::Value& content);
// Inserts the rows of `links` for a new message row.
Status InsertLinks(Store::Impl& impl, int64_t log_seq, int64_t feed, int64_t sequence,
                   const std::vector<MessageLink>& links);
}  // namespace store

}  // namespace ssb
