// muxrpc over packet-stream, on standalone Asio with C++20 coroutines.
//
// One Connection multiplexes async calls and streams (source, sink, duplex) in both
// directions over a Transport (box-stream over TCP, or plain bytes over the owner's local
// socket). Everything of one Connection runs on one executor that must not be run by more than
// one thread (one io_context thread, or a strand); handlers are coroutines on it.
//
// Wire rules (muxrpc 8 as ssb-server speaks it, PROTOCOL.md §5.1): each side numbers its own
// requests from 1; answers carry the negative number. Async requests have no "type"; streams
// say "source", "sink" or "duplex". Both sides of a stream send their own end (`true`, or an
// error object {message, name, stack}); a side that receives the other's end answers with its
// own. Errors for unknown and forbidden methods use ssb-server's texts, because JS peers react
// to them (a JS peer falls back from EBT to legacy replication on an error).
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ssb/json.h"
#include "ssb/keys.h"
#include "ssb/packet.h"
#include "ssb/status.h"

namespace ssb::rpc {

// A coroutine-friendly wake-up: Wait() suspends until Notify() (or cancellation). Waiters must
// re-check their condition in a loop; a Notify with no waiter is not remembered.
class Signal {
 public:
  explicit Signal(const asio::any_io_executor& ex);
  void Notify();
  asio::awaitable<void> Wait();
  // Waits at most `d`; returns false on timeout.
  asio::awaitable<bool> WaitFor(std::chrono::steady_clock::duration d);

 private:
  asio::steady_timer timer_;
};

// The byte layer under a Connection.
class Transport {
 public:
  virtual ~Transport() = default;
  // Appends the next decoded bytes to `out`. Returns false at the clean end of the peer's
  // stream (its goodbye); an error when the stream breaks or is forged.
  virtual asio::awaitable<Result<bool>> Read(std::string* out) = 0;
  // Writes `bytes` (whole packets) in as few socket writes as possible.
  virtual asio::awaitable<Status> Write(std::string_view bytes) = 0;
  // Sends this layer's goodbye (if it has one) and shuts the socket's sending side down.
  virtual asio::awaitable<void> Shutdown() = 0;
  // Closes the socket at once; pending reads and writes fail.
  virtual void Abort() = 0;
  // For logs: "net:127.0.0.1:8008" or "unix".
  virtual std::string Describe() const = 0;
};

enum class CallType : uint8_t { kAsync, kSource, kSink, kDuplex };
std::string_view CallTypeName(CallType t);

// Who is on the other end, as the handshake established.
struct PeerInfo {
  PublicKey id{};        // their long-term key
  bool owner = false;    // our own key (or the local socket): may call everything
  bool is_client = false;  // true when they dialed us
  std::string address;   // for logs
};

// Builds the JS error object {message, name: "Error", stack}.
json::Value ErrorValue(std::string_view message);
// The same for a Status, with its stable code name added as "code" (JS peers ignore it; our
// command line maps it back to an exit code).
json::Value ErrorValue(const Status& st);
// The message of an error body (or the body itself if it is not an error object).
std::string ErrorMessage(const json::Value& v);
// A Status from an error body: its "code" when it is one of ours, else kIoError.
Status StatusFromError(const json::Value& v);

class Connection;

// One muxrpc stream, seen from either end.
class Stream : public std::enable_shared_from_this<Stream> {
 public:
  Stream(Connection* conn, int32_t wire_req, CallType type);

  // The next packet from the peer; nullopt after its clean end. An error when the peer ended
  // with an error or the connection dropped.
  asio::awaitable<Result<std::optional<Packet>>> Read();
  // Queues data for the peer. Returns false once this side has ended or the connection is
  // gone; a producer stops then.
  bool WriteJson(const json::Value& v);
  bool WriteJsonText(std::string json_text);
  bool WriteBinary(std::string bytes);
  bool WriteString(std::string text);
  // Ends this side, with an error when `st` is not ok. Idempotent.
  void End(const Status& st = Status::Ok());
  // Gives up on the stream: ends this side with `why` and, without waiting for the peer's end,
  // treats the stream as ended by it too (a pending Read() returns `why`); the connection
  // forgets the stream. For a peer that may never answer (a tunnel that never opens).
  void Cancel(const Status& why);
  // Waits until the connection's send queue is short (backpressure for producers).
  asio::awaitable<void> Drain();
  // Also notify `s` when the peer ends this stream or the connection goes, so that a producer
  // waiting on a shared signal (e.g. "new messages") notices. `s` must outlive the stream.
  void SetWake(Signal* s) { wake_ = s; }

  bool local_ended() const { return local_ended_; }
  bool remote_ended() const { return remote_ended_; }
  // True when the peer ended (or the connection is gone): producers should stop.
  bool closed() const { return remote_ended_ || local_ended_; }
  CallType type() const { return type_; }

 private:
  friend class Connection;
  void Deliver(Packet p);       // from the reader
  void RemoteEnd(Status st);    // the peer's end, or the connection's loss
  bool Send(BodyType type, std::string body);

  Connection* conn_;
  int32_t wire_req_;   // the request number our packets carry on this stream
  CallType type_;
  std::deque<Packet> inbox_;
  size_t inbox_bytes_ = 0;
  bool local_ended_ = false;
  bool remote_ended_ = false;
  Status remote_status_;
  Signal signal_;
  Signal* wake_ = nullptr;
};

// What a handler gets besides its arguments.
struct CallContext {
  std::shared_ptr<Connection> conn;
  const PeerInfo& peer;
  std::vector<std::string> name;
};

using AsyncHandler =
    std::function<asio::awaitable<Result<json::Value>>(CallContext&, const json::Value& args)>;
// A stream handler produces into and/or consumes from `stream`; when it returns without
// ending the stream, the stream is ended with `true`.
using StreamHandler = std::function<asio::awaitable<void>(
    CallContext&, const json::Value& args, std::shared_ptr<Stream> stream)>;

enum class Access : uint8_t { kOwner, kAnyone };

// The methods a side serves. Names are dotted paths ("blobs.get").
class Api {
 public:
  void AddAsync(const std::string& name, Access access, AsyncHandler h);
  // An async method that the manifest lists as "sync" (secret-stack's synchronous methods are
  // plain async calls on the wire; clients read the manifest).
  void AddSync(const std::string& name, Access access, AsyncHandler h);
  void AddStream(const std::string& name, CallType type, Access access, StreamHandler h);
  // muxrpc's manifest: {name: "async"|"source"|"sink"|"duplex", ns: {...}}.
  json::Value Manifest() const;

  struct Method {
    CallType type;
    Access access;
    AsyncHandler async;
    StreamHandler stream;
    bool sync = false;  // listed as "sync" in the manifest
  };
  const Method* Find(const std::string& dotted) const;

 private:
  std::map<std::string, Method> methods_;
};

struct ConnectionLimits {
  uint32_t max_body = kDefaultMaxBody;
  size_t max_streams = 512;             // streams the peer may have open with us at once
  size_t max_inbox_bytes = 8u << 20;    // unread bytes queued for one stream
  size_t send_queue_high = 1u << 20;    // Drain() waits above this
  // Unread bytes across all streams above which we stop reading the socket until consumers
  // catch up (TCP then slows the peer down: muxrpc itself has no flow control).
  size_t pause_reading_above = 4u << 20;
  std::chrono::seconds idle_timeout{600};  // no bytes from the peer for this long: close
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::any_io_executor ex, std::unique_ptr<Transport> transport, const Api* api,
             PeerInfo peer, ConnectionLimits limits = {});
  ~Connection();

  // Reads and dispatches until the peer says goodbye, the connection breaks, or Close().
  // Returns why it ended (ok for a clean goodbye). Call once; keep the Connection alive
  // (shared_ptr) while it runs.
  asio::awaitable<Status> Run();

  // An async call. Fails when the peer answers with an error or the connection is lost.
  asio::awaitable<Result<json::Value>> Call(const std::vector<std::string>& name,
                                            json::Value args);
  // Opens a stream to the peer (source, sink or duplex).
  std::shared_ptr<Stream> Open(CallType type, const std::vector<std::string>& name,
                               json::Value args);
  // Ends every stream, says goodbye and closes. Run() returns soon after.
  void Close();
  // Drops the connection at once (a misbehaving peer).
  void Abort(const Status& why);

  const PeerInfo& peer() const { return peer_; }
  const asio::any_io_executor& executor() const { return ex_; }
  bool closed() const { return closing_; }
  std::string Describe() const;
  // Requests the peer has made so far, and a signal notified at each (for a caller that wants
  // to let the peer speak first). `s` must outlive the connection's run.
  uint64_t requests_received() const { return requests_received_; }
  void SetRequestWake(Signal* s) { request_wake_ = s; }
  // Bytes received and sent (payload of the transport).
  uint64_t bytes_in() const { return bytes_in_; }
  uint64_t bytes_out() const { return bytes_out_; }

 private:
  friend class Stream;
  void Send(const Packet& p);
  asio::awaitable<void> Writer();
  asio::awaitable<void> Watchdog();
  void Dispatch(Packet p);
  void StartRequest(Packet p);
  asio::awaitable<void> RunAsync(std::shared_ptr<Connection> self, const Api::Method* m,
                                 std::vector<std::string> name, json::Value args, int32_t req);
  asio::awaitable<void> RunStream(std::shared_ptr<Connection> self, const Api::Method* m,
                                  std::vector<std::string> name, json::Value args,
                                  std::shared_ptr<Stream> s);
  void Teardown(const Status& why);
  size_t send_queue_bytes() const { return out_.size(); }

  struct Pending {
    std::optional<Result<json::Value>> result;
    std::shared_ptr<Signal> signal;
  };

  asio::any_io_executor ex_;
  std::unique_ptr<Transport> transport_;
  const Api* api_;
  PeerInfo peer_;
  ConnectionLimits limits_;
  PacketDecoder decoder_;
  int32_t next_req_ = 1;
  std::map<int32_t, Pending> pending_;                      // our async calls
  std::map<int32_t, std::shared_ptr<Stream>> ours_;        // streams we opened, by +n
  std::map<int32_t, std::shared_ptr<Stream>> theirs_;      // streams they opened, by +n
  std::string out_;
  bool writing_ = false;
  bool closing_ = false;
  bool goodbye_sent_ = false;
  Signal out_signal_;     // wakes the writer
  Signal drained_signal_; // wakes producers waiting in Drain()
  Signal watchdog_signal_; // the idle watchdog's tick; Teardown ends it at once
  Signal reader_signal_;   // wakes a reader paused for unread bytes
  size_t unread_bytes_ = 0;  // delivered to streams, not yet read
  Status end_status_;
  std::chrono::steady_clock::time_point last_input_;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
  uint64_t requests_received_ = 0;
  Signal* request_wake_ = nullptr;
};

}  // namespace ssb::rpc
