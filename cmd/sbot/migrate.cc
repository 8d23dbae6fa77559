// Switching from ssb-server or an ssb-db2 app: their log is imported on first use, and by
// `sbot migrate` (ssb/migrate.h, README "Switching from ssb-server or Manyverse").
#include "migrate.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>

#include "ssb/migrate.h"

namespace sbot {
namespace {

using ssb::json::Value;

constexpr int kShownPerLog = 20;  // refused records and damaged regions printed per log

std::string Who(const ssb::OldLog& log) {
  return log.format == ssb::oldlog::LogFormat::kFlumeOffset ? "ssb-server's log " + log.source
                                                             : "ssb-db2's log " + log.source;
}

std::string Size(uint64_t bytes) {
  char buf[32];
  if (bytes >= (1u << 30)) {
    std::snprintf(buf, sizeof buf, "%.1f GB", static_cast<double>(bytes) / 1e9);
  } else if (bytes >= (1u << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f KB", static_cast<double>(bytes) / 1e3);
  }
  return buf;
}

// Progress and problems on stderr: a line per log and per 5% (rewritten in place on a
// terminal), the first refused records and damaged regions, a summary.
class Reporter {
 public:
  explicit Reporter(bool first_use) : first_use_(first_use), tty_(::isatty(2) == 1) {}

  void operator()(const ssb::MigrateEvent& e) {
    using K = ssb::MigrateEvent::Kind;
    const ssb::OldLog& log = *e.log;
    switch (e.kind) {
      case K::kBegin:
        shown_[log.source] = 0;
        last_percent_ = -1;
        Line(e.offset == 0 ? "importing " + Who(log) + " (" + Size(e.size) + ") into " +
                                 "db.sqlite" + (first_use_ ? " before anything else; this happens once" : "")
                           : "resuming the import of " + Who(log) + " at byte " +
                                 std::to_string(e.offset) + " of " + std::to_string(e.size));
        break;
      case K::kRestart:
        Line(log.source + ": " + e.what);
        break;
      case K::kProgress: {
        int percent = e.size ? static_cast<int>(100.0 * static_cast<double>(e.offset) /
                                                static_cast<double>(e.size))
                             : 100;
        if (percent / 5 == last_percent_ / 5) break;
        last_percent_ = percent;
        std::string text = log.source + ": " + std::to_string(percent) + "% (" +
                           std::to_string(e.state->stored) + " messages stored)";
        if (tty_) {
          std::cerr << "\rsbot: " << text << "   " << std::flush;
          pending_cr_ = true;
        } else {
          Line(text);
        }
        break;
      }
      case K::kRejected:
      case K::kDamaged: {
        int& n = shown_[log.source];
        if (e.kind == K::kRejected) ++refused_; else ++damaged_;
        if (++n > kShownPerLog) break;
        std::string where = log.source + " at byte " + std::to_string(e.offset);
        if (e.kind == K::kDamaged) where += ".." + std::to_string(e.end);
        if (!e.key.empty()) where += " (" + e.key + ")";
        Line(where + ": " + e.status.ToString() + (n == kShownPerLog ? " (further ones not shown)" : ""));
        break;
      }
      case K::kEnd: {
        const ssb::ImportState& s = *e.state;
        Line("imported " + Who(log) + ": " + std::to_string(s.records) + " messages read, " +
             std::to_string(s.stored) + " stored, " + std::to_string(s.duplicates) +
             " already here, " + std::to_string(s.invalid) + " refused, " +
             std::to_string(s.forks) + " forks, " + std::to_string(s.deleted) + " deleted, " +
             std::to_string(s.damaged) + " damaged regions");
        break;
      }
    }
  }

  // Records refused or damaged regions met in this run.
  int64_t problems() const { return refused_ + damaged_; }

 private:
  void Line(const std::string& text) {
    if (pending_cr_) std::cerr << "\n";
    pending_cr_ = false;
    std::cerr << "sbot: " << text << "\n";
  }

  bool first_use_;
  bool tty_;
  bool pending_cr_ = false;
  int last_percent_ = -1;
  std::map<std::string, int> shown_;
  int64_t refused_ = 0, damaged_ = 0;
};

// Runs the import of `logs` into ctx's store, reporting on stderr.
ssb::Result<std::vector<ssb::ImportState>> Run(Context& ctx, const std::vector<ssb::OldLog>& logs,
                                               bool from_start, bool first_use,
                                               int64_t* problems) {
  auto keys = ctx.Identity();
  if (!keys.ok()) return keys.status();
  auto store = ctx.Store();
  if (!store.ok()) return store.status();
  auto validate = ctx.ValidateOptions();
  if (!validate.ok()) return validate.status();
  ssb::MigrateOptions opt;
  opt.validate = *validate;
  opt.self = *keys;
  opt.from_start = from_start;
  Reporter reporter(first_use);
  opt.on_event = [&](const ssb::MigrateEvent& e) { reporter(e); };
  auto out = ssb::Migrate(**store, logs, opt);
  if (problems) *problems = reporter.problems();
  return out;
}

}  // namespace

int MigrateOnFirstUse(Context& ctx, const std::string& verb) {
  if (verb == "migrate") return kExitOk;
  auto logs = ssb::FindOldLogs(ctx.globals().path);
  if (logs.empty()) return kExitOk;  // the common case: two stat calls
  {
    // Look without taking the write lock: a finished import is the usual answer.
    ssb::StoreOptions ro;
    ro.read_only = true;
    auto store = ssb::Store::Open(ctx.globals().path + "/db.sqlite", ro);
    if (store.ok()) {
      auto pending = ssb::MigrationPending(**store, logs);
      if (pending.ok() && !*pending) return kExitOk;
    }
  }
  auto done = Run(ctx, logs, /*from_start=*/false, /*first_use=*/true, nullptr);
  if (!done.ok()) {
    std::cerr << "sbot: the import of the old log did not complete; `sbot migrate` continues it\n";
    return ctx.Fail(done.status());
  }
  return kExitOk;
}

int MigrateVerb(Context& ctx, const VerbArgs& args) {
  bool from_start = false;
  if (auto st = OptBool(args.options, "from-start", &from_start); !st.ok()) return ctx.Fail(st);
  if (!args.positional.empty()) {
    return ctx.Fail(ssb::Status::InvalidArgument("migrate takes no arguments (the data dir is --path)"));
  }
  auto logs = ssb::FindOldLogs(ctx.globals().path);
  Value out = Value::Object();
  Value list = Value::Array();
  int64_t problems = 0;
  if (logs.empty()) {
    std::cerr << "sbot: no ssb-server (flume/log.offset) or ssb-db2 (db2/log.bipf) log in "
              << ctx.globals().path << "\n";
  } else {
    auto done = Run(ctx, logs, from_start, /*first_use=*/false, &problems);
    if (!done.ok()) return ctx.Fail(done.status());
    for (const ssb::ImportState& s : *done) {
      Value v = Value::Object();
      v.Set("source", Value::String(s.source));
      v.Set("format", Value::String(s.format));
      for (auto [name, n] : {std::pair{"records", s.records}, {"stored", s.stored},
                             {"duplicates", s.duplicates}, {"invalid", s.invalid},
                             {"forks", s.forks}, {"deleted", s.deleted}, {"damaged", s.damaged}}) {
        v.Set(name, Value::Number(static_cast<double>(n)));
      }
      v.Set("finished", s.finished ? Value::Number(*s.finished) : Value::Null());
      list.Push(std::move(v));
    }
  }
  out.Set("imports", std::move(list));
  ctx.Print(out);
  return problems ? kExitRejected : kExitOk;
}

}  // namespace sbot
