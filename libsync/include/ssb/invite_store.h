// The invites a pub created and how often each was used: <data dir>/invites.json
// (formats/data-dir.md "invites.json"), the state behind invite.create and invite.use as
// ssb-invite 2.1.8 keeps it (there in a leveldb under invites/).
//
// Sans-IO apart from Load/Save; thread-safety: none.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "ssb/address.h"
#include "ssb/json.h"
#include "ssb/keys.h"
#include "ssb/status.h"

namespace ssb {

inline constexpr size_t kMaxInvites = 10000;           // kept at once (used-up ones go first)
inline constexpr uint32_t kMaxInviteUses = 1000000;
inline constexpr size_t kMaxInviteNoteBytes = 1000;
inline constexpr size_t kMaxInviteFileBytes = 8u << 20;

struct StoredInvite {
  PublicKey guest{};      // the key derived from the code's seed; the code itself is not kept
  uint32_t total = 1;     // uses allowed
  uint32_t used = 0;
  std::string note;       // copied into the pub's follow message
  int64_t created = 0;    // ms since the epoch
};

class InviteStore {
 public:
  // Reads <path>; a missing file is empty. Damaged entries are skipped and counted in
  // `*skipped`, with the first reason in `*warning`. Error: kIoError when unreadable.
  static Result<InviteStore> Load(const std::string& path, size_t* skipped = nullptr,
                                  std::string* warning = nullptr);
  Status Save(const std::string& path) const;
  std::string Serialize() const;
  static InviteStore Parse(std::string_view text, size_t* skipped = nullptr,
                           std::string* warning = nullptr);

  // Records a new invite for `guest`. Error: kInvalidArgument for uses outside
  // 1..kMaxInviteUses or a note over kMaxInviteNoteBytes; kLimitExceeded when kMaxInvites
  // unused invites exist (used-up ones are dropped to make room).
  Status Create(const PublicKey& guest, uint32_t uses, std::string note, int64_t now);
  // Counts one use of `guest`'s invite and returns it as it was before. Error: kNotFound when
  // `guest` holds no invite; kPermissionDenied "invite has expired" when it is used up.
  Result<StoredInvite> Use(const PublicKey& guest);
  // Gives back a use that could not be completed (the follow failed to publish).
  void Unuse(const PublicKey& guest);
  const StoredInvite* Find(const PublicKey& guest) const;
  size_t size() const { return invites_.size(); }

 private:
  std::map<PublicKey, StoredInvite> invites_;
};

// The messages of an invite, with ssb-invite 2.1.8's fields in its order:
// what its accept publishes once the pub accepted, our follow of the pub
//   {"type":"contact","following":true,"autofollow":true,"contact":"@pub"}
// and the pub's address (as ssb-ref's parseAddress gives it)
//   {"type":"pub","address":{"host":…,"port":…,"key":"@pub"}}
json::Value InviteAcceptFollow(const PublicKey& pub);
json::Value PubAnnouncement(const NetShsAddress& pub);
// What the pub publishes on invite.use:
//   {"type":"contact","contact":"@feed","following":true,"pub":true[,"note":…]}
json::Value InviteUseFollow(const std::string& feed, const std::string& note);

}  // namespace ssb
