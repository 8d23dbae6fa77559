#include "verbs.h"
#include "remote.h"

#include <chrono>
#include <cmath>
#include <iostream>
#include <iterator>
#include <algorithm>
#include <map>

#include "ssb/box.h"
#include "ssb/feed_ops.h"
#include "ssb/message.h"
#include "ssb/ref.h"

namespace sbot {
namespace {

using ssb::json::Value;

using ssb::MessageFormat;
using ssb::NowMs;

// One stream item as ssb-server prints it (ssb::FormatMessage), indented with --pretty.
void PrintMessage(const Context& ctx, const ssb::StoredMessage& m, const MessageFormat& f) {
  std::string out = ssb::FormatMessage(m, f);
  if (ctx.globals().pretty) {
    auto v = ssb::json::Parse(out);
    if (v.ok()) out = ssb::json::StringifyPretty(*v);
  }
  ctx.PrintRaw(out);
}

// Reads all of stdin.
std::string ReadStdin() {
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

}  // namespace

// Content for publish: a JSON argument, "-" for JSON on stdin, or --key value options.
ssb::Result<Value> PublishContentArg(const VerbArgs& args) {
  Value content = args.options;
  if (!args.positional.empty()) {
    if (args.positional.size() > 1) {
      return ssb::Status::InvalidArgument("publish takes one JSON argument (or -) at most");
    }
    bool from_stdin = args.positional[0] == "-";
    std::string text = from_stdin ? ReadStdin() : args.positional[0];
    // Checked, not silently decoded with U+FFFD: this text is about to be signed as ours.
    SSB_RETURN_IF_ERROR(ssb::json::CheckUtf8(text, from_stdin ? "standard input" : "the JSON argument"));
    auto v = ssb::json::Parse(text);
    if (!v.ok()) return ssb::Status::InvalidArgument("content: " + v.status().message());
    if (!v->is_object()) return ssb::Status::InvalidArgument("content must be a JSON object");
    content = std::move(v).value();
    // Options still add to or override fields of the JSON content.
    for (size_t i = 0; i < args.options.size(); ++i) {
      content.Set(args.options.keys()[i], args.options.items()[i]);
    }
  }
  if (!content.Find("type")) {
    return ssb::Status::InvalidArgument("content needs a type (--type post)");
  }
  return content;
}

int Whoami(Context& ctx, const VerbArgs&) {
  auto keys = ctx.Identity();
  if (!keys.ok()) return ctx.Fail(keys.status());
  Value out = Value::Object();
  out.Set("id", Value::String((*keys)->id()));
  ctx.Print(out);
  return kExitOk;
}

// NDJSON message values or {key, value, ...} objects on stdin; each checked against the
// previous message of its feed seen earlier in the same input.
int Validate(Context& ctx, const VerbArgs& args) {
  auto opt = ctx.ValidateOptions();
  if (!opt.ok()) return ctx.Fail(opt.status());
  bool strict = false;
  if (auto st = OptBool(args.options, "strict", &strict); !st.ok()) return ctx.Fail(st);
  if (strict) opt->mode = ssb::ValidationMode::kStrict;
  std::map<std::string, ssb::FeedState, std::less<>> feeds;
  std::string line;
  size_t total = 0, invalid = 0;
  while (std::getline(std::cin, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++total;
    Value out = Value::Object();
    auto parsed = ssb::json::Parse(line, ssb::MessageParseLimits());
    if (!parsed.ok()) {
      ++invalid;
      out.Set("valid", Value::Bool(false));
      out.Set("error", Value::String(parsed.status().message()));
      ctx.Print(out);
      continue;
    }
    Value value = std::move(parsed).value();
    if (value.is_object() && !value.Find("author") && value.Find("value")) {
      Value inner = *value.Find("value");  // a {key, value, timestamp} wrapper
      value = std::move(inner);
    }
    ssb::Message msg = ssb::Message::FromValue(std::move(value));
    std::string author(msg.author());
    auto it = feeds.find(author);
    const ssb::FeedState* prev = it == feeds.end() ? nullptr : &it->second;
    ssb::FeedState assumed;
    auto seq = msg.sequence();
    if (!prev && seq && *seq > 1) {
      // The input starts in the middle of this feed: trust the link to the unseen predecessor.
      assumed = {std::string(msg.previous()), *seq - 1};
      prev = &assumed;
      out.Set("note", Value::String("previous message not in the input"));
    }
    ssb::Status st = ssb::Validate(msg, prev, *opt);
    out.Set("key", Value::String(msg.id()));
    out.Set("valid", Value::Bool(st.ok()));
    if (st.ok()) {
      feeds[author] = {msg.id(), *seq};
    } else {
      ++invalid;
      out.Set("error", Value::String(st.message()));
    }
    ctx.Print(out);
  }
  if (invalid) {
    std::cerr << "sbot: " << invalid << " of " << total << " messages are invalid\n";
    return kExitRejected;
  }
  return kExitOk;
}

int Publish(Context& ctx, const VerbArgs& args) {
  auto content = PublishContentArg(args);
  if (!content.ok()) return ctx.Fail(content.status());
  auto keys = ctx.Identity();
  if (!keys.ok()) return ctx.Fail(keys.status());
  auto store = ctx.Store();
  if (!store.ok()) return ctx.Fail(store.status());
  auto opt = ctx.ValidateOptions();
  if (!opt.ok()) return ctx.Fail(opt.status());
  auto stored = ssb::PublishContent(**store, **keys, std::move(content).value(), *opt);
  if (!stored.ok()) return ctx.Fail(stored.status());
  PrintMessage(ctx, *stored, MessageFormat{});
  return kExitOk;
}

int Contact(Context& ctx, const VerbArgs& args, const char* field, bool value) {
  if (args.positional.size() != 1 || !ssb::IsFeedId(args.positional[0], true)) {
    return ctx.Fail(ssb::Status::InvalidArgument("give one feed id (@…=.ed25519)"));
  }
  Value content = Value::Object();
  content.Set("type", Value::String("contact"));
  content.Set("contact", Value::String(args.positional[0]));
  content.Set(field, Value::Bool(value));
  if (std::string(field) == "blocking" && value) content.Set("following", Value::Bool(false));
  auto keys = ctx.Identity();
  if (!keys.ok()) return ctx.Fail(keys.status());
  auto store = ctx.Store();
  if (!store.ok()) return ctx.Fail(store.status());
  auto opt = ctx.ValidateOptions();
  if (!opt.ok()) return ctx.Fail(opt.status());
  auto stored = ssb::PublishContent(**store, **keys, std::move(content), *opt);
  if (!stored.ok()) return ctx.Fail(stored.status());
  PrintMessage(ctx, *stored, MessageFormat{});
  return kExitOk;
}

int History(Context& ctx, const VerbArgs& args) {
  ssb::HistoryQuery q;
  MessageFormat f;
  const Value& o = args.options;
  q.author = args.positional.empty() ? "" : args.positional[0];
  ssb::Status st = OptString(o, "id", &q.author);
  if (st.ok()) st = OptInt(o, "sequence", &q.start_seq);
  if (st.ok()) st = OptInt(o, "seq", &q.start_seq);
  if (st.ok()) st = OptInt(o, "limit", &q.limit);
  if (st.ok()) st = OptBool(o, "reverse", &q.reverse);
  if (st.ok()) st = ssb::ReadMessageFormat(o, &f);
  if (st.ok() && q.author.empty()) {
    auto keys = ctx.Identity();
    if (!keys.ok()) return ctx.Fail(keys.status());
    q.author = (*keys)->id();  // like `sbot hist` with no feed: our own
  }
  if (st.ok() && !ssb::IsFeedId(q.author, true)) {
    st = ssb::Status::InvalidArgument("not a feed id: " + q.author);
  }
  if (!st.ok()) return ctx.Fail(st);
  auto store = ctx.Store(true);
  if (!store.ok()) return ctx.Fail(store.status());
  st = (*store)->History(q, [&](const ssb::StoredMessage& m) {
    PrintMessage(ctx, m, f);
    return true;
  });
  return st.ok() ? kExitOk : ctx.Fail(st);
}

namespace {
using RangeFn = ssb::Status (ssb::Store::*)(const ssb::RangeQuery&, const ssb::MessageVisitor&);

int RangeVerb(Context& ctx, const VerbArgs& args, RangeFn fn) {
  ssb::RangeQuery q;
  MessageFormat f;
  ssb::Status st = ssb::ReadRangeArgs(args.options, &q);
  if (st.ok()) st = ssb::ReadMessageFormat(args.options, &f);
  if (!st.ok()) return ctx.Fail(st);
  auto store = ctx.Store(true);
  if (!store.ok()) return ctx.Fail(store.status());
  st = ((**store).*fn)(q, [&](const ssb::StoredMessage& m) {
    PrintMessage(ctx, m, f);
    return true;
  });
  return st.ok() ? kExitOk : ctx.Fail(st);
}
}  // namespace

int FeedStream(Context& ctx, const VerbArgs& args) {
  return RangeVerb(ctx, args, &ssb::Store::FeedStream);
}

int LogStream(Context& ctx, const VerbArgs& args) {
  return RangeVerb(ctx, args, &ssb::Store::LogStream);
}

int ByType(Context& ctx, const VerbArgs& args) {
  std::string type = args.positional.empty() ? "" : args.positional[0];
  ssb::RangeQuery q;
  MessageFormat f;
  ssb::Status st = OptString(args.options, "type", &type);
  if (st.ok()) st = ssb::ReadRangeArgs(args.options, &q);
  if (st.ok()) st = ssb::ReadMessageFormat(args.options, &f);
  if (st.ok() && type.empty()) st = ssb::Status::InvalidArgument("messagesByType needs a type");
  if (!st.ok()) return ctx.Fail(st);
  auto store = ctx.Store(true);
  if (!store.ok()) return ctx.Fail(store.status());
  st = (*store)->ByType(type, q, [&](const ssb::StoredMessage& m) {
    PrintMessage(ctx, m, f);
    return true;
  });
  return st.ok() ? kExitOk : ctx.Fail(st);
}

int Get(Context& ctx, const VerbArgs& args) {
  std::string id = args.positional.empty() ? "" : args.positional[0];
  if (auto st = OptString(args.options, "id", &id); !st.ok()) return ctx.Fail(st);
  if (!ssb::IsMsgId(id)) return ctx.Fail(ssb::Status::InvalidArgument("not a message id: " + id));
  auto store = ctx.Store(true);
  if (!store.ok()) return ctx.Fail(store.status());
  auto m = (*store)->Get(id);
  if (!m.ok()) return ctx.Fail(m.status());
  // ssb-server's get returns the value alone.
  MessageFormat f;
  f.keys = false;
  PrintMessage(ctx, *m, f);
  return kExitOk;
}

// Message values or {key, value} objects, one per line on stdin: validate and store each, in
// batches (one transaction each), one result line per message.
int Add(Context& ctx, const VerbArgs& args) {
  auto opt = ctx.ValidateOptions();
  if (!opt.ok()) return ctx.Fail(opt.status());
  int64_t batch_size = 1000;
  if (auto st = OptInt(args.options, "batch", &batch_size); !st.ok()) return ctx.Fail(st);
  if (batch_size < 1) batch_size = 1;
  auto store = ctx.Store();
  if (!store.ok()) return ctx.Fail(store.status());
  ssb::AppendOptions aopt;
  aopt.validate = *opt;
  aopt.verify_threads = 0;  // verify on every core ahead of the writer
  size_t rejected = 0, appended = 0, duplicates = 0;

  struct Pending {
    std::optional<ssb::Message> msg;
    ssb::Status parse_error;
  };
  std::vector<Pending> pending;
  auto flush = [&]() -> ssb::Status {
    std::vector<ssb::Message> msgs;
    for (auto& p : pending)
      if (p.msg) msgs.push_back(std::move(*p.msg));
    auto outcomes = (*store)->AppendBatch(msgs, aopt);
    if (!outcomes.ok()) return outcomes.status();
    // Private messages we can read are decrypted once, on arrival.
    for (size_t i = 0; i < msgs.size(); ++i) {
      if ((*outcomes)[i].kind != ssb::AppendKind::kAppended || !msgs[i].is_encrypted()) continue;
      if (auto plain = ctx.Unbox(*msgs[i].content())) {
        SSB_RETURN_IF_ERROR((*store)->SetPlaintext(msgs[i].id(), plain));
      }
    }
    size_t k = 0;
    for (auto& p : pending) {
      Value out = Value::Object();
      if (!p.parse_error.ok()) {
        ++rejected;
        out.Set("error", Value::String(p.parse_error.ToString()));
        ctx.Print(out);
        continue;
      }
      const ssb::AppendOutcome& o = (*outcomes)[k++];
      out.Set("key", Value::String(o.key));
      switch (o.kind) {
        case ssb::AppendKind::kAppended:
          ++appended;
          out.Set("stored", Value::Bool(true));
          break;
        case ssb::AppendKind::kDuplicate:
          ++duplicates;
          out.Set("stored", Value::Bool(true));
          out.Set("duplicate", Value::Bool(true));
          break;
        case ssb::AppendKind::kRejected:
          ++rejected;
          out.Set("stored", Value::Bool(false));
          out.Set("error", Value::String(o.status.ToString()));
          if (o.fork_recorded) out.Set("fork", Value::Bool(true));
          break;
      }
      ctx.Print(out);
    }
    pending.clear();
    return ssb::Status::Ok();
  };

  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Pending p;
    auto parsed = ssb::json::Parse(line, ssb::MessageParseLimits());
    if (!parsed.ok()) {
      p.parse_error = parsed.status();
    } else {
      Value v = std::move(parsed).value();
      if (v.is_object() && !v.Find("author") && v.Find("value")) {
        Value inner = *v.Find("value");
        v = std::move(inner);
      }
      p.msg = ssb::Message::FromValue(std::move(v));
    }
    pending.push_back(std::move(p));
    if (static_cast<int64_t>(pending.size()) >= batch_size) {
      if (auto st = flush(); !st.ok()) return ctx.Fail(st);
    }
  }
  if (auto st = flush(); !st.ok()) return ctx.Fail(st);
  std::cerr << "sbot: " << appended << " stored, " << duplicates << " already present, "
            << rejected << " rejected\n";
  return rejected ? kExitRejected : kExitOk;
}

int StatusVerb(Context& ctx, const VerbArgs&) {
  auto keys = ctx.Identity();
  if (!keys.ok()) return ctx.Fail(keys.status());
  auto store = ctx.Store(true);
  if (!store.ok()) return ctx.Fail(store.status());
  auto out = ssb::StoreStatus(**store, (*keys)->id(), ctx.globals().path);
  if (!out.ok()) return ctx.Fail(out.status());
  ctx.Print(*out);
  return kExitOk;
}

}  // namespace sbot

namespace sbot {

// private.unbox: a message id, a message value (JSON) or a "…box" string; prints the content.
int PrivateUnbox(Context& ctx, const VerbArgs& args) {
  if (args.positional.size() != 1) {
    return ctx.Fail(ssb::Status::InvalidArgument("private.unbox takes one argument: MSGID, a message JSON or a box string"));
  }
  std::string arg = args.positional[0] == "-" ? ReadStdin() : args.positional[0];
  while (!arg.empty() && (arg.back() == '\n' || arg.back() == '\r')) arg.pop_back();
  Value content;
  if (ssb::IsMsgId(arg)) {
    auto store = ctx.Store(true);
    if (!store.ok()) return ctx.Fail(store.status());
    auto m = (*store)->Get(arg);
    if (!m.ok()) return ctx.Fail(m.status());
    auto v = ssb::json::Parse(m->value_json);
    if (!v.ok()) return ctx.Fail(v.status());
    content = *v->Find("content");
  } else if (!arg.empty() && arg[0] == '{') {
    auto v = ssb::json::Parse(arg);
    if (!v.ok()) return ctx.Fail(ssb::Status::InvalidInput(v.status().message()));
    const Value* c = v->Find("value") && !v->Find("author") ? v->Find("value")->Find("content")
                                                             : v->Find("content");
    if (!c) return ctx.Fail(ssb::Status::InvalidInput("no content in that message"));
    content = *c;
  } else {
    content = Value::String(arg);
  }
  auto plain = ctx.Unbox(content);
  if (!plain) return ctx.Fail(ssb::Status::NotFound("not encrypted for this identity (or not a box)"));
  auto v = ssb::json::Parse(*plain);
  ctx.Print(*v);
  return kExitOk;
}

}  // namespace sbot
