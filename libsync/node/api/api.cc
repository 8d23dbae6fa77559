// Registration of every RPC namespace, and the helpers they share.
#include "api.h"

#include <asio/post.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "ssb/feed_ops.h"
#include "support.h"

namespace ssb {

namespace api {

namespace {
// Items a stream sends per page before it lets the reader catch up.
constexpr size_t kPage = 256;
}  // namespace

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

bool Truthy(const json::Value* v) {
  if (!v) return false;
  switch (v->type()) {
    case json::Value::Type::kNull: return false;
    case json::Value::Type::kBool: return v->as_bool();
    case json::Value::Type::kNumber: return v->as_number() != 0 && v->as_number() == v->as_number();
    case json::Value::Type::kString: return !v->as_string().empty();
    default: return true;
  }
}

view::Context ViewContext(NodeContext& node) { return view::Context{node.store.get(), &node.keys}; }

json::Value StoredToKvt(const StoredMessage& m) {
  auto v = json::Parse(m.value_json, {.wtf8_input = true});
  json::Value kvt = json::Value::Object();
  kvt.Set("key", json::Value::String(m.key));
  kvt.Set("value", v.ok() ? std::move(v).value() : json::Value());
  kvt.Set("timestamp", json::Value::Number(m.received));
  return kvt;
}

Result<json::Value> PublishAndAnnounce(ApiParts& parts, json::Value content) {
  NodeContext& node = parts.node;
  auto published = PublishContent(*node.store, node.keys, std::move(content), node.validate);
  if (!published.ok()) return published.status();
  parts.replicator.OnAppended({&published->message});
  return KvtOf(published->message.msg, published->stored.received);
}

asio::awaitable<void> RunSource(ApiParts& parts, std::string method, view::SourcePtr src,
                                std::shared_ptr<rpc::Stream> s) {
  NodeContext& node = parts.node;
  auto entry = parts.streams.insert(parts.streams.end(), OpenStream{std::move(method), src.get()});
  s->SetWake(&node.new_messages);
  std::vector<std::string> items;
  Status failed;
  while (!s->closed() && !node.stopping) {
    items.clear();
    auto st = src->Next(kPage, &items);
    if (!st.ok()) {
      failed = st.status();
      break;
    }
    for (auto& item : items) s->WriteJsonText(std::move(item));
    if (*st == view::Source::State::kDone) break;
    if (*st == view::Source::State::kLive && items.empty()) {
      // Nothing new, and nothing suspended us since Next looked: an append notifies after this.
      co_await node.new_messages.Wait();
      continue;
    }
    // Wait for the reader (the connection's send queue), and let other work run.
    co_await s->Drain();
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  }
  s->SetWake(nullptr);
  parts.streams.erase(entry);
  if (!failed.ok()) s->End(failed);
}

rpc::StreamHandler SourceMethod(ApiParts& parts, std::string method, SourceOpener open) {
  return [&parts, method, open](rpc::CallContext&, const json::Value& args,
                                std::shared_ptr<rpc::Stream> s) -> asio::awaitable<void> {
    auto src = open(args);
    if (!src.ok()) {
      s->End(src.status());
      co_return;
    }
    co_await RunSource(parts, method, std::move(src).value(), s);
  };
}

Result<FriendsGraph*> Friends(ApiParts& parts) {
  if (!parts.friends) {
    parts.friends = std::make_unique<FriendsGraph>(parts.node.self_id, parts.node.config.hops);
  }
  auto changes = parts.friends->Update(*parts.node.store);
  if (!changes.ok()) return changes.status();
  return parts.friends.get();
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
  RegisterQueryApi(parts);
  RegisterOooApi(parts);
  RegisterPluginsApi(parts);
}

}  // namespace ssb
