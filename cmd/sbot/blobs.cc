// blobs.* verbs on the data directory: the content-addressed blob store.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "ssb/ref.h"
#include "verbs.h"

namespace sbot {
namespace {

using ssb::json::Value;

ssb::Result<std::string> OneBlobId(const VerbArgs& args, const char* verb) {
  std::string id = args.positional.size() == 1 ? args.positional[0] : "";
  for (const char* k : {"id", "key", "hash"}) {
    if (id.empty()) SSB_RETURN_IF_ERROR(OptString(args.options, k, &id));
  }
  if (!ssb::IsBlobId(id)) {
    return ssb::Status::InvalidArgument(std::string(verb) + " needs a blob id (&…=.sha256)");
  }
  return id;
}

// {id, size, ts} as ssb-blobs describes a blob.
std::optional<Value> Meta(ssb::BlobStore& blobs, const std::string& id) {
  struct stat st;
  if (::stat(blobs.PathFor(id).c_str(), &st) != 0) return std::nullopt;
  Value v = Value::Object();
  v.Set("id", Value::String(id));
  v.Set("size", Value::Number(static_cast<double>(st.st_size)));
  v.Set("ts", Value::Number(static_cast<double>(st.st_mtim.tv_sec) * 1000 +
                            static_cast<double>(st.st_mtim.tv_nsec / 1000000)));
  return v;
}

}  // namespace

// blobs.add [FILE|-]: stores the bytes (stdin by default), prints the id.
int LocalBlobsAdd(Context& ctx, const Method&, const VerbArgs& args) {
  std::string path = args.positional.empty() ? "-" : args.positional[0];
  if (args.positional.size() > 1) {
    return ctx.Fail(ssb::Status::InvalidArgument("blobs.add takes one file (or -)"));
  }
  auto blobs = ctx.Blobs();
  if (!blobs.ok()) return ctx.Fail(blobs.status());
  auto id = (*blobs)->AddFile(path);
  if (!id.ok()) return ctx.Fail(id.status());
  ctx.PrintRaw(*id);
  return kExitOk;
}

// blobs.get ID / blobs.getSlice --hash ID --start N --end N: the bytes on stdout.
int LocalBlobsGet(Context& ctx, const Method& m, const VerbArgs& args) {
  auto id = OneBlobId(args, m.name);
  if (!id.ok()) return ctx.Fail(id.status());
  auto blobs = ctx.Blobs();
  if (!blobs.ok()) return ctx.Fail(blobs.status());
  auto bytes = (*blobs)->Get(*id);
  if (!bytes.ok()) return ctx.Fail(bytes.status());
  int64_t start = 0, end = static_cast<int64_t>(bytes->size());
  if (std::string(m.name) == "blobs.getSlice") {
    if (auto st = OptInt(args.options, "start", &start); !st.ok()) return ctx.Fail(st);
    if (auto st = OptInt(args.options, "end", &end); !st.ok()) return ctx.Fail(st);
    start = std::clamp<int64_t>(start, 0, static_cast<int64_t>(bytes->size()));
    end = std::clamp<int64_t>(end, start, static_cast<int64_t>(bytes->size()));
  }
  size_t n = static_cast<size_t>(end - start);
  if (std::fwrite(bytes->data() + start, 1, n, stdout) != n || std::fflush(stdout) != 0) {
    return ctx.Fail(ssb::Status::IoError("cannot write to standard output"));
  }
  return kExitOk;
}

// blobs.has ID: true or false (exit 0 either way, as ssb-server's).
int LocalBlobsHas(Context& ctx, const Method& m, const VerbArgs& args) {
  auto id = OneBlobId(args, m.name);
  if (!id.ok()) return ctx.Fail(id.status());
  auto blobs = ctx.Blobs();
  if (!blobs.ok()) return ctx.Fail(blobs.status());
  ctx.PrintRaw((*blobs)->Has(*id) ? "true" : "false");
  return kExitOk;
}

// blobs.size ID / blobs.meta ID.
int LocalBlobsSize(Context& ctx, const Method& m, const VerbArgs& args) {
  auto id = OneBlobId(args, m.name);
  if (!id.ok()) return ctx.Fail(id.status());
  auto blobs = ctx.Blobs();
  if (!blobs.ok()) return ctx.Fail(blobs.status());
  auto meta = Meta(**blobs, *id);
  if (!meta) {
    ctx.PrintRaw("false");  // ssb-blobs answers nothing for a blob it lacks
    return kExitOk;
  }
  if (std::string(m.name) == "blobs.size") ctx.Print(*meta->Find("size"));
  else ctx.Print(*meta);
  return kExitOk;
}

// blobs.ls [--meta]: one id (or {id, size, ts}) per line.
int LocalBlobsList(Context& ctx, const Method&, const VerbArgs& args) {
  auto blobs = ctx.Blobs();
  if (!blobs.ok()) return ctx.Fail(blobs.status());
  auto ids = (*blobs)->List();
  if (!ids.ok()) return ctx.Fail(ids.status());
  bool meta = false, long_form = false;
  (void)OptBool(args.options, "meta", &meta);
  (void)OptBool(args.options, "long", &long_form);
  for (const auto& id : *ids) {
    if (meta || long_form) {
      if (auto v = Meta(**blobs, id)) ctx.Print(*v);
    } else {
      ctx.PrintRaw("\"" + id + "\"");
    }
  }
  return kExitOk;
}

int LocalBlobsRemove(Context& ctx, const Method& m, const VerbArgs& args) {
  auto id = OneBlobId(args, m.name);
  if (!id.ok()) return ctx.Fail(id.status());
  auto blobs = ctx.Blobs();
  if (!blobs.ok()) return ctx.Fail(blobs.status());
  auto st = (*blobs)->Remove(*id);
  return st.ok() ? kExitOk : ctx.Fail(st);
}

}  // namespace sbot
