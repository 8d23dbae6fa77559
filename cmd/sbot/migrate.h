// Importing ssb-server's or an ssb-db2 app's log from the data dir (ssb/migrate.h).
#pragma once

#include <string>

#include "args.h"
#include "context.h"

namespace sbot {

// Called once per command, before the verb runs: when the data dir holds an old log that is
// not (completely) imported, imports it first, with progress on stderr. Returns kExitOk to go
// on with `verb`, or the exit code of the failure (reported on stderr).
int MigrateOnFirstUse(Context& ctx, const std::string& verb);

// `sbot migrate [--from-start]`: continues (or with --from-start redoes) the import; prints
// {"imports": [{source, format, records, stored, duplicates, invalid, forks, deleted, damaged,
// finished}]}. Exit 1 when records were refused or damaged regions met in this run.
int MigrateVerb(Context& ctx, const VerbArgs& args);

}  // namespace sbot
