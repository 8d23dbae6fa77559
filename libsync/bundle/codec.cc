// The bundle container: formats/bundle.md. The only code that includes <zstd.h>.
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>
#include <zstd.h>

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "ssb/base64.h"
#include "ssb/bundle.h"
#include "ssb/files.h"
#include "ssb/json.h"
#include "ssb/ref.h"

namespace ssb {
namespace {

// formats/bundle.md "File structure".
constexpr uint8_t kMagic[8] = {0x89, 'S', 'S', 'B', '\r', '\n', 0x1A, '\n'};
constexpr uint8_t kTrailerMagic[8] = {0x89, 'S', 'S', 'B', 'E', 'N', 'D', '\n'};
constexpr size_t kTrailerSize = 8 + 8 + 8 + 32;
constexpr size_t kRecordHeader = 5;

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
uint64_t GetLE(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

struct ZstdDCtxDeleter {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};
struct ZstdCCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};

json::Value HeaderToJson(const BundleHeader& h) {
  using json::Value;
  Value o = Value::Object();
  o.Set("format", Value::String("ssb-bundle"));
  o.Set("version", Value::Number(h.version));
  Value crit = Value::Array();
  for (const auto& c : h.critical) crit.Push(Value::String(c));
  o.Set("critical", std::move(crit));
  o.Set("network", Value::String(h.network));
  o.Set("sign", h.sign_key.empty() ? Value::Null() : Value::String(h.sign_key));
  o.Set("exporter", Value::String(h.exporter));
  o.Set("set", Value::String(h.set));
  o.Set("part", Value::Number(h.part));
  o.Set("records", Value::Number(static_cast<double>(h.records)));
  o.Set("body_bytes", Value::Number(static_cast<double>(h.body_bytes)));
  Value feeds = Value::Array();
  for (const auto& r : h.ranges) {
    Value f = Value::Object();
    f.Set("author", Value::String(r.author));
    f.Set("first", Value::Number(static_cast<double>(r.first)));
    f.Set("last", Value::Number(static_cast<double>(r.last)));
    f.Set("previous", r.previous.empty() ? Value::Null() : Value::String(r.previous));
    f.Set("last_id", Value::String(r.last_id));
    f.Set("sha256", Value::String(r.sha256));
    feeds.Push(std::move(f));
  }
  o.Set("feeds", std::move(feeds));
  Value blobs = Value::Array();
  for (const auto& b : h.blobs) {
    Value v = Value::Object();
    v.Set("id", Value::String(b.id));
    v.Set("size", Value::Number(static_cast<double>(b.size)));
    blobs.Push(std::move(v));
  }
  o.Set("blobs", std::move(blobs));
  return o;
}

bool IsHex(std::string_view s, size_t len) {
  if (s.size() != len) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// Reads an integer field in [lo, hi].
bool GetInt(const json::Value& o, const char* key, double lo, double hi, double* out) {
  const json::Value* v = o.Find(key);
  if (!v || !v->is_number()) return false;
  double d = v->as_number();
  if (d != static_cast<double>(static_cast<int64_t>(d)) || d < lo || d > hi) return false;
  *out = d;
  return true;
}

bool GetStr(const json::Value& o, const char* key, std::string* out) {
  const json::Value* v = o.Find(key);
  if (!v || !v->is_string()) return false;
  *out = v->as_string();
  return true;
}

Status Bad(const std::string& what) { return Status::InvalidInput("bundle " + what); }

}  // namespace

std::string SignIdFromKey(const std::optional<HmacKey>& sign_cap) {
  return sign_cap ? HexEncode(Sha256(*sign_cap)) : std::string();
}

const std::array<uint8_t, 32>& MainNetKey() { return kMainNetKey; }

std::string NetworkIdFromKey(std::span<const uint8_t, 32> shs_key) {
  return HexEncode(Sha256(shs_key));
}

std::string BundleHeaderSigningJson(const BundleHeader& h) {
  return json::Stringify(HeaderToJson(h));
}

Result<BundleHeader> ParseBundleHeaderJson(std::string_view text) {
  json::ParseOptions opt;
  opt.max_bytes = kBundleMaxHeader;
  opt.max_depth = 8;
  // A range takes 7 values in at least ~200 bytes and a blob 3 in ~90: far fewer values than
  // bytes/16 in any real header, while "[0,0,…" would make 8 M values (~800 MB) of 16 MiB.
  opt.max_values = kBundleMaxHeader / 16;
  auto parsed = json::Parse(text, opt);
  if (!parsed.ok()) return Bad("header: " + parsed.status().message());
  const json::Value& o = *parsed;
  BundleHeader h;
  std::string format;
  if (!o.is_object() || !GetStr(o, "format", &format) || format != "ssb-bundle") {
    return Bad("header: not an ssb-bundle header");
  }
  double d;
  if (!GetInt(o, "version", 1, 1e9, &d)) return Bad("header: bad version");
  h.version = static_cast<uint32_t>(d);
  if (h.version > kBundleVersion) {
    return Status::Unsupported("bundle format version " + std::to_string(h.version) +
                               " is newer than this scuttlesync understands (" +
                               std::to_string(kBundleVersion) + ")");
  }
  const json::Value* crit = o.Find("critical");
  if (!crit || !crit->is_array()) return Bad("header: bad critical capabilities");
  for (const auto& c : crit->items()) {
    if (!c.is_string()) return Bad("header: bad critical capability");
    // Version 1 defines no capabilities: every one named here is unknown to us.
    return Status::Unsupported("bundle needs capability \"" + c.as_string() +
                               "\" that this scuttlesync does not have");
  }
  const json::Value* sign = o.Find("sign");
  if (!GetStr(o, "network", &h.network) || !IsHex(h.network, 64) || !sign ||
      !(sign->is_null() || (sign->is_string() && IsHex(sign->as_string(), 64)))) {
    return Bad("header: bad network identity");
  }
  if (sign->is_string()) h.sign_key = sign->as_string();
  if (!GetStr(o, "exporter", &h.exporter) || !IsFeedId(h.exporter)) return Bad("header: bad exporter");
  if (!GetStr(o, "set", &h.set) || !IsHex(h.set, 64)) return Bad("header: bad set id");
  if (!GetInt(o, "part", 1, 1e6, &d)) return Bad("header: bad part number");
  h.part = static_cast<uint32_t>(d);
  if (!GetInt(o, "records", 0, 9e15, &d)) return Bad("header: bad record count");
  h.records = static_cast<uint64_t>(d);
  if (!GetInt(o, "body_bytes", 0, 9e15, &d)) return Bad("header: bad body size");
  h.body_bytes = static_cast<uint64_t>(d);
  const json::Value* feeds = o.Find("feeds");
  if (!feeds || !feeds->is_array()) return Bad("header: bad feeds");
  uint64_t messages = 0;
  for (const auto& f : feeds->items()) {
    BundleRange r;
    double first, last;
    const json::Value* prev = f.Find("previous");
    if (!f.is_object() || !GetStr(f, "author", &r.author) || !IsFeedId(r.author) ||
        !GetInt(f, "first", 1, 2147483647, &first) || !GetInt(f, "last", first, 2147483647, &last) ||
        !prev || !GetStr(f, "last_id", &r.last_id) || !IsMsgId(r.last_id) ||
        !GetStr(f, "sha256", &r.sha256) || !IsHex(r.sha256, 64)) {
      return Bad("header: bad feed range");
    }
    r.first = static_cast<int64_t>(first);
    r.last = static_cast<int64_t>(last);
    if (r.first == 1 ? !prev->is_null() : !(prev->is_string() && IsMsgId(prev->as_string()))) {
      return Bad("header: range of " + r.author + " has a bad previous");
    }
    if (prev->is_string()) r.previous = prev->as_string();
    messages += static_cast<uint64_t>(r.count());
    h.ranges.push_back(std::move(r));
  }
  const json::Value* blobs = o.Find("blobs");
  if (!blobs || !blobs->is_array()) return Bad("header: bad blobs");
  if (blobs->size() > kBundleMaxBlobs) {
    return Status::LimitExceeded("bundle header lists " + std::to_string(blobs->size()) +
                                 " blobs, over the limit of " + std::to_string(kBundleMaxBlobs));
  }
  std::set<std::string_view> blob_ids;
  for (const auto& b : blobs->items()) {
    BundleBlob blob;
    if (!b.is_object() || !GetStr(b, "id", &blob.id) || !IsStrictBlobId(blob.id) ||
        !GetInt(b, "size", 0, kBundleMaxBlobRecord, &d)) {
      return Bad("header: bad blob entry");
    }
    blob.size = static_cast<uint64_t>(d);
    // A blob listed twice would be decompressed, hashed and staged once per entry: a small
    // bundle could make gigabytes of work out of one highly compressible blob.
    if (!blob_ids.insert(b.Find("id")->as_string()).second) {
      return Bad("header: lists blob " + blob.id + " more than once");
    }
    h.blobs.push_back(std::move(blob));
  }
  if (messages + h.blobs.size() != h.records) {
    return Bad("header: record count does not match its ranges and blobs");
  }
  // The header is re-serialized for signing, so it must already be in that exact form.
  if (BundleHeaderSigningJson(h) != text) return Bad("header: not in canonical form");
  return h;
}

// ---------------------------------------------------------------------------------------------
// Reader

class BundleReader::Impl {
 public:
  int fd = -1;
  UniqueFd owned;  // fd, unless it is standard input
  std::string path;
  std::unique_ptr<ZSTD_DCtx, ZstdDCtxDeleter> dctx{ZSTD_createDCtx()};
  std::vector<uint8_t> in = std::vector<uint8_t>(1 << 16);
  ZSTD_inBuffer zin{nullptr, 0, 0};
  std::string out;      // decompressed bytes not yet consumed
  size_t out_pos = 0;
  bool frame_done = false;
  bool eof = false;
  uint64_t compressed = 0;
  uint64_t body_bytes = 0;
  uint64_t records = 0;
  Sha256Stream file_hash;  // magic .. end of body
  // Position in the header's lists.
  size_t range = 0;
  int64_t in_range = 0;
  size_t blob = 0;
  RangeHasher hasher;
  bool finished = false;

  // Reads up to n raw bytes (before the body, or the trailer).
  Result<size_t> ReadRaw(uint8_t* p, size_t n) {
    size_t got = 0;
    // Bytes already read into the zstd input buffer come first.
    if (zin.pos < zin.size) {
      size_t k = std::min(n, zin.size - zin.pos);
      std::memcpy(p, static_cast<const uint8_t*>(zin.src) + zin.pos, k);
      zin.pos += k;
      got += k;
    }
    while (got < n) {
      ssize_t r = ::read(fd, p + got, n - got);
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("cannot read", path, errno);
      }
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    return got;
  }

  // Makes at least n decompressed bytes available; false at the end of the frame.
  Result<bool> Fill(size_t n) {
    while (out.size() - out_pos < n) {
      if (frame_done) return false;
      if (zin.pos == zin.size) {
        ssize_t r;
        do {
          r = ::read(fd, in.data(), in.size());
        } while (r < 0 && errno == EINTR);
        if (r < 0) return ErrnoStatus("cannot read", path, errno);
        if (r == 0) return Bad("truncated in the body (after " + std::to_string(compressed) +
                               " compressed bytes)");
        zin = {in.data(), static_cast<size_t>(r), 0};
      }
      if (out_pos > (1 << 20)) {
        out.erase(0, out_pos);
        out_pos = 0;
      }
      size_t old = out.size();
      out.resize(old + ZSTD_DStreamOutSize());
      ZSTD_outBuffer zout{out.data() + old, out.size() - old, 0};
      size_t before = zin.pos;
      size_t ret = ZSTD_decompressStream(dctx.get(), &zout, &zin);
      file_hash.Update(static_cast<const uint8_t*>(zin.src) + before, zin.pos - before);
      compressed += zin.pos - before;
      out.resize(old + zout.pos);
      if (ZSTD_isError(ret)) {
        return Bad(std::string("body is damaged (zstd: ") + ZSTD_getErrorName(ret) +
                   ") near compressed byte " + std::to_string(compressed));
      }
      body_bytes += zout.pos;
      if (body_bytes > expect_body) return Bad("body is longer than its header says");
      if (ret == 0) frame_done = true;
    }
    return true;
  }

  uint64_t expect_body = 0;
  uint64_t messages = 0;
  uint64_t total_messages = 0;
};

BundleReader::BundleReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BundleReader::~BundleReader() = default;

Result<std::unique_ptr<BundleReader>> BundleReader::OpenFd(int fd, const std::string& name) {
  if (::lseek(fd, 0, SEEK_SET) != 0) return ErrnoStatus("cannot rewind", name, errno);
  UniqueFd dup(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!dup) return ErrnoStatus("cannot read", name, errno);
  auto impl = std::make_unique<Impl>();
  impl->path = name;
  impl->fd = dup.get();
  impl->owned = std::move(dup);
  return Start(std::move(impl));
}

Result<std::unique_ptr<BundleReader>> BundleReader::Open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path == "-" ? "standard input" : path;
  if (path == "-") {
    impl->fd = 0;
  } else {
    impl->owned.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!impl->owned) return ErrnoStatus("cannot open", path, errno);
    impl->fd = impl->owned.get();
  }
  return Start(std::move(impl));
}

Result<std::unique_ptr<BundleReader>> BundleReader::Start(std::unique_ptr<Impl> impl) {
  CryptoInit();
  if (!impl->dctx) return Status::IoError("out of memory");
  ZSTD_DCtx_setParameter(impl->dctx.get(), ZSTD_d_windowLogMax, 27);  // at most 128 MiB window
  uint8_t fixed[12];
  auto got = impl->ReadRaw(fixed, sizeof fixed);
  if (!got.ok()) return got.status();
  if (*got == 0) return Bad("is empty");
  if (*got < 8 || std::memcmp(fixed, kMagic, 8) != 0) {
    return Bad("has no bundle magic number: not an ssb-bundle file");
  }
  if (*got < 12) return Bad("is truncated in the header length");
  uint64_t len = GetLE(fixed + 8, 4);
  if (len > kBundleMaxHeader) return Status::LimitExceeded("bundle header of " + std::to_string(len) + " bytes is over the limit");
  // Check the length against the file before allocating for it (a 12-byte file may claim 16 MiB).
  struct stat st;
  if (::fstat(impl->fd, &st) == 0 && S_ISREG(st.st_mode) &&
      static_cast<uint64_t>(st.st_size) < 12 + len + 64) {
    return Bad("is truncated in the header");
  }
  std::string header(len, '\0');
  got = impl->ReadRaw(reinterpret_cast<uint8_t*>(header.data()), len);
  if (!got.ok()) return got.status();
  if (*got != len) return Bad("is truncated in the header");
  uint8_t sig[64];
  got = impl->ReadRaw(sig, sizeof sig);
  if (!got.ok()) return got.status();
  if (*got != sizeof sig) return Bad("is truncated in the header signature");
  auto h = ParseBundleHeaderJson(header);
  if (!h.ok()) return h.status();
  auto pk = ParseFeedId(h->exporter);
  if (!pk || !VerifySignature(*pk,
                              std::span(reinterpret_cast<const uint8_t*>(header.data()), header.size()),
                              std::span<const uint8_t, 64>(sig, 64))) {
    return Bad("header signature does not verify for exporter " + h->exporter);
  }
  h->signature = Base64Encode(std::span<const uint8_t>(sig, 64)) + ".sig.ed25519";
  impl->file_hash.Update(fixed, sizeof fixed);
  impl->file_hash.Update(header.data(), header.size());
  impl->file_hash.Update(sig, sizeof sig);
  impl->expect_body = h->body_bytes;
  for (const auto& range : h->ranges) impl->total_messages += static_cast<uint64_t>(range.count());
  std::unique_ptr<BundleReader> r(new BundleReader(std::move(impl)));
  r->header_ = std::move(h).value();
  r->file_offset_ = 12 + len + 64;
  return r;
}

Result<std::optional<BundleRecord>> BundleReader::Next() {
  Impl& s = *impl_;
  if (s.finished) return std::optional<BundleRecord>();
  auto have = s.Fill(kRecordHeader);
  if (!have.ok()) return have.status();
  if (!*have) {
    if (s.out.size() != s.out_pos) return Bad("body ends inside a record header");
    // End of the body: everything the header promised must have come.
    if (s.records != header_.records || s.body_bytes != header_.body_bytes) {
      return Bad("body ends after " + std::to_string(s.records) + " of " +
                 std::to_string(header_.records) + " records");
    }
    uint8_t trailer[kTrailerSize + 1];
    auto got = s.ReadRaw(trailer, sizeof trailer);
    if (!got.ok()) return got.status();
    if (*got < kTrailerSize) return Bad("is truncated in the trailer");
    if (*got > kTrailerSize) return Bad("has data after the trailer");
    Sha256Digest digest = s.file_hash.Final();
    if (std::memcmp(trailer, kTrailerMagic, 8) != 0 || GetLE(trailer + 8, 8) != s.compressed ||
        GetLE(trailer + 16, 8) != s.records || std::memcmp(trailer + 24, digest.data(), 32) != 0) {
      return Bad("trailer does not match the bundle (damaged or truncated)");
    }
    file_offset_ += s.compressed + kTrailerSize;
    s.finished = true;
    return std::optional<BundleRecord>();
  }
  const auto* rh = reinterpret_cast<const uint8_t*>(s.out.data() + s.out_pos);
  auto type = rh[0];
  uint64_t len = GetLE(rh + 1, 4);
  std::string where = "record " + std::to_string(s.records + 1);
  if (type == 1 && len > kBundleMaxMessageRecord) return Status::LimitExceeded("bundle " + where + ": message record over the limit");
  if (type == 2 && (len > kBundleMaxBlobRecord || len < 32)) return Status::LimitExceeded("bundle " + where + ": blob record size out of range");
  if (type != 1 && type != 2) return Bad(where + " has unknown type " + std::to_string(type));
  have = s.Fill(kRecordHeader + len);
  if (!have.ok()) return have.status();
  if (!*have) return Bad(where + " is truncated");
  std::string_view payload(s.out.data() + s.out_pos + kRecordHeader, len);
  s.out_pos += kRecordHeader + len;
  ++s.records;
  BundleRecord rec;
  if (type == 1) {
    // Messages: ranges in header order, each complete, each matching its hash.
    while (s.range < header_.ranges.size() && s.in_range == header_.ranges[s.range].count()) {
      s.range++;
      s.in_range = 0;
    }
    if (s.range >= header_.ranges.size() || s.blob > 0) {
      return Bad(where + ": a message the header does not list");
    }
    s.hasher.Add(payload);
    ++s.messages;
    if (++s.in_range == header_.ranges[s.range].count()) {
      if (s.hasher.FinishHex() != header_.ranges[s.range].sha256) {
        return Bad("messages of " + header_.ranges[s.range].author + " do not match the header hash");
      }
      s.hasher = RangeHasher();
    }
    range_index_ = s.range;
    rec.type = BundleRecord::Type::kMessage;
    rec.message.assign(payload);
  } else {
    if (s.messages != s.total_messages) return Bad(where + ": a blob before the end of the messages");
    if (s.blob >= header_.blobs.size()) return Bad(where + ": a blob the header does not list");
    const BundleBlob& want = header_.blobs[s.blob++];
    Sha256Digest d;
    std::memcpy(d.data(), payload.data(), 32);
    rec.blob_id = BlobIdFromDigest(d);
    rec.blob.assign(payload.begin() + 32, payload.end());
    if (rec.blob_id != want.id || rec.blob.size() != want.size) {
      return Bad(where + ": blob " + rec.blob_id + " does not match the header's " + want.id);
    }
    if (BlobIdFromDigest(Sha256(rec.blob)) != rec.blob_id) {
      return Bad(where + ": blob bytes do not hash to " + rec.blob_id);
    }
    rec.type = BundleRecord::Type::kBlob;
  }
  return std::optional<BundleRecord>(std::move(rec));
}

// ---------------------------------------------------------------------------------------------
// Writer

class BundleWriter::Impl {
 public:
  int fd = -1;
  BundleHeader header;
  std::unique_ptr<ZSTD_CCtx, ZstdCCtxDeleter> cctx{ZSTD_createCCtx()};
  std::vector<uint8_t> buf = std::vector<uint8_t>(ZSTD_CStreamOutSize());
  Sha256Stream file_hash;
  uint64_t written = 0;
  uint64_t compressed = 0;
  uint64_t records = 0;
  uint64_t body = 0;

  Status WriteRaw(const void* p, size_t n, bool hash = true) {
    if (hash) file_hash.Update(p, n);
    SSB_RETURN_IF_ERROR(WriteAll(fd, std::span(static_cast<const uint8_t*>(p), n), "the bundle"));
    written += n;
    return Status::Ok();
  }

  Status Compress(std::string_view data, ZSTD_EndDirective mode) {
    ZSTD_inBuffer zin{data.data(), data.size(), 0};
    for (;;) {
      ZSTD_outBuffer zout{buf.data(), buf.size(), 0};
      size_t rest = ZSTD_compressStream2(cctx.get(), &zout, &zin, mode);
      if (ZSTD_isError(rest)) return Status::IoError(std::string("zstd: ") + ZSTD_getErrorName(rest));
      SSB_RETURN_IF_ERROR(WriteRaw(buf.data(), zout.pos));
      compressed += zout.pos;
      if (mode == ZSTD_e_end ? rest == 0 : zin.pos == zin.size) return Status::Ok();
    }
  }

  Status Record(uint8_t type, std::string_view a, std::string_view b) {
    std::string rh;
    rh.push_back(static_cast<char>(type));
    PutU32(&rh, static_cast<uint32_t>(a.size() + b.size()));
    SSB_RETURN_IF_ERROR(Compress(rh, ZSTD_e_continue));
    SSB_RETURN_IF_ERROR(Compress(a, ZSTD_e_continue));
    if (!b.empty()) SSB_RETURN_IF_ERROR(Compress(b, ZSTD_e_continue));
    body += rh.size() + a.size() + b.size();
    ++records;
    return Status::Ok();
  }
};

BundleWriter::BundleWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BundleWriter::~BundleWriter() = default;

Result<std::unique_ptr<BundleWriter>> BundleWriter::Start(int fd, BundleHeader header,
                                                          const Keypair& exporter,
                                                          int compression_level) {
  auto impl = std::make_unique<Impl>();
  impl->fd = fd;
  header.exporter = exporter.id();
  std::string json = BundleHeaderSigningJson(header);
  if (json.size() > kBundleMaxHeader) return Status::LimitExceeded("bundle header too large");
  Signature sig = exporter.Sign(std::span(reinterpret_cast<const uint8_t*>(json.data()), json.size()));
  if (!impl->cctx) return Status::IoError("out of memory");
  ZSTD_CCtx_setParameter(impl->cctx.get(), ZSTD_c_compressionLevel, compression_level);
  ZSTD_CCtx_setParameter(impl->cctx.get(), ZSTD_c_checksumFlag, 1);
  ZSTD_CCtx_setParameter(impl->cctx.get(), ZSTD_c_windowLog, 23);  // 8 MiB: cheap to decode
  std::string prefix(reinterpret_cast<const char*>(kMagic), 8);
  PutU32(&prefix, static_cast<uint32_t>(json.size()));
  prefix += json;
  prefix.append(reinterpret_cast<const char*>(sig.data()), sig.size());
  SSB_RETURN_IF_ERROR(impl->WriteRaw(prefix.data(), prefix.size()));
  impl->header = std::move(header);
  return std::unique_ptr<BundleWriter>(new BundleWriter(std::move(impl)));
}

Status BundleWriter::AddMessage(std::string_view wire_json) {
  if (wire_json.size() > kBundleMaxMessageRecord) return Status::LimitExceeded("message too large for a bundle");
  return impl_->Record(1, wire_json, {});
}

Status BundleWriter::AddBlob(std::string_view id, std::span<const uint8_t> bytes) {
  auto digest = ParseHashId(id, '&');
  if (!digest) return Status::InvalidArgument("not a blob id: " + std::string(id));
  return impl_->Record(2, std::string_view(reinterpret_cast<const char*>(digest->data()), 32),
                       std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

Status BundleWriter::Finish() {
  Impl& s = *impl_;
  if (s.records != s.header.records || s.body != s.header.body_bytes) {
    return Status::InvalidArgument("bundle writer: records do not match the planned header");
  }
  SSB_RETURN_IF_ERROR(s.Compress({}, ZSTD_e_end));
  Sha256Digest digest = s.file_hash.Final();
  std::string trailer(reinterpret_cast<const char*>(kTrailerMagic), 8);
  PutU64(&trailer, s.compressed);
  PutU64(&trailer, s.records);
  trailer.append(reinterpret_cast<const char*>(digest.data()), 32);
  return s.WriteRaw(trailer.data(), trailer.size(), false);
}

uint64_t BundleWriter::bytes_written() const { return impl_->written; }

struct RangeHasher::State {
  Sha256Stream h;
};
RangeHasher::RangeHasher() : s_(std::make_unique<State>()) {}
RangeHasher::~RangeHasher() = default;
RangeHasher::RangeHasher(RangeHasher&&) noexcept = default;
RangeHasher& RangeHasher::operator=(RangeHasher&&) noexcept = default;
void RangeHasher::Add(std::string_view wire) {
  std::string len;
  PutU32(&len, static_cast<uint32_t>(wire.size()));
  s_->h.Update(len.data(), len.size());
  s_->h.Update(wire.data(), wire.size());
}
std::string RangeHasher::FinishHex() { return HexEncode(s_->h.Final()); }

}  // namespace ssb
