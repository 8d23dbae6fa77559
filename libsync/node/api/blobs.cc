// blobs.* as ssb-blobs 1.2 serves them: has, size, meta, get, getSlice, createWants, changes,
// want, push, add, ls, rm, help.
#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "help.h"

#include "support.h"
#include "ssb/feed_ops.h"
#include "ssb/ref.h"

namespace ssb {

namespace {

constexpr size_t kBlobChunk = 64 * 1024;

// A blob id from blobs.get's argument: the id, or {key|hash|id, size, max}.
Status BlobArg(const Value& a, std::string* id, std::optional<uint64_t>* size,
               std::optional<uint64_t>* max) {
  if (a.is_string()) {
    *id = a.as_string();
  } else if (a.is_object()) {
    for (const char* k : {"key", "hash", "id"}) {
      if (const Value* v = a.Find(k); v && v->is_string()) {
        *id = v->as_string();
        break;
      }
    }
    if (const Value* v = a.Find("size"); v && v->is_number()) *size = static_cast<uint64_t>(v->as_number());
    if (const Value* v = a.Find("max"); v && v->is_number()) *max = static_cast<uint64_t>(v->as_number());
  }
  if (!IsBlobId(*id)) return Status::InvalidArgument("invalid hash:" + *id);
  return Status::Ok();
}

// blobs.get, and blobs.getSlice with `slice` (start and end offsets).
rpc::StreamHandler ServeBlob(BlobStore& blobs, bool slice) {
  return [&blobs, slice](CallContext&, const Value& args, std::shared_ptr<Stream> s) -> awaitable<void> {
    std::string id;
    std::optional<uint64_t> size, max;
    const Value& a = Arg(args, 0);
    if (Status st = BlobArg(a, &id, &size, &max); !st.ok()) {
      s->End(st);
      co_return;
    }
    auto bytes = blobs.Get(id);
    if (!bytes.ok()) {
      s->End(Status::NotFound("could not get blob " + id));
      co_return;
    }
    if (size && *size != bytes->size()) {
      s->End(Status::InvalidArgument("incorrect file length, requested " + std::to_string(*size) +
                                     " found:" + std::to_string(bytes->size())));
      co_return;
    }
    if (max && bytes->size() > *max) {
      s->End(Status::LimitExceeded("blob " + id + " is larger than max " + std::to_string(*max)));
      co_return;
    }
    size_t start = 0, end = bytes->size();
    if (slice) {
      int64_t st = 0, en = static_cast<int64_t>(end);
      (void)OptInt(a, "start", &st);
      (void)OptInt(a, "end", &en);
      start = static_cast<size_t>(std::clamp<int64_t>(st, 0, static_cast<int64_t>(end)));
      end = static_cast<size_t>(std::clamp<int64_t>(en, static_cast<int64_t>(start), static_cast<int64_t>(end)));
    }
    for (size_t off = start; off < end && !s->closed(); off += kBlobChunk) {
      size_t n = std::min(kBlobChunk, end - off);
      s->WriteBinary(std::string(reinterpret_cast<const char*>(bytes->data()) + off, n));
      co_await s->Drain();
    }
  };
}

// {id, size, ts} of a stored blob (ts: when it was stored, ms), or nullopt.
std::optional<Value> BlobMeta(const BlobStore& blobs, const std::string& id) {
  struct stat st;
  if (::stat(blobs.PathFor(id).c_str(), &st) != 0) return std::nullopt;
  Value v = Value::Object();
  v.Set("id", Value::String(id));
  v.Set("size", Value::Number(static_cast<double>(st.st_size)));
  v.Set("ts", Value::Number(static_cast<double>(st.st_mtim.tv_sec) * 1000 +
                            static_cast<double>(st.st_mtim.tv_nsec / 1000000)));
  return v;
}

// blobs.ls({meta|long, live, old}): the stored blobs (ids, or {id, size, ts}), then, live,
// those stored later.
class LsSource : public view::Source {
 public:
  LsSource(const BlobStore& blobs, const Value& opts) : blobs_(blobs) {
    meta_ = api::Truthy(opts.Find("meta")) || api::Truthy(opts.Find("long"));
    live_ = api::IsTrue(opts.Find("live")) || api::IsFalse(opts.Find("old"));
    old_ = !api::IsFalse(opts.Find("old"));
  }
  Result<State> Next(size_t, std::vector<std::string>* out) override {
    auto list = blobs_.List();
    if (!list.ok()) return list.status();
    bool first = !started_;
    started_ = true;
    for (const auto& id : *list) {
      if (!seen_.insert(id).second) continue;
      if (first && !old_) continue;
      if (meta_) {
        auto m = BlobMeta(blobs_, id);
        if (!m) continue;
        out->push_back(json::Stringify(*m));
      } else {
        std::string q;
        json::AppendQuoted(&q, id);
        out->push_back(std::move(q));
      }
      ++produced_;
    }
    if (first && live_ && old_) {
      out->push_back("{\"sync\":true}");
      ++produced_;
    }
    return live_ ? State::kLive : State::kDone;
  }

 private:
  const BlobStore& blobs_;
  bool meta_ = false, live_ = false, old_ = true, started_ = false;
  std::set<std::string> seen_;
};

}  // namespace

void RegisterBlobsApi(ApiParts& parts) {
  rpc::Api& api = parts.api;
  BlobStore& blobs = *parts.node.blobs;
  BlobTransfer& transfer = parts.blobs;
  // --- anyone ---
  api.AddAsync("blobs.has", Access::kAnyone,
               [&blobs](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 const Value& a = Arg(args, 0);
                 if (a.is_array()) {
                   Value out = Value::Array();
                   for (const Value& id : a.items()) {
                     if (!id.is_string() || !IsBlobId(id.as_string()))
                       co_return Status::InvalidArgument("invalid hash:" + json::Stringify(id));
                     out.Push(Value::Bool(blobs.Has(id.as_string())));
                   }
                   co_return out;
                 }
                 if (!a.is_string() || !IsBlobId(a.as_string()))
                   co_return Status::InvalidArgument("invalid hash:" + json::Stringify(a));
                 co_return Value::Bool(blobs.Has(a.as_string()));
               });
  api.AddAsync("blobs.size", Access::kAnyone,
               [&blobs](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 const Value& a = Arg(args, 0);
                 if (!a.is_string() || !IsBlobId(a.as_string()))
                   co_return Status::InvalidArgument("invalid hash:" + json::Stringify(a));
                 auto size = blobs.Size(a.as_string());
                 if (!size.ok()) co_return api::Undefined();
                 co_return Value::Number(static_cast<double>(*size));
               });
  api.AddAsync("blobs.meta", Access::kOwner,
               [&blobs](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 const Value& a = Arg(args, 0);
                 if (!a.is_string() || !IsBlobId(a.as_string()))
                   co_return Status::InvalidArgument("invalid hash:" + json::Stringify(a));
                 auto m = BlobMeta(blobs, a.as_string());
                 if (!m) co_return api::Undefined();
                 co_return *m;
               });
  api.AddStream("blobs.get", CallType::kSource, Access::kAnyone, ServeBlob(blobs, false));
  api.AddStream("blobs.getSlice", CallType::kSource, Access::kAnyone, ServeBlob(blobs, true));
  api.AddStream("blobs.createWants", CallType::kSource, Access::kAnyone,
                [&parts](CallContext& ctx, const Value&, std::shared_ptr<Stream> s) -> awaitable<void> {
                  auto peer = parts.connections.PeerById(FeedIdFromKey(ctx.peer.id));
                  co_await parts.blobs.ServeWants(peer, ctx.peer.owner, s);
                });
  api.AddStream("blobs.changes", CallType::kSource, Access::kAnyone,
                [&transfer](CallContext&, const Value&, std::shared_ptr<Stream> s) -> awaitable<void> {
                  co_await transfer.ServeChanges(s);
                });

  // --- the owner ---
  api.AddAsync("blobs.want", Access::kOwner,
               [&blobs, &transfer](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 const Value& a = Arg(args, 0);
                 std::string id = a.is_string() ? a.as_string() : "";
                 if (!IsBlobId(id)) co_return Status::InvalidArgument("invalid hash:" + id);
                 if (blobs.Has(id)) co_return Value::Bool(true);
                 SSB_CO_RETURN_IF_ERROR(transfer.Want(id));
                 co_return Value::Bool(blobs.Has(id));
               });
  api.AddStream("blobs.add", CallType::kSink, Access::kOwner,
                [&parts, &blobs, &transfer](CallContext&, const Value& args, std::shared_ptr<Stream> s) -> awaitable<void> {
                  std::vector<uint8_t> bytes;
                  for (;;) {
                    auto r = co_await s->Read();
                    if (!r.ok()) co_return;
                    if (!*r) break;
                    if (bytes.size() + (*r)->body.size() > blobs.max_size()) {
                      s->End(Status::LimitExceeded("blob is over " + std::to_string(blobs.max_size()) + " bytes"));
                      co_return;
                    }
                    bytes.insert(bytes.end(), (*r)->body.begin(), (*r)->body.end());
                  }
                  Result<std::string> id = Status::Ok();
                  const Value& want = Arg(args, 0);
                  if (want.is_string()) {
                    Status st = blobs.AddExpecting(want.as_string(), bytes);
                    id = st.ok() ? Result<std::string>(want.as_string()) : Result<std::string>(st);
                  } else {
                    id = blobs.Add(bytes);
                  }
                  if (!id.ok()) {
                    s->End(id.status());
                    co_return;
                  }
                  transfer.Stored(*id, bytes.size());
                  parts.node.new_messages.Notify();  // blobs.ls live
                  // A sink answers with its end; the id travels in a data packet first so the
                  // command line can print it.
                  s->WriteJson(Value::String(*id));
                });
  api.AddStream("blobs.ls", CallType::kSource, Access::kOwner,
                api::SourceMethod(parts, "blobs.ls", [&blobs](const Value& args) -> Result<view::SourcePtr> {
                  return view::SourcePtr(new LsSource(blobs, api::Opts(args)));
                }));
  // blobs.push(id): have peers fetch a blob we hold, by announcing it again.
  api.AddAsync("blobs.push", Access::kOwner,
               [&blobs, &transfer](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 const Value& a = Arg(args, 0);
                 if (!a.is_string() || !IsBlobId(a.as_string()))
                   co_return Status::InvalidArgument("invalid hash:" + json::Stringify(a));
                 auto size = blobs.Size(a.as_string());
                 if (!size.ok()) co_return Status::NotFound("no blob " + a.as_string());
                 transfer.Stored(a.as_string(), *size);
                 co_return api::Undefined();
               });
  api.AddSync("blobs.help", Access::kOwner,
              [](CallContext&, const Value&) -> awaitable<Result<Value>> { co_return api::BlobsHelp(); });
  api.AddAsync("blobs.rm", Access::kOwner,
               [&blobs](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 const Value& a = Arg(args, 0);
                 if (!a.is_string()) co_return Status::InvalidArgument("blobs.rm needs a blob id");
                 SSB_CO_RETURN_IF_ERROR(blobs.Remove(a.as_string()));
                 co_return api::Undefined();
               });
}

}  // namespace ssb
