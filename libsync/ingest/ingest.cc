// The ingest stage (ssb/ingest.h): checks on the worker pool, an ordered bounded queue, and the
// in-order writer.
#include "ssb/ingest.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>

#include "ssb/box.h"
#include "ssb/files.h"
#include "ssb/line_reader.h"

namespace ssb {
namespace {

// Records per pool job: small enough that the threads (and a waiting consumer) share a batch
// evenly, large enough that queueing a job costs nothing next to checking 32 signatures.
constexpr size_t kChunkRecords = 32;

// A {key, value, timestamp} wrapper holds the message in `value`; a message value itself has an
// `author` (as `sbot add`, ssb-server's add and createHistoryStream with keys read it).
json::Value* KvtValue(json::Value& v) {
  if (!v.is_object() || v.Find("author")) return nullptr;
  return v.Find("value");
}

}  // namespace

std::string_view AppendKindName(AppendKind kind) {
  switch (kind) {
    case AppendKind::kAppended:
      return "appended";
    case AppendKind::kDuplicate:
      return "duplicate";
    case AppendKind::kRejected:
      return "rejected";
  }
  return "unknown";
}

// ---- batches

IngestRecord& IngestBatch::Add(std::string text, uint64_t tag) {
  bytes_ += text.size();
  IngestRecord& r = records.emplace_back();
  r.text = std::move(text);
  r.tag = tag;
  return r;
}

IngestRecord& IngestBatch::Add(json::Value value, uint64_t tag, size_t size_hint) {
  bytes_ += size_hint;
  IngestRecord& r = records.emplace_back();
  r.value = std::move(value);
  r.tag = tag;
  return r;
}

size_t IngestBatch::held_bytes() const {
  size_t n = 0;
  for (const IngestRecord& r : records) {
    n += sizeof(IngestRecord) + r.text.capacity();
    if (r.message) {
      n += r.message->msg.memory_bytes() + r.message->wire.capacity();
      if (r.message->plaintext) n += r.message->plaintext->capacity();
      for (const MessageLink& l : r.message->links) n += sizeof(l) + l.dest.capacity();
    }
    if (r.kind == IngestRecord::Kind::kOther) n += r.text.size() + 1024;  // an estimate
  }
  return n;
}

// ---- the check

IngestChecker::IngestChecker(IngestOptions options, WorkerPool& pool)
    : options_(std::move(options)), pool_(pool) {}

void IngestChecker::CheckRecord(IngestRecord& r) const {
  if (r.kind != IngestRecord::Kind::kPending) return;  // judged already (a line too long)
  json::Value v;
  if (r.value) {
    v = std::move(*r.value);
    r.value.reset();
  } else {
    if (r.text.size() > options_.max_record_bytes) {
      r.kind = IngestRecord::Kind::kBad;
      r.status = Status::LimitExceeded("message text of " + std::to_string(r.text.size()) +
                                       " bytes exceeds " +
                                       std::to_string(options_.max_record_bytes));
      return;
    }
    auto parsed = Message::ParseValue(r.text);
    if (!parsed.ok()) {
      r.kind = IngestRecord::Kind::kBad;
      r.status = parsed.status();
      return;
    }
    v = std::move(parsed).value();
    // Parsed: the text is not needed any more (what is stored is the message's own wire form),
    // and batches in flight hold less.
    std::string().swap(r.text);
  }
  if (options_.is_message && !options_.is_message(r, v)) {
    r.kind = IngestRecord::Kind::kOther;
    r.other = std::move(v);
    return;
  }
  std::optional<double> received = r.received;
  if (options_.unwrap_kvt) {
    if (json::Value* inner = KvtValue(v)) {
      if (options_.keep_received && !received) {
        if (const json::Value* ts = v.Find("timestamp"); ts && ts->is_number() &&
                                                         std::isfinite(ts->as_number())) {
          received = ts->as_number();
        }
      }
      json::Value taken = std::move(*inner);
      v = std::move(taken);
    }
  }
  Message msg = Message::FromValue(std::move(v));
  r.kind = IngestRecord::Kind::kMessage;
  r.status = CheckAuthentic(msg, options_.validate);
  bool authentic = r.status.ok();
  if (!options_.for_store) {
    r.message.emplace(PreparedMessage{.msg = std::move(msg)});
    r.message->authentic = authentic;
    return;
  }
  // Only what its author really sent is worth a decryption (a scalar multiplication each).
  std::optional<std::string> plaintext;
  if (authentic && options_.reader && msg.is_encrypted()) {
    plaintext = DecryptContent(*msg.content(), *options_.reader);
  }
  // Verified: the store never checks it again (PreparedMessage::authentic), and a batch in
  // flight holds less without the signing bytes.
  if (authentic) msg.ReleaseSigningBytes();
  r.message = PrepareMessage(std::move(msg), std::move(plaintext));
  r.message->authentic = authentic;
  r.message->received = received;
}

bool IngestChecker::CheckChunk(IngestBatch& b, size_t from, size_t to) const {
  for (size_t i = from; i < to; ++i) CheckRecord(b.records[i]);
  if (b.pending_.fetch_sub(1, std::memory_order_acq_rel) != 1) return false;
  b.checked_.store(true, std::memory_order_release);
  return true;
}

void IngestChecker::Spread(IngestBatch& b, std::function<void()> last) const {
  size_t n = b.records.size();
  if (n == 0) {
    b.checked_.store(true, std::memory_order_release);
    if (last) last();
    return;
  }
  size_t chunks = (n + kChunkRecords - 1) / kChunkRecords;
  b.pending_.store(chunks, std::memory_order_relaxed);
  auto shared_last = std::make_shared<std::function<void()>>(std::move(last));
  for (size_t c = 0; c < chunks; ++c) {
    size_t from = c * kChunkRecords, to = std::min(n, from + kChunkRecords);
    pool_.Submit([this, &b, from, to, shared_last] {
      if (CheckChunk(b, from, to) && *shared_last) (*shared_last)();
    });
  }
}

void IngestChecker::CheckAsync(std::shared_ptr<IngestBatch> batch,
                               std::function<void()> done) const {
  IngestBatch& b = *batch;
  // The batch lives until the last chunk has run `done`.
  Spread(b, [batch = std::move(batch), done = std::move(done)] {
    if (done) done();
  });
}

void IngestChecker::Check(IngestBatch& batch) const {
  // Our own flag, not the batch's: the last job signals it after its last touch of the batch,
  // so the caller cannot destroy the batch under it.
  auto done = std::make_shared<std::atomic<bool>>(false);
  Spread(batch, [done] {
    done->store(true, std::memory_order_release);
    done->notify_all();
  });
  // Help with the queued chunks (ours or anyone's), then wait for the ones still running.
  while (!done->load(std::memory_order_acquire)) {
    if (!pool_.RunOne()) done->wait(false, std::memory_order_acquire);
  }
}

// ---- the queue

IngestQueue::IngestQueue(const IngestChecker& checker, IngestLimits limits)
    : checker_(checker), limits_(limits), max_running_(checker.pool().size() + 1) {}

IngestQueue::~IngestQueue() {
  Cancel();
  std::unique_lock lock(mu_);
  while (running_ > 0) {
    lock.unlock();
    bool ran = checker_.pool().RunOne();
    lock.lock();
    if (!ran) ready_.wait(lock, [&] { return running_ == 0; });
  }
}

std::vector<std::shared_ptr<IngestBatch>> IngestQueue::TakeStartable() {
  std::vector<std::shared_ptr<IngestBatch>> out;
  if (cancelled_) return out;
  for (size_t i = 0; i < queue_.size(); ++i) {
    Entry& e = queue_[i];
    if (e.started) continue;
    // Parsing can multiply a batch's size, and it is counted once a check ends: checks run
    // a few at a time (each is spread over the whole pool), and over the bound only the next
    // batch is checked.
    if (i > 0 && (bytes_ > limits_.max_bytes || running_ >= max_running_)) break;
    e.started = true;
    ++running_;
    out.push_back(e.batch);
  }
  return out;
}

void IngestQueue::Start(std::vector<std::shared_ptr<IngestBatch>> batches) {
  for (auto& b : batches) {
    IngestBatch* raw = b.get();
    checker_.CheckAsync(std::move(b), [this, raw] {
      size_t held = raw->held_bytes();
      std::vector<std::shared_ptr<IngestBatch>> next;
      {
        std::lock_guard lock(mu_);
        for (Entry& e : queue_) {
          if (e.batch.get() != raw) continue;
          bytes_ = bytes_ - e.bytes + held;
          e.bytes = held;
          break;
        }
        --running_;
        next = TakeStartable();
        // Under the lock: once running_ is 0 the destructor may end, and nothing of the queue
        // may be touched after the lock is released (the started batches count as running).
        ready_.notify_all();
        room_.notify_all();
      }
      Start(std::move(next));
    });
  }
}

bool IngestQueue::Push(std::unique_ptr<IngestBatch> batch) {
  std::shared_ptr<IngestBatch> b(std::move(batch));
  std::vector<std::shared_ptr<IngestBatch>> start;
  {
    std::unique_lock lock(mu_);
    room_.wait(lock, [&] {
      return cancelled_ || (queue_.size() < limits_.max_batches &&
                            (queue_.empty() || bytes_ + b->bytes() <= limits_.max_bytes));
    });
    if (cancelled_) return false;
    queue_.push_back(Entry{b, b->bytes(), false});
    bytes_ += b->bytes();
    start = TakeStartable();
  }
  Start(std::move(start));
  return true;
}

void IngestQueue::Close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  ready_.notify_all();
}

void IngestQueue::Cancel() {
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
  }
  room_.notify_all();
  ready_.notify_all();
}

std::shared_ptr<IngestBatch> IngestQueue::Pop() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (cancelled_) return nullptr;
    if (!queue_.empty() && queue_.front().batch->checked()) {
      std::shared_ptr<IngestBatch> b = std::move(queue_.front().batch);
      bytes_ -= queue_.front().bytes;
      queue_.pop_front();
      auto start = TakeStartable();
      lock.unlock();
      room_.notify_all();
      Start(std::move(start));
      return b;
    }
    if (queue_.empty() && closed_) return nullptr;
    // The next batch is not checked yet: check some of it (or of anything queued) here.
    lock.unlock();
    bool ran = checker_.pool().RunOne();
    lock.lock();
    if (!ran) {
      ready_.wait(lock, [&] {
        return cancelled_ || (queue_.empty() && closed_) ||
               (!queue_.empty() && queue_.front().batch->checked());
      });
    }
  }
}

// ---- the writer

IngestWriter::IngestWriter(Store& store, const IngestOptions& options) : store_(store) {
  append_.validate = options.validate;
}

Status IngestWriter::Append(IngestBatch& batch) {
  std::vector<const PreparedMessage*> msgs;
  std::vector<IngestRecord*> owners;
  msgs.reserve(batch.records.size());
  owners.reserve(batch.records.size());
  for (IngestRecord& r : batch.records) {
    if (r.skip) continue;
    if (r.kind == IngestRecord::Kind::kBad) {
      r.outcome = AppendOutcome{};
      r.outcome.status = r.status;
      ++counts_.rejected;
      continue;
    }
    if (r.kind != IngestRecord::Kind::kMessage) continue;
    msgs.push_back(&*r.message);
    owners.push_back(&r);
  }
  if (msgs.empty()) return Status::Ok();
  auto outs = store_.AppendPrepared(msgs, append_);
  if (!outs.ok()) return outs.status();
  std::vector<const PreparedMessage*> stored;
  stored.reserve(msgs.size());
  for (size_t i = 0; i < msgs.size(); ++i) {
    AppendOutcome& o = (*outs)[i];
    switch (o.kind) {
      case AppendKind::kAppended:
        ++counts_.appended;
        stored.push_back(msgs[i]);
        break;
      case AppendKind::kDuplicate:
        ++counts_.duplicates;
        break;
      case AppendKind::kRejected:
        ++counts_.rejected;
        if (o.fork_recorded) ++counts_.forks_recorded;
        break;
    }
    owners[i]->outcome = std::move(o);
  }
  if (!stored.empty()) {
    for (const Hook& h : hooks_) h(stored);
  }
  return Status::Ok();
}

// ---- NDJSON input

namespace {

bool Blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

}  // namespace

Status ReadLines(int fd, std::string_view name, IngestQueue& queue,
                 const LineReaderOptions& options) {
  LineReader in(fd, std::string(name), options.max_line_bytes);
  auto batch = std::make_unique<IngestBatch>();
  Status result;
  bool open = true;  // false once the queue was cancelled
  for (;;) {
    LineReader::Item item = in.Next();
    if (item.kind == LineReader::Kind::kEnd) break;
    if (item.kind == LineReader::Kind::kError) {
      result = item.status;
      break;
    }
    if (item.kind == LineReader::Kind::kTooLong) {
      // Not kept: a record without text, rejected as it is.
      IngestRecord& r = batch->Add(std::string(), in.line_number());
      r.kind = IngestRecord::Kind::kBad;
      r.status = item.status;
    } else if (Blank(item.line)) {
      continue;
    } else {
      batch->Add(std::string(item.line), in.line_number());
    }
    if (batch->records.size() >= options.batch_records) {
      open = queue.Push(std::move(batch));
      if (!open) break;
      batch = std::make_unique<IngestBatch>();
    }
  }
  if (open && !batch->records.empty()) queue.Push(std::move(batch));
  queue.Close();
  return result;
}

}  // namespace ssb
