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

bool IsHex(std::string_view s, size_t len) {
  if (s.size() != len) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Holds an flock on the stick; the kernel drops it if the process dies, so a crash never leaves
// a stale lock behind.
class StickLock {
 public:
  // The lock file is opened relative to the stick's root and never through a link; a planted
  // FIFO or link there makes the stick unusable (kInvalidArgument), never a hang or a write
  // elsewhere.
  Status Acquire(int root_fd, const std::string& path) {
    fd_.reset(::openat(root_fd, kLock, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644));
    if (!fd_) {
      if (errno == ELOOP) {
        return Status::InvalidArgument("stick lock " + path + " is a symbolic link (not followed)");
      }
      if (errno == ENXIO) return Status::InvalidArgument("stick lock " + path + " is not a regular file");
      return ErrnoStatus("cannot open lock", path, errno);
    }
    struct stat st;
    if (::fstat(fd_.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return Status::InvalidArgument("stick lock " + path + " is not a regular file");
    }
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
      if (IsStrictBlobId(id) && !blobs->Has(id)) w.blobs.push_back(id);
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
  po.max_values = kMaxWantFeeds + kMaxWantBlobs + 16;
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
    if (!b.is_string() || !IsStrictBlobId(b.as_string())) return Status::InvalidInput("want file: bad blob id");
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

Result<std::string> ParseStickMarker(std::string_view text) {
  if (text.size() > kMaxStickMarker) return Status::LimitExceeded("stick marker is too large");
  json::ParseOptions po;
  po.max_depth = 4;
  po.max_bytes = kMaxStickMarker;
  po.max_values = 64;
  auto v = json::Parse(text, po);
  const json::Value* fmt = v.ok() ? v->Find("format") : nullptr;
  const json::Value* net = v.ok() ? v->Find("network") : nullptr;
  if (!fmt || !fmt->is_string() || fmt->as_string() != "ssb-stick" || !net || !net->is_string() ||
      !IsHex(net->as_string(), 64)) {
    return Status::InvalidInput("not a stick marker");
  }
  return net->as_string();
}

StickName ClassifyStickName(std::string_view name) {
  if (name.empty() || name[0] == '.') return StickName::kIgnored;  // ours (marker, lock), OS junk
  if (IsTempName(name)) return StickName::kTemp;
  if (EndsWith(std::string(name), ".ssb-bundle")) return StickName::kBundle;
  auto part = name.rfind(".ssb-bundle.part");
  if (part != std::string_view::npos && part > 0) {
    std::string_view n = name.substr(part + 16);
    if (!n.empty() && n.size() <= 6 && n.find_first_not_of("0123456789") == std::string_view::npos &&
        n[0] != '0') {
      return StickName::kBundle;
    }
  }
  if (EndsWith(std::string(name), ".ssb-want")) return StickName::kWant;
  return StickName::kIgnored;
}

namespace {

// The stick's folders, each opened from the stick root's descriptor without following links.
struct StickDirs {
  UniqueFd root, ssb, bundles, wants;
};

Result<StickDirs> OpenStickDirs(const std::string& dir, bool create) {
  StickDirs d;
  // The mount point the user named may be a link (/media/stick); nothing inside it is followed.
  d.root.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d.root) return ErrnoStatus("cannot open", dir, errno);
  auto ssb = OpenDirAt(d.root.get(), "ssb", dir + "/ssb", create);
  if (!ssb.ok()) return ssb.status();
  d.ssb = std::move(ssb).value();
  auto bundles = OpenDirAt(d.ssb.get(), "bundles", dir + "/ssb/bundles", create);
  if (!bundles.ok()) return bundles.status();
  d.bundles = std::move(bundles).value();
  auto wants = OpenDirAt(d.ssb.get(), "wants", dir + "/ssb/wants", create);
  if (!wants.ok()) return wants.status();
  d.wants = std::move(wants).value();
  return d;
}

// Errors of our own side stop a sync; anything else about one file on the stick skips it.
bool IsOurFault(const Status& st) {
  return st.code() == Code::kNoSpace || st.code() == Code::kBusy || st.code() == Code::kCorruption;
}

// Temp files our killed runs left in our own folders (we hold the stick's lock: no run of ours
// is writing them now). Only names we make are touched.
void RemoveStaleTemps(int dirfd, std::string_view prefix) {
  auto names = ListDirAt(dirfd, "");
  if (!names.ok()) return;
  for (const auto& n : *names) {
    if (n.compare(0, prefix.size(), prefix) == 0 && IsTempName(n.substr(prefix.size()))) {
      struct stat st;
      if (::fstatat(dirfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
        ::unlinkat(dirfd, n.c_str(), 0);
      }
    }
  }
}

}  // namespace

Status InitStick(const std::string& dir, const std::string& network) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::NotFound("no directory " + dir);
  }
  auto dirs = OpenStickDirs(dir, /*create=*/true);
  if (!dirs.ok()) return dirs.status();
  std::string marker = "{\"format\":\"ssb-stick\",\"version\":1,\"network\":\"" + network + "\"}\n";
  return WriteFileAtomicAt(dirs->root.get(), kMarker, marker, 0644, dir);
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
  UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return ErrnoStatus("cannot open", dir, errno);
  std::string marker_path = dir + "/" + kMarker;
  auto marker_fd = OpenRegularAt(root.get(), kMarker, marker_path);
  if (!marker_fd.ok()) {
    if (marker_fd.status().code() == Code::kNotFound) {
      return Status::InvalidArgument(dir + " is not an ssb stick (run: ssb-bundle init " + dir + ")");
    }
    return Status::InvalidArgument(marker_path + " is damaged: " + marker_fd.status().message());
  }
  auto marker = ReadFdLimited(marker_fd->get(), marker_path, kMaxStickMarker);
  auto network = marker.ok() ? ParseStickMarker(*marker) : Result<std::string>(marker.status());
  if (!network.ok()) {
    return Status::InvalidArgument(marker_path + " is damaged: " + network.status().message());
  }
  if (*network != opt.import.network) {
    return Status::WrongNetwork("stick " + dir + " belongs to another network");
  }
  StickLock lock;
  if (!opt.dry_run) SSB_RETURN_IF_ERROR(lock.Acquire(root.get(), dir + "/" + kLock));
  auto dirs_or = OpenStickDirs(dir, /*create=*/!opt.dry_run);
  if (!dirs_or.ok()) {
    // A planted link or file where a folder of the layout belongs: refuse to write anything.
    return Status(dirs_or.status().code() == Code::kInvalidInput ? Code::kInvalidArgument
                                                                 : dirs_or.status().code(),
                  "stick " + dir + " cannot be used: " + dirs_or.status().message());
  }
  StickDirs& dirs = *dirs_or;

  StickReport report;
  std::string root_name = dir + "/ssb";
  std::string mine = NameFor(me.id());
  auto skip = [&](const std::string& path, const Status& why) {
    report.skipped.push_back({path, why.ToString()});
  };

  // 1. Import every bundle of other people not imported before.
  std::set<std::string> seen;
  if (auto s = ReadFile(SeenPath(opt.import)); s.ok()) {
    std::istringstream in(*s);
    for (std::string line; std::getline(in, line);) seen.insert(line);
  }
  std::string seen_add;
  auto people = ListDirAt(dirs.bundles.get(), root_name + "/bundles");
  if (!people.ok()) return people.status();
  for (const auto& who : *people) {
    if (who == mine || who[0] == '.') continue;
    std::string who_path = root_name + "/bundles/" + who;
    auto who_dir = OpenDirAt(dirs.bundles.get(), who, who_path, false);
    if (!who_dir.ok()) {
      skip(who_path, who_dir.status());
      continue;
    }
    auto names = ListDirAt(who_dir->get(), who_path);
    if (!names.ok()) {
      skip(who_path, names.status());
      continue;
    }
    for (const auto& name : *names) {
      if (ClassifyStickName(name) != StickName::kBundle) continue;
      std::string path = who_path + "/" + name;
      auto fd = OpenRegularAt(who_dir->get(), name, path);
      if (!fd.ok()) {
        skip(path, fd.status());
        continue;
      }
      struct stat fs;
      if (::fstat(fd->get(), &fs) != 0) {
        skip(path, ErrnoStatus("cannot stat", path, errno));
        continue;
      }
      std::string key = who + "/" + name + " " + std::to_string(fs.st_size) + " " + std::to_string(fs.st_mtime);
      if (seen.count(key)) continue;
      ImportOptions io = opt.import;
      io.dry_run = opt.dry_run;
      auto r = ImportBundleFd(store, blobs, fd->get(), path, io);
      if (!r.ok()) {
        if (IsOurFault(r.status())) return Status(r.status().code(), path + ": " + r.status().message());
        skip(path, r.status());  // damaged, forged, another network: never blocks the others
        continue;
      }
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
  std::string want_name = mine + ".ssb-want";
  if (!opt.dry_run) {
    RemoveStaleTemps(dirs.wants.get(), want_name);
    SSB_RETURN_IF_ERROR(WriteFileAtomicAt(dirs.wants.get(), want_name, EncodeWantFile(want, me),
                                          0644, root_name + "/wants"));
    report.written.push_back(root_name + "/wants/" + want_name);
  }

  // 3. Export for the others: everything we hold beyond what every known want file has
  //    (people without a want file yet get everything).
  std::map<std::string, int64_t> since;
  std::vector<std::string> wanted;  // the union of their blob wants, first mention first
  std::set<std::string> wanted_seen;
  bool first = true;
  auto want_names = ListDirAt(dirs.wants.get(), root_name + "/wants");
  if (!want_names.ok()) return want_names.status();
  for (const auto& name : *want_names) {
    if (ClassifyStickName(name) != StickName::kWant || name == want_name) continue;
    std::string path = root_name + "/wants/" + name;
    auto fd = OpenRegularAt(dirs.wants.get(), name, path);
    auto text = fd.ok() ? ReadFdLimited(fd->get(), path, kMaxWantFile)
                        : Result<std::string>(fd.status());
    auto w = text.ok() ? ParseWantFile(*text) : Result<WantFile>(text.status());
    if (w.ok() && w->network != opt.import.network) w = Status::WrongNetwork("want file of another network");
    if (!w.ok()) {  // untrusted: a bad one is skipped and reported
      skip(path, w.status());
      continue;
    }
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
  std::string out_dir = root_name + "/bundles/" + mine;
  UniqueFd out_fd;
  if (!opt.dry_run) {
    auto o = OpenDirAt(dirs.bundles.get(), mine, out_dir, /*create=*/true);
    if (!o.ok()) {
      return Status(o.status().code() == Code::kInvalidInput ? Code::kInvalidArgument
                                                             : o.status().code(),
                    "stick " + dir + " cannot be used: " + o.status().message());
    }
    out_fd = std::move(o).value();
    RemoveStaleTemps(out_fd.get(), "all.ssb-bundle");
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
  eo.out_dir_fd = out_fd.get();
  eo.out_dir_name = out_dir;
  struct statfs sfs;
  if (eo.max_part == 0 && ::fstatfs(root.get(), &sfs) == 0 && sfs.f_type == kMsdosMagic) {
    eo.max_part = kFatMaxFile;
  }
  auto exported = ExportBundle(store, blobs, me, eo, opt.dry_run ? out_dir + "/all.ssb-bundle" : "all.ssb-bundle");
  if (!exported.ok()) return exported.status();
  report.messages_exported = exported->messages;
  report.blobs_exported = exported->blobs;
  if (!opt.dry_run) {
    // Our previous export is replaced; remove only our own bundle files that the new one did
    // not rewrite (never anything we do not recognise, never through a link).
    std::set<std::string> keep(exported->files.begin(), exported->files.end());
    auto names = ListDirAt(out_fd.get(), out_dir);
    if (!names.ok()) return names.status();
    for (const auto& name : *names) {
      struct stat fs;
      if (name.rfind("all.ssb-bundle", 0) == 0 && ClassifyStickName(name) == StickName::kBundle &&
          !keep.count(name) && ::fstatat(out_fd.get(), name.c_str(), &fs, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISREG(fs.st_mode)) {
        ::unlinkat(out_fd.get(), name.c_str(), 0);
      }
    }
    SSB_RETURN_IF_ERROR(SyncDirFd(out_fd.get(), out_dir));
    for (const auto& f : exported->files) report.written.push_back(out_dir + "/" + f);
  }
  return report;
}

}  // namespace ssb
