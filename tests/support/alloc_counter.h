// Counts the heap bytes a test binary holds, so that a test can assert a peak by counting
// rather than by timing. Link tests/support/alloc_counter.cc into the binary: it replaces the
// global operator new and delete with counting ones.
#pragma once

#include <cstddef>

namespace ssb::test {

// Bytes currently allocated through operator new in this process.
size_t HeapInUse();
// The largest HeapInUse() since the last ResetHeapPeak().
size_t HeapPeak();
void ResetHeapPeak();

// The heap peak over a scope, above what was in use when it began.
class AllocCounter {
 public:
  AllocCounter() : base_(HeapInUse()) { ResetHeapPeak(); }
  size_t peak() const { return HeapPeak() - base_; }

 private:
  size_t base_;
};

}  // namespace ssb::test
