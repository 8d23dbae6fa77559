// The links a message makes to feeds, messages and blobs, as the two link indexes of
// ssb-server 16 find them: ssb-db 20's `links` (ssb-msgs indexLinks over the content) and
// ssb-links 3's `links2` (the same walk, with a richer `rel`). The store keeps them in its
// `links` table (formats/store-schema.md "links"); nothing here touches the store.
//
// The walk (ssb-msgs 5 `indexLinks`) is one level deep: for every truthy field of the content
// object, the field's value, or each element when it is an array (or an array-like object),
// links when it is a link string ("@…", "%…", "&…", optionally "?query") or an object whose
// `link` is one. The field name is the `rel`.
#pragma once

#include <string>
#include <vector>

#include "ssb/json.h"

namespace ssb {

struct MessageLink {
  std::string dest;   // the link as written (a "?query" suffix is kept)
  std::string rel;    // the field it was found under
  // ssb-links' rel: [rel, …details] as JSON, e.g. ["vote",1], ["mentions","@bob"],
  // ["contact",true,null], ["about","alice"]; objects inside are JSON-stringified.
  std::string rel2;
  // Which index has it. ssb-db's `links` walks readable content only; ssb-links walks the value
  // when it cannot read the content, so it also links an undecryptable message's `previous`
  // and `author`. The two walks differ otherwise only for content that itself holds a
  // message-like `value`/`content` field.
  bool in_links = true;   // ssb-db `links`
  bool in_links2 = true;  // ssb-links `links2.read`
};

// The links of a message `value` whose content is `content` (the value's own content, or the
// decrypted plaintext of a private message). A string `content` (unreadable) gives only the
// ssb-links view of the value itself.
std::vector<MessageLink> ExtractLinks(const json::Value& value, const json::Value& content);

}  // namespace ssb
