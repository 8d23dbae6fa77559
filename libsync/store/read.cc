// Cursor reads (pages that resume after a position), links, and deletions
// (formats/store-schema.md "links", "deleted", "Cursor reads").
#include <cmath>
#include <limits>

#include "sqlite.h"
#include "ssb/links.h"
#include "ssb/store.h"
#include "store_impl.h"

namespace ssb {
namespace {

using store::Stmt;
using store::StmtScope;
using store::Transaction;

constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();

// Bounds of a read as an open interval on one numeric key: lo < key < hi, or with `_incl`
// lo <= key <= hi.
struct Interval {
  double lo = -INFINITY;
  bool lo_incl = false;
  double hi = INFINITY;
  bool hi_incl = false;
};

Interval BoundsOf(const ReadRequest& q) {
  Interval b;
  if (q.gte) {
    b.lo = *q.gte;
    b.lo_incl = true;
  }
  if (q.gt && (*q.gt > b.lo || (*q.gt == b.lo && b.lo_incl))) {
    b.lo = *q.gt;
    b.lo_incl = false;
  }
  if (q.lte) {
    b.hi = *q.lte;
    b.hi_incl = true;
  }
  if (q.lt && (*q.lt < b.hi || (*q.lt == b.hi && b.hi_incl))) {
    b.hi = *q.lt;
    b.hi_incl = false;
  }
  return b;
}

// Receive-time bounds as log_seq bounds: lo <= log_seq < hi. False when nothing qualifies.
Result<bool> LogSeqRange(store::Db& db, const Interval& b, int64_t* lo, int64_t* hi) {
  *lo = 0;
  *hi = kMaxInt;
  if (std::isfinite(b.lo)) {
    auto r = store::FirstLogSeqAfter(db, b.lo, b.lo_incl);
    if (!r.ok()) return r.status();
    if (!*r) return false;
    *lo = **r;
  } else if (b.lo > 0) {
    return false;  // +infinity
  }
  if (std::isfinite(b.hi)) {
    auto r = store::FirstLogSeqAfter(db, b.hi, !b.hi_incl);
    if (!r.ok()) return r.status();
    if (*r) *hi = **r;
  } else if (b.hi < 0) {
    return false;  // -infinity
  }
  return *lo < *hi;
}

std::string Cols() { return std::string("SELECT ") + store::kMessageColumns; }

}  // namespace

double ResolvedTimestamp(const StoredMessage& m) {
  return m.timestamp == 0 || m.received < m.timestamp ? m.received : m.timestamp;
}

namespace store {

Status IndexLinks(Store::Impl& impl, bool fresh, int64_t log_seq, int64_t feed,
                  int64_t sequence, const json::Value& value, const json::Value& content) {
  if (!fresh) {
    auto d = impl.Use(std::string("DELETE FROM links WHERE log_seq = ?1"));
    if (!d.ok()) return d.status();
    StmtScope scope(**d);
    (*d)->BindInt(1, log_seq);
    SSB_RETURN_IF_ERROR((*d)->Run());
  }
  return InsertLinks(impl, log_seq, feed, sequence, ExtractLinks(value, content));
}

Status InsertLinks(Store::Impl& impl, int64_t log_seq, int64_t feed, int64_t sequence,
                   const std::vector<MessageLink>& links) {
  if (links.empty()) return Status::Ok();
  auto ins = impl.Use(impl.insert_link);
  if (!ins.ok()) return ins.status();
  Stmt& s = **ins;
  int64_t idx = 0;
  for (const auto& l : links) {
    StmtScope scope(s);
    s.BindInt(1, log_seq);
    s.BindInt(2, idx++);
    s.BindInt(3, feed);
    s.BindInt(4, sequence);
    s.BindTextNoCopy(5, l.dest);  // `links` outlives the step
    s.BindTextNoCopy(6, l.rel);
    s.BindTextNoCopy(7, l.rel2);
    s.BindInt(8, (l.in_links ? 1 : 0) | (l.in_links2 ? 2 : 0));
    SSB_RETURN_IF_ERROR(s.Run());
  }
  return Status::Ok();
}

}  // namespace store

// ---------------------------------------------------------------------------------------------
// Deletion

namespace {

// Moves message rows into `deleted` (formats/store-schema.md "deleted"). `where` selects rows of
// `messages`; ?1 is bound to `arg`.
Result<std::vector<std::string>> DeleteWhere(Store::Impl& impl, const char* where,
                                             const std::function<void(Stmt&)>& bind) {
  Transaction tx(impl.db);
  SSB_RETURN_IF_ERROR(tx.Begin(/*immediate=*/true));
  Stmt sel, rec, del_links, del;
  SSB_RETURN_IF_ERROR(sel.Prepare(impl.db, (std::string("SELECT log_seq, key, feed, sequence FROM "
                                                        "messages WHERE ") + where +
                                            " ORDER BY sequence").c_str()));
  SSB_RETURN_IF_ERROR(rec.Prepare(impl.db, "INSERT INTO deleted (log_seq, key, feed, sequence, "
                                           "deleted) VALUES (?1, ?2, ?3, ?4, ?5)"));
  SSB_RETURN_IF_ERROR(del_links.Prepare(impl.db, "DELETE FROM links WHERE log_seq = ?1"));
  SSB_RETURN_IF_ERROR(del.Prepare(impl.db, "DELETE FROM messages WHERE log_seq = ?1"));
  bind(sel);
  struct Row {
    int64_t log_seq, feed, sequence;
    std::string key;
  };
  std::vector<Row> rows;
  for (;;) {
    auto row = sel.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    rows.push_back({sel.ColumnInt(0), sel.ColumnInt(2), sel.ColumnInt(3), sel.ColumnText(1)});
  }
  sel.Reset();
  double now = impl.NowMs();
  std::vector<std::string> keys;
  for (const Row& r : rows) {
    {
      StmtScope scope(rec);
      rec.BindInt(1, r.log_seq);
      rec.BindText(2, r.key);
      rec.BindInt(3, r.feed);
      rec.BindInt(4, r.sequence);
      rec.BindDouble(5, now);
      SSB_RETURN_IF_ERROR(rec.Run());
    }
    for (Stmt* s : {&del_links, &del}) {
      StmtScope scope(*s);
      s->BindInt(1, r.log_seq);
      SSB_RETURN_IF_ERROR(s->Run());
    }
    keys.push_back(r.key);
  }
  SSB_RETURN_IF_ERROR(tx.Commit());
  return keys;
}

}  // namespace

Status Store::Delete(std::string_view key) {
  std::lock_guard lock(impl_->mu);
  auto hash = store::KeyHash(key);
  if (!hash) return Status::NotFound("no message " + std::string(key) + " (not a message id)");
  std::string k(key);
  auto keys = DeleteWhere(*impl_, "key_hash = ?1 AND key = ?2", [&](Stmt& s) {
    s.BindInt(1, *hash);
    s.BindText(2, k);
  });
  if (!keys.ok()) return keys.status();
  if (keys->empty()) return Status::NotFound("no message " + k);
  return Status::Ok();
}

Result<std::vector<std::string>> Store::DeleteFeed(std::string_view author) {
  std::lock_guard lock(impl_->mu);
  std::string a(author);
  return DeleteWhere(*impl_, "feed = (SELECT id FROM feeds WHERE author = ?1)",
                     [&](Stmt& s) { s.BindText(1, a); });
}

// ---------------------------------------------------------------------------------------------
// Cursor reads

Result<int64_t> Store::LastLogSeq() {
  std::lock_guard lock(impl_->mu);
  auto s_stmt = impl_->Use(impl_->max_log_seq);
  if (!s_stmt.ok()) return s_stmt.status();
  Stmt& s = **s_stmt;
  StmtScope scope(s);
  auto row = s.Step();
  if (!row.ok()) return row.status();
  return *row ? s.ColumnInt(0) : 0;
}

Result<std::optional<ReadPosition>> Store::Read(const ReadRequest& q, const MessageVisitor& visit) {
  if (q.index == ReadIndex::kFeed && q.author.empty()) {
    return Status::InvalidArgument("a read by feed needs the feed id");
  }
  if (q.index == ReadIndex::kType && q.type.empty()) {
    return Status::InvalidArgument("a read by type needs the type");
  }
  std::lock_guard lock(impl_->mu);
  store::Db& db = impl_->db;
  // One snapshot for the bound lookups and the page.
  Transaction tx(db);
  SSB_RETURN_IF_ERROR(tx.Begin(/*immediate=*/false));
  const char* dir = q.reverse ? " DESC" : "";
  const int64_t limit = static_cast<int64_t>(std::max<size_t>(q.limit, 1));
  int64_t min_log = q.min_log_seq.value_or(0);           // log_seq > min_log
  int64_t max_log = q.max_log_seq.value_or(kMaxInt);     // log_seq <= max_log
  Interval b = BoundsOf(q);
  std::string sql;
  std::vector<std::function<void(Stmt&)>> binds;  // in parameter order ?1, ?2, ...
  auto param = [&](auto&& binder) {
    binds.push_back(binder);
    return "?" + std::to_string(binds.size());
  };

  if (q.index == ReadIndex::kLog || q.index == ReadIndex::kType) {
    int64_t lo, hi;  // lo <= log_seq < hi
    auto some = LogSeqRange(db, b, &lo, &hi);
    if (!some.ok()) return some.status();
    if (!*some) {
      SSB_RETURN_IF_ERROR(tx.Commit());
      return std::optional<ReadPosition>();
    }
    lo = std::max(lo, min_log + 1);
    hi = std::min(hi, max_log == kMaxInt ? kMaxInt : max_log + 1);
    if (q.after) {
      if (q.reverse) hi = std::min(hi, q.after->log_seq);
      else lo = std::max(lo, q.after->log_seq + 1);
    }
    if (lo >= hi) {
      SSB_RETURN_IF_ERROR(tx.Commit());
      return std::optional<ReadPosition>();
    }
    auto bind_int = [&](int64_t v) { return param([v, n = binds.size() + 1](Stmt& s) { s.BindInt(static_cast<int>(n), v); }); };
    auto bind_text = [&](std::string v) {
      return param([v, n = binds.size() + 1](Stmt& s) { s.BindText(static_cast<int>(n), v); });
    };
    std::string range_lo = bind_int(lo), range_hi = bind_int(hi);
    if (q.index == ReadIndex::kType) {
      std::string t = bind_text(q.type), n = bind_int(limit);
      auto part = [&](const char* col) {
        return std::string("SELECT log_seq FROM (SELECT log_seq FROM messages WHERE ") + col + " = " + t +
               " AND log_seq >= " + range_lo + " AND log_seq < " + range_hi + " ORDER BY log_seq" +
               dir + " LIMIT " + n + ")";
      };
      sql = Cols() + " FROM messages m CROSS JOIN feeds f ON f.id = m.feed WHERE m.log_seq IN (" +
            part("type") + " UNION ALL " + part("ptype") + ") ORDER BY m.log_seq" + dir + " LIMIT " + n;
    } else {
      sql = Cols() + " FROM messages m CROSS JOIN feeds f ON f.id = m.feed WHERE m.log_seq >= " +
            range_lo + " AND m.log_seq < " + range_hi;
      if (!q.author.empty()) sql += " AND f.author = " + bind_text(q.author);
      if (!q.type.empty()) {
        std::string t = bind_text(q.type);
        sql += " AND (m.type = " + t + " OR m.ptype = " + t + ")";
      }
      sql += std::string(" ORDER BY m.log_seq") + dir + " LIMIT " + bind_int(limit);
    }
  } else {
    auto bind_int = [&](int64_t v) { return param([v, n = binds.size() + 1](Stmt& s) { s.BindInt(static_cast<int>(n), v); }); };
    auto bind_double = [&](double v) {
      return param([v, n = binds.size() + 1](Stmt& s) { s.BindDouble(static_cast<int>(n), v); });
    };
    auto bind_text = [&](std::string v) {
      return param([v, n = binds.size() + 1](Stmt& s) { s.BindText(static_cast<int>(n), v); });
    };
    std::string key = q.index == ReadIndex::kFeed ? "m.sequence" : SSB_STORE_RTS_EXPR;
    if (q.index == ReadIndex::kFeed) {
      sql = Cols() + " FROM feeds f CROSS JOIN messages m ON m.feed = f.id WHERE f.author = " +
            bind_text(q.author);
    } else {
      sql = Cols() + " FROM messages m CROSS JOIN feeds f ON f.id = m.feed WHERE 1";
    }
    if (std::isfinite(b.lo) || b.lo > 0) sql += " AND " + key + (b.lo_incl ? " >= " : " > ") + bind_double(b.lo);
    if (std::isfinite(b.hi) || b.hi < 0) sql += " AND " + key + (b.hi_incl ? " <= " : " < ") + bind_double(b.hi);
    if (q.min_log_seq) sql += " AND m.log_seq > " + bind_int(*q.min_log_seq);
    if (q.max_log_seq) sql += " AND m.log_seq <= " + bind_int(*q.max_log_seq);
    if (q.after) {
      std::string k = bind_double(q.after->key), l = bind_int(q.after->log_seq);
      const char* op = q.reverse ? " < " : " > ";
      const char* op_eq = q.reverse ? " <= " : " >= ";
      if (q.index == ReadIndex::kFeed) {
        sql += " AND m.sequence" + std::string(op) + k;  // a sequence is unique in its feed
      } else {
        sql += " AND " + key + op_eq + k + " AND (" + key + op + k + " OR m.log_seq" + op + l + ")";
      }
    }
    sql += " ORDER BY " + key + dir;
    if (q.index == ReadIndex::kFeedTime) sql += std::string(", m.log_seq") + dir;
    sql += " LIMIT " + bind_int(limit);
  }

  auto s_stmt = impl_->Use(sql);
  if (!s_stmt.ok()) return s_stmt.status();
  Stmt& s = **s_stmt;
  StmtScope scope(s);
  for (auto& bind : binds) bind(s);
  std::optional<ReadPosition> last;
  for (;;) {
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    StoredMessage m = store::ReadRow(s);
    ReadPosition pos;
    pos.log_seq = m.log_seq;
    pos.key = q.index == ReadIndex::kFeed       ? static_cast<double>(m.sequence)
              : q.index == ReadIndex::kFeedTime ? ResolvedTimestamp(m)
                                                : 0;
    last = pos;
    if (!visit(m)) break;
  }
  s.Reset();
  SSB_RETURN_IF_ERROR(tx.Commit());
  return last;
}

// ---------------------------------------------------------------------------------------------
// Links

Result<std::optional<LinkPosition>> Store::Links(
    const LinksQuery& q, const std::function<bool(const LinkRow&)>& visit) {
  std::lock_guard lock(impl_->mu);
  store::Db& db = impl_->db;
  Transaction tx(db);
  SSB_RETURN_IF_ERROR(tx.Begin(/*immediate=*/false));
  const char* dir = q.reverse ? " DESC" : "";
  std::vector<std::function<void(Stmt&)>> binds;
  auto bind_int = [&](int64_t v) {
    size_t n = binds.size() + 1;
    binds.push_back([v, n](Stmt& s) { s.BindInt(static_cast<int>(n), v); });
    return "?" + std::to_string(n);
  };
  auto bind_text = [&](std::string v) {
    size_t n = binds.size() + 1;
    binds.push_back([v, n](Stmt& s) { s.BindText(static_cast<int>(n), v); });
    return "?" + std::to_string(n);
  };
  bool exact_source = q.source.size() > 1;
  bool exact_dest = q.dest.size() > 1;
  std::string sql =
      "SELECT f.author, l.dest, l.rel, l.rel2, m.key, l.sequence, m.received, l.feed, l.log_seq, "
      "l.idx FROM links l CROSS JOIN messages m ON m.log_seq = l.log_seq CROSS JOIN feeds f ON "
      "f.id = l.feed WHERE l.kind & " + bind_int(q.links2 ? 2 : 1);
  if (exact_source) {
    sql += " AND l.feed = (SELECT id FROM feeds WHERE author = " + bind_text(q.source) + ")";
  } else if (q.source.size() == 1) {
    sql += " AND substr(f.author, 1, 1) = " + bind_text(q.source);
  }
  if (exact_dest) {
    sql += " AND l.dest = " + bind_text(q.dest);
  } else if (q.dest.size() == 1) {
    sql += " AND l.dest >= " + bind_text(q.dest) + " AND l.dest < " + bind_text(q.dest + "~");
  }
  if (!q.rel.empty()) sql += " AND l.rel = " + bind_text(q.rel);
  if (q.min_log_seq) sql += " AND l.log_seq > " + bind_int(*q.min_log_seq);
  if (q.max_log_seq) sql += " AND l.log_seq <= " + bind_int(*q.max_log_seq);
  // The order: ssb-db's index order ([dest, rel, source, …] back from a dest, [source, rel,
  // dest, …] from a source), or the log's.
  enum { kByDest, kBySource, kByLog } order =
      q.log_order ? kByLog : (exact_dest || (!q.dest.empty() && !exact_source)) ? kByDest
                            : exact_source ? kBySource : kByLog;
  std::string cols = order == kByDest     ? "l.dest, l.rel, l.feed, l.log_seq, l.idx"
                     : order == kBySource ? "l.rel, l.dest, l.log_seq, l.idx"
                                          : "l.log_seq, l.idx";
  if (q.after) {
    const LinkPosition& p = *q.after;
    std::string vals = order == kByDest
                           ? bind_text(p.a) + ", " + bind_text(p.b) + ", " + bind_int(p.feed) + ", " +
                                 bind_int(p.log_seq) + ", " + bind_int(p.idx)
                       : order == kBySource
                           ? bind_text(p.a) + ", " + bind_text(p.b) + ", " + bind_int(p.log_seq) + ", " +
                                 bind_int(p.idx)
                           : bind_int(p.log_seq) + ", " + bind_int(p.idx);
    sql += " AND (" + cols + ") " + (q.reverse ? "<" : ">") + " (" + vals + ")";
  }
  std::string order_by;
  for (size_t start = 0; start < cols.size();) {
    size_t comma = cols.find(", ", start);
    std::string col = cols.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    order_by += (order_by.empty() ? "" : ", ") + col + dir;
    if (comma == std::string::npos) break;
    start = comma + 2;
  }
  sql += " ORDER BY " + order_by + " LIMIT " + bind_int(static_cast<int64_t>(std::max<size_t>(q.limit, 1)));

  auto s_stmt = impl_->Use(sql);
  if (!s_stmt.ok()) return s_stmt.status();
  Stmt& s = **s_stmt;
  StmtScope scope(s);
  for (auto& bind : binds) bind(s);
  std::optional<LinkPosition> last;
  for (;;) {
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    LinkRow r;
    r.source = s.ColumnText(0);
    r.dest = s.ColumnText(1);
    r.rel = s.ColumnText(2);
    r.rel2 = s.ColumnText(3);
    r.key = s.ColumnText(4);
    r.sequence = s.ColumnInt(5);
    r.received = s.ColumnDouble(6);
    r.position.feed = s.ColumnInt(7);
    r.position.log_seq = s.ColumnInt(8);
    r.position.idx = s.ColumnInt(9);
    if (order == kByDest) {
      r.position.a = r.dest;
      r.position.b = r.rel;
    } else if (order == kBySource) {
      r.position.a = r.rel;
      r.position.b = r.dest;
    }
    last = r.position;
    if (!visit(r)) break;
  }
  s.Reset();
  SSB_RETURN_IF_ERROR(tx.Commit());
  return last;
}

}  // namespace ssb
