// friends.*: follow, unfollow, block, unblock (each publishes a contact message).
#include "support.h"
#include "ssb/ref.h"

namespace ssb {

using api::Arg;
using asio::awaitable;
using json::Value;
using rpc::Access;
using rpc::CallContext;

namespace {

rpc::AsyncHandler Contact(ApiParts& parts, const char* field, bool value) {
  return [&parts, field, value](CallContext&, const Value& args) -> awaitable<Result<Value>> {
    std::string id = api::IdArg(Arg(args, 0));
    if (!IsFeedId(id, true)) co_return Status::InvalidArgument("not a feed id: " + id);
    Value content = Value::Object();
    content.Set("type", Value::String("contact"));
    content.Set("contact", Value::String(id));
    content.Set(field, Value::Bool(value));
    if (std::string(field) == "blocking" && value) content.Set("following", Value::Bool(false));
    co_return api::PublishAndAnnounce(parts, std::move(content));
  };
}

}  // namespace

void RegisterFriendsApi(ApiParts& parts) {
  parts.api.AddAsync("friends.follow", Access::kOwner, Contact(parts, "following", true));
  parts.api.AddAsync("friends.unfollow", Access::kOwner, Contact(parts, "following", false));
  parts.api.AddAsync("friends.block", Access::kOwner, Contact(parts, "blocking", true));
  parts.api.AddAsync("friends.unblock", Access::kOwner, Contact(parts, "blocking", false));
}

}  // namespace ssb
