// LineReader: lines in any block split, a bounded line length, errors and the last line.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "ssb/files.h"
#include "ssb/line_reader.h"

using namespace ssb;

namespace {

// Everything the reader yields for `input`, written into a pipe by a thread in pieces of
// `chunk` bytes: lines as themselves, skipped lines as "<too long N>".
std::vector<std::string> ReadAll(const std::string& input, size_t chunk, size_t max_line) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  UniqueFd rd(fds[0]), wr(fds[1]);
  std::thread writer([&] {
    for (size_t i = 0; i < input.size(); i += chunk) {
      (void)WriteAll(wr.get(), std::string_view(input).substr(i, chunk), "pipe");
    }
    wr.reset();
  });
  std::vector<std::string> out;
  LineReader r(rd.get(), "pipe", max_line);
  for (;;) {
    auto item = r.Next();
    if (item.kind == LineReader::Kind::kEnd) break;
    if (item.kind == LineReader::Kind::kLine) out.emplace_back(item.line);
    if (item.kind == LineReader::Kind::kTooLong) out.push_back("<too long " + std::to_string(item.skipped) + ">");
    if (item.kind == LineReader::Kind::kError) out.push_back("<error>");
  }
  writer.join();
  return out;
}

}  // namespace

TEST_CASE("LineReader: the same lines whatever the block boundaries") {
  std::string input = "first\n\nsecond line\r\n{\"a\":1}\nlast without newline";
  std::vector<std::string> want = {"first", "", "second line\r", "{\"a\":1}", "last without newline"};
  for (size_t chunk : {1, 2, 3, 7, 64, 100000}) {
    INFO(chunk);
    CHECK(ReadAll(input, chunk, 100) == want);
  }
  CHECK(ReadAll("", 1, 100).empty());
  CHECK(ReadAll("\n", 1, 100) == std::vector<std::string>{""});
}

TEST_CASE("LineReader: a line over the limit is skipped without being held, and counted") {
  std::string big(200000, 'x');  // several blocks
  std::string input = "a\n" + big + "\nb\n" + std::string(11, 'y') + "\n" + std::string(10, 'z');
  auto got = ReadAll(input, 4096, 10);
  CHECK(got == std::vector<std::string>{"a", "<too long 200000>", "b", "<too long 11>",
                                        std::string(10, 'z')});
  // A long line at the very end, without a newline.
  CHECK(ReadAll("a\n" + big, 65536, 1000) == std::vector<std::string>{"a", "<too long 200000>"});
  // The error names the input and the line.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  UniqueFd rd(fds[0]), wr(fds[1]);
  REQUIRE(WriteAll(wr.get(), std::string_view("ok\n0123456789abc\n"), "pipe").ok());
  wr.reset();
  LineReader r(rd.get(), "stdin", 10);
  CHECK(r.Next().kind == LineReader::Kind::kLine);
  auto item = r.Next();
  CHECK(item.kind == LineReader::Kind::kTooLong);
  CHECK(item.status.code() == Code::kLimitExceeded);
  CHECK(item.status.message() == "stdin line 2 is 13 bytes, over the limit of 10; skipped");
}

TEST_CASE("LineReader: numbers lines, reports a read error once") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  UniqueFd rd(fds[0]), wr(fds[1]);
  REQUIRE(WriteAll(wr.get(), std::string_view("x\ny\n"), "pipe").ok());
  wr.reset();
  LineReader r(rd.get());
  CHECK(r.Next().line == "x");
  CHECK(r.Next().line == "y");
  CHECK(r.line_number() == 2);
  CHECK(r.Next().kind == LineReader::Kind::kEnd);
  LineReader bad(-1, "nothing");
  auto e = bad.Next();
  CHECK(e.kind == LineReader::Kind::kError);
  CHECK(e.status.message().find("nothing") != std::string::npos);
  CHECK(bad.Next().kind == LineReader::Kind::kEnd);
}
