// muxrpcli-style arguments: `sbot VERB [positional…] [--key value …]`, as ssb-server's command
// line reads them (minimist): `--key value` and `--key=value` set a field, a bare `--flag` is
// true, `--no-flag` is false, `--a.b x` nests ({"a":{"b":"x"}}), a value that is a JSON number,
// boolean or null is taken as that, anything else is a string.
#pragma once

#include <string>
#include <vector>

#include "ssb/feed_ops.h"
#include "ssb/json.h"
#include "ssb/status.h"

namespace sbot {

struct VerbArgs {
  std::vector<std::string> positional;
  ssb::json::Value options = ssb::json::Value::Object();
};

ssb::Result<VerbArgs> ParseVerbArgs(const std::vector<std::string>& tokens);

// Typed option readers (ssb/feed_ops.h); a present option of the wrong type is an error.
using ssb::OptBool;
using ssb::OptInt;
using ssb::OptNumber;
using ssb::OptString;

}  // namespace sbot
