// Want files and stick sync (formats/want-file.md, formats/stick-layout.md).
#include "ssb/stick.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <set>
#include <sstream>

#include "ssb/base64.h"
#include "ssb/files.h"
#include "ssb/json.h"
#include "ssb/ref.h"

namespace ssb {
namespace {

constexpr char kMarker[] = ".ssb-stick";
constexpr char kLock[] = ".ssb-stick.lock";
constexpr long kMsdosMagic = 0x4d44;  // FAT12/16/32 (statfs f_type)
constexpr uint64_t kFatMaxFile = 4294967295ull;

json::Value WantJson(const WantFile& w) {
  using json::Value;
  Value o = Value::Object();
  o.Set("format", Value::String("ssb-want"));
  o.Set("version", Value::Number(1));
  o.Set("network", Value::String(w.network));
  o.Set("feed", Value::String(w.feed));
  // Feed ids are never array indices, so the object keeps this (sorted) order.
  Value clock = Value::Object();
  for (const auto& [feed, seq] : w.clock) clock.Set(feed, Value::Number(static_cast<double>(seq)));
  o.Set("clock", std::move(clock));
  Value blobs = Value::Array();
  for (const auto& b : w.blobs) blobs.Push(Value::String(b));
  o.Set("blobs", std::move(blobs));
  return o;
}

// Lower-case hex name for a feed id: survives FAT and case-insensitive filesystems.
std::string NameFor(const std::string& feed) {
  return HexEncode(Sha256(std::span(reinterpret_cast<const uint8_t*>(feed.data()), feed.size()))).substr(0, 32);
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') names.push_back(e->d_name);
    }
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Holds an flock on the stick; the kernel drops it if the process dies, so a crash never leaves
// a stale lock behind.
class StickLock {
 public:
  Status Acquire(const std::string& path) {
    fd_.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd_) return ErrnoStatus("cannot open lock", path, errno);
    if (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
      return Status::Busy("another ssb-bundle run holds " + path + "; try later");
    }
    return Status::Ok();
  }

 private:
  UniqueFd fd_;
};

// The file names of the bundle imports already done (so a stick is not re-verified each time).
std::string SeenDir(const ImportOptions& o) {
  auto slash = o.pending_dir.rfind('/');
  return slash == std::string::npos ? "." : o.pending_dir.substr(0, slash);
}
std::string SeenPath(const ImportOptions& o) { return SeenDir(o) + "/imported.txt"; }

}  // namespace

Result<WantFile> MakeWantFile(Store& store, const BlobStore* blobs, const std::string& network) {
  WantFile w;
  w.network = network;
  auto clock = store.Clock();
  if (!clock.ok()) return clock.status();
  w.clock = std::move(clock).value();
  if (blobs) {
    // The store's index of referenced blobs, newest reference first: when more than the limit
    // are missing, the recent ones are asked for.
    SSB_RETURN_IF_ERROR(store.ReferencedBlobs([&](const std::string& id) {
      if (!blobs->Has(id)) w.blobs.push_back(id);
      return w.blobs.size() < kMaxWantBlobs;
    }));
  }
  return w;
}

std::string EncodeWantFile(const WantFile& w, const Keypair& writer) {
  WantFile copy = w;
  copy.feed = writer.id();
  json::Value o = WantJson(copy);
  std::string unsigned_text = json::Stringify(o);
  Signature sig = writer.Sign(std::span(reinterpret_cast<const uint8_t*>(unsigned_text.data()), unsigned_text.size()));
  o.Set("signature", json::Value::String(Base64Encode(sig) + ".sig.ed25519"));
  return json::StringifyPretty(o) + "\n";
}

Result<WantFile> ParseWantFile(std::string_view text) {
  if (text.size() > kMaxWantFile) return Status::LimitExceeded("want file is too large");
  json::ParseOptions po;
  po.max_depth = 4;
  po.max_bytes = kMaxWantFile;
  auto v = json::Parse(text, po);
  if (!v.ok()) return Status::InvalidInput("want file: " + v.status().message());
  const json::Value* fmt = v->Find("format");
  const json::Value* sig = v->Find("signature");
  const json::Value* clock = v->Find("clock");
  const json::Value* blobs = v->Find("blobs");
  const json::Value* feed = v->Find("feed");
  const json::Value* net = v->Find("network");
  if (!fmt || !fmt->is_string() || fmt->as_string() != "ssb-want" || !sig || !sig->is_string() ||
      !clock || !clock->is_object() || !blobs || !blobs->is_array() || !feed ||
      !feed->is_string() || !IsFeedId(feed->as_string()) || !net || !net->is_string()) {
    return Status::InvalidInput("not a want file");
  }
  if (clock->size() > kMaxWantFeeds || blobs->size() > kMaxWantBlobs) {
    return Status::LimitExceeded("want file lists too many feeds or blobs");
  }
  WantFile w;
  w.network = net->as_string();
  w.feed = feed->as_string();
  for (size_t i = 0; i < clock->size(); ++i) {
    const json::Value& seq = clock->items()[i];
    if (!IsFeedId(clock->keys()[i]) || !seq.is_number() || seq.as_number() < 0 ||
        seq.as_number() > 2147483647 || seq.as_number() != static_cast<double>(static_cast<int64_t>(seq.as_number()))) {
      return Status::InvalidInput("want file: bad clock entry");
    }
    w.clock[clock->keys()[i]] = static_cast<int64_t>(seq.as_number());
  }
  for (const auto& b : blobs->items()) {
    if (!b.is_string() || !IsBlobId(b.as_string())) return Status::InvalidInput("want file: bad blob id");
    w.blobs.push_back(b.as_string());
  }
  // The signature covers the canonical form; anything else in the file fails here.
  json::Value unsigned_v = WantJson(w);
  std::string unsigned_text = json::Stringify(unsigned_v);
  const std::string& s = sig->as_string();
  auto pk = ParseFeedId(w.feed);
  auto raw = s.size() == 100 && s.ends_with(".sig.ed25519") ? Base64DecodeCanonical(s.substr(0, 88)) : std::nullopt;
  if (!pk || !raw || raw->size() != 64 ||
      !VerifySignature(*pk, std::span(reinterpret_cast<const uint8_t*>(unsigned_text.data()), unsigned_text.size()),
                       std::span<const uint8_t, 64>(raw->data(), 64))) {
    return Status::InvalidInput("want file signature does not verify for " + w.feed);
  }
  return w;
}

Status InitStick(const std::string& dir, const std::string& network) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::NotFound("no directory " + dir);
  }
  SSB_RETURN_IF_ERROR(MakeDirs(dir + "/ssb/wants", 0755));
  SSB_RETURN_IF_ERROR(MakeDirs(dir + "/ssb/bundles", 0755));
  std::string marker = "{\"format\":\"ssb-stick\",\"version\":1,\"network\":\"" + network + "\"}\n";
  return WriteFileAtomic(dir + "/" + kMarker, marker, 0644);
}

Result<StickReport> SyncStick(Store& store, BlobStore* blobs, const Keypair& me,
                              const std::string& dir, const StickOptions& opt) {
  struct stat st, parent;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::Busy("stick " + dir + " is not there (not plugged in?)");
  }
  if (opt.check_mount) {
    // A mount point lives on another device than its parent: an unmounted mount point is an
    // empty directory on the parent's device, and writing there would fill the wrong disk.
    std::string up = dir + "/..";
    if (::stat(up.c_str(), &parent) != 0 || parent.st_dev == st.st_dev) {
      return Status::Busy("stick " + dir + " is not mounted");
    }
  }
  auto marker = ReadFile(dir + "/" + kMarker);
  if (!marker.ok()) {
    return Status::InvalidArgument(dir + " is not an ssb stick (run: ssb-bundle init " + dir + ")");
  }
  auto mv = json::Parse(*marker);
  const json::Value* net = mv.ok() ? mv->Find("network") : nullptr;
  if (!net || !net->is_string()) return Status::InvalidArgument(dir + "/" + kMarker + " is damaged");
  if (net->as_string() != opt.import.network) {
    return Status::PermissionDenied("stick " + dir + " belongs to another network");
  }
  StickLock lock;
  if (!opt.dry_run) SSB_RETURN_IF_ERROR(lock.Acquire(dir + "/" + kLock));

  StickReport report;
  std::string root = dir + "/ssb";
  std::string mine = NameFor(me.id());

  // 1. Import every bundle of other people not imported before.
  std::set<std::string> seen;
  if (auto s = ReadFile(SeenPath(opt.import)); s.ok()) {
    std::istringstream in(*s);
    for (std::string line; std::getline(in, line);) seen.insert(line);
  }
  std::string seen_add;
  for (const auto& who : ListDir(root + "/bundles")) {
    if (who == mine) continue;
    for (const auto& name : ListDir(root + "/bundles/" + who)) {
      if (name.find(".tmp-") != std::string::npos || name.find(".ssb-bundle") == std::string::npos) continue;
      std::string path = root + "/bundles/" + who + "/" + name;
      struct stat fs;
      if (::stat(path.c_str(), &fs) != 0) continue;
      std::string key = who + "/" + name + " " + std::to_string(fs.st_size) + " " + std::to_string(fs.st_mtime);
      if (seen.count(key)) continue;
      ImportOptions io = opt.import;
      io.dry_run = opt.dry_run;
      auto r = ImportBundle(store, blobs, path, io);
      if (!r.ok()) return Status(r.status().code(), path + ": " + r.status().message());
      report.messages_imported += r->messages_applied;
      for (const auto& o : r->ranges) report.fork = report.fork || o.kind == RangeOutcome::Kind::kFork;
      report.pending = report.pending || r->pending;
      if (!r->pending) seen_add += key + "\n";
      report.imported.push_back(std::move(r).value());
    }
  }
  if (!opt.dry_run) {
    auto more = ImportPending(store, blobs, opt.import);
    if (!more.ok()) return more.status();
    bool waiting = false;
    for (auto& r : *more) {
      report.messages_imported += r.messages_applied;
      waiting = waiting || r.pending;
    }
    report.pending = waiting;
    if (!seen_add.empty()) {
      SSB_RETURN_IF_ERROR(MakeDirs(SeenDir(opt.import), 0700));
      std::string all = ReadFile(SeenPath(opt.import)).ok() ? *ReadFile(SeenPath(opt.import)) : "";
      SSB_RETURN_IF_ERROR(WriteFileAtomic(SeenPath(opt.import), all + seen_add, 0600));
    }
  }

  // 2. Our want file: what we hold now, and the blobs our messages reference that we lack.
  auto made = MakeWantFile(store, blobs, opt.import.network);
  if (!made.ok()) return made.status();
  const WantFile& want = *made;
  if (!opt.dry_run) {
    std::string path = root + "/wants/" + mine + ".ssb-want";
    SSB_RETURN_IF_ERROR(WriteFileAtomic(path, EncodeWantFile(want, me), 0644));
    report.written.push_back(path);
  }

  // 3. Export for the others: everything we hold beyond what every known want file has
  //    (people without a want file yet get everything).
  std::map<std::string, int64_t> since;
  std::vector<std::string> wanted;  // the union of their blob wants, first mention first
  std::set<std::string> wanted_seen;
  bool first = true;
  for (const auto& name : ListDir(root + "/wants")) {
    if (!EndsWith(name, ".ssb-want") || name == mine + ".ssb-want") continue;
    auto text = ReadFile(root + "/wants/" + name);
    if (!text.ok()) continue;
    auto w = ParseWantFile(*text);
    if (!w.ok() || w->network != opt.import.network) continue;  // untrusted: ignore bad ones
    ++report.other_wants;
    for (const auto& b : w->blobs) {
      if (wanted_seen.insert(b).second) wanted.push_back(b);
    }
    if (first) {
      since = w->clock;
      first = false;
    } else {
      for (auto it = since.begin(); it != since.end();) {
        auto theirs = w->clock.find(it->first);
        if (theirs == w->clock.end()) {
          it = since.erase(it);
        } else {
          it->second = std::min(it->second, theirs->second);
          ++it;
        }
      }
    }
  }
  ExportOptions eo;
  eo.all = true;
  eo.since = since;
  eo.wanted_blobs = std::move(wanted);
  eo.network = opt.import.network;
  eo.sign_key = opt.import.sign_key;
  eo.blob_budget = opt.blob_budget;
  eo.dry_run = opt.dry_run;
  eo.max_part = opt.max_part;
  struct statfs sfs;
  if (eo.max_part == 0 && ::statfs(dir.c_str(), &sfs) == 0 && sfs.f_type == kMsdosMagic) {
    eo.max_part = kFatMaxFile;
  }
  std::string out_dir = root + "/bundles/" + mine;
  if (!opt.dry_run) SSB_RETURN_IF_ERROR(MakeDirs(out_dir, 0755));
  auto exported = ExportBundle(store, blobs, me, eo, out_dir + "/all.ssb-bundle");
  if (!exported.ok()) return exported.status();
  report.messages_exported = exported->messages;
  report.blobs_exported = exported->blobs;
  if (!opt.dry_run) {
    // Our previous export is replaced; remove only our own bundle files that the new one did
    // not rewrite (never anything we do not recognise).
    std::set<std::string> keep(exported->files.begin(), exported->files.end());
    for (const auto& name : ListDir(out_dir)) {
      std::string p = out_dir + "/" + name;
      if (name.rfind("all.ssb-bundle", 0) == 0 && name.find(".tmp-") == std::string::npos && !keep.count(p)) {
        ::unlink(p.c_str());
      }
    }
    SSB_RETURN_IF_ERROR(SyncDir(out_dir));
    for (const auto& f : exported->files) report.written.push_back(f);
  }
  return report;
}

}  // namespace ssb
