// LAN discovery: we announce our address by UDP broadcast on every interface that can
// broadcast, and hear others' announcements (ssb-local's legacy payload, PROTOCOL.md §4).
// Not a public header.
#pragma once

#include <asio/awaitable.hpp>
#include <functional>
#include <string>
#include <vector>

#include "node_context.h"
#include "ssb/address.h"

namespace ssb {

// An up, non-loopback IPv4 interface that can broadcast.
struct LanInterface {
  std::string address;
  std::string broadcast;
};
std::vector<LanInterface> LanInterfaces();

class LanDiscovery {
 public:
  // `heard` receives every address announced by another key (the caller adds it to its
  // gossip table).
  using HeardFn = std::function<void(const NetShsAddress&)>;
  LanDiscovery(NodeContext& node, HeardFn heard) : node_(node), heard_(std::move(heard)) {}

  // Announces `port` every config.lan_interval and listens on config.lan_port until the node
  // stops. Failures to open the sockets are logged and turn that half off.
  void Start(uint16_t port);

 private:
  asio::awaitable<void> Announce(uint16_t port);
  asio::awaitable<void> Receive();

  NodeContext& node_;
  HeardFn heard_;
};

}  // namespace ssb
