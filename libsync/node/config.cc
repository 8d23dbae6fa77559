// <data dir>/config: ssb-config's keys over the defaults (formats/data-dir.md).
#include "ssb/address.h"
#include "ssb/base64.h"
#include "ssb/blob_store.h"
#include "ssb/config.h"
#include "ssb/feed_ops.h"
#include "ssb/files.h"
#include "ssb/node.h"

namespace ssb {

using json::Value;

Result<NodeConfig> LoadNodeConfig(const std::string& data_dir) {
  auto cfg = LoadConfig(data_dir);
  if (!cfg.ok()) return cfg.status();
  NodeConfig c;
  c.data_dir = data_dir;
  c.network_key = cfg->shs;
  c.sign_cap = cfg->sign;
  c.host = cfg->host;
  c.port = cfg->port;
  c.hops = cfg->hops;
  c.lan = cfg->lan;
  c.lan_port = cfg->lan_port;
  c.ebt = cfg->ebt;
  c.seeds = cfg->seeds;
  c.max_outgoing = cfg->gossip_connections;
  c.blob_auto_want_max = cfg->blobs_max - 1;  // ssb-blobs: sizes < max
  c.idle_timeout = std::chrono::seconds(cfg->inactivity_ms / 1000);
  if (!cfg->external.empty() && !IsValidHost(cfg->external)) {
    return Status::InvalidArgument(cfg->file + ": connections.incoming.net[0].external must be a host name or address (or an array of them)");
  }
  c.external = cfg->external;
  c.dial_pubs = cfg->gossip_pub;
  c.max_rooms = cfg->gossip_rooms;
  c.room = cfg->room;
  c.room_name = cfg->room_name;
  c.room_description = cfg->room_description;
  c.room_limits.max_attendants = cfg->room_max_attendants;
  c.room_limits.max_tunnels_per_peer = cfg->room_max_tunnels_per_peer;
  c.room_limits.max_tunnel_opens_per_minute = cfg->room_max_tunnel_opens_per_minute;
  c.room_limits.max_tunnels = cfg->room_max_tunnels;
  c.room_limits.max_tunnel_bytes = cfg->room_max_tunnel_bytes;
  return c;
}

}  // namespace ssb
