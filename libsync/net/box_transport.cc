#include <asio/connect.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "ssb/net.h"

namespace ssb::net {
namespace {

constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);
constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kTunnelPacket = 64 * 1024;

class Tcp : public ByteStream {
 public:
  explicit Tcp(asio::ip::tcp::socket socket) : socket_(std::move(socket)), label_(RemoteLabel(socket_)) {
    asio::error_code ec;
    socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  }
  asio::awaitable<Result<bool>> ReadSome(std::string* out) override {
    buf_.resize(kReadChunk);
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buf_), kNoThrow);
    if (ec == asio::error::eof) co_return false;
    if (ec) co_return Status::IoError(label_ + ": " + ec.message());
    out->append(buf_.data(), n);
    co_return true;
  }
  asio::awaitable<Status> WriteAll(std::string_view bytes) override {
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(bytes), kNoThrow);
    if (ec) co_return Status::IoError(label_ + ": " + ec.message());
    co_return Status::Ok();
  }
  void ShutdownSend() override {
    asio::error_code ec;
    socket_.shutdown(asio::socket_base::shutdown_send, ec);
  }
  void Close() override {
    asio::error_code ec;
    socket_.close(ec);
  }
  std::string Describe() const override { return label_; }

 private:
  asio::ip::tcp::socket socket_;
  std::string label_;
  std::string buf_;
};

class Tunnel : public ByteStream {
 public:
  Tunnel(std::shared_ptr<rpc::Stream> stream, std::string label)
      : stream_(std::move(stream)), label_(std::move(label)) {}
  ~Tunnel() override { Close(); }
  asio::awaitable<Result<bool>> ReadSome(std::string* out) override {
    for (;;) {
      auto r = co_await stream_->Read();
      if (!r.ok()) co_return Status::IoError(label_ + ": " + r.status().message());
      if (!*r) co_return false;
      if ((*r)->body.empty()) continue;
      out->append((*r)->body);
      co_return true;
    }
  }
  asio::awaitable<Status> WriteAll(std::string_view bytes) override {
    for (size_t off = 0; off < bytes.size(); off += kTunnelPacket) {
      if (!stream_->WriteBinary(std::string(bytes.substr(off, kTunnelPacket)))) {
        co_return Status::IoError(label_ + ": the tunnel is closed");
      }
      co_await stream_->Drain();
    }
    co_return Status::Ok();
  }
  void ShutdownSend() override { stream_->End(); }
  void Close() override { stream_->Cancel(Status::IoError("tunnel closed")); }
  std::string Describe() const override { return label_; }

 private:
  std::shared_ptr<rpc::Stream> stream_;
  std::string label_;
};

// Closes the stream when the handshake runs past its deadline; the pending read then fails.
// The timer's handler may run after the Deadline is gone (it was already queued when the
// handshake finished), so what it touches is shared and marked done.
class Deadline {
 public:
  Deadline(const asio::any_io_executor& ex, ByteStream& stream, std::chrono::milliseconds d)
      : timer_(ex), state_(std::make_shared<State>()) {
    state_->stream = &stream;
    timer_.expires_after(d);
    timer_.async_wait([state = state_](const asio::error_code& ec) {
      if (ec || state->done) return;
      state->expired = true;
      state->stream->Close();
    });
  }
  ~Deadline() {
    state_->done = true;
    timer_.cancel();
  }
  bool expired() const { return state_->expired; }

 private:
  struct State {
    ByteStream* stream = nullptr;
    bool expired = false;
    bool done = false;
  };
  asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

// Reads exactly N bytes of the handshake; what arrives beyond them stays in `*rest`.
template <size_t N>
asio::awaitable<Status> ReadExactly(ByteStream& s, std::string* rest, std::array<uint8_t, N>* out,
                                    const Deadline& deadline, const char* what) {
  while (rest->size() < N) {
    auto r = co_await s.ReadSome(rest);
    if (deadline.expired()) {
      co_return Status::IoError(std::string("handshake timed out waiting for ") + what);
    }
    if (!r.ok()) co_return Status::IoError(std::string("reading ") + what + ": " + r.status().message());
    if (!*r) {
      co_return Status::InvalidInput(std::string("the peer closed the connection instead of sending ") +
                                     what + " (a different network key, or it refused us)");
    }
  }
  std::copy(rest->begin(), rest->begin() + N, out->begin());
  rest->erase(0, N);
  co_return Status::Ok();
}

template <size_t N>
asio::awaitable<Status> WriteAll(ByteStream& s, const std::array<uint8_t, N>& bytes) {
  Status st = co_await s.WriteAll(std::string_view(reinterpret_cast<const char*>(bytes.data()), N));
  if (!st.ok()) co_return Status::IoError("handshake write: " + st.message());
  co_return Status::Ok();
}

}  // namespace

std::string RemoteLabel(const asio::ip::tcp::socket& socket) {
  asio::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return "net:?";
  std::string host = ep.address().to_string();
  return "net:" + host + ":" + std::to_string(ep.port());
}

std::unique_ptr<ByteStream> TcpByteStream(asio::ip::tcp::socket socket) {
  return std::make_unique<Tcp>(std::move(socket));
}

std::unique_ptr<ByteStream> TunnelByteStream(std::shared_ptr<rpc::Stream> stream,
                                             std::string label) {
  return std::make_unique<Tunnel>(std::move(stream), std::move(label));
}

BoxTransport::BoxTransport(std::unique_ptr<ByteStream> stream, const ShsKeys& keys,
                           std::string initial)
    : stream_(std::move(stream)),
      encoder_(keys.send_key, keys.send_nonce),
      decoder_(keys.recv_key, keys.recv_nonce),
      in_(std::move(initial)) {}

asio::awaitable<Result<bool>> BoxTransport::Read(std::string* out) {
  for (;;) {
    if (decoder_.ended()) co_return false;
    if (in_.empty()) {
      auto r = co_await stream_->ReadSome(&in_);
      if (!r.ok()) co_return r.status();
      if (!*r) {
        Status st = decoder_.Finish();
        if (st.ok()) co_return false;
        co_return st;
      }
    }
    size_t before = out->size();
    Status st = decoder_.Feed(in_, out);
    in_.clear();
    if (!st.ok()) co_return st;
    if (out->size() > before) co_return true;
    if (decoder_.ended()) co_return false;
  }
}

asio::awaitable<Status> BoxTransport::Write(std::string_view bytes) {
  wire_.clear();
  encoder_.Encrypt(bytes, &wire_);
  co_return co_await stream_->WriteAll(wire_);
}

asio::awaitable<void> BoxTransport::Shutdown() {
  if (!encoder_.ended()) {
    wire_.clear();
    encoder_.Goodbye(&wire_);
    (void)co_await stream_->WriteAll(wire_);
  }
  stream_->ShutdownSend();
}

void BoxTransport::Abort() { stream_->Close(); }

asio::awaitable<Result<SecureConnection>> HandshakeAsClient(std::unique_ptr<ByteStream> stream,
                                                            const Keypair& me,
                                                            const PublicKey& server,
                                                            const HandshakeOptions& options) {
  auto ex = co_await asio::this_coro::executor;
  Deadline deadline(ex, *stream, options.timeout);
  std::string rest;
  ShsClient shs(me, server, options.network_key);
  SSB_CO_RETURN_IF_ERROR(co_await WriteAll(*stream, shs.Hello()));
  ShsHello msg2;
  SSB_CO_RETURN_IF_ERROR(co_await ReadExactly(*stream, &rest, &msg2, deadline, "the server hello"));
  SSB_CO_RETURN_IF_ERROR(shs.ReadServerHello(msg2));
  auto auth = shs.Authenticate();
  if (!auth.ok()) co_return auth.status();
  SSB_CO_RETURN_IF_ERROR(co_await WriteAll(*stream, *auth));
  ShsServerAccept msg4;
  SSB_CO_RETURN_IF_ERROR(co_await ReadExactly(*stream, &rest, &msg4, deadline, "the server accept"));
  auto keys = shs.ReadServerAccept(msg4);
  if (!keys.ok()) co_return keys.status();
  SecureConnection c;
  c.peer = keys->peer;
  c.transport = std::make_unique<BoxTransport>(std::move(stream), *keys, std::move(rest));
  co_return c;
}

asio::awaitable<Result<SecureConnection>> HandshakeAsClient(asio::ip::tcp::socket socket,
                                                            const Keypair& me,
                                                            const PublicKey& server,
                                                            const HandshakeOptions& options) {
  co_return co_await HandshakeAsClient(TcpByteStream(std::move(socket)), me, server, options);
}

asio::awaitable<Result<SecureConnection>> HandshakeAsServer(
    std::unique_ptr<ByteStream> stream, const Keypair& me, const HandshakeOptions& options,
    std::function<bool(const PublicKey&)> authorize) {
  auto ex = co_await asio::this_coro::executor;
  Deadline deadline(ex, *stream, options.timeout);
  std::string rest;
  ShsServer shs(me, options.network_key);
  ShsHello msg1;
  SSB_CO_RETURN_IF_ERROR(co_await ReadExactly(*stream, &rest, &msg1, deadline, "the client hello"));
  SSB_CO_RETURN_IF_ERROR(shs.ReadClientHello(msg1));
  SSB_CO_RETURN_IF_ERROR(co_await WriteAll(*stream, shs.Hello()));
  ShsClientAuth msg3;
  SSB_CO_RETURN_IF_ERROR(co_await ReadExactly(*stream, &rest, &msg3, deadline, "the client authentication"));
  auto client = shs.ReadClientAuthenticate(msg3);
  if (!client.ok()) co_return client.status();
  if (authorize && !authorize(*client)) co_return Status::PermissionDenied("client refused");
  auto accept = shs.Accept();
  if (!accept.ok()) co_return accept.status();
  SSB_CO_RETURN_IF_ERROR(co_await WriteAll(*stream, *accept));
  auto keys = shs.keys();
  if (!keys.ok()) co_return keys.status();
  SecureConnection c;
  c.peer = *client;
  c.transport = std::make_unique<BoxTransport>(std::move(stream), *keys, std::move(rest));
  co_return c;
}

asio::awaitable<Result<SecureConnection>> HandshakeAsServer(
    asio::ip::tcp::socket socket, const Keypair& me, const HandshakeOptions& options,
    std::function<bool(const PublicKey&)> authorize) {
  co_return co_await HandshakeAsServer(TcpByteStream(std::move(socket)), me, options,
                                       std::move(authorize));
}

asio::awaitable<Result<SecureConnection>> DialNetShs(const NetShsAddress& address,
                                                     const Keypair& me,
                                                     const HandshakeOptions& options,
                                                     std::chrono::milliseconds connect_timeout) {
  auto ex = co_await asio::this_coro::executor;
  std::string label = FormatAddress(address);
  asio::ip::tcp::resolver resolver(ex);
  auto [rec, results] = co_await resolver.async_resolve(address.host, std::to_string(address.port),
                                                        kNoThrow);
  if (rec) co_return Status::IoError("cannot resolve " + address.host + ": " + rec.message());
  asio::ip::tcp::socket socket(ex);
  auto closed = std::make_shared<bool>(false);
  asio::steady_timer timeout(ex, connect_timeout);
  timeout.async_wait([&socket, closed](const asio::error_code& ec) {
    if (ec || *closed) return;
    asio::error_code ignored;
    socket.close(ignored);
  });
  auto [cec, ep] = co_await asio::async_connect(socket, results, kNoThrow);
  *closed = true;
  timeout.cancel();
  if (cec) co_return Status::IoError("cannot connect to " + label + ": " + cec.message());
  auto sc = co_await HandshakeAsClient(std::move(socket), me, address.key, options);
  if (!sc.ok()) co_return Status(sc.status().code(), label + ": " + sc.status().message());
  co_return sc;
}

}  // namespace ssb::net
