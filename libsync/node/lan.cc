// LAN discovery by UDP broadcast.
#include "lan.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

namespace ssb {
namespace {

using asio::awaitable;
constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace

std::vector<LanInterface> LanInterfaces() {
  std::vector<LanInterface> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    if (!(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK)) continue;
    if (!(i->ifa_flags & IFF_BROADCAST) || !i->ifa_broadaddr) continue;
    auto a = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    auto b = reinterpret_cast<sockaddr_in*>(i->ifa_broadaddr);
    out.push_back({asio::ip::address_v4(ntohl(a->sin_addr.s_addr)).to_string(),
                   asio::ip::address_v4(ntohl(b->sin_addr.s_addr)).to_string()});
  }
  freeifaddrs(list);
  return out;
}

void LanDiscovery::Start(uint16_t port) {
  asio::co_spawn(node_.io, Announce(port), asio::detached);
  asio::co_spawn(node_.io, Receive(), asio::detached);
}

awaitable<void> LanDiscovery::Announce(uint16_t port) {
  asio::ip::udp::socket sock(node_.io);
  asio::error_code ec;
  sock.open(asio::ip::udp::v4(), ec);
  if (!ec) sock.set_option(asio::socket_base::broadcast(true), ec);
  if (ec) {
    node_.Log("LAN announcements off: " + ec.message());
    co_return;
  }
  asio::steady_timer timer(node_.io);
  while (!node_.stopping) {
    for (const auto& i : LanInterfaces()) {
      NetShsAddress a{i.address, port, node_.keys.public_key()};
      std::string payload = FormatAddress(a);
      asio::ip::udp::endpoint to(asio::ip::make_address_v4(i.broadcast), node_.config.lan_port);
      sock.send_to(asio::buffer(payload), to, 0, ec);  // best effort
    }
    timer.expires_after(node_.config.lan_interval);
    co_await timer.async_wait(kNoThrow);
  }
}

awaitable<void> LanDiscovery::Receive() {
  asio::ip::udp::socket sock(node_.io);
  asio::error_code ec;
  asio::ip::udp::endpoint ep(asio::ip::address_v4::any(), node_.config.lan_port);
  sock.open(ep.protocol(), ec);
  if (!ec) sock.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) sock.bind(ep, ec);
  if (ec) {
    node_.Log("LAN discovery off: cannot listen on UDP " + std::to_string(node_.config.lan_port) +
              ": " + ec.message());
    co_return;
  }
  std::array<uint8_t, kMaxLanPayloadBytes> buf;
  while (!node_.stopping) {
    asio::ip::udp::endpoint from;
    auto [rec, n] = co_await sock.async_receive_from(asio::buffer(buf), from, kNoThrow);
    if (rec) {
      if (node_.stopping) break;
      continue;
    }
    auto addrs = DecodeLanLegacy(std::span<const uint8_t>(buf.data(), n));
    if (!addrs.ok()) continue;  // someone else's traffic on this port
    for (const auto& a : *addrs) {
      if (a.key == node_.keys.public_key()) continue;  // our own announcement
      heard_(a);
    }
  }
}

}  // namespace ssb
