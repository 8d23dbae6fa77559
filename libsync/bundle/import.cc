// Verified import of bundles into a store (formats/bundle.md "Import").
//
// One pass over the file, through the ingest stage (ssb/ingest.h), in three overlapping steps:
//   reader thread   decompresses and checks the container (BundleReader: range hashes, blob
//                   hashes, trailer) and cuts the message records into batches, pushed into an
//                   IngestQueue that bounds what is read ahead;
//   worker pool     parses each message once, checks its shape and signature, decrypts what
//                   is for us, and prepares what the store writes, on every core;
//   caller thread   takes the batches in file order, checks each message against its range and
//                   chain, decides per range what to do, and appends the new messages.
// Everything is written inside one StoreTransaction that is committed only after the trailer
// verified, so a bad message anywhere, a truncated file or a kill at any moment leaves nothing
// of the bundle in the store. Blobs are staged as temp files in the blob store and moved into
// place after the commit.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>

#include "ssb/base64.h"
#include "ssb/bundle_sync.h"
#include "ssb/ingest.h"
#include "ssb/files.h"
#include "ssb/message.h"
#include "ssb/ref.h"

namespace ssb {
namespace {

// Messages per batch between the steps (a batch also ends at kBatchBytes of records), and the
// bound on what is read but not yet written (batches, and bytes: record bytes until a batch is
// checked, then what its parsed messages hold, which can be ~50 times more for hostile input;
// ssb/ingest.h IngestLimits): memory does not grow with the bundle, whatever its records hold.
constexpr size_t kBatchMessages = 256;
constexpr size_t kBatchBytes = 256u << 10;
constexpr IngestLimits kReadAhead{.max_batches = 32, .max_bytes = 48u << 20};
// A message record longer than this is refused unparsed (a valid message is far smaller).
constexpr size_t kMaxMessageRecord = 1u << 20;

// The id we hold at `seq`, or "".
Result<std::string> OurIdAt(Store& store, const std::string& author, int64_t seq) {
  auto m = store.History(HistoryQuery{author, seq, 1, false});
  if (!m.ok()) return m.status();
  if (m->empty() || m->front().sequence != seq) return std::string();
  return m->front().key;
}

Status CheckNetwork(const BundleHeader& h, const ImportOptions& opt) {
  if (!opt.network.empty() && h.network != opt.network) {
    return Status::WrongNetwork("bundle is from another network (network " +
                                    h.network.substr(0, 16) + "…, ours " +
                                    opt.network.substr(0, 16) + "…)");
  }
  if (h.sign_key != opt.sign_key) {
    return Status::WrongNetwork("bundle is from another network (caps.sign differs)");
  }
  return Status::Ok();
}

// A batch of message records (or one blob record) from the reader to the caller.
struct Batch : IngestBatch {
  std::vector<uint32_t> range;        // range index of each record
  std::optional<BundleRecord> blob;   // a blob record (then there are no message records)
  uint64_t read_so_far = 0;           // records read up to and including this batch
  bool end = false;                   // the last batch: the reader stopped after it
  Status error;                       // end: why the reader stopped (ok at a verified end)
};

// Reads the bundle into batches: on a reader thread feeding an IngestQueue, or, when no thread
// can be started, on the caller's thread as it asks.
class Source {
 public:
  Source(std::unique_ptr<BundleReader> reader, const IngestChecker& checker)
      : reader_(std::move(reader)), checker_(checker), queue_(checker, kReadAhead) {}
  ~Source() {
    queue_.Cancel();
    if (thread_.joinable()) thread_.join();
  }

  void Start() {
    try {
      thread_ = std::thread([this] {
        for (;;) {
          auto b = Read();
          bool end = b->end;
          if (!queue_.Push(std::move(b)) || end) break;
        }
        queue_.Close();
      });
    } catch (const std::system_error&) {
      inline_ = true;
    }
  }

  // The next batch in file order, checked.
  std::shared_ptr<Batch> Next() {
    if (inline_) {
      std::shared_ptr<Batch> b = Read();
      checker_.Check(*b);
      return b;
    }
    if (auto b = queue_.Pop()) return std::static_pointer_cast<Batch>(b);
    // The reader ends with an end batch; nothing else closes the queue before it is taken.
    auto end = std::make_shared<Batch>();
    end->end = true;
    end->error = Status::IoError("bundle reader stopped");
    return end;
  }

 private:
  // Reads up to one batch of message records, or one blob record, or the end.
  std::unique_ptr<Batch> Read() {
    auto b = std::make_unique<Batch>();
    if (held_blob_) {
      b->CountBytes(held_blob_->blob.size());
      b->blob = std::move(held_blob_);
      held_blob_.reset();
      b->read_so_far = ++read_;
      return b;
    }
    while (b->records.size() < kBatchMessages && b->bytes() < kBatchBytes) {
      auto rec = reader_->Next();
      if (!rec.ok()) {
        b->end = true;
        b->error = rec.status();
        break;
      }
      if (!rec->has_value()) {
        b->end = true;
        break;
      }
      if ((*rec)->type == BundleRecord::Type::kBlob) {
        if (!b->records.empty()) {
          // Keep the blob for the next batch: message batches and blob batches stay apart.
          held_blob_ = std::move(**rec);
          break;
        }
        ++read_;
        b->CountBytes((*rec)->blob.size());
        b->blob = std::move(**rec);
        break;
      }
      ++read_;
      b->range.push_back(static_cast<uint32_t>(reader_->current_range()));
      b->Add(std::move((*rec)->message));
    }
    b->read_so_far = read_;
    return b;
  }

  std::unique_ptr<BundleReader> reader_;
  const IngestChecker& checker_;
  IngestQueue queue_;
  std::thread thread_;
  bool inline_ = false;
  // Reader state (the reader thread's, or the caller's when inline).
  uint64_t read_ = 0;
  std::optional<BundleRecord> held_blob_;
};

// Blobs of a bundle wait as temp files in the blob store (which removes leftovers of a crash
// when it opens) until the messages are committed; then they are renamed into place.
class BlobStager {
 public:
  explicit BlobStager(BlobStore* blobs) : blobs_(blobs) {}
  ~BlobStager() {
    for (const auto& [path, id] : staged_) ::unlink(path.c_str());
  }

  Status Stage(const std::string& id, std::span<const uint8_t> bytes) {
    if (!blobs_ || blobs_->Has(id)) return Status::Ok();
    if (BlobIdFromDigest(Sha256(bytes)) != id) {
      return Status::InvalidInput("bundle blob " + id + " does not hash to its id");
    }
    std::string dir = blobs_->dir() + "/sha256";
    SSB_RETURN_IF_ERROR(MakeDirs(dir, 0755));
    std::string path = TempPathIn(dir);
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd) return ErrnoStatus("cannot create", path, errno);
    staged_.emplace_back(path, id);
    SSB_RETURN_IF_ERROR(WriteAll(fd.get(), bytes, path));
    if (::fsync(fd.get()) != 0) return ErrnoStatus("cannot sync", path, errno);
    return fd.Close(path);
  }

  // Moves the staged blobs into the store. Returns how many are new there.
  Result<uint64_t> Publish() {
    uint64_t n = 0;
    for (auto it = staged_.begin(); it != staged_.end(); it = staged_.erase(it)) {
      const auto& [path, id] = *it;
      if (blobs_->Has(id)) {
        ::unlink(path.c_str());
        continue;
      }
      std::string dest = blobs_->PathFor(id);
      std::string sub = DirName(dest);
      SSB_RETURN_IF_ERROR(MakeDirs(sub, 0755));
      if (::rename(path.c_str(), dest.c_str()) != 0) return ErrnoStatus("cannot rename to", dest, errno);
      SSB_RETURN_IF_ERROR(SyncDir(sub));
      ++n;
    }
    return n;
  }

 private:
  BlobStore* blobs_;
  std::vector<std::pair<std::string, std::string>> staged_;  // temp path, id
};

// What import decided, or still has to decide, for one range.
struct RangeState {
  std::optional<FeedState> ours;  // our latest before the import
  int64_t have = 0;
  bool decided = false;
};

// We hold up to `s.have` and the bundle's id at that sequence is `theirs` (the range's
// `previous` when have = first − 1): continuing our chain applies the rest, else a fork.
void ContinueOrFork(const BundleRange& r, const RangeState& s, const std::string& theirs,
                    RangeOutcome& o) {
  if (s.have == 0 || theirs == s.ours->id) {
    o.kind = RangeOutcome::Kind::kApplied;
    o.applied = r.last - s.have;
  } else {
    o.kind = RangeOutcome::Kind::kFork;
    o.fork_sequence = s.have;
    o.ours = s.ours->id;
    o.theirs = theirs;
  }
}

// The whole import (write) or its dry run / VerifyBundle (!write: nothing is written and
// every message is validated here).
// `fd` >= 0: read that open file (named `path`) instead of opening `path`.
Result<ImportReport> Run(const std::string& path, Store* store, BlobStore* blobs,
                         const ImportOptions& opt, bool write, int fd = -1) {
  auto reader = fd >= 0 ? BundleReader::OpenFd(fd, path) : BundleReader::Open(path);
  if (!reader.ok()) return reader.status();
  ImportReport report;
  report.path = path;
  report.header = (*reader)->header();
  SSB_RETURN_IF_ERROR(CheckNetwork(report.header, opt));
  const auto& ranges = report.header.ranges;
  std::set<std::string> authors;
  for (const auto& r : ranges) {
    if (!authors.insert(r.author).second) {
      return Status::InvalidInput("bundle names feed " + r.author + " twice");
    }
  }
  // The write lock is taken before the store's state is read, so that the decisions below
  // hold until the commit.
  std::unique_ptr<StoreTransaction> tx;
  if (write) {
    auto t = store->BeginTransaction();
    if (!t.ok()) return t.status();
    tx = std::move(t).value();
  }
  std::vector<RangeState> states(ranges.size());
  report.ranges.resize(ranges.size());
  for (size_t i = 0; i < ranges.size(); ++i) {
    const BundleRange& r = ranges[i];
    RangeState& s = states[i];
    RangeOutcome& o = report.ranges[i];
    o.range = r;
    if (store) {
      auto latest = store->Latest(r.author);
      if (!latest.ok()) return latest.status();
      s.ours = *latest;
    }
    // formats/bundle.md "Import": what the header alone decides. Without a store the answer
    // is what an empty store would do.
    s.have = s.ours ? s.ours->sequence : 0;
    s.decided = true;
    if (s.have >= r.last) {
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
    } else if (s.have < r.first - 1) {
      o.kind = RangeOutcome::Kind::kMissingPrerequisite;
      o.need_from = s.have + 1;
      o.need_to = r.first - 1;
      report.pending = true;
    } else if (s.have == r.first - 1) {
      ContinueOrFork(r, s, r.previous, o);
    } else {
      s.decided = false;  // at the bundle's message `have`, against ours
    }
  }

  IngestOptions iopt;
  iopt.validate = opt.validate;
  iopt.reader = write ? opt.reader : nullptr;
  iopt.unwrap_kvt = false;  // a bundle holds message values, nothing else
  iopt.max_record_bytes = kMaxMessageRecord;
  IngestChecker checker(iopt);
  Source source(std::move(reader).value(), checker);
  source.Start();
  std::optional<IngestWriter> writer;
  if (write) writer.emplace(*store, iopt);
  BlobStager stager(write ? blobs : nullptr);
  ValidateOptions chain_opt = opt.validate;
  chain_opt.verify_signature = false;  // checked by the workers
  // Appends the batch's messages that are new to us, in order (a savepoint of the import's
  // transaction), and checks that the store took them all.
  auto append = [&](Batch& b) -> Status {
    if (!writer) return Status::Ok();
    SSB_RETURN_IF_ERROR(writer->Append(b));
    for (const IngestRecord& r : b.records) {
      if (r.skip) continue;
      const AppendOutcome& a = r.outcome;
      if (a.kind == AppendKind::kAppended) ++report.messages_applied;
      if (a.kind == AppendKind::kRejected) {
        std::string where = std::string(r.message->msg.author()) + " #" +
                            std::to_string(r.message->msg.sequence().value_or(0));
        // A chain the store sees as forked is the bundle's broken chain, not a fork of ours:
        // its message `have` was checked against ours before anything was applied.
        return Status(a.status.code() == Code::kFork ? Code::kInvalidInput : a.status.code(),
                      "bundle message " + where + ": " + a.status.message());
      }
    }
    return Status::Ok();
  };

  size_t range = SIZE_MAX;
  int64_t expect = 0;
  std::optional<FeedState> prev;
  uint64_t last_progress = 0;
  for (;;) {
    std::shared_ptr<Batch> b = source.Next();
    if (opt.progress && b->read_so_far / 4096 != last_progress / 4096) {
      opt.progress(b->read_so_far, report.header.records);
    }
    last_progress = b->read_so_far;
    for (size_t i = 0; i < b->records.size(); ++i) {
      IngestRecord& rec = b->records[i];
      rec.skip = true;  // unless it is new to us, below
      size_t ri = b->range[i];
      const BundleRange& r = ranges[ri];
      RangeState& s = states[ri];
      RangeOutcome& o = report.ranges[ri];
      if (ri != range) {
        range = ri;
        expect = r.first;
        prev.reset();
        if (r.first > 1) prev = FeedState{r.previous, r.first - 1};
      }
      std::string where = r.author + " #" + std::to_string(expect);
      if (rec.kind != IngestRecord::Kind::kMessage) {
        return Status::InvalidInput("bundle message " + where + ": " + rec.status.message());
      }
      const Message& msg = rec.message->msg;
      if (msg.author() != r.author || msg.sequence() != expect) {
        return Status::InvalidInput("bundle message is not " + where);
      }
      if (!rec.status.ok()) {
        return Status::InvalidMessage("bundle message " + where + ": " + rec.status.message());
      }
      bool to_apply = write && s.decided && o.kind == RangeOutcome::Kind::kApplied && expect > s.have;
      if (!to_apply) {
        // Messages the store will not see are validated here; the store validates the others
        // against its own chain as it appends them (with the signatures checked above).
        Status st = Validate(msg, prev ? &*prev : nullptr, chain_opt);
        if (!st.ok()) {
          return Status(st.code() == Code::kFork ? Code::kInvalidInput : Code::kInvalidMessage,
                        "bundle message " + where + ": " + st.message());
        }
      }
      if (expect == r.last && msg.id() != r.last_id) {
        return Status::InvalidInput("bundle range of " + r.author + " does not end at its header's id");
      }
      if (!s.decided && expect == s.have) {
        // We hold up to `have`, inside the range: the bundle must continue our chain.
        s.decided = true;
        ContinueOrFork(r, s, msg.id(), o);
      }
      if (write && o.kind == RangeOutcome::Kind::kFork && expect == o.fork_sequence &&
          msg.id() == o.theirs) {
        // The conflicting message is evidence: the store records the fork (with both ids) and
        // freezes the feed, when the import commits. Nothing else of this range is applied.
        AppendOptions evidence;
        evidence.validate = opt.validate;
        const PreparedMessage* one = &*rec.message;
        auto a = store->AppendPrepared(std::span(&one, 1), evidence);
        if (!a.ok()) return a.status();
      }
      prev = FeedState{msg.id(), expect};
      ++expect;
      rec.skip = !to_apply;
    }
    SSB_RETURN_IF_ERROR(append(*b));
    if (b->blob) SSB_RETURN_IF_ERROR(stager.Stage(b->blob->blob_id, b->blob->blob));
    if (b->end) {
      SSB_RETURN_IF_ERROR(b->error);
      break;
    }
  }
  for (size_t i = 0; i < ranges.size(); ++i) {
    // The reader checked that every range is complete, so each undecided one was decided.
    if (!states[i].decided) return Status::InvalidInput("bundle range of " + ranges[i].author + " is incomplete");
  }
  if (opt.progress) opt.progress(report.header.records, report.header.records);
  if (write) {
    SSB_RETURN_IF_ERROR(tx->Commit());
    auto n = stager.Publish();
    if (!n.ok()) return n.status();
    report.blobs_stored = *n;
  }
  return report;
}

// Import reads standard input once, but a part that waits for prerequisites is kept, so stdin
// is first copied to a private temp file.
class Spool {
 public:
  ~Spool() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  Result<std::string> From(const std::string& input, const std::string& dir) {
    if (input != "-") return input;
    SSB_RETURN_IF_ERROR(MakeDirs(dir, 0700));
    path_ = TempPathFor(dir + "/stdin");
    UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd) {
      int err = errno;
      path_.clear();
      return ErrnoStatus("cannot create a spool file in", dir, err);
    }
    return Copy(0, "standard input", fd.get(), path_);
  }

  // Copies everything from `in` to `out`.
  static Result<std::string> Copy(int in, const std::string& in_name, int out,
                                  const std::string& out_name) {
    std::vector<uint8_t> buf(1 << 16);
    for (;;) {
      ssize_t n = ::read(in, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus("cannot read", in_name, errno);
      if (n == 0) break;
      SSB_RETURN_IF_ERROR(WriteAll(out, std::span(buf.data(), static_cast<size_t>(n)), out_name));
    }
    return out_name;
  }

 private:
  std::string path_;
};

// Keeps a copy of `path` in `dir`, streaming (a part may be large). It is named by the sha256
// of its signed header, which binds every record through the range hashes and blob ids, so a
// part carried twice is kept once.
Status KeepPending(const std::string& path, int fd, const BundleHeader& header,
                   const std::string& dir) {
  SSB_RETURN_IF_ERROR(MakeDirs(dir, 0700));
  std::string signed_json = BundleHeaderSigningJson(header);
  std::string name = HexEncode(Sha256(std::span(reinterpret_cast<const uint8_t*>(signed_json.data()), signed_json.size())));
  std::string dest = dir + "/" + name + ".ssb-bundle";
  struct stat sb;
  if (::stat(dest.c_str(), &sb) == 0) return Status::Ok();
  UniqueFd in(fd >= 0 ? ::fcntl(fd, F_DUPFD_CLOEXEC, 0) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return ErrnoStatus("cannot open", path, errno);
  if (fd >= 0 && ::lseek(in.get(), 0, SEEK_SET) != 0) return ErrnoStatus("cannot rewind", path, errno);
  std::string tmp = TempPathFor(dest);
  Status st;
  {
    UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!out) return ErrnoStatus("cannot create", tmp, errno);
    auto copied = Spool::Copy(in.get(), path, out.get(), tmp);
    if (!copied.ok()) st = copied.status();
    if (st.ok() && ::fsync(out.get()) != 0) st = ErrnoStatus("cannot sync", tmp, errno);
    if (st.ok()) st = out.Close(tmp);
  }
  if (st.ok() && ::rename(tmp.c_str(), dest.c_str()) != 0) st = ErrnoStatus("cannot rename to", dest, errno);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  return SyncDir(dir);
}

}  // namespace

Result<ImportReport> VerifyBundle(const std::string& path, Store* store, const ImportOptions& opt) {
  return Run(path, store, nullptr, opt, /*write=*/false);
}

Result<ImportReport> ImportBundle(Store& store, BlobStore* blobs, const std::string& input,
                                  const ImportOptions& opt) {
  Spool spool;
  std::string spool_dir = opt.pending_dir.empty() ? std::string("/tmp") : DirName(opt.pending_dir);
  auto spooled = spool.From(input, spool_dir);
  if (!spooled.ok()) return spooled.status();
  const std::string& path = *spooled;
  auto r = Run(path, &store, blobs, opt, /*write=*/!opt.dry_run);
  if (!r.ok()) return r.status();
  ImportReport report = std::move(r).value();
  report.path = input;
  // Parts waiting for prerequisites are kept until a later import fills the gap.
  if (!opt.dry_run && report.pending && !opt.pending_dir.empty()) {
    SSB_RETURN_IF_ERROR(KeepPending(path, -1, report.header, opt.pending_dir));
  }
  return report;
}

Result<ImportReport> ImportBundleFd(Store& store, BlobStore* blobs, int fd,
                                    const std::string& name, const ImportOptions& opt) {
  auto r = Run(name, &store, blobs, opt, /*write=*/!opt.dry_run, fd);
  if (!r.ok()) return r.status();
  if (!opt.dry_run && r->pending && !opt.pending_dir.empty()) {
    SSB_RETURN_IF_ERROR(KeepPending(name, fd, r->header, opt.pending_dir));
  }
  return r;
}

}  // namespace ssb
