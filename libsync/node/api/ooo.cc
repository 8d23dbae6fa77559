// ooo.* (ssb-ooo 1.3): messages by id outside their feed's order. get answers from our store;
// plugins.* (ssb-plugins 1.0): scuttlesync loads no JavaScript plugins.
#include "help.h"
#include "ssb/ref.h"
#include "support.h"

namespace ssb {

void RegisterOooApi(ApiParts& parts) {
  rpc::Api& api = parts.api;
  NodeContext& node = parts.node;
  // ooo.get(id | {id, timeout}): {key, value, timestamp, ooo: true} as ssb-ooo answers.
  api.AddAsync("ooo.get", Access::kOwner,
               [&node](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 std::string id = api::IdArg(Arg(args, 0));
                 if (!IsMsgId(id)) co_return Status::InvalidArgument("ooo.get needs a message id, not " + id);
                 auto m = node.store->Get(id);
                 if (!m.ok()) {
                   if (m.status().code() == Code::kNotFound) {
                     co_return Status::NotFound("ooo.get: " + id + " is not stored here");
                   }
                   co_return m.status();
                 }
                 Value out = api::StoredToKvt(*m);
                 out.Set("ooo", Value::Bool(true));
                 co_return out;
               });
  // ooo.stream is ssb-ooo's gossip between peers (gossip-query); we take no part in it.
  api.AddStream("ooo.stream", CallType::kDuplex, Access::kAnyone,
                [](CallContext&, const Value&, std::shared_ptr<Stream> s) -> awaitable<void> {
                  s->End(Status::Unsupported("ooo.stream: scuttlesync does not gossip messages out of order"));
                  co_return;
                });
  api.AddSync("ooo.help", Access::kOwner,
              [](CallContext&, const Value&) -> awaitable<Result<Value>> { co_return api::OooHelp(); });
}

void RegisterPluginsApi(ApiParts& parts) {
  rpc::Api& api = parts.api;
  for (const char* name : {"plugins.install", "plugins.uninstall"}) {
    api.AddStream(name, CallType::kSource, Access::kOwner,
                  [name](CallContext&, const Value&, std::shared_ptr<Stream> s) -> awaitable<void> {
                    s->End(Status::Unsupported(std::string(name) +
                                               ": scuttlesync does not load JavaScript plugins"));
                    co_return;
                  });
  }
  for (const char* name : {"plugins.enable", "plugins.disable"}) {
    api.AddAsync(name, Access::kOwner, [](CallContext&, const Value& args) -> awaitable<Result<Value>> {
      std::string plugin = Arg(args, 0).is_string() ? Arg(args, 0).as_string() : json::Stringify(Arg(args, 0));
      co_return Status::NotFound("Plugin \"" + plugin + "\" is not installed.");
    });
  }
  api.AddSync("plugins.help", Access::kOwner,
              [](CallContext&, const Value&) -> awaitable<Result<Value>> { co_return api::PluginsHelp(); });
}

}  // namespace ssb
