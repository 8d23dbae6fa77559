// The RPC methods a node serves: what ssb-server offers its owner and anonymous peers, under
// the same names and argument shapes, so ssb-client and the JS network can call them.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "node_impl.h"
#include "ssb/base64.h"
#include "ssb/box.h"
#include "ssb/feed_ops.h"
#include "ssb/files.h"
#include "ssb/ref.h"

namespace ssb {
namespace {

using asio::awaitable;
using json::Value;
using rpc::Access;
using rpc::CallContext;
using rpc::CallType;
using rpc::Stream;

constexpr size_t kBlobChunk = 64 * 1024;

const Value& Arg(const Value& args, size_t i) {
  static const Value kNull;
  return args.is_array() && i < args.size() ? args.items()[i] : kNull;
}

// The first argument as an options object ({} when absent).
Value Opts(const Value& args) {
  const Value& a = Arg(args, 0);
  return a.is_object() ? a : Value::Object();
}

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

Value StoredToKvt(const StoredMessage& m) {
  auto v = json::Parse(FormatMessage(m, MessageFormat{}));
  return v.ok() ? std::move(v).value() : Value();
}

}  // namespace

void Node::Impl::RegisterApi() {
  // --- anyone ---
  api_.AddAsync("manifest", Access::kAnyone,
                [this](CallContext&, const Value&) -> awaitable<Result<Value>> {
                  co_return api_.Manifest();
                });
  api_.AddStream("createHistoryStream", CallType::kSource, Access::kAnyone,
                 [this](CallContext& ctx, const Value& args, std::shared_ptr<Stream> s) -> awaitable<void> {
                   HistoryArgs h;
                   if (Status st = ReadHistoryArgs(Opts(args), &h); !st.ok()) {
                     s->End(st);
                     co_return;
                   }
                   co_await ServeHistory(s, std::move(h), !ctx.peer.owner);
                 });
  if (config_.ebt) {
    // ssb-ebt's replicate (PROTOCOL.md §5.2): anyone may ask, as ssb-ebt allows; version 3 and
    // the classic feed format only. Without it a peer gets "no duplex:ebt,replicate" and falls
    // back to legacy replication.
    api_.AddStream("ebt.replicate", CallType::kDuplex, Access::kAnyone,
                   [this](CallContext& ctx, const Value& args, std::shared_ptr<Stream> s) -> awaitable<void> {
                     Value o = Opts(args);
                     const Value* version = o.Find("version");
                     const Value* format = o.Find("format");
                     if (!version || !version->is_number() || version->as_number() != 3) {
                       s->End(Status::InvalidArgument("expected ebt.replicate({version: 3})"));
                       co_return;
                     }
                     if (format && !(format->is_string() && format->as_string() == "classic")) {
                       s->End(Status::Unsupported("ebt.replicate: only the classic feed format"));
                       co_return;
                     }
                     auto it = peers_.find(ctx.conn.get());
                     if (it == peers_.end() || it->second->owner) {
                       s->End(Status::Unsupported("ebt.replicate: not with the owner's connection"));
                       co_return;
                     }
                     if (it->second->ebt_stream) {
                       s->End(Status::Busy("ebt.replicate: a session with this peer is running"));
                       co_return;
                     }
                     co_await ServeEbt(it->second, s);
                   });
  }
  api_.AddStream("gossip.ping", CallType::kDuplex, Access::kAnyone,
                 [](CallContext&, const Value&, std::shared_ptr<Stream> s) -> awaitable<void> {
                   // Answer every timestamp with ours (pull-ping); the caller paces the volleys.
                   for (;;) {
                     auto r = co_await s->Read();
                     if (!r.ok() || !*r) break;
                     s->WriteJson(Value::Number(NowMs()));
                   }
                 });
  api_.AddAsync("blobs.has", Access::kAnyone,
                [this](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                  const Value& a = Arg(args, 0);
                  if (a.is_array()) {
                    Value out = Value::Array();
                    for (const Value& id : a.items()) {
                      if (!id.is_string() || !IsBlobId(id.as_string()))
                        co_return Status::InvalidArgument("invalid hash:" + json::Stringify(id));
                      out.Push(Value::Bool(blobs_->Has(id.as_string())));
                    }
                    co_return out;
                  }
                  if (!a.is_string() || !IsBlobId(a.as_string()))
                    co_return Status::InvalidArgument("invalid hash:" + json::Stringify(a));
                  co_return Value::Bool(blobs_->Has(a.as_string()));
                });
  api_.AddAsync("blobs.size", Access::kAnyone,
                [this](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                  const Value& a = Arg(args, 0);
                  if (!a.is_string() || !IsBlobId(a.as_string()))
                    co_return Status::InvalidArgument("invalid hash:" + json::Stringify(a));
                  auto size = blobs_->Size(a.as_string());
                  if (!size.ok()) co_return Value();
                  co_return Value::Number(static_cast<double>(*size));
                });
  auto serve_blob = [this](bool slice) {
    return [this, slice](CallContext&, const Value& args, std::shared_ptr<Stream> s) -> awaitable<void> {
      std::string id;
      std::optional<uint64_t> size, max;
      const Value& a = Arg(args, 0);
      if (Status st = BlobArg(a, &id, &size, &max); !st.ok()) {
        s->End(st);
        co_return;
      }
      auto bytes = blobs_->Get(id);
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
  };
  api_.AddStream("blobs.get", CallType::kSource, Access::kAnyone, serve_blob(false));
  api_.AddStream("blobs.getSlice", CallType::kSource, Access::kAnyone, serve_blob(true));
  api_.AddStream("blobs.createWants", CallType::kSource, Access::kAnyone,
                 [this](CallContext& ctx, const Value&, std::shared_ptr<Stream> s) -> awaitable<void> {
                   std::string peer = FeedIdFromKey(ctx.peer.id);
                   auto p = PeerById(peer);
                   if (!p || ctx.peer.owner) {
                     s->WriteJson(WantMapToJson(blob_wants_->wants()));
                     co_return;  // the owner has no use for a want stream
                   }
                   p->wants_out = s;
                   ApplyBlobActions(blob_wants_->PeerConnected(peer));
                   // Keep it open; BlobWants pushes updates onto it until the peer goes.
                   s->SetWake(blobs_changed_.get());
                   while (!s->closed() && !stopping_) co_await blobs_changed_->Wait();
                 });
  api_.AddStream("blobs.changes", CallType::kSource, Access::kAnyone,
                 [this](CallContext&, const Value&, std::shared_ptr<Stream> s) -> awaitable<void> {
                   s->SetWake(blobs_changed_.get());
                   std::string last = last_blob_added_;
                   while (!s->closed() && !stopping_) {
                     co_await blobs_changed_->Wait();
                     if (last_blob_added_ != last && !last_blob_added_.empty()) {
                       last = last_blob_added_;
                       s->WriteJson(Value::String(last));
                     }
                   }
                 });

  // --- the owner ---
  api_.AddAsync("whoami", Access::kOwner,
                [this](CallContext&, const Value&) -> awaitable<Result<Value>> {
                  Value v = Value::Object();
                  v.Set("id", Value::String(self_id_));
                  co_return v;
                });
  api_.AddAsync("publish", Access::kOwner,
                [this](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                  auto stored = PublishContent(*store_, keys_, Arg(args, 0), validate_);
                  if (!stored.ok()) co_return stored.status();
                  auto msg = Message::Parse(stored->value_json);
                  if (msg.ok()) AfterAppend({*msg});
                  co_return StoredToKvt(*stored);
                });
  api_.AddAsync("add", Access::kOwner,
                [this](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                  const Value& a = Arg(args, 0);
                  const Value* value = a.is_object() && a.Find("value") && a.Find("key") ? a.Find("value") : &a;
                  Message msg = Message::FromValue(*value);
                  AppendOptions aopt;
                  aopt.validate = validate_;
                  auto out = store_->Append(msg, aopt);
                  if (!out.ok()) co_return out.status();
                  if (out->kind == AppendKind::kAppended) AfterAppend({msg});
                  auto stored = store_->Get(msg.id());
                  if (!stored.ok()) co_return stored.status();
                  co_return StoredToKvt(*stored);
                });
  api_.AddAsync("get", Access::kOwner,
                [this](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                  const Value& a = Arg(args, 0);
                  std::string id = a.is_string() ? a.as_string() : "";
                  if (a.is_object()) (void)OptString(a, "id", &id);
                  auto m = store_->Get(id);
                  if (!m.ok()) co_return m.status();
                  auto v = json::Parse(FormatMessage(*m, MessageFormat{.keys = false}));
                  if (!v.ok()) co_return v.status();
                  co_return std::move(v).value();
                });
  auto range = [this](Status (Store::*fn)(const RangeQuery&, const MessageVisitor&)) {
    return [this, fn](CallContext&, const Value& args, std::shared_ptr<Stream> s) -> awaitable<void> {
      RangeQuery q;
      MessageFormat f;
      Value o = Opts(args);
      Status st = ReadRangeArgs(o, &q);
      if (st.ok()) st = ReadMessageFormat(o, &f);
      if (!st.ok()) {
        s->End(st);
        co_return;
      }
      st = ((*store_).*fn)(q, [&](const StoredMessage& m) {
        s->WriteJsonText(FormatMessage(m, f));
        return !s->closed();
      });
      if (!st.ok()) s->End(st);
    };
  };
  api_.AddStream("createFeedStream", CallType::kSource, Access::kOwner, range(&Store::FeedStream));
  api_.AddStream("createLogStream", CallType::kSource, Access::kOwner, range(&Store::LogStream));
  api_.AddStream("messagesByType", CallType::kSource, Access::kOwner,
                 [this](CallContext&, const Value& args, std::shared_ptr<Stream> s) -> awaitable<void> {
                   RangeQuery q;
                   MessageFormat f;
                   Value o = Opts(args);
                   std::string type = Arg(args, 0).is_string() ? Arg(args, 0).as_string() : "";
                   Status st = OptString(o, "type", &type);
                   if (st.ok()) st = ReadRangeArgs(o, &q);
                   if (st.ok()) st = ReadMessageFormat(o, &f);
                   if (st.ok() && type.empty()) st = Status::InvalidArgument("messagesByType needs a type");
                   if (st.ok()) {
                     st = store_->ByType(type, q, [&](const StoredMessage& m) {
                       s->WriteJsonText(FormatMessage(m, f));
                       return !s->closed();
                     });
                   }
                   if (!st.ok()) s->End(st);
                   co_return;
                 });
  api_.AddAsync("status", Access::kOwner,
                [this](CallContext&, const Value&) -> awaitable<Result<Value>> {
                  auto st = StoreStatus(*store_, self_id_, config_.data_dir);
                  if (!st.ok()) co_return st.status();
                  Value v = std::move(st).value();
                  v.Set("address", Value::String(Address()));
                  v.Set("replicating", Value::Number(static_cast<double>(repl_set_.size())));
                  Value conns = Value::Array();
                  for (const auto& [c, p] : peers_) {
                    if (p->owner) continue;
                    Value e = Value::Object();
                    e.Set("id", Value::String(p->id));
                    e.Set("address", Value::String(p->address));
                    e.Set("outgoing", Value::Bool(p->outgoing));
                    e.Set("received", Value::Number(static_cast<double>(p->messages_received)));
                    e.Set("replication", Value::String(p->ebt ? "ebt" : "legacy"));
                    conns.Push(std::move(e));
                  }
                  v.Set("connections", std::move(conns));
                  co_return v;
                });
  api_.AddAsync("gossip.peers", Access::kOwner,
                [this](CallContext&, const Value&) -> awaitable<Result<Value>> {
                  Value out = Value::Array();
                  for (const auto& [label, e] : gossip_) {
                    Value v = Value::Object();
                    v.Set("address", Value::String(label));
                    v.Set("key", Value::String(FeedIdFromKey(e.address.key)));
                    v.Set("source", Value::String(e.source));
                    v.Set("state", Value::String(IsConnected(FeedIdFromKey(e.address.key)) ? "connected"
                                                 : e.connecting ? "connecting" : "disconnected"));
                    v.Set("failure", Value::Number(e.failures));
                    out.Push(std::move(v));
                  }
                  co_return out;
                });
  api_.AddAsync("gossip.connect", Access::kOwner,
                [this](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                  const Value& a = Arg(args, 0);
                  std::string text = a.is_string() ? a.as_string() : "";
                  if (a.is_object()) (void)OptString(a, "address", &text);
                  auto addrs = ParseMultiserver(text);
                  if (!addrs.ok()) co_return addrs.status();
                  const NetShsAddress& addr = addrs->front();
                  AddGossip(addr, "manual");
                  if (auto it = gossip_.find(FormatAddress(addr)); it != gossip_.end()) it->second.connecting = true;
                  Status st = co_await Dial(addr);
                  if (auto it = gossip_.find(FormatAddress(addr)); it != gossip_.end()) {
                    it->second.connecting = false;
                    if (!st.ok()) ++it->second.failures;
                  }
                  if (!st.ok()) co_return st;
                  Value v = Value::Object();
                  v.Set("id", Value::String(FeedIdFromKey(addr.key)));
                  v.Set("address", Value::String(FormatAddress(addr)));
                  co_return v;
                });
  api_.AddAsync("replicate.request", Access::kOwner,
                [this](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                  const Value& a = Arg(args, 0);
                  std::string id = a.is_string() ? a.as_string() : "";
                  if (a.is_object()) (void)OptString(a, "id", &id);
                  if (!IsFeedId(id, true)) co_return Status::InvalidArgument("not a feed id: " + id);
                  bool on = !Arg(args, 1).is_bool() || Arg(args, 1).as_bool();
                  if (on) repl_options_.requests.insert(id);
                  else repl_options_.requests.erase(id);
                  RecomputeReplication();
                  co_return Value::Bool(repl_set_.Contains(id));
                });
  auto contact = [this](const char* field, bool value) {
    return [this, field, value](CallContext&, const Value& args) -> awaitable<Result<Value>> {
      const Value& a = Arg(args, 0);
      std::string id = a.is_string() ? a.as_string() : "";
      if (a.is_object()) (void)OptString(a, "id", &id);
      if (!IsFeedId(id, true)) co_return Status::InvalidArgument("not a feed id: " + id);
      Value content = Value::Object();
      content.Set("type", Value::String("contact"));
      content.Set("contact", Value::String(id));
      content.Set(field, Value::Bool(value));
      if (std::string(field) == "blocking" && value) content.Set("following", Value::Bool(false));
      auto stored = PublishContent(*store_, keys_, std::move(content), validate_);
      if (!stored.ok()) co_return stored.status();
      auto msg = Message::Parse(stored->value_json);
      if (msg.ok()) AfterAppend({*msg});
      co_return StoredToKvt(*stored);
    };
  };
  api_.AddAsync("friends.follow", Access::kOwner, contact("following", true));
  api_.AddAsync("friends.unfollow", Access::kOwner, contact("following", false));
  api_.AddAsync("friends.block", Access::kOwner, contact("blocking", true));
  api_.AddAsync("friends.unblock", Access::kOwner, contact("blocking", false));
  api_.AddAsync("blobs.want", Access::kOwner,
                [this](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                  const Value& a = Arg(args, 0);
                  std::string id = a.is_string() ? a.as_string() : "";
                  if (!IsBlobId(id)) co_return Status::InvalidArgument("invalid hash:" + id);
                  if (blobs_->Has(id)) co_return Value::Bool(true);
                  auto actions = blob_wants_->Want(id);
                  if (!actions.ok()) co_return actions.status();
                  ApplyBlobActions(*actions);
                  co_return Value::Bool(blobs_->Has(id));
                });
  api_.AddStream("blobs.add", CallType::kSink, Access::kOwner,
                 [this](CallContext&, const Value& args, std::shared_ptr<Stream> s) -> awaitable<void> {
                   std::vector<uint8_t> bytes;
                   for (;;) {
                     auto r = co_await s->Read();
                     if (!r.ok()) co_return;
                     if (!*r) break;
                     if (bytes.size() + (*r)->body.size() > blobs_->max_size()) {
                       s->End(Status::LimitExceeded("blob is over " + std::to_string(blobs_->max_size()) + " bytes"));
                       co_return;
                     }
                     bytes.insert(bytes.end(), (*r)->body.begin(), (*r)->body.end());
                   }
                   Result<std::string> id = Status::Ok();
                   const Value& want = Arg(args, 0);
                   if (want.is_string()) {
                     Status st = blobs_->AddExpecting(want.as_string(), bytes);
                     id = st.ok() ? Result<std::string>(want.as_string()) : Result<std::string>(st);
                   } else {
                     id = blobs_->Add(bytes);
                   }
                   if (!id.ok()) {
                     s->End(id.status());
                     co_return;
                   }
                   last_blob_added_ = *id;
                   blobs_changed_->Notify();
                   ApplyBlobActions(blob_wants_->BlobStored(*id, bytes.size()));
                   // A sink answers with its end; the id travels in a data packet first so the
                   // command line can print it.
                   s->WriteJson(Value::String(*id));
                 });
  api_.AddStream("blobs.ls", CallType::kSource, Access::kOwner,
                 [this](CallContext&, const Value&, std::shared_ptr<Stream> s) -> awaitable<void> {
                   auto list = blobs_->List();
                   if (!list.ok()) {
                     s->End(list.status());
                     co_return;
                   }
                   for (const auto& id : *list) s->WriteJson(Value::String(id));
                 });
  api_.AddAsync("blobs.rm", Access::kOwner,
                [this](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                  const Value& a = Arg(args, 0);
                  if (!a.is_string()) co_return Status::InvalidArgument("blobs.rm needs a blob id");
                  SSB_CO_RETURN_IF_ERROR(blobs_->Remove(a.as_string()));
                  co_return Value::Bool(true);
                });
}

// ---- config ----

Result<NodeConfig> LoadNodeConfig(const std::string& data_dir) {
  NodeConfig c;
  c.data_dir = data_dir;
  auto text = ReadFile(data_dir + "/config");
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return c;
    return text.status();
  }
  auto v = json::Parse(*text, {.max_depth = 32, .max_bytes = 1 << 20});
  if (!v.ok()) return Status::InvalidInput(data_dir + "/config: " + v.status().message());
  if (!v->is_object()) return Status::InvalidInput(data_dir + "/config: not a JSON object");
  auto bad = [&](const std::string& key, const std::string& why) {
    return Status::InvalidInput(data_dir + "/config: " + key + " " + why);
  };
  if (const Value* caps = v->Find("caps"); caps && caps->is_object()) {
    if (const Value* shs = caps->Find("shs"); shs && shs->is_string()) {
      auto k = Base64DecodeCanonical(shs->as_string());
      if (!k || k->size() != 32) return bad("caps.shs", "must be base64 of 32 bytes");
      std::copy(k->begin(), k->end(), c.network_key.begin());
    }
    if (const Value* sign = caps->Find("sign"); sign && sign->is_string()) {
      auto k = Base64DecodeCanonical(sign->as_string());
      if (!k || k->size() != 32) return bad("caps.sign", "must be base64 of 32 bytes");
      HmacKey h;
      std::copy(k->begin(), k->end(), h.begin());
      c.sign_cap = h;
    }
  }
  SSB_RETURN_IF_ERROR(OptString(*v, "host", &c.host));
  int64_t port = c.port;
  SSB_RETURN_IF_ERROR(OptInt(*v, "port", &port));
  if (const Value* conns = v->Find("connections"); conns && conns->is_object()) {
    if (const Value* in = conns->Find("incoming"); in && in->is_object()) {
      if (const Value* net = in->Find("net"); net && net->is_array() && net->size() > 0) {
        SSB_RETURN_IF_ERROR(OptString(net->items()[0], "host", &c.host));
        SSB_RETURN_IF_ERROR(OptInt(net->items()[0], "port", &port));
      }
    }
  }
  if (port < 0 || port > 65535) return bad("port", "must be 0..65535");
  c.port = static_cast<uint16_t>(port);
  int64_t hops = c.hops;
  for (const char* section : {"friends", "replicate"}) {
    if (const Value* s = v->Find(section); s && s->is_object()) SSB_RETURN_IF_ERROR(OptInt(*s, "hops", &hops));
  }
  if (hops < 0 || hops > 10) return bad("hops", "must be 0..10");
  c.hops = static_cast<int>(hops);
  if (const Value* lan = v->Find("lan")) {
    if (lan->is_bool()) c.lan = lan->as_bool();
    else if (lan->is_object()) {
      if (!OptBool(*lan, "enabled", &c.lan).ok()) return bad("lan.enabled", "must be true or false");
      int64_t lp = c.lan_port;
      SSB_RETURN_IF_ERROR(OptInt(*lan, "port", &lp));
      if (lp <= 0 || lp > 65535) return bad("lan.port", "must be 1..65535");
      c.lan_port = static_cast<uint16_t>(lp);
    }
  }
  if (const Value* local = v->Find("local"); local && local->is_bool()) c.lan = local->as_bool();
  if (const Value* ebt = v->Find("ebt")) {
    if (ebt->is_bool()) c.ebt = ebt->as_bool();
    else if (ebt->is_object()) {
      if (!OptBool(*ebt, "enabled", &c.ebt).ok()) return bad("ebt.enabled", "must be true or false");
    }
    else return bad("ebt", "must be true, false or {\"enabled\": …}");
  }
  if (const Value* seeds = v->Find("seeds"); seeds && seeds->is_array()) {
    for (const Value& s : seeds->items())
      if (s.is_string()) c.seeds.push_back(s.as_string());
  }
  if (const Value* g = v->Find("gossip"); g && g->is_object()) {
    int64_t n = static_cast<int64_t>(c.max_outgoing);
    SSB_RETURN_IF_ERROR(OptInt(*g, "connections", &n));
    if (n < 0 || n > 1000) return bad("gossip.connections", "must be 0..1000");
    c.max_outgoing = static_cast<size_t>(n);
  }
  if (const Value* b = v->Find("blobs"); b && b->is_object()) {
    double max = static_cast<double>(c.blob_auto_want_max) + 1;  // ssb-blobs: sizes < max
    SSB_RETURN_IF_ERROR(OptNumber(*b, "max", &max));
    if (max < 1 || max > static_cast<double>(kDefaultMaxBlobSize) + 1) {
      return bad("blobs.max", "must be 1..5242880");
    }
    c.blob_auto_want_max = static_cast<uint64_t>(max) - 1;
  }
  if (const Value* t = v->Find("timers"); t && t->is_object()) {
    int64_t inactivity = c.idle_timeout.count() * 1000;
    SSB_RETURN_IF_ERROR(OptInt(*t, "inactivity", &inactivity));
    if (inactivity < 1000) return bad("timers.inactivity", "must be at least 1000 ms");
    c.idle_timeout = std::chrono::seconds(inactivity / 1000);
  }
  return c;
}

}  // namespace ssb
