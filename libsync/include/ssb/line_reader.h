// Reads newline-separated records (NDJSON) from a descriptor in large blocks, with a bound on
// the length of one line: the reader of standard input for `sbot add`, `validate` and the
// verbs that stream lines to the server.
//
// Why not std::getline: it reads a character at a time through the stdio-synchronised
// std::cin (12% of `sbot validate`'s profile), and it holds a whole line in memory however
// long it is, so a 10 GB input without a newline ends in bad_alloc. Here memory is at most one
// block plus `max_line` bytes; a longer line is skipped to its newline without being held, and
// reported as such.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ssb/status.h"

namespace ssb {

class LineReader {
 public:
  // Lines longer than this (without the newline) are skipped and reported.
  static constexpr size_t kDefaultMaxLine = 1u << 20;
  // Bytes asked of read(2) at a time.
  static constexpr size_t kBlockBytes = 1u << 16;

  // Reads from `fd` (not owned; not closed). `name` names the input in errors ("stdin").
  explicit LineReader(int fd, std::string name = "stdin", size_t max_line = kDefaultMaxLine);

  enum class Kind {
    kLine,     // `line` holds the next line, without its '\n' (a final line may lack one)
    kTooLong,  // a line over max_line was skipped; `line` is empty, `skipped` says how long it
               // was, `status` (kLimitExceeded) says so naming the input and the line
    kEnd,      // the input ended
    kError,    // read(2) failed; `status` says why (the reader then returns kEnd)
  };
  struct Item {
    Kind kind = Kind::kEnd;
    std::string_view line;  // valid until the next call
    uint64_t skipped = 0;   // bytes of the skipped line (kTooLong)
    Status status;          // kTooLong, kError
  };

  // The next line. Lines are numbered from 1 in line_number() for messages.
  Item Next();
  // The number of the line Next() returned last.
  uint64_t line_number() const { return line_no_; }

 private:
  Item TooLong(uint64_t bytes) const;
  bool Fill();  // reads one more block into buf_; false at end of input or on error

  int fd_;
  std::string name_;
  size_t max_line_;
  std::string buf_;
  size_t pos_ = 0;      // start of unconsumed bytes in buf_
  bool eof_ = false;
  Status error_;
  uint64_t line_no_ = 0;
};

}  // namespace ssb
