// Operations on our own feed, shared by the embedded command line and the server's RPC methods
// so that both answer alike. How stored messages are shown is ssb/db_view.h's.
#pragma once

#include <optional>
#include <string>

#include "ssb/json.h"
#include "ssb/keys.h"
#include "ssb/message.h"
#include "ssb/status.h"
#include "ssb/store.h"

namespace ssb {

// Publishes `content` on our feed: signs the next message (claimed timestamps strictly
// increase even if the clock goes back), and when content has `recps` (feed ids, an array or
// one comma-separated string) encrypts it for them and for us, as ssb-server does, keeping
// the plaintext for us. Returns the stored message. Errors: kInvalidArgument for content
// that is not an object with a type or bad recps; kCorruption when the store holds fewer of
// our messages than its feed floor says exist (Store::FeedFloor: the next one would fork our
// feed); the store's errors.
struct Published {
  PreparedMessage message;  // what was signed and stored (for the after-append hooks)
  StoredMessage stored;     // as reads return it
};
Result<Published> PublishContent(Store& store, const Keypair& keys, json::Value content,
                                 const ValidateOptions& validate);

// {key, value, timestamp} of a message as ssb-server's publish and add return it: the value as
// signed (a private message stays encrypted), built from the message itself, not from text.
json::Value KvtOf(const Message& msg, double received);

// Typed option readers over a JSON options object; absent leaves *out unchanged.
Status OptString(const json::Value& opts, const char* key, std::string* out);
Status OptInt(const json::Value& opts, const char* key, int64_t* out);
Status OptBool(const json::Value& opts, const char* key, bool* out);
Status OptNumber(const json::Value& opts, const char* key, double* out);

double NowMs();

// What `sbot status` prints about a store: {id, path, sequence (ours), feeds, messages,
// private, size, forks: [{author, sequence, stored, offending, reason}]}. The server adds its
// address and connections.
Result<json::Value> StoreStatus(Store& store, const std::string& self_id, const std::string& path);

}  // namespace ssb
