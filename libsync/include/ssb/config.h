// DATADIR/config: the one reader of settings for `sbot`, `sbot server` and `ssb-bundle`
// (formats/data-dir.md "config"), so that all three agree on the network of a data dir.
//
// The file is JSON with ssb-config's key names, so one file can serve ssb-server too. A key we
// use with a value of the wrong type or out of range is an error naming the file and the key.
// A key ssb-config or ssb-server knows but we do not use is ignored; any other key is a warning
// naming it (a typo should not pass silently, nor stop a cron job).
//
// Adding a key: a field in Config and one row in the table in config.cc (its dotted path and
// how its value is checked and stored); formats/data-dir.md lists it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ssb/keys.h"
#include "ssb/status.h"

namespace ssb {

// Larger config files are refused before they are read.
inline constexpr size_t kMaxConfigBytes = 1u << 20;
// Nesting deeper than this is refused.
inline constexpr uint32_t kMaxConfigDepth = 32;

struct Config {
  std::string file;                     // the file that was read; "" when there was none

  // The network (every command).
  NetworkKey shs = kMainNetKey;         // caps.shs: the secret-handshake network key
  std::optional<HmacKey> sign;          // caps.sign: messages are signed over its HMAC

  // The server (`sbot server`).
  std::string host = "0.0.0.0";         // host, or connections.incoming.net[0].host
  uint16_t port = 8008;                 // port, or connections.incoming.net[0].port
  int hops = 2;                         // friends.hops or replicate.hops
  bool lan = true;                      // lan / lan.enabled / local
  uint16_t lan_port = 8008;             // lan.port
  bool ebt = true;                      // ebt / ebt.enabled
  std::vector<std::string> seeds;       // seeds
  size_t gossip_connections = 8;        // gossip.connections
  bool gossip_pub = true;               // gossip.pub: dial pubs announced in messages
  size_t gossip_rooms = 5;              // gossip.rooms: rooms kept connected at once
  std::string external;                 // connections.incoming.net[0].external (first one)
  // Serving as a room (ssb-room's key `room`: true, or an object, enabled unless it says not).
  bool room = false;                    // room / room.enabled
  std::string room_name;                // room.name (at most 200 bytes)
  std::string room_description;         // room.description (at most 1000 bytes)
  size_t room_max_attendants = 1000;            // room.max_attendants
  size_t room_max_tunnels_per_peer = 16;        // room.max_tunnels_per_peer
  size_t room_max_tunnel_opens_per_minute = 60; // room.max_tunnel_opens_per_minute
  size_t room_max_tunnels = 4096;               // room.max_tunnels
  uint64_t room_max_tunnel_bytes = 0;           // room.max_tunnel_bytes (0: no limit)
  uint64_t blobs_max = 5u << 20;        // blobs.max: fetch blobs smaller than this
  int64_t inactivity_ms = 600000;       // timers.inactivity

  // Keys that neither we nor ssb-config know, as dotted paths (JSON-quoted where they hold
  // characters that are not printable ASCII). The caller warns about them.
  std::vector<std::string> unknown_keys;
  // ssb-config's keys that scuttlesync does not use (ignored without a warning).
  std::vector<std::string> ignored_keys;
};

// Reads DATADIR/config (a missing file is all defaults). The file must be a regular file of at
// most kMaxConfigBytes. Errors, each naming the file (and the key): kInvalidArgument for JSON
// that does not parse, a value of the wrong type or out of range, a file over the limit or not
// a regular file; kIoError / kPermissionDenied when it cannot be read.
Result<Config> LoadConfig(const std::string& data_dir);
// The same for text already read; `file` names it in errors.
Result<Config> ParseConfig(std::string_view text, const std::string& file);

// One warning line per unknown key ("FILE: unknown key KEY (ignored)"), for the commands to
// print on standard error.
std::vector<std::string> ConfigWarnings(const Config& config);

}  // namespace ssb
