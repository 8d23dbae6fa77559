#!/usr/bin/env bash
# LAN discovery: two `sbot server`s in two network namespaces joined by a veth pair find each
# other by UDP broadcast and sync, without being given each other's address. Each follows the
# other's feed (two friends' laptops); neither is told where the other is.
# Needs root (network namespaces); otherwise it is skipped with exit code 77.
# usage: lan_test.sh SBOT
set -uo pipefail
SBOT=$1
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
  echo "SKIP: needs root and iproute2 to create network namespaces"
  exit 77
fi
TAG="ssbt$$"
NA="${TAG}a" NB="${TAG}b"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  ip netns del "$NA" 2>/dev/null
  ip netns del "$NB" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
if ! ip netns add "$NA" 2>/dev/null || ! ip netns add "$NB" 2>/dev/null; then
  echo "SKIP: cannot create network namespaces here"
  exit 77
fi
ip link add "${TAG}x" netns "$NA" type veth peer name "${TAG}y" netns "$NB" || exit 1
ip -n "$NA" addr add 10.231.0.1/24 brd 10.231.0.255 dev "${TAG}x"
ip -n "$NB" addr add 10.231.0.2/24 brd 10.231.0.255 dev "${TAG}y"
for ns in "$NA" "$NB"; do
  ip -n "$ns" link set lo up
done
ip -n "$NA" link set "${TAG}x" up
ip -n "$NB" link set "${TAG}y" up

A="$WORK/a" B="$WORK/b"
ida=$("$SBOT" --path "$A" whoami | sed 's/.*"\(@[^"]*\)".*/\1/')
idb=$("$SBOT" --path "$B" whoami | sed 's/.*"\(@[^"]*\)".*/\1/')
for i in 1 2 3 4 5; do "$SBOT" --path "$A" publish --type post --text "a says $i" > /dev/null; done
for i in 1 2 3; do "$SBOT" --path "$B" publish --type post --text "b says $i" > /dev/null; done
"$SBOT" --path "$A" friends.follow "$idb" > /dev/null
"$SBOT" --path "$B" friends.follow "$ida" > /dev/null

ip netns exec "$NA" "$SBOT" --path "$A" server --run-for 60 > "$WORK/a.out" 2> "$WORK/a.err" &
PIDS+=($!)
ip netns exec "$NB" "$SBOT" --path "$B" server --run-for 60 > "$WORK/b.out" 2> "$WORK/b.err" &
PIDS+=($!)

count() { "$SBOT" --path "$1" hist "$2" --values false 2>/dev/null | wc -l; }
ok=0
for _ in $(seq 1 120); do
  if [ "$(count "$B" "$ida")" = 6 ] && [ "$(count "$A" "$idb")" = 4 ]; then ok=1; break; fi
  sleep 0.25
done
echo "--- server a"; cat "$WORK/a.err"
echo "--- server b"; cat "$WORK/b.err"
if [ "$ok" != 1 ]; then
  echo "FAIL: b has $(count "$B" "$ida")/6 of a's messages, a has $(count "$A" "$idb")/4 of b's"
  exit 1
fi
# The side that dialed must have heard the other's announcement first (whichever heard first
# dials; the other may never need to).
for side in a b; do
  if grep -q "we dialed" "$WORK/$side.err"; then
    grep -q "on the LAN" "$WORK/$side.err" || { echo "FAIL: $side dialed without hearing a LAN announcement"; exit 1; }
    found=1
  fi
done
[ "${found:-0}" = 1 ] || { echo "FAIL: synced, but neither server dialed (not through LAN discovery)"; exit 1; }
echo "PASS: two servers in two network namespaces found each other on the LAN and synced"
