// Helpers for tests that read fixtures from tests/vectors (never from ../shared).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "ssb/json.h"

namespace ssb::test {

inline std::string VectorPath(const std::string& rel) {
  return std::string(SSB_TEST_VECTORS) + "/" + rel;
}

inline std::string ReadVectorFile(const std::string& rel) {
  std::ifstream in(VectorPath(rel), std::ios::binary);
  if (!in) throw std::runtime_error("missing test vector file " + VectorPath(rel));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Parses a fixture with our own JS-exact parser (keeps lone surrogates and key order).
inline json::Value ReadVectorJson(const std::string& rel) {
  json::ParseOptions opt;
  opt.max_depth = 100000;
  auto v = json::Parse(ReadVectorFile(rel), opt);
  if (!v.ok()) throw std::runtime_error(rel + ": " + v.status().ToString());
  return std::move(v).value();
}

inline const json::Value& At(const json::Value& obj, const char* key) {
  static const json::Value kNull;
  const json::Value* v = obj.Find(key);
  return v ? *v : kNull;
}

inline std::string Str(const json::Value& obj, const char* key) {
  const json::Value& v = At(obj, key);
  return v.is_string() ? v.as_string() : std::string();
}

// One line that scripts/test collects into its summary: "VECTORS name: passed/total".
// Also appended to $SSB_REPORT_FILE when set (scripts/test prints that file as its summary).
inline void ReportLine(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  if (const char* path = std::getenv("SSB_REPORT_FILE"); path && *path) {
    if (FILE* f = std::fopen(path, "a")) {
      std::fprintf(f, "%s\n", line.c_str());
      std::fclose(f);
    }
  }
}

inline void ReportCount(const std::string& name, size_t passed, size_t total) {
  ReportLine("VECTORS " + name + ": " + std::to_string(passed) + "/" + std::to_string(total));
}

}  // namespace ssb::test
