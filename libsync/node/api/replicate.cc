// replicate.* as ssb-replicate 1.3 serves them: request, block, changes, upto.
#include "ssb/ref.h"
#include "support.h"

namespace ssb {

namespace {

// replicate.upto: {id, sequence} of every feed we replicate (0 when we hold none of it yet).
class UptoSource : public view::Source {
 public:
  explicit UptoSource(ApiParts& parts) : parts_(parts) {}
  Result<State> Next(size_t, std::vector<std::string>* out) override {
    auto clock = parts_.node.store->Clock();
    if (!clock.ok()) return clock.status();
    for (const auto& [id, feed] : parts_.replicator.set().feeds()) {
      auto it = clock->find(id);
      Value v = Value::Object();
      v.Set("id", Value::String(id));
      v.Set("sequence", Value::Number(it == clock->end() ? 0 : static_cast<double>(it->second)));
      out->push_back(json::Stringify(v));
      ++produced_;
    }
    return State::kDone;
  }

 private:
  ApiParts& parts_;
};

// replicate.changes: ssb-replicate reports its legacy fetches' progress; ours report nothing,
// so this stream stays open and quiet until the caller ends it.
class QuietSource : public view::Source {
 public:
  Result<State> Next(size_t, std::vector<std::string>*) override { return State::kLive; }
};

}  // namespace

void RegisterReplicateApi(ApiParts& parts) {
  rpc::Api& api = parts.api;
  api.AddSync("replicate.request", Access::kOwner,
              [&parts](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                std::string id = api::IdArg(Arg(args, 0));
                if (!IsFeedId(id, true)) co_return Status::InvalidArgument("not a feed id: " + id);
                bool on = !Arg(args, 1).is_bool() || Arg(args, 1).as_bool();
                co_return Value::Bool(parts.replicator.Request(id, on));
              });
  api.AddSync("replicate.block", Access::kOwner,
              [&parts](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                const Value &from = Arg(args, 0), &to = Arg(args, 1);
                if (!from.is_string() || !to.is_string() || !IsFeedId(to.as_string(), true)) {
                  co_return Status::InvalidArgument("replicate.block(from, to, blocking) takes two feed ids");
                }
                parts.replicator.Block(from.as_string(), to.as_string(), !api::IsFalse(&Arg(args, 2)));
                co_return api::Undefined();
              });
  api.AddStream("replicate.upto", CallType::kSource, Access::kOwner,
                api::SourceMethod(parts, "replicate.upto", [&parts](const Value&) -> Result<view::SourcePtr> {
                  return view::SourcePtr(new UptoSource(parts));
                }));
  api.AddStream("replicate.changes", CallType::kSource, Access::kOwner,
                api::SourceMethod(parts, "replicate.changes", [](const Value&) -> Result<view::SourcePtr> {
                  return view::SourcePtr(new QuietSource());
                }));
}

}  // namespace ssb
