// DATADIR/config (formats/data-dir.md "config"): one table of the keys we use.
#include "ssb/config.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "ssb/base64.h"
#include "ssb/files.h"
#include "ssb/json.h"

namespace ssb {
namespace {

using json::Value;

// Why a value is wrong, without the key (the caller names the file and the key).
// A bad config is the user's to fix, like a bad option: kInvalidArgument (exit 2 in both tools).
Status Bad(std::string why) { return Status::InvalidArgument(std::move(why)); }

Status Key32(const Value& v, NetworkKey* out) {
  if (!v.is_string()) return Bad("must be a string: base64 of 32 bytes");
  auto k = Base64DecodeCanonical(v.as_string());
  if (!k || k->size() != 32) return Bad("must be base64 of 32 bytes");
  std::copy(k->begin(), k->end(), out->begin());
  return Status::Ok();
}

Status Bool(const Value& v, bool* out) {
  if (!v.is_bool()) return Bad("must be true or false");
  *out = v.as_bool();
  return Status::Ok();
}

// An integer in [lo, hi]; ssb-config takes ports as strings too ("port": "8008").
Status Int(const Value& v, int64_t lo, int64_t hi, int64_t* out, bool allow_string = false) {
  double d;
  if (v.is_number()) {
    d = v.as_number();
  } else if (allow_string && v.is_string() && !v.as_string().empty() &&
             v.as_string().size() < 16 &&
             v.as_string().find_first_not_of("0123456789") == std::string::npos) {
    d = std::stod(v.as_string());
  } else {
    return Bad("must be a number from " + std::to_string(lo) + " to " + std::to_string(hi));
  }
  if (!std::isfinite(d) || d != std::trunc(d) || d < static_cast<double>(lo) ||
      d > static_cast<double>(hi)) {
    return Bad("must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
  }
  *out = static_cast<int64_t>(d);
  return Status::Ok();
}

Status Port(const Value& v, int64_t lo, uint16_t* out) {
  int64_t p;
  SSB_RETURN_IF_ERROR(Int(v, lo, 65535, &p, true));
  *out = static_cast<uint16_t>(p);
  return Status::Ok();
}

Status Host(const Value& v, std::string* out) {
  if (!v.is_string() || v.as_string().empty()) return Bad("must be a host name or IP address");
  *out = v.as_string();
  return Status::Ok();
}

Status BoundedString(const Value& v, size_t max, std::string* out) {
  if (!v.is_string() || v.as_string().size() > max) {
    return Bad("must be a string of at most " + std::to_string(max) + " bytes");
  }
  *out = v.as_string();
  return Status::Ok();
}

// A count in [1, hi].
Status Size(const Value& v, int64_t hi, size_t* out) {
  int64_t n;
  SSB_RETURN_IF_ERROR(Int(v, 1, hi, &n));
  *out = static_cast<size_t>(n);
  return Status::Ok();
}

// One key we use: its dotted path and how its value is checked and stored. Applied in table
// order, so a later row wins over an earlier one (the long form of host/port over the short).
struct KeySpec {
  const char* path;
  Status (*apply)(const Value& v, Config& c);
};

const KeySpec kKeys[] = {
    {"caps.shs", [](const Value& v, Config& c) { return Key32(v, &c.shs); }},
    {"caps.sign",
     [](const Value& v, Config& c) {
       if (v.is_null()) {
         c.sign.reset();
         return Status::Ok();
       }
       HmacKey k;
       SSB_RETURN_IF_ERROR(Key32(v, &k));
       c.sign = k;
       return Status::Ok();
     }},
    {"host", [](const Value& v, Config& c) { return Host(v, &c.host); }},
    {"port", [](const Value& v, Config& c) { return Port(v, 0, &c.port); }},
    {"connections.incoming.net",
     [](const Value& v, Config& c) {
       if (!v.is_array()) return Bad("must be an array of {host, port, …}");
       if (v.size() == 0) return Status::Ok();
       const Value& first = v.items()[0];
       if (!first.is_object()) return Bad("[0] must be an object");
       if (const Value* h = first.Find("host")) {
         Status st = Host(*h, &c.host);
         if (!st.ok()) return Bad("[0].host " + st.message());
       }
       if (const Value* p = first.Find("port")) {
         Status st = Port(*p, 0, &c.port);
         if (!st.ok()) return Bad("[0].port " + st.message());
       }
       // ssb-config: the public host(s) others reach us at; the first goes into invites.
       if (const Value* ext = first.Find("external")) {
         const Value* one = ext->is_array() && ext->size() > 0 ? &ext->items()[0] : ext;
         // The server checks the host's spelling (LoadNodeConfig): the address parser is
         // network code, which the bundle tool must not depend on.
         if (!one->is_string() || one->as_string().empty()) {
           return Bad("[0].external must be a host name or address (or an array of them)");
         }
         c.external = one->as_string();
       }
       return Status::Ok();
     }},
    {"friends.hops",
     [](const Value& v, Config& c) {
       int64_t h;
       SSB_RETURN_IF_ERROR(Int(v, 0, 10, &h));
       c.hops = static_cast<int>(h);
       return Status::Ok();
     }},
    {"replicate.hops",
     [](const Value& v, Config& c) {
       int64_t h;
       SSB_RETURN_IF_ERROR(Int(v, 0, 10, &h));
       c.hops = static_cast<int>(h);
       return Status::Ok();
     }},
    {"lan",
     [](const Value& v, Config& c) {
       if (!v.is_bool()) return Bad("must be true, false or {\"enabled\": …, \"port\": …}");
       c.lan = v.as_bool();
       return Status::Ok();
     }},
    {"lan.enabled", [](const Value& v, Config& c) { return Bool(v, &c.lan); }},
    {"lan.port", [](const Value& v, Config& c) { return Port(v, 1, &c.lan_port); }},
    {"local",
     [](const Value& v, Config& c) {
       // ssb-config's name for LAN discovery; only `false` changes anything here.
       bool on = true;
       SSB_RETURN_IF_ERROR(Bool(v, &on));
       if (!on) c.lan = false;
       return Status::Ok();
     }},
    {"ebt",
     [](const Value& v, Config& c) {
       if (!v.is_bool()) return Bad("must be true, false or {\"enabled\": …}");
       c.ebt = v.as_bool();
       return Status::Ok();
     }},
    {"ebt.enabled", [](const Value& v, Config& c) { return Bool(v, &c.ebt); }},
    {"seeds",
     [](const Value& v, Config& c) {
       if (!v.is_array()) return Bad("must be an array of multiserver addresses");
       c.seeds.clear();
       for (const Value& s : v.items()) {
         if (!s.is_string()) return Bad("must be an array of strings (multiserver addresses)");
         c.seeds.push_back(s.as_string());
       }
       return Status::Ok();
     }},
    {"gossip.connections",
     [](const Value& v, Config& c) {
       int64_t n;
       SSB_RETURN_IF_ERROR(Int(v, 0, 1000, &n));
       c.gossip_connections = static_cast<size_t>(n);
       return Status::Ok();
     }},
    {"gossip.pub", [](const Value& v, Config& c) { return Bool(v, &c.gossip_pub); }},
    {"gossip.rooms",
     [](const Value& v, Config& c) {
       int64_t n;
       SSB_RETURN_IF_ERROR(Int(v, 0, 50, &n));
       c.gossip_rooms = static_cast<size_t>(n);
       return Status::Ok();
     }},
    {"room",
     [](const Value& v, Config& c) {
       if (!v.is_bool()) return Bad("must be true, false or {\"enabled\": …}");
       c.room = v.as_bool();
       return Status::Ok();
     }},
    {"room.enabled", [](const Value& v, Config& c) { return Bool(v, &c.room); }},
    {"room.name", [](const Value& v, Config& c) { return BoundedString(v, 200, &c.room_name); }},
    {"room.description",
     [](const Value& v, Config& c) { return BoundedString(v, 1000, &c.room_description); }},
    {"room.max_attendants",
     [](const Value& v, Config& c) { return Size(v, 100000, &c.room_max_attendants); }},
    {"room.max_tunnels_per_peer",
     [](const Value& v, Config& c) { return Size(v, 1000, &c.room_max_tunnels_per_peer); }},
    {"room.max_tunnel_opens_per_minute",
     [](const Value& v, Config& c) { return Size(v, 100000, &c.room_max_tunnel_opens_per_minute); }},
    {"room.max_tunnels", [](const Value& v, Config& c) { return Size(v, 100000, &c.room_max_tunnels); }},
    {"room.max_tunnel_bytes",
     [](const Value& v, Config& c) {
       int64_t n;
       SSB_RETURN_IF_ERROR(Int(v, 0, int64_t{1} << 53, &n));
       c.room_max_tunnel_bytes = static_cast<uint64_t>(n);
       return Status::Ok();
     }},
    {"blobs.max",
     [](const Value& v, Config& c) {
       int64_t n;
       SSB_RETURN_IF_ERROR(Int(v, 1, 5242880, &n));
       c.blobs_max = static_cast<uint64_t>(n);
       return Status::Ok();
     }},
    {"timers.inactivity",
     [](const Value& v, Config& c) {
       int64_t ms;
       SSB_RETURN_IF_ERROR(Int(v, 1000, int64_t{1} << 40, &ms));
       c.inactivity_ms = ms;
       return Status::Ok();
     }},
};

// Top-level keys of ssb-config and the ssb-server plugins a shared config file may carry: not
// used here, not worth a warning.
const std::set<std::string_view> kForeignSections = {
    "allowPrivate", "appKey", "autofollow", "blobs", "caps", "conn", "connections", "db2",
    "ebt", "friends", "gossip", "host", "incoming", "invite", "keys", "lan", "local", "logging",
    "manifest", "master", "ooo", "party", "path", "plugins", "port", "pub", "remote",
    "replicate", "room", "roomClient", "seeds", "serveBlobs", "timeout", "timers", "tunnel",
    "ws"};

const KeySpec* FindSpec(std::string_view path) {
  for (const auto& k : kKeys)
    if (path == k.path) return &k;
  return nullptr;
}

// True when some key we use lies below `path`.
bool IsSection(std::string_view path) {
  for (const auto& k : kKeys) {
    std::string_view p = k.path;
    if (p.size() > path.size() && p.substr(0, path.size()) == path && p[path.size()] == '.') {
      return true;
    }
  }
  return false;
}

// A key as it is shown in messages: plain when printable ASCII, else JSON-quoted.
std::string Printable(const std::string& key) {
  for (unsigned char ch : key) {
    if (ch < 0x20 || ch >= 0x7F || ch == '"') {
      std::string q;
      json::AppendQuoted(&q, key);
      std::string ascii;
      for (unsigned char c2 : q) {
        char buf[8];
        if (c2 >= 0x80) {
          std::snprintf(buf, sizeof buf, "\\x%02x", c2);
          ascii += buf;
        } else {
          ascii.push_back(static_cast<char>(c2));
        }
      }
      return ascii;
    }
  }
  return key;
}

struct Walk {
  std::map<std::string, const Value*> used;  // path → value, for the keys we use
  std::vector<std::string> unknown, ignored;
};

Status Collect(const Value& obj, const std::string& prefix, const std::string& file, Walk* w) {
  for (size_t i = 0; i < obj.size(); ++i) {
    std::string path = prefix.empty() ? obj.keys()[i] : prefix + "." + obj.keys()[i];
    const Value& v = obj.items()[i];
    if (v.is_object() && IsSection(path)) {
      SSB_RETURN_IF_ERROR(Collect(v, path, file, w));
    } else if (FindSpec(path)) {
      w->used[path] = &v;
    } else if (IsSection(path)) {
      return Bad(file + ": " + Printable(path) + " must be an object");
    } else {
      std::string top = path.substr(0, path.find('.'));
      bool foreign = prefix.empty() ? kForeignSections.count(obj.keys()[i]) > 0
                                    : kForeignSections.count(top) > 0;
      (foreign ? w->ignored : w->unknown).push_back(Printable(path));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<Config> ParseConfig(std::string_view text, const std::string& file) {
  json::ParseOptions po;
  po.max_depth = kMaxConfigDepth;
  po.max_bytes = kMaxConfigBytes;
  auto v = json::Parse(text, po);
  if (!v.ok()) {
    return Bad(file + " is not valid JSON: " + v.status().message());
  }
  if (!v->is_object()) return Bad(file + " must hold a JSON object");
  Config c;
  c.file = file;
  // ssb-room: a `room` object turns the room on unless its `enabled` says otherwise.
  if (const Value* room = v->Find("room"); room && room->is_object()) c.room = true;
  Walk w;
  SSB_RETURN_IF_ERROR(Collect(*v, "", file, &w));
  for (const auto& spec : kKeys) {
    auto it = w.used.find(spec.path);
    if (it == w.used.end()) continue;
    Status st = spec.apply(*it->second, c);
    if (!st.ok()) {
      return Status(st.code(), file + ": " + spec.path + (st.message()[0] == '[' ? "" : " ") +
                                   st.message());
    }
  }
  c.unknown_keys = std::move(w.unknown);
  c.ignored_keys = std::move(w.ignored);
  return c;
}

Result<Config> LoadConfig(const std::string& data_dir) {
  std::string file = data_dir + "/config";
  ReadLimits lim;
  lim.max_bytes = kMaxConfigBytes;
  auto text = ReadFileLimited(file, lim);
  if (!text.ok()) {
    Code code = text.status().code();
    if (code == Code::kNotFound) return Config{};
    if (code == Code::kLimitExceeded || code == Code::kInvalidInput) return Bad(text.status().message());
    return text.status();
  }
  return ParseConfig(*text, file);
}

std::vector<std::string> ConfigWarnings(const Config& config) {
  std::vector<std::string> out;
  for (const auto& k : config.unknown_keys) out.push_back(config.file + ": unknown key " + k + " (ignored)");
  return out;
}

}  // namespace ssb
