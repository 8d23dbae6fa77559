#!/usr/bin/env bash
# Command-line tests of sbot: expected output and exit codes on a throw-away data dir.
# usage: sbot_test.sh SBOT_BINARY VECTORS_DIR RSS_TOOL MAX_RSS_MIB
set -uo pipefail
SBOT=$1
VEC=$2
RSS_TOOL=$3     # ssb_oldlog_tool: `rss COMMAND…` prints the child's peak RSS
MAX_RSS_MIB=$4  # the bound for sbot reading hostile input (more under sanitizers)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export SSB_PATH=$WORK/me
passed=0
failed=0

ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
# expect_exit CODE DESCRIPTION -- COMMAND…
expect_exit() {
  local want=$1 what=$2
  shift 3
  "$@" >"$WORK/out" 2>"$WORK/err"
  local got=$?
  if [ "$got" = "$want" ]; then ok; else fail "$what: exit $got, expected $want; stderr: $(head -c 300 "$WORK/err")"; fi
}
# The "value" member of compact KVT lines, as text.
values_of() { sed -e 's/^{"key":"[^"]*","value"://' -e 's/,"timestamp":[0-9.e+]*}$//' "$1"; }
# A wire message from messages.json by name (node is installed by scripts/setup).
vector_wire() {
  node -e 'const d = require(require("path").resolve(process.argv[1])); process.stdout.write(d.entries.find(e => e.name === process.argv[2]).wire + "\n")' \
    "$VEC/generated/messages.json" "$1"
}

# --- the seed's four commands
expect_exit 0 "publish" -- "$SBOT" publish --type post --text "My First Post!"
grep -q '"text":"My First Post!"' "$WORK/out" && ok || fail "publish prints the new message"
ME=$("$SBOT" whoami | sed 's/.*"\(@[^"]*\)".*/\1/')
[ -n "$ME" ] && ok || fail "whoami"
expect_exit 0 "feed" -- "$SBOT" feed
grep -q "My First Post" "$WORK/out" && ok || fail "feed shows the post"
expect_exit 0 "log" -- "$SBOT" log
grep -q "My First Post" "$WORK/out" && ok || fail "log shows the post"
expect_exit 0 "hist" -- "$SBOT" hist "$ME"
grep -q "My First Post" "$WORK/out" && ok || fail "hist shows the post"

# --- add stores real and generated feeds; hist returns the values byte-identical
for f in real-feed-2018/feed.jsonl generated/feeds.jsonl; do
  expect_exit 0 "add $f" -- "$SBOT" add < "$VEC/$f"
  [ "$(grep -c '"stored":true' "$WORK/out")" = "$(grep -c . "$VEC/$f")" ] && ok || fail "add $f: every message stored"
  for feed in $(sed 's/.*"author":"\(@[^"]*\)".*/\1/' "$VEC/$f" | sort -u); do
    grep "\"author\":\"$feed\"" "$VEC/$f" > "$WORK/expected-kvt"
    values_of "$WORK/expected-kvt" > "$WORK/expected"
    "$SBOT" hist "$feed" --keys false > "$WORK/got"
    cmp -s "$WORK/expected" "$WORK/got" && ok || fail "hist $feed --keys false is byte-identical to $f"
  done
done
expect_exit 0 "add again" -- "$SBOT" add < "$VEC/generated/feeds.jsonl"
[ "$(grep -c '"duplicate":true' "$WORK/out")" = 250 ] && ok || fail "re-adding reports 250 duplicates"
"$SBOT" hist --id "@uOReuhnb9+mPi5RnTbKMKRr3r87cK+aOg8lFXV/SBPU=.ed25519" --seq 230 --keys false > "$WORK/got"
[ "$(wc -l < "$WORK/got")" = 6 ] && ok || fail "hist --seq is inclusive (230..235)"
"$SBOT" hist "@uOReuhnb9+mPi5RnTbKMKRr3r87cK+aOg8lFXV/SBPU=.ed25519" --limit 2 --reverse --values false > "$WORK/got"
[ "$(head -1 "$WORK/got")" = "$(sed -n 235p "$VEC/real-feed-2018/feed.jsonl" | sed 's/^{"key":\("[^"]*"\).*/\1/')" ] && ok || fail "hist --reverse starts at the latest"
expect_exit 0 "messagesByType" -- "$SBOT" messagesByType contact --limit 3
[ "$(wc -l < "$WORK/out")" = 3 ] && ok || fail "messagesByType --limit 3"

# --- bad input: each a clear error, nothing stored wrongly
before=$("$SBOT" status | sed 's/.*"messages":\([0-9]*\).*/\1/')
for name in size-8193-ascii first-seq-2 first-previous-not-null sequence-float order-previous-not-first; do
  vector_wire "$name" > "$WORK/bad"
  expect_exit 1 "add invalid $name" -- "$SBOT" add < "$WORK/bad"
  grep -q '"stored":false,"error":"invalid-message' "$WORK/out" && ok || fail "$name: rejection names the rule"
done
echo 'this is not json' > "$WORK/bad"
expect_exit 1 "add garbage" -- "$SBOT" add < "$WORK/bad"
grep -q 'invalid-input' "$WORK/out" && ok || fail "garbage is reported as invalid input"
# A gap: message 3 of a feed whose 1 we hold.
sed -n '1p;3p' "$VEC/real-feed-2018/feed.jsonl" > "$WORK/gap.ndjson"
SSB_PATH=$WORK/gapdir "$SBOT" add < "$WORK/gap.ndjson" > "$WORK/out" 2>&1
grep -q '"stored":false' "$WORK/out" && ok || fail "a sequence gap is rejected"
after=$("$SBOT" status | sed 's/.*"messages":\([0-9]*\).*/\1/')
[ "$before" = "$after" ] && ok || fail "nothing stored from bad input ($before → $after)"

# A fork: our feed's message 2 signed twice with different content, by the same key.
FORK=$WORK/fork
SSB_PATH=$FORK "$SBOT" publish --type post --text one > /dev/null
cp -r "$FORK" "$WORK/fork-twin"
SSB_PATH=$FORK "$SBOT" publish --type post --text two > /dev/null
SSB_PATH=$WORK/fork-twin "$SBOT" publish --type post --text "two, forked" > /dev/null
SSB_PATH=$WORK/fork-twin "$SBOT" hist --keys false | sed -n 2p > "$WORK/forked"
expect_exit 1 "add a fork" -- env SSB_PATH=$FORK "$SBOT" add < "$WORK/forked"
grep -q '"fork":true' "$WORK/out" && ok || fail "the fork is reported"
SSB_PATH=$FORK "$SBOT" status > "$WORK/out"
grep -q '"forks":\[{"author"' "$WORK/out" && ok || fail "status lists the fork with both ids"

# --- private messages
BOB=$WORK/bob
BOB_ID=$(SSB_PATH=$BOB "$SBOT" whoami | sed 's/.*"\(@[^"]*\)".*/\1/')
expect_exit 0 "publish private" -- "$SBOT" publish --type post --text "for bob" --recps "$BOB_ID"
# publish answers the message as signed: its content is the box, as ssb-server's publish.
grep -q '"content":"[A-Za-z0-9+/=]*\.box"' "$WORK/out" && ok || fail "publish answers the private message as signed"
"$SBOT" hist "$ME" --keys false | tail -1 > "$WORK/private"
grep -q '"content":"[A-Za-z0-9+/=]*\.box"' "$WORK/private" && ok || fail "the stored value is the ciphertext"
"$SBOT" log --limit 1 --reverse > "$WORK/out"
grep -q '"content":"[A-Za-z0-9+/=]*\.box"' "$WORK/out" && ok || fail "log shows it as signed by default"
"$SBOT" log --limit 1 --reverse --private > "$WORK/out"
grep -q '"text":"for bob"' "$WORK/out" && grep -q '"cyphertext":"' "$WORK/out" && ok || fail "log --private shows it decrypted, as ssb-db does"
SSB_PATH=$BOB "$SBOT" add < <("$SBOT" hist "$ME" --keys false) > /dev/null 2>&1
SSB_PATH=$BOB "$SBOT" log --limit 1 --reverse --private > "$WORK/out"
grep -q '"text":"for bob"' "$WORK/out" && ok || fail "the recipient reads it"
SSB_PATH=$WORK/eve "$SBOT" private.unbox "$(cat "$WORK/private")" > /dev/null 2>&1
[ $? = 3 ] && ok || fail "others cannot unbox it (exit 3)"
# What hist, log and feed print pipes back into `sbot add` on any store (a feed with private
# messages, a store that can read none of them): every message, byte for byte.
"$SBOT" publish --type post --text "to myself" --recps "$ME" > /dev/null
"$SBOT" hist "$ME" > "$WORK/mine"
[ "$(grep -c '\.box"' "$WORK/mine")" = 2 ] && ok || fail "hist prints both private messages as signed"
expect_exit 0 "hist | add into another store" -- env SSB_PATH=$WORK/carol "$SBOT" add < "$WORK/mine"
[ "$(grep -c '"stored":true' "$WORK/out")" = "$(wc -l < "$WORK/mine")" ] && ok || fail "every message of the feed is stored"
# (Keys and values byte for byte; the receive timestamps are the copy's own.)
SSB_PATH=$WORK/carol "$SBOT" hist "$ME" > "$WORK/theirs"
cmp -s <(sed 's/,"timestamp":[0-9.e+]*}$//' "$WORK/mine") <(sed 's/,"timestamp":[0-9.e+]*}$//' "$WORK/theirs") \
  && ok || fail "the copy's hist is byte-identical"
"$SBOT" log --private | SSB_PATH=$WORK/dave "$SBOT" add > /dev/null 2>&1
[ $? = 1 ] && ok || fail "log --private (decrypted values) is refused by add"
"$SBOT" log | SSB_PATH=$WORK/dave "$SBOT" add > /dev/null 2>&1 && ok || fail "log pipes into add"
"$SBOT" feed | SSB_PATH=$WORK/erin "$SBOT" add > /dev/null 2>&1 && ok || fail "feed pipes into add"
# get: the signed value, or ssb-db 20's decrypted one with --private, {key, value, timestamp}
# with --meta.
PRIV=$(grep '\.box"' "$WORK/mine" | tail -1 | sed 's/^{"key":"\([^"]*\)".*/\1/')
expect_exit 0 "get a private message" -- "$SBOT" get "$PRIV"
grep -q '"content":"[A-Za-z0-9+/=]*\.box"' "$WORK/out" && ok || fail "get returns the box"
expect_exit 0 "get --private" -- "$SBOT" get "$PRIV" --private
grep -q '"text":"to myself"' "$WORK/out" && grep -q '"private":true' "$WORK/out" && ok || fail "get --private decrypts"
expect_exit 0 "get --meta" -- "$SBOT" get "$PRIV" --meta
grep -q "^{\"key\":\"$PRIV\",\"value\":{" "$WORK/out" && grep -q '"content":"[A-Za-z0-9+/=]*\.box"' "$WORK/out" \
  && ok || fail "get --meta answers {key, value} as signed"

# --- blobs
printf 'hello blob' > "$WORK/blob"
expect_exit 0 "blobs.add" -- "$SBOT" blobs.add "$WORK/blob"
BLOB=$(cat "$WORK/out")
expect_exit 0 "blobs.get" -- "$SBOT" blobs.get "$BLOB"
cmp -s "$WORK/out" "$WORK/blob" && ok || fail "blobs.get returns the bytes"
expect_exit 0 "blobs.has" -- "$SBOT" blobs.has "$BLOB"
grep -qx true "$WORK/out" && ok || fail "blobs.has"
head -c 5242880 /dev/zero > "$WORK/big"
expect_exit 4 "blob over the 5 MiB - 1 limit" -- "$SBOT" blobs.add "$WORK/big"
expect_exit 2 "blobs.get with a bad id" -- "$SBOT" blobs.get "&nope"
expect_exit 3 "blobs.get of a missing blob" -- "$SBOT" blobs.get "&47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=.sha256"

# --- damaged or foreign stores, unusable data dirs
mkdir -p "$WORK/corrupt"
head -c 8192 /dev/urandom > "$WORK/corrupt/db.sqlite"
expect_exit 5 "a corrupt store file" -- "$SBOT" --path "$WORK/corrupt" feed
grep -qi "db.sqlite" "$WORK/err" && ok || fail "the corrupt-store error names the file"
mkdir -p "$WORK/foreign"
sqlite3 "$WORK/foreign/db.sqlite" "CREATE TABLE songs(title TEXT); INSERT INTO songs VALUES('x');"
expect_exit 2 "another application's SQLite file" -- "$SBOT" --path "$WORK/foreign" feed
[ "$(sqlite3 "$WORK/foreign/db.sqlite" 'SELECT count(*) FROM songs')" = 1 ] && ok || fail "the foreign file is left alone"
printf 'x' > "$WORK/a-file"
expect_exit 7 "a data dir below a regular file" -- "$SBOT" --path "$WORK/a-file/ssb" publish --type post --text x
mkdir -p "$WORK/ro" && "$SBOT" --path "$WORK/ro" publish --type post --text x > /dev/null
if [ "$(id -u)" != 0 ]; then
  chmod -R a-w "$WORK/ro"
  expect_exit 7 "a read-only data dir" -- "$SBOT" --path "$WORK/ro" publish --type post --text y
  chmod -R u+w "$WORK/ro"
elif command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
  # Root ignores permission bits: make the data dir a read-only mount in a private namespace.
  expect_exit 7 "a read-only data dir" -- unshare -m sh -c \
    "mount --bind '$WORK/ro' '$WORK/ro' && mount -o remount,bind,ro '$WORK/ro' && exec '$SBOT' --path '$WORK/ro' publish --type post --text y"
  grep -qi "read-only" "$WORK/err" && ok || fail "the read-only error says so"
else
  echo "skip: read-only data dir check needs a non-root user or mount namespaces"
fi
[ "$("$SBOT" --path "$WORK/ro" hist --values false | wc -l)" = 1 ] && ok || fail "nothing was written to the read-only dir"

# --- stdin is read in blocks with a bound on one line: a 5 MB line (no valid message comes near)
# is skipped and reported, the messages after it are stored; a 300 MB line costs no memory.
L=$WORK/longline
mkdir -p "$L"
{ head -c 5000000 /dev/zero | tr '\0' x; echo; head -3 "$VEC/real-feed-2018/feed.jsonl"; } > "$WORK/long.jsonl"
expect_exit 1 "add with a 5 MB line" -- "$SBOT" --path "$L" add < "$WORK/long.jsonl"
grep -q "stdin line 1 is 5000000 bytes, over the limit" "$WORK/out" && [ "$(grep -c '"stored":true' "$WORK/out")" = 3 ] \
  && ok || fail "the long line is reported and the 3 messages after it stored: $(head -c 300 "$WORK/out")"
{ head -c 300000000 /dev/zero | tr '\0' x; } | "$RSS_TOOL" rss "$SBOT" --path "$L" validate > "$WORK/out" 2> "$WORK/err"
rss=$(grep -o 'peak-rss-kib [0-9]*' "$WORK/err" | grep -o '[0-9]*$')
[ "${rss:-999999999}" -lt $((MAX_RSS_MIB * 1024)) ] && grep -q '"valid":false' "$WORK/out" \
  && ok || fail "validate of a 300 MB line: peak RSS ${rss:-?} KiB (bound: $MAX_RSS_MIB MiB), $(head -c 200 "$WORK/out")"
printf '%s' "$(head -c 2000000 /dev/zero | tr '\0' x)" > "$WORK/big-content"
expect_exit 4 "publish - with 2 MB on stdin" -- "$SBOT" --path "$L" publish - < "$WORK/big-content"

# --- text that is not UTF-8 is refused before it can be signed (a Latin-1 "café")
U=$WORK/utf8
expect_exit 2 "publish --text with a Latin-1 byte" -- "$SBOT" --path "$U" publish --type post --text "$(printf 'caf\xe9')"
grep -q "not valid UTF-8" "$WORK/err" && grep -q -- "--text" "$WORK/err" && ok || fail "the error names the option: $(cat "$WORK/err")"
expect_exit 2 "publish --text=… with a Latin-1 byte" -- "$SBOT" --path "$U" publish --type post "--text=$(printf 'caf\xe9')"
expect_exit 2 "a JSON argument with a Latin-1 byte" -- "$SBOT" --path "$U" publish "$(printf '{"type":"post","text":"caf\xe9"}')"
printf '{"type":"post","text":"caf\xe9"}' > "$WORK/latin1.json"
expect_exit 2 "JSON on stdin with a Latin-1 byte" -- sh -c "'$SBOT' --path '$U' publish - < '$WORK/latin1.json'"
[ "$("$SBOT" --path "$U" hist --values false 2>/dev/null | wc -l)" = 0 ] && ok || fail "nothing was published"
expect_exit 0 "publish UTF-8 café" -- "$SBOT" --path "$U" publish --type post --text "café"
"$SBOT" --path "$U" hist --keys false | "$SBOT" --path "$WORK/utf8b" add > /dev/null 2>&1 \
  && ok || fail "our café message is valid for another store"

# --- the config: one reader for every verb and the server
C=$WORK/cfg
mkdir -p "$C" && echo 'port = 8008' > "$C/config"
expect_exit 2 "publish with a config that is not JSON" -- "$SBOT" --path "$C" publish --type post --text x
grep -q "cfg/config" "$WORK/err" && ok || fail "the error names the config file: $(cat "$WORK/err")"
expect_exit 2 "status with a config that is not JSON" -- "$SBOT" --path "$C" status
echo '{"caps":{"shs":42}}' > "$C/config"
expect_exit 2 "caps.shs: 42" -- "$SBOT" --path "$C" status
grep -q "caps.shs" "$WORK/err" && ok || fail "the error names caps.shs: $(cat "$WORK/err")"
expect_exit 2 "caps.shs: 42 also stops the server" -- "$SBOT" --path "$C" server --port 0 --no-lan --run-for 1
echo '{"caps":{"sign":"hIGLt2dl9HBavXumNjjOG2ERlXXzY3cuB+IMlnNVvTE="},"frends":{"hops":1}}' > "$C/config"
expect_exit 0 "publish on a caps.sign network" -- "$SBOT" --path "$C" publish --type post --text signed
grep -q "unknown key frends" "$WORK/err" && ok || fail "an unknown key is a warning: $(cat "$WORK/err")"
"$SBOT" --path "$C" hist --keys false 2>/dev/null > "$WORK/hmac.ndjson"
"$SBOT" --path "$WORK/nohmac" validate < "$WORK/hmac.ndjson" > /dev/null 2>&1 \
  && fail "a caps.sign message must not verify on the main network" || ok
"$SBOT" --path "$WORK/nohmac" --hmac hIGLt2dl9HBavXumNjjOG2ERlXXzY3cuB+IMlnNVvTE= validate < "$WORK/hmac.ndjson" > /dev/null 2>&1 \
  && ok || fail "publish signed with the config's caps.sign"

# --- the command line is muxrpcli: every manifest method a verb
expect_exit 0 "latest" -- "$SBOT" latest
grep -q "{\"id\":\"$ME\",\"sequence\":[0-9]*,\"ts\":" "$WORK/out" && ok || fail "latest lists our feed"
expect_exit 0 "friends.hops" -- "$SBOT" friends.hops
grep -q "\"$ME\":0" "$WORK/out" && ok || fail "friends.hops: we are at 0 hops"
expect_exit 0 "createUserStream" -- "$SBOT" createUserStream --id "$ME"
[ "$(wc -l < "$WORK/out")" = "$(wc -l < "$WORK/mine")" ] && ok || fail "createUserStream lists our feed"
expect_exit 0 "help" -- "$SBOT" help
for verb in createLogStream friends.hops query.read gossip.peers blobs.getSlice ebt.peerStatus; do
  grep -q "$verb" "$WORK/out" && ok || fail "help lists $verb"
done
expect_exit 7 "a verb that needs a server" -- "$SBOT" gossip.changes
grep -q "gossip.changes needs a running server" "$WORK/err" && ok || fail "and says so"
expect_exit 7 "a live stream needs a server" -- "$SBOT" log --live
# --- usage errors
expect_exit 2 "unknown verb" -- "$SBOT" frobnicate
grep -q "unknown verb 'frobnicate'" "$WORK/err" && ok || fail "the unknown verb is named"
expect_exit 2 "publish without a type" -- "$SBOT" publish --text x
expect_exit 2 "hist with a bad feed id" -- "$SBOT" hist @nope
expect_exit 3 "get of a missing message" -- "$SBOT" get "%AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.sha256"

echo "cli sbot: $passed passed, $failed failed"
[ -n "${SSB_REPORT_FILE:-}" ] && echo "cli sbot: $passed checks passed, $failed failed" >> "$SSB_REPORT_FILE"
[ "$failed" = 0 ]
