// ebt.replicate (ssb-ebt, PROTOCOL.md §5.2).
#include "support.h"

namespace ssb {

using api::Opts;
using asio::awaitable;
using json::Value;
using rpc::Access;
using rpc::CallContext;
using rpc::CallType;
using rpc::Stream;

void RegisterEbtApi(ApiParts& parts) {
  if (!parts.node.config.ebt) return;
  // Anyone may ask, as ssb-ebt allows; version 3 and the classic feed format only. Without it a
  // peer gets "no duplex:ebt,replicate" and falls back to legacy replication.
  parts.api.AddStream(
      "ebt.replicate", CallType::kDuplex, Access::kAnyone,
      [&parts](CallContext& ctx, const Value& args, std::shared_ptr<Stream> s) -> awaitable<void> {
        Value o = Opts(args);
        const Value* version = o.Find("version");
        const Value* format = o.Find("format");
        if (!version || !version->is_number() || version->as_number() != 3) {
          s->End(Status::InvalidArgument("expected ebt.replicate({version: 3})"));
          co_return;
        }
        if (format && !(format->is_string() && format->as_string() == "classic")) {
          s->End(Status::Unsupported("ebt.replicate: only the classic feed format"));
          co_return;
        }
        co_await parts.replicator.ServeEbt(ctx.conn.get(), s);
      });
}

}  // namespace ssb
