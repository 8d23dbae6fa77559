// Export and import of bundles (formats/bundle.md "Export", "Import").
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <random>
#include <set>

#include "ssb/base64.h"
#include "ssb/box.h"
#include "ssb/bundle_sync.h"
#include "ssb/files.h"
#include "ssb/message.h"
#include "ssb/ref.h"

namespace ssb {
namespace {

constexpr size_t kRecordOverhead = 5;
// Messages applied per transaction; each batch's last id is pinned by the verify pass.
constexpr int64_t kApplyBatch = 2000;

std::string DirOf(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

// Blob ids mentioned anywhere in a message's JSON text.
void BlobRefs(std::string_view text, std::vector<std::string>* out) {
  for (size_t i = text.find('&'); i != std::string_view::npos; i = text.find('&', i + 1)) {
    if (i + 52 <= text.size() && IsBlobId(text.substr(i, 52))) out->emplace_back(text.substr(i, 52));
  }
}

// An upper bound of the file size of a part with `body` uncompressed bytes and `ranges` ranges.
uint64_t PartBound(uint64_t body, size_t ranges, size_t blobs) {
  return 12 + 64 + 1024 + 400 * (ranges + 1) + 120 * blobs + body + body / 128 + 1024 + 56;
}

struct PartPlan {
  BundleHeader header;
};

class Planner {
 public:
  Planner(const ExportOptions& o, const std::string& exporter) : opt_(o) {
    Start();
    exporter_ = exporter;
  }

  // Adds a message of `author` at `seq`; starts a new part when this one is full.
  void AddMessage(const std::string& author, int64_t seq, const std::string& key,
                  const std::string& previous, std::string_view text) {
    uint64_t cost = kRecordOverhead + text.size();
    if (opt_.max_part && cur_.header.records > 0 &&
        PartBound(cur_.header.body_bytes + cost, cur_.header.ranges.size(), 0) > opt_.max_part) {
      CloseRange();
      Finish();
      Start();
    }
    if (!open_ || cur_.header.ranges.back().author != author) {
      CloseRange();
      BundleRange r;
      r.author = author;
      r.first = seq;
      r.previous = previous;
      cur_.header.ranges.push_back(r);
      hasher_ = RangeHasher();
      open_ = true;
    }
    BundleRange& r = cur_.header.ranges.back();
    r.last = seq;
    r.last_id = key;
    hasher_.Add(text);
    cur_.header.body_bytes += cost;
    cur_.header.records++;
  }

  void EndFeed() { CloseRange(); }

  void AddBlob(const std::string& id, uint64_t size) {
    uint64_t cost = kRecordOverhead + 32 + size;
    CloseRange();
    if (opt_.max_part && cur_.header.records > 0 &&
        PartBound(cur_.header.body_bytes + cost, cur_.header.ranges.size(),
                  cur_.header.blobs.size() + 1) > opt_.max_part) {
      Finish();
      Start();
    }
    cur_.header.blobs.push_back({id, size});
    cur_.header.body_bytes += cost;
    cur_.header.records++;
  }

  std::vector<PartPlan> Done() {
    CloseRange();
    if (cur_.header.records > 0) Finish();
    // The set id names this export: the same selection gives the same id (and bytes).
    std::string all;
    for (const auto& p : parts_) all += BundleHeaderSigningJson(p.header);
    std::string set = HexEncode(Sha256(std::span(reinterpret_cast<const uint8_t*>(all.data()), all.size())));
    uint32_t n = 0;
    for (auto& p : parts_) {
      p.header.set = set;
      p.header.part = ++n;
    }
    return std::move(parts_);
  }

 private:
  void Start() {
    cur_ = PartPlan();
    cur_.header.network = opt_.network;
    cur_.header.sign_key = opt_.sign_key;
    cur_.header.exporter = exporter_;
    open_ = false;
  }
  void CloseRange() {
    if (open_) cur_.header.ranges.back().sha256 = hasher_.FinishHex();
    open_ = false;
  }
  void Finish() { parts_.push_back(std::move(cur_)); }

  const ExportOptions& opt_;
  std::string exporter_;
  PartPlan cur_;
  bool open_ = false;
  RangeHasher hasher_;
  std::vector<PartPlan> parts_;
};

// Writes one planned part to fd, reading its messages from the store again.
Status WritePart(Store& store, BlobStore* blobs, const Keypair& exporter, const PartPlan& plan,
                 int level, int fd, uint64_t* written,
                 const std::function<void(uint64_t)>& tick) {
  auto w = BundleWriter::Start(fd, plan.header, exporter, level);
  if (!w.ok()) return w.status();
  for (const BundleRange& r : plan.header.ranges) {
    HistoryQuery q;
    q.author = r.author;
    q.start_seq = r.first;
    q.limit = r.count();
    Status inner;
    int64_t expect = r.first;
    SSB_RETURN_IF_ERROR(store.History(q, [&](const StoredMessage& m) {
      if (m.sequence != expect++) {
        inner = Status::Corruption("store changed during export: " + r.author);
        return false;
      }
      inner = (*w)->AddMessage(m.value_json);
      if (tick) tick(1);
      return inner.ok();
    }));
    SSB_RETURN_IF_ERROR(inner);
  }
  for (const BundleBlob& b : plan.header.blobs) {
    auto bytes = blobs->Get(b.id);
    if (!bytes.ok()) return bytes.status();
    SSB_RETURN_IF_ERROR((*w)->AddBlob(b.id, *bytes));
    if (tick) tick(1);
  }
  SSB_RETURN_IF_ERROR((*w)->Finish());
  *written += (*w)->bytes_written();
  return Status::Ok();
}

Status CheckFreeSpace(const std::string& dir, uint64_t need) {
  struct statvfs vfs;
  if (::statvfs(dir.c_str(), &vfs) != 0) return Status::Ok();  // unknown: the write will tell
  uint64_t avail = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (avail < need) {
    return Status::NoSpace("not enough space in " + dir + ": need about " + std::to_string(need) +
                           " bytes, " + std::to_string(avail) + " available");
  }
  return Status::Ok();
}

}  // namespace

Result<ExportResult> ExportBundle(Store& store, BlobStore* blobs, const Keypair& exporter,
                                  const ExportOptions& opt, const std::string& out) {
  std::vector<std::string> authors;
  if (opt.all) {
    auto feeds = store.Feeds();
    if (!feeds.ok()) return feeds.status();
    for (const auto& f : *feeds) authors.push_back(f.author);
  } else {
    for (const auto& f : opt.feeds) {
      if (!IsFeedId(f)) return Status::InvalidArgument("not a feed id: " + f);
      authors.push_back(f);
    }
  }
  std::sort(authors.begin(), authors.end());
  authors.erase(std::unique(authors.begin(), authors.end()), authors.end());

  Planner planner(opt, exporter.id());
  ExportResult result;
  std::vector<std::string> own_refs, other_refs;
  for (const std::string& author : authors) {
    auto latest = store.Latest(author);
    if (!latest.ok()) return latest.status();
    if (!latest->has_value()) continue;
    int64_t from = 1;
    if (auto it = opt.since.find(author); it != opt.since.end()) from = std::max<int64_t>(1, it->second + 1);
    if (from > (*latest)->sequence) continue;
    std::string previous;
    if (from > 1) {
      auto prev = store.History(HistoryQuery{author, from - 1, 1, false});
      if (!prev.ok()) return prev.status();
      if (prev->empty()) return Status::Corruption("store lacks " + author + " at " + std::to_string(from - 1));
      previous = prev->front().key;
    }
    HistoryQuery q;
    q.author = author;
    q.start_seq = from;
    q.limit = (*latest)->sequence - from + 1;
    auto& refs = author == exporter.id() ? own_refs : other_refs;
    SSB_RETURN_IF_ERROR(store.History(q, [&](const StoredMessage& m) {
      planner.AddMessage(author, m.sequence, m.key, previous, m.value_json);
      previous = m.key;
      BlobRefs(m.value_json, &refs);
      ++result.messages;
      return true;
    }));
    planner.EndFeed();
  }
  // Blobs under the budget (formats/bundle.md "Export"): those a receiver asked for, in the
  // order its want file lists them; then those our own exported messages reference; then those
  // the other exported messages reference, each in order of first reference. A blob that does
  // not fit is skipped; one we do not hold is not shipped.
  if (blobs) {
    std::set<std::string> seen;
    uint64_t used = 0;
    const std::vector<std::string>* lists[] = {&opt.wanted_blobs, &own_refs, &other_refs};
    for (const auto* list : lists) {
      for (const auto& id : *list) {
        if (!IsBlobId(id) || !seen.insert(id).second) continue;
        auto size = blobs->Size(id);
        if (!size.ok() || used + *size > opt.blob_budget) continue;
        used += *size;
        planner.AddBlob(id, *size);
        ++result.blobs;
        if (list == &opt.wanted_blobs) ++result.wanted_blobs;
      }
    }
  }
  std::vector<PartPlan> parts = planner.Done();
  for (const auto& p : parts) {
    result.parts.push_back(p.header);
    result.body_bytes += p.header.body_bytes;
  }
  if (parts.empty() || opt.dry_run) return result;
  if (out == "-" && parts.size() > 1) {
    return Status::InvalidArgument("a split export (--max-part) cannot go to standard output");
  }
  uint64_t total_records = 0, done = 0;
  for (const auto& p : parts) total_records += p.header.records;
  auto tick = [&](uint64_t n) {
    done += n;
    if (opt.progress && (done % 1024 == 0 || done == total_records)) opt.progress(done, total_records);
  };
  if (out == "-") {
    SSB_RETURN_IF_ERROR(WritePart(store, blobs, exporter, parts[0], opt.level, 1, &result.bytes, tick));
    return result;
  }
  std::string dir = DirOf(out);
  SSB_RETURN_IF_ERROR(CheckFreeSpace(dir, PartBound(result.body_bytes, 0, 0) / 2));
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string path = parts.size() == 1 ? out : out + ".part" + std::to_string(i + 1);
    std::random_device rd;
    std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(rd());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoStatus("cannot create", tmp, errno);
    Status st = WritePart(store, blobs, exporter, parts[i], opt.level, fd, &result.bytes, tick);
    if (st.ok() && ::fsync(fd) != 0) st = Status::IoError("cannot sync " + tmp + ": " + std::strerror(errno));
    ::close(fd);
    if (st.ok() && opt.verify_after_write) {
      // Read the part back from the medium before it gets its real name.
      auto r = BundleReader::Open(tmp);
      if (!r.ok()) st = r.status();
      while (st.ok()) {
        auto rec = (*r)->Next();
        if (!rec.ok()) st = Status::IoError("read-back of " + tmp + " failed: " + rec.status().message());
        else if (!rec->has_value()) break;
      }
    }
    if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
      st = Status::IoError("cannot rename " + tmp + ": " + std::strerror(errno));
    }
    if (!st.ok()) {
      ::unlink(tmp.c_str());
      return st;
    }
    SSB_RETURN_IF_ERROR(SyncDir(dir));
    result.files.push_back(path);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Import

namespace {

struct RangeState {
  std::optional<FeedState> ours;       // our latest before import
  std::string bundle_id_at_ours;       // the bundle's message id at our latest sequence
  std::map<int64_t, std::string> pins; // verified ids at batch ends
};

// The id we hold at `seq`, or "".
Result<std::string> OurIdAt(Store& store, const std::string& author, int64_t seq) {
  auto m = store.History(HistoryQuery{author, seq, 1, false});
  if (!m.ok()) return m.status();
  if (m->empty() || m->front().sequence != seq) return std::string();
  return m->front().key;
}

Status CheckNetwork(const BundleHeader& h, const ImportOptions& opt) {
  if (!opt.network.empty() && h.network != opt.network) {
    return Status::PermissionDenied("bundle is from another network (network " +
                                    h.network.substr(0, 16) + "…, ours " + opt.network.substr(0, 16) + "…)");
  }
  if (h.sign_key != opt.sign_key) {
    return Status::PermissionDenied("bundle is from another network (caps.sign differs)");
  }
  return Status::Ok();
}

// Pass 1: reads and checks everything; decides what import would do. Writes nothing.
Result<ImportReport> VerifyPass(const std::string& path, Store* store, const ImportOptions& opt,
                                std::vector<RangeState>* states) {
  auto reader = BundleReader::Open(path);
  if (!reader.ok()) return reader.status();
  ImportReport report;
  report.path = path;
  report.header = (*reader)->header();
  SSB_RETURN_IF_ERROR(CheckNetwork(report.header, opt));
  const auto& ranges = report.header.ranges;
  states->assign(ranges.size(), RangeState());
  std::set<std::string> authors;
  for (size_t i = 0; i < ranges.size(); ++i) {
    if (!authors.insert(ranges[i].author).second) {
      return Status::InvalidInput("bundle names feed " + ranges[i].author + " twice");
    }
    if (store) {
      auto latest = store->Latest(ranges[i].author);
      if (!latest.ok()) return latest.status();
      (*states)[i].ours = *latest;
    }
  }
  std::optional<FeedState> prev;
  size_t range = SIZE_MAX;
  int64_t expect = 0;
  uint64_t done = 0;
  // Chain and shape rules run in order; signatures are checked in parallel per chunk.
  ValidateOptions chain_opt = opt.validate;
  chain_opt.verify_signature = false;
  std::vector<Message> chunk;
  std::vector<std::string> chunk_where;
  auto verify_chunk = [&]() -> Status {
    if (chunk.empty() || !opt.validate.verify_signature) {
      chunk.clear();
      chunk_where.clear();
      return Status::Ok();
    }
    unsigned threads = std::max(1u, std::min(4u, std::thread::hardware_concurrency()));
    std::atomic<size_t> next{0};
    std::atomic<size_t> bad{SIZE_MAX};
    auto work = [&] {
      for (size_t i = next++; i < chunk.size(); i = next++) {
        if (!VerifyMessageSignature(chunk[i], opt.validate)) {
          size_t cur = bad.load();
          while (i < cur && !bad.compare_exchange_weak(cur, i)) {}
        }
      }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    if (bad.load() != SIZE_MAX) {
      return Status::InvalidMessage("bundle message " + chunk_where[bad.load()] + ": invalid signature");
    }
    chunk.clear();
    chunk_where.clear();
    return Status::Ok();
  };
  for (;;) {
    auto rec = (*reader)->Next();
    if (!rec.ok()) return rec.status();
    if (!rec->has_value()) break;
    ++done;
    if (opt.progress && done % 4096 == 0) opt.progress(done, report.header.records);
    if ((*rec)->type != BundleRecord::Type::kMessage) continue;
    size_t ri = (*reader)->current_range();
    const BundleRange& r = ranges[ri];
    if (ri != range) {
      range = ri;
      expect = r.first;
      prev.reset();
      if (r.first > 1) prev = FeedState{r.previous, r.first - 1};
    }
    auto msg = Message::Parse((*rec)->message);
    std::string where = r.author + " #" + std::to_string(expect);
    if (!msg.ok()) return Status::InvalidInput("bundle message " + where + ": " + msg.status().message());
    if (msg->author() != r.author || msg->sequence() != expect) {
      return Status::InvalidInput("bundle message is not " + where);
    }
    Status st = Validate(*msg, prev ? &*prev : nullptr, chain_opt);
    if (!st.ok()) {
      // A bad signature earlier in the chunk explains a broken chain better: report it first.
      SSB_RETURN_IF_ERROR(verify_chunk());
      return Status(st.code() == Code::kFork ? Code::kInvalidInput : Code::kInvalidMessage,
                    "bundle message " + where + ": " + st.message());
    }
    if (expect == r.last && msg->id() != r.last_id) {
      return Status::InvalidInput("bundle range of " + r.author + " does not end at its header's id");
    }
    RangeState& s = (*states)[ri];
    if (s.ours && s.ours->sequence == expect) s.bundle_id_at_ours = msg->id();
    if (expect % kApplyBatch == 0 || expect == r.last) s.pins[expect] = msg->id();
    prev = FeedState{msg->id(), expect};
    ++expect;
    chunk.push_back(std::move(msg).value());
    chunk_where.push_back(std::move(where));
    if (chunk.size() == 4096) SSB_RETURN_IF_ERROR(verify_chunk());
  }
  SSB_RETURN_IF_ERROR(verify_chunk());
  // Decide per range.
  for (size_t i = 0; i < ranges.size(); ++i) {
    const BundleRange& r = ranges[i];
    const RangeState& s = (*states)[i];
    RangeOutcome o;
    o.range = r;
    // Without a store the answer is what an empty store would do.
    int64_t have = s.ours ? s.ours->sequence : 0;
    if (have >= r.last) {
      auto id = OurIdAt(*store, r.author, r.last);
      if (!id.ok()) return id.status();
      if (*id == r.last_id) {
        o.kind = RangeOutcome::Kind::kAlreadyHave;
      } else {
        o.kind = RangeOutcome::Kind::kFork;
        o.fork_sequence = r.last;
        o.ours = *id;
        o.theirs = r.last_id;
      }
    } else if (have < r.first - 1) {
      o.kind = RangeOutcome::Kind::kMissingPrerequisite;
      o.need_from = have + 1;
      o.need_to = r.first - 1;
      report.pending = true;
    } else {
      // We hold up to `have`, inside or just before the range: the chain must continue ours.
      std::string theirs = have == r.first - 1 ? r.previous : s.bundle_id_at_ours;
      if (have == 0 || theirs == s.ours->id) {
        o.kind = RangeOutcome::Kind::kApplied;
        o.applied = r.last - have;
        o.applied = r.last - have;
      } else {
        o.kind = RangeOutcome::Kind::kFork;
        o.fork_sequence = have;
        o.ours = s.ours->id;
        o.theirs = theirs;
      }
    }
    report.ranges.push_back(std::move(o));
  }
  return report;
}

}  // namespace

Result<ImportReport> VerifyBundle(const std::string& path, Store* store, const ImportOptions& opt) {
  std::vector<RangeState> states;
  return VerifyPass(path, store, opt, &states);
}

namespace {

// Import reads its input twice; standard input is first copied to a private temp file.
class Spool {
 public:
  ~Spool() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  Result<std::string> From(const std::string& input, const std::string& dir) {
    if (input != "-") return input;
    SSB_RETURN_IF_ERROR(MakeDirs(dir, 0700));
    path_ = dir + "/stdin-" + std::to_string(::getpid()) + ".tmp";
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return Status::IoError("cannot create " + path_ + ": " + std::strerror(errno));
    std::vector<char> buf(1 << 16);
    Status st;
    for (;;) {
      ssize_t n = ::read(0, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) { st = Status::IoError(std::string("cannot read standard input: ") + std::strerror(errno)); break; }
      if (n == 0) break;
      for (ssize_t off = 0; off < n;) {
        ssize_t w = ::write(fd, buf.data() + off, static_cast<size_t>(n - off));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
          st = errno == ENOSPC ? Status::NoSpace("no space to keep standard input in " + dir)
                               : Status::IoError("cannot write " + path_);
          break;
        }
        off += w;
      }
      if (!st.ok()) break;
    }
    ::close(fd);
    if (!st.ok()) return st;
    return path_;
  }

 private:
  std::string path_;
};

}  // namespace

Result<ImportReport> ImportBundle(Store& store, BlobStore* blobs, const std::string& input,
                                  const ImportOptions& opt) {
  Spool spool;
  std::string spool_dir = opt.pending_dir.empty() ? std::string("/tmp") : DirOf(opt.pending_dir);
  auto spooled = spool.From(input, spool_dir);
  if (!spooled.ok()) return spooled.status();
  const std::string& path = *spooled;
  std::vector<RangeState> states;
  auto verified = VerifyPass(path, &store, opt, &states);
  if (!verified.ok()) return verified.status();
  ImportReport report = std::move(verified).value();
  if (opt.dry_run) return report;
  // Pass 2: apply. Signatures were verified in pass 1; each batch's last id must equal the id
  // pass 1 verified at that sequence, which pins every message of the batch through the chain.
  auto reader = BundleReader::Open(path);
  if (!reader.ok()) return reader.status();
  AppendOptions aopt;
  aopt.validate = opt.validate;
  aopt.validate.verify_signature = false;
  aopt.verify_threads = 0;  // the store parses a batch on every core ahead of its writer
  std::vector<std::string> batch;
  size_t batch_range = 0;
  int64_t batch_last = 0;
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::Ok();
    // Only the batch's last message is parsed here: the store checks that each message names
    // its predecessor's id, so the last id pins the whole batch to what pass 1 verified.
    auto last = Message::Parse(batch.back());
    auto pin = states[batch_range].pins.find(batch_last);
    if (!last.ok() || pin == states[batch_range].pins.end() || pin->second != last->id()) {
      return Status::InvalidInput("bundle changed while it was imported");
    }
    std::vector<std::string_view> views(batch.begin(), batch.end());
    auto outcomes = store.AppendWireBatch(views, aopt);
    if (!outcomes.ok()) return outcomes.status();
    for (const auto& o : *outcomes) {
      if (o.kind == AppendKind::kAppended) ++report.messages_applied;
      if (o.kind == AppendKind::kRejected) {
        return Status(o.status.code(), "while applying: " + o.status.message());
      }
    }
    batch.clear();
    return Status::Ok();
  };
  uint64_t done = 0;
  size_t range = SIZE_MAX;
  int64_t seq = 0;
  for (;;) {
    auto rec = (*reader)->Next();
    if (!rec.ok()) return rec.status();
    if (!rec->has_value()) break;
    ++done;
    if (opt.progress && done % 4096 == 0) opt.progress(done, report.header.records);
    if ((*rec)->type == BundleRecord::Type::kBlob) {
      SSB_RETURN_IF_ERROR(flush());
      if (blobs && !blobs->Has((*rec)->blob_id)) {
        SSB_RETURN_IF_ERROR(blobs->AddExpecting((*rec)->blob_id, (*rec)->blob));
        ++report.blobs_stored;
      }
      continue;
    }
    // The reader checked the range layout, so a record's sequence is its position in its range.
    size_t ri = (*reader)->current_range();
    if (ri != range) {
      SSB_RETURN_IF_ERROR(flush());
      range = ri;
      seq = report.ranges[ri].range.first;
    } else {
      ++seq;
    }
    const RangeOutcome& o = report.ranges[ri];
    if (o.kind == RangeOutcome::Kind::kFork) {
      // The conflicting message is evidence: the store records the fork (with both ids) and
      // freezes the feed. It was verified in pass 1; nothing else of this range is applied.
      if (seq != o.fork_sequence) continue;
      auto msg = Message::Parse((*rec)->message);
      if (msg.ok() && msg->id() == o.theirs) {
        AppendOptions evidence = aopt;
        evidence.validate.verify_signature = true;
        auto r = store.Append(*msg, evidence);
        if (!r.ok() && r.status().code() != Code::kFork && r.status().code() != Code::kInvalidMessage) {
          return r.status();
        }
      }
      continue;
    }
    if (o.kind != RangeOutcome::Kind::kApplied) continue;
    int64_t have = states[ri].ours ? states[ri].ours->sequence : 0;
    if (seq <= have) continue;
    batch_range = ri;
    batch_last = seq;
    batch.push_back(std::move((*rec)->message));
    if (seq % kApplyBatch == 0 || seq == o.range.last) SSB_RETURN_IF_ERROR(flush());
  }
  SSB_RETURN_IF_ERROR(flush());
  // Parts waiting for prerequisites are kept until a later import fills the gap.
  report.path = input;
  if (report.pending && !opt.pending_dir.empty()) {
    auto data = ReadFile(path);
    if (data.ok()) {
      SSB_RETURN_IF_ERROR(MakeDirs(opt.pending_dir, 0700));
      std::string name = HexEncode(Sha256(std::span(reinterpret_cast<const uint8_t*>(data->data()), data->size())));
      std::string dest = opt.pending_dir + "/" + name + ".ssb-bundle";
      struct stat st;
      if (::stat(dest.c_str(), &st) != 0) SSB_RETURN_IF_ERROR(WriteFileAtomic(dest, *data, 0600));
    }
  }
  return report;
}

Result<std::vector<ImportReport>> ImportPending(Store& store, BlobStore* blobs,
                                                const ImportOptions& opt) {
  std::vector<ImportReport> reports;
  if (opt.pending_dir.empty()) return reports;
  // Applying one part can unblock another: repeat until a round changes nothing.
  for (bool progress = true; progress;) {
    progress = false;
    std::vector<std::string> files;
    if (DIR* d = ::opendir(opt.pending_dir.c_str())) {
      while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n.size() > 11 && n.compare(n.size() - 11, 11, ".ssb-bundle") == 0) files.push_back(opt.pending_dir + "/" + n);
      }
      ::closedir(d);
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      ImportOptions o = opt;
      o.pending_dir.clear();  // already kept
      auto r = ImportBundle(store, blobs, f, o);
      if (!r.ok()) continue;  // damaged copies stay for inspection; they never apply
      if (r->changed()) progress = true;
      if (!r->pending) ::unlink(f.c_str());
      reports.push_back(std::move(r).value());
    }
  }
  return reports;
}

Result<uint64_t> DecryptReceived(Store& store, const Keypair& me, double after_received) {
  std::vector<std::pair<std::string, std::string>> found;
  SSB_RETURN_IF_ERROR(store.Encrypted(after_received, true, -1, [&](const StoredMessage& m) {
    auto v = json::Parse(m.value_json);
    const json::Value* content = v.ok() ? v->Find("content") : nullptr;
    if (!content || !content->is_string()) return true;
    auto plain = BoxDecrypt(content->as_string(), me);
    if (!plain) return true;
    auto parsed = json::Parse(*plain);  // only JSON counts, as ssb-keys.unbox parses it
    if (parsed.ok()) found.emplace_back(m.key, json::Stringify(*parsed));
    return true;
  }));
  for (const auto& [key, text] : found) SSB_RETURN_IF_ERROR(store.SetPlaintext(key, text));
  return static_cast<uint64_t>(found.size());
}

}  // namespace ssb
