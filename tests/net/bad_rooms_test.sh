#!/usr/bin/env bash
# Rooms and tunnels under abuse, on 127.0.0.1:
#  1. a peer opens tunnels in a loop through our room (to an attendant, to itself, to the room)
#     and thousands of attendant subscriptions: the room refuses beyond its limits with clear
#     errors, and two good attendants keep replicating through it;
#  2. our server joins a room that lies: thousands of attendants that do not exist, endless
#     updates, ids that are not feed ids, tunnels that never open, and tunnels to us in a loop:
#     the server keeps its attendant list within its limit, dials only the attendant it follows
#     (with backoff), refuses the junk tunnels, stays small, and keeps serving.
# usage: bad_rooms_test.sh SBOT BAD_ROOM [MAX_RSS_KIB]
set -uo pipefail
SBOT=$1
BAD=$2
MAX_RSS_KIB=${3:-200000}  # sanitizer builds pass more (shadow memory)
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$WORK"/*.err; do echo "--- $f"; tail -40 "$f"; done
  exit 1
}
NET=$(head -c 32 /dev/urandom | base64)
id_of() { "$SBOT" --path "$1" whoami | sed 's/.*"\(@[^"]*\)".*/\1/'; }
start() {  # NAME [FLAGS…]: a server on a free port; sets ADDR_<NAME>
  local name=$1; shift
  printf '{"caps":{"shs":"%s"},"lan":false,"gossip":{"pub":false}}\n' "$NET" > "$WORK/$name/config"
  "$SBOT" --path "$WORK/$name" server --host 127.0.0.1 --port 0 --run-for 200 "$@" \
    > "$WORK/$name.out" 2> "$WORK/$name.err" &
  PIDS+=($!)
  eval "PID_$name=$!"
  for _ in $(seq 1 100); do [ -s "$WORK/$name.out" ] && break; sleep 0.1; done
  eval "ADDR_$name=$(sed 's/.*"address":"\([^"]*\)".*/\1/' "$WORK/$name.out")"
}
count() { "$SBOT" --path "$WORK/$1" hist "$2" --values false 2>/dev/null | wc -l; }
alive() { kill -0 "$1" 2>/dev/null || fail "a server died ($2)"; }

mkdir -p "$WORK/room" "$WORK/g1" "$WORK/g2" "$WORK/n"
g1=$(id_of "$WORK/g1"); g2=$(id_of "$WORK/g2")
"$SBOT" --path "$WORK/g1" friends.follow "$g2" > /dev/null
"$SBOT" --path "$WORK/g2" friends.follow "$g1" > /dev/null
"$SBOT" --path "$WORK/g1" publish --type post --text "g1 first" > /dev/null
start room --room
start g1
start g2
"$SBOT" --path "$WORK/g1" room.join "$ADDR_room" > /dev/null || fail "g1 room.join"
"$SBOT" --path "$WORK/g2" room.join "$ADDR_room" > /dev/null || fail "g2 room.join"
for _ in $(seq 1 120); do [ "$(count g2 "$g1")" -ge 2 ] && break; sleep 0.25; done
[ "$(count g2 "$g1")" -ge 2 ] || fail "g1 and g2 did not replicate through the room"

# 1. a peer in a tunnel loop
"$BAD" tunnel-loop "$ADDR_room" "$NET" "$g1" > "$WORK/loop.txt" 2>&1
cat "$WORK/loop.txt"
grep -q "^ok tunnel-loop" "$WORK/loop.txt" || fail "the room did not hold its limits against a tunnel loop"
alive "$PID_room" "tunnel loop"
"$SBOT" --path "$WORK/g1" publish --type post --text "g1 after the loop" > /dev/null
for _ in $(seq 1 120); do [ "$(count g2 "$g1")" -ge 3 ] && break; sleep 0.25; done
[ "$(count g2 "$g1")" -ge 3 ] || fail "good attendants stopped replicating after the tunnel loop"
echo "ok: the room refused a tunnel loop and kept relaying for good attendants"

# 2. a lying room
"$BAD" lying-room "$NET" 25 "$WORK/followed" > "$WORK/lying.txt" 2> "$WORK/lying.err" &
LYING=$!
PIDS+=($LYING)
for _ in $(seq 1 100); do [ -s "$WORK/lying.txt" ] && break; sleep 0.1; done
LADDR=$(head -1 "$WORK/lying.txt")
start n
"$SBOT" --path "$WORK/n" friends.follow "$(cat "$WORK/followed")" > /dev/null
"$SBOT" --path "$WORK/n" room.join "$LADDR" > "$WORK/njoin.txt" 2>&1 || fail "room.join of the lying room: $(cat "$WORK/njoin.txt")"
sleep 10
alive "$PID_n" "lying room"
attendants=$("$SBOT" --path "$WORK/n" gossip.peers | grep -o '"type":"room-attendant"' | wc -l)
[ "$attendants" -le 1000 ] || fail "$attendants attendants held from a lying room (limit 1000)"
rss=$(awk '/VmRSS/ {print $2}' "/proc/$PID_n/status")
[ "$rss" -lt "$MAX_RSS_KIB" ] || fail "the server grew to $rss kB (bound $MAX_RSS_KIB kB)"
"$SBOT" --path "$WORK/n" status > /dev/null || fail "status after the lying room"
"$SBOT" --path "$WORK/n" publish --type post --text "still here" > /dev/null || fail "publish"
wait "$LYING"
cat "$WORK/lying.txt"
asked=$(sed -n 's/.* \([0-9]*\) tunnels asked of us by the client.*/\1/p' "$WORK/lying.txt")
hanging=$(sed -n 's/.*refused by the client, \([0-9]*\) left hanging.*/\1/p' "$WORK/lying.txt")
# Only the one followed attendant is dialed, with backoff: a handful of tries in 25 s.
[ -n "$asked" ] && [ "$asked" -ge 1 ] && [ "$asked" -le 8 ] || fail "the client asked for $asked tunnels"
[ "$hanging" = 0 ] || fail "$hanging junk tunnels to the client were left open"
grep -q "attendants" "$WORK/n.err" || fail "the server did not report the lying room's attendant list"
alive "$PID_n" "after the lying room"
echo "PASS: a tunnel loop and a lying room were refused within limits; the servers kept serving"
