// ssb-bundle: export and import signed SSB log ranges and blobs as verified, compressed
// bundles on USB sticks and files (man/ssb-bundle.1, formats/bundle.md).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "ssb/base64.h"
#include "ssb/bundle_sync.h"
#include "ssb/config.h"
#include "ssb/db_view.h"
#include "ssb/files.h"
#include "ssb/keys.h"
#include "ssb/ref.h"
#include "ssb/stick.h"

namespace {

using njson = nlohmann::ordered_json;

// Exit codes: man/ssb-bundle.1 "EXIT STATUS". Stable; cron scripts depend on them.
enum Exit : int {
  kOk = 0,              // done, or nothing to do
  kVerifyFailed = 1,    // damaged, truncated, forged or invalid bundle
  kUsage = 2,
  kMissingPrereq = 3,   // some ranges wait for earlier bundles (kept pending)
  kFork = 4,            // a bundle conflicts with our feeds (reported, not applied)
  kWrongNetwork = 5,
  kNoSpace = 6,
  kIo = 7,              // I/O or permission error, damaged store
  kUnsupported = 8,     // newer format version or unknown critical capability
  kTempFail = 75,       // busy or medium missing: try later
};

struct Ctx {
  std::string path;
  bool json = false;
  bool stdout_is_data = false;  // export --out -: the bundle owns stdout, JSON goes to stderr
  bool dry_run = false;
  bool quiet = false;
  njson out = njson::object();
};

int ExitFor(const ssb::Status& st) {
  switch (st.code()) {
    case ssb::Code::kOk: return kOk;
    case ssb::Code::kInvalidArgument: return kUsage;
    case ssb::Code::kInvalidInput:
    case ssb::Code::kInvalidMessage:
    case ssb::Code::kLimitExceeded: return kVerifyFailed;
    case ssb::Code::kFork: return kFork;
    case ssb::Code::kUnsupported: return kUnsupported;
    case ssb::Code::kNoSpace: return kNoSpace;
    case ssb::Code::kBusy: return kTempFail;
    case ssb::Code::kWrongNetwork: return kWrongNetwork;
    case ssb::Code::kPermissionDenied:
    case ssb::Code::kNotFound:
    case ssb::Code::kIoError:
    case ssb::Code::kCorruption: return kIo;
  }
  return kIo;
}

int Finish(Ctx& c, int code, const std::string& error = "") {
  if (c.json) {
    c.out["ok"] = code == kOk;
    c.out["exit"] = code;
    if (!error.empty()) c.out["error"] = error;
    // File names and messages may hold bytes that are not UTF-8 (a name on a stick): they are
    // written with U+FFFD rather than aborting the dump (and the run) halfway.
    (c.stdout_is_data ? std::cerr : std::cout)
        << c.out.dump(-1, ' ', false, njson::error_handler_t::replace) << "\n";
  } else if (!error.empty()) {
    std::cerr << "ssb-bundle: " << error << "\n";
  }
  return code;
}

int Fail(Ctx& c, const ssb::Status& st) { return Finish(c, ExitFor(st), st.ToString()); }

std::string DefaultPath() {
  if (const char* p = std::getenv("SSB_PATH"); p && *p) return p;
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.ssb";
  return ".ssb";
}

// Network identity from DATADIR/config (ssb/config.h, the reader sbot uses too).
ssb::Status LoadNetwork(const std::string& path, std::string* network, std::string* sign,
                        ssb::ValidateOptions* validate) {
  auto cfg = ssb::LoadConfig(path);
  if (!cfg.ok()) return cfg.status();
  for (const auto& w : ssb::ConfigWarnings(*cfg)) std::cerr << "ssb-bundle: warning: " << w << "\n";
  *network = ssb::NetworkIdFromKey(cfg->shs);
  *sign = ssb::SignIdFromKey(cfg->sign);
  validate->hmac_key = cfg->sign;
  return ssb::Status::Ok();
}

// A progress bar on stderr, only when it is a terminal.
std::function<void(uint64_t, uint64_t)> Progress(const Ctx& c, const char* what) {
  if (c.quiet || !::isatty(2)) return nullptr;
  return [what](uint64_t done, uint64_t total) {
    int pct = total ? static_cast<int>(100 * done / total) : 100;
    std::fprintf(stderr, "\r%s %3d%% (%llu/%llu records)", what, pct,
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total));
    if (done >= total) std::fputc('\n', stderr);
  };
}

njson RangeJson(const ssb::BundleRange& r) {
  return njson{{"author", r.author}, {"first", r.first}, {"last", r.last},
               {"previous", r.previous.empty() ? njson(nullptr) : njson(r.previous)},
               {"last_id", r.last_id}};
}

njson OutcomeJson(const ssb::RangeOutcome& o) {
  njson j = RangeJson(o.range);
  switch (o.kind) {
    case ssb::RangeOutcome::Kind::kApplied: j["result"] = "applied"; j["new"] = o.applied; break;
    case ssb::RangeOutcome::Kind::kAlreadyHave: j["result"] = "already-have"; break;
    case ssb::RangeOutcome::Kind::kMissingPrerequisite:
      j["result"] = "missing-prerequisite";
      j["missing"] = {o.need_from, o.need_to};
      break;
    case ssb::RangeOutcome::Kind::kFork:
      j["result"] = "fork";
      j["sequence"] = o.fork_sequence;
      j["ours"] = o.ours;
      j["theirs"] = o.theirs;
      break;
    case ssb::RangeOutcome::Kind::kInvalid: j["result"] = "invalid"; j["error"] = o.error; break;
  }
  return j;
}

std::string Describe(const ssb::RangeOutcome& o) {
  std::string s = o.range.author + " " + std::to_string(o.range.first) + ".." + std::to_string(o.range.last) + ": ";
  switch (o.kind) {
    case ssb::RangeOutcome::Kind::kApplied: return s + std::to_string(o.applied) + " new";
    case ssb::RangeOutcome::Kind::kAlreadyHave: return s + "already have";
    case ssb::RangeOutcome::Kind::kMissingPrerequisite:
      return s + "waiting for " + std::to_string(o.need_from) + ".." + std::to_string(o.need_to) + " (kept pending)";
    case ssb::RangeOutcome::Kind::kFork:
      return s + "FORK at " + std::to_string(o.fork_sequence) + ": ours " + o.ours + ", bundle " + o.theirs;
    case ssb::RangeOutcome::Kind::kInvalid: return s + "invalid: " + o.error;
  }
  return s;
}

// The exit code a report deserves: forks first, then missing prerequisites.
int ReportCode(const std::vector<ssb::ImportReport>& reports) {
  bool fork = false, pending = false;
  for (const auto& r : reports) {
    for (const auto& o : r.ranges) {
      fork = fork || o.kind == ssb::RangeOutcome::Kind::kFork;
      pending = pending || o.kind == ssb::RangeOutcome::Kind::kMissingPrerequisite;
    }
  }
  return fork ? kFork : pending ? kMissingPrereq : kOk;
}

njson ReportJson(const ssb::ImportReport& r) {
  njson ranges = njson::array();
  for (const auto& o : r.ranges) ranges.push_back(OutcomeJson(o));
  return njson{{"file", r.path}, {"exporter", r.header.exporter}, {"part", r.header.part},
               {"ranges", ranges}, {"messages_applied", r.messages_applied},
               {"blobs_stored", r.blobs_stored}, {"pending", r.pending}};
}

struct Opened {
  std::unique_ptr<ssb::Store> store;
  std::optional<ssb::BlobStore> blobs;
};

ssb::Result<Opened> OpenStores(const std::string& path, bool read_only) {
  Opened o;
  if (!read_only) SSB_RETURN_IF_ERROR(ssb::MakeDirs(path));
  ssb::StoreOptions so;
  so.read_only = read_only;
  auto store = ssb::Store::Open(path + "/db.sqlite", so);
  if (!store.ok()) return store.status();
  o.store = std::move(store).value();
  ssb::BlobStoreOptions bo;
  bo.read_only = read_only;
  auto blobs = ssb::BlobStore::Open(path + "/blobs", bo);
  if (!blobs.ok()) return blobs.status();
  o.blobs = std::move(blobs).value();
  return o;
}

// Expands directories into the bundle files inside them (sorted, so parts go in order).
// Inside a directory only regular files named like bundles count: links, FIFOs, temp files of an
// interrupted export and OS junk (._* AppleDouble files) are skipped.
std::vector<std::string> ExpandInputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const auto& in : inputs) {
    std::error_code ec;
    if (in != "-" && std::filesystem::is_directory(in, ec)) {
      std::vector<std::string> found;
      for (const auto& e : std::filesystem::directory_iterator(in, ec)) {
        std::string name = e.path().filename().string();
        std::error_code sec;
        if (e.symlink_status(sec).type() == std::filesystem::file_type::regular &&
            ssb::ClassifyStickName(name) == ssb::StickName::kBundle) {
          found.push_back(e.path().string());
        }
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(in);
    }
  }
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  ssb::CryptoInit();
  CLI::App app{"ssb-bundle: verified, compressed sneakernet bundles of Secure Scuttlebutt feeds",
               "ssb-bundle"};
  app.require_subcommand(1);
  Ctx c;
  c.path = DefaultPath();
  app.add_option("--path", c.path, "data directory (default $SSB_PATH, then ~/.ssb)");
  app.add_flag("--json", c.json, "one JSON document on stdout, also on errors");
  app.add_flag("--dry-run", c.dry_run, "do everything but write");
  app.add_flag("-q,--quiet", c.quiet, "no progress bar");
  app.fallthrough();

  auto* exp = app.add_subcommand("export", "write feeds (and the blobs they reference) to a bundle");
  std::string out, feeds_csv, since_file;
  bool all = false;
  uint64_t max_part = 0, blob_budget = 64u << 20;
  int level = 9;
  exp->add_option("--out,-o", out, "output file, or - for stdout")->required();
  exp->add_flag("--all", all, "every feed in the store");
  exp->add_option("--feeds", feeds_csv, "comma-separated feed ids");
  exp->add_option("--since", since_file, "a clock file (JSON {feed: sequence}): export only newer");
  exp->add_option("--max-part", max_part, "split into self-contained parts of at most this many bytes");
  exp->add_option("--blob-budget", blob_budget, "bytes of blobs to include (default 64 MiB)");
  exp->add_option("--level", level, "zstd level (default 9)")->check(CLI::Range(1, 19));

  std::string want_in;
  exp->add_option("--want", want_in, "a receiver's want file: export exactly the messages and blobs it lacks");

  auto* wnt = app.add_subcommand("want", "write our signed want file (what we have, and the blobs we lack)");
  std::string want_out;
  wnt->add_option("--out,-o", want_out, "output file, or - for stdout")->required();

  auto* ini = app.add_subcommand("init", "prepare a directory (a mounted stick) for sync");
  std::string init_dir;
  ini->add_option("dir", init_dir, "the stick's mount point")->required();

  auto* syn = app.add_subcommand("sync", "import what is new on a stick, leave our wants and "
                                         "what the others lack");
  std::string sync_dir;
  bool no_mount_check = false;
  syn->add_option("dir", sync_dir, "the stick's mount point")->required();
  syn->add_flag("--no-mount-check", no_mount_check, "allow a directory that is not a mount point");
  syn->add_option("--max-part", max_part, "largest bundle file (default: 4 GiB - 1 on FAT)");

  auto* imp = app.add_subcommand("import", "verify bundles, then apply them to the store");
  std::vector<std::string> inputs;
  imp->add_option("files", inputs, "bundle files or directories (- for stdin)")->required();

  auto* ver = app.add_subcommand("verify", "check a bundle completely without importing");
  std::string verify_file, against;
  ver->add_option("file", verify_file, "bundle file (- for stdin)")->required();
  ver->add_option("--against", against, "also say what importing into this data dir would do");

  auto* ins = app.add_subcommand("inspect", "show a bundle's signed header (exporter, ranges, blobs)");
  std::string inspect_file;
  ins->add_option("file", inspect_file, "bundle file (- for stdin)")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (c.json && e.get_exit_code() != 0) return Finish(c, kUsage, e.what());
    return app.exit(e) == 0 ? kOk : kUsage;
  }
  c.out["command"] = app.get_subcommands().front()->get_name();
  c.stdout_is_data = *exp && out == "-";

  std::string network, sign;
  ssb::ValidateOptions validate;
  if (auto st = LoadNetwork(c.path, &network, &sign, &validate); !st.ok()) return Fail(c, st);
  ssb::ImportOptions iopt;
  iopt.network = network;
  iopt.sign_key = sign;
  iopt.validate = validate;
  iopt.pending_dir = c.path + "/bundles/pending";
  iopt.dry_run = c.dry_run;

  if (*ins) {
    auto r = ssb::BundleReader::Open(inspect_file);
    if (!r.ok()) return Fail(c, r.status());
    const ssb::BundleHeader& h = (*r)->header();
    njson ranges = njson::array();
    uint64_t messages = 0;
    for (const auto& rg : h.ranges) {
      ranges.push_back(RangeJson(rg));
      messages += static_cast<uint64_t>(rg.count());
    }
    njson blobs = njson::array();
    for (const auto& b : h.blobs) blobs.push_back({{"id", b.id}, {"size", b.size}});
    c.out["version"] = h.version;
    c.out["exporter"] = h.exporter;
    c.out["network"] = h.network;
    c.out["our_network"] = h.network == network;
    c.out["set"] = h.set;
    c.out["part"] = h.part;
    c.out["messages"] = messages;
    c.out["body_bytes"] = h.body_bytes;
    c.out["feeds"] = ranges;
    c.out["blobs"] = blobs;
    if (!c.json) {
      std::cout << "exporter " << h.exporter << " (signature ok), part " << h.part << " of set "
                << h.set.substr(0, 16) << "\n"
                << (h.network == network ? "network: ours\n" : "network: ANOTHER NETWORK\n")
                << messages << " messages in " << h.ranges.size() << " feeds, " << h.blobs.size()
                << " blobs, " << h.body_bytes << " bytes uncompressed\n";
      for (const auto& rg : h.ranges) {
        std::cout << "  " << rg.author << " " << rg.first << ".." << rg.last << "\n";
      }
      for (const auto& b : h.blobs) std::cout << "  " << b.id << " " << b.size << " bytes\n";
    }
    return Finish(c, kOk);
  }

  if (*ver) {
    std::optional<Opened> stores;
    if (!against.empty()) {
      auto o = OpenStores(against, true);
      if (o.ok()) {
        stores = std::move(o).value();
      } else if (o.status().code() != ssb::Code::kNotFound) {
        return Fail(c, o.status());
      }  // no store there yet: answer as for an empty one
    }
    iopt.progress = Progress(c, "verify");
    auto r = ssb::VerifyBundle(verify_file, stores ? stores->store.get() : nullptr, iopt);
    if (!r.ok()) return Fail(c, r.status());
    c.out["verified"] = true;
    c.out["report"] = ReportJson(*r);
    bool against_given = !against.empty();
    int code = against_given ? ReportCode({*r}) : kOk;
    if (!c.json) {
      std::cout << verify_file << ": ok (" << r->header.records << " records, signed by "
                << r->header.exporter << ")\n";
      if (against_given) for (const auto& o : r->ranges) std::cout << "  " << Describe(o) << "\n";
    }
    return Finish(c, code);
  }

  if (*ini) {
    auto st = ssb::InitStick(init_dir, network);
    if (!st.ok()) return Fail(c, st);
    if (!c.json) std::cout << init_dir << " is ready for ssb-bundle sync\n";
    return Finish(c, kOk);
  }

  std::string warning;
  auto keys = ssb::LoadOrCreateSecretFile(c.path + "/secret", &warning);
  if (!warning.empty()) std::cerr << "ssb-bundle: " << warning << "\n";
  if (!keys.ok()) return Fail(c, keys.status());
  // Private messages that arrive in bundles are stored decrypted for us, as `sbot add` does.
  iopt.reader = &*keys;
  auto stores = OpenStores(c.path, false);
  if (!stores.ok()) return Fail(c, stores.status());

  if (*exp) {
    ssb::ExportOptions eo;
    eo.all = all;
    eo.network = network;
    eo.sign_key = sign;
    eo.max_part = max_part;
    eo.blob_budget = blob_budget;
    eo.level = level;
    eo.dry_run = c.dry_run;
    eo.progress = Progress(c, "export");
    std::stringstream ss(feeds_csv);
    for (std::string f; std::getline(ss, f, ',');) if (!f.empty()) eo.feeds.push_back(f);
    if (!all && eo.feeds.empty()) {
      return Fail(c, ssb::Status::InvalidArgument("say what to export: --all or --feeds @a,@b"));
    }
    if (!want_in.empty()) {
      ssb::ReadLimits lim;
      lim.max_bytes = ssb::kMaxWantFile;
      auto text = ssb::ReadFileLimited(want_in, lim);
      if (!text.ok()) return Fail(c, text.status());
      auto w = ssb::ParseWantFile(*text);
      if (!w.ok()) return Fail(c, w.status());
      if (w->network != network) {
        return Fail(c, ssb::Status::WrongNetwork("want file is from another network"));
      }
      // Our policy still decides what goes out (--all / --feeds); the want file only narrows it.
      eo.since = w->clock;
      eo.wanted_blobs = w->blobs;  // shipped when we hold them, within --blob-budget
    }
    if (!since_file.empty()) {
      ssb::ReadLimits lim;
      lim.max_bytes = ssb::kMaxWantFile;
      auto text = ssb::ReadFileLimited(since_file, lim);
      if (!text.ok()) return Fail(c, text.status());
      njson clock = njson::parse(*text, nullptr, false);
      if (clock.is_discarded() || !clock.is_object()) {
        return Fail(c, ssb::Status::InvalidInput(since_file + " is not a JSON clock {feed: sequence}"));
      }
      for (auto& [feed, seq] : clock.items()) {
        if (!ssb::IsFeedId(feed) || !seq.is_number_integer()) {
          return Fail(c, ssb::Status::InvalidInput(since_file + ": bad entry for " + feed));
        }
        eo.since[feed] = seq.get<int64_t>();
      }
    }
    auto r = ssb::ExportBundle(*stores->store, &*stores->blobs, *keys, eo, out);
    if (!r.ok()) return Fail(c, r.status());
    c.out["files"] = r->files;
    c.out["parts"] = r->parts.size();
    c.out["messages"] = r->messages;
    c.out["blobs"] = r->blobs;
    c.out["wanted_blobs"] = r->wanted_blobs;
    c.out["bytes"] = r->bytes;
    c.out["body_bytes"] = r->body_bytes;
    if (r->parts.empty()) {
      c.out["nothing_to_do"] = true;
      if (!c.json) std::cerr << "ssb-bundle: nothing to export\n";
    } else if (!c.json && out != "-") {
      std::cerr << "ssb-bundle: " << (c.dry_run ? "would export " : "exported ") << r->messages
                << " messages and " << r->blobs << " blobs in " << r->parts.size() << " part(s)";
      if (!c.dry_run) std::cerr << ", " << r->bytes << " bytes";
      std::cerr << "\n";
      for (const auto& f : r->files) std::cout << f << "\n";
    }
    return Finish(c, kOk);
  }

  if (*wnt) {
    auto made = ssb::MakeWantFile(*stores->store, &*stores->blobs, network);
    if (!made.ok()) return Fail(c, made.status());
    const ssb::WantFile& w = *made;
    std::string text = ssb::EncodeWantFile(w, *keys);
    if (c.dry_run) return Finish(c, kOk);
    if (want_out == "-") {
      std::cout << text;
      return kOk;
    }
    if (auto st = ssb::WriteFileAtomic(want_out, text, 0644); !st.ok()) return Fail(c, st);
    c.out["file"] = want_out;
    c.out["feeds"] = w.clock.size();
    c.out["blobs"] = w.blobs.size();
    return Finish(c, kOk);
  }

  if (*syn) {
    ssb::StickOptions so;
    so.import = iopt;
    so.check_mount = !no_mount_check;
    so.max_part = max_part;
    so.dry_run = c.dry_run;
    auto r = ssb::SyncStick(*stores->store, &*stores->blobs, *keys, sync_dir, so);
    if (!r.ok()) return Fail(c, r.status());
    c.out["imported_messages"] = r->messages_imported;
    c.out["exported_messages"] = r->messages_exported;
    c.out["exported_blobs"] = r->blobs_exported;
    c.out["other_wants"] = r->other_wants;
    c.out["written"] = r->written;
    njson files = njson::array();
    for (const auto& rep : r->imported) files.push_back(ReportJson(rep));
    c.out["imports"] = files;
    njson skipped = njson::array();
    for (const auto& s : r->skipped) {
      skipped.push_back({{"file", s.path}, {"reason", s.reason}});
      if (!c.quiet) std::cerr << "ssb-bundle: skipped " << s.path << ": " << s.reason << "\n";
    }
    c.out["skipped"] = skipped;
    if (!c.json) {
      std::cout << "sync " << sync_dir << ": imported " << r->messages_imported
                << " messages, exported " << r->messages_exported << " for "
                << r->other_wants << " other people" << (c.dry_run ? " (dry run)" : "") << "\n";
      for (const auto& rep : r->imported)
        for (const auto& o : rep.ranges)
          if (o.kind != ssb::RangeOutcome::Kind::kAlreadyHave) std::cout << "  " << Describe(o) << "\n";
    }
    return Finish(c, r->fork ? kFork : r->pending ? kMissingPrereq : kOk);
  }

  if (*imp) {
    iopt.progress = Progress(c, "import");
    std::vector<ssb::ImportReport> reports;
    njson files = njson::array();
    for (const auto& f : ExpandInputs(inputs)) {
      auto r = ssb::ImportBundle(*stores->store, &*stores->blobs, f, iopt);
      if (!r.ok()) {
        c.out["files"] = files;
        return Fail(c, ssb::Status(r.status().code(), f + ": " + r.status().message()));
      }
      files.push_back(ReportJson(*r));
      if (!c.json) {
        std::cout << f << ": " << r->messages_applied << " messages, " << r->blobs_stored
                  << " blobs" << (c.dry_run ? " (dry run)" : "") << "\n";
        for (const auto& o : r->ranges) std::cout << "  " << Describe(o) << "\n";
      }
      reports.push_back(std::move(r).value());
    }
    // A part that waited for these may now apply.
    if (!c.dry_run) {
      auto pending = ssb::ImportPending(*stores->store, &*stores->blobs, iopt);
      if (!pending.ok()) return Fail(c, pending.status());
      for (auto& r : *pending) {
        files.push_back(ReportJson(r));
        if (!c.json && r.changed()) {
          std::cout << "pending part " << r.path << ": " << r.messages_applied << " messages\n";
        }
      }
      // What is still waiting after that decides the exit code, not what waited earlier.
      bool waiting = false;
      for (const auto& p : *pending) waiting = waiting || p.pending;
      for (auto& rep : reports) {
        for (auto& o : rep.ranges) {
          if (!waiting && o.kind == ssb::RangeOutcome::Kind::kMissingPrerequisite) {
            o.kind = ssb::RangeOutcome::Kind::kApplied;  // applied from the pending copy
          }
        }
      }
    }
    c.out["files"] = files;
    return Finish(c, ReportCode(reports));
  }
  return Finish(c, kUsage, "no command");
}
