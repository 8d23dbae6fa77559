// The process's worker threads for CPU work: parsing messages, checking signatures, decrypting.
// One pool serves the whole process (the ingest stage of the network, bundle import and
// `sbot add` alike), so that work from several sources shares the cores instead of each
// source starting threads of its own.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ssb {

class WorkerPool {
 public:
  // The process's pool: one thread per CPU this process may run on (its affinity mask, so
  // `taskset -c 0` gives one), started on first use and never stopped (its threads idle on a
  // condition variable until the process exits).
  static WorkerPool& Shared();

  // A pool of `threads` threads (at least one). Prefer Shared(); separate pools are for tests.
  explicit WorkerPool(unsigned threads);
  // Runs the jobs still queued, then joins the threads.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `job`; jobs run in any order, on any of the threads (or on a thread calling
  // RunOne). A job must not throw.
  void Submit(std::function<void()> job);
  // Runs one queued job on the calling thread and returns true, or returns false at once when
  // none is queued. A thread waiting for results calls it so that it helps instead of idling:
  // with one CPU, the wait costs no context switch.
  bool RunOne();

  unsigned size() const { return static_cast<unsigned>(threads_.size()); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

// The CPUs this process may run on (sched_getaffinity), at least 1.
unsigned UsableCpus();

// For a long-lived process, before its threads start: at most two malloc arenas (glibc only,
// and not when MALLOC_ARENA_MAX is set in the environment). glibc gives threads that allocate
// at once arenas of their own, up to 8 per core; the pool's workers allocate the messages they
// parse and the thread that stores them frees them, so every arena grows to its own peak. Two
// took bench/net's receiving server from 26.1–26.7 MiB to 24.7–25.4 at the same speed;
// `sbot add`, whose reader thread allocates too, ran 5% slower with it, so only `sbot server`
// asks. A process-wide setting, so the library never makes it on its own.
void LimitMallocArenas();

}  // namespace ssb
