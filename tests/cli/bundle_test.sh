#!/usr/bin/env bash
# Command-line tests of ssb-bundle: exit codes, --json on every path, media failures.
# usage: bundle_test.sh SSB_BUNDLE SBOT VECTORS_DIR
set -uo pipefail
BUNDLE=$1
SBOT=$2
VEC=$3
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# Commands given no --path must not touch the user's ~/.ssb (another build may own it).
export SSB_PATH=$WORK/default
passed=0
failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
# expect CODE DESCRIPTION -- COMMAND…: checks the exit code; with --json, that stdout is one
# JSON document whose "exit" is CODE.
expect() {
  local want=$1 what=$2
  shift 3
  "$@" >"$WORK/out" 2>"$WORK/err"
  local got=$?
  if [ "$got" = "$want" ]; then ok; else fail "$what: exit $got, expected $want; $(head -c 300 "$WORK/err")"; fi
  if [[ " $* " == *" --json "* ]]; then
    node -e '
      const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))
      process.exit(d.exit === Number(process.argv[2]) ? 0 : 1)' "$WORK/out" "$want" \
      && ok || fail "$what: --json output is not one JSON document with exit $want: $(head -c 300 "$WORK/out")"
  fi
}

A=$WORK/alice
B=$WORK/bob
"$SBOT" --path "$A" add < "$VEC/real-feed-2018/feed.jsonl" > /dev/null 2>&1
"$SBOT" --path "$A" add < "$VEC/generated/feeds.jsonl" > /dev/null 2>&1
printf 'a blob' > "$WORK/blobfile"
BLOB=$("$SBOT" --path "$A" blobs.add "$WORK/blobfile")
"$SBOT" --path "$A" publish --type post --text "look: $BLOB" > /dev/null
STICK=$WORK/stick
mkdir -p "$STICK"

expect 0 "export --all" -- "$BUNDLE" --path "$A" --json export --all --out "$STICK/a.ssb-bundle"
expect 0 "inspect" -- "$BUNDLE" --path "$A" inspect "$STICK/a.ssb-bundle"
grep -q "486 messages in 5 feeds, 1 blobs" "$WORK/out" && ok || fail "inspect lists messages, feeds and blobs"
expect 0 "verify without a store" -- "$BUNDLE" --path "$WORK/nobody" verify "$STICK/a.ssb-bundle"
[ ! -e "$WORK/nobody" ] && ok || fail "verify wrote nothing"
expect 0 "verify --against an empty dir" -- "$BUNDLE" --json verify "$STICK/a.ssb-bundle" --against "$WORK/empty"
expect 0 "dry-run import" -- "$BUNDLE" --path "$B" --dry-run import "$STICK"
[ "$("$SBOT" --path "$B" status | sed 's/.*"messages":\([0-9]*\).*/\1/')" = 0 ] && ok || fail "dry run stored nothing"
expect 0 "import a directory (a stick)" -- "$BUNDLE" --path "$B" --json import "$STICK"
[ "$("$SBOT" --path "$B" status | sed 's/.*"messages":\([0-9]*\).*/\1/')" = 486 ] && ok || fail "486 messages imported"
"$SBOT" --path "$B" blobs.has "$BLOB" | grep -qx true && ok || fail "the referenced blob arrived"
expect 0 "import twice" -- "$BUNDLE" --path "$B" import "$STICK/a.ssb-bundle"
grep -q "0 messages, 0 blobs" "$WORK/out" && ok || fail "the second import changes nothing"
for f in $("$SBOT" --path "$A" feed --values false | tr -d '"' | head -3); do :; done
diff <("$SBOT" --path "$A" log --keys false | sort) <("$SBOT" --path "$B" log --keys false | sort) > /dev/null \
  && ok || fail "both stores hold identical messages"
# A private message that arrives in a bundle is decrypted for its recipient, as `sbot add` does:
# its type is indexed (messagesByType finds it) while the stored value stays as signed.
D=$WORK/dave
E=$WORK/erin
E_ID=$("$SBOT" --path "$E" whoami | sed 's/.*"id": *"\([^"]*\)".*/\1/')
"$SBOT" --path "$D" publish --type post --text "for erin only" --recps "$E_ID" > /dev/null
expect 0 "export a private message" -- "$BUNDLE" --path "$D" export --all --out "$WORK/dave.ssb-bundle"
expect 0 "import it as its recipient" -- "$BUNDLE" --path "$E" import "$WORK/dave.ssb-bundle"
[ "$("$SBOT" --path "$E" messagesByType post | wc -l)" = 1 ] && ok \
  || fail "the imported private message was decrypted and indexed by its type"
[ "$("$SBOT" --path "$E" log | grep -c 'for erin only')" = 0 ] && ok || fail "log shows it as signed (a box)"

# Blob wants: carol gets the messages without the blob, her want file asks for it, and an export
# for that want file carries the blob alone.
C=$WORK/carol
"$BUNDLE" --path "$A" -q export --all --blob-budget 0 --out "$WORK/noblob.ssb-bundle" > /dev/null
expect 0 "import without the blob" -- "$BUNDLE" --path "$C" import "$WORK/noblob.ssb-bundle"
"$SBOT" --path "$C" blobs.has "$BLOB" | grep -qx false && ok || fail "carol lacks the blob"
expect 0 "want --out" -- "$BUNDLE" --path "$C" --json want --out "$WORK/carol.ssb-want"
grep -qF "\"$BLOB\"" "$WORK/carol.ssb-want" && ok || fail "the want file names the missing blob"
expect 0 "export --want" -- "$BUNDLE" --path "$A" --json export --all --want "$WORK/carol.ssb-want" --out "$WORK/wanted.ssb-bundle"
grep -q '"messages":0' "$WORK/out" && grep -q '"wanted_blobs":1' "$WORK/out" && ok || fail "only the wanted blob is exported: $(cat "$WORK/out")"
expect 0 "inspect a blob-only bundle" -- "$BUNDLE" inspect "$WORK/wanted.ssb-bundle"
grep -q "0 messages in 0 feeds, 1 blobs" "$WORK/out" && ok || fail "inspect shows the blob alone: $(cat "$WORK/out")"
expect 0 "import a blob-only bundle" -- "$BUNDLE" --path "$C" import "$WORK/wanted.ssb-bundle"
"$SBOT" --path "$C" blobs.get "$BLOB" 2>/dev/null | cmp -s - "$WORK/blobfile" && ok || fail "carol has the blob's bytes"
expect 0 "want --out again" -- "$BUNDLE" --path "$C" --json want --out "$WORK/carol2.ssb-want"
# (real-feed-2018 references blobs that nobody here holds: those stay wanted.)
! grep -qF "\"$BLOB\"" "$WORK/carol2.ssb-want" && ok || fail "the blob is not wanted any more"

expect 0 "nothing to export" -- "$BUNDLE" --path "$WORK/empty2" --json export --all --out "$WORK/none.ssb-bundle"
grep -q '"nothing_to_do":true' "$WORK/out" && ok || fail "nothing to do is reported"
[ ! -e "$WORK/none.ssb-bundle" ] && ok || fail "no empty bundle is written"
expect 0 "stream through a pipe" -- sh -c "'$BUNDLE' --path '$A' export --feeds @uOReuhnb9+mPi5RnTbKMKRr3r87cK+aOg8lFXV/SBPU=.ed25519 --out - | '$BUNDLE' --path '$WORK/piped' import -"
[ "$("$SBOT" --path "$WORK/piped" status | sed 's/.*"messages":\([0-9]*\).*/\1/')" = 235 ] && ok || fail "stdin import stored 235"

# Failure cases.
echo foo > "$WORK/garbage"
expect 1 "garbage" -- "$BUNDLE" --json verify "$WORK/garbage"
expect 1 "garbage on stdin" -- sh -c "echo foo | '$BUNDLE' --json verify -"
: > "$WORK/empty.ssb-bundle"
expect 1 "empty file" -- "$BUNDLE" --path "$WORK/emptyfile" --json import "$WORK/empty.ssb-bundle"
head -c 5000 "$STICK/a.ssb-bundle" > "$WORK/cut.ssb-bundle"
expect 1 "truncated bundle" -- "$BUNDLE" --path "$WORK/c" --json import "$WORK/cut.ssb-bundle"
[ "$("$SBOT" --path "$WORK/c" status | sed 's/.*"messages":\([0-9]*\).*/\1/')" = 0 ] && ok || fail "nothing half-applied"
expect 7 "missing file" -- "$BUNDLE" --json verify "$WORK/no-such-file"
mkdir -p "$WORK/testnet" && echo '{"caps":{"shs":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}' > "$WORK/testnet/config"
expect 5 "another network" -- "$BUNDLE" --path "$WORK/testnet" --json import "$STICK/a.ssb-bundle"
[ "$("$SBOT" --path "$WORK/testnet" status | sed 's/.*"messages":\([0-9]*\).*/\1/')" = 0 ] && ok || fail "nothing written from another network"
expect 2 "usage error" -- "$BUNDLE" --json export --all
expect 2 "nothing selected" -- "$BUNDLE" --path "$A" --json export --out "$WORK/x"

# Out of order: the later part first waits (exit 3), then everything applies.
"$BUNDLE" --path "$A" -q export --feeds @uOReuhnb9+mPi5RnTbKMKRr3r87cK+aOg8lFXV/SBPU=.ed25519 --max-part 40000 --out "$WORK/parts/feed.ssb-bundle" > /dev/null 2>&1 || mkdir -p "$WORK/parts"
mkdir -p "$WORK/parts"
"$BUNDLE" --path "$A" -q export --feeds @uOReuhnb9+mPi5RnTbKMKRr3r87cK+aOg8lFXV/SBPU=.ed25519 --max-part 40000 --out "$WORK/parts/feed.ssb-bundle" > /dev/null
nparts=$(ls "$WORK/parts" | wc -l)
[ "$nparts" -gt 1 ] && ok || fail "--max-part split the export ($nparts parts)"
expect 3 "a part whose prerequisites are missing" -- "$BUNDLE" --path "$WORK/ooo" --json import "$WORK/parts/feed.ssb-bundle.part$nparts"
grep -q '"missing-prerequisite"' "$WORK/out" && ok || fail "the missing range is named"
expect 0 "the rest fills the gap" -- "$BUNDLE" --path "$WORK/ooo" import "$WORK/parts"
[ "$("$SBOT" --path "$WORK/ooo" status | sed 's/.*"messages":\([0-9]*\).*/\1/')" = 235 ] && ok || fail "all 235 after the gap was filled"
[ -z "$(ls "$WORK/ooo/bundles/pending")" ] && ok || fail "the pending copy is gone once applied"

# A fork: bob's twin publishes a different message 2.
F=$WORK/fork
"$SBOT" --path "$F" publish --type post --text one > /dev/null
cp -r "$F" "$WORK/twin"
"$SBOT" --path "$F" publish --type post --text two > /dev/null
"$SBOT" --path "$WORK/twin" publish --type post --text "two, forked" > /dev/null
"$BUNDLE" --path "$WORK/twin" -q export --all --out "$WORK/twin.ssb-bundle" > /dev/null
expect 4 "a forked feed" -- "$BUNDLE" --path "$F" --json import "$WORK/twin.ssb-bundle"
grep -q '"result":"fork"' "$WORK/out" && grep -q '"ours"' "$WORK/out" && ok || fail "the fork is reported with both ids"

# Stale temp files and OS junk on the stick are ignored, never deleted.
cp "$STICK/a.ssb-bundle" "$STICK/a.ssb-bundle.tmp-123-456"
touch "$STICK/.DS_Store" "$STICK/._a.ssb-bundle"
expect 0 "a stick with junk" -- "$BUNDLE" --path "$B" import "$STICK"
[ -e "$STICK/.DS_Store" ] && [ -e "$STICK/a.ssb-bundle.tmp-123-456" ] && ok || fail "unknown files are left alone"

# The stick as a peer: init, lock, sync.
S2=$WORK/stick2
mkdir -p "$S2"
expect 2 "sync of an unprepared directory" -- "$BUNDLE" --path "$A" --json sync "$S2" --no-mount-check
expect 0 "init" -- "$BUNDLE" init "$S2"
expect 75 "sync of a directory that is not a mount point" -- "$BUNDLE" --path "$A" --json sync "$S2"
expect 75 "sync of a missing stick" -- "$BUNDLE" --path "$A" --json sync "$WORK/not-plugged-in" --no-mount-check
if command -v flock >/dev/null; then
  flock "$S2/.ssb-stick.lock" sleep 3 &
  sleep 0.5
  expect 75 "a concurrent run holds the lock" -- "$BUNDLE" --path "$A" --json sync "$S2" --no-mount-check
  wait
fi
expect 0 "alice syncs" -- "$BUNDLE" --path "$A" sync "$S2" --no-mount-check
expect 0 "bob syncs" -- "$BUNDLE" --path "$WORK/bob2" sync "$S2" --no-mount-check
[ "$("$SBOT" --path "$WORK/bob2" status | sed 's/.*"messages":\([0-9]*\).*/\1/')" = 486 ] && ok || fail "bob has alice's feeds after one sync"
expect 0 "a second sync is quiet" -- "$BUNDLE" --path "$WORK/bob2" sync "$S2" --no-mount-check
grep -q "imported 0 messages" "$WORK/out" && ok || fail "nothing re-imported"
ls "$S2"/ssb/wants/*.ssb-want > /dev/null 2>&1 && ok || fail "want files are on the stick"
ls "$S2"/ssb/bundles/*/ | grep -qv '[A-Z+/=]' && ok || fail "file names are FAT-safe"

# Hostile names and inputs (each broke before): --json stays one JSON document for a file name
# that is not UTF-8, in import and in sync (after the commit).
BADNAME=$(printf 'bad\xff\xfename.ssb-bundle')
cp "$STICK/a.ssb-bundle" "$WORK/$BADNAME"
expect 0 "--json import of a file name that is not UTF-8" -- "$BUNDLE" --path "$WORK/badname" --json import "$WORK/$BADNAME"
S3=$WORK/stick3
mkdir -p "$S3"
"$BUNDLE" init "$S3" > /dev/null
mkdir -p "$S3/ssb/bundles/0123456789abcdef0123456789abcdef"
cp "$STICK/a.ssb-bundle" "$S3/ssb/bundles/0123456789abcdef0123456789abcdef/$BADNAME"
expect 0 "--json sync of a stick with a file name that is not UTF-8" -- "$BUNDLE" --path "$WORK/badname2" --json sync "$S3" --no-mount-check
[ "$("$SBOT" --path "$WORK/badname2" status | sed 's/.*"messages":\([0-9]*\).*/\1/')" = 486 ] && ok || fail "the oddly named bundle was imported"
# A FIFO and a link off the stick named like bundles: skipped and reported, never a hang.
mkfifo "$S3/ssb/bundles/0123456789abcdef0123456789abcdef/fifo.ssb-bundle"
ln -s /etc/passwd "$S3/ssb/bundles/0123456789abcdef0123456789abcdef/passwd.ssb-bundle"
expect 0 "sync skips a FIFO and a link" -- timeout 120 "$BUNDLE" --path "$WORK/badname3" --json sync "$S3" --no-mount-check
grep -q '"skipped":\[{' "$WORK/out" && grep -q 'fifo.ssb-bundle' "$WORK/out" && grep -q 'passwd.ssb-bundle' "$WORK/out" \
  && ok || fail "the skipped files are reported: $(head -c 400 "$WORK/out")"
ls "$S3"/ssb/wants/*.ssb-want > /dev/null 2>&1 && ok || fail "the want file was written despite them"
# --json with a bundle on stdout: the JSON document goes to stderr, the bundle stays clean.
"$BUNDLE" --path "$A" --json export --all --out - > "$WORK/stdout.ssb-bundle" 2> "$WORK/stdout.json"
"$BUNDLE" verify "$WORK/stdout.ssb-bundle" > /dev/null 2>&1 && ok || fail "export --out - with --json writes a clean bundle"
node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$WORK/stdout.json" \
  && ok || fail "export --out - with --json writes its JSON to stderr: $(head -c 200 "$WORK/stdout.json")"
# A damaged secret file is local damage (exit 7), not a bundle that failed verification.
mkdir -p "$WORK/badsecret" && echo "not a secret" > "$WORK/badsecret/secret"
expect 7 "a damaged secret file" -- "$BUNDLE" --path "$WORK/badsecret" --json import "$STICK/a.ssb-bundle"
grep -q "secret is damaged" "$WORK/out" && ok || fail "the error names the damaged secret: $(cat "$WORK/out")"
# A permission error on a path that says "network" is not "another network" (exit 5).
expect 7 "permission denied under a path named network" -- "$BUNDLE" --path /sys/network-test --json export --all --out "$WORK/x.ssb-bundle"
# The config: one reader with sbot. Not JSON, or a bad caps value: an error naming file and key.
mkdir -p "$WORK/badcfg" && echo 'caps = nope' > "$WORK/badcfg/config"
expect 2 "a config that is not JSON" -- "$BUNDLE" --path "$WORK/badcfg" --json import "$STICK/a.ssb-bundle"
grep -q 'badcfg/config' "$WORK/out" && ok || fail "the error names the config file"
echo '{"caps":{"shs":42}}' > "$WORK/badcfg/config"
expect 2 "caps.shs that is not a key" -- "$BUNDLE" --path "$WORK/badcfg" --json import "$STICK/a.ssb-bundle"
grep -q 'caps.shs' "$WORK/out" && ok || fail "the error names caps.shs"
echo '{"caps":{"shs":"1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s="},"prot":8008,"logging":{"level":"info"}}' > "$WORK/badcfg/config"
expect 0 "unknown config keys are warnings" -- "$BUNDLE" --path "$WORK/badcfg" import "$STICK/a.ssb-bundle"
grep -q 'unknown key prot' "$WORK/err" && ok || fail "the unknown key is named: $(cat "$WORK/err")"
! grep -q 'logging' "$WORK/err" && ok || fail "ssb-config's own keys are not warned about"
# sbot and ssb-bundle agree on a test network: sbot signs with caps.sign, the bundle carries it,
# and a store with the same config takes it while the main network refuses it.
HM=$WORK/hmacnet
mkdir -p "$HM"
echo '{"caps":{"shs":"eDpGcDd2pneTOV5dasP2SlBx9G0aGRYkLXivalao5GE=","sign":"hIGLt2dl9HBavXumNjjOG2ERlXXzY3cuB+IMlnNVvTE="}}' > "$HM/config"
"$SBOT" --path "$HM" publish --type post --text "on the test network" > /dev/null
"$BUNDLE" --path "$HM" -q export --all --out "$WORK/hm.ssb-bundle" > /dev/null
mkdir -p "$WORK/hm2" && cp "$HM/config" "$WORK/hm2/config"
expect 0 "a test-network bundle imports with the same config" -- "$BUNDLE" --path "$WORK/hm2" import "$WORK/hm.ssb-bundle"
expect 5 "... and is another network without it" -- "$BUNDLE" --path "$WORK/hm3" import "$WORK/hm.ssb-bundle"

# Media failures need root in a private mount namespace (a small tmpfs, a read-only mount).
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
  mkdir -p "$WORK/full" "$WORK/ro"
  expect 6 "no space on the medium" -- unshare -m sh -c \
    "mount -t tmpfs -o size=40k tmpfs '$WORK/full' && exec '$BUNDLE' --path '$A' --json export --all --out '$WORK/full/a.ssb-bundle'"
  expect 7 "a read-only medium" -- unshare -m sh -c \
    "mount --bind '$WORK/ro' '$WORK/ro' && mount -o remount,bind,ro '$WORK/ro' && exec '$BUNDLE' --path '$A' --json export --all --out '$WORK/ro/a.ssb-bundle'"
  [ -z "$(ls -A "$WORK/ro")" ] && ok || fail "nothing left on the read-only medium"
  # A read-only medium under a path that says "network" is still exit 7, not "another network".
  mkdir -p "$WORK/network-ro"
  expect 7 "a read-only medium named network" -- unshare -m sh -c \
    "mount --bind '$WORK/network-ro' '$WORK/network-ro' && mount -o remount,bind,ro '$WORK/network-ro' && exec '$BUNDLE' --path '$A' --json export --all --out '$WORK/network-ro/a.ssb-bundle'"
else
  echo "skip: ENOSPC and read-only medium checks need root and mount namespaces"
fi

echo "cli ssb-bundle: $passed checks passed, $failed failed"
[ -n "${SSB_REPORT_FILE:-}" ] && echo "cli ssb-bundle: $passed checks passed, $failed failed" >> "$SSB_REPORT_FILE"
[ "$failed" = 0 ]
