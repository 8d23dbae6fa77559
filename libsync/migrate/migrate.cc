// Imports ssb-server's and ssb-db2's logs into the store (ssb/migrate.h). Reading is oldlog's;
// judging and storing every message is the store's ordinary append; this file walks the logs
// in chunks and keeps the books (formats/store-schema.md "imports", "feed_floors").
#include "ssb/migrate.h"

#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "ssb/base64.h"
#include "ssb/box.h"
#include "ssb/ingest.h"
#include "ssb/json.h"

namespace ssb {
namespace {

using oldlog::LogFormat;
using oldlog::LogItem;

double NowMs() {
  using namespace std::chrono;
  return static_cast<double>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

struct FileStat {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};

std::optional<FileStat> StatRegular(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return FileStat{static_cast<uint64_t>(st.st_size),
                  static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

std::string Digest(std::span<const uint8_t> bytes) {
  Sha256Digest d = Sha256(bytes);
  return HexEncode(d);
}

// One chunk of records on its way into the store: the decoded values, each with the receive
// time to keep, checked and appended by the ingest stage (ssb/ingest.h "Importing another log").
struct Chunk {
  std::unique_ptr<IngestBatch> batch = std::make_unique<IngestBatch>();
  std::vector<uint64_t> offsets;
  std::vector<bool> out_of_order;
  size_t bytes = 0;
  size_t items = 0;  // every item read, damaged and deleted ones included
  void Clear() {
    batch = std::make_unique<IngestBatch>();
    offsets.clear();
    out_of_order.clear();
    bytes = 0;
    items = 0;
  }
};

IngestOptions IngestOptionsOf(const MigrateOptions& opt) {
  IngestOptions o;
  o.validate = opt.validate;
  o.reader = opt.self;
  o.unwrap_kvt = false;  // a log record's value is the message itself
  return o;
}

class LogMigration {
 public:
  LogMigration(Store& store, const OldLog& log, const MigrateOptions& opt)
      : store_(store), log_(log), opt_(opt), checker_(IngestOptionsOf(opt)),
        writer_(store, checker_.options()) {}

  Result<ImportState> Run() {
    auto existing = store_.Import(log_.source);
    if (!existing.ok()) return existing.status();
    auto file = StatRegular(log_.path);
    if (!file) return Status::NotFound("old log " + log_.path + " is gone or not a regular file");
    if (existing->has_value()) {
      st_ = **existing;
      committed_next_ = st_.next_offset;
    } else {
      st_.source = log_.source;
      st_.format = std::string(oldlog::FormatName(log_.format));
      st_.started = NowMs();
    }
    size_ = file->size;
    bool unchanged = st_.finished && st_.file_size == static_cast<int64_t>(file->size) &&
                     st_.file_mtime_ns == file->mtime_ns;
    SSB_RETURN_IF_ERROR(CheckResume());
    if (!restart_ && unchanged) return st_;  // nothing new since the last complete pass
    if (restart_) {
      st_.next_offset = 0;
      st_.last_offset = -1;
      st_.last_digest.clear();
    }
    st_.finished.reset();
    st_.file_size = static_cast<int64_t>(file->size);
    st_.file_mtime_ns = file->mtime_ns;

    oldlog::ReaderOptions ro;
    ro.start = static_cast<uint64_t>(st_.next_offset);
    auto reader = oldlog::LogReader::Open(log_.path, log_.format, ro);
    if (!reader.ok()) return reader.status();
    Emit(MigrateEvent::Kind::kBegin, ro.start, ro.start);

    ImportState next = st_;
    Chunk chunk;
    double last_hint = NAN;
    LogItem item;
    for (;;) {
      auto more = (*reader)->Next(&item);
      if (!more.ok()) return more.status();
      if (*more) {
        ++chunk.items;
        switch (item.kind) {
          case LogItem::Kind::kDeleted:
            ++next.deleted;
            break;
          case LogItem::Kind::kDamaged: {
            ++next.damaged;
            MigrateEvent e = Event(MigrateEvent::Kind::kDamaged, item.offset, item.end);
            e.status = Status::InvalidInput(item.problem);
            Send(e);
            break;
          }
          case LogItem::Kind::kRecord: {
            ++next.records;
            next.last_offset = static_cast<int64_t>(item.offset);
            next.last_digest = Digest(item.bytes);
            chunk.bytes += item.bytes.size();
            auto rec = oldlog::DecodeRecord(log_.format, item.bytes);
            if (!rec.ok()) {
              ++next.invalid;
              MigrateEvent e = Event(MigrateEvent::Kind::kRejected, item.offset, item.end);
              e.status = rec.status();
              Send(e);
              break;
            }
            // A record without a usable time sorts right after the one before it.
            double hint = rec->received ? *rec->received : last_hint;
            last_hint = hint;
            chunk.batch->Add(std::move(rec->value), item.offset, item.bytes.size()).received = hint;
            chunk.offsets.push_back(item.offset);
            chunk.out_of_order.push_back(rec->out_of_order);
            break;
          }
        }
        next.next_offset = static_cast<int64_t>(item.end);
      }
      bool full = chunk.batch->records.size() >= opt_.batch_records || chunk.bytes >= (8u << 20) ||
                  chunk.items >= 4 * opt_.batch_records;
      if ((full || !*more) && chunk.items > 0) {
        SSB_RETURN_IF_ERROR(Commit(chunk, next));
        chunk.Clear();
      }
      if (!*more) break;
    }
    st_.finished = NowMs();
    SSB_RETURN_IF_ERROR(PutFinished());
    Emit(MigrateEvent::Kind::kEnd, static_cast<uint64_t>(st_.next_offset),
         static_cast<uint64_t>(st_.next_offset));
    return st_;
  }

 private:
  MigrateEvent Event(MigrateEvent::Kind kind, uint64_t offset, uint64_t end) const {
    MigrateEvent e;
    e.kind = kind;
    e.log = &log_;
    e.offset = offset;
    e.end = end;
    e.size = size_;
    return e;
  }
  void Send(const MigrateEvent& e) const {
    if (opt_.on_event) opt_.on_event(e);
  }
  void Emit(MigrateEvent::Kind kind, uint64_t offset, uint64_t end) const {
    MigrateEvent e = Event(kind, offset, end);
    e.state = &st_;
    Send(e);
  }

  // Decides whether the last run's resume point still holds: the record it read last must be
  // where it was, byte for byte (ssb-db2's compaction moves records; a replaced file differs).
  Status CheckResume() {
    restart_ = opt_.from_start;
    if (restart_ || st_.next_offset == 0) return Status::Ok();
    std::string why;
    if (static_cast<uint64_t>(st_.next_offset) > size_) {
      why = "it is shorter than where the last import stopped";
    } else if (st_.last_offset >= 0) {
      oldlog::ReaderOptions ro;
      ro.start = static_cast<uint64_t>(st_.last_offset);
      auto r = oldlog::LogReader::Open(log_.path, log_.format, ro);
      if (!r.ok()) return r.status();
      LogItem item;
      auto more = (*r)->Next(&item);
      if (!more.ok()) return more.status();
      if (!*more || item.kind != LogItem::Kind::kRecord ||
          item.offset != static_cast<uint64_t>(st_.last_offset) ||
          Digest(item.bytes) != st_.last_digest) {
        why = "its record at byte " + std::to_string(st_.last_offset) +
              " is not the one imported last (compacted or replaced)";
      }
    }
    if (why.empty()) return Status::Ok();
    restart_ = true;
    MigrateEvent e = Event(MigrateEvent::Kind::kRestart, 0, 0);
    e.what = "the log changed since the last import: " + why + "; reading it from the start";
    Send(e);
    return Status::Ok();
  }

  // Another process importing the same log moves its row; two importers must not interleave.
  Status CheckRowUnchanged() {
    auto cur = store_.Import(log_.source);
    if (!cur.ok()) return cur.status();
    int64_t now = cur->has_value() ? (*cur)->next_offset : -1;
    if (now != committed_next_) {
      return Status::Busy("another process is importing " + log_.path + " into " +
                          store_.path() + "; try again when it has finished");
    }
    return Status::Ok();
  }

  Status Commit(const Chunk& chunk, ImportState& next) {
    auto tx = store_.BeginTransaction();
    if (!tx.ok()) return tx.status();
    SSB_RETURN_IF_ERROR(CheckRowUnchanged());
    // Checked on every core, then appended in log order inside this transaction (private
    // messages for us are stored decrypted), as every other way messages come in.
    checker_.Check(*chunk.batch);
    SSB_RETURN_IF_ERROR(writer_.Append(*chunk.batch));
    int64_t own_max = 0;
    std::vector<MigrateEvent> rejected;
    for (size_t i = 0; i < chunk.batch->records.size(); ++i) {
      const IngestRecord& r = chunk.batch->records[i];
      const AppendOutcome& o = r.outcome;
      const Message& m = r.message->msg;
      switch (o.kind) {
        case AppendKind::kAppended: ++next.stored; break;
        case AppendKind::kDuplicate: ++next.duplicates; break;
        case AppendKind::kRejected: {
          // A fork is counted where it was recorded; the later messages of the frozen feed
          // are refused like invalid ones.
          if (o.fork_recorded) {
            ++next.forks;
          } else {
            ++next.invalid;
          }
          MigrateEvent e = Event(MigrateEvent::Kind::kRejected, chunk.offsets[i], 0);
          e.key = o.key;
          e.status = o.status;
          if (chunk.out_of_order[i] && o.status.code() != Code::kFork) {
            e.status = Status(o.status.code(), "added out of order by ssb-db2 (partial "
                                               "replication): " + o.status.message());
          }
          rejected.push_back(std::move(e));
          break;
        }
      }
      // Our own messages count towards the feed floor when really ours, whether stored or not
      // (a gap after a damaged record): the ingest check judged each against the state its own
      // `previous` and `sequence` claim (CheckAuthentic), and that is not repeated here.
      if (opt_.self && m.author() == opt_.self->id() && r.message->authentic.value_or(false) &&
          m.sequence()) {
        own_max = std::max(own_max, *m.sequence());
      }
    }
    if (own_max > 0) SSB_RETURN_IF_ERROR(store_.RaiseFeedFloor(opt_.self->id(), own_max, log_.source));
    SSB_RETURN_IF_ERROR(store_.PutImport(next));
    SSB_RETURN_IF_ERROR((*tx)->Commit());
    st_ = next;
    committed_next_ = st_.next_offset;
    for (const MigrateEvent& e : rejected) Send(e);
    Emit(MigrateEvent::Kind::kProgress, static_cast<uint64_t>(st_.next_offset),
         static_cast<uint64_t>(st_.next_offset));
    return Status::Ok();
  }

  Status PutFinished() {
    auto tx = store_.BeginTransaction();
    if (!tx.ok()) return tx.status();
    SSB_RETURN_IF_ERROR(CheckRowUnchanged());
    SSB_RETURN_IF_ERROR(store_.PutImport(st_));
    SSB_RETURN_IF_ERROR((*tx)->Commit());
    committed_next_ = st_.next_offset;
    return Status::Ok();
  }

  Store& store_;
  const OldLog& log_;
  const MigrateOptions& opt_;
  IngestChecker checker_;
  IngestWriter writer_;
  ImportState st_;
  int64_t committed_next_ = -1;  // next_offset of our row as last seen in the store (-1: none)
  uint64_t size_ = 0;
  bool restart_ = false;
};

}  // namespace

std::vector<OldLog> FindOldLogs(const std::string& data_dir) {
  std::vector<OldLog> out;
  // formats/data-dir.md "Switching from ssb-server or an ssb-db2 app".
  for (auto [source, format] : {std::pair{"flume/log.offset", LogFormat::kFlumeOffset},
                                std::pair{"db2/log.bipf", LogFormat::kDb2Bipf}}) {
    std::string path = data_dir + "/" + source;
    auto st = StatRegular(path);
    if (!st || st->size == 0) continue;
    out.push_back(OldLog{source, path, format, st->size, st->mtime_ns});
  }
  return out;
}

Result<bool> MigrationPending(Store& store, const std::vector<OldLog>& logs) {
  for (const OldLog& log : logs) {
    auto row = store.Import(log.source);
    if (!row.ok()) return row.status();
    if (!row->has_value() || !(*row)->finished) return true;
    if ((*row)->file_size != static_cast<int64_t>(log.size) ||
        (*row)->file_mtime_ns != log.mtime_ns) {
      return true;
    }
  }
  return false;
}

Result<std::vector<ImportState>> Migrate(Store& store, const std::vector<OldLog>& logs,
                                         const MigrateOptions& options) {
  std::vector<ImportState> out;
  for (const OldLog& log : logs) {
    LogMigration m(store, log, options);
    auto st = m.Run();
    if (!st.ok()) return st.status();
    out.push_back(std::move(st).value());
  }
  return out;
}

}  // namespace ssb
