// Standard base64 (RFC 4648 alphabet `A-Z a-z 0-9 + /`, with `=` padding), canonical form only.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ssb {

std::string Base64Encode(std::span<const uint8_t> bytes);

// Decodes canonical base64: length a multiple of 4, correct padding, unused low bits zero,
// no whitespace. Returns nullopt for anything else (SSB ids are compared as strings, so a
// non-canonical encoding would name the same key twice).
std::optional<std::vector<uint8_t>> Base64DecodeCanonical(std::string_view text);

// Lower-case hex, for logs and tests.
std::string HexEncode(std::span<const uint8_t> bytes);
std::optional<std::vector<uint8_t>> HexDecode(std::string_view text);

}  // namespace ssb
