// Store internals shared by store.cc (open, schema, reads) and append.cc (writes).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "sqlite.h"
#include "ssb/store.h"

namespace ssb {

class Store::Impl {
 public:
  // Declared first so that it is destroyed last, after every statement.
  store::Db db;
  StoreOptions options;
  std::mutex mu;  // serializes every call on this connection

  // Prepared once at Open (formats/store-schema.md "Tables").
  store::Stmt find_key;         // key -> rowid, received
  store::Stmt find_feed;        // author -> feed row
  store::Stmt key_at_seq;       // (feed, sequence) -> key
  store::Stmt insert_feed;
  store::Stmt update_feed;
  store::Stmt freeze_feed;
  store::Stmt insert_msg;
  store::Stmt insert_fork;
  store::Stmt insert_blob_ref;  // (blob, log_seq): the newest reference wins
  store::Stmt max_received;
  store::Stmt set_plaintext;
  store::Stmt get_by_key;
  store::Stmt history_fwd, history_rev;

  // Prepares the statements above. REQUIRES: the schema is current.
  Status PrepareStatements();
  double NowMs() const;
  Status Err(int rc, std::string_view what) const { return db.Error(rc, what); }
};

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
inline constexpr const char* kInsertBlobRef =
    "INSERT INTO blob_refs (blob, log_seq) VALUES (?1, ?2) "
    "ON CONFLICT (blob) DO UPDATE SET log_seq = max(log_seq, excluded.log_seq)";

}  // namespace store
}  // namespace ssb
