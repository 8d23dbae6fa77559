#!/usr/bin/env bash
# Crash test of the import of an old log: the first `sbot` command on a data dir holding a
# 100,000-message flume/log.offset is killed with SIGKILL at 10 moments spread over the import
# (after it reported 9%, 18%, … 90%, plus a random few milliseconds, so that kills land inside
# transactions too); each next command resumes; after the last one every message is stored
# exactly once, in log order, and the import's books agree (0 lost, 0 twice).
# usage: migrate_crash_test.sh SBOT OLDLOG_TOOL [MESSAGES]
set -uo pipefail
SBOT=$1
TOOL=$2
COUNT=${3:-${SSB_MIGRATE_CRASH_MESSAGES:-100000}}
KILLS=10
SEED=${SSB_CRASH_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "migrate crash seed: $SEED"
RANDOM=$((SEED % 32768))
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DATA=$WORK/data

"$TOOL" make flume "$DATA" "$COUNT" 20 | cut -d' ' -f2 > "$WORK/keys.txt" || { echo "setup: make failed"; exit 1; }
[ "$(wc -l < "$WORK/keys.txt")" = "$COUNT" ] || { echo "setup: wrong record count"; exit 1; }
sum_before=$(sha256sum < "$DATA/flume/log.offset")

percent() {  # the last progress percentage a run printed
  { grep -o "log.offset: [0-9]*%" "$1" 2>/dev/null | tail -1 | grep -o "[0-9]*"; } || echo 0
}

kills=0
landed=()
prefixes=()
for k in $(seq 1 $KILLS); do
  target=$((k * 9))
  "$SBOT" --path "$DATA" whoami > /dev/null 2> "$WORK/err.$k" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null && [ "$(percent "$WORK/err.$k")" -lt "$target" ]; do
    sleep 0.01
  done
  sleep "0.00$((RANDOM % 10))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rc=$?
  if [ "$rc" = 137 ]; then
    kills=$((kills + 1))
    landed+=("$(percent "$WORK/err.$k")%")
  else
    echo "run $k ended by itself (exit $rc) before the kill"
  fi
  # After every kill (read without sbot, which would resume the import): the store holds a
  # prefix of the log, exactly what the import's committed books say.
  if command -v sqlite3 > /dev/null; then
    sqlite3 -readonly "$DATA/db.sqlite" "SELECT key FROM messages ORDER BY log_seq" > "$WORK/prefix.txt" 2>/dev/null
    n=$(wc -l < "$WORK/prefix.txt")
    books=$(sqlite3 -readonly "$DATA/db.sqlite" "SELECT stored FROM imports" 2>/dev/null)
    [ "$n" = "${books:-0}" ] || { echo "after kill $k: $n messages stored but the books say ${books:-0}"; exit 1; }
    head -n "$n" "$WORK/keys.txt" | cmp -s - "$WORK/prefix.txt" || { echo "after kill $k: the store is not a prefix of the log"; exit 1; }
    prefixes+=("$n")
  fi
done
[ ${#prefixes[@]} -eq 0 ] || echo "messages stored after each kill: ${prefixes[*]}"
echo "kills landed after progress: ${landed[*]}"

"$SBOT" --path "$DATA" whoami > /dev/null 2> "$WORK/err.final" || { echo "the final run failed"; cat "$WORK/err.final"; exit 1; }
# Everything is there, in log order, once.
"$SBOT" --path "$DATA" log --values false | tr -d '"' > "$WORK/stored.txt"
if ! cmp -s "$WORK/keys.txt" "$WORK/stored.txt"; then
  echo "the store differs from the log: $(wc -l < "$WORK/stored.txt") of $COUNT stored"
  diff "$WORK/keys.txt" "$WORK/stored.txt" | head -5
  exit 1
fi
books=$("$SBOT" --path "$DATA" migrate 2>/dev/null)
case "$books" in
  *"\"records\":$COUNT,\"stored\":$COUNT,\"duplicates\":0,\"invalid\":0,\"forks\":0,\"deleted\":0,\"damaged\":0"*) ;;
  *) echo "the import's books do not add up: $books"; exit 1 ;;
esac
[ "$(sha256sum < "$DATA/flume/log.offset")" = "$sum_before" ] || { echo "the old log was modified"; exit 1; }
summary="migrate crash: $kills SIGKILLs during the import of $COUNT messages, the next command completed it: $COUNT/$COUNT stored once, in log order (seed $SEED)"
echo "$summary"
[ -n "${SSB_REPORT_FILE:-}" ] && echo "$summary" >> "$SSB_REPORT_FILE"
[ "$kills" -ge "$KILLS" ] || { echo "only $kills of $KILLS kills landed inside the import"; exit 1; }
