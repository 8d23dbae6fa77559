// friends.* as ssb-friends 4.3.0 serves them: hops, isFollowing, isBlocking, get, hopStream,
// createFriendStream, stream (the graph, ssb/friends.h), follow and block (they publish contact
// messages), onEdge, help.
#include "help.h"
#include "ssb/ref.h"
#include "support.h"

namespace ssb {

namespace {

// hopStream / createFriendStream / stream: each over its own copy of the graph, so that the
// changes it reports are its own.
class FriendsSource : public view::Source {
 public:
  enum class Kind { kHops, kFriends, kGraph };
  FriendsSource(NodeContext& node, Kind kind, const Value& opts)
      : node_(node), kind_(kind), graph_(node.self_id, node.config.hops) {
    live_ = kind == Kind::kGraph || api::IsTrue(opts.Find("live"));
    old_ = !api::IsFalse(opts.Find("old"));
    meta_ = api::Truthy(opts.Find("meta"));
  }

  Result<State> Next(size_t, std::vector<std::string>* out) override {
    auto changes = graph_.Update(*node_.store);
    if (!changes.ok()) return changes.status();
    if (kind_ == Kind::kGraph) {
      if (first_) {
        Emit(graph_.Get(Value::Object()), out);  // the whole graph, legacy values
      } else {
        for (const auto& c : *changes) Emit(c, out);
      }
      first_ = false;
      return State::kLive;
    }
    Value hops = graph_.HopsFromSelf();
    if (first_) {
      // layered-graph: the hops now (when old and not empty), then what changes.
      if (old_ && hops.size() > 0) Hops(hops, out, true);
      first_ = false;
    } else {
      Value diff = HopsDiff(last_, hops);
      if (diff.size() > 0) Hops(diff, out, false);
    }
    last_ = std::move(hops);
    return live_ ? State::kLive : State::kDone;
  }

 private:
  void Emit(const Value& v, std::vector<std::string>* out) {
    out->push_back(json::Stringify(v));
    ++produced_;
  }
  // One hopStream item; createFriendStream flattens it (the first only to feeds within reach).
  void Hops(const Value& hops, std::vector<std::string>* out, bool first) {
    if (kind_ == Kind::kHops) {
      Emit(hops, out);
      return;
    }
    for (size_t i = 0; i < hops.size(); ++i) {
      if (first && hops.items()[i].as_number() < 0) continue;
      if (meta_) {
        Value e = Value::Object();
        e.Set("id", Value::String(hops.keys()[i]));
        e.Set("hops", hops.items()[i]);
        Emit(e, out);
      } else {
        Emit(Value::String(hops.keys()[i]), out);
      }
    }
  }

  NodeContext& node_;
  Kind kind_;
  FriendsGraph graph_;
  bool live_ = false, old_ = true, meta_ = false, first_ = true;
  Value last_ = Value::Object();
};

// follow(id, {state, recps}) / block(id, {state, reason, recps}).
rpc::AsyncHandler Contact(ApiParts& parts, bool block) {
  return [&parts, block](CallContext&, const Value& args) -> awaitable<Result<Value>> {
    std::string id = api::IdArg(Arg(args, 0));
    if (!IsFeedId(id, true)) co_return Status::InvalidArgument("follow requires a feedId, got " + id);
    const Value& opts = Arg(args, 1);
    Value content = Value::Object();
    content.Set("type", Value::String("contact"));
    content.Set("contact", Value::String(id));
    const Value* state = opts.is_object() ? opts.Find("state") : nullptr;
    content.Set(block ? "blocking" : "following", state ? *state : Value::Bool(true));
    if (block) {
      if (const Value* r = opts.is_object() ? opts.Find("reason") : nullptr; r && r->is_string()) {
        content.Set("reason", *r);
      }
    }
    if (const Value* recps = opts.is_object() ? opts.Find("recps") : nullptr; recps && !recps->is_null()) {
      content.Set("recps", *recps);
    }
    co_return api::PublishAndAnnounce(parts, std::move(content));
  };
}

// {source, dest} of isFollowing / isBlocking.
std::pair<std::string, std::string> Pair(const Value& args) {
  Value o = Opts(args);
  auto str = [&](const char* k) {
    const Value* v = o.Find(k);
    return v && v->is_string() ? v->as_string() : std::string();
  };
  return {str("source"), str("dest")};
}

}  // namespace

void RegisterFriendsApi(ApiParts& parts) {
  rpc::Api& api = parts.api;
  NodeContext& node = parts.node;
  api.AddAsync("friends.follow", Access::kOwner, Contact(parts, false));
  api.AddAsync("friends.block", Access::kOwner, Contact(parts, true));
  api.AddAsync("friends.hops", Access::kOwner,
               [&parts](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 auto g = api::Friends(parts);
                 if (!g.ok()) co_return g.status();
                 Value o = Opts(args);
                 std::optional<std::string> start;
                 std::optional<double> max;
                 if (const Value* s = o.Find("start"); s && s->is_string()) start = s->as_string();
                 if (const Value* m = o.Find("max"); m && m->is_number()) max = m->as_number();
                 co_return (*g)->Hops(start, max, api::IsTrue(o.Find("reverse")));
               });
  api.AddAsync("friends.isFollowing", Access::kOwner,
               [&parts](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 auto g = api::Friends(parts);
                 if (!g.ok()) co_return g.status();
                 auto [s, d] = Pair(args);
                 co_return Value::Bool((*g)->IsFollowing(s, d));
               });
  api.AddAsync("friends.isBlocking", Access::kOwner,
               [&parts](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 auto g = api::Friends(parts);
                 if (!g.ok()) co_return g.status();
                 auto [s, d] = Pair(args);
                 co_return Value::Bool((*g)->IsBlocking(s, d));
               });
  api.AddAsync("friends.get", Access::kOwner,
               [&parts](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 auto g = api::Friends(parts);
                 if (!g.ok()) co_return g.status();
                 Value v = (*g)->Get(Opts(args));
                 co_return v.is_null() ? api::Undefined() : v;
               });
  struct Named {
    const char* name;
    FriendsSource::Kind kind;
  };
  for (const Named& m : {Named{"friends.hopStream", FriendsSource::Kind::kHops},
                         Named{"friends.createFriendStream", FriendsSource::Kind::kFriends},
                         Named{"friends.stream", FriendsSource::Kind::kGraph}}) {
    api.AddStream(m.name, CallType::kSource, Access::kOwner,
                  api::SourceMethod(parts, m.name, [&node, kind = m.kind](const Value& args) -> Result<view::SourcePtr> {
                    return view::SourcePtr(new FriendsSource(node, kind, Opts(args)));
                  }));
  }
  // ssb-friends' onEdge registers a JavaScript callback; there is nothing to call over RPC.
  api.AddSync("friends.onEdge", Access::kOwner,
              [](CallContext&, const Value&) -> awaitable<Result<Value>> {
                co_return Status::Unsupported(
                    "friends.onEdge takes a function: it is for plugins in the server's own process");
              });
  api.AddSync("friends.help", Access::kOwner,
              [](CallContext&, const Value&) -> awaitable<Result<Value>> { co_return api::FriendsHelp(); });
}

}  // namespace ssb
