// Helpers for the replication tests: feeds that publish arbitrary content, contact messages.
#pragma once

#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "ssb/json.h"
#include "ssb/keys.h"
#include "ssb/message.h"
#include "store/store_test_util.h"

namespace ssb::test {

// A feed that signs consecutive messages with any content.
class Feed {
 public:
  explicit Feed(uint8_t seed_byte, std::optional<HmacKey> hmac = {}) : hmac_(hmac) {
    std::array<uint8_t, 32> seed{};
    seed.fill(seed_byte);
    keys_ = Keypair::FromSeed(seed);
  }
  const std::string id() const { return keys_.id(); }
  const Keypair& keys() const { return keys_; }

  // The next message (advances the feed).
  Message Publish(json::Value content) {
    auto m = CreateMessage(keys_, head_ ? &*head_ : nullptr, std::move(content),
                           1600000000000.0 + static_cast<double>(++count_), hmac_);
    if (!m.ok()) throw std::runtime_error(m.status().ToString());
    head_ = FeedState{m->id(), *m->sequence()};
    return std::move(m).value();
  }
  Message Post(const std::string& text) {
    json::Value c = json::Value::Object();
    c.Set("type", json::Value::String("post"));
    c.Set("text", json::Value::String(text));
    return Publish(std::move(c));
  }
  // A contact message; unset optionals are left out.
  Message Contact(const std::string& contact, std::optional<bool> following,
                  std::optional<bool> blocking = {}) {
    json::Value c = json::Value::Object();
    c.Set("type", json::Value::String("contact"));
    c.Set("contact", json::Value::String(contact));
    if (following) c.Set("following", json::Value::Bool(*following));
    if (blocking) c.Set("blocking", json::Value::Bool(*blocking));
    return Publish(std::move(c));
  }
  Message Follow(const Feed& other) { return Contact(other.id(), true); }
  Message Unfollow(const Feed& other) { return Contact(other.id(), false); }
  Message Block(const Feed& other) { return Contact(other.id(), std::nullopt, true); }

  // Rewinds the feed to an earlier state (to sign a fork).
  void ResetTo(std::optional<FeedState> head) { head_ = std::move(head); }
  const std::optional<FeedState>& head() const { return head_; }

 private:
  Keypair keys_;
  std::optional<FeedState> head_;
  std::optional<HmacKey> hmac_;
  int count_ = 0;
};

inline void AppendAll(Store& store, const std::vector<Message>& msgs) {
  auto outs = store.AppendBatch(msgs);
  REQUIRE(outs.ok());
  for (const auto& o : *outs) {
    INFO(o.status.ToString());
    REQUIRE(o.kind == AppendKind::kAppended);
  }
}

}  // namespace ssb::test
