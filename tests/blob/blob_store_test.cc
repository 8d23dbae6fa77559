#include <catch2/catch.hpp>
#include <fstream>
#include <unistd.h>
#include <filesystem>

#include "ssb/blob_store.h"
#include "ssb/keys.h"
#include "ssb/ref.h"

namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/ssb-blob-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

}  // namespace

TEST_CASE("blobs round trip under their sha256 id") {
  TempDir t;
  auto store = ssb::BlobStore::Open(t.path.string());
  REQUIRE(store.ok());
  auto empty = store->Add({});
  REQUIRE(empty.ok());
  CHECK(*empty == "&47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=.sha256");
  std::vector<uint8_t> big(65539, 0x07);
  auto id = store->Add(big);
  REQUIRE(id.ok());
  CHECK(*id == "&S/HCvYEkngEdBDmueic57z+6vhUW6/NtA1HC0cAyrVY=.sha256");  // refs_keys_blobs.json
  CHECK(store->Has(*id));
  CHECK(store->Size(*id).value() == 65539);
  CHECK(store->Get(*id).value() == big);
  // File names are hex: no '/', '+' or mixed case from base64.
  std::string name = fs::path(store->PathFor(*id)).filename().string();
  CHECK(name.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(store->List().value() == std::vector<std::string>{*empty, *id});  // sorted
  CHECK(store->Remove(*id).ok());
  CHECK_FALSE(store->Has(*id));
  CHECK(store->Remove(*id).code() == ssb::Code::kNotFound);
  CHECK(store->Get(*id).status().code() == ssb::Code::kNotFound);
}

TEST_CASE("a blob over the limit, or whose bytes do not match its id, is refused") {
  TempDir t;
  ssb::BlobStoreOptions opt;
  opt.max_size = 100;
  auto store = ssb::BlobStore::Open(t.path.string(), opt);
  REQUIRE(store.ok());
  CHECK(store->Add(std::vector<uint8_t>(101, 1)).status().code() == ssb::Code::kLimitExceeded);
  CHECK(store->Add(std::vector<uint8_t>(100, 1)).ok());
  auto hello = Bytes("hello");
  std::string hello_id = ssb::BlobIdFromDigest(ssb::Sha256(hello));
  CHECK(store->AddExpecting(hello_id, Bytes("hellO")).code() == ssb::Code::kInvalidInput);
  CHECK_FALSE(store->Has(hello_id));
  CHECK(store->AddExpecting(hello_id, hello).ok());
  CHECK(store->AddExpecting("&nope", hello).code() == ssb::Code::kInvalidArgument);
  CHECK(ssb::kDefaultMaxBlobSize == 5 * 1024 * 1024 - 1);

  // A streamed file over the limit leaves nothing behind.
  fs::path big = t.path / "big";
  std::ofstream(big) << std::string(500, 'x');
  CHECK(store->AddFile(big.string()).status().code() == ssb::Code::kLimitExceeded);
  CHECK(store->List().value().size() == 2);
}

TEST_CASE("a damaged blob file is reported, stale temp files are cleaned, junk is ignored") {
  TempDir t;
  {
    auto store = ssb::BlobStore::Open(t.path.string());
    REQUIRE(store.ok());
    auto id = store->Add(Bytes("some bytes"));
    REQUIRE(id.ok());
    std::ofstream(store->PathFor(*id), std::ios::trunc) << "other bytes";
    CHECK(store->Get(*id).status().code() == ssb::Code::kCorruption);
  }
  std::ofstream(t.path / "sha256" / ".tmp-123-456") << "half a blob";
  std::ofstream(t.path / "sha256" / ".DS_Store") << "junk";
  auto store = ssb::BlobStore::Open(t.path.string());
  REQUIRE(store.ok());
  CHECK_FALSE(fs::exists(t.path / "sha256" / ".tmp-123-456"));
  CHECK(fs::exists(t.path / "sha256" / ".DS_Store"));  // never delete what we do not own
  CHECK(store->List().value().size() == 1);
}

TEST_CASE("unwritable locations give a clear error naming the path") {
  TempDir t;
  fs::path file = t.path / "a-file";
  std::ofstream(file) << "x";
  auto bad = ssb::BlobStore::Open((file / "blobs").string());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("a-file") != std::string::npos);
  if (::geteuid() == 0) {
    WARN("running as root: permission bits do not stop writes, skipping the chmod check");
    return;
  }
  fs::create_directories(t.path / "ro");
  fs::permissions(t.path / "ro", fs::perms::owner_read | fs::perms::owner_exec);
  auto ro = ssb::BlobStore::Open((t.path / "ro").string());
  CHECK_FALSE(ro.ok());
  fs::permissions(t.path / "ro", fs::perms::owner_all);
}
