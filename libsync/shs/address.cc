// Multiserver addresses and LAN discovery payloads (PROTOCOL.md §6).
#include "ssb/address.h"

#include <sodium.h>

#include <cctype>
#include <cstring>
#include <optional>

#include "ssb/base64.h"
#include "ssb/ref.h"

namespace ssb {
namespace {

// ---------------------------------------------------------------------------------------------
// Grammar

bool IsSpecial(char c) { return c == '!' || c == ':' || c == ';' || c == '~'; }
bool IsNameStart(char c) { return c >= 'a' && c <= 'z'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9') || c == '-'; }
// multiserver-address: data = [!-9] | [<-}] | escaped.
bool IsDataChar(char c) { return (c >= '!' && c <= '9') || (c >= '<' && c <= '}'); }

std::string Describe(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u > 0x20 && u < 0x7f) return std::string("'") + c + "'";
  static const char kHex[] = "0123456789abcdef";
  return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 15];
}

// A cursor over the multiaddress text that reports errors with their offset.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  bool done() const { return pos_ == text_.size(); }
  bool Take(char c) {
    if (done() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  Status Error(const std::string& what) const {
    return Status::InvalidInput("multiserver address: " + what + " at offset " +
                                std::to_string(pos_));
  }

  // name = [a-z][a-z0-9-]+, followed by ":" "~" ";" or the end.
  Status Name(std::string* out) {
    size_t start = pos_;
    if (done() || !IsNameStart(text_[pos_])) {
      return Error(done() ? "missing protocol name"
                          : "protocol name starts with " + Describe(text_[pos_]));
    }
    while (!done() && IsNameChar(text_[pos_])) ++pos_;
    if (!done() && !(text_[pos_] == ':' || text_[pos_] == '~' || text_[pos_] == ';')) {
      return Error("invalid character " + Describe(text_[pos_]) + " in protocol name");
    }
    if (pos_ - start < 2) return Error("protocol name shorter than 2 characters");
    *out = std::string(text_.substr(start, pos_ - start));
    return Status::Ok();
  }

  // One data field (possibly empty), unescaped; stops before ":" ";" "~" or the end.
  Status Data(std::string* out) {
    while (!done() && text_[pos_] != ':' && text_[pos_] != ';' && text_[pos_] != '~') {
      char c = text_[pos_];
      if (c == '!') {
        if (pos_ + 1 == text_.size() || !IsSpecial(text_[pos_ + 1])) {
          return Error("'!' must escape one of ! : ; ~");
        }
        c = text_[++pos_];
      } else if (!IsDataChar(c)) {
        return Error("invalid character " + Describe(c));
      }
      out->push_back(c);
      ++pos_;
    }
    return Status::Ok();
  }

  Status Protocol(MultiserverProtocol* out) {
    SSB_RETURN_IF_ERROR(Name(&out->name));
    while (Take(':')) {
      out->data.emplace_back();
      SSB_RETURN_IF_ERROR(Data(&out->data.back()));
    }
    return Status::Ok();
  }

  Status Address(MultiserverAddress* out) {
    do {
      out->emplace_back();
      SSB_RETURN_IF_ERROR(Protocol(&out->back()));
    } while (Take('~'));
    return Status::Ok();
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

void AppendEscaped(std::string* out, std::string_view data) {
  for (char c : data) {
    if (IsSpecial(c)) out->push_back('!');
    out->push_back(c);
  }
}

// ---------------------------------------------------------------------------------------------
// net~shs

// 1..65535 in decimal digits (leading zeros allowed, as Number() reads them).
std::optional<uint16_t> ParsePort(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v == 0 || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

// A DNS name or IPv4 address, or an IPv6 address (hex digits, ':' and '.', then an optional
// %zone). Anything else could not be dialed, or hides something in the string.
bool ValidHost(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  if (host.find(':') == std::string_view::npos) {
    for (char c : host) {
      if (!IsHostChar(c)) return false;
    }
    return true;
  }
  size_t zone = host.find('%');
  std::string_view addr = host.substr(0, zone);
  for (char c : addr) {
    if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return false;
  }
  if (zone == std::string_view::npos) return true;
  std::string_view name = host.substr(zone + 1);
  if (name.empty()) return false;
  for (char c : name) {
    if (!IsHostChar(c)) return false;
  }
  return true;
}

// net:HOST:PORT~shs:KEY, with HOST every data field but the last (IPv6 colons included).
Result<NetShsAddress> NetShsFrom(const MultiserverAddress& a) {
  const std::vector<std::string>& net = a[0].data;
  if (net.size() < 2) return Status::InvalidInput("net address needs HOST:PORT");
  NetShsAddress out;
  auto port = ParsePort(net.back());
  if (!port) {
    return Status::InvalidInput("net address has an invalid port \"" + net.back() + "\"" +
                                (net.back().empty() ? " (a trailing ':'?)" : ""));
  }
  out.port = *port;
  for (size_t i = 0; i + 1 < net.size(); ++i) {
    if (i > 0) out.host += ':';
    out.host += net[i];
  }
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  if (!ValidHost(out.host)) {
    return Status::InvalidInput("net address has an invalid host \"" + out.host + "\"");
  }
  auto key = Base64DecodeCanonical(a[1].data[0]);
  if (!key || key->size() != out.key.size()) {
    return Status::InvalidInput("shs key \"" + a[1].data[0] +
                                "\" is not canonical base64 of 32 bytes");
  }
  std::memcpy(out.key.data(), key->data(), out.key.size());
  return out;
}

// Exactly net(…)~shs(KEY): the only form we dial.
bool IsPlainNetShs(const MultiserverAddress& a) {
  return a.size() == 2 && a[0].name == "net" && a[1].name == "shs" && a[1].data.size() == 1;
}

// ---------------------------------------------------------------------------------------------
// LAN v2 JSON: exactly what JSON.stringify writes for {address}.

// JSON.stringify's string quoting.
std::string Quote(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20) {
          out += "\\u00";
          out += kHex[u >> 4];
          out += kHex[u & 15];
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string CompactJson(std::string_view address) { return "{\"address\":" + Quote(address) + "}"; }

std::string PrettyJson(std::string_view address) {
  return "{\n  \"address\": " + Quote(address) + "\n}";
}

std::optional<int> HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return std::nullopt;
}

// Reads {"address":"…"} with JSON string escapes; only ASCII can be a multiserver string, so
// \u escapes above 0x7f are refused along with everything else.
std::optional<std::string> ParseAddressJson(std::string_view json) {
  constexpr std::string_view kPrefix = "{\"address\":\"";
  if (json.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string out;
  size_t i = kPrefix.size();
  for (; i < json.size() && json[i] != '"'; ++i) {
    char c = json[i];
    if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i == json.size()) return std::nullopt;
    switch (json[i]) {
      case '"':
      case '\\':
      case '/':
        out += json[i];
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        if (json.size() - i < 5) return std::nullopt;
        int v = 0;
        for (size_t k = 1; k <= 4; ++k) {
          auto d = HexDigit(json[i + k]);
          if (!d) return std::nullopt;
          v = v * 16 + *d;
        }
        if (v > 0x7f) return std::nullopt;
        out += static_cast<char>(v);
        i += 4;
        break;
      }
      default:
        return std::nullopt;
    }
  }
  if (json.substr(i) != "\"}") return std::nullopt;
  return out;
}

// The one key every shs protocol of `tree` names; nullopt when none, or several differ.
std::optional<PublicKey> SingleShsKey(const std::vector<MultiserverAddress>& tree) {
  std::optional<PublicKey> found;
  for (const MultiserverAddress& a : tree) {
    for (const MultiserverProtocol& p : a) {
      if (p.name != "shs") continue;
      auto key = p.data.empty() ? std::nullopt : Base64DecodeCanonical(p.data[0]);
      if (!key || key->size() != 32) return std::nullopt;
      PublicKey k;
      std::memcpy(k.data(), key->data(), 32);
      if (found && *found != k) return std::nullopt;
      found = k;
    }
  }
  return found;
}

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Result<std::vector<MultiserverAddress>> ParseMultiserverTree(std::string_view text) {
  if (text.size() > kMaxMultiserverBytes) {
    return Status::LimitExceeded("multiserver address of " + std::to_string(text.size()) +
                                 " bytes exceeds the limit of " +
                                 std::to_string(kMaxMultiserverBytes));
  }
  Scanner s(text);
  std::vector<MultiserverAddress> out;
  do {
    out.emplace_back();
    SSB_RETURN_IF_ERROR(s.Address(&out.back()));
  } while (s.Take(';'));
  // Data fields stop only at ":" ";" "~" and names check what follows them, so the whole
  // text has been read here.
  if (!s.done()) return s.Error("unexpected character");
  return out;
}

std::string FormatMultiserverTree(std::span<const MultiserverAddress> addresses) {
  std::string out;
  for (size_t i = 0; i < addresses.size(); ++i) {
    if (i > 0) out += ';';
    for (size_t j = 0; j < addresses[i].size(); ++j) {
      if (j > 0) out += '~';
      out += addresses[i][j].name;
      for (const std::string& d : addresses[i][j].data) {
        out += ':';
        AppendEscaped(&out, d);
      }
    }
  }
  return out;
}

Result<std::vector<NetShsAddress>> ParseMultiserver(std::string_view text) {
  auto tree = ParseMultiserverTree(text);
  if (!tree.ok()) return tree.status();
  std::vector<NetShsAddress> out;
  std::string skipped;
  for (const MultiserverAddress& a : *tree) {
    if (!IsPlainNetShs(a)) {
      skipped += (skipped.empty() ? "" : ", ") + FormatMultiserverTree({&a, 1}).substr(0, 40);
      continue;
    }
    auto net = NetShsFrom(a);
    if (!net.ok()) return Status::InvalidInput("multiserver address: " + net.status().message());
    out.push_back(std::move(net).value());
  }
  if (out.empty()) {
    return Status::Unsupported("multiserver address: no net:HOST:PORT~shs:KEY address (found " +
                               skipped + ")");
  }
  return out;
}

Result<NetShsAddress> NetShsFromTree(const MultiserverAddress& address) {
  if (address.size() < 2 || address[0].name != "net" || address[1].name != "shs" ||
      address[1].data.empty()) {
    return Status::InvalidInput("not a net:HOST:PORT~shs:KEY address");
  }
  return NetShsFrom(address);
}

bool IsValidHost(std::string_view host) { return ValidHost(host); }

Result<TunnelAddress> ParseTunnelAddress(std::string_view text) {
  auto tree = ParseMultiserverTree(text);
  if (!tree.ok()) return tree.status();
  const std::vector<MultiserverAddress>& t = *tree;
  if (t.size() != 1 || t[0].size() != 2 || t[0][0].name != "tunnel" || t[0][1].name != "shs") {
    return Status::InvalidInput("not a tunnel:@ROOM:@TARGET~shs:KEY address");
  }
  const MultiserverProtocol& tunnel = t[0][0];
  const MultiserverProtocol& shs = t[0][1];
  if (tunnel.data.size() != 2 || shs.data.size() != 1) {
    return Status::InvalidInput("tunnel address needs tunnel:@ROOM:@TARGET~shs:KEY");
  }
  auto portal = ParseFeedId(tunnel.data[0]);
  auto target = ParseFeedId(tunnel.data[1]);
  if (!portal) return Status::InvalidInput("tunnel address: the room \"" + tunnel.data[0] + "\" is not a feed id");
  if (!target) return Status::InvalidInput("tunnel address: the target \"" + tunnel.data[1] + "\" is not a feed id");
  auto key = Base64DecodeCanonical(shs.data[0]);
  if (!key || key->size() != 32 || std::memcmp(key->data(), target->data(), 32) != 0) {
    return Status::InvalidInput("tunnel address: the shs key is not the target's");
  }
  return TunnelAddress{*portal, *target};
}

std::string FormatTunnelAddress(const TunnelAddress& address) {
  return "tunnel:" + FeedIdFromKey(address.portal) + ":" + FeedIdFromKey(address.target) +
         "~shs:" + Base64Encode(address.target);
}

Result<DialAddress> ParseDialAddress(std::string_view text) {
  auto tree = ParseMultiserverTree(text);
  if (!tree.ok()) return tree.status();
  std::string skipped;
  for (const MultiserverAddress& a : *tree) {
    DialAddress out;
    if (IsPlainNetShs(a)) {
      auto net = NetShsFrom(a);
      if (!net.ok()) return Status::InvalidInput("multiserver address: " + net.status().message());
      out.net = std::move(net).value();
      return out;
    }
    if (!a.empty() && a[0].name == "tunnel") {
      auto tunnel = ParseTunnelAddress(FormatMultiserverTree({&a, 1}));
      if (!tunnel.ok()) return tunnel.status();
      out.kind = DialAddress::Kind::kTunnel;
      out.tunnel = *tunnel;
      return out;
    }
    skipped += (skipped.empty() ? "" : ", ") + FormatMultiserverTree({&a, 1}).substr(0, 40);
  }
  return Status::Unsupported("multiserver address: no net:HOST:PORT~shs:KEY or tunnel address (found " +
                             skipped + ")");
}

std::string FormatDialAddress(const DialAddress& address) {
  return address.kind == DialAddress::Kind::kNet ? FormatAddress(address.net)
                                                 : FormatTunnelAddress(address.tunnel);
}

std::string FormatAddress(const NetShsAddress& address) {
  return "net:" + address.host + ":" + std::to_string(address.port) +
         "~shs:" + Base64Encode(address.key);
}

std::string FormatMultiserver(std::span<const NetShsAddress> addresses) {
  std::string out;
  for (const NetShsAddress& a : addresses) {
    if (!out.empty()) out += ';';
    out += FormatAddress(a);
  }
  return out;
}

Result<std::vector<NetShsAddress>> DecodeLanLegacy(std::span<const uint8_t> payload) {
  return ParseMultiserver(
      std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()));
}

// ssb-lan 1.2.3 (PROTOCOL.md §6 "LAN v2"): the secretbox nonce is the key's first 24 bytes.
Result<std::string> EncodeLanV2(std::string_view address, const Keypair& signer,
                                std::span<const uint8_t, 32> network_key) {
  auto tree = ParseMultiserverTree(address);
  if (!tree.ok()) return Status::InvalidArgument("lan: " + tree.status().message());
  auto key = SingleShsKey(*tree);
  if (!key || *key != signer.public_key()) {
    return Status::InvalidArgument("lan: the address must name the signer's key in shs");
  }
  std::string json = CompactJson(address);
  std::string out(crypto_secretbox_MACBYTES + json.size(), '\0');
  crypto_secretbox_easy(reinterpret_cast<uint8_t*>(out.data()),
                        reinterpret_cast<const uint8_t*>(json.data()), json.size(),
                        network_key.data(), network_key.data());
  Signature sig = signer.Sign(AsBytes(PrettyJson(address)));
  out.append(reinterpret_cast<const char*>(sig.data()), sig.size());
  return out;
}

Result<LanAnnouncement> DecodeLanV2(std::span<const uint8_t> payload,
                                    std::span<const uint8_t, 32> network_key) {
  CryptoInit();
  constexpr size_t kSig = 64;
  constexpr size_t kMinJson = sizeof("{\"address\":\"\"}") - 1;
  if (payload.size() > kMaxLanPayloadBytes) {
    return Status::LimitExceeded("lan: payload of " + std::to_string(payload.size()) +
                                 " bytes exceeds the limit of " +
                                 std::to_string(kMaxLanPayloadBytes));
  }
  if (payload.size() < crypto_secretbox_MACBYTES + kMinJson + kSig) {
    return Status::InvalidInput("lan: payload of " + std::to_string(payload.size()) +
                                " bytes is too short");
  }
  size_t boxed = payload.size() - kSig;
  std::string json(boxed - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<uint8_t*>(json.data()), payload.data(), boxed,
                                 network_key.data(), network_key.data()) != 0) {
    return Status::InvalidInput("lan: payload does not open (another network?)");
  }
  auto address = ParseAddressJson(json);
  if (!address) return Status::InvalidInput("lan: payload is not {\"address\":\"...\"}");
  auto tree = ParseMultiserverTree(*address);
  if (!tree.ok()) return Status::InvalidInput("lan: " + tree.status().message());
  auto key = SingleShsKey(*tree);
  if (!key) return Status::InvalidInput("lan: the address has no single shs key");
  if (!VerifySignature(*key, AsBytes(PrettyJson(*address)),
                       std::span<const uint8_t, kSig>(payload.data() + boxed, kSig))) {
    return Status::InvalidInput("lan: signature does not verify");
  }
  return LanAnnouncement{std::move(*address), *key};
}

}  // namespace ssb
