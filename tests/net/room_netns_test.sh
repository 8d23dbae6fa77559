#!/usr/bin/env bash
# Two laptops that cannot reach each other meet in a room: three network namespaces, A and B
# each joined to the room's namespace R by a veth pair, with no route between A and B (R does
# not forward). A joins the room with `sbot room.join`, B has the room in its config's seeds.
# They replicate each other's feeds through a tunnel in the room; then the room server is
# stopped and started again, and they must carry on (the connection manager redials the room
# and the tunnel) with messages published while the room was down.
# Needs root (network namespaces); otherwise it is skipped with exit code 77.
# usage: room_netns_test.sh SBOT
set -uo pipefail
SBOT=$1
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
  echo "SKIP: needs root and iproute2 to create network namespaces"
  exit 77
fi
TAG="ssbr$$"
NR="${TAG}r" NA="${TAG}a" NB="${TAG}b"
WORK=$(mktemp -d)
PIDS=()
ROOM_PID=
cleanup() {
  for p in "${PIDS[@]}" $ROOM_PID; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  for ns in "$NR" "$NA" "$NB"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
for ns in "$NR" "$NA" "$NB"; do
  if ! ip netns add "$ns" 2>/dev/null; then
    echo "SKIP: cannot create network namespaces here"
    exit 77
  fi
  ip -n "$ns" link set lo up
done
# A <-> R on 10.232.1.0/24, B <-> R on 10.232.2.0/24. No default routes anywhere, and R does
# not forward (a new namespace starts with ip_forward 0; set it to be sure).
ip link add "${TAG}ar" netns "$NA" type veth peer name "${TAG}ra" netns "$NR" || exit 1
ip link add "${TAG}br" netns "$NB" type veth peer name "${TAG}rb" netns "$NR" || exit 1
ip -n "$NA" addr add 10.232.1.2/24 dev "${TAG}ar"
ip -n "$NR" addr add 10.232.1.1/24 dev "${TAG}ra"
ip -n "$NB" addr add 10.232.2.2/24 dev "${TAG}br"
ip -n "$NR" addr add 10.232.2.1/24 dev "${TAG}rb"
for l in "$NA ${TAG}ar" "$NR ${TAG}ra" "$NB ${TAG}br" "$NR ${TAG}rb"; do
  set -- $l
  ip -n "$1" link set "$2" up
done
ip netns exec "$NR" sysctl -qw net.ipv4.ip_forward=0
if ip netns exec "$NA" ping -c1 -W1 10.232.2.2 >/dev/null 2>&1; then
  echo "FAIL: A can reach B directly; the test would prove nothing"
  exit 1
fi

R="$WORK/room" A="$WORK/a" B="$WORK/b"
cfg() { printf '{"lan": false%s}\n' "${2:-}" > "$1/config"; }
mkdir -p "$R" "$A" "$B"
idr=$("$SBOT" --path "$R" whoami | sed 's/.*"\(@[^"]*\)".*/\1/')
ida=$("$SBOT" --path "$A" whoami | sed 's/.*"\(@[^"]*\)".*/\1/')
idb=$("$SBOT" --path "$B" whoami | sed 's/.*"\(@[^"]*\)".*/\1/')
roomkey=${idr#@}; roomkey=${roomkey%.ed25519}
cfg "$R" ', "room": {"enabled": true, "name": "namespace room"}'
cfg "$A"
cfg "$B" ", \"seeds\": [\"net:10.232.2.1:8008~shs:$roomkey\"]"
for i in 1 2 3 4 5; do "$SBOT" --path "$A" publish --type post --text "a says $i" > /dev/null; done
for i in 1 2 3; do "$SBOT" --path "$B" publish --type post --text "b says $i" > /dev/null; done
"$SBOT" --path "$A" friends.follow "$idb" > /dev/null
"$SBOT" --path "$B" friends.follow "$ida" > /dev/null

start_room() {
  ip netns exec "$NR" "$SBOT" --path "$R" server --host 0.0.0.0 --port 8008 --run-for 240 \
    > "$WORK/room.out" 2>> "$WORK/room.err" &
  ROOM_PID=$!
  for _ in $(seq 1 100); do [ -s "$WORK/room.out" ] && return 0; sleep 0.1; done
  echo "FAIL: the room server did not start"; cat "$WORK/room.err"; exit 1
}
start_room
ip netns exec "$NA" "$SBOT" --path "$A" server --host 0.0.0.0 --port 8008 --run-for 240 \
  > "$WORK/a.out" 2> "$WORK/a.err" &
PIDS+=($!)
ip netns exec "$NB" "$SBOT" --path "$B" server --host 0.0.0.0 --port 8008 --run-for 240 \
  > "$WORK/b.out" 2> "$WORK/b.err" &
PIDS+=($!)
for s in a b; do
  for _ in $(seq 1 100); do [ -s "$WORK/$s.out" ] && break; sleep 0.1; done
done
# A joins through its owner: the verb goes to A's running server.
"$SBOT" --path "$A" room.join "net:10.232.1.1:8008~shs:$roomkey" > "$WORK/join.out" 2>&1 ||
  { echo "FAIL: room.join: $(cat "$WORK/join.out")"; cat "$WORK/a.err"; exit 1; }

count() { "$SBOT" --path "$1" hist "$2" --values false 2>/dev/null | wc -l; }
logs() {
  for s in room a b; do echo "--- $s"; cat "$WORK/$s.err"; done
}
wait_for() {  # A_HAS_OF_B B_HAS_OF_A WHAT
  for _ in $(seq 1 240); do
    if [ "$(count "$A" "$idb")" -ge "$1" ] && [ "$(count "$B" "$ida")" -ge "$2" ]; then return 0; fi
    sleep 0.25
  done
  logs
  echo "FAIL: $3: a has $(count "$A" "$idb")/$1 of b's messages, b has $(count "$B" "$ida")/$2 of a's"
  exit 1
}
wait_for 4 6 "through the room"
grep -q "tunnel:$idr:$idb" "$WORK/a.err" "$WORK/b.err" || grep -q "tunnel:$idr:$ida" "$WORK/a.err" "$WORK/b.err" ||
  { logs; echo "FAIL: synced, but not through a tunnel"; exit 1; }
echo "ok: A and B replicated through the room"

# The room goes away; both publish while it is down; it comes back on the same address.
kill "$ROOM_PID"; wait "$ROOM_PID" 2>/dev/null
for i in 6 7 8; do "$SBOT" --path "$A" publish --type post --text "a says $i" > /dev/null; done
for i in 4 5; do "$SBOT" --path "$B" publish --type post --text "b says $i" > /dev/null; done
sleep 4  # long enough for redials to fail and back off
start_room
wait_for 6 9 "after the room restarted"
echo "ok: after the room restarted, the connection manager redialed and they replicated again"

# What the user sees: the room and its attendant in gossip.peers, the peer in status.
"$SBOT" --path "$A" gossip.peers > "$WORK/peers.json"
grep -q '"type":"room"' "$WORK/peers.json" || { cat "$WORK/peers.json"; echo "FAIL: the room is not listed"; exit 1; }
grep -q "tunnel:$idr:$idb" "$WORK/peers.json" || { cat "$WORK/peers.json"; echo "FAIL: b is not listed as an attendant"; exit 1; }
# Nothing was dialed that the test did not give: every address A ever tried is the room's or a
# tunnel through it.
if grep -o 'dial [^ ]*' "$WORK/a.err" "$WORK/b.err" | grep -v "10.232.[12].1:8008\|tunnel:$idr" ; then
  echo "FAIL: a server dialed an address it was not given"; exit 1
fi
echo "PASS: two peers without a route to each other replicated through a room, and again after it restarted"
