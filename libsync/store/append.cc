// Store appends: validation against the stored chain, fork recording and batching. The writer
// is single-threaded; work that does not depend on the store's state (parsing, signature
// checks, decryption, the stored text) is done ahead by the caller, in parallel, through
// PreparedMessage (the ingest stage, ssb/ingest.h).
#include <cmath>
#include <optional>
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

struct FeedCache {
  int64_t id = 0;  // 0: not in the feeds table yet
  int64_t seq = 0;
  std::string key;
  std::optional<int64_t> frozen_at;
  bool dirty = false;  // latest_seq/latest_key changed in this transaction
};

// One message on its way in.
struct Item {
  const Message* msg = nullptr;
  const PreparedMessage* prepared = nullptr;  // AppendPrepared: computed ahead
  int8_t self_check = -1;                      // CheckAuthentic: -1 not run, 0 failed, 1 passed
  std::string wire;                            // AppendBatch: msg->Wire(), made at insert

  const std::string& Wire() {
    if (prepared) return prepared->wire;
    if (wire.empty()) wire = msg->Wire();
    return wire;
  }
};

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
    self_status_ = CheckAuthentic(*item.msg, opt_.validate);
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
  const PreparedMessage* p = item.prepared;
  const std::string& wire = item.Wire();
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
  double received = NextReceived(p && p->received ? *p->received : NAN);
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
  s.BindTextNoCopy(7, wire);
  s.BindInt(8, store::KeyHash(m.id()).value_or(0));
  if (next_log_seq_ > 0) s.BindInt(9, next_log_seq_);
  else s.BindNull(9);
  if (p && p->plaintext) {
    s.BindTextNoCopy(10, *p->plaintext);
    s.BindOptText(11, p->ptype);
  } else {
    s.BindNull(10);
    s.BindNull(11);
  }
  Status st = s.Run();
  if (!st.ok()) return st;
  int64_t log_seq = sqlite3_last_insert_rowid(impl_.db.get());
  next_log_seq_ = 0;
  // formats/store-schema.md "links": the links of what we can read of it.
  if (p) {
    st = store::InsertLinks(impl_, log_seq, f->id, seq, p->links);
  } else {
    st = store::IndexLinks(impl_, /*fresh=*/true, log_seq, f->id, seq, m.value(),
                           m.content() ? *m.content() : json::Value());
  }
  if (!st.ok()) return st;
  // formats/store-schema.md "blob_refs": only messages with a '&' can reference a blob, so
  // most appends pay one memchr here.
  if (wire.find('&') != std::string::npos) {
    store::ForEachBlobRef(wire, [&](std::string_view blob) {
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
  const Message& m = *item.msg;
  out->key = m.id();
  ValidateOptions vopt = opt_.validate;
  if (item.self_check == 1) vopt.verify_signature = false;  // checked ahead, in parallel

  std::string author(m.author());
  auto seq = m.sequence();
  if (author.empty() || !seq || *seq < 1) {
    // Malformed beyond chain rules; let Validate name the problem.
    Status s = CheckAuthentic(m, vopt);
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
      s.BindInt(1, store::KeyHash(m.id()).value_or(0));
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
  // Checked ahead (CheckAuthentic): only the chain rules are left to apply.
  Status v = item.self_check == 1 ? ValidateAuthentic(m, f->seq ? &prev : nullptr, vopt)
                                  : Validate(m, f->seq ? &prev : nullptr, vopt);
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

// Runs the batch in one transaction (a savepoint inside an open StoreTransaction).
Result<std::vector<AppendOutcome>> RunBatch(Store::Impl& impl, std::vector<Item>& items,
                                            const AppendOptions& opt) {
  std::vector<AppendOutcome> out(items.size());
  std::lock_guard lock(impl.mu);
  Writer w(impl, opt);
  SSB_RETURN_IF_ERROR(w.Begin());
  for (size_t i = 0; i < items.size(); ++i) SSB_RETURN_IF_ERROR(w.Add(items[i], &out[i]));
  SSB_RETURN_IF_ERROR(w.Commit());
  return out;
}

}  // namespace

PreparedMessage PrepareMessage(Message msg, std::optional<std::string> plaintext) {
  PreparedMessage p{.msg = std::move(msg)};
  p.wire = p.msg.Wire();
  std::optional<json::Value> readable;
  if (plaintext) {
    // Indexed only when it is readable content (an object), as ssb-db's unboxer requires.
    auto c = json::Parse(*plaintext, {.wtf8_input = true});
    if (c.ok() && c->is_object()) {
      if (const json::Value* t = c->Find("type"); t && t->is_string()) p.ptype = t->as_string();
      readable = std::move(c).value();
    }
    p.plaintext = std::move(plaintext);
  }
  const json::Value* own = p.msg.content();
  p.links = ExtractLinks(p.msg.value(), readable ? *readable : own ? *own : json::Value());
  return p;
}

StoredMessage AppendedRow(const PreparedMessage& p, const AppendOutcome& o) {
  StoredMessage m;
  m.log_seq = o.log_seq;
  m.key = p.msg.id();
  m.value_json = p.wire;
  m.received = o.received;
  m.author = std::string(p.msg.author());
  m.sequence = p.msg.sequence().value_or(0);
  // As Insert writes them (formats/store-schema.md "messages").
  if (auto ts = p.msg.timestamp(); ts && !std::isnan(*ts)) m.timestamp = *ts;
  if (const json::Value* c = p.msg.content(); c && c->is_object()) {
    if (const json::Value* t = c->Find("type"); t && t->is_string()) m.type = t->as_string();
  }
  m.plaintext = p.plaintext;
  return m;
}

Result<std::vector<AppendOutcome>> Store::AppendBatch(std::span<const Message> msgs,
                                                      const AppendOptions& options) {
  std::vector<Item> items(msgs.size());
  for (size_t i = 0; i < msgs.size(); ++i) items[i].msg = &msgs[i];
  return RunBatch(*impl_, items, options);
}

Result<std::vector<AppendOutcome>> Store::AppendPrepared(
    std::span<const PreparedMessage* const> msgs, const AppendOptions& options) {
  std::vector<Item> items(msgs.size());
  for (size_t i = 0; i < msgs.size(); ++i) {
    items[i].msg = &msgs[i]->msg;
    items[i].prepared = msgs[i];
    if (msgs[i]->authentic) items[i].self_check = *msgs[i]->authentic ? 1 : 0;
  }
  return RunBatch(*impl_, items, options);
}

Result<AppendOutcome> Store::Append(const Message& msg, const AppendOptions& options) {
  auto r = AppendBatch(std::span<const Message>(&msg, 1), options);
  if (!r.ok()) return r.status();
  AppendOutcome& o = r->front();
  if (o.kind == AppendKind::kRejected) return o.status;
  return std::move(o);
}

}  // namespace ssb
