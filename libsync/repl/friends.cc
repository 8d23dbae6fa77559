// ssb-friends 4.3.0's graph and layered-graph's hops over dynamic-dijkstra's "simple" rules.
#include "ssb/friends.h"

#include <cmath>
#include <queue>

#include "ssb/ref.h"

namespace ssb {
namespace {

using json::Value;

bool Truthy(const Value* v) {
  if (!v) return false;
  switch (v->type()) {
    case Value::Type::kNull: return false;
    case Value::Type::kBool: return v->as_bool();
    case Value::Type::kNumber: return v->as_number() != 0 && !std::isnan(v->as_number());
    case Value::Type::kString: return !v->as_string().empty();
    default: return true;
  }
}

// dynamic-dijkstra/simple.js
std::optional<double> Add(std::optional<double> a, std::optional<double> v) {
  if (!a || *a < 0 || !v) return std::nullopt;
  double w = *v == 0 ? 0.1 : *v;
  if (w >= 0) return *a >= 0 ? *a + w : *a - w;
  return *a >= 0 ? *a * -1 + w : *a;
}

std::optional<double> Min(std::optional<double> a, std::optional<double> b) {
  if (!a) return b;
  if (!b) return a;
  if (std::fabs(*a) == std::fabs(*b)) return *a > *b ? a : b;
  return std::fabs(*a) < std::fabs(*b) ? a : b;
}

bool Expand(std::optional<double> v, double max) { return v && *v >= 0 && *v < max; }

// A graph in JavaScript object order: from -> [(to, value)].
using Graph = std::map<std::string, std::vector<std::pair<std::string, double>>>;

// Distances as layered-graph's traverse finds them; keys in the order they were reached.
Value Traverse(const Graph& g, double max, const std::string& from) {
  std::map<std::string, double> hops;
  std::vector<std::string> order;
  hops[from] = 0;
  order.push_back(from);
  using Entry = std::pair<double, std::string>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> next;
  next.push({0, from});
  while (!next.empty()) {
    auto [h, j] = next.top();
    next.pop();
    if (hops[j] != h) continue;  // a stale entry: j's distance changed since
    if (!Expand(h, max)) continue;
    auto out = g.find(j);
    if (out == g.end()) continue;
    for (const auto& [k, w] : out->second) {
      auto it = hops.find(k);
      std::optional<double> cur = it == hops.end() ? std::nullopt : std::optional<double>(it->second);
      auto nh = Min(cur, Add(h, w));
      if (nh && (!cur || *nh != *cur)) {
        if (!cur) order.push_back(k);
        hops[k] = *nh;
        next.push({*nh, k});
      }
    }
  }
  Value out = Value::Object();
  for (const auto& k : order) out.Set(k, Value::Number(hops[k]));
  return out;
}



}  // namespace

json::Value LegacyEdgeValue(double v) {
  if (v >= 0) return Value::Bool(true);
  if (v == -1) return Value::Bool(false);
  return Value();
}

json::Value HopsDiff(const json::Value& before, const json::Value& after) {
  Value out = Value::Object();
  for (size_t i = 0; i < after.size(); ++i) {
    const Value* b = before.Find(after.keys()[i]);
    if (!b || !(*b == after.items()[i])) out.Set(after.keys()[i], after.items()[i]);
  }
  return out;
}

FriendsGraph::FriendsGraph(std::string self, int max_hops) : self_(std::move(self)), max_(max_hops) {}

bool FriendsGraph::Apply(const std::string& author, const json::Value& content,
                         std::vector<json::Value>* changes) {
  if (!content.is_object()) return false;
  const Value* contact = content.Find("contact");
  if (!contact || !contact->is_string()) return false;
  const std::string& to = contact->as_string();
  if (!IsFeedId(author, true) || !IsFeedId(to, true)) return false;
  double value = (Truthy(content.Find("blocking")) || Truthy(content.Find("flagged"))) ? kBlock
                 : [&] {
                     const Value* f = content.Find("following");
                     return f && f->is_bool() && f->as_bool();
                   }()
                     ? kFollow
                     : kUnfollow;
  auto [it, added] = graph_.try_emplace(author);
  if (added) from_order_.push_back(author);
  Edges& e = it->second;
  if (e.value.emplace(to, value).second) e.order.push_back(to);
  else e.value[to] = value;
  if (changes) {
    Value change = Value::Object();
    change.Set("from", Value::String(author));
    change.Set("to", Value::String(to));
    change.Set("value", LegacyEdgeValue(value));
    changes->push_back(std::move(change));
  }
  return true;
}

Result<std::vector<json::Value>> FriendsGraph::Update(Store& store) {
  std::vector<json::Value> changes;
  for (;;) {
    ReadRequest q;
    q.index = ReadIndex::kType;
    q.type = "contact";
    q.after = after_;
    q.limit = 512;
    size_t rows = 0;
    auto pos = store.Read(q, [&](const StoredMessage& m) {
      ++rows;
      if (m.plaintext) {
        auto c = json::Parse(*m.plaintext, {.wtf8_input = true});
        if (c.ok()) Apply(m.author, *c, &changes);
      } else {
        auto v = json::Parse(m.value_json, {.wtf8_input = true});
        if (v.ok()) {
          if (const Value* c = v->Find("content")) Apply(m.author, *c, &changes);
        }
      }
      return true;
    });
    if (!pos.ok()) return pos.status();
    if (*pos) after_ = **pos;
    if (rows < q.limit) break;
  }
  return changes;
}

json::Value FriendsGraph::Hops(const std::optional<std::string>& start, std::optional<double> max,
                               bool reverse) const {
  std::string from = start && !start->empty() ? *start : self_;
  double m = max && *max != 0 ? *max : max_;
  Graph g;
  if (reverse) {
    // dynamic-dijkstra's reverse: for k in g, for j in g[k]: _g[j][k].
    for (const auto& k : from_order_) {
      const Edges& e = graph_.at(k);
      for (const auto& j : e.order) g[j].push_back({k, e.value.at(j)});
    }
    return Traverse(g, m, from);
  }
  for (const auto& [k, e] : graph_) {
    auto& out = g[k];
    for (const auto& j : e.order) out.push_back({j, e.value.at(j)});
  }
  if (from == self_ && m < max_) {
    // layered-graph filters its cached hops (negative distances stay).
    Value all = Traverse(g, max_, from);
    Value out = Value::Object();
    for (size_t i = 0; i < all.size(); ++i) {
      if (all.items()[i].as_number() <= m) out.Set(all.keys()[i], all.items()[i]);
    }
    return out;
  }
  return Traverse(g, m, from);
}

bool FriendsGraph::IsFollowing(const std::string& source, const std::string& dest) const {
  auto a = graph_.find(source);
  if (a == graph_.end()) return false;
  auto b = a->second.value.find(dest);
  return b != a->second.value.end() && b->second >= 0;
}

bool FriendsGraph::IsBlocking(const std::string& source, const std::string& dest) const {
  auto a = graph_.find(source);
  if (a == graph_.end()) return false;
  auto b = a->second.value.find(dest);
  return b != a->second.value.end() && std::round(b->second) == -1;
}

json::Value FriendsGraph::Get(const json::Value& opts) const {
  const Value* source = opts.is_object() ? opts.Find("source") : nullptr;
  const Value* dest = opts.is_object() ? opts.Find("dest") : nullptr;
  bool has_source = Truthy(source), has_dest = Truthy(dest);
  if (has_source) {
    std::string s = source->is_string() ? source->as_string() : json::Stringify(*source);
    auto a = graph_.find(s);
    if (has_dest) {
      std::string d = dest->is_string() ? dest->as_string() : json::Stringify(*dest);
      if (a == graph_.end()) return Value();  // undefined: sent as null
      auto b = a->second.value.find(d);
      return b == a->second.value.end() ? Value() : LegacyEdgeValue(b->second);
    }
    Value out = Value::Object();
    if (a != graph_.end()) {
      for (const auto& to : a->second.order) out.Set(to, LegacyEdgeValue(a->second.value.at(to)));
    }
    return out;
  }
  if (has_dest) {
    std::string d = dest->is_string() ? dest->as_string() : json::Stringify(*dest);
    Value out = Value::Object();
    for (const auto& from : from_order_) {
      const Edges& e = graph_.at(from);
      auto b = e.value.find(d);
      if (b != e.value.end()) out.Set(from, LegacyEdgeValue(b->second));
    }
    return out;
  }
  Value out = Value::Object();
  for (const auto& from : from_order_) {
    const Edges& e = graph_.at(from);
    Value edges = Value::Object();
    for (const auto& to : e.order) edges.Set(to, LegacyEdgeValue(e.value.at(to)));
    out.Set(from, std::move(edges));
  }
  return out;
}

}  // namespace ssb
