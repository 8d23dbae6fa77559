// Redeeming a pub invite: the network half of ssb-invite 2.1.8's accept (PROTOCOL.md §6).
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <string>

#include "ssb/invite.h"
#include "ssb/json.h"
#include "ssb/shs.h"
#include "ssb/status.h"

namespace ssb::net {

struct RedeemOptions {
  NetworkKey network_key = kMainNetKey;
  int attempts = 3;                             // ssb-invite retries 3 times
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds call_timeout{30000};  // for the pub's answer
};

// Dials the pub with the code's guest key, calls invite.use({feed}) once, closes, and returns
// the pub's answer (ssb-invite answers with its follow message as {key, value, timestamp}).
// Unreachable pubs are retried (attempts, 0.5 s apart and growing); a refusal is not.
// Errors: kIoError (cannot reach the pub, or no answer in time); kInvalidInput (the handshake
// failed: another network, or the pub is not the key the code names); kPermissionDenied (the
// pub refused: the code is used up, expired or not one of its own, or it follows `feed`
// already; its reason is included).
asio::awaitable<Result<json::Value>> RedeemInvite(const InviteCode& code, const std::string& feed,
                                                  const RedeemOptions& options = {});

}  // namespace ssb::net
