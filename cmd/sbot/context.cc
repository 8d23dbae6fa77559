#include "context.h"

#include <iostream>

#include "ssb/base64.h"
#include "ssb/box.h"
#include "ssb/files.h"

namespace sbot {

int ExitCodeFor(const ssb::Status& st) {
  switch (st.code()) {
    case ssb::Code::kOk: return kExitOk;
    case ssb::Code::kInvalidArgument: return kExitUsage;
    case ssb::Code::kInvalidMessage:
    case ssb::Code::kFork: return kExitRejected;
    case ssb::Code::kNotFound: return kExitNotFound;
    case ssb::Code::kInvalidInput:
    case ssb::Code::kLimitExceeded: return kExitBadInput;
    case ssb::Code::kCorruption: return kExitCorrupt;
    case ssb::Code::kNoSpace: return kExitNoSpace;
    case ssb::Code::kBusy: return kExitTempFail;
    case ssb::Code::kWrongNetwork: return kExitRejected;
    case ssb::Code::kPermissionDenied:
    case ssb::Code::kIoError:
    case ssb::Code::kUnsupported: return kExitIo;
  }
  return kExitIo;
}

ssb::Status TakeGlobals(ssb::json::Value* options, Globals* g) {
  for (const char* key : {"path", "hmac"}) {
    const ssb::json::Value* v = options->Find(key);
    if (!v) continue;
    if (!v->is_string()) return ssb::Status::InvalidArgument(std::string("--") + key + " needs a value");
    (std::string(key) == "path" ? g->path : g->hmac) = v->as_string();
    options->Erase(key);
  }
  if (const ssb::json::Value* v = options->Find("pretty")) {
    if (!v->is_bool()) return ssb::Status::InvalidArgument("--pretty takes no value");
    g->pretty = v->as_bool();
    options->Erase("pretty");
  }
  return ssb::Status::Ok();
}

ssb::Status Context::LoadConfig() {
  auto c = ssb::LoadConfig(g_.path);
  if (!c.ok()) return c.status();
  config_ = std::move(c).value();
  for (const auto& w : ssb::ConfigWarnings(config_)) std::cerr << "sbot: warning: " << w << "\n";
  return ssb::Status::Ok();
}

ssb::Result<const ssb::Keypair*> Context::Identity() {
  if (!keys_) {
    SSB_RETURN_IF_ERROR(ssb::MakeDirs(g_.path));
    std::string warning;
    auto keys = ssb::LoadOrCreateSecretFile(g_.path + "/secret", &warning);
    if (!warning.empty()) std::cerr << "sbot: " << warning << "\n";
    if (!keys.ok()) return keys.status();
    keys_ = std::move(keys).value();
  }
  return &*keys_;
}

ssb::Result<const ssb::Keypair*> Context::ExistingIdentity() {
  if (keys_) return &*keys_;
  std::string warning;
  auto keys = ssb::LoadSecretFile(g_.path + "/secret", &warning);
  if (!keys.ok()) {
    if (keys.status().code() == ssb::Code::kNotFound) return static_cast<const ssb::Keypair*>(nullptr);
    return keys.status();
  }
  if (!warning.empty()) std::cerr << "sbot: " << warning << "\n";
  keys_ = std::move(keys).value();
  return &*keys_;
}

ssb::Result<ssb::Store*> Context::Store(bool read_only) {
  if (!store_) {
    if (!read_only) SSB_RETURN_IF_ERROR(ssb::MakeDirs(g_.path));
    ssb::StoreOptions opt;
    opt.read_only = read_only;
    auto store = ssb::Store::Open(g_.path + "/db.sqlite", opt);
    if (!store.ok()) {
      if (read_only && store.status().code() == ssb::Code::kNotFound) {
        // Reading an empty data dir is not an error: create the store so reads see nothing.
        return Store(false);
      }
      return store.status();
    }
    store_ = std::move(store).value();
  }
  return store_.get();
}

ssb::Result<ssb::BlobStore*> Context::Blobs() {
  if (!blobs_) {
    auto b = ssb::BlobStore::Open(g_.path + "/blobs");
    if (!b.ok()) return b.status();
    blobs_ = std::move(b).value();
  }
  return &*blobs_;
}

std::optional<std::string> Context::Unbox(const ssb::json::Value& content) {
  if (!content.is_string()) return std::nullopt;
  auto keys = Identity();
  if (!keys.ok()) return std::nullopt;
  return ssb::DecryptContent(content, **keys);
}

ssb::Result<ssb::ValidateOptions> Context::ValidateOptions() const {
  ssb::ValidateOptions opt;
  opt.hmac_key = config_.sign;
  if (!g_.hmac.empty()) {
    auto key = ssb::Base64DecodeCanonical(g_.hmac);
    if (!key || key->size() != 32) {
      return ssb::Status::InvalidArgument("--hmac must be canonical base64 of 32 bytes");
    }
    ssb::HmacKey k;
    std::copy(key->begin(), key->end(), k.begin());
    opt.hmac_key = k;
  }
  return opt;
}

void Context::Print(const ssb::json::Value& v) const {
  PrintRaw(g_.pretty ? ssb::json::StringifyPretty(v) : ssb::json::Stringify(v));
}

void Context::PrintRaw(const std::string& json) const {
  std::fwrite(json.data(), 1, json.size(), stdout);
  std::fputc('\n', stdout);
}

int Context::Fail(const ssb::Status& st) const {
  std::cerr << "sbot: " << st.ToString() << "\n";
  return ExitCodeFor(st);
}

}  // namespace sbot
