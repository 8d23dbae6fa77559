// Message content shaped like real feeds for the benchmarks: posts of varied length with some
// non-ASCII, votes and contacts, one third each.
#pragma once

#include <string>

#include "ssb/json.h"

namespace ssb::bench {

template <typename Rng>
json::Value FeedLikeContent(Rng& rng, const std::string& contact_id) {
  json::Value c = json::Value::Object();
  switch (rng() % 3) {
    case 0: {
      c.Set("type", json::Value::String("post"));
      std::string text;
      size_t len = 20 + rng() % 600;
      for (size_t k = 0; k < len; ++k) {
        if (rng() % 40 == 0) text += "\xC3\xA9";
        else text += static_cast<char>('a' + rng() % 26);
      }
      c.Set("text", json::Value::String(text));
      c.Set("root", json::Value::String("%" + std::string(43, 'A') + "=.sha256"));
      break;
    }
    case 1: {
      c.Set("type", json::Value::String("vote"));
      json::Value vote = json::Value::Object();
      vote.Set("link", json::Value::String("%" + std::string(43, 'B') + "=.sha256"));
      vote.Set("value", json::Value::Number(1));
      vote.Set("expression", json::Value::String("Like"));
      c.Set("vote", vote);
      break;
    }
    default:
      c.Set("type", json::Value::String("contact"));
      c.Set("contact", json::Value::String(contact_id));
      c.Set("following", json::Value::Bool(true));
  }
  return c;
}

}  // namespace ssb::bench
