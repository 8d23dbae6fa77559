// blobs.* verbs: the content-addressed blob store (file synchronisation).
#include <unistd.h>

#include <cstdio>

#include "ssb/ref.h"
#include "verbs.h"

namespace sbot {
namespace {

ssb::Result<std::string> OneBlobId(const VerbArgs& args, const char* verb) {
  std::string id = args.positional.size() == 1 ? args.positional[0] : "";
  SSB_RETURN_IF_ERROR(OptString(args.options, "id", &id));
  if (!ssb::IsBlobId(id)) {
    return ssb::Status::InvalidArgument(std::string(verb) + " needs a blob id (&…=.sha256)");
  }
  return id;
}

}  // namespace

// blobs.add [FILE|-]: stores the bytes (stdin by default), prints the id.
int BlobsAdd(Context& ctx, const VerbArgs& args) {
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

// blobs.get ID: the bytes on stdout, checked against the id.
int BlobsGet(Context& ctx, const VerbArgs& args) {
  auto id = OneBlobId(args, "blobs.get");
  if (!id.ok()) return ctx.Fail(id.status());
  auto blobs = ctx.Blobs();
  if (!blobs.ok()) return ctx.Fail(blobs.status());
  auto bytes = (*blobs)->Get(*id);
  if (!bytes.ok()) return ctx.Fail(bytes.status());
  if (std::fwrite(bytes->data(), 1, bytes->size(), stdout) != bytes->size() ||
      std::fflush(stdout) != 0) {
    return ctx.Fail(ssb::Status::IoError("cannot write to standard output"));
  }
  return kExitOk;
}

// blobs.has ID: true or false (exit 0 either way, as ssb-server's).
int BlobsHas(Context& ctx, const VerbArgs& args) {
  auto id = OneBlobId(args, "blobs.has");
  if (!id.ok()) return ctx.Fail(id.status());
  auto blobs = ctx.Blobs();
  if (!blobs.ok()) return ctx.Fail(blobs.status());
  ctx.PrintRaw((*blobs)->Has(*id) ? "true" : "false");
  return kExitOk;
}

// blobs.ls: one id per line.
int BlobsList(Context& ctx, const VerbArgs&) {
  auto blobs = ctx.Blobs();
  if (!blobs.ok()) return ctx.Fail(blobs.status());
  auto ids = (*blobs)->List();
  if (!ids.ok()) return ctx.Fail(ids.status());
  for (const auto& id : *ids) ctx.PrintRaw("\"" + id + "\"");
  return kExitOk;
}

int BlobsRemove(Context& ctx, const VerbArgs& args) {
  auto id = OneBlobId(args, "blobs.rm");
  if (!id.ok()) return ctx.Fail(id.status());
  auto blobs = ctx.Blobs();
  if (!blobs.ok()) return ctx.Fail(blobs.status());
  auto st = (*blobs)->Remove(*id);
  return st.ok() ? kExitOk : ctx.Fail(st);
}

}  // namespace sbot
