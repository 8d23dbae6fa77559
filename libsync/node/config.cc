// <data dir>/config: ssb-config's keys over the defaults (formats/data-dir.md).
#include "ssb/base64.h"
#include "ssb/blob_store.h"
#include "ssb/feed_ops.h"
#include "ssb/files.h"
#include "ssb/node.h"

namespace ssb {

using json::Value;

Result<NodeConfig> LoadNodeConfig(const std::string& data_dir) {
  NodeConfig c;
  c.data_dir = data_dir;
  auto text = ReadFile(data_dir + "/config");
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return c;
    return text.status();
  }
  auto v = json::Parse(*text, {.max_depth = 32, .max_bytes = 1 << 20});
  if (!v.ok()) return Status::InvalidInput(data_dir + "/config: " + v.status().message());
  if (!v->is_object()) return Status::InvalidInput(data_dir + "/config: not a JSON object");
  auto bad = [&](const std::string& key, const std::string& why) {
    return Status::InvalidInput(data_dir + "/config: " + key + " " + why);
  };
  if (const Value* caps = v->Find("caps"); caps && caps->is_object()) {
    if (const Value* shs = caps->Find("shs"); shs && shs->is_string()) {
      auto k = Base64DecodeCanonical(shs->as_string());
      if (!k || k->size() != 32) return bad("caps.shs", "must be base64 of 32 bytes");
      std::copy(k->begin(), k->end(), c.network_key.begin());
    }
    if (const Value* sign = caps->Find("sign"); sign && sign->is_string()) {
      auto k = Base64DecodeCanonical(sign->as_string());
      if (!k || k->size() != 32) return bad("caps.sign", "must be base64 of 32 bytes");
      HmacKey h;
      std::copy(k->begin(), k->end(), h.begin());
      c.sign_cap = h;
    }
  }
  SSB_RETURN_IF_ERROR(OptString(*v, "host", &c.host));
  int64_t port = c.port;
  SSB_RETURN_IF_ERROR(OptInt(*v, "port", &port));
  if (const Value* conns = v->Find("connections"); conns && conns->is_object()) {
    if (const Value* in = conns->Find("incoming"); in && in->is_object()) {
      if (const Value* net = in->Find("net"); net && net->is_array() && net->size() > 0) {
        SSB_RETURN_IF_ERROR(OptString(net->items()[0], "host", &c.host));
        SSB_RETURN_IF_ERROR(OptInt(net->items()[0], "port", &port));
      }
    }
  }
  if (port < 0 || port > 65535) return bad("port", "must be 0..65535");
  c.port = static_cast<uint16_t>(port);
  int64_t hops = c.hops;
  for (const char* section : {"friends", "replicate"}) {
    if (const Value* s = v->Find(section); s && s->is_object()) SSB_RETURN_IF_ERROR(OptInt(*s, "hops", &hops));
  }
  if (hops < 0 || hops > 10) return bad("hops", "must be 0..10");
  c.hops = static_cast<int>(hops);
  if (const Value* lan = v->Find("lan")) {
    if (lan->is_bool()) c.lan = lan->as_bool();
    else if (lan->is_object()) {
      if (!OptBool(*lan, "enabled", &c.lan).ok()) return bad("lan.enabled", "must be true or false");
      int64_t lp = c.lan_port;
      SSB_RETURN_IF_ERROR(OptInt(*lan, "port", &lp));
      if (lp <= 0 || lp > 65535) return bad("lan.port", "must be 1..65535");
      c.lan_port = static_cast<uint16_t>(lp);
    }
  }
  if (const Value* local = v->Find("local"); local && local->is_bool()) c.lan = local->as_bool();
  if (const Value* ebt = v->Find("ebt")) {
    if (ebt->is_bool()) c.ebt = ebt->as_bool();
    else if (ebt->is_object()) {
      if (!OptBool(*ebt, "enabled", &c.ebt).ok()) return bad("ebt.enabled", "must be true or false");
    }
    else return bad("ebt", "must be true, false or {\"enabled\": …}");
  }
  if (const Value* seeds = v->Find("seeds"); seeds && seeds->is_array()) {
    for (const Value& s : seeds->items())
      if (s.is_string()) c.seeds.push_back(s.as_string());
  }
  if (const Value* g = v->Find("gossip"); g && g->is_object()) {
    int64_t n = static_cast<int64_t>(c.max_outgoing);
    SSB_RETURN_IF_ERROR(OptInt(*g, "connections", &n));
    if (n < 0 || n > 1000) return bad("gossip.connections", "must be 0..1000");
    c.max_outgoing = static_cast<size_t>(n);
  }
  if (const Value* b = v->Find("blobs"); b && b->is_object()) {
    double max = static_cast<double>(c.blob_auto_want_max) + 1;  // ssb-blobs: sizes < max
    SSB_RETURN_IF_ERROR(OptNumber(*b, "max", &max));
    if (max < 1 || max > static_cast<double>(kDefaultMaxBlobSize) + 1) {
      return bad("blobs.max", "must be 1..5242880");
    }
    c.blob_auto_want_max = static_cast<uint64_t>(max) - 1;
  }
  if (const Value* t = v->Find("timers"); t && t->is_object()) {
    int64_t inactivity = c.idle_timeout.count() * 1000;
    SSB_RETURN_IF_ERROR(OptInt(*t, "inactivity", &inactivity));
    if (inactivity < 1000) return bad("timers.inactivity", "must be at least 1000 ms");
    c.idle_timeout = std::chrono::seconds(inactivity / 1000);
  }
  return c;
}

}  // namespace ssb
