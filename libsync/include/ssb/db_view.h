// ssb-db 20 as apps see it, over a Store: message values exactly as signed (or decrypted when
// asked, with the fields ssb-db adds), `get` in all its forms, and the message streams —
// createLogStream, createFeedStream, createHistoryStream, createUserStream, messagesByType,
// createRawLogStream, latest, links — with ssb-db's options (live, old, sync, gt/gte/lt/lte,
// limit, reverse, keys, values, private), plus ssb-query's query.read/explain and ssb-links'
// links2.read. Shared by the server's RPC methods and the command line, so that both answer
// alike.
//
// Sans-IO: a stream is a Source that produces items page by page when asked (Next). The caller
// sends a page, waits for its reader, and asks again, so memory per stream is one page; when the
// old part is done and the stream is live, Next says so (kLive) and the caller waits for the
// store to grow. Nothing here blocks on anything but the store.
//
// Signed values are sacred: every item and `get` result carries the value byte for byte as it
// was signed (a private message's content is its box string) unless the caller asked for
// `private: true` (or `meta`/`unbox` on get), as ssb-db 20 does.
//
// Thread-safety: a Source is used from one thread; the Store it reads is thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ssb/json.h"
#include "ssb/keys.h"
#include "ssb/status.h"
#include "ssb/store.h"

namespace ssb::view {

// What a view reads with. `keys` decrypts private messages when a caller asks for it
// (nullptr: never).
struct Context {
  Store* store = nullptr;
  const Keypair* keys = nullptr;
};

// ---- Values

// The value ssb-db 20 gives a caller that asked for `private: true`: for a private message we
// can read, the signed value with its content replaced by the plaintext and, appended,
// "meta": {"original": {"content": BOX}, "private": true, "unbox": KEY}, "cyphertext": BOX,
// "private": true, "unbox": KEY (KEY: base64 of the message key, BoxUnboxKey). Any other
// message: the signed value unchanged.
std::string DecryptedValue(const Context& ctx, const StoredMessage& m);

// ssb-db's private index: decrypts the stored private messages received after `after_received`
// (a receive timestamp; 0 for all) that `me` can read (DecryptContent) and keeps their
// plaintexts, which `private: true` reads show. `only_undecrypted` skips those that have one
// already (after an import); the rebuild call redoes all. Returns how many were decrypted.
Result<uint64_t> DecryptStored(Store& store, const Keypair& me, double after_received,
                               bool only_undecrypted);

// How one stream item is written (ssb-db's Format).
struct ItemFormat {
  bool keys = true;      // with values: {key, value, timestamp}; alone: the id
  bool values = true;    // alone: the value
  bool decrypt = false;  // private: true
  bool rts = false;      // createFeedStream's items also carry "rts"
};
std::string FormatItem(const Context& ctx, const StoredMessage& m, const ItemFormat& f);

// get: the first muxrpc argument is a message id, {id, private, meta}, an id with
// "?unbox=KEY", or a log position (a number). Returns the JSON text of the result. Errors:
// kNotFound ("Key not found in database [ID]"), kInvalidArgument.
Result<std::string> Get(const Context& ctx, const json::Value& arg);

// ---- Streams

class Source {
 public:
  enum class State : uint8_t {
    kMore,  // call Next again
    kLive,  // nothing newer is stored yet: call Next again after the store grows
    kDone,  // the stream has ended
  };
  virtual ~Source() = default;
  // Appends at most `max` items (JSON texts) to `out`, reading at most one page of the store.
  // A page may yield no item (a query that matched nothing in it): that is kMore. Errors (bad
  // query data, the store's) end the stream.
  virtual Result<State> Next(size_t max, std::vector<std::string>* out) = 0;
  // Items produced so far.
  uint64_t produced() const { return produced_; }

 protected:
  uint64_t produced_ = 0;
};

using SourcePtr = std::unique_ptr<Source>;

// The stream methods. `args` is the muxrpc argument array (an options object first, as
// ssb-server takes them). Error: kInvalidArgument for options ssb-server refuses too.
Result<SourcePtr> CreateLogStream(const Context& ctx, const json::Value& args);
Result<SourcePtr> CreateFeedStream(const Context& ctx, const json::Value& args);
// Never decrypts (ssb-db: "NEVER allow private messages over history stream"); the arguments
// may also be positional: (id, seq, live).
Result<SourcePtr> CreateHistoryStream(const Context& ctx, const json::Value& args);
Result<SourcePtr> CreateUserStream(const Context& ctx, const json::Value& args);
Result<SourcePtr> MessagesByType(const Context& ctx, const json::Value& args);
Result<SourcePtr> CreateRawLogStream(const Context& ctx, const json::Value& args);
// latest: {id, sequence, ts} of every feed.
Result<SourcePtr> Latest(const Context& ctx, const json::Value& args);
// links({source, dest, rel, keys, values, meta, live, old, sync, reverse, private}).
Result<SourcePtr> Links(const Context& ctx, const json::Value& args);
// query.read({query, live, old, sync, reverse, limit}) and links2.read(…): map-filter-reduce
// over messages ({key, value, timestamp, rts}) or links ({source, rel, dest, ts}), answered
// from the store's indexes where one fits the query's first $filter.
Result<SourcePtr> QueryRead(const Context& ctx, const json::Value& args);
Result<SourcePtr> Links2Read(const Context& ctx, const json::Value& args);
// query.explain: which index query.read would use, in ssb-query's shape.
Result<json::Value> QueryExplain(const Context& ctx, const json::Value& args);

// The feed id createHistoryStream / createUserStream is about (for access checks before
// opening), or "" when the arguments name none.
std::string StreamFeed(const json::Value& args);

}  // namespace ssb::view
