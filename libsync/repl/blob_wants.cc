// Blob wants as ssb-blobs 2.0.1 inject.js handles them (PROTOCOL.md §5.3), minus the legacy
// blobs.has/changes fallback and blobs.push.
#include "ssb/blob_wants.h"

#include <cmath>

#include "ssb/ref.h"

namespace ssb {
namespace {

constexpr size_t kBlobIdLength = 52;  // "&" + 44 base64 characters + ".sha256"

void Walk(const json::Value& v, size_t depth, size_t max_depth, size_t max_refs,
          std::vector<std::string>* out) {
  if (out->size() >= max_refs || depth > max_depth) return;
  if (v.is_string()) {
    const std::string& s = v.as_string();
    for (size_t pos = s.find('&'); pos != std::string::npos && out->size() < max_refs;
         pos = s.find('&', pos + 1)) {
      if (s.size() - pos < kBlobIdLength) break;
      std::string_view candidate = std::string_view(s).substr(pos, kBlobIdLength);
      if (!IsBlobId(candidate)) continue;
      bool seen = false;
      for (const auto& r : *out) seen = seen || r == candidate;
      if (!seen) out->emplace_back(candidate);
    }
    return;
  }
  if (v.is_array() || v.is_object()) {
    for (const json::Value& item : v.items()) {
      Walk(item, depth + 1, max_depth, max_refs, out);
      if (out->size() >= max_refs) return;
    }
  }
}

bool IsJsInteger(double d) { return std::isfinite(d) && std::trunc(d) == d; }

// A want-map value as int64, saturating (haves that large are never fetched anyway).
int64_t Saturate(double d) {
  constexpr double kLimit = 4611686018427387904.0;  // 2^62
  if (d >= kLimit) return static_cast<int64_t>(kLimit);
  if (d <= -kLimit) return -static_cast<int64_t>(kLimit);
  return static_cast<int64_t>(d);
}

}  // namespace

std::optional<uint64_t> BlobStoreLookup::Size(std::string_view id) const {
  auto s = store_.Size(id);
  if (!s.ok()) return std::nullopt;
  return *s;
}

std::vector<std::string> BlobRefsIn(const json::Value& content, size_t max_refs,
                                    size_t max_depth) {
  std::vector<std::string> out;
  Walk(content, 0, max_depth, max_refs, &out);
  return out;
}

json::Value WantMapToJson(const WantMap& map) {
  json::Value obj = json::Value::Object();
  for (const auto& [blob, n] : map) obj.Set(blob, json::Value::Number(static_cast<double>(n)));
  return obj;
}

BlobWants::BlobWants(const BlobLookup& lookup, BlobWantsOptions options)
    : lookup_(lookup), options_(options) {
  if (options_.max_parallel_fetches == 0) options_.max_parallel_fetches = 1;
}

void BlobWants::Push(Actions* out, std::string_view peer, const std::string& blob, int64_t n) {
  for (auto& s : out->sends) {
    if (s.peer == peer) {
      s.map[blob] = n;
      return;
    }
  }
  out->sends.push_back(SendWants{std::string(peer), WantMap{{blob, n}}});
}

void BlobWants::Broadcast(Actions* out, const std::string& blob, int64_t n,
                          std::string_view except) {
  for (const auto& [peer, p] : peers_) {
    if (peer != except) Push(out, peer, blob, n);
  }
}

bool BlobWants::AddWant(const std::string& blob, int64_t hops) {
  // inject.js wants(): `if (!want[id] || want[id] < hops) want[id] = hops` — a closer want
  // replaces a farther one.
  auto it = want_.find(blob);
  if (it == want_.end()) {
    if (want_.size() >= options_.max_wants) return false;
    want_.emplace(blob, hops);
    return true;
  }
  if (it->second < hops) {
    it->second = hops;
    return true;
  }
  return false;
}

std::optional<std::string> BlobWants::SourceFor(const std::string& blob) const {
  for (const auto& [peer, p] : peers_) {
    auto it = p.haves.find(blob);
    if (it != p.haves.end() && it->second > 0 &&
        static_cast<uint64_t>(it->second) < options_.max_size) {
      return peer;
    }
  }
  return std::nullopt;
}

void BlobWants::StartFetches(Actions* out) {
  for (const auto& [blob, hops] : want_) {
    if (fetching_.size() >= options_.max_parallel_fetches) return;
    if (fetching_.count(blob)) continue;
    auto peer = SourceFor(blob);
    if (!peer) continue;
    fetching_.emplace(blob, *peer);
    out->fetches.push_back(Fetch{*peer, blob, options_.max_size});
  }
}

void BlobWants::RecordHave(Peer& p, const std::string& blob, int64_t size) {
  if (p.haves.size() >= options_.max_haves_per_peer && !p.haves.count(blob) &&
      !want_.count(blob)) {
    return;
  }
  p.haves[blob] = size;
}

BlobWants::Actions BlobWants::PeerConnected(std::string_view peer) {
  peers_.try_emplace(std::string(peer));
  Actions out;
  out.sends.push_back(SendWants{std::string(peer), want_});
  return out;
}

BlobWants::Actions BlobWants::PeerDisconnected(std::string_view peer) {
  Actions out;
  auto it = peers_.find(peer);
  if (it == peers_.end()) return out;
  peers_.erase(it);
  for (auto f = fetching_.begin(); f != fetching_.end();) {
    f = f->second == peer ? fetching_.erase(f) : std::next(f);
  }
  StartFetches(&out);
  return out;
}

BlobWants::Actions BlobWants::OnWants(std::string_view peer, const json::Value& map) {
  WantMap parsed;
  if (map.is_object()) {
    for (size_t i = 0; i < map.size(); ++i) {
      const json::Value& v = map.items()[i];
      // inject.js process(): isBlobId(id) && Number.isInteger(data[id]).
      if (!IsBlobId(map.keys()[i]) || !v.is_number() || !IsJsInteger(v.as_number())) continue;
      parsed[map.keys()[i]] = Saturate(v.as_number());
    }
  }
  return OnWants(peer, parsed);
}

BlobWants::Actions BlobWants::OnWants(std::string_view peer, const WantMap& map) {
  Actions out;
  Peer& p = peers_.try_emplace(std::string(peer)).first->second;
  for (const auto& [blob, n] : map) {
    if (!IsBlobId(blob)) continue;
    if (n <= 0) {
      // A want ("0" counts as one, as in ssb-blobs).
      if (p.wants.size() < options_.max_haves_per_peer || p.wants.count(blob)) p.wants[blob] = n;
      auto size = lookup_.Size(blob);
      if (size && *size > 0) {
        // We have it: answer on our stream to this peer. (An empty blob is never announced:
        // a 0 would read as a want.)
        Push(&out, peer, blob, static_cast<int64_t>(*size));
        continue;
      }
      int64_t hops = n - 1;
      if (-hops > options_.sympathy) continue;  // too far: "sorry!"
      if (AddWant(blob, hops)) Broadcast(&out, blob, hops, peer);
    } else {
      p.wants.erase(blob);
      RecordHave(p, blob, n);
    }
  }
  StartFetches(&out);
  return out;
}

Result<BlobWants::Actions> BlobWants::Want(std::string_view blob) {
  if (!IsBlobId(blob)) return Status::InvalidArgument("not a blob id: " + std::string(blob));
  Actions out;
  if (lookup_.Size(blob)) return out;  // held already
  std::string id(blob);
  bool present = want_.count(id) > 0;
  if (!present && want_.size() >= options_.max_wants) {
    return Status::LimitExceeded("blob want map is full (" + std::to_string(options_.max_wants) +
                                 " entries)");
  }
  // queue(hash, -1): our own want is always -1, replacing a forwarded one.
  if (!present || want_[id] != -1) {
    want_[id] = -1;
    Broadcast(&out, id, -1, {});
  }
  StartFetches(&out);
  return out;
}

BlobWants::Actions BlobWants::WantReferenced(const Message& msg) {
  Actions out;
  const json::Value* content = msg.content();
  if (!content) return out;
  for (const std::string& ref : BlobRefsIn(*content)) {
    auto r = Want(ref);
    if (!r.ok()) continue;
    for (auto& s : r->sends) {
      for (auto& [blob, n] : s.map) Push(&out, s.peer, blob, n);
    }
    for (auto& f : r->fetches) out.fetches.push_back(std::move(f));
  }
  return out;
}

BlobWants::Actions BlobWants::BlobStored(std::string_view blob, uint64_t size) {
  Actions out;
  std::string id(blob);
  want_.erase(id);
  fetching_.erase(id);
  if (size > 0) Broadcast(&out, id, static_cast<int64_t>(size), {});
  StartFetches(&out);
  return out;
}

BlobWants::Actions BlobWants::FetchFailed(std::string_view peer, std::string_view blob) {
  Actions out;
  auto f = fetching_.find(blob);
  if (f != fetching_.end() && f->second == peer) fetching_.erase(f);
  auto p = peers_.find(peer);
  if (p != peers_.end()) {
    auto h = p->second.haves.find(blob);
    if (h != p->second.haves.end()) p->second.haves.erase(h);
  }
  StartFetches(&out);
  return out;
}

const WantMap* BlobWants::PeerWants(std::string_view peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? nullptr : &it->second.wants;
}

const WantMap* BlobWants::PeerHaves(std::string_view peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? nullptr : &it->second.haves;
}

std::optional<std::string> BlobWants::FetchingFrom(std::string_view blob) const {
  auto it = fetching_.find(blob);
  if (it == fetching_.end()) return std::nullopt;
  return it->second;
}

}  // namespace ssb
