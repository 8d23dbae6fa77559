// Online replication benchmark: our `sbot server` against the real ssb-server 16.0.1, on one
// corpus made once per run, every server a separate OS process on 127.0.0.1 (peak RSS =
// VmHWM from /proc/PID/status, read just before the process is stopped).
//
//   node net_bench.js --sbot PATH [--feeds 20] [--per-feed 5000] [--runs 1] [--cold-runs 5]
//                     [--timeout 900] [--poll-ms 100] [--work DIR] [--keep] [--probe PATH]
//                     [--floor PATH]
//                     [--modes cpp,cpp-legacy,js-legacy,js-ebt,serve-cpp,serve-js,cold]
// Usually started by bench/net/run, which sets NODE_PATH to tests/interop/node_modules.
//
// Modes (each in fresh data dirs copied from templates loaded once):
//   cpp        C++ -> C++ (EBT, the default): server A holds the corpus, B is empty; both replicate.request the
//              feeds; time from B's gossip.connect to A until B's `status` counts every message.
//   cpp-legacy the same with --no-ebt on both: legacy createHistoryStreams.
//   js-legacy  JS -> JS, ssb-replicate's createHistoryStream replication (no ssb-ebt).
//   js-ebt     JS -> JS, ssb-ebt with legacy replication off.
//   serve-cpp  our server A serving a non-verifying JS client (random key, anonymous):
//              createHistoryStream({id, seq: 1, keys: false}) for all feeds at once.
//   serve-js   the same against ssb-server A (the reference).
//   cold       spawn -> TCP port accepting, and spawn -> first message served to an anonymous
//              client, on a data dir holding the corpus; median of --cold-runs. The servers are
//              started and timed by ssb_spawn_probe (bench/net/spawn_probe.cc, built next to
//              sbot in build/*/bench/, or --probe PATH), which polls the port every 100 µs:
//              Node's own spawn costs ~10 ms here and would otherwise sit in both figures.
// With the cpp mode, ssb_verify_floor (bench/net/verify_floor.cc, next to the probe, or --floor
// PATH) times the corpus's signatures verified on every core and nothing else: the least time
// any receiver that checks signatures can take on this machine.
'use strict'
const crypto = require('crypto')
const fs = require('fs')
const net = require('net')
const os = require('os')
const path = require('path')
const { spawn, execFile } = require('child_process')
const ssbKeys = require('ssb-keys')
const validate = require('ssb-validate')
const ssbClient = require('ssb-client')
const pull = require('pull-stream')

// ---- arguments ----
function parseArgs (argv) {
  const o = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (!a.startsWith('--')) throw new Error('unexpected argument ' + a)
    const k = a.slice(2)
    if (k === 'keep' || k === 'help') o[k] = true
    else o[k] = argv[++i]
  }
  return o
}
const A = parseArgs(process.argv.slice(2))
if (A.help || !A.sbot) {
  console.log(fs.readFileSync(__filename, 'utf8').split('\n').filter((l) => l.startsWith('//')).join('\n'))
  process.exit(A.help ? 0 : 2)
}
const SBOT = path.resolve(A.sbot)
const FEEDS = Number(A.feeds || 20)
const PER_FEED = Number(A['per-feed'] || 5000)
const TOTAL = FEEDS * PER_FEED
const RUNS = Number(A.runs || 1)
const COLD_RUNS = Number(A['cold-runs'] || 5)
const TIMEOUT_MS = Number(A.timeout || 900) * 1000
const POLL_MS = Number(A['poll-ms'] || 100)
const ALL_MODES = ['cpp', 'cpp-legacy', 'js-legacy', 'js-ebt', 'serve-cpp', 'serve-js', 'cold']
const MODES = A.modes ? A.modes.split(',') : ALL_MODES
for (const m of MODES) {
  if (!ALL_MODES.includes(m)) { console.error(`net_bench: unknown mode ${m} (modes: ${ALL_MODES.join(',')})`); process.exit(2) }
}
const JS_PEER = path.join(__dirname, 'js_peer.js')
const PROBE = A.probe ? path.resolve(A.probe) : path.join(path.dirname(SBOT), '../../bench/ssb_spawn_probe')
const FLOOR = A.floor ? path.resolve(A.floor) : path.join(path.dirname(SBOT), '../../bench/ssb_verify_floor')
const RUN_FOR = Math.ceil(TIMEOUT_MS / 1000) + 600 // servers stop themselves even if we die
const work = A.work ? path.resolve(A.work) : fs.mkdtempSync(path.join(os.tmpdir(), 'ssb-net-bench-'))
fs.mkdirSync(work, { recursive: true })
const shs = crypto.randomBytes(32).toString('base64') // a private network for this run only

// ---- processes ----
const children = new Set()
function killAll () {
  for (const c of children) { try { c.kill('SIGKILL') } catch (e) {} }
  children.clear()
}
function removeWork () {
  if (!A.keep && !A.work) fs.rmSync(work, { recursive: true, force: true })
}
process.on('exit', killAll)
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.error(`net_bench: ${sig}, stopping`)
    killAll()
    setTimeout(() => { removeWork(); process.exit(130) }, 200) // let the killed processes go first
  })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const p = (fn) => new Promise((resolve, reject) => fn((err, v) => err ? reject(err) : resolve(v)))
const now = () => Number(process.hrtime.bigint()) / 1e9
const log = (...a) => console.log(...a)

function withTimeout (promise, ms, what) {
  let timer
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s: ${what}`)), ms) })
  ])
}

function run (cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { maxBuffer: 256 << 20, encoding: 'utf8', ...opts }, (err, stdout, stderr) => {
      children.delete(child)
      if (err) { err.message += ' ' + stderr.slice(0, 2000); reject(err) } else resolve(stdout)
    })
    children.add(child)
  })
}
const sbot = (dir, ...args) => run(SBOT, ['--path', dir, ...args])

// Current RSS split (anonymous / file / shared memory, MiB) at the same moment, for the log.
function readRssSplit (pid) {
  try {
    const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
    return ['RssAnon', 'RssFile', 'RssShmem'].map((k) => {
      const m = new RegExp(k + ':\\s+(\\d+) kB').exec(st)
      return m ? Math.round(Number(m[1]) / 1024) : null
    }).join('/')
  } catch (e) { return null }
}

function readHwmMiB (pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) / 1024 : null
  } catch (e) { return null }
}

// Starts a server process, resolves with its hello line {id, address, port} plus the child.
// With `probePort`, the process is started by ssb_spawn_probe, which times it to "port
// accepting" itself; `probe` then resolves with {pid, t0, port} (CLOCK_MONOTONIC seconds, the
// clock of now()), free of this driver's own spawn cost.
function startProcess (cmd, args, name, probePort) {
  const t0 = now()
  const child = probePort
    ? spawn(PROBE, [String(probePort), cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] })
    : spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  let err = ''
  child.stderr.on('data', (d) => { err = (err + d).slice(-4000); if (process.env.NET_BENCH_VERBOSE) process.stderr.write(d) })
  const exited = new Promise((resolve) => child.on('exit', (code, sig) => { children.delete(child); resolve({ code, sig }) }))
  const hello = new Promise((resolve, reject) => {
    let out = ''
    let done = false
    child.stdout.on('data', (d) => {
      if (done) return
      out += d
      const nl = out.indexOf('\n')
      if (nl >= 0) {
        done = true
        try { resolve(JSON.parse(out.slice(0, nl))) } catch (e) { reject(new Error(`${name}: bad hello line ${out.slice(0, nl)}`)) }
      }
    })
    exited.then(({ code, sig }) => reject(new Error(`${name} exited (${code ?? sig}) before its hello line: ${err}`)))
  })
  const probe = probePort
    ? new Promise((resolve, reject) => {
      let out = ''
      child.stdio[3].on('data', (d) => {
        out += d
        const nl = out.indexOf('\n')
        if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)))
      })
      exited.then(({ code, sig }) => reject(new Error(`${name} exited (${code ?? sig}) before its port accepted: ${err}`)))
    })
    : null
  return { child, t0, hello, probe, exited, name, stderr: () => err }
}

// Stops a server with SIGTERM (SIGKILL after 8 s) and notes an unclean exit, which is reported
// at the end: it does not change the figures (RSS is read before), but it is a bug to know of.
const stopWarnings = []
async function stopProcess (proc) {
  if (!proc) return
  if (proc.child.exitCode === null && proc.child.signalCode === null) {
    proc.child.kill('SIGTERM')
    const r = await Promise.race([proc.exited, sleep(8000).then(() => null)])
    if (!r) {
      stopWarnings.push(`${proc.name} did not stop within 8 s of SIGTERM; killed`)
      proc.child.kill('SIGKILL')
    }
  }
  const { code, sig } = await proc.exited
  if (code !== 0 && sig !== 'SIGKILL') stopWarnings.push(`${proc.name} exited with ${code ?? sig} when stopped`)
}

function freePort () {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = s.address().port
      s.close(() => resolve(port))
    })
  })
}

function tryConnect (port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port })
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => { s.destroy(); resolve(false) })
  })
}

async function waitPort (port, proc, ms = 120000) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (proc && proc.child.exitCode !== null) throw new Error(`${proc.name} exited: ${proc.stderr()}`)
    if (await tryConnect(port)) return now()
    await sleep(1)
  }
  throw new Error(`port ${port} did not open in ${ms / 1000} s`)
}

function writeConfig (dir) {
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, 'config'), JSON.stringify({ caps: { shs }, lan: false }))
}

// ---- the corpus: FEEDS feeds x PER_FEED post-like messages, interleaved, made by ssb-validate ----
function makeCorpus (file) {
  let seed = 0x5eed1234
  const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 4294967296 }
  const words = ('the a scuttlebutt feed offline sneakernet gossip peer replicate message stick bundle ' +
    'usb pub follow room café naïve boat harbour sea tide wind sail rope anchor island lighthouse ' +
    'hello world today tomorrow garden tree river mountain bread coffee tea book song night day').split(' ')
  const text = () => {
    const len = 150 + Math.floor(rnd() * 200)
    let s = ''
    while (s.length < len) s += (s ? ' ' : '') + words[Math.floor(rnd() * words.length)]
    return s
  }
  const keys = []
  for (let i = 0; i < FEEDS; i++) {
    const b = Buffer.alloc(32)
    b.writeUInt32BE(i + 1, 0)
    b.write('scuttlesync-net-bench', 4)
    keys.push(ssbKeys.generate('ed25519', b))
  }
  const state = keys.map(() => null)
  const fd = fs.openSync(file, 'w')
  let ts = 1.7e12
  let buf = []
  let bytes = 0
  for (let i = 0; i < PER_FEED; i++) {
    for (let f = 0; f < FEEDS; f++) {
      const content = { type: 'post', text: text() }
      if (rnd() < 0.3) content.root = '%' + crypto.createHash('sha256').update(String(rnd())).digest('base64') + '.sha256'
      const msg = validate.create(state[f], keys[f], null, content, ts++)
      state[f] = { id: validate.id(msg), sequence: msg.sequence, timestamp: msg.timestamp, queue: [] }
      const line = JSON.stringify(msg)
      bytes += line.length
      buf.push(line)
    }
    if (buf.length >= 5000) { fs.writeSync(fd, buf.join('\n') + '\n'); buf = [] }
  }
  if (buf.length) fs.writeSync(fd, buf.join('\n') + '\n')
  fs.closeSync(fd)
  return { feeds: keys.map((k) => k.id), bytes }
}

// ---- servers ----
async function startCpp (dir, ...flags) {
  const port = await freePort()
  const proc = startProcess(SBOT, ['--path', dir, 'server', '--host', '127.0.0.1', '--port', String(port),
    '--no-lan', '--run-for', String(RUN_FOR), ...flags], 'sbot server ' + path.basename(dir))
  const hello = await proc.hello
  await waitPort(port, proc)
  // The owner's control connection: ssb-client on the owner socket (DIR/socket, plain muxrpc),
  // one persistent connection as for ssb-server below. (Each `sbot status` run would cost a
  // process start and, today, about a second before the verb's process exits.)
  const keys = ssbKeys.generate()
  const rpc = await withTimeout(p((cb) => ssbClient(keys, {
    remote: `unix:${path.join(dir, 'socket')}~noauth:${keys.public.replace(/\.ed25519$/, '')}`,
    caps: { shs },
    manifest: { status: 'async', gossip: { connect: 'async' }, replicate: { request: 'async' } }
  }, cb)), 30000, 'owner socket')
  return { kind: 'cpp', dir, proc, id: hello.id, address: hello.address, port, rpc }
}

async function startJs (dir, mode) {
  const port = await freePort()
  const proc = startProcess(process.execPath, [JS_PEER, 'serve', '--dir', dir, '--port', String(port), '--shs', shs,
    '--mode', mode, '--run-for', String(RUN_FOR)], `ssb-server (${mode}) ${path.basename(dir)}`)
  const hello = await proc.hello
  await waitPort(port, proc)
  const keys = ssbKeys.loadSync(path.join(dir, 'secret'))
  // The owner's control connection, as ssb-client does (ssb-master lets our own key in).
  let rpc
  const end = Date.now() + 120000
  for (;;) {
    try {
      rpc = await withTimeout(p((cb) => ssbClient(keys, { host: '127.0.0.1', port, key: keys.id, caps: { shs }, timers: { handshake: 15e3 } }, cb)), 30000, 'ssb-client')
      break
    } catch (e) {
      if (Date.now() > end) throw e
      await sleep(200)
    }
  }
  return { kind: 'js', dir, proc, id: hello.id, address: hello.address, port, rpc }
}

async function stopServer (s) {
  if (!s) return
  if (s.rpc) { try { await withTimeout(p((cb) => s.rpc.close(true, cb)), 3000, 'close') } catch (e) {} }
  await stopProcess(s.proc)
}

async function requestFeeds (s, feeds) {
  for (const f of feeds) await p((cb) => s.rpc.replicate.request(f, cb))
}

// How many corpus messages the server holds: our `status` (the store's message count; B holds
// nothing else), ssb-db's vector clock summed over the corpus feeds.
async function countMessages (s, feeds) {
  if (s.kind === 'cpp') return (await p((cb) => s.rpc.status(cb))).messages
  const clock = await p((cb) => s.rpc.getVectorClock(cb))
  let n = 0
  for (const f of feeds) n += clock[f] || 0
  return n
}

async function waitCount (s, feeds, target, ms, what) {
  const end = Date.now() + ms
  let last = -1
  for (;;) {
    const tick = Date.now()
    last = await countMessages(s, feeds)
    if (last >= target) return now()
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}: ${last}/${target}`)
    if (s.proc.child.exitCode !== null) throw new Error(`${s.proc.name} exited: ${s.proc.stderr()}`)
    await sleep(Math.max(0, POLL_MS - (Date.now() - tick)))
  }
}

async function gossipConnect (b, a) {
  await p((cb) => b.rpc.gossip.connect(a.address, cb))
}

// ---- modes ----
let corpus
const templates = {}
let dirCount = 0
function freshDir (name) { return path.join(work, `${name}-${++dirCount}`) }
function copyTemplate (kind, name) {
  const dir = freshDir(name)
  fs.cpSync(templates[kind], dir, { recursive: true })
  return dir
}

async function replicationMode (kind, jsMode) {
  let a, b
  try {
    const bDir = freshDir('b')
    if (kind === 'cpp') {
      writeConfig(bDir)
      const flags = jsMode === 'legacy' ? ['--no-ebt'] : []
      a = await startCpp(copyTemplate('cpp', 'a'), ...flags)
      b = await startCpp(bDir, ...flags)
    } else {
      a = await startJs(copyTemplate('js', 'a'), jsMode)
      b = await startJs(bDir, jsMode)
    }
    // A replicates (and so, for EBT, shares) the corpus feeds, as a pub would; B wants them.
    await requestFeeds(a, corpus.feeds)
    await requestFeeds(b, corpus.feeds)
    await waitCount(a, corpus.feeds, TOTAL, 300000, 'A to open its store') // A is ready before the clock starts
    const before = await countMessages(b, corpus.feeds)
    if (before !== 0) throw new Error(`B already holds ${before} messages`)
    const t0 = now()
    await gossipConnect(b, a)
    const t1 = await waitCount(b, corpus.feeds, TOTAL, TIMEOUT_MS, 'B to hold every message')
    return { secs: t1 - t0, rssA: readHwmMiB(a.proc.child.pid), rssB: readHwmMiB(b.proc.child.pid),
      splitA: readRssSplit(a.proc.child.pid), splitB: readRssSplit(b.proc.child.pid) }
  } finally {
    await stopServer(b)
    await stopServer(a)
  }
}

async function serveMode (kind) {
  let a
  try {
    a = kind === 'cpp' ? await startCpp(copyTemplate('cpp', 'a')) : await startJs(copyTemplate('js', 'a'), 'legacy')
    await waitCount(a, corpus.feeds, TOTAL, 300000, 'A to open its store')
    if (a.rpc) { await p((cb) => a.rpc.close(true, cb)); a.rpc = null } // only the client under test
    const out = await withTimeout(run(process.execPath, [JS_PEER, 'client', '--port', String(a.port), '--key', a.id,
      '--shs', shs, '--feeds', corpus.feeds.join(','), '--expect', String(TOTAL)]), TIMEOUT_MS, 'the JS client')
    const r = JSON.parse(out.trim().split('\n').pop())
    if (r.messages !== TOTAL) throw new Error(`the client received ${r.messages}/${TOTAL}: ${r.error}`)
    return { secs: r.secs, rssA: readHwmMiB(a.proc.child.pid), rssB: r.rss_peak_mib, splitA: readRssSplit(a.proc.child.pid) }
  } finally {
    await stopServer(a)
  }
}

// An anonymous client asking for the first message of feed 0, retried until it is served.
async function firstMessage (port, id, feed, deadline) {
  const keys = ssbKeys.generate()
  for (;;) {
    try {
      const rpc = await withTimeout(p((cb) => ssbClient(keys, { host: '127.0.0.1', port, key: id, caps: { shs },
        timers: { handshake: 15e3 }, manifest: { createHistoryStream: 'source' } }, cb)), 20000, 'connect')
      const msgs = await withTimeout(p((cb) => pull(rpc.createHistoryStream({ id: feed, seq: 1, limit: 1, keys: false }), pull.collect(cb))), 20000, 'first message')
      rpc.close(true, () => {})
      if (msgs.length === 1) return now()
    } catch (e) {
      if (Date.now() > deadline) throw e
    }
    await sleep(5)
  }
}

async function coldStart (kind) {
  const dir = copyTemplate(kind, 'cold')
  const ports = []
  const firsts = []
  for (let i = 0; i < COLD_RUNS; i++) {
    const port = await freePort()
    let proc
    try {
      if (kind === 'cpp') {
        proc = startProcess(SBOT, ['--path', dir, 'server', '--host', '127.0.0.1', '--port', String(port), '--no-lan',
          '--run-for', '300'], 'sbot server (cold)', port)
      } else {
        proc = startProcess(process.execPath, [JS_PEER, 'serve', '--dir', dir, '--port', String(port), '--shs', shs,
          '--mode', 'legacy', '--run-for', '300'], 'ssb-server (cold)', port)
      }
      const probe = await withTimeout(proc.probe, 120000, `${proc.name} to accept on its port`)
      const hello = await proc.hello
      const tFirst = await firstMessage(port, hello.id, corpus.feeds[0], Date.now() + 120000)
      ports.push(probe.port - probe.t0)
      firsts.push(tFirst - probe.t0)
    } finally {
      await stopProcess(proc)
    }
  }
  return { port: median(ports), first: median(firsts), ports, firsts }
}

// ---- report ----
function median (v) {
  const s = v.filter((x) => x != null).sort((x, y) => x - y)
  if (!s.length) return null
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const fmt = (x, d = 2) => x == null ? 'n/a' : x.toFixed(d)
const fmtInt = (x) => x == null ? 'n/a' : Math.round(x).toLocaleString('en-US')

async function main () {
  log(`net_bench: ${FEEDS} feeds x ${PER_FEED} messages = ${TOTAL}, ${RUNS} run(s) per replication mode, ` +
    `cold start median of ${COLD_RUNS}; sbot ${SBOT}; node ${process.version}; work dir ${work}`)
  const tc = now()
  corpus = makeCorpus(path.join(work, 'corpus.ndjson'))
  log(`corpus: ${TOTAL} messages, ${(corpus.bytes / 1e6).toFixed(1)} MB of message JSON (${Math.round(corpus.bytes / TOTAL)} bytes each), made in ${fmt(now() - tc, 1)} s`)

  // Templates: A's data dir, loaded once per implementation, copied for every mode.
  templates.cpp = path.join(work, 'template-cpp')
  writeConfig(templates.cpp)
  let t = now()
  await run('/bin/sh', ['-c', '"$0" --path "$1" add < "$2" > /dev/null', SBOT, templates.cpp, path.join(work, 'corpus.ndjson')])
  const cppStatus = JSON.parse(await sbot(templates.cpp, 'status'))
  if (cppStatus.messages !== TOTAL) throw new Error(`sbot add stored ${cppStatus.messages}/${TOTAL}`)
  log(`template: sbot add stored ${TOTAL} in ${fmt(now() - t, 1)} s`)
  templates.js = path.join(work, 'template-js')
  t = now()
  const loaded = JSON.parse((await run(process.execPath, [JS_PEER, 'load', '--dir', templates.js, '--port', String(await freePort()),
    '--shs', shs, '--corpus', path.join(work, 'corpus.ndjson')], { timeout: TIMEOUT_MS + 600000 })
    .catch((e) => { throw new Error('loading the corpus into ssb-server failed: ' + e.message) })).trim().split('\n').pop())
  if (loaded.added !== TOTAL || loaded.error) throw new Error(`ssb-server add: ${JSON.stringify(loaded)}`)
  log(`template: ssb-server add stored ${TOTAL} in ${fmt(now() - t, 1)} s`)

  const results = {}
  const failures = {}
  const attempt = async (name, fn) => {
    const rs = []
    const runs = name === 'cold-cpp' || name === 'cold-js' ? 1 : RUNS
    for (let i = 0; i < runs; i++) {
      try {
        const r = await withTimeout(fn(), TIMEOUT_MS + 600000, name)
        rs.push(r)
        log(`  ${name} run ${i + 1}: ${JSON.stringify(r, (k, v) => typeof v === 'number' ? Number(v.toFixed(3)) : v)}`)
      } catch (e) {
        failures[name] = e.message
        log(`  FAILED ${name}: ${e.message}`)
        killAll()
        break
      }
    }
    if (rs.length) {
      results[name] = {}
      for (const k of Object.keys(rs[0])) {
        results[name][k] = typeof rs[0][k] === 'number' ? median(rs.map((r) => r[k])) : rs[0][k]
      }
    }
  }
  // The least time any receiver can take here: the corpus's signatures verified on every core,
  // nothing else (bench/net/verify_floor.cc).
  let floor = null
  if (MODES.includes('cpp') && fs.existsSync(FLOOR)) {
    floor = JSON.parse(await run(FLOOR, [path.join(work, 'corpus.ndjson')]))
    log(`  verify floor: ${JSON.stringify(floor)}`)
  } else if (MODES.includes('cpp')) log(`verify floor: not measured, ${FLOOR} is missing (build the bench targets, or pass --floor PATH)`)
  if (MODES.includes('cpp')) await attempt('cpp', () => replicationMode('cpp'))
  if (MODES.includes('cpp-legacy')) await attempt('cpp-legacy', () => replicationMode('cpp', 'legacy'))
  if (MODES.includes('js-legacy')) await attempt('js-legacy', () => replicationMode('js', 'legacy'))
  if (MODES.includes('js-ebt')) await attempt('js-ebt', () => replicationMode('js', 'ebt'))
  if (MODES.includes('serve-cpp')) await attempt('serve-cpp', () => serveMode('cpp'))
  if (MODES.includes('serve-js')) await attempt('serve-js', () => serveMode('js'))
  let spawnBase = null
  if (MODES.includes('cold') && !fs.existsSync(PROBE)) {
    log(`cold start: not measured, ${PROBE} is missing (build the bench targets, or pass --probe PATH)`)
  } else if (MODES.includes('cold')) {
    // What spawning costs by itself: the probe's spawn -> exit of /bin/true (in both figures).
    const v = []
    for (let i = 0; i < COLD_RUNS; i++) {
      const r = JSON.parse(await run(PROBE, ['-', '/bin/true']))
      v.push(r.exit - r.t0)
    }
    spawnBase = median(v)
    await attempt('cold-cpp', () => coldStart('cpp'))
    await attempt('cold-js', () => coldStart('js'))
  }

  // The table.
  const R = results
  const jsRepl = ['js-legacy', 'js-ebt'].filter((k) => R[k])
  const fastestJs = jsRepl.length ? jsRepl.reduce((x, y) => R[x].secs <= R[y].secs ? x : y) : null
  const rate = (r) => r ? TOTAL / r.secs : null
  const rows = []
  const row = (mode, key, ratio) => {
    const r = R[key]
    rows.push([mode, r ? fmt(r.secs) : failures[key] ? 'FAILED' : 'not run', r ? fmtInt(rate(r)) : '',
      r ? fmt(r.rssA, 1) : '', r ? fmt(r.rssB, 1) : '', ratio])
  }
  row('C++ → C++ (EBT)', 'cpp',
    R.cpp && fastestJs ? `${fmt(R[fastestJs].secs / R.cpp.secs, 1)}× faster than JS ${fastestJs.slice(3)}` : '')
  row('C++ → C++ (legacy createHistoryStream, --no-ebt)', 'cpp-legacy',
    R['cpp-legacy'] && fastestJs ? `${fmt(R[fastestJs].secs / R['cpp-legacy'].secs, 1)}× faster than JS ${fastestJs.slice(3)}` : '')
  if (floor) {
    rows.push([`verify floor: ${TOTAL} signatures on ${floor.threads} cores, nothing else`, fmt(floor.secs), fmtInt(TOTAL / floor.secs), '', '',
      R.cpp ? `C++ → C++ takes ${fmt(R.cpp.secs / floor.secs, 2)}× the floor` : ''])
  }
  row('JS → JS legacy (ssb-replicate)', 'js-legacy', fastestJs === 'js-legacy' ? 'reference (faster JS mode)' : '')
  row('JS → JS EBT (ssb-ebt, legacy off)', 'js-ebt', fastestJs === 'js-ebt' ? 'reference (faster JS mode)' : '')
  row('C++ server → JS client (no verify)', 'serve-cpp',
    R['serve-cpp'] && R['serve-js'] ? `${fmt(R['serve-js'].secs / R['serve-cpp'].secs, 1)}× faster than ssb-server` : '')
  row('ssb-server → JS client (no verify)', 'serve-js', R['serve-js'] ? 'reference' : '')
  for (const [k, label] of [['cold-cpp', 'cold start: sbot server'], ['cold-js', 'cold start: ssb-server (node)']]) {
    const r = R[k]
    rows.push([label, r ? `${fmt(r.port, 3)} / ${fmt(r.first, 3)}` : (failures[k] ? 'FAILED' : 'not run'), '', '', '',
      k === 'cold-cpp' && R['cold-cpp'] && R['cold-js'] ? `1/${fmt(R['cold-js'].port / R['cold-cpp'].port, 0)} of ssb-server (port)` : (k === 'cold-js' && r ? 'reference' : ''), ''])
  }
  const head = ['mode', 'time s', 'msgs/s', 'RSS serving MiB', 'RSS receiving MiB', 'vs JS reference']
  log('')
  log(`| ${head.join(' | ')} |`)
  log(`|${head.map((h, i) => i === 0 ? '---' : '---:').join('|')}|`)
  for (const r of rows) log(`| ${r.slice(0, 6).join(' | ')} |`)
  log('')
  log(`Times are from B's gossip.connect (or the client's connect) until the last message is counted, polled every ${POLL_MS} ms; ` +
    `medians of ${RUNS} run(s). Cold start: spawn → TCP port accepting / spawn → first message served to an anonymous client, ` +
    `median of ${COLD_RUNS}, data dir holding the corpus, warm page cache` +
    (spawnBase != null ? ` (both started by ssb_spawn_probe; spawning /bin/true and seeing it exit takes ${fmt(spawnBase * 1000, 1)} ms here)` : '') + `. RSS = VmHWM of each server process ` +
    `(serving = A, receiving = B, or the JS client process in the serve modes).`)

  // The goals.
  log('')
  if (FEEDS !== 20 || PER_FEED !== 5000) log(`(the goals are set for 20 feeds x 5,000 messages; this run has ${FEEDS} x ${PER_FEED}, so read the verdicts loosely)`)
  const goal = (text, ok) => log(`goal: ${text}: ${ok == null ? 'not measured' : ok ? 'MET' : 'NOT MET'}`)
  if (R.cpp && fastestJs) {
    const x = R[fastestJs].secs / R.cpp.secs
    goal(`C++ → C++ ≥ 4× faster than the faster JS mode (${fastestJs}): ${fmt(x, 1)}×`, x >= 4)
    if (floor) {
      const need = R[fastestJs].secs / 4
      log(`      (4× needs ≤ ${fmt(need)} s; verifying the signatures alone on all ${floor.threads} cores takes ${fmt(floor.secs)} s here, ` +
        `so the best any verifying receiver can do is ${fmt(R[fastestJs].secs / floor.secs, 1)}× and the goal leaves ${fmt(need - floor.secs)} s ` +
        `for everything else: the serving peer, parsing, hashing, storing, the network)`)
    }
  } else goal('C++ → C++ ≥ 4× faster than the faster JS mode', null)
  if (R.cpp && jsRepl.length) {
    const jsA = Math.min(...jsRepl.map((k) => R[k].rssA))
    const jsB = Math.min(...jsRepl.map((k) => R[k].rssB))
    goal(`peak RSS ≤ 1/8 of JS, serving side: ${fmt(R.cpp.rssA, 1)} MiB vs ${fmt(jsA, 1)} MiB (smaller JS mode) = 1/${fmt(jsA / R.cpp.rssA, 1)}`, R.cpp.rssA * 8 <= jsA)
    goal(`peak RSS ≤ 1/8 of JS, receiving side: ${fmt(R.cpp.rssB, 1)} MiB vs ${fmt(jsB, 1)} MiB (smaller JS mode) = 1/${fmt(jsB / R.cpp.rssB, 1)}`, R.cpp.rssB * 8 <= jsB)
  } else goal('peak RSS ≤ 1/8 of JS', null)
  if (R['serve-cpp'] && R['serve-js']) {
    goal(`peak RSS ≤ 1/8 of JS, serving a JS client: ${fmt(R['serve-cpp'].rssA, 1)} MiB vs ${fmt(R['serve-js'].rssA, 1)} MiB = 1/${fmt(R['serve-js'].rssA / R['serve-cpp'].rssA, 1)}`,
      R['serve-cpp'].rssA * 8 <= R['serve-js'].rssA)
  }
  if (R['cold-cpp'] && R['cold-js']) {
    const x = R['cold-js'].port / R['cold-cpp'].port
    goal(`cold start ≤ 1/50 of JS (port accepting): ${fmt(R['cold-cpp'].port * 1000, 1)} ms vs ${fmt(R['cold-js'].port * 1000, 0)} ms = 1/${fmt(x, 0)}`, x >= 50)
    const y = R['cold-js'].first / R['cold-cpp'].first
    log(`      (spawn → first message served: ${fmt(R['cold-cpp'].first * 1000, 1)} ms vs ${fmt(R['cold-js'].first * 1000, 0)} ms = 1/${fmt(y, 0)})`)
    if (spawnBase != null) {
      const c = R['cold-cpp'].port - spawnBase
      const j = R['cold-js'].port - spawnBase
      log(`      (port accepting minus the /bin/true spawn time: ${fmt(c * 1000, 1)} ms vs ${fmt(j * 1000, 0)} ms = 1/${fmt(j / c, 0)})`)
    }
  } else goal('cold start ≤ 1/50 of JS', null)
  for (const w of stopWarnings) log(`warning: ${w}`)
  const failed = Object.keys(failures)
  if (failed.length) log(`\nFAILED modes: ${failed.map((k) => `${k} (${failures[k]})`).join('; ')}`)
  return failed.length ? 1 : 0
}

let code = 1
main().then((c) => { code = c }, (e) => { console.error('net_bench: ' + (e.stack || e.message)) }).finally(() => {
  killAll()
  if (!A.keep && !A.work) setTimeout(() => { removeWork(); process.exit(code) }, 200)
  else { log(`data kept in ${work}`); process.exit(code) }
})
