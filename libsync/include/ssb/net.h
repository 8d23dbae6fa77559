// Transports under muxrpc: box-stream over TCP after a secret handshake (peers), and plain
// packet-stream over the owner's local socket (sbot's own verbs).
#pragma once

#include <asio/generic/stream_protocol.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <string>

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

// Box-stream over a TCP socket whose secret handshake has completed. Each Write() is encrypted
// into boxes and sent in one socket write (a packet's header and body travel together, which
// keeps small replies from waiting on delayed ACKs; TCP_NODELAY is set).
class BoxTransport : public rpc::Transport {
 public:
  BoxTransport(asio::ip::tcp::socket socket, const ShsKeys& keys);
  asio::awaitable<Result<bool>> Read(std::string* out) override;
  asio::awaitable<Status> Write(std::string_view bytes) override;
  asio::awaitable<void> Shutdown() override;
  void Abort() override;
  std::string Describe() const override { return label_; }

 private:
  asio::ip::tcp::socket socket_;
  BoxEncoder encoder_;
  BoxDecoder decoder_;
  std::string label_;
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

// Dials side: runs the client handshake over a connected socket, expecting `server`.
// Errors: kInvalidInput (wrong network key, wrong server key, garbage), kIoError (socket,
// timeout).
asio::awaitable<Result<SecureConnection>> HandshakeAsClient(asio::ip::tcp::socket socket,
                                                            const Keypair& me,
                                                            const PublicKey& server,
                                                            const HandshakeOptions& options);
// Listening side. `authorize` may refuse a client by its key (the socket is then closed before
// msg4, as secret-handshake does); null accepts everyone.
asio::awaitable<Result<SecureConnection>> HandshakeAsServer(
    asio::ip::tcp::socket socket, const Keypair& me, const HandshakeOptions& options,
    std::function<bool(const PublicKey&)> authorize = nullptr);

// "net:HOST:PORT" of a connected socket's remote end, for logs.
std::string RemoteLabel(const asio::ip::tcp::socket& socket);

}  // namespace ssb::net
