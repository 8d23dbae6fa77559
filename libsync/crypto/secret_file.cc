// ~/.ssb/secret, byte-compatible with ssb-keys 8.5.0 storage.js (PROTOCOL.md §1.3).
#include <sys/stat.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "ssb/base64.h"
#include "ssb/files.h"
#include "ssb/keys.h"

namespace ssb {
namespace {

constexpr std::string_view kBanner =
    "# WARNING: Never show this to anyone.\n"
    "# WARNING: Never edit it or use it on multiple devices at once.\n"
    "#\n"
    "# This is your SECRET, it gives you magical powers. With your secret you can\n"
    "# sign your messages so that your friends can verify that the messages came\n"
    "# from you. If anyone learns your secret, they can use it to impersonate you.\n"
    "#\n"
    "# If you use this secret on more than one device you will create a fork and\n"
    "# your friends will stop replicating your content.\n"
    "#\n";

constexpr size_t kMaxSecretFile = 64 * 1024;

bool IsJsSpace(char c) {
  // The ASCII members of JavaScript's \s; the file is read as ASCII.
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// keyfile.replace(/\s*#[^\n]*/g, "").split("\n").filter(Boolean).join("")
std::string StripComments(std::string_view text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    // Find whether a run of whitespace starting here leads to '#'.
    size_t j = i;
    while (j < text.size() && IsJsSpace(text[j])) ++j;
    if (j < text.size() && text[j] == '#') {
      while (j < text.size() && text[j] != '\n') ++j;
      i = j;
      continue;
    }
    if (j > i) {
      out.append(text.substr(i, j - i));
      i = j;
    } else {
      out += text[i++];
    }
  }
  std::string joined;
  for (char c : out)
    if (c != '\n') joined += c;
  return joined;
}

std::optional<std::vector<uint8_t>> DecodeTagged(const std::string& s, std::string_view tag) {
  if (s.size() <= tag.size() || s.compare(s.size() - tag.size(), tag.size(), tag) != 0) {
    return std::nullopt;
  }
  return Base64DecodeCanonical(std::string_view(s).substr(0, s.size() - tag.size()));
}

}  // namespace

Result<Keypair> ParseSecretFile(std::string_view text) {
  if (text.size() > kMaxSecretFile) return Status::LimitExceeded("secret file is too large");
  std::string json_text = StripComments(text);
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidInput("secret file does not contain a JSON key object");
  }
  auto get = [&](const char* k) -> std::string {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string curve = get("curve");
  if (!curve.empty() && curve != "ed25519") {
    return Status::Unsupported("secret file: unsupported curve " + curve);
  }
  auto sk = DecodeTagged(get("private"), ".ed25519");
  if (!sk || sk->size() != 64) {
    return Status::InvalidInput("secret file: \"private\" is not a base64 ed25519 secret key");
  }
  auto keys = Keypair::FromSecretKey(*sk);
  std::fill(sk->begin(), sk->end(), 0);
  if (!keys.ok()) return keys.status();
  std::string pub = get("public");
  if (!pub.empty() && pub != keys->id().substr(1)) {
    return Status::InvalidInput("secret file: \"public\" does not match \"private\"");
  }
  return keys;
}

std::string FormatSecretFile(const Keypair& keys) {
  std::string id = keys.id();
  std::string out(kBanner);
  out += "{\n  \"curve\": \"ed25519\",\n  \"public\": \"" + id.substr(1) + "\",\n";
  out += "  \"private\": \"" + Base64Encode(keys.secret_key()) + ".ed25519\",\n";
  out += "  \"id\": \"" + id + "\"\n}\n";
  out += "#\n# The only part of this file that's safe to share is your public name:\n#\n#   ";
  out += id;
  return out;
}

Result<Keypair> LoadSecretFile(const std::string& path, std::string* warning) {
  // ssb-keys writes ~700 bytes; anything far larger is not a secret file (and is not read).
  ReadLimits lim;
  lim.max_bytes = 64u << 10;
  auto text = ReadFileLimited(path, lim);
  if (!text.ok()) {
    Code code = text.status().code();
    if (code == Code::kLimitExceeded || code == Code::kInvalidInput) {
      return Status::Corruption(path + " is damaged: " + text.status().message());
    }
    return text.status();
  }
  struct stat st;
  if (warning && ::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    *warning = "warning: " + path + " is readable by other users; run chmod 400 " + path;
  }
  auto keys = ParseSecretFile(*text);
  std::fill(text->begin(), text->end(), '\0');
  // Our own identity file that does not parse is damaged local data, not bad input: it must
  // not read as "a bundle failed verification" (or any other input error) to the user.
  if (!keys.ok()) return Status::Corruption(path + " is damaged: " + keys.status().message());
  return keys;
}

Status WriteSecretFile(const std::string& path, const Keypair& keys) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    return Status::InvalidArgument("refusing to overwrite existing secret " + path);
  }
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) SSB_RETURN_IF_ERROR(MakeDirs(path.substr(0, slash)));
  return WriteFileAtomic(path, FormatSecretFile(keys), 0400);
}

Result<Keypair> LoadOrCreateSecretFile(const std::string& path, std::string* warning) {
  auto keys = LoadSecretFile(path, warning);
  if (keys.ok() || keys.status().code() != Code::kNotFound) return keys;
  Keypair fresh = Keypair::Generate();
  SSB_RETURN_IF_ERROR(WriteSecretFile(path, fresh));
  return fresh;
}

}  // namespace ssb
