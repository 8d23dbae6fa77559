// Store appends: validation against the stored chain, fork recording, batching, and the
// parallel signature pre-check that runs ahead of the single writer.
//
// Threads: AppendBatch runs on the caller's thread (the writer) and holds the connection for
// the whole batch. With verify_threads > 1 it starts verify_threads - 1 helpers that parse and
// pre-check chunks of the batch in order; the writer helps with unclaimed chunks whenever the
// chunk it needs next is not ready, so no core idles while work remains. Helpers never touch
// SQLite.
#include <atomic>
#include <cmath>
#include <optional>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

#include "sqlite.h"
#include "ssb/ref.h"
#include "ssb/store.h"
#include "store_impl.h"

namespace ssb {
namespace {

using store::Stmt;
using store::StmtScope;
using store::Transaction;

constexpr size_t kChunk = 32;

// Shape and signature of `m`, independent of what the store holds: m is validated against the
// state its own `previous` and `sequence` claim, so the chain rules pass by construction and
// everything else (shape, size, signature) is checked. A message that passes here and then
// passes Validate(verify_signature=false) against the real state passes full Validate against
// it: the signature does not depend on the state.
Status SelfCheck(const Message& m, const ValidateOptions& opt) {
  auto seq = m.sequence();
  if (!seq || *seq <= 1) return Validate(m, nullptr, opt);
  FeedState self{std::string(m.previous()), *seq - 1};
  Status s = Validate(m, &self, opt);
  // Only a `previous` that is not a message id fails its own claim; that is no fork.
  if (s.code() == Code::kFork) {
    return Status::InvalidMessage("message at sequence " + std::to_string(*seq) +
                                  " must have a previous message id");
  }
  return s;
}

struct FeedCache {
  int64_t id = 0;  // 0: not in the feeds table yet
  int64_t seq = 0;
  std::string key;
  std::optional<int64_t> frozen_at;
  bool dirty = false;  // latest_seq/latest_key changed in this transaction
};

// One message on its way in.
struct Item {
  const Message* msg = nullptr;        // null when the text did not parse
  Status parse_status;                 // AppendWireBatch only
  std::optional<Message> parsed;       // AppendWireBatch: owns the parsed message
  int8_t self_check = -1;              // -1 not run, 0 failed, 1 passed
  // Computed ahead by the verify threads (when there are any) to spare the writer.
  bool prepared = false;
  std::string wire;                    // msg->Wire()
  int64_t key_hash = 0;                // store::KeyHash(msg->id())
  double received_hint = NAN;          // a receive time to keep (imports); NaN: the clock's
};

void Prepare(Item& it) {
  if (it.prepared || !it.msg) return;
  it.wire = it.msg->Wire();
  it.key_hash = store::KeyHash(it.msg->id()).value_or(0);
  it.prepared = true;
}

class Writer {
 public:
  Writer(Store::Impl& impl, const AppendOptions& opt) : impl_(impl), opt_(opt) {}

  Status Begin() {
    SSB_RETURN_IF_ERROR(tx_.Begin(/*immediate=*/true));
    auto s_stmt = impl_.Use(impl_.max_received);
    if (!s_stmt.ok()) return s_stmt.status();
    Stmt& s = **s_stmt;
    StmtScope scope(s);
    auto row = s.Step();
    if (!row.ok()) return row.status();
    last_received_ = *row && !s.ColumnIsNull(0) ? s.ColumnDouble(0) : 0;
    // formats/store-schema.md "deleted": a log_seq is never reused, also when the newest
    // messages were deleted (SQLite would hand out their numbers again).
    auto d = impl_.db.QueryInt("SELECT coalesce(max(log_seq), 0) FROM deleted");
    if (!d.ok()) return d.status();
    auto m = impl_.db.QueryInt("SELECT coalesce(max(log_seq), 0) FROM messages");
    if (!m.ok()) return m.status();
    if (*d > *m) next_log_seq_ = *d + 1;
    return Status::Ok();
  }

  Status Commit() {
    for (auto& [author, f] : feeds_) {
      if (!f.dirty) continue;
      auto s_stmt = impl_.Use(impl_.update_feed);
      if (!s_stmt.ok()) return s_stmt.status();
      Stmt& s = **s_stmt;
      StmtScope scope(s);
      s.BindInt(1, f.id);
      s.BindInt(2, f.seq);
      s.BindText(3, f.key);
      SSB_RETURN_IF_ERROR(s.Run());
    }
    return tx_.Commit();
  }

  // Decides and applies one message. A non-ok return is a storage error (abort the batch);
  // the message's own fate is in `out`.
  Status Add(Item& item, AppendOutcome* out);

 private:
  Result<FeedCache*> LoadFeed(const std::string& author);
  Result<std::string> KeyAt(int64_t feed, int64_t seq);
  Status RecordFork(FeedCache* f, const Message& m, int64_t seq, ForkRecord::Kind kind,
                    const std::string& stored_key, const std::string& reason,
                    AppendOutcome* out);
  Status Insert(FeedCache* f, const std::string& author, Item& item, int64_t seq,
                AppendOutcome* out);
  const Status& Authentic(Item& item);
  double NextReceived(double hint);

  Store::Impl& impl_;
  const AppendOptions& opt_;
  Transaction tx_{impl_.db};
  std::unordered_map<std::string, FeedCache> feeds_;
  double last_received_ = 0;
  int64_t next_log_seq_ = 0;  // > 0: the log_seq to give the next message (after deletions)
  Status self_status_;  // scratch for Authentic()
};

double Writer::NextReceived(double hint) {
  // formats/store-schema.md "Receive timestamps": strictly increasing even when the clock
  // stalls or goes back, by the smallest step that stays well below a millisecond. An imported
  // message keeps its old receive time under the same rule, unless that time is in the future.
  double now = impl_.NowMs();
  double t = std::isfinite(hint) && hint <= now ? hint : now;
  double r = t > last_received_ ? t : last_received_ + 0.001;
  if (!(r > last_received_)) r = std::nextafter(last_received_, INFINITY);
  last_received_ = r;
  return r;
}

Result<FeedCache*> Writer::LoadFeed(const std::string& author) {
  auto it = feeds_.find(author);
  if (it != feeds_.end()) return &it->second;
  FeedCache f;
  auto s_stmt = impl_.Use(impl_.find_feed);
  if (!s_stmt.ok()) return s_stmt.status();
  Stmt& s = **s_stmt;
  StmtScope scope(s);
  s.BindText(1, author);
  auto row = s.Step();
  if (!row.ok()) return row.status();
  if (*row) {
    f.id = s.ColumnInt(0);
    f.seq = s.ColumnInt(1);
    f.key = s.ColumnText(2);
    if (!s.ColumnIsNull(3)) f.frozen_at = s.ColumnInt(3);
  }
  return &feeds_.emplace(author, std::move(f)).first->second;
}

Result<std::string> Writer::KeyAt(int64_t feed, int64_t seq) {
  auto s_stmt = impl_.Use(impl_.key_at_seq);
  if (!s_stmt.ok()) return s_stmt.status();
  Stmt& s = **s_stmt;
  StmtScope scope(s);
  s.BindInt(1, feed);
  s.BindInt(2, seq);
  auto row = s.Step();
  if (!row.ok()) return row.status();
  if (*row) return s.ColumnText(0);
  // formats/store-schema.md "deleted": the message there may have been deleted.
  auto d_stmt = impl_.Use(impl_.deleted_at_seq);
  if (!d_stmt.ok()) return d_stmt.status();
  Stmt& d = **d_stmt;
  StmtScope dscope(d);
  d.BindInt(1, feed);
  d.BindInt(2, seq);
  auto drow = d.Step();
  if (!drow.ok()) return drow.status();
  if (*drow) return d.ColumnText(0);
  return Status::Corruption("store " + impl_.db.path() + ": feed row " + std::to_string(feed) +
                            " has no message at sequence " + std::to_string(seq));
}

// Whether the message is really by its author (and well-formed), from the pre-check when one
// ran. With verify_signature=false the caller vouches for the signature; shape is still checked.
const Status& Writer::Authentic(Item& item) {
  if (item.self_check == 1) {
    self_status_ = Status::Ok();
  } else {
    self_status_ = SelfCheck(*item.msg, opt_.validate);
    item.self_check = self_status_.ok() ? 1 : 0;
  }
  return self_status_;
}

Status Writer::RecordFork(FeedCache* f, const Message& m, int64_t seq, ForkRecord::Kind kind,
                          const std::string& stored_key, const std::string& reason,
                          AppendOutcome* out) {
  double now = impl_.NowMs();
  {
    auto s_stmt = impl_.Use(impl_.insert_fork);
    if (!s_stmt.ok()) return s_stmt.status();
    Stmt& s = **s_stmt;
    StmtScope scope(s);
    s.BindInt(1, f->id);
    s.BindInt(2, seq);
    s.BindInt(3, static_cast<int64_t>(kind));
    s.BindText(4, stored_key);
    s.BindText(5, m.id());
    s.BindText(6, m.Wire());
    s.BindDouble(7, now);
    s.BindText(8, reason);
    SSB_RETURN_IF_ERROR(s.Run());
    out->fork_recorded = sqlite3_changes(impl_.db.get()) > 0;
  }
  if (!f->frozen_at) {
    // The feed's chain stays as it is up to f->seq; nothing after it will be accepted.
    auto s_stmt = impl_.Use(impl_.freeze_feed);
    if (!s_stmt.ok()) return s_stmt.status();
    Stmt& s = **s_stmt;
    StmtScope scope(s);
    s.BindInt(1, f->id);
    s.BindInt(2, f->seq);
    SSB_RETURN_IF_ERROR(s.Run());
    f->frozen_at = f->seq;
  }
  out->kind = AppendKind::kRejected;
  out->status = Status::Fork(reason);
  return Status::Ok();
}

Status Writer::Insert(FeedCache* f, const std::string& author, Item& item, int64_t seq,
                      AppendOutcome* out) {
  const Message& m = *item.msg;
  Prepare(item);
  if (f->id == 0) {
    auto s_stmt = impl_.Use(impl_.insert_feed);
    if (!s_stmt.ok()) return s_stmt.status();
    Stmt& s = **s_stmt;
    StmtScope scope(s);
    s.BindText(1, author);
    s.BindInt(2, seq);
    s.BindText(3, m.id());
    SSB_RETURN_IF_ERROR(s.Run());
    f->id = sqlite3_last_insert_rowid(impl_.db.get());
  } else {
    f->dirty = true;
  }
  double received = NextReceived(item.received_hint);
  // formats/store-schema.md "messages": claimed_ts is 0 for a non-number timestamp.
  double claimed = 0;
  if (auto ts = m.timestamp(); ts && !std::isnan(*ts)) claimed = *ts;
  const json::Value* type = nullptr;
  if (const json::Value* c = m.content(); c && c->is_object()) type = c->Find("type");
  auto s_stmt = impl_.Use(impl_.insert_msg);
  if (!s_stmt.ok()) return s_stmt.status();
  Stmt& s = **s_stmt;
  StmtScope scope(s);
  s.BindTextNoCopy(1, m.id());
  s.BindInt(2, f->id);
  s.BindInt(3, seq);
  s.BindDouble(4, claimed);
  s.BindDouble(5, received);
  if (type && type->is_string()) {
    s.BindTextNoCopy(6, type->as_string());
  } else {
    s.BindNull(6);
  }
  s.BindTextNoCopy(7, item.wire);
  s.BindInt(8, item.key_hash);
  if (next_log_seq_ > 0) s.BindInt(9, next_log_seq_);
  else s.BindNull(9);
  Status st = s.Run();
  if (!st.ok()) return st;
  int64_t log_seq = sqlite3_last_insert_rowid(impl_.db.get());
  next_log_seq_ = 0;
  // formats/store-schema.md "links": the links of its content (a private message's are indexed
  // when it is decrypted, SetPlaintext).
  st = store::IndexLinks(impl_, /*fresh=*/true, log_seq, f->id, seq, m.value(),
                         m.content() ? *m.content() : json::Value());
  if (!st.ok()) return st;
  // formats/store-schema.md "blob_refs": only messages with a '&' can reference a blob, so
  // most appends pay one memchr here.
  if (item.wire.find('&') != std::string::npos) {
    store::ForEachBlobRef(item.wire, [&](std::string_view blob) {
      if (!st.ok()) return;
      auto r_stmt = impl_.Use(impl_.insert_blob_ref);
      if (!r_stmt.ok()) {
        st = r_stmt.status();
        return;
      }
      Stmt& r = **r_stmt;
      StmtScope rs(r);
      r.BindText(1, blob);
      r.BindInt(2, log_seq);
      st = r.Run();
    });
    if (!st.ok()) return st;
  }
  f->seq = seq;
  f->key = m.id();
  out->kind = AppendKind::kAppended;
  out->log_seq = log_seq;
  out->received = received;
  return Status::Ok();
}

Status Writer::Add(Item& item, AppendOutcome* out) {
  out->kind = AppendKind::kRejected;
  if (!item.msg) {
    out->status = item.parse_status;
    return Status::Ok();
  }
  const Message& m = *item.msg;
  out->key = m.id();
  ValidateOptions vopt = opt_.validate;
  if (item.self_check == 1) vopt.verify_signature = false;  // checked ahead, in parallel

  std::string author(m.author());
  auto seq = m.sequence();
  if (author.empty() || !seq || *seq < 1) {
    // Malformed beyond chain rules; let Validate name the problem.
    Status s = SelfCheck(m, vopt);
    out->status = s.ok() ? Status::InvalidMessage("message has no valid author or sequence") : s;
    return Status::Ok();
  }
  auto fr = LoadFeed(author);
  if (!fr.ok()) return fr.status();
  FeedCache* f = *fr;

  if (*seq <= f->seq) {
    // A message we may hold already (same id), or a second message at a held sequence.
    auto s_stmt = impl_.Use(impl_.find_key);
    if (!s_stmt.ok()) return s_stmt.status();
    Stmt& s = **s_stmt;
    {
      StmtScope scope(s);
      s.BindInt(1, item.prepared ? item.key_hash : store::KeyHash(m.id()).value_or(0));
      s.BindText(2, m.id());
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (*row) {
        out->kind = AppendKind::kDuplicate;
        out->log_seq = s.ColumnInt(0);
        out->received = s.ColumnDouble(1);
        return Status::Ok();
      }
    }
    const Status& auth = Authentic(item);
    if (!auth.ok()) {
      out->status = auth;
      return Status::Ok();
    }
    auto stored = KeyAt(f->id, *seq);
    if (!stored.ok()) return stored.status();
    if (*stored == m.id()) {
      // Not found among the messages but named at its sequence: it was deleted (del).
      out->status = Status::InvalidMessage("message " + m.id() +
                                           " was deleted from this store; it is not stored again");
      return Status::Ok();
    }
    return RecordFork(f, m, *seq, ForkRecord::Kind::kSameSequence, *stored,
                      "fork: " + author + " signed " + m.id() + " and " + *stored +
                          " at sequence " + std::to_string(*seq),
                      out);
  }
  if (f->frozen_at) {
    out->status = Status::Fork("feed " + author + " is frozen at sequence " +
                               std::to_string(*f->frozen_at) + " after a fork");
    return Status::Ok();
  }
  if (*seq > f->seq + 1) {
    out->status = Status::InvalidMessage("sequence gap: feed " + author + " has " +
                                         std::to_string(f->seq) + " messages, message has " +
                                         "sequence " + std::to_string(*seq));
    return Status::Ok();
  }
  FeedState prev{f->key, f->seq};
  Status v = Validate(m, f->seq ? &prev : nullptr, vopt);
  if (v.ok()) return Insert(f, author, item, *seq, out);
  if (v.code() == Code::kFork) {
    // Validate stops at the chain rule before checking the signature: only a message really
    // signed by the author is evidence of a fork.
    const Status& auth = Authentic(item);
    if (!auth.ok()) {
      out->status = auth;
      return Status::Ok();
    }
    return RecordFork(f, m, *seq, ForkRecord::Kind::kPreviousMismatch, f->key,
                      "fork: " + author + " signed " + m.id() + " at sequence " +
                          std::to_string(*seq) + " whose previous is not " + f->key,
                      out);
  }
  out->status = v;
  return Status::Ok();
}

// Parses (for wire input) and self-checks items[begin, end).
void Precheck(std::span<Item> items, std::span<const std::string_view> texts, size_t begin,
              size_t end, const ValidateOptions& vopt, bool prepare) {
  for (size_t i = begin; i < end; ++i) {
    Item& it = items[i];
    if (!texts.empty()) {
      auto m = Message::Parse(texts[i]);
      if (!m.ok()) {
        it.parse_status = m.status();
        continue;
      }
      it.parsed.emplace(std::move(m).value());
      it.msg = &*it.parsed;
    }
    if (vopt.verify_signature) it.self_check = SelfCheck(*it.msg, vopt).ok() ? 1 : 0;
    if (prepare && it.self_check != 0) Prepare(it);
  }
}

// Runs the batch: pre-checks on `threads` threads (the caller included) ahead of the writer.
Result<std::vector<AppendOutcome>> RunBatch(Store::Impl& impl, std::vector<Item>& items,
                                            std::span<const std::string_view> texts,
                                            const AppendOptions& opt) {
  std::vector<AppendOutcome> out(items.size());
  unsigned threads = opt.verify_threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  size_t chunks = (items.size() + kChunk - 1) / kChunk;
  if (threads > chunks) threads = static_cast<unsigned>(std::max<size_t>(chunks, 1));

  std::lock_guard lock(impl.mu);
  Writer w(impl, opt);
  SSB_RETURN_IF_ERROR(w.Begin());

  if (threads <= 1) {
    // No helpers: parse inline; the signature is checked once, inside Validate.
    for (size_t i = 0; i < items.size(); ++i) {
      if (!texts.empty()) {
        ValidateOptions no_verify = opt.validate;
        no_verify.verify_signature = false;
        Precheck(items, texts, i, i + 1, no_verify, /*prepare=*/false);
      }
      SSB_RETURN_IF_ERROR(w.Add(items[i], &out[i]));
    }
    SSB_RETURN_IF_ERROR(w.Commit());
    return out;
  }

  // Chunks are claimed in order through `next`; `done[c]` flips to 1 when chunk c is ready.
  std::atomic<size_t> next{0};
  std::atomic<bool> abort{false};
  auto done = std::make_unique<std::atomic<uint8_t>[]>(chunks);
  for (size_t c = 0; c < chunks; ++c) done[c].store(0);
  auto work_one = [&]() -> bool {
    size_t c = next.fetch_add(1);
    if (c >= chunks) return false;
    if (!abort.load(std::memory_order_relaxed)) {
      Precheck(items, texts, c * kChunk, std::min(items.size(), (c + 1) * kChunk), opt.validate,
               /*prepare=*/true);
    }
    done[c].store(1, std::memory_order_release);
    done[c].notify_all();
    return true;
  };
  std::vector<std::jthread> helpers;
  for (unsigned t = 1; t < threads; ++t) {
    try {
      helpers.emplace_back([&] {
        while (work_one()) {
        }
      });
    } catch (const std::system_error&) {
      break;  // no more threads available: the writer and the helpers started so far cope
    }
  }
  Status failed;
  for (size_t c = 0; c < chunks && failed.ok(); ++c) {
    while (done[c].load(std::memory_order_acquire) == 0) {
      if (!work_one()) {
        done[c].wait(0, std::memory_order_acquire);
        break;
      }
    }
    for (size_t i = c * kChunk; i < std::min(items.size(), (c + 1) * kChunk); ++i) {
      failed = w.Add(items[i], &out[i]);
      if (!failed.ok()) break;
    }
  }
  if (!failed.ok()) {
    abort.store(true);
    // Drain the remaining chunks so that the helpers finish before `items` goes away.
    while (work_one()) {
    }
    for (size_t c = 0; c < chunks; ++c) done[c].wait(0, std::memory_order_acquire);
    return failed;  // ~Writer rolls back
  }
  helpers.clear();  // join
  SSB_RETURN_IF_ERROR(w.Commit());
  return out;
}

}  // namespace

Result<std::vector<AppendOutcome>> Store::AppendBatch(std::span<const Message> msgs,
                                                      const AppendOptions& options) {
  std::vector<Item> items(msgs.size());
  for (size_t i = 0; i < msgs.size(); ++i) items[i].msg = &msgs[i];
  return RunBatch(*impl_, items, {}, options);
}

Result<std::vector<AppendOutcome>> Store::AppendBatch(std::span<const Message> msgs,
                                                      std::span<const double> received,
                                                      const AppendOptions& options) {
  if (received.size() != msgs.size()) {
    return Status::InvalidArgument("AppendBatch: one receive time per message");
  }
  std::vector<Item> items(msgs.size());
  for (size_t i = 0; i < msgs.size(); ++i) {
    items[i].msg = &msgs[i];
    items[i].received_hint = received[i];
  }
  return RunBatch(*impl_, items, {}, options);
}

Result<std::vector<AppendOutcome>> Store::AppendWireBatch(std::span<const std::string_view> texts,
                                                          const AppendOptions& options) {
  std::vector<Item> items(texts.size());
  return RunBatch(*impl_, items, texts, options);
}

Result<AppendOutcome> Store::Append(const Message& msg, const AppendOptions& options) {
  AppendOptions one = options;
  one.verify_threads = 1;
  auto r = AppendBatch(std::span<const Message>(&msg, 1), one);
  if (!r.ok()) return r.status();
  AppendOutcome& o = r->front();
  if (o.kind == AppendKind::kRejected) return o.status;
  return std::move(o);
}

}  // namespace ssb
