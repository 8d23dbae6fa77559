// The readers and writers of ssb-server's flume/log.offset and ssb-db2's db2/log.bipf:
// against logs the JavaScript packages wrote (tests/vectors/oldlog), and against damaged and
// hostile files.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/alloc_counter.h"
#include "ssb/message.h"
#include "ssb/oldlog.h"
#include "store/store_test_util.h"
#include "support/vectors.h"

namespace ssb::oldlog {
namespace {

using test::TempDir;

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

struct Fixture {
  std::string key;
  json::Value value;
  double timestamp;
};

// tests/vectors/oldlog/records.jsonl: what the JavaScript packages were given.
std::vector<Fixture> Records() {
  std::istringstream in(test::ReadVectorFile("oldlog/records.jsonl"));
  std::vector<Fixture> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto v = json::Parse(line);
    REQUIRE(v.ok());
    out.push_back({v->Find("key")->as_string(), *v->Find("value"),
                   v->Find("timestamp")->as_number()});
  }
  return out;
}

// tests/vectors/oldlog/dump-*.jsonl: what the JavaScript packages read back.
std::vector<json::Value> Dump(const std::string& name) {
  std::istringstream in(test::ReadVectorFile("oldlog/" + name));
  std::vector<json::Value> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto v = json::Parse(line);
    REQUIRE(v.ok());
    out.push_back(std::move(v).value());
  }
  return out;
}

struct ReadResult {
  std::vector<LogItem> items;          // copies without bytes
  std::vector<std::string> records;    // data of kRecord items
  size_t deleted = 0, damaged = 0;
  std::vector<std::string> problems;
};

ReadResult ReadAll(const std::string& path, LogFormat f, ReaderOptions opt = {}) {
  auto r = LogReader::Open(path, f, opt);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  ReadResult out;
  LogItem item;
  for (;;) {
    auto more = (*r)->Next(&item);
    INFO(more.status().ToString());
    REQUIRE(more.ok());
    if (!*more) break;
    if (item.kind == LogItem::Kind::kRecord) {
      out.records.emplace_back(reinterpret_cast<const char*>(item.bytes.data()), item.bytes.size());
    } else if (item.kind == LogItem::Kind::kDeleted) {
      ++out.deleted;
    } else {
      ++out.damaged;
      out.problems.push_back(item.problem);
    }
    item.bytes = {};
    out.items.push_back(item);
  }
  return out;
}

// A bipf tag (LEB128 of length << 3 | type).
std::string Tag(size_t len, int type) {
  std::string out;
  uint64_t t = uint64_t{len} << 3 | static_cast<uint64_t>(type);
  while (t >= 0x80) {
    out.push_back(static_cast<char>((t & 0x7f) | 0x80));
    t >>= 7;
  }
  out.push_back(static_cast<char>(t));
  return out;
}

std::string VectorPath(const std::string& rel) { return std::string(SSB_TEST_VECTORS) + "/" + rel; }

// A log of `records` written by our writer.
std::string WriteLog(const TempDir& dir, const std::string& name, LogFormat f,
                     const std::vector<Fixture>& records) {
  std::string path = dir.File(name);
  auto w = LogWriter::Create(path, f);
  REQUIRE(w.ok());
  for (const auto& r : records) {
    std::string data = EncodeRecord(f, r.key, r.value, r.timestamp);
    REQUIRE((*w)->Append(Bytes(data)).ok());
  }
  REQUIRE((*w)->Flush().ok());
  return path;
}

TEST_CASE("oldlog: our writers write the bytes the JavaScript packages wrote", "[oldlog]") {
  TempDir dir;
  auto records = Records();
  REQUIRE(records.size() == 35);
  std::string flume = WriteLog(dir, "log.offset", LogFormat::kFlumeOffset, records);
  std::string db2 = WriteLog(dir, "log.bipf", LogFormat::kDb2Bipf, records);
  CHECK(ReadFile(flume) == test::ReadVectorFile("oldlog/log.offset"));
  CHECK(ReadFile(db2) == test::ReadVectorFile("oldlog/log.bipf"));
  test::ReportLine("oldlog writers: flume and db2 bytes equal the JavaScript packages' logs (35 records)");
}

TEST_CASE("oldlog: the logs the JavaScript packages wrote read back as they read them", "[oldlog]") {
  auto records = Records();
  for (LogFormat f : {LogFormat::kFlumeOffset, LogFormat::kDb2Bipf}) {
    bool flume = f == LogFormat::kFlumeOffset;
    auto dump = Dump(flume ? "dump-offset.jsonl" : "dump-bipf.jsonl");
    auto got = ReadAll(VectorPath(flume ? "oldlog/log.offset" : "oldlog/log.bipf"), f);
    REQUIRE(got.records.size() == dump.size());
    CHECK(got.damaged == 0);
    CHECK(got.deleted == 0);
    size_t same_as_js = 0, verified = 0;
    for (size_t i = 0; i < dump.size(); ++i) {
      INFO(FormatName(f) << " record " << i);
      CHECK(got.items[i].offset == static_cast<uint64_t>(dump[i].Find("offset")->as_number()));
      auto rec = DecodeRecord(f, Bytes(got.records[i]));
      REQUIRE(rec.ok());
      CHECK(rec->key == dump[i].Find("key")->as_string());
      REQUIRE(rec->received);
      CHECK(*rec->received == dump[i].Find("timestamp")->as_number());
      std::string wire = json::Stringify(rec->value);
      Message m = Message::FromValue(rec->value);
      bool sig_ok = Validate(m, nullptr, {}).ok() || m.sequence() != 1;
      if (m.sequence() == 1 && Validate(m, nullptr, {}).ok()) ++verified;
      if (wire == dump[i].Find("value")->as_string()) {
        ++same_as_js;
      } else {
        // Only where JavaScript's bipf.decode loses a "__proto__" member (it sets the
        // prototype instead): we keep it, and the signature verifies.
        CHECK_FALSE(flume);
        CHECK(wire.find("\"__proto__\"") != std::string::npos);
        CHECK(sig_ok);
        CHECK_FALSE(dump[i].Find("sig")->as_bool());
      }
      // What was given to the package, except lone surrogates, which bipf cannot hold.
      std::string given = json::Stringify(records[i].value);
      if (flume || given.find("\\ud") == std::string::npos) {
        CHECK(wire == given);
      } else {
        CHECK(wire != given);
        CHECK(wire.find("\xEF\xBF\xBD") != std::string::npos);  // U+FFFD
      }
    }
    CHECK(same_as_js == (flume ? 35 : 34));
    test::ReportLine("oldlog " + std::string(FormatName(f)) + ": " + std::to_string(same_as_js) +
                 "/35 records read back as the JavaScript package reads them");
  }
}

TEST_CASE("oldlog: writer and reader round trip, resuming at any record end", "[oldlog]") {
  TempDir dir;
  auto records = Records();
  for (LogFormat f : {LogFormat::kFlumeOffset, LogFormat::kDb2Bipf}) {
    // Enough records to fill several 64 KiB blocks.
    std::vector<Fixture> many;
    for (int k = 0; k < 12; ++k) many.insert(many.end(), records.begin(), records.end());
    std::string path = WriteLog(dir, std::string(FormatName(f)), f, many);
    auto all = ReadAll(path, f);
    REQUIRE(all.records.size() == many.size());
    for (size_t i = 0; i < many.size(); ++i) {
      auto rec = DecodeRecord(f, Bytes(all.records[i]));
      REQUIRE(rec.ok());
      CHECK(rec->key == many[i].key);
      CHECK(*rec->received == many[i].timestamp);
    }
    for (size_t i : {size_t{0}, size_t{1}, size_t{57}, many.size() - 1}) {
      ReaderOptions opt;
      opt.start = all.items[i].end;
      auto rest = ReadAll(path, f, opt);
      CHECK(rest.records.size() == many.size() - i - 1);
      CHECK(rest.damaged == 0);
    }
  }
}

TEST_CASE("oldlog: deleted records are zero-filled and skipped", "[oldlog]") {
  TempDir dir;
  auto records = Records();
  for (LogFormat f : {LogFormat::kFlumeOffset, LogFormat::kDb2Bipf}) {
    std::string path = WriteLog(dir, std::string(FormatName(f)), f, records);
    auto all = ReadAll(path, f);
    std::string bytes = ReadFile(path);
    // Zero the data of records 3 and 10 as the packages' del() does (frame kept).
    for (size_t i : {3, 10}) {
      uint64_t off = all.items[i].offset;
      size_t header = f == LogFormat::kFlumeOffset ? 4 : 2;
      std::memset(bytes.data() + off + header, 0, all.records[i].size());
    }
    WriteFile(path, bytes);
    auto after = ReadAll(path, f);
    CHECK(after.deleted == 2);
    CHECK(after.damaged == 0);
    CHECK(after.records.size() == records.size() - 2);
  }
}

TEST_CASE("oldlog: a flume log cut mid-record ends with a damaged tail", "[oldlog]") {
  TempDir dir;
  auto records = Records();
  std::string path = WriteLog(dir, "log.offset", LogFormat::kFlumeOffset, records);
  std::string bytes = ReadFile(path);
  auto all = ReadAll(path, LogFormat::kFlumeOffset);
  for (size_t cut : {size_t{2}, size_t{7}, all.records.back().size() / 2}) {
    WriteFile(path, bytes.substr(0, all.items.back().offset + cut));
    auto got = ReadAll(path, LogFormat::kFlumeOffset);
    CHECK(got.records.size() == records.size() - 1);
    REQUIRE(got.damaged == 1);
    CHECK(got.items.back().kind == LogItem::Kind::kDamaged);
    CHECK(got.items.back().offset == all.items.back().offset);
    CHECK(got.problems[0].find("interrupted write") != std::string::npos);
  }
}

TEST_CASE("oldlog: a damaged flume frame is skipped and reading goes on", "[oldlog]") {
  TempDir dir;
  auto records = Records();
  std::string path = WriteLog(dir, "log.offset", LogFormat::kFlumeOffset, records);
  std::string bytes = ReadFile(path);
  auto all = ReadAll(path, LogFormat::kFlumeOffset);
  SECTION("length field past the end of the file") {
    uint64_t off = all.items[5].offset;
    bytes[off] = '\x7f';  // a length of ~2 GiB
    WriteFile(path, bytes);
    auto got = ReadAll(path, LogFormat::kFlumeOffset);
    CHECK(got.damaged == 1);
    CHECK(got.records.size() == records.size() - 1);
    CHECK(got.problems[0].find("runs past the end") != std::string::npos);
  }
  SECTION("closing length does not match") {
    uint64_t off = all.items[9].offset + 4 + all.records[9].size();
    bytes[off + 3] ^= 1;
    WriteFile(path, bytes);
    auto got = ReadAll(path, LogFormat::kFlumeOffset);
    CHECK(got.damaged == 1);
    CHECK(got.records.size() == records.size() - 1);
    CHECK(got.items[9].kind == LogItem::Kind::kDamaged);
    CHECK(got.items[9].end == all.items[10].offset);
  }
  SECTION("garbage inside the log") {
    std::string garbage(5000, '\x5a');
    bytes.insert(all.items[20].offset, garbage);
    // Later frames now sit 5000 bytes further: their end fields no longer match, so nothing
    // after the garbage is a well-formed frame.
    WriteFile(path, bytes);
    auto got = ReadAll(path, LogFormat::kFlumeOffset);
    CHECK(got.records.size() == 20);
    CHECK(got.damaged == 1);
  }
  SECTION("a record over the size limit") {
    ReaderOptions opt;
    opt.max_record_bytes = 450;
    auto got = ReadAll(path, LogFormat::kFlumeOffset, opt);
    size_t big = 0;
    for (const auto& r : all.records) big += r.size() > 450;
    CHECK(got.damaged == big);
    CHECK(got.records.size() == records.size() - big);
  }
}

TEST_CASE("oldlog: damaged db2 blocks lose only the rest of their block", "[oldlog]") {
  TempDir dir;
  auto records = Records();
  std::vector<Fixture> many;
  for (int k = 0; k < 12; ++k) many.insert(many.end(), records.begin(), records.end());
  std::string path = WriteLog(dir, "log.bipf", LogFormat::kDb2Bipf, many);
  std::string bytes = ReadFile(path);
  auto all = ReadAll(path, LogFormat::kDb2Bipf);
  SECTION("record length past its block") {
    uint64_t off = all.items[40].offset;
    uint64_t block_end = off - off % kDb2BlockSize + kDb2BlockSize;
    size_t lost = 0;
    for (const auto& it : all.items) lost += it.offset >= off && it.offset < block_end;
    bytes[off] = '\xff';
    bytes[off + 1] = '\xff';
    WriteFile(path, bytes);
    auto got = ReadAll(path, LogFormat::kDb2Bipf);
    CHECK(got.damaged == 1);
    CHECK(got.records.size() == many.size() - lost);
    CHECK(got.problems[0].find("past the end of its block") != std::string::npos);
  }
  SECTION("file cut inside a block") {
    WriteFile(path, bytes.substr(0, all.items.back().offset + 100));
    auto got = ReadAll(path, LogFormat::kDb2Bipf);
    CHECK(got.records.size() == many.size() - 1);
    CHECK(got.damaged == 1);
  }
  SECTION("garbage record data is framed and decodes to an error") {
    uint64_t off = all.items[7].offset;
    bytes[off + 2] = '\x07';  // reserved type
    WriteFile(path, bytes);
    auto got = ReadAll(path, LogFormat::kDb2Bipf);
    CHECK(got.records.size() == many.size());
    auto rec = DecodeDb2Record(Bytes(got.records[7]));
    CHECK_FALSE(rec.ok());
  }
}

TEST_CASE("oldlog: huge sparse files are read in bounded memory", "[oldlog]") {
  TempDir dir;
  auto records = Records();
  for (LogFormat f : {LogFormat::kFlumeOffset, LogFormat::kDb2Bipf}) {
    std::string path = WriteLog(dir, std::string(FormatName(f)), f, records);
    // ~10 GB of hole after the records, then the same records again (at a block boundary).
    std::string tail = ReadFile(path);
    int fd = ::open(path.c_str(), O_WRONLY);
    REQUIRE(fd >= 0);
    constexpr off_t kTen = off_t{10'000'000'000} / kDb2BlockSize * kDb2BlockSize;
    REQUIRE(::ftruncate(fd, kTen) == 0);
    REQUIRE(::pwrite(fd, tail.data(), tail.size(), kTen) == static_cast<ssize_t>(tail.size()));
    ::close(fd);
    test::AllocCounter counter;
    auto got = ReadAll(path, f);
    size_t peak = counter.peak();
    INFO(FormatName(f) << " peak heap " << peak);
    CHECK(peak < (4u << 20));
    if (f == LogFormat::kFlumeOffset) {
      // Nothing past 4 GiB is a flume record; the hole up to there and the rest are damage.
      CHECK(got.records.size() == records.size());
      CHECK(got.damaged == 2);
    } else {
      // Holes read as empty blocks; the copy's blocks read again.
      CHECK(got.records.size() == 2 * records.size());
      CHECK(got.damaged == 0);
    }
  }
}

TEST_CASE("oldlog: bipf decoding follows bipf.decode and JSON.stringify", "[oldlog]") {
  auto enc = [](const char* json) {
    auto v = json::Parse(json);
    REQUIRE(v.ok());
    return BipfEncode(*v);
  };
  SECTION("round trips") {
    for (const char* j : {"null", "true", "false", "0", "-1", "2147483647", "2147483648",
                          "-2147483648", "1.5", "1e300", "\"\"", "\"h\\u00e9llo\"", "[]", "{}",
                          "[1,[2,[3]],{\"a\":null}]", "{\"b\":1,\"a\":2,\"1\":3}"}) {
      INFO(j);
      std::string b = enc(j);
      auto back = BipfDecode(Bytes(b));
      REQUIRE(back.ok());
      CHECK(json::Stringify(*back) == json::Stringify(*json::Parse(j)));
    }
  }
  SECTION("the encoder's choices") {
    CHECK(enc("null") == std::string("\x06", 1));
    CHECK(enc("true") == std::string("\x0e\x01", 2));
    CHECK(enc("1") == std::string("\x22\x01\x00\x00\x00", 5));
    CHECK(enc("-0") == std::string("\x22\x00\x00\x00\x00", 5));  // Number.isInteger(-0)
    CHECK(enc("2147483648").substr(0, 1) == "\x43");             // a double
    CHECK(enc("\"a\"") == std::string("\x08" "a", 2));
    CHECK(enc("\"\\ud800\"") == std::string("\x18\xEF\xBF\xBD", 4));  // Buffer#write: U+FFFD
  }
  SECTION("undefined, NaN and __proto__ as JavaScript reads them") {
    // {"a": undefined, "b": 1, "a": 2}: a keeps its first place.
    std::string obj = std::string("\x08" "a" "\x0e\x02", 4) + std::string("\x08" "b") +
                      std::string("\x22\x01\x00\x00\x00", 5) + std::string("\x08" "a") +
                      std::string("\x22\x02\x00\x00\x00", 5);
    std::string b = Tag(obj.size(), 5) + obj;
    auto v = BipfDecode(Bytes(b));
    REQUIRE(v.ok());
    CHECK(json::Stringify(*v) == "{\"a\":2,\"b\":1}");
    // {"a": undefined}
    std::string only = std::string("\x08" "a" "\x0e\x02", 4);
    v = BipfDecode(Bytes(Tag(only.size(), 5) + only));
    REQUIRE(v.ok());
    CHECK(json::Stringify(*v) == "{}");
    // [undefined]
    v = BipfDecode(Bytes(std::string("\x14\x0e\x02", 3)));
    REQUIRE(v.ok());
    CHECK(json::Stringify(*v) == "[null]");
    // NaN
    std::string nan = std::string("\x43", 1) + std::string("\x00\x00\x00\x00\x00\x00\xf8\x7f", 8);
    v = BipfDecode(Bytes(nan));
    REQUIRE(v.ok());
    CHECK(json::Stringify(*v) == "null");
    v = BipfDecode(Bytes(enc("{\"__proto__\":{\"x\":1}}")));
    REQUIRE(v.ok());
    CHECK(json::Stringify(*v) == "{\"__proto__\":{\"x\":1}}");
  }
  SECTION("ill-formed UTF-8 becomes U+FFFD as Buffer#toString does") {
    auto v = BipfDecode(Bytes(std::string("\x18\xED\xA0\x80", 4)));
    REQUIRE(v.ok());
    CHECK(v->as_string() == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  }
  SECTION("malformed input is refused") {
    for (std::string bad : {std::string(""), std::string("\x07", 1), std::string("\x09", 1),
                            std::string("\x1a\x01\x02\x03", 4), std::string("\x0e\x03", 2),
                            std::string("\x16\x00\x00", 3), std::string("\x80\x80\x80\x80\x80\x80\x80\x80\x80", 9),
                            std::string("\x45\x22\x01\x00\x00\x00\x00\x00\x00", 9),
                            std::string("\x2d\x22\x01\x00\x00\x00", 6), std::string("\x22\x01\x00\x00\x00\x00", 6),
                            std::string("\x09\x00", 2), std::string("\x0e\x02", 2)}) {
      INFO(bad.size());
      CHECK_FALSE(BipfDecode(Bytes(bad)).ok());
    }
  }
  SECTION("nesting bombs are refused without deep recursion") {
    // 60,000 nested arrays in one 64 KiB record.
    std::string b = "\x04";  // []
    while (b.size() < 60000) b = Tag(b.size(), 4) + b;
    auto v = BipfDecode(Bytes(b));
    REQUIRE_FALSE(v.ok());
    CHECK(v.status().code() == Code::kLimitExceeded);
    auto rec = DecodeDb2Record(Bytes(b));
    CHECK_FALSE(rec.ok());
  }
}

TEST_CASE("oldlog: records are {key, value, timestamp} objects", "[oldlog]") {
  CHECK_FALSE(DecodeFlumeRecord(Bytes("[1]")).ok());
  CHECK_FALSE(DecodeFlumeRecord(Bytes("{\"key\":\"%a\",\"timestamp\":1}")).ok());
  CHECK_FALSE(DecodeFlumeRecord(Bytes("{\"value\":\"x\"}")).ok());
  CHECK_FALSE(DecodeFlumeRecord(Bytes("{\"value\":{}")).ok());
  auto r = DecodeFlumeRecord(Bytes("{\"value\":{\"a\":1},\"timestamp\":\"soon\"}"));
  REQUIRE(r.ok());
  CHECK(r->key.empty());
  CHECK_FALSE(r->received);
  std::string deep(1000, '[');
  CHECK_FALSE(DecodeFlumeRecord(Bytes("{\"value\":{\"a\":" + deep)).ok());
}

}  // namespace
}  // namespace ssb::oldlog
