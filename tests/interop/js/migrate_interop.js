// Switching from ssb-server 16.0.1 or an ssb-db2 8.1.0 app keeps the data: data dirs made by the
// real packages (old_datadir.js), with the tricky messages of tests/vectors, are imported by
// `sbot` on first use. Usage: node migrate_interop.js SBOT_BINARY
//
// For each kind, one PASS/FAIL line per property:
//   1. the first command imports the log (and says so on stderr);
//   2. every message the server stored is in our store byte-identical to what was signed, with
//      the same key, in log order, with its receive time;
//   3. every record gets the verdict `sbot add` gives the same messages in the same order
//      (stored, refused, recorded as a fork), except values the log format itself damaged
//      (bipf loses unpaired surrogates), which are refused;
//   4. `publish` extends the user's feed: a real server of the same kind takes the user's feed
//      as we hold it, the new message as the next one (no fork);
//   5. a second run (`sbot migrate`, and `--from-start`) changes nothing;
//   6. the old files are byte for byte what they were.
'use strict'
const crypto = require('crypto')
const fs = require('fs')
const os = require('os')
const path = require('path')
const { spawnSync } = require('child_process')

const SBOT = process.argv[2]
const HERE = __dirname
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ssb-migrate-'))
let failures = 0
let passes = 0

function result (name, ok, detail) {
  console.log((ok ? 'PASS ' : 'FAIL ') + name + (detail ? ': ' + detail : ''))
  if (ok) passes++; else failures++
}

function run (cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, ...opts })
  if (r.error) throw r.error
  return r
}
function node (args, opts) {
  const r = run(process.execPath, [path.join(HERE, 'old_datadir.js'), ...args], opts)
  if (r.status !== 0) throw new Error('old_datadir.js ' + args.join(' ') + ': ' + r.stderr)
  return r.stdout
}
function sbot (dir, args, input) {
  return run(SBOT, ['--path', dir, ...args], { input })
}
const lines = (text) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l))
// `sbot log` lines, each with the value's text exactly as printed (the stored bytes).
const logLines = (text) => text.split('\n').filter(Boolean).map((l) => {
  const m = JSON.parse(l)
  m.raw = l.slice(l.indexOf(',"value":') + 9, l.lastIndexOf(',"timestamp":'))
  return m
})

// Hashes of every file under `dir`, except ours (db.sqlite and its WAL files).
function snapshot (dir) {
  const out = {}
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (!e.name.startsWith('db.sqlite')) {
        out[path.relative(dir, p)] = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')
      }
    }
  }
  walk(dir)
  return out
}

function checkKind (kind) {
  const db2 = kind === 'ssb-db2'
  const dir = path.join(work, kind)
  const givenFile = path.join(work, kind + '.given.jsonl')
  const env = { ...process.env, SSB_GIVEN: givenFile }
  const made = JSON.parse(node(['make', kind, dir, '3', '300', '40'], { env }))
  const logFile = path.join(dir, db2 ? 'db2/log.bipf' : 'flume/log.offset')
  // The raw part: every message of messages.json (valid, invalid, forks of each other and of
  // alice's feed), appended with the log package itself.
  const entries = JSON.parse(fs.readFileSync(path.join(HERE, '../../vectors/generated/messages.json'))).entries
  let ts = Date.now() - 60000
  const raw = entries.map((e) => JSON.stringify({ key: e.id, value: JSON.parse(e.wire), timestamp: ts++ })).join('\n') + '\n'
  node([db2 ? 'append-bipf' : 'append-offset', logFile], { env, input: raw })
  // Delete one message as the packages do: the last of a followed feed (nothing follows it).
  const given = new Map(lines(fs.readFileSync(givenFile, 'utf8')).map((g) => [g.key, g]))
  let dump = lines(node([db2 ? 'dump-bipf' : 'dump-offset', logFile]))
  const followed = dump.filter((r) => {
    const v = JSON.parse(r.value)
    return v.author !== made.id && v.content && v.content.type === 'post' && /^message \d+ of /.test(v.content.text)
  })
  const victim = followed[followed.length - 1]
  node([db2 ? 'delete-bipf' : 'delete-offset', logFile, String(victim.offset)])
  dump = lines(node([db2 ? 'dump-bipf' : 'dump-offset', logFile]))
  const before = snapshot(dir)

  // 1. The first command imports.
  const first = sbot(dir, ['whoami'])
  result(kind + ': the first command imports the log', first.status === 0 &&
    JSON.parse(first.stdout).id === made.id && /importing/.test(first.stderr) &&
    /imported/.test(first.stderr), 'exit ' + first.status + ' ' + first.stderr.split('\n').slice(-2).join(' '))
  // --private false: values as stored, not decrypted for us.
  const ours = logLines(sbot(dir, ['log', '--private', 'false']).stdout)
  const ourByKey = new Map(ours.map((m, i) => [m.key, { m, i }]))

  // 2. The server's own messages (everything before the raw part): all there, byte-identical
  // to the signed originals, same keys, log order, receive times.
  const rawKeys = new Set(entries.map((e) => e.id))
  const serverPart = dump.filter((r) => !r.deleted && r.key !== victim.key && !rawKeys.has(r.key))
  let bad = []
  let lastIndex = -1
  for (const r of serverPart) {
    const o = ourByKey.get(r.key)
    const g = given.get(r.key)
    if (!o || !g) { bad.push('missing ' + r.key + (g ? '' : ' (not given)')); continue }
    const value = o.m.raw
    if (value !== g.value) bad.push('value of ' + r.key + ': ' + value.slice(0, 300) + ' vs ' + g.value.slice(0, 300))
    if (o.i <= lastIndex) bad.push('order at ' + r.key)
    lastIndex = o.i
    // ssb-db's receive times increase strictly and are kept exactly; ssb-db2's repeat within a
    // millisecond and become distinct by thousandths.
    const okTime = db2 ? o.m.timestamp >= r.timestamp && o.m.timestamp < r.timestamp + 1 : o.m.timestamp === r.timestamp
    if (!okTime) bad.push('receive time of ' + r.key + ': ' + o.m.timestamp + ' vs ' + r.timestamp)
  }
  result(kind + ': ' + serverPart.length + ' messages the server stored are byte-identical, same keys, log order, receive times',
    bad.length === 0 && serverPart.length === made.messages - 1, bad.slice(0, 5).join('; '))

  // 3. Same verdicts as `sbot add` of the same messages in the same order.
  const addDir = path.join(work, kind + '-add')
  const input = dump.filter((r) => !r.deleted).map((r) => given.get(r.key).value).join('\n') + '\n'
  sbot(addDir, ['add'], input)
  const added = lines(sbot(addDir, ['log']).stdout)
  const lossyKeys = new Set(dump.filter((r) => !r.deleted && given.get(r.key).lossy).map((r) => r.key))
  const addedKeys = added.map((m) => m.key).filter((k) => !(db2 && lossyKeys.has(k)))
  const ourKeys = ours.map((m) => m.key)
  const forksOf = (d) => JSON.parse(sbot(d, ['status']).stdout).forks.map((f) => f.offending).sort()
  const ourForks = forksOf(dir)
  const addForks = forksOf(addDir).filter((k) => !(db2 && lossyKeys.has(k)))
  const lossyStored = db2 ? ourKeys.concat(ourForks).filter((k) => lossyKeys.has(k)) : []
  result(kind + ': every record gets the verdict of `sbot add` (' + ourKeys.length + ' stored, ' + ourForks.length +
    ' forks, ' + (dump.length - 1 - ourKeys.length - ourForks.length) + ' refused' + (db2 ? ', ' + lossyKeys.size + ' damaged by bipf' : '') + ')',
  JSON.stringify(ourKeys) === JSON.stringify(addedKeys) && JSON.stringify(ourForks) === JSON.stringify(addForks) &&
    ourForks.length > 0 && lossyStored.length === 0,
  'stored ' + ourKeys.length + '/' + addedKeys.length + ', forks ' + ourForks.length + '/' + addForks.length)

  // 4. publish continues our feed; the real server takes it as the next message.
  const own = ours.filter((m) => m.value.author === made.id)
  const pub = sbot(dir, ['publish', '--type', 'post', '--text', 'after the switch'])
  const msg = pub.status === 0 ? JSON.parse(pub.stdout) : null
  let accepted = ''
  if (msg) {
    // The whole feed as we now hold it (bare values, as stored), into a fresh server of the
    // same kind: it must take every message, the new one as the next after the imported ones.
    const feed = sbot(dir, ['hist', '--keys', 'false']).stdout
    try {
      const r = JSON.parse(node(['add', kind, path.join(work, kind + '-check')], { input: feed }))
      accepted = r.added === made.own + 1 && r.last === msg.key ? 'accepted' : JSON.stringify(r)
    } catch (e) {
      accepted = e.message
    }
  }
  result(kind + ': publish extends the feed at sequence ' + (made.own + 1) + ' and ' + kind + ' accepts it as the next message',
    msg && own.length === made.own && msg.value.sequence === made.own + 1 &&
      msg.value.previous === own[own.length - 1].key && accepted === 'accepted',
  pub.stderr + ' ' + accepted)

  // 5. A second run changes nothing.
  const logBefore = sbot(dir, ['log']).stdout
  const again = sbot(dir, ['migrate'])
  const redo = sbot(dir, ['migrate', '--from-start'])
  const redone = redo.stdout ? JSON.parse(redo.stdout).imports[0] : {}
  result(kind + ': a second run changes nothing', again.status === 0 && sbot(dir, ['log']).stdout === logBefore &&
    redone.duplicates === ourKeys.length && redone.stored === ourKeys.length,
  'exit ' + again.status + ', from-start ' + JSON.stringify(redone))

  // 6. The old files are untouched.
  const after = snapshot(dir)
  result(kind + ': the old files are unchanged (' + Object.keys(before).length + ' files)',
    JSON.stringify(after) === JSON.stringify(before))
  return { stored: ourKeys.length, forks: ourForks.length }
}

let summary = []
try {
  for (const kind of ['ssb-server', 'ssb-db2']) {
    const r = checkKind(kind)
    summary.push(kind + ' ' + r.stored + ' stored, ' + r.forks + ' forks')
  }
} catch (e) {
  console.log('FAIL ' + e.stack)
  failures++
}
fs.rmSync(work, { recursive: true, force: true })
const line = 'interop migrate: ' + passes + ' checks passed, ' + failures + ' failed (' + summary.join('; ') + ')'
console.log(line)
if (process.env.SSB_REPORT_FILE) fs.appendFileSync(process.env.SSB_REPORT_FILE, line + '\n')
process.exit(failures ? 1 : 0)
