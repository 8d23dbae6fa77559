// libFuzzer target: the bundle container, header and records, and the verify pipeline that
// checks every message in them. Modes (first byte):
//   even: the rest is a bundle file as found on a stick (magic, header, signature, zstd body,
//         trailer): read it to the end, and verify it as `ssb-bundle verify` does;
//   odd:  the rest describes a bundle that this target builds and signs (so the fuzzer gets
//         past the exporter signature and the checksums): header JSON fields are fuzzed as
//         chunks, records as length-prefixed chunks; then the same reads.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>

#include "fuzz_util.h"
#include "ssb/bundle.h"
#include "ssb/bundle_sync.h"
#include "ssb/files.h"
#include "ssb/ref.h"

namespace {

// An in-memory file the readers can open by descriptor and by path.
struct MemFile {
  ssb::UniqueFd fd{::memfd_create("bundle", MFD_CLOEXEC)};
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd.get()); }
};

void ReadAll(const MemFile& f) {
  auto r = ssb::BundleReader::OpenFd(f.fd.get(), "fuzz");
  if (r.ok()) {
    for (int i = 0; i < 100000; ++i) {
      auto rec = (*r)->Next();
      if (!rec.ok() || !rec->has_value()) break;
    }
  }
  ssb::ImportOptions o;
  o.network = ssb::NetworkIdFromKey(ssb::MainNetKey());
  (void)ssb::VerifyBundle(f.path(), nullptr, o);
}

// Builds a signed bundle from fuzz input: a few ranges of fuzzed message records (their hashes
// computed, their ids taken from the last record when it parses) and blobs.
void Build(fuzz::Input& in, int fd) {
  ssb::BundleHeader h;
  h.network = ssb::NetworkIdFromKey(ssb::MainNetKey());
  h.set = std::string(64, 'a');
  std::vector<std::vector<std::string>> ranges;
  uint8_t nranges = in.Byte() % 4;
  for (uint8_t i = 0; i < nranges; ++i) {
    ssb::BundleRange r;
    r.author = fuzz::Key(in.Byte()).id();
    uint8_t first = in.Byte();
    r.first = 1 + first % 3;
    if (r.first > 1) r.previous = "%" + std::string(43, 'A') + "=.sha256";
    uint8_t n = 1 + in.Byte() % 4;
    std::vector<std::string> texts;
    ssb::RangeHasher hasher;
    for (uint8_t k = 0; k < n; ++k) {
      std::string t(in.Chunk(true));
      hasher.Add(t);
      h.body_bytes += 5 + t.size();
      texts.push_back(std::move(t));
    }
    r.last = r.first + n - 1;
    auto m = ssb::Message::Parse(texts.back());
    r.last_id = m.ok() && !m->id().empty() ? m->id() : "%" + std::string(43, 'B') + "=.sha256";
    r.sha256 = hasher.FinishHex();
    h.records += n;
    h.ranges.push_back(r);
    ranges.push_back(std::move(texts));
  }
  std::vector<std::string> blobs;
  uint8_t nblobs = in.Byte() % 3;
  for (uint8_t i = 0; i < nblobs; ++i) {
    std::string b(in.Chunk());
    std::string id = ssb::BlobIdFromDigest(ssb::Sha256(fuzz::Bytes(b)));
    h.blobs.push_back({id, b.size()});
    h.body_bytes += 5 + 32 + b.size();
    ++h.records;
    blobs.push_back(std::move(b));
  }
  auto w = ssb::BundleWriter::Start(fd, h, fuzz::Key(3), 1);
  if (!w.ok()) return;
  for (const auto& texts : ranges)
    for (const auto& t : texts)
      if (!(*w)->AddMessage(t).ok()) return;
  for (const auto& b : blobs)
    if (!(*w)->AddBlob(ssb::BlobIdFromDigest(ssb::Sha256(fuzz::Bytes(b))), fuzz::Bytes(b)).ok()) return;
  if (!(*w)->Finish().ok()) return;
  // The rest of the input, if any, overwrites bytes of the finished file: damage after signing.
  while (in.left() >= 3) {
    uint16_t at = static_cast<uint16_t>(in.Byte() << 8 | in.Byte());
    uint8_t v = in.Byte();
    off_t size = ::lseek(fd, 0, SEEK_END);
    if (size > 0) (void)!::pwrite(fd, &v, 1, at % size);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ssb::CryptoInit();
  fuzz::Input in(data, size);
  uint8_t mode = in.Byte();
  MemFile f;
  if (!f.fd) return 0;
  if (mode % 2 == 0) {
    std::string_view rest = in.Rest();
    if (!ssb::WriteAll(f.fd.get(), rest, "fuzz").ok()) return 0;
    // The header alone, as a reader sees it.
    if (rest.size() >= 12) {
      uint32_t len;
      std::memcpy(&len, rest.data() + 8, 4);
      if (len <= rest.size() - 12) (void)ssb::ParseBundleHeaderJson(rest.substr(12, len));
    }
  } else {
    Build(in, f.fd.get());
  }
  ReadAll(f);
  return 0;
}
