// Multiserver addresses and LAN discovery payloads (PROTOCOL.md §6).
//
// Grammar (multiserver-address 1.0.1):
//   multiaddress = address (";" address)*        several ways to reach one peer
//   address      = protocol ("~" protocol)*      transport, then its wrappers
//   protocol     = name (":" data)*              name = [a-z][a-z0-9-]+
//   data         = printable ASCII 0x21..0x7D except ":" ";" ("~" is 0x7E), with "!" escaping
//                  "!" ":" ";" "~"
// The address SSB peers dial over TCP is `net:HOST:PORT~shs:KEY`, KEY the server's ed25519 key
// in base64 (no "@", no ".ed25519"). The port is the last data field of `net`, so an IPv6 host
// is written with its colons: `net:fe80::1:8008~shs:…` (`net:[fe80::1]:8008` is read too).
//
// Sans-IO: pure functions over strings and bytes; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ssb/keys.h"
#include "ssb/status.h"

namespace ssb {

// Longer multiserver strings are refused (kLimitExceeded). Real ones are under 200 bytes.
inline constexpr size_t kMaxMultiserverBytes = 2048;
// Largest LAN datagram accepted: an address of the maximum size with every byte JSON-escaped,
// plus the JSON wrapper, the secretbox MAC and the signature.
inline constexpr size_t kMaxLanPayloadBytes = 2 * kMaxMultiserverBytes + 128;
inline constexpr uint16_t kDefaultNetPort = 8008;  // ssb-server's TCP port
inline constexpr uint16_t kLanLegacyPort = 8008;   // ssb-local, ssb-lan legacy mode
inline constexpr uint16_t kLanV2Port = 26830;      // ssb-lan 1.2.3 encrypted mode

// ---------------------------------------------------------------------------------------------
// The generic parse tree

struct MultiserverProtocol {
  std::string name;
  std::vector<std::string> data;  // unescaped
  bool operator==(const MultiserverProtocol&) const = default;
};
using MultiserverAddress = std::vector<MultiserverProtocol>;  // at least one protocol

// Parses a multiaddress into its addresses, like multiserver-address's decode. Error:
// kInvalidInput naming the offending offset (empty input, empty protocol, bad name, a
// character outside the data set, a "!" not followed by one of "!:;~"); kLimitExceeded.
Result<std::vector<MultiserverAddress>> ParseMultiserverTree(std::string_view text);
// The inverse, escaping "!:;~" inside data fields.
std::string FormatMultiserverTree(std::span<const MultiserverAddress> addresses);

// ---------------------------------------------------------------------------------------------
// net~shs addresses

struct NetShsAddress {
  std::string host;  // DNS name, IPv4 or IPv6 (without brackets)
  uint16_t port = 0;
  PublicKey key{};  // the server's long-term key, for ShsClient
  bool operator==(const NetShsAddress&) const = default;
};

// The `net:HOST:PORT~shs:KEY` addresses of a multiaddress, in order. Addresses of other
// transports (ws, wss, onion, tunnel, net without shs) and net~shs ones with anything more
// (a further wrapper, an invite seed after the key) are skipped.
// Error: what ParseMultiserverTree reports; kInvalidInput for a net~shs address with a bad
// host, port (1..65535) or key (canonical base64 of 32 bytes); kUnsupported when nothing is
// left after skipping, naming what was found.
Result<std::vector<NetShsAddress>> ParseMultiserver(std::string_view text);
// "net:HOST:PORT~shs:KEY". REQUIRES: a host ParseMultiserver would accept.
std::string FormatAddress(const NetShsAddress& address);
// The addresses joined with ";".
std::string FormatMultiserver(std::span<const NetShsAddress> addresses);

// The net~shs address of one parsed address that starts net:HOST:PORT~shs:KEY, whatever follows
// the key in shs (an invite's seed) or after it. Error: kInvalidInput for a bad host, port or
// key, or when `address` does not start with net then shs.
Result<NetShsAddress> NetShsFromTree(const MultiserverAddress& address);
// A host ParseMultiserver accepts: a DNS name, IPv4, or IPv6 with an optional %zone.
bool IsValidHost(std::string_view host);

// ---------------------------------------------------------------------------------------------
// Tunnels through a room (ssb-room-client 2.0.2, PROTOCOL.md §6 "Rooms")
//
//   tunnel:@PORTAL.ed25519:@TARGET.ed25519~shs:TARGETKEY
//
// PORTAL is the room's id, TARGET the attendant reached through it; the shs key must be the
// target's (the handshake inside the tunnel authenticates the target, not the room).

struct TunnelAddress {
  PublicKey portal{};  // the room
  PublicKey target{};  // the attendant
  bool operator==(const TunnelAddress&) const = default;
};

// Error: what ParseMultiserverTree reports; kInvalidInput when it is not exactly
// tunnel:PORTAL:TARGET~shs:KEY with two feed ids and KEY equal to the target's key.
Result<TunnelAddress> ParseTunnelAddress(std::string_view text);
std::string FormatTunnelAddress(const TunnelAddress& address);

// An address we can dial: over TCP, or through a room we are connected to.
struct DialAddress {
  enum class Kind : uint8_t { kNet, kTunnel };
  Kind kind = Kind::kNet;
  NetShsAddress net;       // kNet
  TunnelAddress tunnel;    // kTunnel
  // The key of the peer this address reaches (the shs key).
  const PublicKey& key() const { return kind == Kind::kNet ? net.key : tunnel.target; }
  bool operator==(const DialAddress&) const = default;
};

// The first net~shs or tunnel~shs address of a multiaddress. Error: as ParseMultiserver
// (kUnsupported when neither kind is present).
Result<DialAddress> ParseDialAddress(std::string_view text);
// FormatAddress or FormatTunnelAddress.
std::string FormatDialAddress(const DialAddress& address);

// ---------------------------------------------------------------------------------------------
// LAN discovery

// Legacy (ssb-local, ssb-lan legacy mode): the UDP payload is the multiserver string itself,
// so encoding is FormatMultiserver. Decoding is ParseMultiserver over the datagram, refused
// with kLimitExceeded above kMaxMultiserverBytes.
Result<std::vector<NetShsAddress>> DecodeLanLegacy(std::span<const uint8_t> payload);

// ssb-lan v2: secretbox(JSON.stringify({address}), nonce = K[0..24], key = K) followed by the
// 64-byte ed25519 signature of JSON.stringify({address}, null, 2), K the network key.
// Deterministic: the same inputs give the same bytes.
//
// Error: kInvalidArgument when `address` is not a multiserver string of at most
// kMaxMultiserverBytes, has no shs key, or has an shs key other than the signer's.
Result<std::string> EncodeLanV2(std::string_view address, const Keypair& signer,
                                std::span<const uint8_t, 32> network_key);

struct LanAnnouncement {
  std::string address;  // the multiserver string, signature verified
  PublicKey key{};      // who signed it: the key of every shs protocol in `address`
};
// Opens and verifies a v2 datagram. The JSON must be exactly what ssb-lan writes,
// {"address":"..."}. Error: kLimitExceeded above kMaxLanPayloadBytes; kInvalidInput when it is
// too short, does not open (another network), is not that JSON, holds an invalid multiserver
// string, has no shs key or several different ones, or the signature does not verify.
Result<LanAnnouncement> DecodeLanV2(std::span<const uint8_t> payload,
                                    std::span<const uint8_t, 32> network_key);

}  // namespace ssb
