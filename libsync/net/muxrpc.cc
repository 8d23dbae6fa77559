#include "ssb/muxrpc.h"

#include <asio/experimental/as_tuple.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/use_awaitable.hpp>

#include "ssb/ref.h"

#include <cstdio>
#include <cstdlib>

namespace ssb::rpc {
namespace {

using asio::awaitable;
using asio::use_awaitable;
constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);

std::string JoinName(const std::vector<std::string>& name, char sep) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    if (i) out.push_back(sep);
    out += name[i];
  }
  return out;
}

json::Value NameValue(const std::vector<std::string>& name) {
  json::Value v = json::Value::Array();
  for (const auto& n : name) v.Push(json::Value::String(n));
  return v;
}

// A stream end body: `true`, or the error object.
std::string EndBody(const Status& st) {
  return st.ok() ? std::string("true") : json::Stringify(ErrorValue(st));
}

// The peer's end body: ok for `true` (or anything not an error object), else its message.
Status EndStatus(const Packet& p) {
  if (p.type != BodyType::kJson) return Status::Ok();
  auto v = json::Parse(p.body);
  if (!v.ok() || !v->is_object() || !v->Find("message")) return Status::Ok();
  return StatusFromError(*v);
}

// SSB_RPC_TRACE=1: every request in either direction, on stderr (for debugging interop).
bool Tracing() {
  static const bool trace = [] {
    const char* t = std::getenv("SSB_RPC_TRACE");
    return t && *t && *t != '0';
  }();
  return trace;
}

}  // namespace

std::string_view CallTypeName(CallType t) {
  switch (t) {
    case CallType::kAsync: return "async";
    case CallType::kSource: return "source";
    case CallType::kSink: return "sink";
    case CallType::kDuplex: return "duplex";
  }
  return "async";
}

json::Value ErrorValue(std::string_view message) {
  json::Value e = json::Value::Object();
  e.Set("message", json::Value::String(std::string(message)));
  e.Set("name", json::Value::String("Error"));
  e.Set("stack", json::Value::String("Error: " + std::string(message)));
  return e;
}

json::Value ErrorValue(const Status& st) {
  json::Value e = ErrorValue(st.message());
  e.Set("code", json::Value::String(std::string(CodeName(st.code()))));
  return e;
}

Status StatusFromError(const json::Value& v) {
  std::string message = ErrorMessage(v);
  if (const json::Value* c = v.is_object() ? v.Find("code") : nullptr; c && c->is_string()) {
    for (int i = 1; i <= 12; ++i) {
      Code code = static_cast<Code>(i);
      if (CodeName(code) == c->as_string()) return Status(code, message);
    }
  }
  return Status::IoError(message);
}

std::string ErrorMessage(const json::Value& v) {
  if (v.is_object()) {
    if (const auto* m = v.Find("message"); m && m->is_string()) return m->as_string();
  }
  if (v.is_string()) return v.as_string();
  return json::Stringify(v);
}

// ---- Signal ----

Signal::Signal(const asio::any_io_executor& ex) : timer_(ex) {
  timer_.expires_at(std::chrono::steady_clock::time_point::max());
}

void Signal::Notify() { timer_.cancel(); }

awaitable<void> Signal::Wait() {
  // Several coroutines may wait at once (cancel() wakes them all); re-arming the expiry would
  // cancel the others' waits, so only a WaitFor() leaves it to be reset here.
  if (timer_.expiry() != std::chrono::steady_clock::time_point::max())
    timer_.expires_at(std::chrono::steady_clock::time_point::max());
  co_await timer_.async_wait(kNoThrow);
}

awaitable<bool> Signal::WaitFor(std::chrono::steady_clock::duration d) {
  timer_.expires_after(d);
  auto [ec] = co_await timer_.async_wait(kNoThrow);
  co_return static_cast<bool>(ec);  // cancelled = notified
}

// ---- Stream ----

Stream::Stream(Connection* conn, int32_t wire_req, CallType type)
    : conn_(conn), wire_req_(wire_req), type_(type), signal_(conn->executor()) {}

awaitable<Result<std::optional<Packet>>> Stream::Read() {
  while (inbox_.empty() && !remote_ended_) co_await signal_.Wait();
  if (!inbox_.empty()) {
    Packet p = std::move(inbox_.front());
    inbox_.pop_front();
    inbox_bytes_ -= p.body.size();
    if (conn_) {
      conn_->unread_bytes_ -= p.body.size();
      if (conn_->unread_bytes_ <= conn_->limits_.pause_reading_above) conn_->reader_signal_.Notify();
    }
    co_return std::optional<Packet>(std::move(p));
  }
  if (!remote_status_.ok()) co_return remote_status_;
  co_return std::optional<Packet>();
}

bool Stream::Send(BodyType type, std::string body) {
  if (local_ended_ || conn_ == nullptr || conn_->closing_) return false;
  if (body.empty()) return true;  // cannot be sent (it would read as a goodbye); JS drops it too
  Packet p;
  p.stream = true;
  p.type = type;
  p.req = wire_req_;
  p.body = std::move(body);
  conn_->Send(p);
  return true;
}

bool Stream::WriteJson(const json::Value& v) { return Send(BodyType::kJson, json::Stringify(v)); }
bool Stream::WriteJsonText(std::string t) { return Send(BodyType::kJson, std::move(t)); }
bool Stream::WriteBinary(std::string b) { return Send(BodyType::kBinary, std::move(b)); }
bool Stream::WriteString(std::string t) { return Send(BodyType::kString, std::move(t)); }

void Stream::End(const Status& st) {
  if (local_ended_) return;
  local_ended_ = true;
  if (conn_ && remote_ended_ && wire_req_ < 0) conn_->theirs_.erase(-wire_req_);
  if (conn_ && !conn_->closing_) {
    Packet p;
    p.stream = true;
    p.end = true;
    p.type = BodyType::kJson;
    p.req = wire_req_;
    p.body = EndBody(st);
    conn_->Send(p);
  }
  signal_.Notify();
}

void Stream::Cancel(const Status& why) {
  End(why);
  RemoteEnd(why);
  if (conn_) {
    if (wire_req_ > 0) conn_->ours_.erase(wire_req_);
    else conn_->theirs_.erase(-wire_req_);
  }
}

awaitable<void> Stream::Drain() {
  while (conn_ && !conn_->closing_ && conn_->send_queue_bytes() > conn_->limits_.send_queue_high)
    co_await conn_->drained_signal_.Wait();
}

void Stream::Deliver(Packet p) {
  if (remote_ended_) return;
  inbox_bytes_ += p.body.size();
  if (conn_) conn_->unread_bytes_ += p.body.size();
  inbox_.push_back(std::move(p));
  signal_.Notify();
}

void Stream::RemoteEnd(Status st) {
  if (remote_ended_) return;
  remote_ended_ = true;
  remote_status_ = std::move(st);
  signal_.Notify();
  if (wake_) wake_->Notify();
}

// ---- Api ----

void Api::AddAsync(const std::string& name, Access access, AsyncHandler h) {
  methods_[name] = Method{CallType::kAsync, access, std::move(h), nullptr};
}

void Api::AddSync(const std::string& name, Access access, AsyncHandler h) {
  methods_[name] = Method{CallType::kAsync, access, std::move(h), nullptr, true};
}

void Api::AddStream(const std::string& name, CallType type, Access access, StreamHandler h) {
  methods_[name] = Method{type, access, nullptr, std::move(h)};
}

const Api::Method* Api::Find(const std::string& dotted) const {
  auto it = methods_.find(dotted);
  return it == methods_.end() ? nullptr : &it->second;
}

json::Value Api::Manifest() const {
  json::Value root = json::Value::Object();
  for (const auto& [name, m] : methods_) {
    json::Value* node = &root;
    size_t start = 0;
    for (;;) {
      size_t dot = name.find('.', start);
      std::string part = name.substr(start, dot == std::string::npos ? std::string::npos
                                                                     : dot - start);
      if (dot == std::string::npos) {
        node->Set(part, json::Value::String(m.sync ? std::string("sync")
                                                   : std::string(CallTypeName(m.type))));
        break;
      }
      json::Value* child = node->Find(part);
      if (child == nullptr || !child->is_object()) {
        node->Set(part, json::Value::Object());
        child = node->Find(part);
      }
      node = child;
      start = dot + 1;
    }
  }
  return root;
}

// ---- Connection ----

Connection::Connection(asio::any_io_executor ex, std::unique_ptr<Transport> transport,
                       const Api* api, PeerInfo peer, ConnectionLimits limits)
    : ex_(std::move(ex)),
      transport_(std::move(transport)),
      api_(api),
      peer_(std::move(peer)),
      limits_(limits),
      decoder_(limits.max_body),
      out_signal_(ex_),
      drained_signal_(ex_),
      watchdog_signal_(ex_),
      reader_signal_(ex_),
      last_input_(std::chrono::steady_clock::now()) {}

Connection::~Connection() = default;

std::string Connection::Describe() const {
  return (peer_.address.empty() ? transport_->Describe() : peer_.address) + " " +
         FeedIdFromKey(peer_.id);
}

void Connection::Send(const Packet& p) {
  if (goodbye_sent_) return;
  AppendPacket(&out_, p);
  out_signal_.Notify();
}

awaitable<void> Connection::Writer() {
  auto self = shared_from_this();
  std::string batch;
  for (;;) {
    while (out_.empty() && !closing_) co_await out_signal_.Wait();
    if (out_.empty() && closing_) break;
    batch.clear();
    batch.swap(out_);
    drained_signal_.Notify();
    Status st = co_await transport_->Write(batch);
    if (!st.ok()) {
      Teardown(st);
      co_return;
    }
    bytes_out_ += batch.size();
    drained_signal_.Notify();
  }
  if (!goodbye_sent_ && end_status_.ok()) {
    goodbye_sent_ = true;
    std::string bye;
    AppendGoodbye(&bye);
    (void)co_await transport_->Write(bye);
    co_await transport_->Shutdown();
  }
}

awaitable<void> Connection::Watchdog() {
  auto self = shared_from_this();
  while (!closing_) {
    co_await watchdog_signal_.WaitFor(std::chrono::seconds(1));  // Teardown wakes it at once
    if (closing_) break;
    if (std::chrono::steady_clock::now() - last_input_ > limits_.idle_timeout) {
      Abort(Status::IoError("no traffic for " + std::to_string(limits_.idle_timeout.count()) +
                            " s"));
    }
  }
}

awaitable<Status> Connection::Run() {
  auto self = shared_from_this();
  asio::co_spawn(ex_, Writer(), asio::detached);
  asio::co_spawn(ex_, Watchdog(), asio::detached);
  std::string chunk;
  while (!closing_) {
    chunk.clear();
    auto r = co_await transport_->Read(&chunk);
    if (!r.ok()) {
      Teardown(r.status());
      break;
    }
    last_input_ = std::chrono::steady_clock::now();
    bytes_in_ += chunk.size();
    if (Status st = decoder_.Feed(chunk); !st.ok()) {
      Abort(st);
      break;
    }
    Packet p;
    while (!closing_ && decoder_.Next(&p)) Dispatch(std::move(p));
    // Backpressure: let the streams' consumers catch up before reading more.
    while (!closing_ && unread_bytes_ > limits_.pause_reading_above) co_await reader_signal_.Wait();
    if (!*r || decoder_.goodbye()) {  // their goodbye: we are done too
      Teardown(*r || decoder_.goodbye() ? Status::Ok()
                                         : Status::IoError("the peer closed the stream"));
      break;
    }
  }
  co_return end_status_;
}

void Connection::Dispatch(Packet p) {
  if (p.req == 0) return;  // one-way messages: ignored, as JS does
  if (p.req < 0) {
    int32_t n = -p.req;
    if (auto it = pending_.find(n); it != pending_.end() && !p.stream) {
      Pending& pend = it->second;
      auto v = p.type == BodyType::kJson ? json::Parse(p.body)
                                         : Result<json::Value>(json::Value::String(p.body));
      if (!v.ok()) {
        pend.result = Result<json::Value>(Status::InvalidInput("bad response: " +
                                                               v.status().message()));
      } else if (p.end) {
        pend.result = Result<json::Value>(StatusFromError(*v));
      } else {
        pend.result = std::move(v);
      }
      pend.signal->Notify();
      return;
    }
    if (auto it = ours_.find(n); it != ours_.end()) {
      auto s = it->second;
      if (p.end) {
        s->RemoteEnd(EndStatus(p));
        s->End(EndStatus(p));  // answer with our own end (JS echoes an error)
        ours_.erase(it);
      } else {
        s->Deliver(std::move(p));
      }
    }
    return;  // answers to nothing: ignored
  }
  if (auto it = theirs_.find(p.req); it != theirs_.end()) {
    auto s = it->second;
    if (p.end) {
      s->RemoteEnd(EndStatus(p));
      // A source they stopped reading is aborted: answer with our end at once. A sink or
      // duplex handler may still be consuming what arrived (and answer after it); its End()
      // completes the stream. End() removes the stream from theirs_ once both sides ended.
      if (s->type() == CallType::kSource) s->End();
      if (s->local_ended()) theirs_.erase(p.req);
    } else if (s->type() == CallType::kSource) {
      // Data on a source they read from us is a protocol error; ignore it as JS does.
    } else {
      if (s->inbox_bytes_ + p.body.size() > limits_.max_inbox_bytes) {
        Abort(Status::LimitExceeded("the peer sent more than " +
                                    std::to_string(limits_.max_inbox_bytes) +
                                    " unread bytes on one stream"));
        return;
      }
      s->Deliver(std::move(p));
    }
    return;
  }
  if (p.stream && p.end) return;  // a late end for a stream that is gone
  StartRequest(std::move(p));
}

void Connection::StartRequest(Packet p) {
  ++requests_received_;
  if (request_wake_) request_wake_->Notify();
  auto fail = [&](const std::string& msg) {
    Packet e;
    e.stream = p.stream;
    e.end = true;
    e.type = BodyType::kJson;
    e.req = -p.req;
    e.body = json::Stringify(ErrorValue(msg));
    Send(e);
  };
  auto body = p.type == BodyType::kJson ? json::Parse(p.body) : Result<json::Value>(Status::InvalidInput("not JSON"));
  const json::Value* name = body.ok() && body->is_object() ? body->Find("name") : nullptr;
  std::vector<std::string> path;
  if (name && name->is_array()) {
    for (const auto& part : name->items()) {
      if (!part.is_string()) {
        path.clear();
        break;
      }
      path.push_back(part.as_string());
    }
  } else if (name && name->is_string()) {
    path.push_back(name->as_string());
  }
  if (path.empty()) {
    fail("invalid request: no method name");
    return;
  }
  CallType asked = CallType::kAsync;
  if (p.stream) {
    const json::Value* t = body->Find("type");
    std::string ts = t && t->is_string() ? t->as_string() : "";
    if (ts == "source") asked = CallType::kSource;
    else if (ts == "sink") asked = CallType::kSink;
    else if (ts == "duplex") asked = CallType::kDuplex;
    else {
      fail("invalid stream type: " + ts);
      return;
    }
  }
  json::Value args = json::Value::Array();
  if (const json::Value* a = body->Find("args"); a && a->is_array()) args = *a;
  const std::string dotted = JoinName(path, '.');
  const Api::Method* m = api_ ? api_->Find(dotted) : nullptr;
  if (Tracing()) {
    std::fprintf(stderr, "rpc %s <- %s %s(%s)%s\n", FeedIdFromKey(peer_.id).c_str(),
                 std::string(CallTypeName(asked)).c_str(), dotted.c_str(),
                 json::Stringify(args).substr(0, 200).c_str(), m ? "" : " [unknown]");
  }
  if (m && m->access == Access::kOwner && !peer_.owner) {
    fail("method:" + JoinName(path, ',') + " is not in list of allowed methods");
    return;
  }
  if (m == nullptr || m->type != asked) {
    fail("no " + std::string(CallTypeName(asked)) + ":" + JoinName(path, ','));
    return;
  }
  if (!p.stream) {
    asio::co_spawn(ex_, RunAsync(shared_from_this(), m, std::move(path), std::move(args), p.req),
                   asio::detached);
    return;
  }
  if (theirs_.size() >= limits_.max_streams) {
    fail("too many open streams");
    return;
  }
  auto s = std::make_shared<Stream>(this, -p.req, asked);
  theirs_[p.req] = s;
  asio::co_spawn(ex_, RunStream(shared_from_this(), m, std::move(path), std::move(args), s),
                 asio::detached);
}

awaitable<void> Connection::RunAsync(std::shared_ptr<Connection> self, const Api::Method* m,
                                     std::vector<std::string> name, json::Value args,
                                     int32_t req) {
  CallContext ctx{self, peer_, std::move(name)};
  Result<json::Value> r = co_await m->async(ctx, args);
  Packet p;
  p.req = -req;
  p.type = BodyType::kJson;
  if (r.ok()) {
    p.body = json::Stringify(*r);
  } else {
    p.end = true;
    p.body = json::Stringify(ErrorValue(r.status()));
  }
  Send(p);
}

awaitable<void> Connection::RunStream(std::shared_ptr<Connection> self, const Api::Method* m,
                                      std::vector<std::string> name, json::Value args,
                                      std::shared_ptr<Stream> s) {
  CallContext ctx{self, peer_, std::move(name)};
  co_await m->stream(ctx, args, s);
  s->End();
}

awaitable<Result<json::Value>> Connection::Call(const std::vector<std::string>& name,
                                                json::Value args) {
  auto self = shared_from_this();
  if (closing_) co_return Status::IoError("connection closed");
  int32_t n = next_req_++;
  json::Value body = json::Value::Object();
  body.Set("name", NameValue(name));
  body.Set("args", std::move(args));
  Packet p;
  p.req = n;
  p.type = BodyType::kJson;
  p.body = json::Stringify(body);
  auto signal = std::make_shared<Signal>(ex_);
  pending_[n] = Pending{std::nullopt, signal};
  Send(p);
  while (!pending_[n].result && !closing_) co_await signal->Wait();
  Pending pend = std::move(pending_[n]);
  pending_.erase(n);
  if (!pend.result) co_return Status::IoError("connection closed");
  co_return std::move(*pend.result);
}

std::shared_ptr<Stream> Connection::Open(CallType type, const std::vector<std::string>& name,
                                         json::Value args) {
  int32_t n = next_req_++;
  auto s = std::make_shared<Stream>(this, n, type);
  if (closing_) {
    s->RemoteEnd(Status::IoError("connection closed"));
    s->local_ended_ = true;
    return s;
  }
  ours_[n] = s;
  json::Value body = json::Value::Object();
  body.Set("name", NameValue(name));
  body.Set("args", std::move(args));
  body.Set("type", json::Value::String(std::string(CallTypeName(type))));
  if (Tracing()) {
    std::fprintf(stderr, "rpc %s -> %s\n", FeedIdFromKey(peer_.id).c_str(),
                 json::Stringify(body).substr(0, 240).c_str());
  }
  Packet p;
  p.stream = true;
  p.req = n;
  p.type = BodyType::kJson;
  p.body = json::Stringify(body);
  Send(p);
  return s;
}

void Connection::Close() {
  if (closing_) return;
  // End our side of every stream first so that the peer sees clean ends before the goodbye.
  // (Copies: End() may remove a stream from its map.)
  std::vector<std::shared_ptr<Stream>> open;
  for (auto& [n, s] : ours_) open.push_back(s);
  for (auto& [n, s] : theirs_) open.push_back(s);
  for (auto& s : open) s->End();
  Teardown(Status::Ok());
}

void Connection::Abort(const Status& why) {
  if (closing_ && goodbye_sent_) return;
  goodbye_sent_ = true;  // no goodbye for a peer we drop
  Teardown(why);
  transport_->Abort();
}

void Connection::Teardown(const Status& why) {
  if (closing_) return;
  closing_ = true;
  end_status_ = why;
  Status lost = why.ok() ? Status::IoError("connection closed") : why;
  for (auto& [n, pend] : pending_) pend.signal->Notify();
  auto streams = std::move(ours_);
  for (auto& [n, s] : theirs_) streams[-n] = s;
  theirs_.clear();
  for (auto& [n, s] : streams) {
    s->RemoteEnd(lost);
    s->local_ended_ = true;
    s->conn_ = nullptr;  // a handler may keep the stream longer than we live
    s->signal_.Notify();
  }
  out_signal_.Notify();
  drained_signal_.Notify();
  watchdog_signal_.Notify();
  reader_signal_.Notify();
}

}  // namespace ssb::rpc
