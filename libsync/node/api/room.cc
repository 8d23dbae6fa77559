// tunnel.* and room.*: the client's tunnel.connect and room.join, and, when serving as a room,
// what ssb-room 1.3.0 serves (tunnel.*) and the rooms 2.0 methods ssb-room-client 2.0.2 asks
// first (room.metadata, room.attendants). Anonymous peers may call the room's methods.
#include "support.h"
#include "ssb/feed_ops.h"

namespace ssb {

void RegisterRoomApi(ApiParts& parts) {
  rpc::Api& api = parts.api;
  Rooms& rooms = parts.rooms;
  api.AddStream("tunnel.connect", CallType::kDuplex, Access::kAnyone,
                [&rooms](CallContext& ctx, const Value& args, std::shared_ptr<Stream> s) -> awaitable<void> {
                  co_await rooms.TunnelConnect(ctx, args, s);
                });
  api.AddAsync("room.join", Access::kOwner,
               [&rooms](CallContext&, const Value& args) -> awaitable<Result<Value>> {
                 const Value& a = Arg(args, 0);
                 std::string text = a.is_string() ? a.as_string() : "";
                 if (a.is_object()) (void)OptString(a, "address", &text);
                 auto addr = ParseDialAddress(text);
                 if (!addr.ok()) co_return addr.status();
                 co_return co_await rooms.Join(*addr);
               });
  if (!rooms.serving()) return;
  api.AddAsync("tunnel.isRoom", Access::kAnyone,
               [&rooms](CallContext&, const Value&) -> awaitable<Result<Value>> {
                 co_return rooms.IsRoomAnswer();
               });
  api.AddAsync("room.metadata", Access::kAnyone,
               [&rooms](CallContext&, const Value&) -> awaitable<Result<Value>> {
                 co_return rooms.MetadataAnswer();
               });
  api.AddAsync("tunnel.announce", Access::kAnyone,
               [&rooms](CallContext& ctx, const Value&) -> awaitable<Result<Value>> {
                 SSB_CO_RETURN_IF_ERROR(rooms.Announce(ctx));
                 co_return Value();
               });
  api.AddAsync("tunnel.leave", Access::kAnyone,
               [&rooms](CallContext& ctx, const Value&) -> awaitable<Result<Value>> {
                 SSB_CO_RETURN_IF_ERROR(rooms.Leave(ctx));
                 co_return Value();
               });
  api.AddAsync("tunnel.ping", Access::kAnyone,
               [](CallContext&, const Value&) -> awaitable<Result<Value>> {
                 co_return Value::Number(NowMs());
               });
  api.AddStream("tunnel.endpoints", CallType::kSource, Access::kAnyone,
                [&rooms](CallContext& ctx, const Value&, std::shared_ptr<Stream> s) -> awaitable<void> {
                  co_await rooms.Subscribe(ctx, s, false);
                });
  api.AddStream("room.attendants", CallType::kSource, Access::kAnyone,
                [&rooms](CallContext& ctx, const Value&, std::shared_ptr<Stream> s) -> awaitable<void> {
                  co_await rooms.Subscribe(ctx, s, true);
                });
}

}  // namespace ssb
