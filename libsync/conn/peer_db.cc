// The peer database and dial policy (formats/peer-db.md).
#include "ssb/peer_db.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "ssb/files.h"
#include "ssb/ref.h"

namespace ssb {
namespace {

using json::Value;

constexpr int kFileVersion = 1;
constexpr size_t kMaxLanEntries = 256;  // a LAN can announce anything; keep what fits

// How much we trust where an address came from: a stronger source replaces a weaker one.
int Strength(PeerSource s) {
  switch (s) {
    case PeerSource::kManual: return 5;
    case PeerSource::kSeed: return 4;
    case PeerSource::kInvite: return 3;
    case PeerSource::kPub: return 2;
    case PeerSource::kRoom: return 1;
    case PeerSource::kLan: return 0;
  }
  return 0;
}

// Which address of a peer to dial first: LAN when we heard it, then the owner's choices.
int DialRank(PeerSource s) {
  switch (s) {
    case PeerSource::kLan: return 0;
    case PeerSource::kSeed: return 1;
    case PeerSource::kManual: return 2;
    case PeerSource::kInvite: return 3;
    case PeerSource::kRoom: return 4;
    case PeerSource::kPub: return 5;
  }
  return 6;
}

bool IsLoopbackOrUnspecified(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1" || host == "::" ||
         host == "0.0.0.0" || host.rfind("0.", 0) == 0 || host.rfind("::ffff:127.", 0) == 0;
}

int64_t NumberOr(const Value& obj, const char* key, int64_t fallback) {
  const Value* v = obj.Find(key);
  if (!v || !v->is_number() || !std::isfinite(v->as_number())) return fallback;
  double d = v->as_number();
  if (d < 0 || d > 9007199254740991.0) return fallback;
  return static_cast<int64_t>(d);
}

std::string StringOr(const Value& obj, const char* key, size_t max) {
  const Value* v = obj.Find(key);
  if (!v || !v->is_string()) return "";
  return v->as_string().substr(0, max);
}

}  // namespace

std::string_view PeerSourceName(PeerSource s) {
  switch (s) {
    case PeerSource::kSeed: return "seed";
    case PeerSource::kManual: return "manual";
    case PeerSource::kInvite: return "invite";
    case PeerSource::kPub: return "pub";
    case PeerSource::kLan: return "lan";
    case PeerSource::kRoom: return "room";
  }
  return "manual";
}

std::optional<PeerSource> PeerSourceFromName(std::string_view name) {
  for (PeerSource s : {PeerSource::kSeed, PeerSource::kManual, PeerSource::kInvite,
                       PeerSource::kPub, PeerSource::kLan, PeerSource::kRoom}) {
    if (PeerSourceName(s) == name) return s;
  }
  return std::nullopt;
}

bool PeerDb::Stored(const PeerEntry& e) {
  return e.source != PeerSource::kLan && e.source != PeerSource::kRoom &&
         e.address.kind == DialAddress::Kind::kNet;
}

size_t PeerDb::learned_pubs() const {
  size_t n = 0;
  for (const auto& [k, e] : entries_) n += e.source == PeerSource::kPub ? 1 : 0;
  return n;
}

// ---- the file

PeerDb PeerDb::Parse(std::string_view text, size_t* skipped, std::string* warning) {
  PeerDb db;
  size_t bad = 0;
  std::string why;
  auto note = [&](const std::string& w) {
    ++bad;
    if (why.empty()) why = w;
  };
  json::ParseOptions opt;
  opt.max_depth = 8;
  opt.max_bytes = kMaxPeerDbFileBytes;
  auto doc = json::Parse(text, opt);
  if (!doc.ok() || !doc->is_object()) {
    if (skipped) *skipped = 0;
    if (warning) *warning = doc.ok() ? "not a JSON object" : doc.status().message();
    return db;
  }
  const Value* version = doc->Find("version");
  if (!version || !version->is_number() || version->as_number() != kFileVersion) {
    if (warning) *warning = "unknown version (expected 1)";
    if (skipped) *skipped = 0;
    return db;
  }
  const Value* peers = doc->Find("peers");
  if (peers && peers->is_array()) {
    for (const Value& p : peers->items()) {
      if (db.entries_.size() >= kMaxPeerDbEntries) {
        note("more than " + std::to_string(kMaxPeerDbEntries) + " entries");
        continue;
      }
      if (!p.is_object()) {
        note("an entry is not an object");
        continue;
      }
      const Value* addr = p.Find("address");
      const Value* source = p.Find("source");
      if (!addr || !addr->is_string() || !source || !source->is_string()) {
        note("an entry lacks address or source");
        continue;
      }
      auto parsed = ParseDialAddress(addr->as_string());
      auto src = PeerSourceFromName(source->as_string());
      if (!parsed.ok() || !src) {
        note(parsed.ok() ? "unknown source \"" + source->as_string().substr(0, 20) + "\""
                         : parsed.status().message());
        continue;
      }
      PeerEntry e;
      e.address = std::move(parsed).value();
      e.source = *src;
      if (!Stored(e)) {
        note("an entry of a kind that is never stored");
        continue;
      }
      const Value* room = p.Find("room");
      e.room = room && room->is_bool() && room->as_bool();
      e.note = StringOr(p, "note", kMaxPeerErrorBytes);
      e.failures = static_cast<uint32_t>(std::min<int64_t>(NumberOr(p, "failures", 0), 1000000));
      e.last_attempt = NumberOr(p, "last_attempt", 0);
      e.last_success = NumberOr(p, "last_success", 0);
      e.last_failure = NumberOr(p, "last_failure", 0);
      e.next_try = NumberOr(p, "next_try", 0);
      e.last_error = StringOr(p, "last_error", kMaxPeerErrorBytes);
      if (e.source == PeerSource::kPub && db.learned_pubs() >= kMaxLearnedPubs) {
        note("more than " + std::to_string(kMaxLearnedPubs) + " learned pubs");
        continue;
      }
      std::string key = FormatDialAddress(e.address);
      if (!db.entries_.emplace(key, std::move(e)).second) note("a duplicate address");
    }
  } else if (peers) {
    note("peers is not an array");
  }
  if (skipped) *skipped = bad;
  if (warning) *warning = why;
  return db;
}

Result<PeerDb> PeerDb::Load(const std::string& path, size_t* skipped, std::string* warning) {
  if (skipped) *skipped = 0;
  if (warning) warning->clear();
  auto text = ReadFile(path);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return PeerDb();
    return text.status();
  }
  if (text->size() > kMaxPeerDbFileBytes) {
    if (warning) *warning = "larger than " + std::to_string(kMaxPeerDbFileBytes) + " bytes";
    return PeerDb();
  }
  return Parse(*text, skipped, warning);
}

std::string PeerDb::Serialize() const {
  Value peers = Value::Array();
  for (const auto& [key, e] : entries_) {
    if (!Stored(e)) continue;
    Value v = Value::Object();
    v.Set("address", Value::String(key));
    v.Set("source", Value::String(std::string(PeerSourceName(e.source))));
    if (e.room) v.Set("room", Value::Bool(true));
    if (!e.note.empty()) v.Set("note", Value::String(e.note));
    v.Set("failures", Value::Number(e.failures));
    v.Set("last_attempt", Value::Number(static_cast<double>(e.last_attempt)));
    v.Set("last_success", Value::Number(static_cast<double>(e.last_success)));
    v.Set("last_failure", Value::Number(static_cast<double>(e.last_failure)));
    v.Set("next_try", Value::Number(static_cast<double>(e.next_try)));
    if (!e.last_error.empty()) v.Set("last_error", Value::String(e.last_error));
    peers.Push(std::move(v));
  }
  Value doc = Value::Object();
  doc.Set("version", Value::Number(kFileVersion));
  doc.Set("peers", std::move(peers));
  return json::StringifyPretty(doc) + "\n";
}

Status PeerDb::Save(const std::string& path) const {
  return WriteFileAtomic(path, Serialize(), 0600);
}

// ---- entries

Result<PeerEntry*> PeerDb::Add(const DialAddress& address, PeerSource source, int64_t now,
                               const PublicKey& self) {
  if (address.key() == self) return Status::InvalidArgument("that is our own address");
  if (address.kind == DialAddress::Kind::kTunnel && address.tunnel.portal == address.tunnel.target) {
    return Status::InvalidArgument("a tunnel to the room itself");
  }
  std::string key = FormatDialAddress(address);
  if (auto it = entries_.find(key); it != entries_.end()) {
    PeerEntry& e = it->second;
    if (Strength(source) > Strength(e.source)) e.source = source;
    if (source == PeerSource::kLan) e.heard = now;
    return &e;
  }
  auto count = [&](PeerSource s) {
    size_t n = 0;
    for (const auto& [k, e] : entries_) n += e.source == s ? 1 : 0;
    return n;
  };
  // Room for a learned pub: drop the learned pub with the worst record, if it ever failed.
  auto evict_pub = [&]() {
    auto worst = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      const PeerEntry& e = it->second;
      if (e.source != PeerSource::kPub || e.dialing || e.failures == 0) continue;
      if (worst == entries_.end() ||
          std::tie(e.failures, worst->second.last_success) >
              std::tie(worst->second.failures, e.last_success)) {
        worst = it;
      }
    }
    if (worst == entries_.end()) return false;
    entries_.erase(worst);
    return true;
  };
  if (source == PeerSource::kLan && count(PeerSource::kLan) >= kMaxLanEntries) {
    return Status::LimitExceeded("too many LAN peers heard at once");
  }
  if (source == PeerSource::kPub && count(PeerSource::kPub) >= kMaxLearnedPubs && !evict_pub()) {
    return Status::LimitExceeded("already " + std::to_string(kMaxLearnedPubs) + " learned pubs");
  }
  if (entries_.size() >= kMaxPeerDbEntries && !evict_pub()) {
    return Status::LimitExceeded("the peer database holds " +
                                 std::to_string(kMaxPeerDbEntries) + " addresses");
  }
  PeerEntry e;
  e.address = address;
  e.source = source;
  if (source == PeerSource::kLan) e.heard = now;
  return &entries_.emplace(key, std::move(e)).first->second;
}

void PeerDb::Remove(const std::string& address) { entries_.erase(address); }

PeerEntry* PeerDb::Find(const std::string& address) {
  auto it = entries_.find(address);
  return it == entries_.end() ? nullptr : &it->second;
}

const PeerEntry* PeerDb::Find(const std::string& address) const {
  auto it = entries_.find(address);
  return it == entries_.end() ? nullptr : &it->second;
}

void PeerDb::MarkRoom(const std::string& address, std::string name) {
  if (PeerEntry* e = Find(address)) {
    e->room = true;
    if (!name.empty()) e->note = name.substr(0, kMaxPeerErrorBytes);
  }
}

void PeerDb::RetainAttendants(const PublicKey& room, const std::set<PublicKey>& attendants) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    const PeerEntry& e = it->second;
    bool drop = e.address.kind == DialAddress::Kind::kTunnel && e.source == PeerSource::kRoom &&
                e.address.tunnel.portal == room && !e.dialing &&
                attendants.count(e.address.tunnel.target) == 0;
    it = drop ? entries_.erase(it) : std::next(it);
  }
}

void PeerDb::DialStarted(const std::string& address, int64_t now) {
  if (PeerEntry* e = Find(address)) {
    e->dialing = true;
    e->last_attempt = now;
  }
}

void PeerDb::DialSucceeded(const std::string& address, int64_t now) {
  if (PeerEntry* e = Find(address)) {
    e->dialing = false;
    e->failures = 0;
    e->last_success = now;
    e->next_try = 0;
    e->last_error.clear();
  }
}

void PeerDb::DialFailed(const std::string& address, int64_t now, const std::string& error,
                        uint32_t random, const DialLimits& limits) {
  PeerEntry* e = Find(address);
  if (!e) return;
  e->dialing = false;
  ++e->failures;
  e->last_failure = now;
  e->last_error = error.substr(0, kMaxPeerErrorBytes);
  int64_t base = std::min<int64_t>(limits.max_backoff_ms,
                                   int64_t{1000} << std::min<uint32_t>(e->failures, 20));
  e->next_try = now + base + static_cast<int64_t>(random % static_cast<uint32_t>(base / 4 + 1));
}

void PeerDb::Dropped(const std::string& address, int64_t now, const DialLimits& limits) {
  if (PeerEntry* e = Find(address)) {
    e->dialing = false;
    e->next_try = std::max(e->next_try, now + limits.redial_ms);
  }
}

void PeerDb::Expire(int64_t now, const DialLimits& limits) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    const PeerEntry& e = it->second;
    bool stale = e.source == PeerSource::kLan && !e.dialing && now - e.heard > limits.lan_forget_ms;
    it = stale ? entries_.erase(it) : std::next(it);
  }
}

// ---- the plan

std::vector<std::string> PeerDb::Plan(int64_t now, const DialView& view,
                                      const DialLimits& limits) const {
  std::vector<std::string> out;
  // Peers with a dial under way are not dialed a second way at the same time.
  std::set<PublicKey> busy;
  for (const auto& [k, e] : entries_)
    if (e.dialing) busy.insert(e.address.key());
  auto ready = [&](const PeerEntry& e) {
    return !e.dialing && e.next_try <= now && !view.connected.count(e.address.key()) &&
           !busy.count(e.address.key());
  };

  // Rooms first, on their own quota: the attendants behind them depend on them.
  std::vector<const std::pair<const std::string, PeerEntry>*> rooms;
  for (const auto& kv : entries_) {
    if (kv.second.room && kv.second.address.kind == DialAddress::Kind::kNet && ready(kv.second))
      rooms.push_back(&kv);
  }
  std::sort(rooms.begin(), rooms.end(), [](auto* a, auto* b) {
    return std::tie(a->second.failures, a->second.last_attempt) <
           std::tie(b->second.failures, b->second.last_attempt);
  });
  size_t room_slots = limits.max_rooms > view.rooms ? limits.max_rooms - view.rooms : 0;
  std::set<PublicKey> chosen;
  for (auto* kv : rooms) {
    if (room_slots == 0) break;
    if (!chosen.insert(kv->second.address.key()).second) continue;
    out.push_back(kv->first);
    --room_slots;
  }

  // Then one address per other peer: the best-ranked ready one.
  std::map<PublicKey, const std::pair<const std::string, PeerEntry>*> best;
  for (const auto& kv : entries_) {
    const PeerEntry& e = kv.second;
    if (e.room || !ready(e) || chosen.count(e.address.key())) continue;
    if (e.source == PeerSource::kPub && !limits.dial_pubs) continue;
    if (e.address.kind == DialAddress::Kind::kTunnel) {
      if (!view.rooms_connected.count(e.address.tunnel.portal)) continue;
      if (view.wanted && !view.wanted(e.address.tunnel.target)) continue;
    }
    auto [it, added] = best.try_emplace(e.address.key(), &kv);
    if (!added) {
      const PeerEntry& b = it->second->second;
      if (std::make_tuple(DialRank(e.source), e.failures) <
          std::make_tuple(DialRank(b.source), b.failures)) {
        it->second = &kv;
      }
    }
  }
  std::vector<const std::pair<const std::string, PeerEntry>*> peers;
  for (const auto& [key, kv] : best) peers.push_back(kv);
  std::sort(peers.begin(), peers.end(), [](auto* a, auto* b) {
    return std::make_tuple(DialRank(a->second.source), a->second.failures, a->second.last_attempt,
                           a->first) < std::make_tuple(DialRank(b->second.source),
                                                      b->second.failures,
                                                      b->second.last_attempt, b->first);
  });
  size_t peer_slots = limits.max_peers > view.outgoing_peers ? limits.max_peers - view.outgoing_peers : 0;
  size_t pub_slots = limits.max_pubs > view.outgoing_pubs ? limits.max_pubs - view.outgoing_pubs : 0;
  for (auto* kv : peers) {
    if (peer_slots == 0) break;
    if (kv->second.source == PeerSource::kPub) {
      if (pub_slots == 0) continue;
      --pub_slots;
    }
    out.push_back(kv->first);
    --peer_slots;
  }
  return out;
}

Value PeerDb::ToJson(const PeerEntry& e) {
  Value v = Value::Object();
  v.Set("address", Value::String(FormatDialAddress(e.address)));
  if (e.address.kind == DialAddress::Kind::kNet) {
    v.Set("host", Value::String(e.address.net.host));
    v.Set("port", Value::Number(e.address.net.port));
  } else {
    v.Set("room", Value::String(FeedIdFromKey(e.address.tunnel.portal)));
  }
  v.Set("key", Value::String(FeedIdFromKey(e.address.key())));
  v.Set("source", Value::String(std::string(PeerSourceName(e.source))));
  v.Set("type", Value::String(e.room ? "room"
                                     : e.address.kind == DialAddress::Kind::kTunnel ? "room-attendant"
                                     : e.source == PeerSource::kPub || e.source == PeerSource::kInvite ? "pub"
                                     : e.source == PeerSource::kLan ? "lan" : "peer"));
  if (!e.note.empty()) v.Set("note", Value::String(e.note));
  v.Set("failure", Value::Number(e.failures));
  if (e.last_attempt) v.Set("stateChange", Value::Number(static_cast<double>(e.last_attempt)));
  if (e.last_success) v.Set("lastSuccess", Value::Number(static_cast<double>(e.last_success)));
  if (e.next_try) v.Set("nextTry", Value::Number(static_cast<double>(e.next_try)));
  if (!e.last_error.empty()) v.Set("lastError", Value::String(e.last_error));
  return v;
}

std::optional<NetShsAddress> PubMessageAddress(const Value& content) {
  const Value* type = content.Find("type");
  if (!type || !type->is_string() || type->as_string() != "pub") return std::nullopt;
  const Value* address = content.Find("address");
  if (!address) return std::nullopt;
  NetShsAddress out;
  if (address->is_string()) {
    auto parsed = ParseMultiserver(address->as_string());
    if (!parsed.ok()) return std::nullopt;
    out = parsed->front();
  } else if (address->is_object()) {
    const Value* host = address->Find("host");
    const Value* port = address->Find("port");
    const Value* key = address->Find("key");
    if (!host || !host->is_string() || !key || !key->is_string()) return std::nullopt;
    double p = 8008;  // ssb-ref's toAddress: a missing port is the default
    if (port) {
      if (!port->is_number()) return std::nullopt;
      p = port->as_number();
    }
    if (!(p >= 1 && p <= 65535) || std::floor(p) != p) return std::nullopt;
    auto pk = ParseFeedId(key->as_string());
    if (!pk || !IsValidHost(host->as_string())) return std::nullopt;
    out.host = host->as_string();
    out.port = static_cast<uint16_t>(p);
    out.key = *pk;
  } else {
    return std::nullopt;
  }
  // A feed cannot send us to our own machine's services (ssb-conn skips localhost pubs too).
  if (IsLoopbackOrUnspecified(out.host)) return std::nullopt;
  return out;
}

}  // namespace ssb
