#!/usr/bin/env bash
# Two sbot servers on loopback replicate with EBT when both speak it, and with legacy
# createHistoryStreams when either side has EBT off (--no-ebt): the history, then live messages,
# in both directions. `status` tells which way each connection replicates.
# usage: replication_test.sh SBOT VECTORS_DIR
set -uo pipefail
SBOT=$1
VEC=$2
WORK=$(mktemp -d)
PIDS=()
pass=0
failn=0
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
check() {  # check NAME CONDITION...
  local name=$1
  shift
  if "$@"; then pass=$((pass + 1)); else failn=$((failn + 1)); echo "FAIL: $name"; fi
}
s() { local d=$1; shift; "$SBOT" --path "$d" "$@"; }
id_of() { s "$1" whoami | sed 's/.*"\(@[^"]*\)".*/\1/'; }
count() { s "$1" hist "$2" --values false | wc -l; }
# wait_count DIR FEED N: until DIR holds N messages of FEED (60 s at most)
wait_count() {
  for _ in $(seq 1 600); do
    [ "$(count "$1" "$2")" -ge "$3" ] && return 0
    sleep 0.1
  done
  return 1
}
# start DIR [FLAG...]: a server on a free loopback port; sets ADDR to its address
start() {
  local d=$1
  shift
  # (--gossip.pub false: feeds.jsonl announces pub.example.org, which tests must never dial)
  "$SBOT" --path "$d" server --host 127.0.0.1 --port 0 --no-lan --gossip.pub false --run-for 120 "$@" \
    > "$d.out" 2> "$d.err" &
  PIDS+=($!)
  for _ in $(seq 1 100); do [ -S "$d/socket" ] && [ -s "$d.out" ] && break; sleep 0.1; done
  ADDR=$(sed -n 's/.*"address":"\([^"]*\)".*/\1/p' "$d.out" | head -1)
}
# mode DIR PEER_ID: the replication mode of DIR's connection to PEER_ID
mode() {
  s "$1" status | tr '{' '\n' | grep "\"id\":\"$2\"" | sed -n 's/.*"replication":"\([a-z]*\)".*/\1/p'
}

ALICE=$(head -1 "$VEC/generated/feeds.jsonl" | sed 's/.*"author":"\(@[^"]*\)".*/\1/')
ALICE_N=$(grep -c "\"author\":\"$ALICE\"" "$VEC/generated/feeds.jsonl")

# One round: A holds Alice's feed and its own; B dials A and wants both; then each publishes
# and the other gets it live.
round() {  # round NAME EXPECTED_MODE A_FLAGS B_FLAGS
  local name=$1 want=$2 aflags=$3 bflags=$4
  local A="$WORK/$name-a" B="$WORK/$name-b"
  mkdir -p "$A" "$B"
  s "$A" add < "$VEC/generated/feeds.jsonl" > /dev/null
  for i in 1 2 3; do s "$A" publish --type post --text "A $i" > /dev/null; done
  local AID BID
  AID=$(id_of "$A")
  BID=$(id_of "$B")
  # shellcheck disable=SC2086
  start "$A" $aflags
  local AADDR=$ADDR
  # shellcheck disable=SC2086
  start "$B" $bflags
  s "$A" replicate.request "$BID" > /dev/null
  s "$B" replicate.request "$AID" > /dev/null
  s "$B" replicate.request "$ALICE" > /dev/null
  s "$B" gossip.connect "$AADDR" > /dev/null
  check "$name: B gets Alice's $ALICE_N messages" wait_count "$B" "$ALICE" "$ALICE_N"
  check "$name: B gets A's 3 messages" wait_count "$B" "$AID" 3
  check "$name: the copies are byte-identical" \
    [ "$(s "$B" hist "$ALICE" --keys false)" = "$(s "$A" hist "$ALICE" --keys false)" ]
  s "$A" publish --type post --text "A live" > /dev/null
  check "$name: A's new message reaches B live" wait_count "$B" "$AID" 4
  s "$B" publish --type post --text "B live" > /dev/null
  check "$name: B's new message reaches A live" wait_count "$A" "$BID" 1
  check "$name: B replicates with A by $want" [ "$(mode "$B" "$AID")" = "$want" ]
  check "$name: A replicates with B by $want" [ "$(mode "$A" "$BID")" = "$want" ]
}

round ebt ebt "" ""
round no-ebt-server legacy "--no-ebt" ""
round no-ebt-client legacy "" "--no-ebt"

echo "net replication: $pass passed, $failn failed"
[ "$failn" = 0 ]
