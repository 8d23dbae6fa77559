// Status and Result<T>: how every fallible libsync call reports failure.
// No exceptions cross the library boundary. Codes are stable: the command-line tools map them
// to documented exit codes (man/sbot.1 "EXIT STATUS").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace ssb {

// Stable error codes. Never renumber; append new codes at the end.
// "Their fault" codes (kInvalidInput, kInvalidMessage, kFork) describe bad input from a peer,
// a file or a user; "our fault" codes (kCorruption, kIoError) describe damaged local state.
enum class Code : uint8_t {
  kOk = 0,
  kInvalidArgument = 1,  // caller misuse or bad command-line value
  kInvalidInput = 2,     // untrusted bytes that do not parse (JSON, base64, file formats)
  kInvalidMessage = 3,   // a feed message that fails validation
  kFork = 4,             // two different messages at one (author, sequence)
  kNotFound = 5,
  kIoError = 6,
  kCorruption = 7,       // local data is damaged
  kLimitExceeded = 8,    // a parser or size limit was hit
  kUnsupported = 9,
  kBusy = 10,            // another process holds a lock; try later
  kNoSpace = 11,
  kPermissionDenied = 12,
  kWrongNetwork = 13,    // a bundle, want file or stick of another network (caps.shs / caps.sign)
};

// Short lower-case name of a code ("invalid-message"); stable, used in JSON output.
std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status InvalidInput(std::string m) { return {Code::kInvalidInput, std::move(m)}; }
  static Status InvalidMessage(std::string m) { return {Code::kInvalidMessage, std::move(m)}; }
  static Status Fork(std::string m) { return {Code::kFork, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status IoError(std::string m) { return {Code::kIoError, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status LimitExceeded(std::string m) { return {Code::kLimitExceeded, std::move(m)}; }
  static Status Unsupported(std::string m) { return {Code::kUnsupported, std::move(m)}; }
  static Status Busy(std::string m) { return {Code::kBusy, std::move(m)}; }
  static Status NoSpace(std::string m) { return {Code::kNoSpace, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
  static Status WrongNetwork(std::string m) { return {Code::kWrongNetwork, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid-message: sequence must be 1 on the first message"
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// Either a value or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}     // NOLINT: must not be ok
  bool ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<1>(v_);
  }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  // By value, so that `for (x : F().value())` keeps the result alive.
  T value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace ssb

// Early-return helpers for code inside libsync.
#define SSB_RETURN_IF_ERROR(expr)          \
  do {                                     \
    ::ssb::Status ssb_status_ = (expr);    \
    if (!ssb_status_.ok()) return ssb_status_; \
  } while (0)

// The same inside a coroutine (co_return); `expr` may contain co_await.
#define SSB_CO_RETURN_IF_ERROR(expr)          \
  do {                                        \
    ::ssb::Status ssb_status_ = (expr);       \
    if (!ssb_status_.ok()) co_return ssb_status_; \
  } while (0)
