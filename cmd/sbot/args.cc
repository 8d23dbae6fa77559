#include "args.h"

#include <cmath>

namespace sbot {
namespace {

ssb::json::Value ScalarFromText(const std::string& text) {
  // Numbers, booleans and null as JSON; everything else stays a string (so "007" and "1e" do).
  if (!text.empty() && (text == "true" || text == "false" || text == "null" ||
                        text[0] == '-' || (text[0] >= '0' && text[0] <= '9'))) {
    auto v = ssb::json::Parse(text);
    if (v.ok() && !v->is_array() && !v->is_object() && !v->is_string()) {
      if (!v->is_number() || std::isfinite(v->as_number())) return std::move(v).value();
    }
  }
  return ssb::json::Value::String(text);
}

ssb::Status SetPath(ssb::json::Value* root, const std::string& dotted, ssb::json::Value v) {
  ssb::json::Value* node = root;
  size_t start = 0;
  for (;;) {
    size_t dot = dotted.find('.', start);
    std::string part = dotted.substr(start, dot == std::string::npos ? dot : dot - start);
    if (part.empty()) return ssb::Status::InvalidArgument("empty option name in --" + dotted);
    if (dot == std::string::npos) {
      node->Set(part, std::move(v));
      return ssb::Status::Ok();
    }
    ssb::json::Value* next = node->Find(part);
    if (!next || !next->is_object()) {
      node->Set(part, ssb::json::Value::Object());
      next = node->Find(part);
    }
    node = next;
    start = dot + 1;
  }
}

}  // namespace

ssb::Result<VerbArgs> ParseVerbArgs(const std::vector<std::string>& tokens) {
  VerbArgs out;
  bool only_positional = false;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    if (only_positional || t.size() < 3 || t.compare(0, 2, "--") != 0) {
      if (t == "--") {
        only_positional = true;
        continue;
      }
      out.positional.push_back(t);
      continue;
    }
    // Option values become JSON text (message content, query options): refused unless UTF-8,
    // before anything can sign them. Positional arguments may be file names and stay bytes.
    SSB_RETURN_IF_ERROR(ssb::json::CheckUtf8(t, "option " + t.substr(0, t.find('='))));
    if (t.find('=') == std::string::npos && i + 1 < tokens.size() &&
        tokens[i + 1].compare(0, 2, "--") != 0) {
      SSB_RETURN_IF_ERROR(ssb::json::CheckUtf8(tokens[i + 1], "the value of " + t));
    }
    std::string name = t.substr(2);
    ssb::json::Value value;
    auto eq = name.find('=');
    if (eq != std::string::npos) {
      value = ScalarFromText(name.substr(eq + 1));
      name = name.substr(0, eq);
    } else if (name.compare(0, 3, "no-") == 0) {
      name = name.substr(3);
      value = ssb::json::Value::Bool(false);
    } else if (i + 1 < tokens.size() && tokens[i + 1].compare(0, 2, "--") != 0) {
      value = ScalarFromText(tokens[++i]);
    } else {
      value = ssb::json::Value::Bool(true);
    }
    SSB_RETURN_IF_ERROR(SetPath(&out.options, name, std::move(value)));
  }
  return out;
}

}  // namespace sbot
