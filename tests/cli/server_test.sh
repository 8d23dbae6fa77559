#!/usr/bin/env bash
# sbot verbs through a running server (the owner socket) answer exactly as the embedded store
# does, with the same exit codes; server-only verbs fail clearly without a server.
# usage: server_test.sh SBOT VECTORS_DIR
set -uo pipefail
SBOT=$1
VEC=$2
WORK=$(mktemp -d)
PID=
pass=0
failn=0
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
D="$WORK/d"
s() { "$SBOT" --path "$D" "$@"; }
check() {  # check NAME CONDITION...
  local name=$1
  shift
  if "$@"; then pass=$((pass + 1)); else failn=$((failn + 1)); echo "FAIL: $name"; fi
}

# Before the server: a few messages, a blob, and the server-only verbs' errors.
s publish --type post --text "before the server" > /dev/null
s add < "$VEC/generated/feeds.jsonl" > /dev/null
printf 'blob bytes\n' > "$WORK/blob"
BLOB=$(s blobs.add "$WORK/blob")
s gossip.peers > /dev/null 2> "$WORK/err"; rc=$?
check "gossip.peers without a server exits 7" [ "$rc" = 7 ]
check "and says why" grep -q "needs a running server" "$WORK/err"
ME=$(s whoami | sed 's/.*"\(@[^"]*\)".*/\1/')
ALICE=$(head -1 "$VEC/generated/feeds.jsonl" | sed 's/.*"author":"\(@[^"]*\)".*/\1/')

# Embedded answers, to compare with the server's.
s hist "$ALICE" > "$WORK/hist.embedded"
s hist "$ALICE" --keys false --seq 5 --limit 7 > "$WORK/hist2.embedded"
s feed --limit 30 > "$WORK/feed.embedded"
s log --reverse --limit 20 --keys false > "$WORK/log.embedded"
s messagesByType post --limit 10 > "$WORK/type.embedded"
KEY=$(head -1 "$WORK/hist.embedded" | sed 's/{"key":"\([^"]*\)".*/\1/')
s get "$KEY" > "$WORK/get.embedded"
s blobs.ls > "$WORK/ls.embedded"

# (--gossip.pub false: feeds.jsonl announces pub.example.org, which tests must never dial)
"$SBOT" --path "$D" server --host 127.0.0.1 --port 0 --no-lan --gossip.pub false --run-for 120 > "$WORK/server.out" 2> "$WORK/server.err" &
PID=$!
for _ in $(seq 1 100); do [ -S "$D/socket" ] && break; sleep 0.1; done
check "the server made its owner socket" [ -S "$D/socket" ]
check "the owner socket is private" [ "$(stat -c %a "$D/socket")" = 600 ]
s server --host 127.0.0.1 --port 0 --no-lan > /dev/null 2> "$WORK/err2"; rc=$?
check "a second server on the same data dir is refused (exit 75)" [ "$rc" = 75 ]
check "and says why" grep -q "already running" "$WORK/err2"

for v in hist hist2 feed log type get ls; do
  case $v in
    hist) s hist "$ALICE" > "$WORK/$v.server" ;;
    hist2) s hist "$ALICE" --keys false --seq 5 --limit 7 > "$WORK/$v.server" ;;
    feed) s feed --limit 30 > "$WORK/$v.server" ;;
    log) s log --reverse --limit 20 --keys false > "$WORK/$v.server" ;;
    type) s messagesByType post --limit 10 > "$WORK/$v.server" ;;
    get) s get "$KEY" > "$WORK/$v.server" ;;
    ls) s blobs.ls > "$WORK/$v.server" ;;
  esac
  check "$v through the server is byte-identical to the embedded store" cmp -s "$WORK/$v.embedded" "$WORK/$v.server"
done
check "whoami through the server" [ "$(s whoami)" = "{\"id\":\"$ME\"}" ]
out=$(s publish --type post --text "through the server")
check "publish through the server returns the KVT" grep -q '"text":"through the server"' <<<"$out"
check "publish went into our feed" [ "$(s hist "$ME" --values false | wc -l)" = 2 ]
check "blobs.get through the server" cmp -s <(s blobs.get "$BLOB") "$WORK/blob"
check "blobs.has through the server" [ "$(s blobs.has "$BLOB")" = true ]
printf 'second blob\n' > "$WORK/blob2"
B2=$(s blobs.add "$WORK/blob2")
check "blobs.add through the server prints the id" [ "$B2" = "$("$SBOT" --path "$WORK/other" blobs.add "$WORK/blob2")" ]
s blobs.rm "$B2" > /dev/null; rc=$?
check "blobs.rm through the server" [ "$rc" = 0 ]
check "the blob is gone" [ "$(s blobs.has "$B2")" = false ]
s get "%AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.sha256" > /dev/null 2>&1; rc=$?
check "get of a missing message exits 3 through the server" [ "$rc" = 3 ]
s hist "not-a-feed" > /dev/null 2>&1; rc=$?
check "a bad feed id exits 2 through the server" [ "$rc" = 2 ]
s publish --text "no type" > /dev/null 2>&1; rc=$?
check "publish without a type exits 2 through the server" [ "$rc" = 2 ]
f=$(s friends.follow "$ALICE")
check "friends.follow publishes a contact" grep -q '"type":"contact"' <<<"$f"
STRANGER=$("$SBOT" --path "$WORK/stranger" whoami | sed 's/.*"\(@[^"]*\)".*/\1/')
check "replicate.request through the server" [ "$(s replicate.request "$STRANGER")" = true ]
# The pubs feeds.jsonl announces are known (learned from the store) but, with --gossip.pub
# false, never dialed: no attempt recorded.
peers=$(s gossip.peers)
check "gossip.peers through the server lists the announced pubs" grep -q '"host":"pub.example.org".*"source":"pub"' <<<"$peers"
check "and dials none of them" [ "$(grep -c stateChange <<<"$peers")" = 0 ]
st=$(s status)
check "status through the server lists connections" grep -q '"connections":\[\]' <<<"$st"
s gossip.connect "net:127.0.0.1:1~shs:$(printf 'A%.0s' $(seq 1 43))=" > /dev/null 2> "$WORK/err3"; rc=$?
check "gossip.connect to nothing fails (exit 7)" [ "$rc" = 7 ]
check "and names the address" grep -q "net:127.0.0.1:1" "$WORK/err3"
s gossip.connect "not an address" > /dev/null 2>&1; rc=$?
check "gossip.connect with a bad address exits 4" [ "$rc" = 4 ]

# Live streams through the server: what is published while they are open arrives (a live
# stream used to end at once with nothing). The publishing repeats until the stream has opened
# and printed an item (at most 100 times); then the reader is stopped. (ssb-db applies `limit`
# to the old items only, so a live stream runs until its reader goes.)
live_check() {  # live_check NAME VERB-ARGS…
  local name=$1
  shift
  "$SBOT" --path "$D" "$@" > "$WORK/live.out" 2> "$WORK/live.err" &
  local lp=$!
  for i in $(seq 1 100); do
    s publish --type post --text "live $name $i" > /dev/null
    [ -s "$WORK/live.out" ] && break
    sleep 0.1
  done
  check "$name --live --old false gets what is published" grep -q "\"text\":\"live $name " "$WORK/live.out"
  check "$name: no old item" [ "$(grep -vc "\"text\":\"live $name " "$WORK/live.out")" = 0 ]
  check "$name: the stream is still open" kill "$lp"
  wait "$lp" 2>/dev/null
}
live_check log log --live --old false
live_check feed feed --live --old false
live_check messagesByType messagesByType post --live --old false
live_check hist hist "$ME" --live --old false
# A private message through the server comes back as signed, and pipes into another store.
out=$(s publish --type post --text "private, through the server" --recps "$ME")
check "publish of a private message through the server answers the box" grep -q '"content":"[A-Za-z0-9+/=]*\.box"' <<<"$out"
s hist "$ME" > "$WORK/mine.server"
"$SBOT" --path "$WORK/copy" add < "$WORK/mine.server" > /dev/null 2>&1
check "hist through the server pipes into add on another store" \
  [ "$("$SBOT" --path "$WORK/copy" hist "$ME" --keys false)" = "$(s hist "$ME" --keys false)" ]
n=$(s hist "$ME" --values false | wc -l)

kill "$PID"
wait "$PID" 2>/dev/null
PID=
check "the server removes its socket when it stops" [ ! -e "$D/socket" ]
check "after the server, the embedded store sees everything" [ "$(s hist "$ME" --values false | wc -l)" = "$n" ]

echo "cli server: $pass passed, $failn failed"
[ "$failn" = 0 ]
