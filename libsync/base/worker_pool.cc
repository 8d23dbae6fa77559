// The process's worker pool.
#include "ssb/worker_pool.h"

#include <sched.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstdlib>
#include <system_error>

namespace ssb {

unsigned UsableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<unsigned>(n);
  }
  unsigned h = std::thread::hardware_concurrency();
  return h > 0 ? h : 1;
}

void LimitMallocArenas() {
#if defined(__GLIBC__)
  // glibc's own MALLOC_ARENA_MAX, when the user set it, wins.
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, 2);
#endif
}

WorkerPool& WorkerPool::Shared() {
  // Never destroyed: a job still queued at exit must not meet a destroyed pool, and idle
  // threads do not keep a process from exiting.
  static WorkerPool* pool = new WorkerPool(UsableCpus());
  return *pool;
}

WorkerPool::WorkerPool(unsigned threads) {
  if (threads == 0) threads = 1;
  for (unsigned i = 0; i < threads; ++i) {
    try {
      threads_.emplace_back([this] {
        for (;;) {
          std::function<void()> job;
          {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
            if (jobs_.empty()) return;  // stopping and drained
            job = std::move(jobs_.front());
            jobs_.pop_front();
          }
          job();
        }
      });
    } catch (const std::system_error&) {
      break;  // no more threads: the ones started (or the callers' RunOne) do the work
    }
  }
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  while (RunOne()) {
  }
}

void WorkerPool::Submit(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

bool WorkerPool::RunOne() {
  std::function<void()> job;
  {
    std::lock_guard lock(mu_);
    if (jobs_.empty()) return false;
    job = std::move(jobs_.front());
    jobs_.pop_front();
  }
  job();
  return true;
}

}  // namespace ssb
