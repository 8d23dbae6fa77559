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

// Closes `socket` when the handshake runs past its deadline; the pending read then fails.
class Deadline {
 public:
  Deadline(asio::ip::tcp::socket& socket, std::chrono::milliseconds d)
      : timer_(socket.get_executor()) {
    timer_.expires_after(d);
    timer_.async_wait([&socket, this](const asio::error_code& ec) {
      if (ec) return;
      expired_ = true;
      asio::error_code ignored;
      socket.close(ignored);
    });
  }
  ~Deadline() { timer_.cancel(); }
  bool expired() const { return expired_; }

 private:
  asio::steady_timer timer_;
  bool expired_ = false;
};

template <size_t N>
asio::awaitable<Status> ReadExactly(asio::ip::tcp::socket& s, std::array<uint8_t, N>* out,
                                    const Deadline& deadline, const char* what) {
  auto [ec, n] = co_await asio::async_read(s, asio::buffer(*out), kNoThrow);
  if (deadline.expired()) co_return Status::IoError(std::string("handshake timed out waiting for ") + what);
  if (ec == asio::error::eof)
    co_return Status::InvalidInput(std::string("the peer closed the connection instead of sending ") + what +
                                   " (a different network key, or it refused us)");
  if (ec) co_return Status::IoError(std::string("reading ") + what + ": " + ec.message());
  co_return Status::Ok();
}

template <size_t N>
asio::awaitable<Status> WriteAll(asio::ip::tcp::socket& s, const std::array<uint8_t, N>& bytes) {
  auto [ec, n] = co_await asio::async_write(s, asio::buffer(bytes), kNoThrow);
  if (ec) co_return Status::IoError("handshake write: " + ec.message());
  co_return Status::Ok();
}

void Prepare(asio::ip::tcp::socket& s) {
  asio::error_code ec;
  s.set_option(asio::ip::tcp::no_delay(true), ec);
}

}  // namespace

std::string RemoteLabel(const asio::ip::tcp::socket& socket) {
  asio::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return "net:?";
  std::string host = ep.address().to_string();
  return "net:" + host + ":" + std::to_string(ep.port());
}

BoxTransport::BoxTransport(asio::ip::tcp::socket socket, const ShsKeys& keys)
    : socket_(std::move(socket)),
      encoder_(keys.send_key, keys.send_nonce),
      decoder_(keys.recv_key, keys.recv_nonce),
      label_(RemoteLabel(socket_)) {}

asio::awaitable<Result<bool>> BoxTransport::Read(std::string* out) {
  for (;;) {
    if (decoder_.ended()) co_return false;
    in_.resize(kReadChunk);
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(in_), kNoThrow);
    if (ec == asio::error::eof) {
      Status st = decoder_.Finish();
      if (st.ok()) co_return false;
      co_return st;
    }
    if (ec) co_return Status::IoError(label_ + ": " + ec.message());
    size_t before = out->size();
    Status st = decoder_.Feed(std::string_view(in_.data(), n), out);
    if (!st.ok()) co_return st;
    if (out->size() > before) co_return true;
    if (decoder_.ended()) co_return false;
  }
}

asio::awaitable<Status> BoxTransport::Write(std::string_view bytes) {
  wire_.clear();
  encoder_.Encrypt(bytes, &wire_);
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(wire_), kNoThrow);
  if (ec) co_return Status::IoError(label_ + ": " + ec.message());
  co_return Status::Ok();
}

asio::awaitable<void> BoxTransport::Shutdown() {
  if (!encoder_.ended()) {
    wire_.clear();
    encoder_.Goodbye(&wire_);
    (void)co_await asio::async_write(socket_, asio::buffer(wire_), kNoThrow);
  }
  asio::error_code ec;
  socket_.shutdown(asio::socket_base::shutdown_send, ec);
}

void BoxTransport::Abort() {
  asio::error_code ec;
  socket_.close(ec);
}

asio::awaitable<Result<SecureConnection>> HandshakeAsClient(asio::ip::tcp::socket socket,
                                                            const Keypair& me,
                                                            const PublicKey& server,
                                                            const HandshakeOptions& options) {
  Prepare(socket);
  Deadline deadline(socket, options.timeout);
  ShsClient shs(me, server, options.network_key);
  SSB_CO_RETURN_IF_ERROR(co_await WriteAll(socket, shs.Hello()));
  ShsHello msg2;
  SSB_CO_RETURN_IF_ERROR(co_await ReadExactly(socket, &msg2, deadline, "the server hello"));
  SSB_CO_RETURN_IF_ERROR(shs.ReadServerHello(msg2));
  auto auth = shs.Authenticate();
  if (!auth.ok()) co_return auth.status();
  SSB_CO_RETURN_IF_ERROR(co_await WriteAll(socket, *auth));
  ShsServerAccept msg4;
  SSB_CO_RETURN_IF_ERROR(co_await ReadExactly(socket, &msg4, deadline, "the server accept"));
  auto keys = shs.ReadServerAccept(msg4);
  if (!keys.ok()) co_return keys.status();
  SecureConnection c;
  c.peer = keys->peer;
  c.transport = std::make_unique<BoxTransport>(std::move(socket), *keys);
  co_return c;
}

asio::awaitable<Result<SecureConnection>> HandshakeAsServer(
    asio::ip::tcp::socket socket, const Keypair& me, const HandshakeOptions& options,
    std::function<bool(const PublicKey&)> authorize) {
  Prepare(socket);
  Deadline deadline(socket, options.timeout);
  ShsServer shs(me, options.network_key);
  ShsHello msg1;
  SSB_CO_RETURN_IF_ERROR(co_await ReadExactly(socket, &msg1, deadline, "the client hello"));
  SSB_CO_RETURN_IF_ERROR(shs.ReadClientHello(msg1));
  SSB_CO_RETURN_IF_ERROR(co_await WriteAll(socket, shs.Hello()));
  ShsClientAuth msg3;
  SSB_CO_RETURN_IF_ERROR(co_await ReadExactly(socket, &msg3, deadline, "the client authentication"));
  auto client = shs.ReadClientAuthenticate(msg3);
  if (!client.ok()) co_return client.status();
  if (authorize && !authorize(*client)) co_return Status::PermissionDenied("client refused");
  auto accept = shs.Accept();
  if (!accept.ok()) co_return accept.status();
  SSB_CO_RETURN_IF_ERROR(co_await WriteAll(socket, *accept));
  auto keys = shs.keys();
  if (!keys.ok()) co_return keys.status();
  SecureConnection c;
  c.peer = *client;
  c.transport = std::make_unique<BoxTransport>(std::move(socket), *keys);
  co_return c;
}

}  // namespace ssb::net
