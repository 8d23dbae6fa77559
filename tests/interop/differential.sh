#!/usr/bin/env bash
# Differential test against the real npm packages ssb-keys 8.5.0 + ssb-validate 4.1.4:
#   our messages (ssb_gen_messages) must be valid for ssb-validate with the same ids, and
#   ssb-validate's messages (js/gen.js) must be valid for `sbot validate` with the same ids.
# A fresh seed each run, printed; SSB_DIFF_SEED=N replays one. SSB_DIFF_COUNT sets the size.
# usage: differential.sh GEN_MESSAGES_BINARY SBOT_BINARY
set -euo pipefail
GEN=$1
SBOT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
COUNT=${SSB_DIFF_COUNT:-2500}
SEED=${SSB_DIFF_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "differential seed: $SEED (replay with SSB_DIFF_SEED=$SEED)"
command -v node >/dev/null || { echo "node is not installed (scripts/setup installs it)"; exit 1; }
[ -d "$HERE/node_modules/ssb-validate" ] || { echo "npm packages missing: run scripts/npm-setup"; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Compares "key" of each line of $1 (generated) with $2 (checker output); all must be valid.
compare() {
  node -e '
    const fs = require("fs")
    const gen = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse)
    const got = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").map(JSON.parse)
    let ok = 0; const bad = []
    gen.forEach((g, i) => {
      const r = got[i] || {}
      if (r.valid === true && r.key === g.key) ok++
      else if (bad.length < 5) bad.push({ line: i + 1, expected: g.key, got: r, value: g.value })
    })
    console.log(ok + "/" + gen.length)
    for (const b of bad) console.error("MISMATCH " + JSON.stringify(b))
    process.exit(ok === gen.length && got.length === gen.length ? 0 : 1)
  ' "$1" "$2"
}

"$GEN" "$SEED" "$COUNT" > "$WORK/cpp.ndjson"
node "$HERE/js/check.js" < "$WORK/cpp.ndjson" > "$WORK/cpp-checked.ndjson"
cpp_result=$(compare "$WORK/cpp.ndjson" "$WORK/cpp-checked.ndjson") || cpp_fail=1

node "$HERE/js/gen.js" "$SEED" "$COUNT" > "$WORK/js.ndjson"
"$SBOT" --path "$WORK/ssb" validate < "$WORK/js.ndjson" > "$WORK/js-checked.ndjson" || true
js_result=$(compare "$WORK/js.ndjson" "$WORK/js-checked.ndjson") || js_fail=1

summary="differential: cpp->js $cpp_result ok, js->cpp $js_result ok (seed $SEED)"
echo "$summary"
[ -n "${SSB_REPORT_FILE:-}" ] && echo "$summary" >> "$SSB_REPORT_FILE"
if [ -n "${cpp_fail:-}" ] || [ -n "${js_fail:-}" ]; then
  echo "differential: FAILED (replay with SSB_DIFF_SEED=$SEED)"
  exit 1
fi
