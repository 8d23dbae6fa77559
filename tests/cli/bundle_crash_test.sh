#!/usr/bin/env bash
# Crash test: `ssb-bundle import` of a large bundle is killed with SIGKILL at random moments
# (at least 20 times); after each kill the store opens, every feed is a valid chain, and a final
# re-run completes the import. A fresh seed each run is printed (SSB_CRASH_SEED replays).
# usage: bundle_crash_test.sh SSB_BUNDLE SBOT GEN_MESSAGES
set -uo pipefail
BUNDLE=$1
SBOT=$2
GEN=$3
KILLS=${SSB_CRASH_KILLS:-20}
COUNT=${SSB_CRASH_MESSAGES:-30000}
SEED=${SSB_CRASH_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "bundle crash seed: $SEED"
RANDOM=$((SEED % 32768))
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

"$GEN" "$SEED" "$COUNT" > "$WORK/msgs.ndjson"
"$SBOT" --path "$WORK/a" add --batch 5000 < "$WORK/msgs.ndjson" > /dev/null 2>&1 || { echo "setup: add failed"; exit 1; }
"$BUNDLE" --path "$WORK/a" -q export --all --out "$WORK/big.ssb-bundle" > /dev/null || { echo "setup: export failed"; exit 1; }
feeds=$("$SBOT" --path "$WORK/a" feed --values false --limit 1000000 >/dev/null; sed 's/.*"author":"\(@[^"]*\)".*/\1/' "$WORK/msgs.ndjson" | sort -u)

check_store() {  # every feed a valid chain from sequence 1
  local f n
  for f in $feeds; do
    n=$("$SBOT" --path "$WORK/b" hist "$f" --keys false | "$SBOT" --path "$WORK/v" validate 2>/dev/null | grep -c '"valid":false')
    [ "$n" = 0 ] || { echo "feed $f has $n invalid messages after a kill"; return 1; }
  done
  "$SBOT" --path "$WORK/b" status > /dev/null || { echo "store does not open after a kill"; return 1; }
}

# How long one uninterrupted import takes here, so that kills can be spread over all of it
# (a fixed window would miss the import on a fast machine and test nothing).
t0=$(date +%s%N)
"$BUNDLE" --path "$WORK/t" -q import "$WORK/big.ssb-bundle" > /dev/null 2>&1 || { echo "setup: import failed"; exit 1; }
span_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
rm -rf "$WORK/t"
[ "$span_ms" -ge 20 ] || span_ms=20
echo "one uninterrupted import: ${span_ms} ms"

# Kill at a random moment within that span. Only a kill that ended the import (exit status
# 137) counts; when an import finished first, or the store is complete, start again from an
# empty store so that every counted kill interrupts real work.
kills=0
tries=0
progress=()
while [ "$kills" -lt "$KILLS" ] && [ "$tries" -lt $((KILLS * 10)) ]; do
  tries=$((tries + 1))
  "$BUNDLE" --path "$WORK/b" -q import "$WORK/big.ssb-bundle" > /dev/null 2>&1 &
  pid=$!
  sleep "$(awk -v r=$RANDOM -v s="$span_ms" 'BEGIN { printf "%.3f", (r % 1000) / 1000 * s / 1000 }')"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rc=$?
  check_store || exit 1
  stored=$("$SBOT" --path "$WORK/b" status | sed 's/.*"messages":\([0-9]*\).*/\1/')
  if [ "$rc" = 137 ]; then
    kills=$((kills + 1))
    progress+=("$stored")
  fi
  [ "$stored" -lt "$COUNT" ] || rm -rf "$WORK/b"
done
echo "messages stored after each kill: ${progress[*]}"
"$BUNDLE" --path "$WORK/b" -q import "$WORK/big.ssb-bundle" > /dev/null || { echo "the re-run failed"; exit 1; }
check_store || exit 1
a=$("$SBOT" --path "$WORK/a" log --keys false | sort | sha256sum)
b=$("$SBOT" --path "$WORK/b" log --keys false | sort | sha256sum)
[ "$a" = "$b" ] || { echo "the stores differ after the re-run"; exit 1; }
summary="bundle crash: $kills SIGKILLs during import of $COUNT messages, store consistent after each, re-run completed (seed $SEED)"
echo "$summary"
[ -n "${SSB_REPORT_FILE:-}" ] && echo "$summary" >> "$SSB_REPORT_FILE"
[ "$kills" -ge "$KILLS" ] || { echo "only $kills of $tries kills landed inside an import"; exit 1; }
