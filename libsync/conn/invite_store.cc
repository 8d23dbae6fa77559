// The pub's invites file (formats/data-dir.md "invites.json").
#include "ssb/invite_store.h"

#include <cmath>

#include "ssb/files.h"
#include "ssb/json.h"
#include "ssb/ref.h"

namespace ssb {
namespace {

using json::Value;

constexpr int kFileVersion = 1;

}  // namespace

InviteStore InviteStore::Parse(std::string_view text, size_t* skipped, std::string* warning) {
  InviteStore store;
  size_t bad = 0;
  std::string why;
  auto note = [&](const std::string& w) {
    ++bad;
    if (why.empty()) why = w;
  };
  json::ParseOptions opt;
  opt.max_depth = 8;
  opt.max_bytes = kMaxInviteFileBytes;
  auto doc = json::Parse(text, opt);
  const Value* version = doc.ok() ? doc->Find("version") : nullptr;
  if (!doc.ok() || !doc->is_object() || !version || !version->is_number() ||
      version->as_number() != kFileVersion) {
    if (warning) *warning = doc.ok() ? "not a version 1 invites file" : doc.status().message();
    if (skipped) *skipped = 0;
    return store;
  }
  const Value* list = doc->Find("invites");
  if (list && list->is_array()) {
    for (const Value& v : list->items()) {
      if (store.invites_.size() >= kMaxInvites) {
        note("more than " + std::to_string(kMaxInvites) + " invites");
        break;
      }
      const Value* guest = v.Find("guest");
      const Value* total = v.Find("total");
      const Value* used = v.Find("used");
      auto key = guest && guest->is_string() ? ParseFeedId(guest->as_string()) : std::nullopt;
      auto count = [](const Value* n) {
        return n && n->is_number() && n->as_number() >= 0 && n->as_number() <= kMaxInviteUses &&
               std::floor(n->as_number()) == n->as_number();
      };
      if (!key || !count(total) || !count(used) || total->as_number() < 1) {
        note("an invite entry is malformed");
        continue;
      }
      StoredInvite s;
      s.guest = *key;
      s.total = static_cast<uint32_t>(total->as_number());
      s.used = static_cast<uint32_t>(used->as_number());
      if (const Value* n = v.Find("note"); n && n->is_string()) {
        s.note = n->as_string().substr(0, kMaxInviteNoteBytes);
      }
      if (const Value* c = v.Find("created"); c && c->is_number() && c->as_number() >= 0 &&
                                              c->as_number() < 9007199254740992.0) {
        s.created = static_cast<int64_t>(c->as_number());
      }
      if (!store.invites_.emplace(s.guest, s).second) note("a duplicate invite");
    }
  }
  if (skipped) *skipped = bad;
  if (warning) *warning = why;
  return store;
}

Result<InviteStore> InviteStore::Load(const std::string& path, size_t* skipped,
                                      std::string* warning) {
  if (skipped) *skipped = 0;
  if (warning) warning->clear();
  auto text = ReadFile(path);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return InviteStore();
    return text.status();
  }
  return Parse(*text, skipped, warning);
}

std::string InviteStore::Serialize() const {
  Value list = Value::Array();
  for (const auto& [k, s] : invites_) {
    Value v = Value::Object();
    v.Set("guest", Value::String(FeedIdFromKey(s.guest)));
    v.Set("total", Value::Number(s.total));
    v.Set("used", Value::Number(s.used));
    if (!s.note.empty()) v.Set("note", Value::String(s.note));
    v.Set("created", Value::Number(static_cast<double>(s.created)));
    list.Push(std::move(v));
  }
  Value doc = Value::Object();
  doc.Set("version", Value::Number(kFileVersion));
  doc.Set("invites", std::move(list));
  return json::StringifyPretty(doc) + "\n";
}

Status InviteStore::Save(const std::string& path) const {
  return WriteFileAtomic(path, Serialize(), 0600);
}

Status InviteStore::Create(const PublicKey& guest, uint32_t uses, std::string note, int64_t now) {
  if (uses < 1 || uses > kMaxInviteUses) {
    return Status::InvalidArgument("uses must be 1.." + std::to_string(kMaxInviteUses));
  }
  if (note.size() > kMaxInviteNoteBytes) {
    return Status::InvalidArgument("the note is longer than " +
                                   std::to_string(kMaxInviteNoteBytes) + " bytes");
  }
  if (invites_.size() >= kMaxInvites) {
    // Make room by forgetting the oldest used-up invite.
    auto oldest = invites_.end();
    for (auto it = invites_.begin(); it != invites_.end(); ++it) {
      if (it->second.used < it->second.total) continue;
      if (oldest == invites_.end() || it->second.created < oldest->second.created) oldest = it;
    }
    if (oldest == invites_.end()) {
      return Status::LimitExceeded(std::to_string(kMaxInvites) + " unused invites exist already");
    }
    invites_.erase(oldest);
  }
  StoredInvite s;
  s.guest = guest;
  s.total = uses;
  s.note = std::move(note);
  s.created = now;
  invites_[guest] = std::move(s);
  return Status::Ok();
}

Result<StoredInvite> InviteStore::Use(const PublicKey& guest) {
  auto it = invites_.find(guest);
  if (it == invites_.end()) return Status::NotFound("no invite for this key");
  if (it->second.used >= it->second.total) return Status::PermissionDenied("invite has expired");
  StoredInvite before = it->second;
  ++it->second.used;
  return before;
}

void InviteStore::Unuse(const PublicKey& guest) {
  auto it = invites_.find(guest);
  if (it != invites_.end() && it->second.used > 0) --it->second.used;
}

const StoredInvite* InviteStore::Find(const PublicKey& guest) const {
  auto it = invites_.find(guest);
  return it == invites_.end() ? nullptr : &it->second;
}

Value InviteAcceptFollow(const PublicKey& pub) {
  Value v = Value::Object();
  v.Set("type", Value::String("contact"));
  v.Set("following", Value::Bool(true));
  v.Set("autofollow", Value::Bool(true));
  v.Set("contact", Value::String(FeedIdFromKey(pub)));
  return v;
}

Value PubAnnouncement(const NetShsAddress& pub) {
  Value address = Value::Object();
  address.Set("host", Value::String(pub.host));
  address.Set("port", Value::Number(pub.port));
  address.Set("key", Value::String(FeedIdFromKey(pub.key)));
  Value v = Value::Object();
  v.Set("type", Value::String("pub"));
  v.Set("address", std::move(address));
  return v;
}

Value InviteUseFollow(const std::string& feed, const std::string& note) {
  Value v = Value::Object();
  v.Set("type", Value::String("contact"));
  v.Set("contact", Value::String(feed));
  v.Set("following", Value::Bool(true));
  v.Set("pub", Value::Bool(true));
  if (!note.empty()) v.Set("note", Value::String(note));
  return v;
}

}  // namespace ssb
