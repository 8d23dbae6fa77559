// Pub invites of a running node (invites.h).
#include "invites.h"

#include <cmath>

#include "ssb/feed_ops.h"
#include "ssb/invite_client.h"
#include "ssb/ref.h"

namespace ssb {
namespace {

using asio::awaitable;
using json::Value;

bool Unspecified(const std::string& host) { return host.empty() || host == "0.0.0.0" || host == "::"; }

}  // namespace

Invites::Invites(NodeContext& node, Connections& connections)
    : node_(node), connections_(connections), path_(node.config.data_dir + "/invites.json") {}

Status Invites::Load() {
  size_t skipped = 0;
  std::string warning;
  auto store = InviteStore::Load(path_, &skipped, &warning);
  if (!store.ok()) return store.status();
  store_ = std::move(store).value();
  if (!warning.empty()) {
    node_.Log("invites.json: " + (skipped ? "skipped " + std::to_string(skipped) + " entries: " : std::string("ignored: ")) +
              warning);
  }
  return Status::Ok();
}

Status Invites::Save() { return store_.Save(path_); }

Result<std::string> Invites::Create(const Value& args) {
  // ssb-invite: create(uses), create({uses, note, external}), create({modern: true}).
  const Value* a = args.is_array() && args.size() > 0 ? &args.items()[0] : nullptr;
  double uses = 1;
  std::string note, external = node_.config.external;
  if (a && a->is_number()) {
    uses = a->as_number();
  } else if (a && a->is_string()) {
    char* end = nullptr;
    uses = std::strtod(a->as_string().c_str(), &end);
    if (a->as_string().empty() || *end) return Status::InvalidArgument("invite.create: uses must be a number");
  } else if (a && a->is_object()) {
    if (const Value* m = a->Find("modern"); m && m->is_bool() && m->as_bool()) {
      return Status::Unsupported("invite.create: modern (websocket) invites are not served here");
    }
    SSB_RETURN_IF_ERROR(OptNumber(*a, "uses", &uses));
    SSB_RETURN_IF_ERROR(OptString(*a, "note", &note));
    SSB_RETURN_IF_ERROR(OptString(*a, "external", &external));
  } else if (a && !a->is_null()) {
    return Status::InvalidArgument("invite.create takes a number of uses or {uses, note, external}");
  }
  if (!(uses >= 1 && uses <= kMaxInviteUses) || std::floor(uses) != uses) {
    return Status::InvalidArgument("invite.create: uses must be a whole number 1.." +
                                   std::to_string(kMaxInviteUses));
  }
  std::string host = external.empty() ? node_.config.host : external;
  if (Unspecified(host)) {
    return Status::InvalidArgument(
        "invite.create: no public address to put in the code: set connections.incoming.net[0]."
        "external in the config, start the server with --external HOST, or pass {external: HOST}");
  }
  if (!IsValidHost(host)) return Status::InvalidArgument("invite.create: not a host name: " + host);
  uint16_t port = connections_.port();
  if (port == 0) return Status::InvalidArgument("invite.create: the server is not listening");

  InviteCode code;
  code.pub = {host, port, node_.keys.public_key()};
  Keypair guest = Keypair::Generate();
  std::copy_n(guest.secret_key().begin(), 32, code.seed.begin());
  SSB_RETURN_IF_ERROR(store_.Create(code.GuestKeys().public_key(), static_cast<uint32_t>(uses),
                                    std::move(note), static_cast<int64_t>(NowMs())));
  SSB_RETURN_IF_ERROR(Save());
  return FormatInviteLegacy(code);
}

Result<StoredInvite> Invites::Use(const PublicKey& guest, const std::string& feed) {
  if (!store_.Find(guest)) {
    return Status::NotFound("invite.use: this key holds no invite here");
  }
  if (!IsFeedId(feed, true)) return Status::InvalidArgument("feed to follow is missing");
  auto used = store_.Use(guest);
  if (!used.ok()) return used.status();
  // Counted before the follow is published, as ssb-invite does: a crash in between costs the
  // guest a use, never grants a second one.
  if (Status st = Save(); !st.ok()) {
    store_.Unuse(guest);
    return st;
  }
  node_.Log("invite used by " + feed + " (" + std::to_string(used->used + 1) + " of " +
            std::to_string(used->total) + ")");
  return used;
}

void Invites::Unuse(const PublicKey& guest) {
  store_.Unuse(guest);
  (void)Save();
}

awaitable<Result<InviteCode>> Invites::Redeem(const std::string& text) {
  auto code = ParseInviteCode(text);
  if (!code.ok()) co_return code.status();
  if (code->pub.key == node_.keys.public_key()) {
    co_return Status::InvalidArgument("that is our own invite");
  }
  net::RedeemOptions opt;
  opt.network_key = node_.config.network_key;
  auto answer = co_await net::RedeemInvite(*code, node_.self_id, opt);
  if (!answer.ok()) co_return answer.status();
  co_return code;
}

void Invites::RememberPub(const InviteCode& code) {
  DialAddress d;
  d.net = code.pub;
  connections_.Remember(d, PeerSource::kInvite, code.pub.host);
}

}  // namespace ssb
