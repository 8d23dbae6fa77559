// Shared helpers for the benchmarks: timing, medians, a fixed-width table.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace ssb::bench {

inline double Now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

inline void Row(const std::string& name, double value, const std::string& unit,
                const std::string& note = "") {
  std::printf("| %-46s | %14.1f | %-8s | %s\n", name.c_str(), value, unit.c_str(), note.c_str());
}

inline void Header(const std::string& title) {
  std::printf("\n%s\n| %-46s | %14s | %-8s | %s\n", title.c_str(), "measure", "median", "unit",
              "note");
  std::printf("|%s|%s|%s|------\n", std::string(48, '-').c_str(), std::string(16, '-').c_str(),
              std::string(10, '-').c_str());
}

}  // namespace ssb::bench
