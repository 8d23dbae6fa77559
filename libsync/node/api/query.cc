// query.* (ssb-query 2.4: read, explain, help) and links2.* (ssb-links 3: read, help):
// map-filter-reduce over the log and over links (ssb/db_view.h).
#include "help.h"
#include "support.h"

namespace ssb {

void RegisterQueryApi(ApiParts& parts) {
  rpc::Api& api = parts.api;
  NodeContext& node = parts.node;
  api.AddStream("query.read", CallType::kSource, Access::kOwner,
                api::SourceMethod(parts, "query.read", [&node](const Value& args) {
                  return view::QueryRead(api::ViewContext(node), args);
                }));
  api.AddSync("query.explain", Access::kOwner,
              [&node](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                co_return view::QueryExplain(api::ViewContext(node), args);
              });
  api.AddSync("query.help", Access::kOwner,
              [](CallContext&, const Value&) -> awaitable<Result<Value>> { co_return api::QueryHelp(); });
  api.AddStream("links2.read", CallType::kSource, Access::kOwner,
                api::SourceMethod(parts, "links2.read", [&node](const Value& args) {
                  return view::Links2Read(api::ViewContext(node), args);
                }));
  api.AddSync("links2.help", Access::kOwner,
              [](CallContext&, const Value&) -> awaitable<Result<Value>> { co_return api::Links2Help(); });
}

}  // namespace ssb
