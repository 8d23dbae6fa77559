// sbot: the scuttlesync server's command line, in ssb-server's style (muxrpcli): every method
// of ssb-server's API is a verb.
//   sbot [--path DIR] [--pretty] [--hmac KEY] VERB [ARG…] [--key value…]
// While a server runs on the data dir, a verb is a call on its owner socket; without one, the
// verbs that can work on the data dir itself do (the same views, the same output), and the
// others say they need a server.
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "args.h"
#include "context.h"
#include "methods.h"
#include "migrate.h"
#include "remote.h"
#include "verbs.h"

namespace {

std::string DefaultPath() {
  if (const char* p = std::getenv("SSB_PATH"); p && *p) return p;
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.ssb";
  return ".ssb";
}

int Usage(const std::string& why) {
  std::cerr << "sbot: " << why << "\n"
            << "usage: sbot [--path DIR] [--pretty] [--hmac KEY] VERB [ARG…] [--key value…]  "
               "(`sbot help` lists the verbs)\n";
  return sbot::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  if (!ssb::CryptoInit()) {
    std::cerr << "sbot: libsodium failed to initialise\n";
    return sbot::kExitIo;
  }
  sbot::Globals g;
  g.path = DefaultPath();
  // Global options, then the verb; everything after the verb is the verb's.
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name, std::string* out) -> bool {
      std::string eq = std::string(name) + "=";
      if (a == name) {
        if (i + 1 >= argc) return false;
        *out = argv[++i];
        return true;
      }
      if (a.compare(0, eq.size(), eq) == 0) {
        *out = a.substr(eq.size());
        return true;
      }
      return false;
    };
    if (a == "--pretty") {
      g.pretty = true;
    } else if (a == "--path" || a.compare(0, 7, "--path=") == 0) {
      if (!value("--path", &g.path)) return Usage("--path needs a directory");
    } else if (a == "--hmac" || a.compare(0, 7, "--hmac=") == 0) {
      if (!value("--hmac", &g.hmac)) return Usage("--hmac needs a key");
    } else if (a == "--help" || a == "-h") {
      sbot::Context ctx(g);
      return sbot::LocalHelp(ctx, *sbot::FindMethod("help"), sbot::VerbArgs{});
    } else if (!a.empty() && a[0] == '-') {
      return Usage("unknown option " + a + " before the verb");
    } else {
      break;
    }
  }
  if (i >= argc) return Usage("a verb is required");
  std::string verb = argv[i];
  const sbot::Method* m = sbot::FindMethod(verb);
  if (!m) return Usage("unknown verb '" + verb + "'");
  std::vector<std::string> tokens(argv + i + 1, argv + argc);
  auto args = sbot::ParseVerbArgs(tokens);
  if (!args.ok()) return sbot::Context(g).Fail(args.status());
  if (const auto* help = args->options.Find("help"); help && help->is_bool() && help->as_bool()) {
    sbot::VerbArgs one;
    one.positional.push_back(m->name);
    sbot::Context ctx(g);
    return sbot::LocalHelp(ctx, *sbot::FindMethod("help"), one);
  }
  // Global options may also follow the verb, as in `sbot feed --pretty`.
  ssb::Status st = sbot::TakeGlobals(&args->options, &g);
  sbot::Context ctx(g);
  if (!st.ok()) return ctx.Fail(st);
  // One reader of DATADIR/config for every verb (and the server): a bad one stops them all.
  if (st = ctx.LoadConfig(); !st.ok()) return ctx.Fail(st);

  std::string name = m->name;
  // Switching from ssb-server or an ssb-db2 app: their log is imported before anything else.
  if (int code = sbot::MigrateOnFirstUse(ctx, name); code != sbot::kExitOk) return code;
  bool cli_only = std::string(m->type) == "local" && !m->remote;
  if (name != "help" && !cli_only) {
    if (auto code = sbot::RunThroughServer(*m, ctx, *args)) return *code;
  }
  if (!m->local) {
    return ctx.Fail(ssb::Status::Unsupported(name + " needs a running server (start one with `sbot server`)"));
  }
  return m->local(ctx, *m, *args);
}
