// Makes and reads the data directories of the JavaScript implementations we import from, with
// the real npm packages (pinned in ../package-lock.json):
//
//   node old_datadir.js make ssb-server DIR [FOLLOWED PER_FEED OWN]
//   node old_datadir.js make ssb-db2 DIR [FOLLOWED PER_FEED OWN]
//       A data dir as a user of ssb-server 16.0.1 (ssb-db 20, flume/log.offset) or of an ssb-db2
//       8.1.0 app (secret-stack 6.4.2 + ssb-caps, db2/log.bipf) leaves it: DIR/secret (the
//       user), the user's own feed published through the server (the contents of
//       ../../vectors/generated/messages.json that both validators accept, then OWN posts, every
//       tenth one private to the user and bob), the 250 messages of feeds.jsonl added as
//       replicated ones, and FOLLOWED feeds of PER_FEED messages each. Prints {id, own,
//       messages, skipped} as JSON. For ssb-db2, contents whose strings bipf cannot hold
//       (unpaired surrogates) or that ssb-validate would find over 8192 are skipped: published
//       there, they would break the user's own feed for every reader but ssb-db2.
//   node old_datadir.js dump-offset FILE   /   dump-bipf FILE
//       Every record of the log as the package reads it back, in log order, one JSON line each:
//       {offset, key, value: JSON.stringify(value), timestamp, sig} (sig: the signature still
//       verifies over what was read back) or {offset, deleted: true}.
//   node old_datadir.js append-offset FILE   /   append-bipf FILE
//       Appends the {key, value, timestamp} objects of stdin (NDJSON) with the log package
//       itself (flumelog-offset with ssb-db's codec; async-append-only-log with bipf), as raw
//       records: no validation, so forks and invalid messages can be placed in a real log.
//   node old_datadir.js delete-offset FILE OFFSET…   /   delete-bipf FILE OFFSET…
//       Deletes records the way the packages do (zero-filled).
//   node old_datadir.js add ssb-server|ssb-db2 DIR < messages.ndjson
//       Adds the message values of one feed to a new data dir through the server, in order, as
//       replication would; exits non-zero (printing the server's error) when it refuses one.
//
// make and append-* also write every message they hand to the package, as
// {key, value: JSON.stringify(value), lossy}, to the file named by $SSB_GIVEN (appending), so a
// test knows the originals; `lossy` marks values whose strings bipf cannot hold.
//
// Never loads ssb-local or ssb-ws. Nothing listens: the servers are created without a port.
'use strict'
const fs = require('fs')
const path = require('path')
const readline = require('readline')
const ssbKeys = require('ssb-keys')
const validate = require('ssb-validate')

const vectors = path.join(__dirname, '..', '..', 'vectors', 'generated')
const p = (fn) => new Promise((resolve, reject) => fn((err, v) => err ? reject(err) : resolve(v)))

// Whether a string survives UTF-8 (Buffer) encoding: unpaired surrogates do not.
function lossyString (str) { return Buffer.from(str, 'utf8').toString('utf8') !== str }
function lossy (v) {
  if (typeof v === 'string') return lossyString(v)
  if (Array.isArray(v)) return v.some(lossy)
  if (v && typeof v === 'object') return Object.keys(v).some((k) => lossyString(k) || lossy(v[k]))
  return false
}

// `key`: the record's key when it is not the value's id (raw records carry any key).
function given (value, key) {
  if (!process.env.SSB_GIVEN) return
  fs.appendFileSync(process.env.SSB_GIVEN, JSON.stringify({
    key: key || validate.id(value), value: JSON.stringify(value), lossy: lossy(value)
  }) + '\n')
}

function trickyContents () {
  const entries = JSON.parse(fs.readFileSync(path.join(vectors, 'messages.json'), 'utf8')).entries
  const out = []
  for (const e of entries) {
    const ok = e.expected.ssb_validate_4_1_4.valid && e.expected.ssb_classic_1_1_0.valid
    if (!ok || e.hmac_key) continue
    // Through JSON once, as a client's request would carry it (1e400 becomes null here:
    // ssb-db2's bipf encoder cannot store Infinity and would throw).
    const content = JSON.parse(JSON.stringify(JSON.parse(e.wire).content))
    if (content && typeof content === 'object' && typeof content.type === 'string') out.push(content)
  }
  return out
}

function feedsJsonl () {
  return fs.readFileSync(path.join(vectors, 'feeds.jsonl'), 'utf8').split('\n').filter(Boolean)
    .map((l) => JSON.parse(l).value)
}

// FOLLOWED feeds of PER_FEED signed posts each, interleaved as replication would store them.
function followedFeeds (followed, perFeed) {
  const feeds = []
  for (let f = 0; f < followed; f++) feeds.push({ keys: ssbKeys.generate(), state: undefined })
  const out = []
  let ts = Date.now() - 1e7
  for (let i = 0; i < perFeed; i++) {
    for (const feed of feeds) {
      const msg = validate.create(feed.state, feed.keys, null,
        { type: 'post', text: 'message ' + (i + 1) + ' of ' + feed.keys.id.slice(0, 8) }, ts++)
      feed.state = { id: validate.id(msg), sequence: msg.sequence, timestamp: msg.timestamp, queue: [] }
      out.push(msg)
    }
  }
  return out
}

async function make (kind, dir, followed, perFeed, own) {
  fs.mkdirSync(dir, { recursive: true })
  const keys = ssbKeys.loadOrCreateSync(path.join(dir, 'secret'))
  const bob = '@chWVOIxVoHBR3x8Uod8J9r2VAC4xKiJcZ3owGRPsP2E=.ed25519'
  let sbot, publish, addMany, close
  const privateKeys = new Set()
  if (kind === 'ssb-server') {
    const createSsbServer = require('ssb-server').use(require('ssb-private1'))
    sbot = createSsbServer({ path: dir, keys, port: null, host: '127.0.0.1', timeout: 0 })
    publish = async (c) => {
      const kvt = await p((cb) => sbot.publish(c, cb))
      // Private contents come back decrypted: their signed values are read from the log below.
      if (c.recps) privateKeys.add(kvt.key); else given(kvt.value, kvt.key)
    }
    addMany = async (msgs) => { for (const m of msgs) { await p((cb) => sbot.add(m, cb)); given(m) } }
    close = () => p((cb) => sbot.close(true, cb))
  } else if (kind === 'ssb-db2') {
    const caps = require('ssb-caps')
    sbot = require('secret-stack')({ caps })
      .use(require('ssb-db2'))
      .call(null, { path: dir, keys, db2: { automigrate: false, writeTimeout: 1 } })
    publish = async (c) => given((await p((cb) => sbot.db.publish(c, cb))).value)
    // All at once: ssb-db2 batches the adds of each feed (one at a time waits a debounce
    // period per message).
    addMany = async (msgs) => {
      await Promise.all(msgs.map((m) => p((cb) => sbot.db.add(m, cb))))
      msgs.forEach((m) => given(m))
    }
    close = () => p((cb) => sbot.close(true, cb))
  } else {
    throw new Error('unknown kind ' + kind)
  }
  let count = 0
  let ownCount = 0
  // Replicated feeds first, then our own posts, then more replicated messages, as a
  // user's log interleaves them.
  const replicated = feedsJsonl()
  const half = replicated.length >> 1
  await addMany(replicated.slice(0, half))
  count += half
  // Contents sized for the vectors' own author and sequence may exceed 8192 here: the
  // server refuses them, as it would for any user.
  let refused = 0
  let skipped = 0
  for (const c of trickyContents()) {
    if (kind === 'ssb-db2' && (lossy(c) || JSON.stringify(c, null, 2).length > 7000)) {
      skipped++
      continue
    }
    try {
      await publish(c)
      count++
      ownCount++
    } catch (e) {
      refused++
    }
  }
  for (let i = 0; i < own; i++) {
    const c = i % 10 === 9
      ? { type: 'post', text: 'private note ' + i, recps: [keys.id, bob] }
      : { type: 'post', text: 'own post ' + i }
    await publish(c)
    count++
    ownCount++
  }
  await addMany(replicated.slice(half))
  count += replicated.length - half
  const others = followedFeeds(followed, perFeed)
  await addMany(others)
  count += others.length
  await close()
  if (privateKeys.size) {
    for (const r of await readOffsetLog(path.join(dir, 'flume', 'log.offset'))) {
      if (privateKeys.has(r.key)) given(r.value, r.key)
    }
  }
  return { id: keys.id, own: ownCount, messages: count, refused, skipped }
}

function verifies (value) {
  try {
    return ssbKeys.verifyObj(value.author.slice(1), null, value)
  } catch (e) {
    return false
  }
}

function dumpRecord (offset, data) {
  if (data === null || data === undefined) return JSON.stringify({ offset, deleted: true })
  const v = data.value
  return JSON.stringify({
    offset,
    key: data.key,
    value: JSON.stringify(v),
    timestamp: data.timestamp,
    sig: !!(v && typeof v === 'object' && typeof v.author === 'string' && verifies(v))
  })
}

// Every record of a flume log as flumelog-offset reads it: [{seq, ...data}] (deleted: null).
async function readOffsetLog (file) {
  const log = require('flumelog-offset')(file, { blockSize: 16 * 1024, codec: require('ssb-db/codec') })
  const pull = require('pull-stream')
  const out = []
  await new Promise((resolve, reject) => {
    pull(log.stream({ seqs: true, values: true }), pull.drain((item) => {
      out.push({ seq: item.seq, data: item.value, key: item.value && item.value.key, value: item.value && item.value.value })
    }, (err) => err ? reject(err) : resolve()))
  })
  return out
}

async function dumpOffset (file) {
  for (const r of await readOffsetLog(file)) process.stdout.write(dumpRecord(r.seq, r.data) + '\n')
}

async function dumpBipf (file) {
  const bipf = require('bipf')
  const log = require('async-append-only-log')(file, { blockSize: 64 * 1024 })
  await new Promise((resolve, reject) => {
    log.stream({ offsets: true, values: true }).pipe({
      paused: false,
      write (rec) {
        process.stdout.write(dumpRecord(rec.offset, rec.value ? bipf.decode(rec.value, 0) : null) + '\n')
      },
      end (err) { err ? reject(err) : resolve() }
    })
  })
  await p((cb) => log.close(cb))
}

async function readStdinRecords () {
  const out = []
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
  for await (const line of rl) if (line.trim()) out.push(JSON.parse(line))
  return out
}

async function appendOffset (file) {
  const log = require('flumelog-offset')(file, { blockSize: 16 * 1024, codec: require('ssb-db/codec') })
  const records = await readStdinRecords()
  const offsets = []
  for (const r of records) { offsets.push(await p((cb) => log.append(r, cb))); given(r.value, r.key) }
  console.log(JSON.stringify(offsets))
}

async function appendBipf (file) {
  const bipf = require('bipf')
  const log = require('async-append-only-log')(file, { blockSize: 64 * 1024 })
  const records = await readStdinRecords()
  const offsets = []
  for (const r of records) {
    offsets.push(await p((cb) => log.append(bipf.allocAndEncode(r), cb)))
    given(r.value, r.key)
  }
  await p((cb) => log.onDrain(cb))
  await p((cb) => log.close(cb))
  console.log(JSON.stringify(offsets))
}

async function deleteOffset (file, offsets) {
  const log = require('flumelog-offset')(file, { blockSize: 16 * 1024, codec: require('ssb-db/codec') })
  await p((cb) => log.since.once(() => cb()))
  await p((cb) => log.del(offsets, cb))
}

async function deleteBipf (file, offsets) {
  const log = require('async-append-only-log')(file, { blockSize: 64 * 1024 })
  for (const o of offsets) await p((cb) => log.del(o, cb))
  await p((cb) => log.onDeletesFlushed(cb))
  await p((cb) => log.close(cb))
}

// Adds the message values of stdin (NDJSON, one feed) to a new data dir, in order.
async function addFeed (kind, dir) {
  const keys = ssbKeys.loadOrCreateSync(path.join(dir, 'secret'))
  const msgs = fs.readFileSync(0, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
  let sbot, addAll
  if (kind === 'ssb-server') {
    sbot = require('ssb-server')({ path: dir, keys, port: null, host: '127.0.0.1', timeout: 0 })
    addAll = async () => { for (const m of msgs) await p((cb) => sbot.add(m, cb)) }
  } else {
    sbot = require('secret-stack')({ caps: require('ssb-caps') })
      .use(require('ssb-db2'))
      .call(null, { path: dir, keys, db2: { automigrate: false, writeTimeout: 1 } })
    addAll = () => p((cb) => sbot.db.addBatch(msgs, cb))
  }
  let err = null
  try { await addAll() } catch (e) { err = e }
  await p((cb) => sbot.close(true, cb))
  if (err) throw err
  console.log(JSON.stringify({ added: msgs.length, last: validate.id(msgs[msgs.length - 1]) }))
}

async function main () {
  const [cmd, a, b, ...rest] = process.argv.slice(2)
  if (cmd === 'make') {
    const [followed, perFeed, own] = [rest[0] || 3, rest[1] || 300, rest[2] || 40].map(Number)
    console.log(JSON.stringify(await make(a, b, followed, perFeed, own)))
  } else if (cmd === 'dump-offset') await dumpOffset(a)
  else if (cmd === 'dump-bipf') await dumpBipf(a)
  else if (cmd === 'append-offset') await appendOffset(a)
  else if (cmd === 'append-bipf') await appendBipf(a)
  else if (cmd === 'delete-offset') await deleteOffset(a, [b, ...rest].map(Number))
  else if (cmd === 'delete-bipf') await deleteBipf(a, [b, ...rest].map(Number))
  else if (cmd === 'add') await addFeed(a, b)
  else throw new Error('usage: see the comment at the top of ' + __filename)
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1) })
