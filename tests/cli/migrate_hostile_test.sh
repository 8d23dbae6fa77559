#!/usr/bin/env bash
# Damaged and hostile old logs: each case gives a clear report on stderr, the command still
# works, the readable rest is imported, and the peak memory (the kernel's count of resident
# pages, ru_maxrss) stays under a bound whatever the file claims or weighs.
# usage: migrate_hostile_test.sh SBOT OLDLOG_TOOL [MAX_RSS_MIB]
# (MAX_RSS_MIB: 64 by default; sanitizer builds pass more for their shadow memory.)
set -uo pipefail
SBOT=$1
TOOL=$2
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
MAX_RSS_KIB=$((${3:-64} * 1024))
passed=0
failed=0

check() {  # NAME CONDITION…
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "PASS $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name"
  fi
}

# Runs `sbot --path DIR whoami` under the RSS counter: sets $rc, $err (stderr) and $rss (KiB).
run_first() {
  "$TOOL" rss "$SBOT" --path "$1" whoami > "$WORK/out" 2> "$WORK/err"
  rc=$?
  err=$(cat "$WORK/err")
  rss=$(grep -o 'peak-rss-kib [0-9]*' "$WORK/err" | grep -o '[0-9]*$')
}
stored() { "$SBOT" --path "$1" status | sed 's/.*"messages":\([0-9]*\).*/\1/'; }
patch() {  # FILE OFFSET BYTES(printf format)
  printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# 1. flume: garbage over one record in the middle, and a torn last record.
D=$WORK/torn
"$TOOL" make flume "$D" 300 3 > "$WORK/torn.offsets"
off=$(sed -n 151p "$WORK/torn.offsets" | cut -d' ' -f1)
patch "$D/flume/log.offset" "$off" '\x7f\xff\xff\xff'            # a length of 2 GiB
size=$(stat -c %s "$D/flume/log.offset")
truncate -s $((size - 40)) "$D/flume/log.offset"                  # the last record cut
run_first "$D"
check "flume: damaged record and torn tail reported, the command still works" \
  [ "$rc" = 0 -a -n "$(grep -o 'runs past the end' <<< "$err")" -a -n "$(grep -o 'interrupted write' <<< "$err")" ]
# Feed 150 % 3 = 0 lost its message 51 and so everything after it; the other two feeds lost
# only their last message (the torn one is feed 2's).
n=$(stored "$D")
check "flume: the rest imported ($n of 300: all but the damaged feed's tail and the torn record)" \
  [ "$n" = $((50 + 100 + 99)) ]

# 2. flume: a 10 GB sparse file (records, then a hole), read in bounded memory.
D=$WORK/sparse
"$TOOL" make flume "$D" 200 2 > /dev/null
truncate -s 10G "$D/flume/log.offset"
run_first "$D"
check "flume: 10 GB sparse log imported (rc $rc), the hole reported, peak RSS ${rss} KiB" \
  [ "$rc" = 0 -a "$(stored "$D")" = 200 -a -n "$(grep -o 'past 4 GiB' <<< "$err")" -a "${rss:-999999}" -lt $MAX_RSS_KIB ]

# 3. db2: a record length past its block; a bipf nesting bomb; a record cut off at the end.
D=$WORK/db2
"$TOOL" make db2 "$D" 600 3 > "$WORK/db2.offsets"
off=$(sed -n 200p "$WORK/db2.offsets" | cut -d' ' -f1)
patch "$D/db2/log.bipf" "$off" '\xff\xff'
run_first "$D"
check "db2: a length past its block reported, the command still works" \
  [ "$rc" = 0 -a -n "$(grep -o 'past the end of its block' <<< "$err")" ]
n=$(stored "$D")
# Every feed lost a message in the rest of that block, so each stops before it.
check "db2: the records before the damage imported ($n of 600)" [ "$n" = 199 ]

D=$WORK/bomb
"$TOOL" make db2 "$D" 90 3 > /dev/null
"$TOOL" bomb 20000 > "$WORK/bomb.bipf"
len=$(stat -c %s "$WORK/bomb.bipf")
# Append the bomb as a record of a block of its own, as async-append-only-log would.
size=$(stat -c %s "$D/db2/log.bipf")
{ printf "$(printf '\\x%02x\\x%02x' $((len & 255)) $((len >> 8)))"; cat "$WORK/bomb.bipf"; } > "$WORK/rec"
dd if="$WORK/rec" of="$D/db2/log.bipf" bs=1 seek="$size" conv=notrunc status=none
truncate -s $((size + 65536)) "$D/db2/log.bipf"
run_first "$D"
check "db2: a bipf nesting bomb ($len bytes, 20,000 levels) refused, peak RSS ${rss} KiB" \
  [ "$rc" = 0 -a -n "$(grep -o 'nested deeper than' <<< "$err")" -a "$(stored "$D")" = 90 -a "${rss:-999999}" -lt $MAX_RSS_KIB ]

D=$WORK/cut
"$TOOL" make db2 "$D" 90 3 > "$WORK/cut.offsets"
off=$(tail -1 "$WORK/cut.offsets" | cut -d' ' -f1)
truncate -s $((off + 50)) "$D/db2/log.bipf"
run_first "$D"
check "db2: a record cut off by the end of the file reported, the rest imported" \
  [ "$rc" = 0 -a -n "$(grep -o 'cut off by the end of the file' <<< "$err")" -a "$(stored "$D")" = 89 ]

# 4. Not logs at all: a FIFO and a directory where the logs would be are left alone (no hang).
D=$WORK/odd
mkdir -p "$D/flume" "$D/db2/log.bipf"
mkfifo "$D/flume/log.offset"
run_first "$D"
check "a FIFO and a directory in place of the logs are ignored" [ "$rc" = 0 -a -z "$(grep -o importing <<< "$err")" ]

# 5. The second command after a damaged import does not import again.
D=$WORK/torn
"$SBOT" --path "$D" whoami > /dev/null 2> "$WORK/err2"
check "a finished import with damage is not redone by the next command" [ ! -s "$WORK/err2" ]

summary="cli migrate hostile: $passed checks passed, $failed failed"
echo "$summary"
[ -n "${SSB_REPORT_FILE:-}" ] && echo "$summary" >> "$SSB_REPORT_FILE"
[ "$failed" = 0 ]
