// Registration of every RPC namespace, and the argument helpers they share.
#include "api.h"

#include "support.h"
#include "ssb/feed_ops.h"

namespace ssb {

namespace api {

const json::Value& Arg(const json::Value& args, size_t i) {
  static const json::Value kNull;
  return args.is_array() && i < args.size() ? args.items()[i] : kNull;
}

json::Value Opts(const json::Value& args) {
  const json::Value& a = Arg(args, 0);
  return a.is_object() ? a : json::Value::Object();
}

std::string IdArg(const json::Value& a) {
  std::string id = a.is_string() ? a.as_string() : "";
  if (a.is_object()) (void)OptString(a, "id", &id);
  return id;
}

json::Value StoredToKvt(const StoredMessage& m) {
  auto v = json::Parse(FormatMessage(m, MessageFormat{}));
  return v.ok() ? std::move(v).value() : json::Value();
}

Result<json::Value> PublishAndAnnounce(ApiParts& parts, json::Value content) {
  NodeContext& node = parts.node;
  auto stored = PublishContent(*node.store, node.keys, std::move(content), node.validate);
  if (!stored.ok()) return stored.status();
  auto msg = Message::Parse(stored->value_json);
  if (msg.ok()) parts.replicator.OnAppended({*msg});
  return StoredToKvt(*stored);
}

}  // namespace api

void RegisterApi(ApiParts& parts) {
  RegisterCoreApi(parts);
  RegisterDbApi(parts);
  RegisterEbtApi(parts);
  RegisterGossipApi(parts);
  RegisterBlobsApi(parts);
  RegisterFriendsApi(parts);
  RegisterReplicateApi(parts);
  RegisterInviteApi(parts);
  RegisterRoomApi(parts);
}

}  // namespace ssb
