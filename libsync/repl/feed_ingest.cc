// FeedIngest: messages from one peer into the store, checked one by one, appended in batches.
// PROTOCOL.md §5.2 (legacy replication: messages arrive per feed in sequence order, starting at
// the sequence we asked for; JS peers ignore what they hold already).
#include <span>
#include <utility>

#include "ssb/ref.h"
#include "ssb/replication.h"

namespace ssb {
namespace {

IngestResult Describe(const Message& msg) {
  IngestResult r;
  r.key = msg.id();
  r.author = std::string(msg.author());
  r.sequence = msg.sequence().value_or(0);
  return r;
}

IngestResult Verdict(IngestResult r, IngestVerdict v, Status s = Status::Ok()) {
  r.verdict = v;
  r.status = std::move(s);
  return r;
}

// A {key, value, timestamp} object (createHistoryStream with keys:true) holds the message in
// `value`; a message value itself has an `author`.
const json::Value* UnwrapKvt(const json::Value& v) {
  if (!v.is_object() || v.Find("author")) return nullptr;
  const json::Value* key = v.Find("key");
  const json::Value* value = v.Find("value");
  if (!key || !key->is_string() || !value || !value->is_object()) return nullptr;
  return value;
}

}  // namespace

std::string_view VerdictName(IngestVerdict v) {
  switch (v) {
    case IngestVerdict::kAccepted:
      return "accepted";
    case IngestVerdict::kDuplicate:
      return "duplicate";
    case IngestVerdict::kNotReplicated:
      return "not-replicated";
    case IngestVerdict::kInvalid:
      return "invalid";
    case IngestVerdict::kFork:
      return "fork";
  }
  return "unknown";
}

FeedIngest::FeedIngest(Store& store, WantedFn wanted, FeedIngestOptions options)
    : store_(store), wanted_(std::move(wanted)), options_(std::move(options)) {
  // Every message is verified here; the store then skips the second check (see Flush).
  options_.validate.verify_signature = true;
  if (options_.batch_size == 0) options_.batch_size = 1;
}

FeedIngest::~FeedIngest() { static_cast<void>(FlushInternal()); }

Result<FeedIngest::Head*> FeedIngest::LoadHead(const std::string& author, bool refresh) {
  auto it = heads_.find(author);
  if (it != heads_.end() && !refresh) return &it->second;
  auto info = store_.Feed(author);
  if (!info.ok()) return info.status();
  Head& h = heads_[author];
  // REQUIRES (callers): nothing of this feed is queued when refreshing.
  h.queued = 0;
  if (*info) {
    h.seq = (*info)->sequence;
    h.key = (*info)->key;
    h.frozen = (*info)->frozen_at.has_value();
  } else {
    h = Head{};
  }
  return &h;
}

Result<int64_t> FeedIngest::Latest(std::string_view feed) {
  auto h = LoadHead(std::string(feed), false);
  if (!h.ok()) return h.status();
  return (*h)->seq;
}

Result<IngestResult> FeedIngest::Receive(std::string_view wire_json) {
  if (wire_json.size() > options_.max_text_bytes) {
    return Verdict({}, IngestVerdict::kInvalid,
                   Status::LimitExceeded("message text of " + std::to_string(wire_json.size()) +
                                         " bytes exceeds " +
                                         std::to_string(options_.max_text_bytes)));
  }
  auto m = Message::Parse(wire_json);
  if (!m.ok()) return Verdict({}, IngestVerdict::kInvalid, m.status());
  if (const json::Value* inner = UnwrapKvt(m->value())) {
    return Receive(Message::FromValue(*inner));
  }
  return Receive(std::move(m).value());
}

Result<IngestResult> FeedIngest::Receive(json::Value value) {
  if (const json::Value* inner = UnwrapKvt(value)) {
    json::Value v = *inner;
    return Receive(Message::FromValue(std::move(v)));
  }
  return Receive(Message::FromValue(std::move(value)));
}

Result<IngestResult> FeedIngest::Receive(Message msg) { return ReceiveImpl(std::move(msg), false); }

Result<IngestResult> FeedIngest::ReceiveVerified(Message msg) {
  return ReceiveImpl(std::move(msg), true);
}

Result<IngestResult> FeedIngest::ReceiveImpl(Message msg, bool signature_verified) {
  IngestResult r = Describe(msg);
  if (!IsFeedId(r.author) || r.sequence < 1) {
    // Let Validate name the broken rule; it fails on a missing author or sequence.
    Status s = Validate(msg, nullptr, options_.validate);
    if (s.ok()) s = Status::InvalidMessage("message has no valid author or sequence");
    if (s.code() == Code::kFork) s = Status::InvalidMessage(s.message());
    return Verdict(std::move(r), IngestVerdict::kInvalid, std::move(s));
  }
  if (!wanted_ || !wanted_(r.author)) return Verdict(std::move(r), IngestVerdict::kNotReplicated);

  auto hr = LoadHead(r.author, false);
  if (!hr.ok()) return hr.status();
  Head* head = *hr;
  const int64_t seq = r.sequence;

  if (seq > head->seq + 1 && !head->frozen) {
    // Maybe only our cache is behind: another ingest (or a bundle import) may have appended to
    // this feed. Re-read the store's head before calling it a gap.
    if (head->queued > 0) SSB_RETURN_IF_ERROR(FlushInternal());
    hr = LoadHead(r.author, true);
    if (!hr.ok()) return hr.status();
    head = *hr;
  }

  if (seq <= head->seq) {
    if ((seq == head->seq && r.key == head->key) || queued_ids_.count(r.key)) {
      return Verdict(std::move(r), IngestVerdict::kDuplicate);
    }
    auto stored = store_.Get(r.key);
    if (stored.ok()) return Verdict(std::move(r), IngestVerdict::kDuplicate);
    if (stored.status().code() != Code::kNotFound) return stored.status();
    // A message we do not hold at a sequence we hold: a fork if the author really signed it.
    // The store checks the signature and records the fork (ForkRecord::kSameSequence).
    return StoreDirectly(msg, std::move(r));
  }
  if (head->frozen) {
    return Verdict(std::move(r), IngestVerdict::kFork,
                   Status::Fork("feed " + r.author + " is frozen after a fork"));
  }
  if (seq > head->seq + 1) {
    return Verdict(std::move(r), IngestVerdict::kInvalid,
                   Status::InvalidMessage("sequence gap: we hold " + std::to_string(head->seq) +
                                          " messages of " + r.author + ", message has sequence " +
                                          std::to_string(seq)));
  }

  FeedState prev{head->key, head->seq};
  ValidateOptions vo = options_.validate;
  if (signature_verified) vo.verify_signature = false;
  Status v = Validate(msg, head->seq ? &prev : nullptr, vo);
  if (v.code() == Code::kFork) {
    // The right sequence, another previous: the store records it (kPreviousMismatch) after
    // checking the signature.
    return StoreDirectly(msg, std::move(r));
  }
  if (!v.ok()) return Verdict(std::move(r), IngestVerdict::kInvalid, std::move(v));

  head->seq = seq;
  head->key = r.key;
  ++head->queued;
  queued_ids_.insert(r.key);
  queue_.push_back(std::move(msg));
  if (queue_.size() >= options_.batch_size) SSB_RETURN_IF_ERROR(FlushInternal());
  return Verdict(std::move(r), IngestVerdict::kAccepted);
}

Result<IngestResult> FeedIngest::StoreDirectly(const Message& msg, IngestResult r) {
  SSB_RETURN_IF_ERROR(FlushInternal());
  AppendOptions opt;
  opt.validate = options_.validate;  // verify_signature: true; this one was not verified yet
  auto outs = store_.AppendBatch(std::span<const Message>(&msg, 1), opt);
  if (!outs.ok()) return outs.status();
  const AppendOutcome& o = outs->front();
  // The feed's head may have moved (appended) or frozen (fork): re-read it.
  auto h = LoadHead(r.author, true);
  if (!h.ok()) return h.status();
  switch (o.kind) {
    case AppendKind::kAppended:
      // Only when our cached head was stale; the store accepted it as the next message.
      pending_.appended.push_back(msg);
      return Verdict(std::move(r), IngestVerdict::kAccepted);
    case AppendKind::kDuplicate:
      return Verdict(std::move(r), IngestVerdict::kDuplicate);
    case AppendKind::kRejected:
      break;
  }
  if (o.status.code() == Code::kFork) {
    r.fork_recorded = o.fork_recorded;
    return Verdict(std::move(r), IngestVerdict::kFork, o.status);
  }
  return Verdict(std::move(r), IngestVerdict::kInvalid, o.status);
}

Status FeedIngest::FlushInternal() {
  if (queue_.empty()) return Status::Ok();
  std::vector<Message> batch = std::move(queue_);
  queue_.clear();
  queued_ids_.clear();
  for (auto& [author, h] : heads_) h.queued = 0;

  AppendOptions opt;
  opt.validate = options_.validate;
  // Every queued message passed Validate (signature included) with these options; the store
  // re-checks only the chain against what it holds now.
  opt.validate.verify_signature = false;
  auto outs = store_.AppendBatch(batch, opt);
  if (!outs.ok()) {
    // Rolled back. Forget the cached heads (they counted the queued messages); the peer's
    // messages will be asked for again.
    heads_.clear();
    return outs.status();
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    const AppendOutcome& o = (*outs)[i];
    switch (o.kind) {
      case AppendKind::kAppended:
        pending_.appended.push_back(std::move(batch[i]));
        break;
      case AppendKind::kDuplicate:
        ++pending_.duplicates;
        break;
      case AppendKind::kRejected: {
        IngestResult r = Describe(batch[i]);
        r.fork_recorded = o.fork_recorded;
        heads_.erase(r.author);  // the store's chain differs from what we assumed
        pending_.rejected.push_back(Verdict(std::move(r),
                                            o.status.code() == Code::kFork
                                                ? IngestVerdict::kFork
                                                : IngestVerdict::kInvalid,
                                            o.status));
        break;
      }
    }
  }
  return Status::Ok();
}

Result<FlushReport> FeedIngest::Flush() {
  SSB_RETURN_IF_ERROR(FlushInternal());
  FlushReport out = std::move(pending_);
  pending_ = FlushReport{};
  return out;
}

}  // namespace ssb
