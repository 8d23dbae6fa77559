// base/files: the descriptor owner, the one errno mapping, the write loop, temp names, bounded
// reads of files from outside; crypto's streaming SHA-256.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include "ssb/base64.h"
#include "ssb/files.h"
#include "ssb/keys.h"
#include "store/store_test_util.h"

using namespace ssb;
using ssb::test::TempDir;

namespace {

bool IsOpen(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

}  // namespace

TEST_CASE("UniqueFd: moves, releases and resets its descriptor") {
  int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(raw >= 0);
  {
    UniqueFd a(raw);
    UniqueFd b(std::move(a));
    CHECK_FALSE(a.valid());
    CHECK(b.get() == raw);
    UniqueFd c;
    c = std::move(b);
    CHECK(c.get() == raw);
    CHECK(IsOpen(raw));
  }
  CHECK_FALSE(IsOpen(raw));  // closed once, by its last owner

  raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  UniqueFd d(raw);
  CHECK(d.release() == raw);
  CHECK_FALSE(d.valid());
  CHECK(IsOpen(raw));
  int other = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  d.reset(raw);
  d.reset(other);  // closes raw, owns other
  CHECK_FALSE(IsOpen(raw));
  CHECK(IsOpen(other));
  CHECK(d.Close("null").ok());
  CHECK_FALSE(IsOpen(other));
  CHECK(d.Close("null").ok());  // nothing owned: ok
}

TEST_CASE("ErrnoStatus: one mapping, full disks are kNoSpace") {
  CHECK(ErrnoStatus("cannot write", "x", ENOSPC).code() == Code::kNoSpace);
  CHECK(ErrnoStatus("cannot write", "x", EDQUOT).code() == Code::kNoSpace);
  CHECK(ErrnoStatus("cannot write", "x", EFBIG).code() == Code::kNoSpace);
  CHECK(ErrnoStatus("cannot open", "x", ENOENT).code() == Code::kNotFound);
  CHECK(ErrnoStatus("cannot open", "x", EACCES).code() == Code::kPermissionDenied);
  CHECK(ErrnoStatus("cannot open", "x", EROFS).code() == Code::kPermissionDenied);
  CHECK(ErrnoStatus("cannot read", "x", EIO).code() == Code::kIoError);
  CHECK(ErrnoStatus("cannot read", "/a/b", EIO).message().find("cannot read /a/b: ") == 0);
  CHECK(ErrnoStatus("cannot read", "", EIO).message().find("cannot read: ") == 0);
}

TEST_CASE("WriteAll: writes everything through short writes, a full disk is kNoSpace") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  UniqueFd r(fds[0]), w(fds[1]);
  // More than a pipe buffer holds, so the writer sees short writes while a reader drains.
  std::string data(1 << 20, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  std::string got;
  std::thread reader([&] {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(r.get(), buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
  });
  CHECK(WriteAll(w.get(), data, "pipe").ok());
  w.reset();
  reader.join();
  CHECK(got == data);

  UniqueFd full(::open("/dev/full", O_WRONLY | O_CLOEXEC));
  if (full) {
    Status st = WriteAll(full.get(), std::string_view("abc"), "/dev/full");
    CHECK(st.code() == Code::kNoSpace);
    CHECK(st.message().find("/dev/full") != std::string::npos);
  }
}

TEST_CASE("TempPathFor: unique per call, recognisable") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) CHECK(seen.insert(TempPathFor("/x/all.ssb-bundle")).second);
  std::string t = TempPathFor("/x/all.ssb-bundle");
  CHECK(t.rfind("/x/all.ssb-bundle.tmp-", 0) == 0);
  CHECK(IsTempName(t.substr(3)));
  std::string in = TempPathIn("/x");
  CHECK(in.rfind("/x/.tmp-", 0) == 0);
  CHECK(IsTempName(in.substr(3)));
  CHECK_FALSE(IsTempName("all.ssb-bundle"));
  CHECK_FALSE(IsTempName("tmp"));
}

TEST_CASE("WriteFileAtomic leaves no temp file behind") {
  TempDir dir;
  REQUIRE(WriteFileAtomic(dir.File("a"), "hello", 0600).ok());
  REQUIRE(WriteFileAtomic(dir.File("a"), "again", 0600).ok());
  CHECK(*ReadFile(dir.File("a")) == "again");
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++n;
  }
  CHECK(n == 1);
  CHECK(DirName("/a/b") == "/a");
  CHECK(DirName("/a") == "/");
  CHECK(DirName("a") == ".");
}

TEST_CASE("ReadFileLimited: size checked before reading, FIFOs and symlinks refused") {
  TempDir dir;
  std::ofstream(dir.File("small")) << "0123456789";
  ReadLimits lim;
  lim.max_bytes = 10;
  auto ok = ReadFileLimited(dir.File("small"), lim);
  REQUIRE(ok.ok());
  CHECK(*ok == "0123456789");

  // A sparse file far over the limit is refused without being read.
  {
    UniqueFd fd(::open(dir.File("sparse").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    REQUIRE(fd);
    REQUIRE(::ftruncate(fd.get(), off_t{1} << 40) == 0);
  }
  lim.max_bytes = 1 << 20;
  auto big = ReadFileLimited(dir.File("sparse"), lim);
  CHECK(big.status().code() == Code::kLimitExceeded);

  REQUIRE(::mkfifo(dir.File("fifo").c_str(), 0644) == 0);
  auto fifo = ReadFileLimited(dir.File("fifo"), lim);  // would block forever if opened plainly
  CHECK(fifo.status().code() == Code::kInvalidInput);

  std::filesystem::create_symlink(dir.File("small"), dir.File("link"));
  lim.no_follow = true;
  auto link = ReadFileLimited(dir.File("link"), lim);
  CHECK(link.status().code() == Code::kInvalidInput);
  CHECK(link.status().message().find("symbolic link") != std::string::npos);
}

TEST_CASE("Sha256Stream equals the one-shot hash, in any split") {
  std::string data;
  for (int i = 0; i < 1000; ++i) data += std::to_string(i * 7919);
  auto bytes = std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  Sha256Digest whole = Sha256(bytes);
  for (size_t split : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{65}, data.size()}) {
    Sha256Stream s;
    s.Update(bytes.subspan(0, split));
    Sha256Stream copy = s;  // continues independently
    s.Update(std::string_view(data).substr(split));
    CHECK(s.Final() == whole);
    copy.Update(bytes.subspan(split));
    CHECK(copy.Final() == whole);
  }
  Sha256Stream empty;
  CHECK(HexEncode(empty.Final()) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
