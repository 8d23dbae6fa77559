// The verbs on the data directory itself (no server): the same views a server answers with.
#include "verbs.h"

#include <algorithm>
#include <iostream>
#include <iterator>
#include <map>

#include "remote.h"
#include "ssb/box.h"
#include "ssb/db_view.h"
#include "ssb/feed_ops.h"
#include "ssb/files.h"
#include "ssb/friends.h"
#include "ssb/line_reader.h"
#include "ssb/message.h"
#include "ssb/node.h"
#include "ssb/ref.h"

namespace sbot {
namespace {

using ssb::json::Value;

// One item (JSON text), indented with --pretty.
void PrintItem(const Context& ctx, const std::string& text) {
  if (ctx.globals().pretty) {
    auto v = ssb::json::Parse(text, {.wtf8_input = true});
    if (v.ok()) {
      ctx.Print(*v);
      return;
    }
  }
  ctx.PrintRaw(text);
}

// All of standard input, for an argument given as "-": at most 1 MiB (a message's content is
// far smaller), so that a runaway pipe is an error, not an exhausted memory.
constexpr uint64_t kMaxStdinArgBytes = 1u << 20;
ssb::Result<std::string> ReadStdin() { return ssb::ReadFdLimited(0, "standard input", kMaxStdinArgBytes); }

ssb::Status NeedsServerForLive(const Method& m) {
  return ssb::Status::Unsupported(std::string(m.name) +
                                  ": a live stream needs a running server (start one with `sbot server`)");
}

// The views' context: the store (read-only unless `write`) and our keys.
ssb::Result<ssb::view::Context> ViewOf(Context& ctx, bool write = false) {
  auto keys = ctx.Identity();
  if (!keys.ok()) return keys.status();
  auto store = ctx.Store(!write);
  if (!store.ok()) return store.status();
  return ssb::view::Context{*store, *keys};
}

// Runs a source until it is done (or has shown what is stored, for a live one).
int Drain(Context& ctx, ssb::Result<ssb::view::SourcePtr> src) {
  if (!src.ok()) return ctx.Fail(src.status());
  std::vector<std::string> items;
  for (;;) {
    items.clear();
    auto st = (*src)->Next(512, &items);
    if (!st.ok()) return ctx.Fail(st.status());
    for (const auto& item : items) PrintItem(ctx, item);
    if (*st != ssb::view::Source::State::kMore) break;
  }
  return kExitOk;
}

}  // namespace

ssb::Result<Value> PublishContentArg(const VerbArgs& args) {
  Value content = args.options;
  if (!args.positional.empty()) {
    if (args.positional.size() > 1) {
      return ssb::Status::InvalidArgument("publish takes one JSON argument (or -) at most");
    }
    bool from_stdin = args.positional[0] == "-";
    std::string text;
    if (from_stdin) {
      auto all = ReadStdin();
      if (!all.ok()) return all.status();
      text = std::move(all).value();
    } else {
      text = args.positional[0];
    }
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

ssb::Result<Value> ContactArgs(const Method& m, const VerbArgs& args) {
  std::string name = m.name;
  if (args.positional.size() != 1 || !ssb::IsFeedId(args.positional[0], true)) {
    return ssb::Status::InvalidArgument(name + " needs one feed id (@…=.ed25519)");
  }
  bool block = name == "friends.block" || name == "friends.unblock";
  bool stop = name == "friends.unfollow" || name == "friends.unblock";
  Value content = Value::Object();
  content.Set("type", Value::String("contact"));
  content.Set("contact", Value::String(args.positional[0]));
  const Value* state = args.options.Find("state");
  content.Set(block ? "blocking" : "following", stop ? Value::Bool(false) : state ? *state : Value::Bool(true));
  if (const Value* r = args.options.Find("reason"); block && r && r->is_string()) content.Set("reason", *r);
  if (const Value* recps = args.options.Find("recps")) content.Set("recps", *recps);
  return content;
}

int LocalWhoami(Context& ctx, const Method&, const VerbArgs&) {
  auto keys = ctx.Identity();
  if (!keys.ok()) return ctx.Fail(keys.status());
  Value out = Value::Object();
  out.Set("id", Value::String((*keys)->id()));
  ctx.Print(out);
  return kExitOk;
}

namespace {

int PublishAndPrint(Context& ctx, Value content) {
  auto keys = ctx.Identity();
  if (!keys.ok()) return ctx.Fail(keys.status());
  auto store = ctx.Store();
  if (!store.ok()) return ctx.Fail(store.status());
  auto opt = ctx.ValidateOptions();
  if (!opt.ok()) return ctx.Fail(opt.status());
  auto published = ssb::PublishContent(**store, **keys, std::move(content), *opt);
  if (!published.ok()) return ctx.Fail(published.status());
  // As ssb-server's publish answers: the message as signed.
  PrintItem(ctx, ssb::view::FormatItem(ssb::view::Context{}, published->stored, ssb::view::ItemFormat{}));
  return kExitOk;
}

}  // namespace

int LocalPublish(Context& ctx, const Method&, const VerbArgs& args) {
  auto content = PublishContentArg(args);
  if (!content.ok()) return ctx.Fail(content.status());
  return PublishAndPrint(ctx, std::move(content).value());
}

int LocalContact(Context& ctx, const Method& m, const VerbArgs& args) {
  auto content = ContactArgs(m, args);
  if (!content.ok()) return ctx.Fail(content.status());
  return PublishAndPrint(ctx, std::move(content).value());
}

int LocalGet(Context& ctx, const Method& m, const VerbArgs& args) {
  auto view = ViewOf(ctx);
  if (!view.ok()) return ctx.Fail(view.status());
  Value call = CallArgs(m, args);
  Value arg = call.size() ? call.items()[0] : Value();
  bool ooo = std::string(m.name) == "ooo.get";
  if (ooo) {
    Value o = arg.is_object() ? arg : Value::Object();
    if (arg.is_string()) o.Set("id", arg);
    o.Set("meta", Value::Bool(true));
    arg = std::move(o);
  }
  auto text = ssb::view::Get(*view, arg);
  if (!text.ok()) return ctx.Fail(text.status());
  if (ooo) {
    auto v = ssb::json::Parse(*text, {.wtf8_input = true});
    if (v.ok()) {
      v->Set("ooo", Value::Bool(true));
      ctx.Print(*v);
      return kExitOk;
    }
  }
  PrintItem(ctx, *text);
  return kExitOk;
}

int LocalDel(Context& ctx, const Method&, const VerbArgs& args) {
  std::string target = args.positional.size() == 1 ? args.positional[0] : "";
  auto store = ctx.Store();
  if (!store.ok()) return ctx.Fail(store.status());
  if (ssb::IsMsgId(target)) {
    ssb::Status st = (*store)->Delete(target);
    if (!st.ok()) return ctx.Fail(st);
    ctx.PrintRaw("false");  // ssb-db's del answers nothing (muxrpc writes false)
    return kExitOk;
  }
  if (ssb::IsFeedId(target, true)) {
    auto keys = (*store)->DeleteFeed(target);
    if (!keys.ok()) return ctx.Fail(keys.status());
    Value out = Value::Array();
    for (auto& k : *keys) out.Push(Value::String(std::move(k)));
    ctx.Print(out);
    return kExitOk;
  }
  return ctx.Fail(ssb::Status::InvalidArgument("del needs a message id or a feed id"));
}

int LocalSource(Context& ctx, const Method& m, const VerbArgs& args) {
  if (WantsLive(args)) return ctx.Fail(NeedsServerForLive(m));
  auto view = ViewOf(ctx);
  if (!view.ok()) return ctx.Fail(view.status());
  std::string name = m.name;
  Value call = CallArgs(m, args);
  if (name == "createHistoryStream" && (call.size() == 0 || !call.items()[0].Find("id"))) {
    // `sbot hist` with no feed: our own.
    Value o = call.size() ? call.items()[0] : Value::Object();
    o.Set("id", Value::String(ctx.Identity().value()->id()));
    call = Value::Array();
    call.Push(std::move(o));
  }
  using Open = ssb::Result<ssb::view::SourcePtr> (*)(const ssb::view::Context&, const Value&);
  static const std::map<std::string, Open> kOpen = {
      {"createLogStream", &ssb::view::CreateLogStream},
      {"createFeedStream", &ssb::view::CreateFeedStream},
      {"createHistoryStream", &ssb::view::CreateHistoryStream},
      {"createUserStream", &ssb::view::CreateUserStream},
      {"messagesByType", &ssb::view::MessagesByType},
      {"createRawLogStream", &ssb::view::CreateRawLogStream},
      {"latest", &ssb::view::Latest},
      {"links", &ssb::view::Links},
      {"query.read", &ssb::view::QueryRead},
      {"links2.read", &ssb::view::Links2Read}};
  auto it = kOpen.find(name);
  if (it == kOpen.end()) return ctx.Fail(ssb::Status::Unsupported(name + " needs a running server"));
  return Drain(ctx, it->second(*view, call));
}

int LocalQueryExplain(Context& ctx, const Method& m, const VerbArgs& args) {
  auto view = ViewOf(ctx);
  if (!view.ok()) return ctx.Fail(view.status());
  auto out = ssb::view::QueryExplain(*view, CallArgs(m, args));
  if (!out.ok()) return ctx.Fail(out.status());
  ctx.Print(*out);
  return kExitOk;
}

int LocalFeedQuery(Context& ctx, const Method& m, const VerbArgs& args) {
  auto store = ctx.Store(true);
  if (!store.ok()) return ctx.Fail(store.status());
  std::string name = m.name;
  if (name == "getVectorClock") {
    auto clock = (*store)->Clock();
    if (!clock.ok()) return ctx.Fail(clock.status());
    Value out = Value::Object();
    for (const auto& [feed, seq] : *clock) out.Set(feed, Value::Number(static_cast<double>(seq)));
    ctx.Print(out);
    return kExitOk;
  }
  std::string id = args.positional.size() == 1 ? args.positional[0] : "";
  if (auto st = OptString(args.options, "id", &id); !st.ok()) return ctx.Fail(st);
  if (!ssb::IsFeedId(id, true)) return ctx.Fail(ssb::Status::InvalidArgument("not a feed id: " + id));
  auto f = (*store)->Feed(id);
  if (!f.ok()) return ctx.Fail(f.status());
  if (name == "latestSequence") {
    if (!f->has_value()) return ctx.Fail(ssb::Status::NotFound("not found:" + id));
    ctx.Print(Value::Number(static_cast<double>((*f)->sequence)));
  } else if (name == "getFeedState") {
    Value out = Value::Object();
    out.Set("id", f->has_value() ? Value::String((*f)->key) : Value());
    out.Set("sequence", Value::Number(f->has_value() ? static_cast<double>((*f)->sequence) : 0));
    ctx.Print(out);
  } else {  // getLatest
    auto m2 = f->has_value() ? (*store)->Get((*f)->key) : ssb::Result<ssb::StoredMessage>(ssb::Status::NotFound(""));
    if (!m2.ok()) {
      ctx.PrintRaw("false");
      return kExitOk;
    }
    std::string out = "{\"key\":";
    ssb::json::AppendQuoted(&out, m2->key);
    PrintItem(ctx, out + ",\"value\":" + m2->value_json + "}");
  }
  return kExitOk;
}

int LocalProgress(Context& ctx, const Method&, const VerbArgs&) {
  auto store = ctx.Store(true);
  if (!store.ok()) return ctx.Fail(store.status());
  auto since = (*store)->LastLogSeq();
  if (!since.ok()) return ctx.Fail(since.status());
  Value range = Value::Object();
  for (const char* k : {"start", "current", "target"}) range.Set(k, Value::Number(static_cast<double>(*since)));
  Value out = Value::Object();
  out.Set("indexes", range);
  out.Set("ooo", range);
  ctx.Print(out);
  return kExitOk;
}

int LocalStatus(Context& ctx, const Method&, const VerbArgs&) {
  auto keys = ctx.Identity();
  if (!keys.ok()) return ctx.Fail(keys.status());
  auto store = ctx.Store(true);
  if (!store.ok()) return ctx.Fail(store.status());
  auto out = ssb::StoreStatus(**store, (*keys)->id(), ctx.globals().path);
  if (!out.ok()) return ctx.Fail(out.status());
  ctx.Print(*out);
  return kExitOk;
}

int LocalVersion(Context& ctx, const Method&, const VerbArgs&) {
  ctx.Print(Value::String("scuttlesync 0.1.0"));
  return kExitOk;
}

int LocalRebuild(Context& ctx, const Method&, const VerbArgs&) {
  auto keys = ctx.Identity();
  if (!keys.ok()) return ctx.Fail(keys.status());
  auto store = ctx.Store();
  if (!store.ok()) return ctx.Fail(store.status());
  auto n = ssb::view::DecryptStored(**store, **keys, 0, /*only_undecrypted=*/false);
  if (!n.ok()) return ctx.Fail(n.status());
  ctx.PrintRaw("false");
  return kExitOk;
}

int LocalManifest(Context& ctx, const Method&, const VerbArgs&) {
  Value root = Value::Object();
  for (const Method& m : Methods()) {
    std::string type = m.type;
    if (type == "local") continue;
    std::string name = m.name;
    Value* node = &root;
    size_t start = 0;
    for (;;) {
      size_t dot = name.find('.', start);
      std::string part = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (dot == std::string::npos) {
        node->Set(part, Value::String(type));
        break;
      }
      if (!node->Find(part)) node->Set(part, Value::Object());
      node = node->Find(part);
      start = dot + 1;
    }
  }
  ctx.Print(root);
  return kExitOk;
}

int LocalHelp(Context& ctx, const Method& m, const VerbArgs& args) {
  std::string name = m.name;
  std::string ns = name == "help" ? "" : name.substr(0, name.find('.'));
  std::string only = name == "help" && !args.positional.empty() ? args.positional[0] : "";
  if (!only.empty()) {
    const Method* one = FindMethod(only);
    if (!one) return ctx.Fail(ssb::Status::InvalidArgument("unknown verb '" + only + "' (sbot help lists them)"));
    std::printf("sbot %s  (%s%s)\n  %s\n", one->name, one->type, one->local ? "" : ", needs a running server",
                one->help);
    return kExitOk;
  }
  if (ns.empty()) {
    std::printf("sbot [--path DIR] [--pretty] VERB [ARG…] [--key value…]\n\n"
                "Every method of ssb-server's API is a verb; sources print one JSON document per line,\n"
                "async methods one. While `sbot server` runs, verbs go through it; without one, verbs\n"
                "marked * need it. Aliases:");
    for (const auto& [alias, verb] : Aliases()) std::printf(" %s=%s", alias, verb);
    std::printf("\n\n");
  }
  for (const Method& v : Methods()) {
    std::string n = v.name;
    if (!ns.empty() && n.compare(0, ns.size() + 1, ns + ".") != 0) continue;
    std::printf("  %-28s %-7s %s%s\n", v.name, v.type, v.local ? "" : "* ", v.help);
  }
  return kExitOk;
}

int LocalConfig(Context& ctx, const Method&, const VerbArgs&) {
  auto c = ssb::LoadNodeConfig(ctx.globals().path);
  if (!c.ok()) return ctx.Fail(c.status());
  Value out = Value::Object();
  out.Set("path", Value::String(c->data_dir));
  out.Set("host", Value::String(c->host));
  out.Set("port", Value::Number(c->port));
  Value friends = Value::Object();
  friends.Set("hops", Value::Number(c->hops));
  out.Set("friends", std::move(friends));
  out.Set("lan", Value::Bool(c->lan));
  out.Set("ebt", Value::Bool(c->ebt));
  Value seeds = Value::Array();
  for (const auto& s : c->seeds) seeds.Push(Value::String(s));
  out.Set("seeds", std::move(seeds));
  ctx.Print(out);
  return kExitOk;
}

int LocalFriends(Context& ctx, const Method& m, const VerbArgs& args) {
  if (WantsLive(args)) return ctx.Fail(NeedsServerForLive(m));
  auto keys = ctx.Identity();
  if (!keys.ok()) return ctx.Fail(keys.status());
  auto store = ctx.Store(true);
  if (!store.ok()) return ctx.Fail(store.status());
  auto config = ssb::LoadNodeConfig(ctx.globals().path);
  if (!config.ok()) return ctx.Fail(config.status());
  ssb::FriendsGraph g((*keys)->id(), config->hops);
  auto updated = g.Update(**store);
  if (!updated.ok()) return ctx.Fail(updated.status());
  std::string name = m.name;
  Value call = CallArgs(m, args);
  Value o = call.size() && call.items()[0].is_object() ? call.items()[0] : Value::Object();
  auto str = [&](const char* k) {
    const Value* v = o.Find(k);
    return v && v->is_string() ? v->as_string() : std::string();
  };
  if (name == "friends.hops" || name == "friends.hopStream" || name == "friends.createFriendStream") {
    std::optional<std::string> start;
    if (!str("start").empty()) start = str("start");
    std::optional<double> max;
    if (const Value* x = o.Find("max"); x && x->is_number()) max = x->as_number();
    const Value* rev = o.Find("reverse");
    Value hops = g.Hops(start, max, rev && rev->is_bool() && rev->as_bool());
    if (name != "friends.createFriendStream") {
      ctx.Print(hops);
      return kExitOk;
    }
    const Value* meta = o.Find("meta");
    for (size_t i = 0; i < hops.size(); ++i) {
      if (hops.items()[i].as_number() < 0) continue;
      if (meta && meta->is_bool() && meta->as_bool()) {
        Value e = Value::Object();
        e.Set("id", Value::String(hops.keys()[i]));
        e.Set("hops", hops.items()[i]);
        ctx.Print(e);
      } else {
        ctx.Print(Value::String(hops.keys()[i]));
      }
    }
    return kExitOk;
  }
  if (name == "friends.isFollowing") {
    ctx.Print(Value::Bool(g.IsFollowing(str("source"), str("dest"))));
  } else if (name == "friends.isBlocking") {
    ctx.Print(Value::Bool(g.IsBlocking(str("source"), str("dest"))));
  } else {  // friends.get
    Value v = g.Get(o);
    ctx.Print(v.is_null() ? Value::Bool(false) : v);
  }
  return kExitOk;
}

// private.unbox: a message id, a message value (JSON) or a "…box" string; prints the content.
int LocalPrivateUnbox(Context& ctx, const Method&, const VerbArgs& args) {
  if (args.positional.size() != 1) {
    return ctx.Fail(ssb::Status::InvalidArgument("private.unbox takes one argument: MSGID, a message JSON or a box string"));
  }
  std::string arg = args.positional[0];
  if (arg == "-") {
    auto all = ReadStdin();
    if (!all.ok()) return ctx.Fail(all.status());
    arg = std::move(all).value();
  }
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
