// Transports under muxrpc: box-stream after a secret handshake over TCP or a tunnel through a
// room (peers), and plain packet-stream over the owner's local socket (sbot's own verbs).
#pragma once

#include <asio/generic/stream_protocol.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "ssb/address.h"
#include "ssb/boxstream.h"
#include "ssb/keys.h"
#include "ssb/muxrpc.h"
#include "ssb/shs.h"

namespace ssb::net {

// Plain bytes over a connected stream socket (unix or TCP). Used for the owner's local socket,
// whose file permissions are the authentication, and by tests.
class PlainTransport : public rpc::Transport {
 public:
  explicit PlainTransport(asio::generic::stream_protocol::socket socket, std::string label);
  asio::awaitable<Result<bool>> Read(std::string* out) override;
  asio::awaitable<Status> Write(std::string_view bytes) override;
  asio::awaitable<void> Shutdown() override;
  void Abort() override;
  std::string Describe() const override { return label_; }

 private:
  asio::generic::stream_protocol::socket socket_;
  std::string label_;
  std::string buf_;
};

// The ordered, reliable bytes a secret handshake and box-stream run over: a TCP socket, or a
// muxrpc duplex stream through a room (a tunnel).
class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Appends what arrived next (at least one byte) to `out`. Returns false at the peer's clean
  // end; an error when the stream broke or was closed.
  virtual asio::awaitable<Result<bool>> ReadSome(std::string* out) = 0;
  virtual asio::awaitable<Status> WriteAll(std::string_view bytes) = 0;
  // No more writes from us (the peer reads our end).
  virtual void ShutdownSend() = 0;
  // At once; pending reads and writes fail. Idempotent.
  virtual void Close() = 0;
  // For logs: "net:127.0.0.1:8008", "tunnel:@room:@peer".
  virtual std::string Describe() const = 0;
};

// A connected TCP socket (TCP_NODELAY is set: a packet's header and body travel together, which
// keeps small replies from waiting on delayed ACKs).
std::unique_ptr<ByteStream> TcpByteStream(asio::ip::tcp::socket socket);
// A duplex muxrpc stream whose binary packets carry the bytes (tunnel.connect). Writes are cut
// into packets of at most 64 KiB and wait for the connection's send queue to drain; Close()
// cancels the stream (ends both sides locally and wakes a pending read).
std::unique_ptr<ByteStream> TunnelByteStream(std::shared_ptr<rpc::Stream> stream,
                                             std::string label);

// Box-stream over a byte stream whose secret handshake has completed. Each Write() is
// encrypted into boxes and sent in one write. `initial`: bytes that arrived after the
// handshake's last message, read first.
class BoxTransport : public rpc::Transport {
 public:
  BoxTransport(std::unique_ptr<ByteStream> stream, const ShsKeys& keys, std::string initial = {});
  asio::awaitable<Result<bool>> Read(std::string* out) override;
  asio::awaitable<Status> Write(std::string_view bytes) override;
  asio::awaitable<void> Shutdown() override;
  void Abort() override;
  std::string Describe() const override { return stream_->Describe(); }

 private:
  std::unique_ptr<ByteStream> stream_;
  BoxEncoder encoder_;
  BoxDecoder decoder_;
  std::string in_;
  std::string wire_;
};

struct HandshakeOptions {
  NetworkKey network_key = kMainNetKey;
  // The whole handshake must complete within this (ssb-config timers.handshake: 5 s).
  std::chrono::milliseconds timeout{5000};
};

// The result of a handshake: the transport and who is on the other side.
struct SecureConnection {
  std::unique_ptr<BoxTransport> transport;
  PublicKey peer{};
};

// Dials side: runs the client handshake over a connected stream, expecting `server`. `me` is
// usually our identity; an invite's guest key when redeeming one.
// Errors: kInvalidInput (wrong network key, wrong server key, garbage), kIoError (the stream,
// timeout).
asio::awaitable<Result<SecureConnection>> HandshakeAsClient(std::unique_ptr<ByteStream> stream,
                                                            const Keypair& me,
                                                            const PublicKey& server,
                                                            const HandshakeOptions& options);
asio::awaitable<Result<SecureConnection>> HandshakeAsClient(asio::ip::tcp::socket socket,
                                                            const Keypair& me,
                                                            const PublicKey& server,
                                                            const HandshakeOptions& options);
// Listening side. `authorize` may refuse a client by its key (the stream is then closed before
// msg4, as secret-handshake does); null accepts everyone.
asio::awaitable<Result<SecureConnection>> HandshakeAsServer(
    std::unique_ptr<ByteStream> stream, const Keypair& me, const HandshakeOptions& options,
    std::function<bool(const PublicKey&)> authorize = nullptr);
asio::awaitable<Result<SecureConnection>> HandshakeAsServer(
    asio::ip::tcp::socket socket, const Keypair& me, const HandshakeOptions& options,
    std::function<bool(const PublicKey&)> authorize = nullptr);

// Resolves and connects to `address` (at most `connect_timeout`), then runs the client
// handshake as `me` expecting address.key. Errors: kIoError "cannot resolve …" / "cannot
// connect to …" (naming the address), and the handshake's, prefixed with the address.
asio::awaitable<Result<SecureConnection>> DialNetShs(
    const NetShsAddress& address, const Keypair& me, const HandshakeOptions& options,
    std::chrono::milliseconds connect_timeout = std::chrono::seconds(10));

// "net:HOST:PORT" of a connected socket's remote end, for logs.
std::string RemoteLabel(const asio::ip::tcp::socket& socket);

}  // namespace ssb::net
