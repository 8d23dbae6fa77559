#include <asio/experimental/as_tuple.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "ssb/net.h"

namespace ssb::net {
namespace {
constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);
constexpr size_t kReadChunk = 64 * 1024;
}  // namespace

PlainTransport::PlainTransport(asio::generic::stream_protocol::socket socket, std::string label)
    : socket_(std::move(socket)), label_(std::move(label)) {}

asio::awaitable<Result<bool>> PlainTransport::Read(std::string* out) {
  buf_.resize(kReadChunk);
  auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buf_), kNoThrow);
  if (ec == asio::error::eof) co_return false;
  if (ec) co_return Status::IoError(label_ + ": " + ec.message());
  out->append(buf_.data(), n);
  co_return true;
}

asio::awaitable<Status> PlainTransport::Write(std::string_view bytes) {
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(bytes), kNoThrow);
  if (ec) co_return Status::IoError(label_ + ": " + ec.message());
  co_return Status::Ok();
}

asio::awaitable<void> PlainTransport::Shutdown() {
  asio::error_code ec;
  socket_.shutdown(asio::socket_base::shutdown_send, ec);
  co_return;
}

void PlainTransport::Abort() {
  asio::error_code ec;
  socket_.close(ec);
}

}  // namespace ssb::net
