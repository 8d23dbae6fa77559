// `sbot add` and `sbot validate`: NDJSON messages from stdin through the ingest stage
// (ssb/ingest.h). A reader thread reads stdin in large blocks and cuts it into batches; the
// worker pool parses and checks them on every core; this thread takes them back in order,
// applies the chain rules (and, for add, stores them) and prints one result line per message.
#include <iostream>
#include <map>
#include <thread>

#include "ssb/ingest.h"
#include "verbs.h"

namespace sbot {
namespace {

using ssb::IngestRecord;
using ssb::json::Value;

// The reader thread of stdin, joined (and its status kept) on destruction or Join().
class StdinReader {
 public:
  explicit StdinReader(ssb::IngestQueue& queue)
      : queue_(queue), thread_([this] { status_ = ssb::ReadLines(0, "stdin", queue_); }) {}
  ~StdinReader() {
    if (thread_.joinable()) {
      queue_.Cancel();
      thread_.join();
    }
  }
  ssb::Status Join() {
    thread_.join();
    return status_;
  }

 private:
  ssb::IngestQueue& queue_;
  ssb::Status status_;
  std::thread thread_;
};

}  // namespace

// NDJSON message values or {key, value, ...} objects on stdin; each checked against the
// previous message of its feed seen earlier in the same input.
int LocalValidate(Context& ctx, const Method&, const VerbArgs& args) {
  auto opt = ctx.ValidateOptions();
  if (!opt.ok()) return ctx.Fail(opt.status());
  bool strict = false;
  if (auto st = OptBool(args.options, "strict", &strict); !st.ok()) return ctx.Fail(st);
  if (strict) opt->mode = ssb::ValidationMode::kStrict;
  ssb::IngestOptions iopt;
  iopt.validate = *opt;
  iopt.for_store = false;
  iopt.max_record_bytes = ssb::LineReaderOptions{}.max_line_bytes;
  ssb::IngestChecker checker(iopt);
  ssb::IngestQueue queue(checker);
  StdinReader reader(queue);

  ssb::ValidateOptions chain = *opt;
  chain.verify_signature = false;  // checked by the workers
  std::map<std::string, ssb::FeedState, std::less<>> feeds;
  size_t total = 0, invalid = 0;
  while (auto batch = queue.Pop()) {
    for (IngestRecord& r : batch->records) {
      ++total;
      Value out = Value::Object();
      if (r.kind != IngestRecord::Kind::kMessage) {
        ++invalid;
        out.Set("valid", Value::Bool(false));
        out.Set("error", Value::String(r.status.message()));
        ctx.Print(out);
        continue;
      }
      const ssb::Message& msg = r.message->msg;
      std::string author(msg.author());
      auto it = feeds.find(author);
      const ssb::FeedState* prev = it == feeds.end() ? nullptr : &it->second;
      ssb::FeedState assumed;
      auto seq = msg.sequence();
      if (!prev && seq && *seq > 1) {
        // The input starts in the middle of this feed: trust the link to the unseen predecessor.
        assumed = {std::string(msg.previous()), *seq - 1};
        prev = &assumed;
        out.Set("note", Value::String("previous message not in the input"));
      }
      // An authentic message needs only the chain rules; for one that is not, the full check
      // names the first rule it breaks, as it always did.
      ssb::Status st = *r.message->authentic ? ssb::ValidateAuthentic(msg, prev, chain)
                                             : ssb::Validate(msg, prev, *opt);
      out.Set("key", Value::String(msg.id()));
      out.Set("valid", Value::Bool(st.ok()));
      if (st.ok()) {
        feeds[author] = {msg.id(), *seq};
      } else {
        ++invalid;
        out.Set("error", Value::String(st.message()));
      }
      ctx.Print(out);
    }
  }
  if (auto st = reader.Join(); !st.ok()) return ctx.Fail(st);
  if (invalid) {
    std::cerr << "sbot: " << invalid << " of " << total << " messages are invalid\n";
    return kExitRejected;
  }
  return kExitOk;
}

// Message values or {key, value} objects, one per line on stdin: validate and store each, in
// transactions of --batch messages (durable commits), one result line per message, printed
// once its transaction committed.
int LocalAdd(Context& ctx, const Method&, const VerbArgs& args) {
  auto opt = ctx.ValidateOptions();
  if (!opt.ok()) return ctx.Fail(opt.status());
  int64_t batch_size = 1000;
  if (auto st = OptInt(args.options, "batch", &batch_size); !st.ok()) return ctx.Fail(st);
  if (batch_size < 1) batch_size = 1;
  auto store = ctx.Store();
  if (!store.ok()) return ctx.Fail(store.status());
  // Private messages for us are decrypted on the way in (there is no one to decrypt for
  // when this data dir has no identity yet).
  auto keys = ctx.ExistingIdentity();
  if (!keys.ok()) return ctx.Fail(keys.status());

  ssb::IngestOptions iopt;
  iopt.validate = *opt;
  iopt.reader = *keys;
  iopt.max_record_bytes = ssb::LineReaderOptions{}.max_line_bytes;
  ssb::IngestChecker checker(iopt);
  ssb::IngestWriter writer(**store, iopt);
  ssb::IngestQueue queue(checker);
  StdinReader reader(queue);

  size_t rejected = 0, appended = 0, duplicates = 0;
  auto print = [&](const IngestRecord& r) {
    Value out = Value::Object();
    if (r.kind == IngestRecord::Kind::kBad) {
      ++rejected;
      out.Set("error", Value::String(r.status.ToString()));
      ctx.Print(out);
      return;
    }
    const ssb::AppendOutcome& o = r.outcome;
    out.Set("key", Value::String(o.key));
    switch (o.kind) {
      case ssb::AppendKind::kAppended:
        ++appended;
        out.Set("stored", Value::Bool(true));
        break;
      case ssb::AppendKind::kDuplicate:
        ++duplicates;
        out.Set("stored", Value::Bool(true));
        out.Set("duplicate", Value::Bool(true));
        break;
      case ssb::AppendKind::kRejected:
        ++rejected;
        out.Set("stored", Value::Bool(false));
        out.Set("error", Value::String(o.status.ToString()));
        if (o.fork_recorded) out.Set("fork", Value::Bool(true));
        break;
    }
    ctx.Print(out);
  };

  // Batches appended in the open transaction, printed when it commits.
  std::vector<std::shared_ptr<ssb::IngestBatch>> done;
  std::unique_ptr<ssb::StoreTransaction> tx;
  int64_t in_tx = 0;
  auto commit = [&]() -> ssb::Status {
    if (tx) SSB_RETURN_IF_ERROR(tx->Commit());
    tx.reset();
    in_tx = 0;
    for (const auto& b : done)
      for (const IngestRecord& r : b->records) print(r);
    done.clear();
    return ssb::Status::Ok();
  };
  while (auto batch = queue.Pop()) {
    if (!tx) {
      auto t = (*store)->BeginTransaction();
      if (!t.ok()) return ctx.Fail(t.status());
      tx = std::move(t).value();
    }
    if (auto st = writer.Append(*batch); !st.ok()) return ctx.Fail(st);
    in_tx += static_cast<int64_t>(batch->records.size());
    done.push_back(std::move(batch));
    if (in_tx >= batch_size) {
      if (auto st = commit(); !st.ok()) return ctx.Fail(st);
    }
  }
  if (auto st = commit(); !st.ok()) return ctx.Fail(st);
  if (auto st = reader.Join(); !st.ok()) return ctx.Fail(st);
  std::cerr << "sbot: " << appended << " stored, " << duplicates << " already present, "
            << rejected << " rejected\n";
  return rejected ? kExitRejected : kExitOk;
}

}  // namespace sbot
