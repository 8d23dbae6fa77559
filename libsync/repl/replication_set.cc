// The contact graph and the replication set (PROTOCOL.md §5.2; ssb-friends 4 contacts.js for
// how a contact message reads, ssb-replicate for "we replicate ourselves + friends").
#include <algorithm>
#include <cmath>

#include "ssb/ref.h"
#include "ssb/replication.h"

namespace ssb {
namespace {

// JavaScript truthiness of a JSON value.
bool Truthy(const json::Value* v) {
  if (!v) return false;
  switch (v->type()) {
    case json::Value::Type::kNull:
      return false;
    case json::Value::Type::kBool:
      return v->as_bool();
    case json::Value::Type::kNumber:
      return v->as_number() != 0 && !std::isnan(v->as_number());
    case json::Value::Type::kString:
      return !v->as_string().empty();
    case json::Value::Type::kArray:
    case json::Value::Type::kObject:
      return true;
  }
  return false;
}

bool IsBool(const json::Value* v, bool b) { return v && v->is_bool() && v->as_bool() == b; }

// The contact a contact message is about, or "" when `content` is no usable contact message.
std::string_view ContactOf(const json::Value& content) {
  if (!content.is_object()) return {};
  const json::Value* type = content.Find("type");
  if (!type || !type->is_string() || type->as_string() != "contact") return {};
  const json::Value* contact = content.Find("contact");
  if (!contact || !contact->is_string()) return {};
  // ssb-ref isFeed, which also accepts "@….sha256" (PROTOCOL.md §1.1).
  if (!IsFeedId(contact->as_string(), /*allow_sha256_suffix=*/true)) return {};
  return contact->as_string();
}

// The state a contact message sets, in ssb-friends 4's order (see ContactState).
std::optional<ContactState> StateOf(const json::Value& content) {
  const json::Value* following = content.Find("following");
  if (IsBool(following, true)) return ContactState::kFollow;
  if (IsBool(following, false)) return ContactState::kNone;
  const json::Value* blocking = content.Find("blocking");
  if (Truthy(blocking) || Truthy(content.Find("flagged"))) return ContactState::kBlock;
  if (IsBool(blocking, false)) return ContactState::kNone;  // unblock (see ContactState)
  return std::nullopt;
}

}  // namespace

bool AffectsGraph(const json::Value& value) {
  if (!value.is_object()) return false;
  const json::Value* author = value.Find("author");
  if (!author || !author->is_string() || !IsFeedId(author->as_string(), true)) return false;
  const json::Value* content = value.Find("content");
  if (!content || ContactOf(*content).empty()) return false;
  return StateOf(*content).has_value();
}

bool AffectsGraph(const Message& msg) { return AffectsGraph(msg.value()); }

ContactGraph::ContactGraph(ContactGraphLimits limits) : limits_(limits) {}

std::optional<uint32_t> ContactGraph::Index(std::string_view feed, bool add) {
  auto it = index_.find(std::string(feed));
  if (it != index_.end()) return it->second;
  if (!add || names_.size() >= limits_.max_feeds) return std::nullopt;
  auto i = static_cast<uint32_t>(names_.size());
  names_.emplace_back(feed);
  out_.emplace_back();
  index_.emplace(names_.back(), i);
  return i;
}

bool ContactGraph::Apply(const Message& msg) {
  auto seq = msg.sequence();
  const json::Value* content = msg.content();
  if (!seq || !content) return false;
  return Apply(msg.author(), *seq, *content);
}

bool ContactGraph::Apply(std::string_view author, int64_t seq, const json::Value& content) {
  std::string_view contact = ContactOf(content);
  if (contact.empty() || !IsFeedId(author, true)) return false;
  auto state = StateOf(content);
  if (!state) return false;
  auto from = Index(author, true);
  auto to = from ? Index(contact, true) : std::nullopt;
  if (!from || !to) {
    ++dropped_;
    return false;
  }
  auto [it, inserted] = out_[*from].try_emplace(*to);
  Link& link = it->second;
  // Latest message wins; a feed's messages are stored in sequence order, but Apply may also
  // see a message again (Update after Apply of the same message).
  if (!inserted && seq <= link.seq) return false;
  ContactState old = link.state;
  link.state = *state;
  link.seq = seq;
  if (old == *state) return false;
  if (old == ContactState::kNone) ++edge_count_;
  if (*state == ContactState::kNone) --edge_count_;
  return true;
}

Result<size_t> ContactGraph::Update(Store& store) {
  RangeQuery q;
  if (last_received_ >= 0) q.gt = last_received_;
  size_t changed = 0;
  Status s = store.ByType("contact", q, [&](const StoredMessage& m) {
    last_received_ = m.received;
    auto v = json::Parse(m.value_json);
    if (!v.ok()) return true;  // cannot happen for text the store wrote; skip rather than fail
    const json::Value* content = v->Find("content");
    if (content && Apply(m.author, m.sequence, *content)) ++changed;
    return true;
  });
  if (!s.ok()) return s;
  return changed;
}

ContactState ContactGraph::Edge(std::string_view author, std::string_view contact) const {
  auto a = index_.find(std::string(author));
  auto c = index_.find(std::string(contact));
  if (a == index_.end() || c == index_.end()) return ContactState::kNone;
  auto it = out_[a->second].find(c->second);
  return it == out_[a->second].end() ? ContactState::kNone : it->second.state;
}

std::vector<std::string> ContactGraph::Follows(std::string_view author) const {
  std::vector<std::string> out;
  auto a = index_.find(std::string(author));
  if (a == index_.end()) return out;
  for (const auto& [to, link] : out_[a->second]) {
    if (link.state == ContactState::kFollow) out.push_back(names_[to]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> ContactGraph::Blocks(std::string_view author) const {
  std::vector<std::string> out;
  auto a = index_.find(std::string(author));
  if (a == index_.end()) return out;
  for (const auto& [to, link] : out_[a->second]) {
    if (link.state == ContactState::kBlock) out.push_back(names_[to]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

ReplicationSet ReplicationSet::Compute(const ContactGraph& graph, std::string_view self,
                                       const ReplicationOptions& options) {
  ReplicationSet set;
  set.self_ = std::string(self);
  for (auto& b : graph.Blocks(self)) set.blocked_.insert(std::move(b));

  auto full = [&] {
    if (set.feeds_.size() < std::max<size_t>(options.max_feeds, 1)) return false;
    set.truncated_ = true;
    return true;
  };
  // Ourselves, always; then the requests (sorted by id: std::set order).
  set.feeds_[set.self_] = ReplicatedFeed{0, options.requests.count(self) > 0};
  for (const std::string& r : options.requests) {
    if (r == self || !IsFeedId(r) || set.WeBlock(r)) continue;
    if (full()) break;
    set.feeds_[r] = ReplicatedFeed{-1, true};
  }

  // Breadth-first over follow edges, one layer per hop; each layer in id order so that a
  // truncated set is deterministic.
  auto self_index = graph.index_.find(set.self_);
  if (self_index == graph.index_.end() || options.hops <= 0) return set;
  std::vector<uint8_t> seen(graph.names_.size(), 0);
  seen[self_index->second] = 1;
  std::vector<uint32_t> frontier{self_index->second};
  for (int hop = 1; hop <= options.hops && !frontier.empty(); ++hop) {
    std::vector<uint32_t> next;
    for (uint32_t from : frontier) {
      for (const auto& [to, link] : graph.out_[from]) {
        if (link.state != ContactState::kFollow || seen[to]) continue;
        seen[to] = 1;
        const std::string& name = graph.names_[to];
        // A feed we block is neither replicated nor traversed; nor is one we cannot fetch.
        if (set.WeBlock(name) || !IsFeedId(name)) continue;
        next.push_back(to);
      }
    }
    std::sort(next.begin(), next.end(), [&](uint32_t a, uint32_t b) {
      return graph.names_[a] < graph.names_[b];
    });
    std::vector<uint32_t> kept;
    for (uint32_t i : next) {
      const std::string& name = graph.names_[i];
      auto it = set.feeds_.find(name);
      if (it != set.feeds_.end()) {
        it->second.hops = hop;  // requested and followed
      } else {
        if (full()) break;
        set.feeds_[name] = ReplicatedFeed{hop, false};
      }
      kept.push_back(i);
    }
    frontier = std::move(kept);
  }
  return set;
}

Result<ReplicationSet> ReplicationSet::FromStore(Store& store, std::string_view self,
                                                 const ReplicationOptions& options) {
  ContactGraph graph;
  auto r = graph.Update(store);
  if (!r.ok()) return r.status();
  return Compute(graph, self, options);
}

std::optional<int> ReplicationSet::Hops(std::string_view feed) const {
  auto it = feeds_.find(feed);
  if (it == feeds_.end()) return std::nullopt;
  return it->second.hops;
}

ReplicationDiff ReplicationSet::Diff(const ReplicationSet& before, const ReplicationSet& after) {
  ReplicationDiff d;
  for (const auto& [feed, entry] : after.feeds_) {
    auto it = before.feeds_.find(feed);
    if (it == before.feeds_.end()) {
      d.added.push_back(feed);
    } else if (it->second.hops != entry.hops) {
      d.changed.push_back(feed);
    }
  }
  for (const auto& [feed, entry] : before.feeds_) {
    if (!after.Contains(feed)) d.removed.push_back(feed);
  }
  return d;
}

}  // namespace ssb
