// Transports under muxrpc: box-stream over TCP after a secret handshake (peers), and plain
// packet-stream over the owner's local socket (sbot's own verbs).
#pragma once

#include <asio/generic/stream_protocol.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "ssb/muxrpc.h"

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

}  // namespace ssb::net
