#!/usr/bin/env bash
# Bad peers against one `sbot server` on 127.0.0.1: garbage instead of a handshake, the wrong
# network key, the wrong server key, an oversize frame, malformed frames, a body that never
# ends, a peer that sends invalid messages, one that sends a forked history (each both on
# legacy createHistoryStream and over an EBT session), 200 connections at once. After each (and during the long ones) a good peer must still be served, and at the
# end the server is still running.
# usage: bad_peers_test.sh SBOT BAD_PEER
set -uo pipefail
SBOT=$1
PEER=$2
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- server log"; cat "$WORK/server.err"; exit 1; }

S="$WORK/server" F="$WORK/feed"
for i in 1 2 3; do "$SBOT" --path "$S" publish --type post --text "server post $i" > /dev/null; done
# Feed F: the server follows it and already holds 3 of its messages (so a different history
# from a peer is a fork).
idf=$("$SBOT" --path "$F" whoami | sed 's/.*"\(@[^"]*\)".*/\1/')
for i in 1 2 3; do "$SBOT" --path "$F" publish --type post --text "real $i" > /dev/null; done
"$SBOT" --path "$F" hist "$idf" --keys false | "$SBOT" --path "$S" add > /dev/null || fail "add"
"$SBOT" --path "$S" friends.follow "$idf" > /dev/null
# Feed G: followed, nothing held yet (a broken first message is simply invalid).
G="$WORK/g"
idg=$("$SBOT" --path "$G" whoami | sed 's/.*"\(@[^"]*\)".*/\1/')
"$SBOT" --path "$S" friends.follow "$idg" > /dev/null
# Feed H: as F, for the fork over EBT.
H="$WORK/h"
idh=$("$SBOT" --path "$H" whoami | sed 's/.*"\(@[^"]*\)".*/\1/')
for i in 1 2 3; do "$SBOT" --path "$H" publish --type post --text "real $i" > /dev/null; done
"$SBOT" --path "$H" hist "$idh" --keys false | "$SBOT" --path "$S" add > /dev/null || fail "add"
"$SBOT" --path "$S" friends.follow "$idh" > /dev/null

"$SBOT" --path "$S" server --host 127.0.0.1 --port 0 --no-lan --run-for 300 \
  > "$WORK/server.out" 2> "$WORK/server.err" &
SERVER_PID=$!
for _ in $(seq 1 100); do [ -s "$WORK/server.out" ] && break; sleep 0.1; done
ADDR=$(sed 's/.*"address":"\([^"]*\)".*/\1/' "$WORK/server.out")
[ -n "$ADDR" ] || fail "the server did not start"
echo "server at $ADDR"

good() { "$PEER" good "$ADDR" || fail "a good peer was not served ($1)"; }
alive() { kill -0 "$SERVER_PID" 2>/dev/null || fail "the server died ($1)"; }

good "at start"
for mode in garbage wrong-network wrong-key oversize malformed; do
  "$PEER" "$mode" "$ADDR" || fail "$mode"
  alive "$mode"
  good "after $mode"
done

"$PEER" endless-body "$ADDR" & slow=$!
sleep 0.5
good "while a body never ends"
wait "$slow" || fail "endless-body"
alive "endless-body"

"$PEER" invalid-messages "$ADDR" "" "$G/secret" || fail "invalid-messages"
alive "invalid-messages"
good "after invalid messages"

"$PEER" forked-messages "$ADDR" "" "$F/secret" || fail "forked-messages"
alive "forked-messages"
forks=$("$SBOT" --path "$S" status | grep -o '"offending"' | wc -l)
[ "$forks" -ge 1 ] || fail "the forked history was not recorded (forks: $forks)"
good "after a forked history"

"$PEER" ebt-invalid-messages "$ADDR" "" "$G/secret" || fail "ebt-invalid-messages"
alive "ebt-invalid-messages"
good "after invalid messages over EBT"

"$PEER" ebt-forked-messages "$ADDR" "" "$H/secret" || fail "ebt-forked-messages"
alive "ebt-forked-messages"
forks=$("$SBOT" --path "$S" status | grep -o '"offending"' | wc -l)
[ "$forks" -ge 2 ] || fail "the forked history sent over EBT was not recorded (forks: $forks)"
good "after a forked history over EBT"

"$PEER" flood "$ADDR" & flood=$!
sleep 1
good "during 200 connections"
wait "$flood" || fail "flood"
alive "flood"
good "after the flood"

"$SBOT" --path "$S" status > /dev/null || fail "status through the owner socket"
echo "PASS: the server stayed up and kept serving through 11 kinds of bad peers"
