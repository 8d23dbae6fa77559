// Rooms and tunnels without sockets (PROTOCOL.md §6 "Rooms").
#include "ssb/room.h"

#include <algorithm>

#include "ssb/ref.h"

namespace ssb {
namespace {

using json::Value;

constexpr int64_t kMinuteMs = 60000;
constexpr size_t kMaxNameBytes = 200;

}  // namespace

RoomState::RoomState(const PublicKey& self, RoomLimits limits) : self_(self), limits_(limits) {}

Result<bool> RoomState::Join(const PublicKey& id, uint64_t conn) {
  if (id == self_) return Status::InvalidArgument("the room cannot attend itself");
  auto it = attendants_.find(id);
  if (it != attendants_.end()) {
    it->second.conn = conn;  // reconnected: the newest connection carries its tunnels
    return false;
  }
  if (attendants_.size() >= limits_.max_attendants) {
    return Status::LimitExceeded("room is full (" + std::to_string(limits_.max_attendants) +
                                 " attendants)");
  }
  attendants_.emplace(id, Attendant{conn, next_order_++});
  return true;
}

bool RoomState::Leave(const PublicKey& id, uint64_t conn) {
  auto it = attendants_.find(id);
  if (it == attendants_.end() || it->second.conn != conn) return false;
  attendants_.erase(it);
  return true;
}

std::optional<uint64_t> RoomState::ConnectionOf(const PublicKey& id) const {
  auto it = attendants_.find(id);
  if (it == attendants_.end()) return std::nullopt;
  return it->second.conn;
}

std::vector<PublicKey> RoomState::Attendants() const {
  std::vector<std::pair<uint64_t, PublicKey>> byorder;
  for (const auto& [id, a] : attendants_) byorder.emplace_back(a.order, id);
  std::sort(byorder.begin(), byorder.end());
  std::vector<PublicKey> out;
  for (const auto& [o, id] : byorder) out.push_back(id);
  return out;
}

Status RoomState::OpenTunnel(const PublicKey& origin, const PublicKey& target, int64_t now_ms) {
  if (target == self_ || origin == target) {
    return Status::InvalidArgument("could not connect to: " + FeedIdFromKey(target) +
                                   " (a tunnel to the room or to oneself)");
  }
  if (!attendants_.count(target)) {
    return Status::NotFound("could not connect to: " + FeedIdFromKey(target));
  }
  if (tunnels_ >= limits_.max_tunnels) {
    return Status::LimitExceeded("the room relays " + std::to_string(limits_.max_tunnels) +
                                 " tunnels already");
  }
  Origin& o = origins_[origin];
  o.recent.erase(std::remove_if(o.recent.begin(), o.recent.end(),
                                [&](int64_t t) { return t <= now_ms - kMinuteMs || t > now_ms; }),
                 o.recent.end());
  if (o.open >= limits_.max_tunnels_per_peer) {
    return Status::LimitExceeded("too many tunnels open (" +
                                 std::to_string(limits_.max_tunnels_per_peer) + ")");
  }
  if (o.recent.size() >= limits_.max_tunnel_opens_per_minute) {
    return Status::LimitExceeded("too many tunnels opened in the last minute (" +
                                 std::to_string(limits_.max_tunnel_opens_per_minute) + ")");
  }
  o.recent.push_back(now_ms);
  ++o.open;
  ++tunnels_;
  return Status::Ok();
}

void RoomState::CloseTunnel(const PublicKey& origin) {
  auto it = origins_.find(origin);
  if (it == origins_.end() || it->second.open == 0) return;
  --it->second.open;
  --tunnels_;
  // Origins with nothing open and nothing recent are forgotten, so the map stays small.
  if (it->second.open == 0 && it->second.recent.empty()) origins_.erase(it);
}

Status RoomState::Subscribe() {
  if (subscribers_ >= limits_.max_subscribers) {
    return Status::LimitExceeded("too many attendant streams open");
  }
  ++subscribers_;
  return Status::Ok();
}

void RoomState::Unsubscribe() {
  if (subscribers_ > 0) --subscribers_;
}

Value RoomState::StateEvent() const {
  Value v = Value::Object();
  v.Set("type", Value::String("state"));
  v.Set("ids", Endpoints());
  return v;
}

Value RoomState::JoinedEvent(const PublicKey& id) {
  Value v = Value::Object();
  v.Set("type", Value::String("joined"));
  v.Set("id", Value::String(FeedIdFromKey(id)));
  return v;
}

Value RoomState::LeftEvent(const PublicKey& id) {
  Value v = Value::Object();
  v.Set("type", Value::String("left"));
  v.Set("id", Value::String(FeedIdFromKey(id)));
  return v;
}

Value RoomState::Endpoints() const {
  Value ids = Value::Array();
  for (const PublicKey& id : Attendants()) ids.Push(Value::String(FeedIdFromKey(id)));
  return ids;
}

Value RoomState::IsRoomAnswer(const std::string& name, const std::string& description) {
  if (name.empty() && description.empty()) return Value::Bool(true);
  Value v = Value::Object();
  v.Set("name", Value::String(name));
  v.Set("description", Value::String(description));
  return v;
}

Value RoomState::MetadataAnswer(const std::string& name) {
  Value v = Value::Object();
  v.Set("name", Value::String(name));
  v.Set("membership", Value::Bool(false));
  Value features = Value::Array();
  features.Push(Value::String("tunnel"));
  features.Push(Value::String("room1"));
  v.Set("features", std::move(features));
  return v;
}

// ---- client

Result<RoomMetadata> ParseRoomMetadata(const Value& answer) {
  if (!answer.is_object()) return Status::InvalidInput("room.metadata: not an object");
  RoomMetadata m;
  m.attendants_api = true;
  if (const Value* n = answer.Find("name"); n && n->is_string()) {
    m.name = n->as_string().substr(0, kMaxNameBytes);
  }
  if (const Value* mem = answer.Find("membership"); mem && mem->is_bool()) {
    m.membership = mem->as_bool();
  }
  return m;
}

Result<RoomMetadata> ParseIsRoom(const Value& answer) {
  RoomMetadata m;
  if (answer.is_bool() && answer.as_bool()) return m;
  if (answer.is_object()) {
    if (const Value* n = answer.Find("name"); n && n->is_string()) {
      m.name = n->as_string().substr(0, kMaxNameBytes);
    }
    return m;
  }
  return Status::NotFound("not a room");
}

bool IsMissingMethodError(const std::string& message) {
  const std::string tail = "not in list of allowed methods";
  return (message.size() >= tail.size() &&
          message.compare(message.size() - tail.size(), tail.size(), tail) == 0) ||
         message.rfind("no async:", 0) == 0 || message.rfind("no source:", 0) == 0;
}

RoomAttendants::RoomAttendants(const PublicKey& self, const PublicKey& room, size_t max_attendants)
    : self_(self), room_(room), max_(max_attendants) {}

Result<RoomAttendants::Change> RoomAttendants::Replace(const Value& ids) {
  if (!ids.is_array()) return Status::InvalidInput("room: the attendant list is not an array");
  std::set<PublicKey> next;
  bool over = false;
  for (const Value& v : ids.items()) {
    if (!v.is_string()) return Status::InvalidInput("room: an attendant id is not a string");
    auto k = ParseFeedId(v.as_string());
    if (!k) {
      return Status::InvalidInput("room: \"" + v.as_string().substr(0, 60) +
                                  "\" is not a feed id");
    }
    if (*k == self_ || *k == room_) continue;
    if (next.size() >= max_) {
      over = true;
      break;
    }
    next.insert(*k);
  }
  Change c;
  for (const PublicKey& k : next)
    if (!ids_.count(k)) c.joined.push_back(k);
  for (const PublicKey& k : ids_)
    if (!next.count(k)) c.left.push_back(k);
  ids_ = std::move(next);
  if (over) {
    return Status::LimitExceeded("room reports more than " + std::to_string(max_) +
                                 " attendants; following the first ones");
  }
  return c;
}

Result<RoomAttendants::Change> RoomAttendants::ApplyEndpoints(const Value& ids) {
  return Replace(ids);
}

Result<RoomAttendants::Change> RoomAttendants::ApplyEvent(const Value& event) {
  const Value* type = event.Find("type");
  if (!type || !type->is_string()) return Status::InvalidInput("room: an event without a type");
  const std::string& t = type->as_string();
  if (t == "state") {
    const Value* ids = event.Find("ids");
    if (!ids) return Status::InvalidInput("room: a state event without ids");
    return Replace(*ids);
  }
  if (t != "joined" && t != "left") {
    return Status::InvalidInput("room: unknown event type \"" + t.substr(0, 20) + "\"");
  }
  const Value* id = event.Find("id");
  auto k = id && id->is_string() ? ParseFeedId(id->as_string()) : std::nullopt;
  if (!k) return Status::InvalidInput("room: a " + t + " event without a feed id");
  Change c;
  if (*k == self_ || *k == room_) return c;
  if (t == "joined") {
    if (ids_.count(*k)) return c;
    if (ids_.size() >= max_) {
      return Status::LimitExceeded("room reports more than " + std::to_string(max_) +
                                   " attendants; following the first ones");
    }
    ids_.insert(*k);
    c.joined.push_back(*k);
  } else if (ids_.erase(*k)) {
    c.left.push_back(*k);
  }
  return c;
}

}  // namespace ssb
