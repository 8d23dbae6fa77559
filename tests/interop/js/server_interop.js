// Online interop with the real ssb-server 16.0.1 (in this process, on 127.0.0.1 only) and two
// of our `sbot server`s. Usage: node server_interop.js SBOT_BINARY [MESSAGES_PER_FEED]
//
// Shows, each as one PASS/FAIL line:
//   1. our server replicates 3 feeds x N messages from ssb-server (over EBT);
//   2. ssb-server replicates our feed from us, when we dial it and when it dials us (over EBT,
//      and over legacy createHistoryStreams when our EBT is off);
//   3. a blob added on either side arrives on the other;
//   4. ssb-client publishes through our server;
//   5. our private message is readable by the JS peer's owner;
//   6. a wrong network key is refused by both;
//   7. with an ssb-server that has legacy replication off (EBT only, as Manyverse is), both
//      feeds cross both ways.
// Plugins loaded: ssb-db, ssb-master, ssb-gossip, ssb-replicate, ssb-friends, ssb-blobs,
// ssb-ebt, ssb-private1 — never ssb-local or ssb-ws (no LAN broadcasts, no extra ports).
'use strict'
const crypto = require('crypto')
const fs = require('fs')
const os = require('os')
const path = require('path')
const { spawn, execFile } = require('child_process')
const ssbKeys = require('ssb-keys')
const validate = require('ssb-validate')
const ssbClient = require('ssb-client')
const pull = require('pull-stream')

const SBOT = process.argv[2]
const PER_FEED = Number(process.argv[3] || 1000)
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ssb-interop-'))
const shs = crypto.randomBytes(32).toString('base64') // a private test network
const wrongShs = crypto.randomBytes(32).toString('base64')
const children = []
let failures = 0

function log (...a) { console.log(...a) }
function result (name, ok, detail) {
  log((ok ? 'PASS ' : 'FAIL ') + name + (detail ? ': ' + detail : ''))
  if (!ok) failures++
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const p = (fn) => new Promise((resolve, reject) => fn((err, v) => err ? reject(err) : resolve(v)))

async function freePort () {
  const net = require('net')
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = s.address().port
      s.close(() => resolve(port))
    })
  })
}

// Runs our command line without blocking this process's event loop (the JS server lives here).
function sbotRaw (dir, args, encoding) {
  return new Promise((resolve, reject) => {
    execFile(SBOT, ['--path', dir, ...args], { encoding, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) { err.message += ' ' + stderr; reject(err) } else resolve(stdout)
    })
  })
}
const sbot = (dir, ...args) => sbotRaw(dir, args, 'utf8')
async function sbotJson (dir, ...args) { return JSON.parse(await sbot(dir, ...args)) }

async function startOurs (name, port, caps, ...flags) {
  const dir = path.join(work, name)
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, 'config'), JSON.stringify({ caps: { shs: caps }, lan: false }))
  const child = spawn(SBOT, ['--path', dir, 'server', '--host', '127.0.0.1', '--port', String(port),
    '--run-for', '600', ...flags], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let err = ''
  child.stderr.on('data', (d) => { err += d; if (process.env.SSB_INTEROP_VERBOSE) process.stderr.write(d) })
  const hello = await new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      const nl = out.indexOf('\n')
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)))
    })
    child.on('exit', (code) => reject(new Error(name + ' exited with ' + code + ': ' + err)))
  })
  return { dir, child, id: hello.id, address: hello.address, port }
}

function startJs (port, { legacy = true, name = 'js' } = {}) {
  const createSsbServer = require('ssb-server')
    .use(require('ssb-master'))
    .use(require('ssb-gossip'))
    .use(require('ssb-replicate'))
    .use(require('ssb-friends'))
    .use(require('ssb-blobs'))
    .use(require('ssb-ebt'))
    .use(require('ssb-private1'))
  const dir = path.join(work, name)
  const keys = ssbKeys.generate()
  const server = createSsbServer({
    path: dir,
    keys,
    caps: { shs },
    host: '127.0.0.1',
    port,
    connections: {
      incoming: { net: [{ scope: 'private', host: '127.0.0.1', port, transform: 'shs' }] },
      outgoing: { net: [{ transform: 'shs' }] }
    },
    timers: { inactivity: 600e3, handshake: 5e3 },
    friends: { hops: 2 },
    gossip: { pub: false, local: false },
    replicate: { legacy },
    logging: { level: 'error' }
  })
  return { server, keys, dir, address: `net:127.0.0.1:${port}~shs:${keys.public.replace(/\.ed25519$/, '')}` }
}

async function waitFor (what, fn, ms = 120000) {
  const end = Date.now() + ms
  let last
  while (Date.now() < end) {
    try {
      last = await fn()
      if (last === true) return true
    } catch (e) { last = e.message }
    await sleep(250)
  }
  log('  timed out waiting for ' + what + ' (last: ' + JSON.stringify(last) + ')')
  return false
}

async function countOurs (dir, feed) {
  const out = (await sbot(dir, 'hist', feed, '--values', 'false')).trim()
  return out ? out.split('\n').length : 0
}

async function main () {
  const jsPort = await freePort()
  const js = startJs(jsPort)
  const sv = js.server
  log('ssb-server 16.0.1 at ' + js.address)

  // 3 feeds x PER_FEED messages made by ssb-validate, added to the JS server.
  const feeds = [0, 1, 2].map(() => ssbKeys.generate())
  let state = validate.initial()
  let ts = Date.now() - 1e7
  for (let i = 0; i < PER_FEED; i++) {
    for (const k of feeds) {
      state = validate.appendNew(state, null, k, { type: 'post', text: `message ${i} of ${k.id.slice(0, 8)} é😀` }, ts++)
    }
  }
  for (const kvt of state.queue) await p((cb) => sv.add(kvt.value, cb))
  log(`added ${state.queue.length} messages of 3 feeds to ssb-server`)

  // How our server replicates with a peer, from its status: "ebt" or "legacy".
  const modeWith = async (dir, id) => {
    const c = (await sbotJson(dir, 'status')).connections.find((x) => x.id === id)
    return c ? c.replication : 'not connected'
  }

  // 0. ssb-server dials us. It asks for EBT first (ebt.replicate): with our EBT on, that is
  // how it replicates; with --no-ebt it gets "no duplex:ebt,replicate" and falls back to legacy
  // replication (what a JS peer without EBT in common with us does). First, while it has no
  // other peer (legacy replication asks only one peer at a time for a feed).
  for (const [name, flags, want] of [['dialed-legacy', ['--no-ebt'], 'legacy'], ['dialed-ebt', [], 'ebt']]) {
    const dialed = await startOurs(name, await freePort(), shs, ...flags)
    for (let i = 0; i < 10; i++) await sbot(dialed.dir, 'publish', '--type', 'post', '--text', `${name} ${i}`)
    await p((cb) => sv.publish({ type: 'contact', contact: dialed.id, following: true }, cb))
    await p((cb) => sv.gossip.connect(dialed.address, cb))
    const got = await waitFor(`the ${name} server's feed on ssb-server`, async () => {
      const msgs = await p((cb) => pull(sv.createHistoryStream({ id: dialed.id, keys: false }), pull.collect(cb)))
      return msgs.length === 10 || `${msgs.length}/10`
    })
    const mode = await modeWith(dialed.dir, js.keys.id)
    result(`ssb-server dials our server and replicates from it (${want})`, got && mode === want, `replication: ${mode}`)
  }

  const ours = await startOurs('ours', await freePort(), shs)
  log('our server ' + ours.address)
  // The JS side follows us, so it replicates our feed; we follow its 3 feeds.
  await p((cb) => sv.publish({ type: 'contact', contact: ours.id, following: true }, cb))
  for (const k of feeds) await sbot(ours.dir, 'friends.follow', k.id)

  // 1. we replicate 3 x PER_FEED from ssb-server
  const t0 = Date.now()
  await sbot(ours.dir, 'gossip.connect', js.address)
  const got1 = await waitFor('3 feeds', async () => {
    const counts = await Promise.all(feeds.map((k) => countOurs(ours.dir, k.id)))
    return counts.every((n) => n === PER_FEED) || counts.join(',')
  })
  const secs = (Date.now() - t0) / 1000
  let same = got1
  if (got1) {
    for (const k of feeds) {
      const mine = (await sbot(ours.dir, 'hist', k.id, '--keys', 'false')).trim().split('\n')
      const theirs = state.queue.filter((kvt) => kvt.value.author === k.id).map((kvt) => JSON.stringify(kvt.value))
      if (mine.join('\n') !== theirs.join('\n')) same = false
    }
  }
  const mode1 = await modeWith(ours.dir, js.keys.id)
  result(`our server replicates 3 feeds x ${PER_FEED} messages from ssb-server over EBT`, got1 && same && mode1 === 'ebt',
    got1 ? `${3 * PER_FEED} messages in ${secs.toFixed(1)} s, byte-identical: ${same}, replication: ${mode1}` : 'incomplete')

  // 2. ssb-server replicates our feed from us (published through our running server)
  for (let i = 0; i < 20; i++) await sbot(ours.dir, 'publish', '--type', 'post', '--text', `from C++ ${i}`)
  const ourLatest = 20 + feeds.length
  const got2 = await waitFor('our feed on ssb-server', async () => {
    const msgs = await p((cb) => pull(sv.createHistoryStream({ id: ours.id, keys: false }), pull.collect(cb)))
    return msgs.length === ourLatest || `${msgs.length}/${ourLatest}`
  })
  result('ssb-server replicates our feed from us', got2, got2 ? `${ourLatest} messages` : '')

  // 3. blobs both ways
  const jsBlob = crypto.randomBytes(200 * 1024)
  const jsBlobId = await p((cb) => pull(pull.values([jsBlob]), sv.blobs.add(cb)))
  await sbot(ours.dir, 'blobs.want', jsBlobId)
  const got3a = await waitFor('the JS blob', async () => {
    try { return (await sbot(ours.dir, 'blobs.has', jsBlobId)).trim() === 'true' } catch (e) { return false }
  })
  const back = got3a ? await sbotRaw(ours.dir, ['blobs.get', jsBlobId], 'buffer') : Buffer.alloc(0)
  result('a blob added on ssb-server arrives on ours', got3a && Buffer.compare(back, jsBlob) === 0)
  const ourBlob = crypto.randomBytes(150 * 1024)
  fs.writeFileSync(path.join(work, 'ourblob'), ourBlob)
  const ourBlobId = (await sbot(ours.dir, 'blobs.add', path.join(work, 'ourblob'))).trim()
  const wanted = await Promise.race([p((cb) => sv.blobs.want(ourBlobId, cb)), sleep(60000).then(() => 'timeout')])
  const jsCopy = wanted === true
    ? await p((cb) => pull(sv.blobs.get(ourBlobId), pull.collect(cb))).then((bufs) => Buffer.concat(bufs))
    : Buffer.alloc(0)
  result('a blob added on ours arrives on ssb-server', wanted === true && Buffer.compare(jsCopy, ourBlob) === 0,
    String(wanted))

  // 4. ssb-client publishes through our server, as its owner
  const ourKeys = ssbKeys.loadSync(path.join(ours.dir, 'secret'))
  const client = await p((cb) => ssbClient(ourKeys, { host: '127.0.0.1', port: ours.port, key: ours.id, caps: { shs } }, cb))
  const published = await p((cb) => client.publish({ type: 'post', text: 'through ssb-client' }, cb))
  const whoami = await p((cb) => client.whoami(cb))
  client.close(true, () => {})
  const stored = await sbotJson(ours.dir, 'get', published.key)
  result('ssb-client publishes through our server', stored.content.text === 'through ssb-client' &&
    whoami.id === ours.id, published.key)

  // 5. our private message, readable by the JS owner
  const priv = await sbotJson(ours.dir, 'publish', '--type', 'post', '--text', 'for your eyes', '--recps', js.keys.id)
  const got5 = await waitFor('the private message on ssb-server', async () => {
    const v = await p((cb) => sv.get(priv.key, cb)).catch(() => null)
    if (!v) return 'not there yet'
    const plain = ssbKeys.unbox(v.content, js.keys)
    return plain && plain.text === 'for your eyes'
  })
  result('our private message is readable by the JS peer\'s owner', got5)

  // 6. a wrong network key is refused by both
  const wrong = await startOurs('wrong', await freePort(), wrongShs)
  let dialFailed = false
  try { await sbot(wrong.dir, 'gossip.connect', js.address) } catch (e) { dialFailed = true }
  let clientFailed = false
  try {
    const c = await Promise.race([
      p((cb) => ssbClient(ourKeys, { host: '127.0.0.1', port: ours.port, key: ours.id, caps: { shs: wrongShs } }, cb)),
      sleep(15000).then(() => { throw new Error('timeout') })])
    c.close(true, () => {})
  } catch (e) { clientFailed = true }
  result('a wrong network key is refused by both', dialFailed && clientFailed,
    `ssb-server refused our dial: ${dialFailed}, our server refused ssb-client: ${clientFailed}`)

  // 7. an EBT-only ssb-server (legacy replication off): its feed and ours cross both ways when
  // we dial it.
  const js2 = startJs(await freePort(), { legacy: false, name: 'js-ebt-only' })
  const sv2 = js2.server
  for (let i = 0; i < 5; i++) await p((cb) => sv2.publish({ type: 'post', text: `EBT only ${i}` }, cb))
  await p((cb) => sv2.publish({ type: 'contact', contact: ours.id, following: true }, cb))
  await sbot(ours.dir, 'friends.follow', js2.keys.id)
  const oursNow = (await sbotJson(ours.dir, 'status')).sequence
  await sbot(ours.dir, 'gossip.connect', js2.address)
  const got7a = await waitFor('the EBT-only server\'s feed on ours', async () => {
    const n = await countOurs(ours.dir, js2.keys.id)
    return n === 6 || `${n}/6`
  })
  const got7b = await waitFor('our feed on the EBT-only server', async () => {
    const msgs = await p((cb) => pull(sv2.createHistoryStream({ id: ours.id, keys: false }), pull.collect(cb)))
    return msgs.length === oursNow || `${msgs.length}/${oursNow}`
  })
  const mode7 = await modeWith(ours.dir, js2.keys.id)
  result('an EBT-only ssb-server (legacy off) and our server replicate both ways', got7a && got7b && mode7 === 'ebt',
    `its 6 messages on ours: ${got7a}, our ${oursNow} on it: ${got7b}, replication: ${mode7}`)

  // Our servers first, so that ssb-server's close does not race their goodbyes.
  for (const c of children) c.kill('SIGTERM')
  await sleep(500)
  // A close that never calls back (a goodbye lost in a race) must not hold the test.
  for (const server of [sv2, sv]) {
    await Promise.race([p((cb) => server.close(true, cb)).catch(() => {}), sleep(10000)])
  }
}

main().catch((e) => { console.error(e); failures++ }).finally(() => {
  for (const c of children) c.kill('SIGTERM')
  setTimeout(() => {
    fs.rmSync(work, { recursive: true, force: true })
    log(failures ? `${failures} interop checks failed` : 'all interop checks passed')
    process.exit(failures ? 1 : 0)
  }, 500)
})
