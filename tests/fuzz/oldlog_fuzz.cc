// libFuzzer target for the readers of ssb-server's and ssb-db2's logs (ssb/oldlog.h): the input
// is a whole log file, read as both formats, every record decoded.
// Properties: no crash, no hang, items tile the file (each starts where the last ended, offsets
// increase), memory stays bounded (the reader's window, not the input size, sets it).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "ssb/message.h"
#include "ssb/oldlog.h"

namespace {

void ReadAll(const std::string& path, ssb::oldlog::LogFormat f, size_t size) {
  ssb::oldlog::ReaderOptions opt;
  opt.max_record_bytes = 4096;  // small, so that inputs exercise the too-large path
  auto r = ssb::oldlog::LogReader::Open(path, f, opt);
  if (!r.ok()) std::abort();
  ssb::oldlog::LogItem item;
  uint64_t last_end = 0;
  for (;;) {
    auto more = (*r)->Next(&item);
    if (!more.ok()) std::abort();
    if (!*more) break;
    if (item.end <= item.offset || item.offset < last_end || item.end > size) std::abort();
    last_end = item.end;
    if (item.kind != ssb::oldlog::LogItem::Kind::kRecord) continue;
    auto rec = ssb::oldlog::DecodeRecord(f, item.bytes);
    if (!rec.ok()) continue;
    ssb::Message m = ssb::Message::FromValue(std::move(rec->value));
    (void)ssb::Validate(m, nullptr);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = memfd_create("log", 0);
  if (fd < 0) std::abort();
  if (size && write(fd, data, size) != static_cast<ssize_t>(size)) std::abort();
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  ReadAll(path, ssb::oldlog::LogFormat::kFlumeOffset, size);
  ReadAll(path, ssb::oldlog::LogFormat::kDb2Bipf, size);
  close(fd);
  return 0;
}
