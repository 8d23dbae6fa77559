#include "ssb/status.h"

namespace ssb {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: return "invalid-argument";
    case Code::kInvalidInput: return "invalid-input";
    case Code::kInvalidMessage: return "invalid-message";
    case Code::kFork: return "fork";
    case Code::kNotFound: return "not-found";
    case Code::kIoError: return "io-error";
    case Code::kCorruption: return "corruption";
    case Code::kLimitExceeded: return "limit-exceeded";
    case Code::kUnsupported: return "unsupported";
    case Code::kBusy: return "busy";
    case Code::kNoSpace: return "no-space";
    case Code::kPermissionDenied: return "permission-denied";
    case Code::kWrongNetwork: return "wrong-network";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string out(CodeName(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

}  // namespace ssb
