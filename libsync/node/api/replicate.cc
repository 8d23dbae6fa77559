// replicate.*: request.
#include "support.h"
#include "ssb/ref.h"

namespace ssb {

using api::Arg;
using asio::awaitable;
using json::Value;
using rpc::Access;
using rpc::CallContext;

void RegisterReplicateApi(ApiParts& parts) {
  parts.api.AddAsync("replicate.request", Access::kOwner,
                     [&parts](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                       std::string id = api::IdArg(Arg(args, 0));
                       if (!IsFeedId(id, true)) co_return Status::InvalidArgument("not a feed id: " + id);
                       bool on = !Arg(args, 1).is_bool() || Arg(args, 1).as_bool();
                       co_return Value::Bool(parts.replicator.Request(id, on));
                     });
}

}  // namespace ssb
