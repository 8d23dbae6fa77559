// The JavaScript side of bench/net: one OS process per peer, so that its peak RSS can be read
// from /proc. Started by net_bench.js with NODE_PATH pointing at tests/interop/node_modules.
//
//   node js_peer.js serve  --dir D --port P --shs B64 --mode legacy|ebt [--run-for S]
//       ssb-server 16.0.1 with ssb-master, ssb-gossip, ssb-replicate, ssb-friends, ssb-blobs and,
//       in ebt mode, ssb-ebt (legacy replication off). Never ssb-local or ssb-ws; 127.0.0.1 only.
//       Prints {"id","address","port"} once created, then serves until SIGTERM or --run-for.
//   node js_peer.js load   --dir D --port P --shs B64 --corpus FILE
//       The same server; adds every NDJSON message value of FILE, flushes, closes, prints
//       {"added":N,"secs":S}. Makes the data dir that serve then opens.
//   node js_peer.js client --port P --key @ID --shs B64 --feeds @a,@b,... --expect N
//       An anonymous (random key) muxrpc client that calls createHistoryStream({id, seq: 1,
//       keys: false}) for all feeds at once and only counts what arrives (no verification).
//       Prints {"messages","secs","rss_peak_mib"}.
'use strict'
const fs = require('fs')
const path = require('path')

function parseArgs (argv) {
  const o = { _: [] }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) o[argv[i].slice(2)] = argv[++i]
    else o._.push(argv[i])
  }
  return o
}
const args = parseArgs(process.argv.slice(2))
const cmd = args._[0]

// A safety net: never outlive the driver.
const parent = process.ppid
setInterval(() => { if (process.ppid !== parent) process.exit(3) }, 1000).unref()

function peakRssMiB () {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))
  return m ? Number(m[1]) / 1024 : null
}

function createServer (dir, port, shs, mode) {
  const ssbKeys = require('ssb-keys')
  let stack = require('ssb-server')
    .use(require('ssb-master'))
    .use(require('ssb-gossip'))
    .use(require('ssb-replicate'))
    .use(require('ssb-friends'))
    .use(require('ssb-blobs'))
  if (mode === 'ebt') stack = stack.use(require('ssb-ebt'))
  fs.mkdirSync(dir, { recursive: true })
  const keys = ssbKeys.loadOrCreateSync(path.join(dir, 'secret'))
  const server = stack({
    path: dir,
    keys,
    caps: { shs },
    host: '127.0.0.1',
    port,
    connections: {
      incoming: { net: [{ scope: 'private', host: '127.0.0.1', port, transform: 'shs' }] },
      outgoing: { net: [{ transform: 'shs' }] }
    },
    timers: { inactivity: 3600e3, handshake: 15e3 },
    friends: { hops: 2 },
    gossip: { pub: false, local: false },
    // ebt mode: ssb-replicate's legacy createHistoryStream replication is off, so only EBT runs
    // (ssb-ebt still hooks replicate.request). legacy mode: ssb-ebt is not loaded at all.
    replicate: { legacy: mode !== 'ebt' },
    logging: { level: 'error' }
  })
  const address = `net:127.0.0.1:${port}~shs:${keys.public.replace(/\.ed25519$/, '')}`
  return { server, keys, address }
}

function serve () {
  const port = Number(args.port)
  const { server, keys, address } = createServer(args.dir, port, args.shs, args.mode || 'legacy')
  process.stdout.write(JSON.stringify({ id: keys.id, address, port }) + '\n')
  let closing = false
  const stop = () => {
    if (closing) return
    closing = true
    setTimeout(() => process.exit(0), 5000).unref()
    server.close(true, () => process.exit(0))
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  if (args['run-for']) setTimeout(stop, Number(args['run-for']) * 1000).unref()
}

function load () {
  const { server } = createServer(args.dir, Number(args.port), args.shs, 'legacy')
  const lines = fs.readFileSync(args.corpus, 'utf8').split('\n').filter((l) => l.length)
  const t0 = Date.now()
  let next = 0
  let done = 0
  let failed = null
  const finish = () => {
    server.close(true, () => {
      process.stdout.write(JSON.stringify({ added: done, secs: (Date.now() - t0) / 1000, error: failed }) + '\n')
      process.exit(failed ? 1 : 0)
    })
  }
  // Keep a window of adds in flight (ssb-db queues and writes them in order).
  const pump = () => {
    while (next < lines.length && next - done < 1000 && !failed) {
      const value = JSON.parse(lines[next++])
      server.add(value, (err) => {
        if (err && !failed) failed = err.message
        done++
        if (done === lines.length || (failed && done === next)) finish()
        else pump()
      })
    }
  }
  pump()
}

function client () {
  const ssbKeys = require('ssb-keys')
  const ssbClient = require('ssb-client')
  const pull = require('pull-stream')
  const feeds = args.feeds.split(',')
  const expect = Number(args.expect)
  const t0 = process.hrtime.bigint()
  ssbClient(ssbKeys.generate(), {
    host: '127.0.0.1',
    port: Number(args.port),
    key: args.key,
    caps: { shs: args.shs },
    timers: { handshake: 15e3 },
    manifest: { createHistoryStream: 'source' }
  }, (err, sbot) => {
    if (err) { console.error(err.message); process.exit(1) }
    let count = 0
    let open = feeds.length
    let error = null
    for (const id of feeds) {
      pull(sbot.createHistoryStream({ id, seq: 1, keys: false }), pull.drain(() => { count++ }, (e) => {
        if (e && e !== true) error = e.message || String(e)
        if (--open === 0) {
          const secs = Number(process.hrtime.bigint() - t0) / 1e9
          process.stdout.write(JSON.stringify({ messages: count, expected: expect, secs, rss_peak_mib: peakRssMiB(), error }) + '\n')
          sbot.close(true, () => process.exit(count === expect ? 0 : 1))
          setTimeout(() => process.exit(count === expect ? 0 : 1), 2000).unref()
        }
      }))
    }
  })
}

if (cmd === 'serve') serve()
else if (cmd === 'load') load()
else if (cmd === 'client') client()
else {
  console.error('usage: js_peer.js serve|load|client ...')
  process.exit(2)
}
