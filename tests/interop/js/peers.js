// Shared pieces of the invite and room interop tests: the real JavaScript peers (a pub with
// ssb-invite, an ssb-room 1.3.0 room, ssb-room-client 2.0.2 peers), our `sbot server`s, and
// small helpers. Every peer listens on 127.0.0.1 only, on a private test network key; nothing
// loads ssb-local or ssb-ws, and the JS connection schedulers are not started (every dial is
// one the test asks for). Run the scripts with `node -r ./ip_preload.js` (see there why).
'use strict'
const fs = require('fs')
const net = require('net')
const os = require('os')
const path = require('path')
const { spawn, execFile } = require('child_process')
const ssbKeys = require('ssb-keys')
const pull = require('pull-stream')

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ssb-rooms-'))
const children = []
const jsServers = []
let failures = 0

function log (...a) { console.log(...a) }
function result (name, ok, detail) {
  log((ok ? 'PASS ' : 'FAIL ') + name + (detail ? ': ' + detail : ''))
  if (!ok) failures++
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const p = (fn) => new Promise((resolve, reject) => fn((err, v) => err ? reject(err) : resolve(v)))

async function freePort () {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = s.address().port
      s.close(() => resolve(port))
    })
  })
}

async function waitFor (what, fn, ms = 90000) {
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

// ---- our sbot

let SBOT = null
function setSbot (bin) { SBOT = bin }

function sbotRaw (dir, args) {
  return new Promise((resolve, reject) => {
    execFile(SBOT, ['--path', dir, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) { err.message += ' ' + stderr; err.stdout = stdout; err.stderr = stderr; reject(err) } else resolve(stdout)
    })
  })
}
const sbot = (dir, ...args) => sbotRaw(dir, args)
async function sbotJson (dir, ...args) { return JSON.parse(await sbot(dir, ...args)) }

async function countOurs (dir, feed) {
  const out = (await sbot(dir, 'hist', feed, '--values', 'false')).trim()
  return out ? out.split('\n').length : 0
}

// A data dir with our config: the test network, no LAN, no dialing pubs from messages.
function ourDir (name, shs, extra = {}) {
  const dir = path.join(work, name)
  fs.mkdirSync(dir, { recursive: true })
  const config = Object.assign({ caps: { shs }, lan: false, gossip: { pub: false } }, extra)
  fs.writeFileSync(path.join(dir, 'config'), JSON.stringify(config))
  return dir
}

async function startOurs (name, shs, { port, flags = [], config = {} } = {}) {
  const dir = ourDir(name, shs, config)
  port = port || await freePort()
  const child = spawn(SBOT, ['--path', dir, 'server', '--host', '127.0.0.1', '--port', String(port),
    '--run-for', '900', ...flags], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let err = ''
  child.stderr.on('data', (d) => { err += d; if (process.env.SSB_INTEROP_VERBOSE) process.stderr.write(name + ': ' + d) })
  const hello = await new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      const nl = out.indexOf('\n')
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)))
    })
    child.on('exit', (code) => reject(new Error(name + ' exited with ' + code + ': ' + err)))
  })
  return { name, dir, child, id: hello.id, address: hello.address, port, log: () => err }
}

async function stopOurs (o) {
  if (o.child.exitCode !== null) return
  const done = new Promise((resolve) => o.child.once('exit', resolve))
  o.child.kill('SIGTERM')
  await Promise.race([done, sleep(10000)])
}

// ---- the JavaScript peers

function jsConfig (dir, keys, shs, port, extra = {}) {
  return Object.assign({
    path: dir,
    keys,
    caps: { shs },
    host: '127.0.0.1',
    port,
    connections: {
      incoming: {
        net: [{ scope: ['device', 'local', 'private', 'public'], host: '127.0.0.1', port, transform: 'shs' }],
        tunnel: [{ scope: 'public', transform: 'shs' }]
      },
      outgoing: { net: [{ transform: 'shs' }], tunnel: [{ transform: 'shs' }] }
    },
    timers: { inactivity: 600e3, handshake: 5e3 },
    logging: { level: 'error' }
  }, extra)
}

function addressOf (keys, port) {
  return `net:127.0.0.1:${port}~shs:${keys.public.replace(/\.ed25519$/, '')}`
}

// ssb-server 16.0.1 with ssb-invite 2.1.8, as a pub: legacy replication and EBT, gossip that
// dials only what it is given.
function startJsPub (name, shs, port) {
  const dir = path.join(work, name)
  const keys = ssbKeys.generate()
  const create = require('ssb-server').createSsbServer()
    .use(require('ssb-master'))
    .use(require('ssb-gossip'))
    .use(require('ssb-replicate'))
    .use(require('ssb-friends'))
    .use(require('ssb-ebt'))
    .use(require('ssb-invite'))
  const server = create(jsConfig(dir, keys, shs, port, {
    allowPrivate: true, // its invites may name 127.0.0.1
    friends: { hops: 2 },
    gossip: { pub: false, local: false }
  }))
  jsServers.push(server)
  return { name, server, keys, id: keys.id, dir, address: addressOf(keys, port) }
}

// ssb-room 1.3.0's room server as its index.js composes it, without the HTTP dashboard: ssb-conn,
// its invite shim, tunnel/server and the createHistoryStream shim.
function startJsRoom (name, shs, port) {
  const dir = path.join(work, name)
  fs.mkdirSync(dir, { recursive: true })
  const keys = ssbKeys.generate()
  const create = require('secret-stack')({ caps: { shs } })
    .use(require('ssb-master'))
    .use(require('ssb-conn'))
    .use(require('ssb-room/invite'))
    .use(require('ssb-room/tunnel/server'))
    .use(require('ssb-room/ssb-shims'))
  const server = create(jsConfig(dir, keys, shs, port, { conn: { autostart: false } }))
  jsServers.push(server)
  return { name, server, keys, id: keys.id, dir, address: addressOf(keys, port) }
}

// A peer with ssb-room-client 2.0.2 on ssb-conn 6.0.4 (as Manyverse composes them), on
// ssb-server 16.0.1's database, replicating with legacy streams and EBT.
function startJsRoomClient (name, shs, port) {
  const dir = path.join(work, name)
  const keys = ssbKeys.generate()
  const create = require('ssb-server').createSsbServer()
    .use(require('ssb-master'))
    .use(require('ssb-conn'))
    .use(require('ssb-room-client'))
    .use(require('ssb-replicate'))
    .use(require('ssb-friends'))
    .use(require('ssb-ebt'))
  const server = create(jsConfig(dir, keys, shs, port, {
    conn: { autostart: false },
    friends: { hops: 2 }
  }))
  jsServers.push(server)
  return { name, server, keys, id: keys.id, dir, address: addressOf(keys, port) }
}

async function jsHistory (server, id) {
  return p((cb) => pull(server.createHistoryStream({ id, keys: false }), pull.collect(cb)))
}

async function publishPosts (server, n, prefix) {
  for (let i = 0; i < n; i++) await p((cb) => server.publish({ type: 'post', text: `${prefix} ${i}` }, cb))
}

async function finish () {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM')
  await Promise.all(children.map((c) => c.exitCode !== null ? null
    : Promise.race([new Promise((resolve) => c.once('exit', resolve)), sleep(10000)])))
  for (const s of jsServers) {
    await Promise.race([new Promise((resolve) => s.close(true, () => resolve())), sleep(10000)])
  }
  // A JS server may still be flushing its last writes after close called back: retry the
  // removal of a directory that filled up again (ENOTEMPTY) for a few seconds. One that keeps
  // writing (a debounced file) stops with this process: the rest is removed after it exits.
  try {
    fs.rmSync(work, { recursive: true, force: true, maxRetries: 20, retryDelay: 200 })
  } catch (e) {
    log(`removing ${work} after exit (${e.code})`)
    spawn('sh', ['-c', 'sleep 1; rm -rf -- "$0"', work], { detached: true, stdio: 'ignore' }).unref()
  }
  log(failures ? `${failures} failed` : 'all passed')
  process.exit(failures ? 1 : 0)
}

module.exports = {
  work, log, result, sleep, p, freePort, waitFor, setSbot, sbot, sbotJson, countOurs, ourDir,
  startOurs, stopOurs, startJsPub, startJsRoom, startJsRoomClient, jsHistory, publishPosts,
  finish, addressOf, failures: () => failures
}
