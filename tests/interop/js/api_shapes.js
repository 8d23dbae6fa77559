// The app API, compared: one ssb-client script runs the same calls against ssb-server 16.0.1
// (the plugins `ssb-server start` loads, minus ssb-local and ssb-ws: js/ssb_server_default.js)
// and against our `sbot server`, and compares the SHAPES of the results: types, object keys,
// nesting, kinds of ids, item counts of streams, error-or-not. Values that legitimately differ
// (ids, signatures, timestamps, texts) are not compared.
//
// Usage: node api_shapes.js SBOT [--dump]
//   --dump  print every call's result from both servers (for studying a difference)
//
// Every difference is printed. Differences listed in js/api_differences.json (each with its
// reason) are expected; anything else fails the test, and so does a listed difference that no
// longer occurs (the list must stay true). Both servers are child processes on 127.0.0.1 with
// a random network key; they stop when this script ends.
'use strict'
const crypto = require('crypto')
const fs = require('fs')
const os = require('os')
const path = require('path')
const { spawn } = require('child_process')
const ssbKeys = require('ssb-keys')
const validate = require('ssb-validate')
const ssbClient = require('ssb-client')
const pull = require('pull-stream')

const SBOT = process.argv[2]
const DUMP = process.argv.includes('--dump')
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ssb-api-'))
const shs = crypto.randomBytes(32).toString('base64')
const children = []
const documented = require('./api_differences.json')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
// How long a call may take before it counts as one that never answers. Calls that answer do so
// in milliseconds here; four of ssb-server's never do (createHistoryStream with values: false,
// two live streams, replicate.changes), and each costs this wait.
const CALL_TIMEOUT = 8000

async function freePort () {
  const net = require('net')
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = s.address().port
      s.close(() => resolve(port))
    })
  })
}

// Starts a server child that prints one JSON line when it listens.
function startChild (name, cmd, args) {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  children.push(child)
  let err = ''
  child.stderr.on('data', (d) => { err += d; if (process.env.SSB_INTEROP_VERBOSE) process.stderr.write(d) })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      const nl = out.indexOf('\n')
      if (nl >= 0 && !child.hello) {
        child.hello = JSON.parse(out.slice(0, nl))
        resolve(child)
      }
    })
    child.on('exit', (code) => reject(new Error(name + ' exited with ' + code + ': ' + err)))
  })
}

async function startJs () {
  const dir = path.join(work, 'js')
  const port = await freePort()
  await startChild('ssb-server', process.execPath, [path.join(__dirname, 'ssb_server_default.js'), dir, String(port), shs])
  return { name: 'ssb-server', dir, port }
}

async function startOurs () {
  const dir = path.join(work, 'ours')
  const port = await freePort()
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, 'config'), JSON.stringify({ caps: { shs } }))
  await startChild('sbot server', SBOT, ['--path', dir, 'server', '--host', '127.0.0.1', '--port', String(port),
    '--no-lan', '--run-for', '900'])
  return { name: 'ours', dir, port }
}

// ---- shapes ----

function stringKind (s) {
  if (/^@[A-Za-z0-9+/]{43}=\.ed25519$/.test(s)) return 'string:feed'
  if (/^%[A-Za-z0-9+/]{43}=\.sha256$/.test(s)) return 'string:msg'
  if (/^&[A-Za-z0-9+/]{43}=\.sha256$/.test(s)) return 'string:blob'
  if (/\.box$/.test(s) && s.length > 40) return 'string:box'
  if (/^net:/.test(s)) return 'string:address'
  return 'string'
}

const isRef = (k) => /^[@%&][A-Za-z0-9+/]{43}=\.(ed25519|sha256)$/.test(k) || /^net:/.test(k)

// The shape of a value: a JSON-comparable description that keeps types, keys and nesting.
// Objects whose keys are all ids (maps such as a vector clock) are described by the union of
// their entries' shapes; arrays by the distinct shapes of their elements.
function shape (v) {
  if (v === null) return 'null'
  if (v === undefined) return 'undefined'
  if (Buffer.isBuffer(v)) return 'buffer'
  if (Array.isArray(v)) {
    const seen = new Map()
    for (const e of v) { const s = shape(e); seen.set(JSON.stringify(s), s) }
    return { array: [...seen.keys()].sort().map((k) => seen.get(k)) }
  }
  if (typeof v === 'object') {
    const keys = Object.keys(v)
    if (keys.length > 0 && keys.every(isRef)) {
      const seen = new Map()
      for (const k of keys) { const s = [stringKind(k), shape(v[k])]; seen.set(JSON.stringify(s), s) }
      return { map: [...seen.keys()].sort().map((k) => seen.get(k)) }
    }
    const out = {}
    for (const k of keys.sort()) out[k] = shape(v[k])
    return out
  }
  if (typeof v === 'string') return stringKind(v)
  return typeof v
}

// ---- calls ----

function withTimeout (promise, ms, what) {
  let t
  return Promise.race([promise, new Promise((resolve) => {
    t = setTimeout(() => resolve({ timeout: true, what }), ms)
  })]).finally(() => clearTimeout(t))
}

const asyncCall = (fn) => withTimeout(new Promise((resolve) => {
  try {
    fn((err, v) => resolve(err ? { error: err.message || String(err) } : { value: v }))
  } catch (e) { resolve({ error: 'threw: ' + e.message }) }
}), CALL_TIMEOUT)

const syncCall = asyncCall  // muxrpc sync methods are async over the wire

// Collects a source (at most `n` items when given; then aborts it).
function sourceCall (mk, n) {
  return withTimeout(new Promise((resolve) => {
    let src
    try { src = mk() } catch (e) { return resolve({ error: 'threw: ' + e.message }) }
    pull(src, n ? pull.take(n) : pull.through(), pull.collect((err, items) => {
      resolve(err ? { error: err.message || String(err), items } : { items })
    }))
  }), CALL_TIMEOUT)
}

// A live source: reads until `until(item)` says stop (then aborts), calling `trigger` once the
// stream is open and again every 300 ms until an item arrives (so that a live-only stream
// opened after the trigger still sees one).
function liveCall (mk, trigger, until) {
  return withTimeout(new Promise((resolve) => {
    const items = []
    let done = false
    let timer
    const src = mk()
    const fire = async () => {
      if (done) return
      try { await trigger() } catch (e) {}
      if (!done && items.length === 0) timer = setTimeout(fire, 300)
    }
    pull(src, pull.take((item) => {
      items.push(item)
      return !until(item, items)
    }), pull.collect((err) => {
      done = true
      clearTimeout(timer)
      resolve(err ? { error: err.message || String(err), items } : { items })
    }))
    setTimeout(fire, 100)
  }), CALL_TIMEOUT)
}

const P = (fn) => new Promise((resolve, reject) => fn((err, v) => err ? reject(err) : resolve(v)))

// The scenario: builds the same fixture on a server through its API and runs every call.
// Returns {results: [{name, result}], ids}.
async function scenario (target) {
  const keys = ssbKeys.loadSync(path.join(target.dir, 'secret'))
  const c = await P((cb) => ssbClient(keys, { host: '127.0.0.1', port: target.port, key: keys.id, caps: { shs } }, cb))
  const results = []
  const record = async (name, promise) => {
    if (process.env.SSB_INTEROP_VERBOSE) console.error('call ' + name)
    const r = await promise
    results.push({ name, result: r })
    return r
  }
  const me = keys.id

  // --- fixture: our feed, a friend's feed (added), a stranger's, a blob
  const friend = ssbKeys.generate()
  const stranger = ssbKeys.generate()
  const blob = Buffer.from('a blob for the API comparison\n')
  const blobId = await P((cb) => pull(pull.values([blob]), c.blobs.add(cb)))
  const blob2 = Buffer.from('a second blob, to be removed\n')
  const blob2Id = await P((cb) => pull(pull.values([blob2]), c.blobs.add(cb)))

  const first = await record('publish(post)', asyncCall((cb) => c.publish({ type: 'post', text: 'hello API' }, cb)))
  const firstKey = first.value.key
  await record('publish(post with mentions)', asyncCall((cb) => c.publish({
    type: 'post', text: 'see [blob](' + blobId + ') and @friend', root: firstKey,
    mentions: [{ link: blobId, name: 'blob' }, { link: friend.id, name: 'friend' }]
  }, cb)))
  const priv = await record('publish(private)', asyncCall((cb) => c.publish({
    type: 'post', text: 'for me and my friend', recps: [me, friend.id]
  }, cb)))
  const privKey = priv.value.key
  await record('friends.follow(friend)', asyncCall((cb) => c.friends.follow(friend.id, {}, cb)))
  await record('publish(about)', asyncCall((cb) => c.publish({ type: 'about', about: me, name: 'api test' }, cb)))

  // The friend's feed, made here and added: a post, a follow of us, a vote on our post, a
  // private message to us, one we cannot read, and a contact that follows the stranger.
  let state = validate.initial()
  let ts = Date.now() - 100000
  const friendContents = [
    { type: 'post', text: 'from the friend' },
    { type: 'contact', contact: me, following: true },
    { type: 'vote', vote: { link: firstKey, value: 1, expression: 'Like' } },
    ssbKeys.box({ type: 'post', text: 'to you, privately' }, [me, friend.id]),
    ssbKeys.box({ type: 'post', text: 'not for you' }, [friend.id, stranger.id]),
    { type: 'contact', contact: stranger.id, following: true }
  ]
  for (const content of friendContents) state = validate.appendNew(state, null, friend, content, ts++)
  const friendMsgs = state.queue.map((kvt) => kvt.value)
  const friendKeys = state.queue.map((kvt) => kvt.key)
  await record('add(friend message)', asyncCall((cb) => c.add(friendMsgs[0], cb)))
  for (const m of friendMsgs.slice(1, 4)) await asyncCall((cb) => c.add(m, cb))
  await record('add(duplicate)', asyncCall((cb) => c.add(friendMsgs[0], cb)))
  await record('add(invalid)', asyncCall((cb) => c.add(Object.assign({}, friendMsgs[5], { sequence: 99 }), cb)))
  // The last two through createWriteStream (a sink).
  await record('createWriteStream', withTimeout(new Promise((resolve) => {
    pull(pull.values(friendMsgs.slice(4)), c.createWriteStream((err) => resolve(err ? { error: err.message } : { value: null })))
  }), CALL_TIMEOUT))
  // The sink's callback comes when the client has sent its end, not when the server stored
  // the items: wait for them, so the log order that follows is the same on both servers.
  for (let i = 0; i < 100; i++) {
    const st = await asyncCall((cb) => c.latestSequence(friend.id, cb))
    if (st.value === friendMsgs.length) break
    await sleep(50)
  }
  const strangerMsgs = []
  let sstate = validate.initial()
  for (const content of [{ type: 'post', text: 'stranger 1' }, { type: 'post', text: 'stranger 2' }]) sstate = validate.appendNew(sstate, null, stranger, content, ts++)
  for (const kvt of sstate.queue) { strangerMsgs.push(kvt); await asyncCall((cb) => c.add(kvt.value, cb)) }
  const friendPrivKey = friendKeys[3]
  const unreadableKey = friendKeys[4]

  // --- ssb-db
  await record('whoami', syncCall((cb) => c.whoami(cb)))
  await record('version', syncCall((cb) => c.version(cb)))
  await record('help', syncCall((cb) => c.help(cb)))
  await record('progress', syncCall((cb) => c.progress(cb)))
  await record('status', syncCall((cb) => c.status(cb)))
  await record('get(id)', asyncCall((cb) => c.get(firstKey, cb)))
  await record('get(private id)', asyncCall((cb) => c.get(privKey, cb)))
  await record('get({id, private})', asyncCall((cb) => c.get({ id: privKey, private: true }, cb)))
  await record('get({id, meta})', asyncCall((cb) => c.get({ id: privKey, meta: true }, cb)))
  await record('get({id, private, meta})', asyncCall((cb) => c.get({ id: privKey, private: true, meta: true }, cb)))
  await record('get({friend private, private})', asyncCall((cb) => c.get({ id: friendPrivKey, private: true }, cb)))
  await record('get({unreadable, private})', asyncCall((cb) => c.get({ id: unreadableKey, private: true }, cb)))
  await record('get({public, private, meta})', asyncCall((cb) => c.get({ id: firstKey, private: true, meta: true }, cb)))
  await record('get(unknown)', asyncCall((cb) => c.get('%' + crypto.randomBytes(32).toString('base64') + '.sha256', cb)))
  await record('getLatest(me)', asyncCall((cb) => c.getLatest(me, cb)))
  await record('getLatest(unknown)', asyncCall((cb) => c.getLatest(ssbKeys.generate().id, cb)))
  await record('latestSequence(me)', asyncCall((cb) => c.latestSequence(me, cb)))
  await record('latestSequence(unknown)', asyncCall((cb) => c.latestSequence(ssbKeys.generate().id, cb)))
  await record('getFeedState(me)', asyncCall((cb) => c.getFeedState(me, cb)))
  await record('getFeedState(unknown)', asyncCall((cb) => c.getFeedState(ssbKeys.generate().id, cb)))
  await record('getVectorClock', asyncCall((cb) => c.getVectorClock(cb)))
  await record('latest', sourceCall(() => c.latest()))

  for (const [label, opts] of [['', undefined], ['{reverse, limit: 2}', { reverse: true, limit: 2 }],
    ['{keys: false}', { keys: false }], ['{values: false}', { values: false }],
    ['{private: true}', { private: true }], ['{keys: false, private: true}', { keys: false, private: true }],
    ['{gt, lt}', { gt: 0, lt: Date.now() + 3600e3 }], ['{gte, lte, limit: 3}', { gte: 0, lte: Date.now() + 3600e3, limit: 3 }],
    ['{sync: true}', { sync: true }]]) {
    await record(`createFeedStream(${label})`, sourceCall(() => c.createFeedStream(opts)))
    await record(`createLogStream(${label})`, sourceCall(() => c.createLogStream(opts)))
    await record(`messagesByType(post${label ? ', ' + label : ''})`,
      sourceCall(() => c.messagesByType(Object.assign({ type: 'post' }, opts || {}))))
    await record(`createUserStream(me${label ? ', ' + label : ''})`,
      sourceCall(() => c.createUserStream(Object.assign({ id: me }, opts || {}))))
  }
  await record('messagesByType("contact")', sourceCall(() => c.messagesByType('contact')))
  await record('createLogStream({raw: true})', sourceCall(() => c.createLogStream({ raw: true, limit: 2 })))
  await record('createUserStream({gt: 1, lt: 4})', sourceCall(() => c.createUserStream({ id: me, gt: 1, lt: 4 })))
  for (const [label, opts] of [['{id}', { id: me }], ['{id, seq: 2, limit: 2}', { id: me, seq: 2, limit: 2 }],
    ['{id, keys: false}', { id: me, keys: false }], ['{id, values: false}', { id: me, values: false }],
    ['{id, private: true}', { id: me, private: true }], ['{id: friend}', { id: friend.id }],
    ['{id: unknown}', { id: ssbKeys.generate().id }], ['{id, reverse, limit: 1}', { id: me, reverse: true, limit: 1 }]]) {
    await record(`createHistoryStream(${label})`, sourceCall(() => c.createHistoryStream(opts)))
  }
  await record('createHistoryStream(id, seq) legacy arguments', sourceCall(() => c.createHistoryStream(me, 3)))
  // ({}: without an argument, ssb-server 16.0.1's flumedb throws and the server dies.)
  await record('createRawLogStream({})', sourceCall(() => c.createRawLogStream({})))
  await record('createRawLogStream({limit: 1, reverse})', sourceCall(() => c.createRawLogStream({ limit: 1, reverse: true })))
  await record('createSequenceStream (first item)', sourceCall(() => c.createSequenceStream(), 1))

  // Live streams: old items, the sync marker, then what is published while they are open.
  let n = 0
  const publishOne = () => P((cb) => c.publish({ type: 'post', text: 'live ' + (n++) }, cb))
  const publishPrivate = () => P((cb) => c.publish({ type: 'post', text: 'live private ' + (n++), recps: [me] }, cb))
  const untilNew = (item) => item && item.value && typeof item.value === 'object' && item.value.content &&
    (typeof item.value.content === 'string' || /^live/.test(item.value.content.text || ''))
  const untilLiveValue = (item) => item && item.content && (typeof item.content === 'string' || /^live/.test(item.content.text || ''))
  for (const [method, extra] of [['createLogStream', {}], ['createFeedStream', {}], ['messagesByType', { type: 'post' }],
    ['createUserStream', { id: me }], ['createHistoryStream', { id: me }]]) {
    await record(`${method}({live, old: false})`, liveCall(() => c[method](Object.assign({ live: true, old: false }, extra)), publishOne, untilNew))
    await record(`${method}({live, sync})`, liveCall(() => c[method](Object.assign({ live: true, sync: true }, extra)), publishOne,
      (item, items) => untilNew(item) && items.some((i) => i && i.sync)))
    await record(`${method}({live, old: false, keys: false})`, liveCall(() => c[method](Object.assign({ live: true, old: false, keys: false }, extra)), publishOne, untilLiveValue))
  }
  await record('createLogStream({live, old: false}) private message', liveCall(() => c.createLogStream({ live: true, old: false }), publishPrivate, untilNew))
  await record('createLogStream({live, old: false, private: true}) private message', liveCall(() => c.createLogStream({ live: true, old: false, private: true }), publishPrivate,
    (item) => item && item.value && item.value.private === true))
  await record('createLogStream({live, old: false, limit: 1})', liveCall(() => c.createLogStream({ live: true, old: false, limit: 1 }), publishOne, () => false))
  await record('createSequenceStream (live)', liveCall(() => c.createSequenceStream(), publishOne, (item, items) => items.length >= 2))

  await record('links({source: me})', sourceCall(() => c.links({ source: me })))
  await record('links({dest: first post})', sourceCall(() => c.links({ dest: firstKey })))
  await record('links({dest: first post, values: true})', sourceCall(() => c.links({ dest: firstKey, values: true })))
  await record('links({dest: first post, rel: vote, meta: false})', sourceCall(() => c.links({ dest: firstKey, rel: 'vote', meta: false })))
  await record('links({source: me, dest: "&"})', sourceCall(() => c.links({ source: me, dest: '&' })))
  await record('links({dest: friend, keys: false, values: true})', sourceCall(() => c.links({ dest: friend.id, keys: false, values: true })))

  // --- secret-stack
  await record('manifest', syncCall((cb) => c.manifest(cb)))
  await record('address', syncCall((cb) => c.address(cb)))
  await record('multiserver.address', syncCall((cb) => c.multiserver.address(cb)))
  await record('multiserver.parse', syncCall((cb) => c.multiserver.parse('net:127.0.0.1:8008~shs:' + friend.public.replace('.ed25519', ''), cb)))
  await record('auth(friend)', asyncCall((cb) => c.auth(friend.id, cb)))

  // --- friends
  await record('friends.hops', asyncCall((cb) => c.friends.hops(cb)))
  await record('friends.hops({reverse: true})', asyncCall((cb) => c.friends.hops({ reverse: true }, cb)))
  await record('friends.hops({start: friend, max: 1})', asyncCall((cb) => c.friends.hops({ start: friend.id, max: 1 }, cb)))
  await record('friends.isFollowing', asyncCall((cb) => c.friends.isFollowing({ source: me, dest: friend.id }, cb)))
  await record('friends.isFollowing(no)', asyncCall((cb) => c.friends.isFollowing({ source: friend.id, dest: ssbKeys.generate().id }, cb)))
  await record('friends.get', asyncCall((cb) => c.friends.get(cb)))
  await record('friends.get({source: me})', asyncCall((cb) => c.friends.get({ source: me }, cb)))
  await record('friends.get({source: me, dest: friend})', asyncCall((cb) => c.friends.get({ source: me, dest: friend.id }, cb)))
  await record('friends.get({dest: friend})', asyncCall((cb) => c.friends.get({ dest: friend.id }, cb)))
  await record('friends.hopStream', sourceCall(() => c.friends.hopStream()))
  await record('friends.hopStream({live, old})', sourceCall(() => c.friends.hopStream({ live: true, old: true }), 1))
  await record('friends.createFriendStream', sourceCall(() => c.friends.createFriendStream()))
  await record('friends.createFriendStream({meta: true})', sourceCall(() => c.friends.createFriendStream({ meta: true })))
  await record('friends.stream (first item)', sourceCall(() => c.friends.stream(), 1))
  await record('friends.help', syncCall((cb) => c.friends.help(cb)))
  await record('friends.block(stranger)', asyncCall((cb) => c.friends.block(stranger.id, {}, cb)))
  await record('friends.isBlocking', asyncCall((cb) => c.friends.isBlocking({ source: me, dest: stranger.id }, cb)))
  await record('friends.follow(state false)', asyncCall((cb) => c.friends.follow(stranger.id, { state: false }, cb)))
  // friends.onEdge is not called: it takes a JavaScript function, and called over RPC it makes
  // ssb-server 16.0.1 throw and exit ("no callback provided to muxrpc async funtion").

  // --- gossip
  const other = ssbKeys.generate()
  const deadAddress = 'net:127.0.0.1:1~shs:' + other.public.replace('.ed25519', '')
  // Peers are added as {host, port, key}: ssb-server 16.0.1's gossip scheduler dies on a peer
  // added as a bare multiserver address string (it has no host to check for "local").
  await record('gossip.add', syncCall((cb) => c.gossip.add({ host: '127.0.0.1', port: 1, key: other.id }, 'manual', cb)))
  await record('gossip.peers', syncCall((cb) => c.gossip.peers(cb)))
  await record('gossip.get', syncCall((cb) => c.gossip.get(other.id, cb)))
  await record('gossip.changes (after add)', liveCall(() => c.gossip.changes(),
    () => P((cb) => c.gossip.add({ host: '127.0.0.1', port: 2, key: ssbKeys.generate().id }, 'manual', cb)), () => true))
  await record('gossip.connect(closed port)', asyncCall((cb) => c.gossip.connect(deadAddress, cb)))
  await record('gossip.disconnect', asyncCall((cb) => c.gossip.disconnect(deadAddress, cb)))
  await record('gossip.remove', syncCall((cb) => c.gossip.remove(deadAddress, cb)))
  await record('gossip.reconnect', syncCall((cb) => c.gossip.reconnect(cb)))
  await record('gossip.disable', syncCall((cb) => c.gossip.disable(cb)))
  await record('gossip.enable', syncCall((cb) => c.gossip.enable(cb)))
  await record('gossip.help', syncCall((cb) => c.gossip.help(cb)))
  await record('gossip.ping (one round)', withTimeout(new Promise((resolve) => {
    pull(pull.values([Date.now()]), c.gossip.ping({ timeout: 10e3 }), pull.take(1), pull.collect((err, items) => resolve(err ? { error: err.message } : { items })))
  }), CALL_TIMEOUT))

  // --- replicate, ebt
  await record('replicate.request', syncCall((cb) => c.replicate.request(other.id, true, cb)))
  await record('replicate.block', syncCall((cb) => c.replicate.block(me, other.id, true, cb)))
  await record('replicate.upto', sourceCall(() => c.replicate.upto()))
  await record('replicate.changes (first item or none)', liveCall(() => c.replicate.changes(), () => {}, () => true).then((r) => r.timeout ? { items: [] } : r))
  await record('ebt.request', syncCall((cb) => c.ebt.request(other.id, true, cb)))
  await record('ebt.block', syncCall((cb) => c.ebt.block(me, other.id, false, cb)))
  await record('ebt.peerStatus', syncCall((cb) => c.ebt.peerStatus(friend.id, cb)))

  // --- blobs
  await record('blobs.has', asyncCall((cb) => c.blobs.has(blobId, cb)))
  await record('blobs.has([...])', asyncCall((cb) => c.blobs.has([blobId, '&' + crypto.randomBytes(32).toString('base64') + '.sha256'], cb)))
  await record('blobs.size', asyncCall((cb) => c.blobs.size(blobId, cb)))
  await record('blobs.meta', asyncCall((cb) => c.blobs.meta(blobId, cb)))
  await record('blobs.get', sourceCall(() => c.blobs.get(blobId)))
  await record('blobs.get({key, size})', sourceCall(() => c.blobs.get({ key: blobId, size: blob.length })))
  await record('blobs.getSlice', sourceCall(() => c.blobs.getSlice({ hash: blobId, start: 2, end: 6 })))
  await record('blobs.ls', sourceCall(() => c.blobs.ls()))
  await record('blobs.ls({meta: true})', sourceCall(() => c.blobs.ls({ meta: true })))
  await record('blobs.ls({long: true})', sourceCall(() => c.blobs.ls({ long: true })))
  await record('blobs.want(have)', asyncCall((cb) => c.blobs.want(blobId, cb)))
  await record('blobs.push', asyncCall((cb) => c.blobs.push(blobId, cb)))
  await record('blobs.rm', asyncCall((cb) => c.blobs.rm(blob2Id, cb)))
  await record('blobs.changes (after add)', liveCall(() => c.blobs.changes(),
    () => P((cb) => pull(pull.values([crypto.randomBytes(64)]), c.blobs.add(cb))), () => true))
  await record('blobs.createWants (first item)', sourceCall(() => c.blobs.createWants(), 1))
  await record('blobs.help', syncCall((cb) => c.blobs.help(cb)))

  // --- query, links2
  const q = (query, opts) => Object.assign({ query }, opts || {})
  await record('query.read($filter type)', sourceCall(() => c.query.read(q([{ $filter: { value: { content: { type: 'post' } } } }]))))
  await record('query.read($filter author, $map)', sourceCall(() => c.query.read(q([{ $filter: { value: { author: friend.id } } }, { $map: { seq: ['value', 'sequence'], type: ['value', 'content', 'type'] } }]))))
  await record('query.read($prefix, $gt, $in)', sourceCall(() => c.query.read(q([{ $filter: { value: { content: { type: { $in: ['post', 'vote'] }, text: { $prefix: 'live' } }, sequence: { $gt: 1 } } } }]))))
  await record('query.read($reduce)', sourceCall(() => c.query.read(q([{ $filter: { value: { author: me } } }, { $reduce: { type: ['value', 'content', 'type'], count: { $count: true } } }]))))
  await record('query.read(reverse, limit, keys)', sourceCall(() => c.query.read(q([{ $filter: { timestamp: { $gt: 0 } } }], { reverse: true, limit: 2 }))))
  await record('query.read($is string, private)', sourceCall(() => c.query.read(q([{ $filter: { value: { content: { $is: 'string' } } } }]))))
  await record('query.read(private: true)', sourceCall(() => c.query.read(q([{ $filter: { value: { content: { type: 'post', recps: { $is: 'array' } } } } }], { private: true }))))
  await record('query.read({live, old: false})', liveCall(() => c.query.read(q([{ $filter: { value: { content: { type: 'post' } } } }], { live: true, old: false })), publishOne, untilNew))
  await record('query.read({live, old: true}) sync', liveCall(() => c.query.read(q([{ $filter: { value: { author: friend.id } } }], { live: true })),
    () => {}, (item) => item && item.sync).then((r) => r.timeout ? { items: 'timeout' } : r))
  await record('query.read(string query)', sourceCall(() => c.query.read({ query: JSON.stringify([{ $filter: { value: { content: { type: 'vote' } } } }]) })))
  // A query with an unknown operator is not sent: ssb-server 16.0.1 throws and exits.
  await record('query.explain', syncCall((cb) => c.query.explain(q([{ $filter: { value: { content: { type: 'post' } } } }]), cb)))
  await record('query.help', syncCall((cb) => c.query.help(cb)))
  await record('links2.read(dest)', sourceCall(() => c.links2.read(q([{ $filter: { dest: firstKey } }]))))
  await record('links2.read(rel, $map)', sourceCall(() => c.links2.read(q([{ $filter: { rel: 'mentions' } }, { $map: { source: 'source', dest: 'dest' } }]))))
  await record('links2.help', syncCall((cb) => c.links2.help(cb)))

  // --- ooo, plugins
  await record('ooo.get(stored)', asyncCall((cb) => c.ooo.get(firstKey, cb)))
  await record('ooo.help', syncCall((cb) => c.ooo.help(cb)))
  await record('plugins.help', syncCall((cb) => c.plugins.help(cb)))
  await record('plugins.enable', asyncCall((cb) => c.plugins.enable('ssb-nosuch', cb)))
  await record('plugins.disable', asyncCall((cb) => c.plugins.disable('ssb-nosuch', cb)))

  // --- deletion, rebuild (last: they change the store)
  await record('del(stranger message)', asyncCall((cb) => c.del(strangerMsgs[1].key, cb)))
  await record('get(deleted)', asyncCall((cb) => c.get(strangerMsgs[1].key, cb)))
  await record('del(stranger feed)', asyncCall((cb) => c.del(stranger.id, cb)))
  await record('createHistoryStream(deleted feed)', sourceCall(() => c.createHistoryStream({ id: stranger.id })))
  await record('rebuild', asyncCall((cb) => c.rebuild(cb)))

  // --- an anonymous client (another key): what it may and may not call
  const anon = ssbKeys.generate()
  const a = await P((cb) => ssbClient(anon, { host: '127.0.0.1', port: target.port, key: keys.id, caps: { shs }, manifest: manifestOf(results) }, cb))
  await record('anonymous createHistoryStream', sourceCall(() => a.createHistoryStream({ id: me, limit: 1 })))
  await record('anonymous createLogStream', sourceCall(() => a.createLogStream({ limit: 1 })))
  await record('anonymous publish', asyncCall((cb) => a.publish({ type: 'post', text: 'x' }, cb)))
  await record('anonymous blobs.has', asyncCall((cb) => a.blobs.has(blobId, cb)))
  await record('anonymous whoami', syncCall((cb) => a.whoami(cb)))
  await P((cb) => a.close(true, cb)).catch(() => {})

  await P((cb) => c.close(true, cb)).catch(() => {})
  return { results, me }
}

function manifestOf (results) {
  const r = results.find((x) => x.name === 'manifest')
  return r && r.result.value
}

function flatten (m, prefix = '', out = {}) {
  for (const k of Object.keys(m || {})) {
    if (typeof m[k] === 'object') flatten(m[k], prefix + k + '.', out)
    else out[prefix + k] = m[k]
  }
  return out
}

// Every KVT in a result whose value is not decorated must hash to its key (signed values are
// returned as signed).
function checkSigned (target, results) {
  let checked = 0
  const bad = []
  const visit = (v, name) => {
    if (!v || typeof v !== 'object') return
    if (Array.isArray(v)) { v.forEach((x) => visit(x, name)); return }
    if (typeof v.key === 'string' && /^%/.test(v.key) && v.value && typeof v.value === 'object' && v.value.signature) {
      if (!v.value.private && !v.value.meta && !v.value.cyphertext) {
        checked++
        const id = '%' + ssbKeys.hash(JSON.stringify(v.value, null, 2))
        if (id !== v.key || !ssbKeys.verifyObj(v.value.author.slice(1).replace('.ed25519', '') + '.ed25519', v.value)) bad.push(name)
      }
    }
    for (const k of Object.keys(v)) if (k !== 'value') visit(v[k], name)
  }
  for (const r of results) visit(r.result.value !== undefined ? r.result.value : r.result.items, r.name)
  return { checked, bad }
}

function describe (r) {
  if (r.timeout) return { timeout: true }
  if (r.error !== undefined) return { error: true }
  if (r.items !== undefined) return { count: Array.isArray(r.items) ? r.items.length : r.items, items: Array.isArray(r.items) ? r.items.map(shape) : r.items }
  return { value: shape(r.value) }
}

async function main () {
  const js = await startJs()
  if (process.argv.includes('--js-only')) {
    const r = await scenario(js)
    for (const x of r.results) console.log('--- ' + x.name + '\n' + JSON.stringify(x.result))
    return 0
  }
  const ours = await startOurs()
  // Both scenarios at once: each has its own server and fixture, and most of ssb-server's
  // time is spent waiting out the calls that never answer (CALL_TIMEOUT each).
  const runs = {}
  await Promise.all([js, ours].map(async (t) => {
    runs[t.name] = await scenario(t)
    console.log(`${t.name}: ${runs[t.name].results.length} calls made`)
  }))
  let failures = 0
  const found = new Set()
  const report = (key, text) => {
    found.add(key)
    const doc = documented[key]
    console.log((doc ? 'documented ' : 'DIFFERENCE ') + key + ': ' + text + (doc ? '\n    why: ' + doc : ''))
    if (!doc) failures++
  }

  // Manifests: every method of ssb-server's with the same type.
  const theirs = flatten(manifestOf(runs['ssb-server'].results))
  const mine = flatten(manifestOf(runs.ours.results))
  let same = 0
  for (const m of Object.keys(theirs)) {
    if (mine[m] === theirs[m]) same++
    else report('manifest ' + m, mine[m] ? `ours is ${mine[m]}, ssb-server's is ${theirs[m]}` : `missing (ssb-server: ${theirs[m]})`)
  }
  for (const m of Object.keys(mine)) if (!theirs[m]) report('manifest ' + m, `only ours (${mine[m]})`)

  // Results, call by call.
  const a = runs['ssb-server'].results
  const b = runs.ours.results
  let compared = 0
  let equal = 0
  for (let i = 0; i < a.length; i++) {
    const x = a[i]
    const y = b.find((r) => r.name === x.name)
    if (!y) { report('call ' + x.name, 'not made on ours'); continue }
    compared++
    const dx = describe(x.result)
    const dy = describe(y.result)
    if (DUMP) console.log('--- ' + x.name + '\n  ssb-server: ' + JSON.stringify(x.result) + '\n  ours:       ' + JSON.stringify(y.result))
    if (JSON.stringify(dx) === JSON.stringify(dy)) { equal++; continue }
    report('call ' + x.name, 'ssb-server ' + JSON.stringify(dx) + (x.result.error ? ' (' + x.result.error + ')' : '') +
      '\n    ours       ' + JSON.stringify(dy) + (y.result.error ? ' (' + y.result.error + ')' : ''))
  }
  for (const key of Object.keys(documented)) {
    if (!found.has(key) && !key.startsWith('_')) {
      console.log('STALE documented difference no longer seen: ' + key)
      failures++
    }
  }
  for (const t of ['ssb-server', 'ours']) {
    const s = checkSigned(t, runs[t].results)
    console.log(`${t}: ${s.checked} returned messages hash to their key and verify` + (s.bad.length ? `; NOT: ${s.bad.join(', ')}` : ''))
    if (s.bad.length) failures++
  }
  const summary = `api shapes: ssb-server manifest ${Object.keys(theirs).length} methods, ours ${same} with the same type; ` +
    `${compared} calls compared, ${equal} same shape, ${compared - equal} differ; ${failures} undocumented or stale`
  console.log(summary)
  if (process.env.SSB_REPORT_FILE) fs.appendFileSync(process.env.SSB_REPORT_FILE, summary + '\n')
  return failures
}

let exitCode = 1
main().then((f) => { exitCode = f ? 1 : 0 }).catch((e) => { console.error(e) }).finally(() => {
  for (const c of children) { c.stdin.end(); c.kill('SIGTERM') }
  setTimeout(() => {
    fs.rmSync(work, { recursive: true, force: true })
    process.exit(exitCode)
  }, 1000)
})
