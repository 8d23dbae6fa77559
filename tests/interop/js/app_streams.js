// What apps see of `sbot server`, on 127.0.0.1 and the owner socket only.
// Usage: node app_streams.js SBOT GEN_MESSAGES
//
//   1. A slow reader is back-pressured: a live createLogStream over 30,000 stored messages, read
//      by a client that stops reading its socket, makes the server produce a bounded number of
//      items (counted by the server's own `status`), far below the log; once the client reads
//      again, every item arrives, then the live tail.
//   2. An aborted stream is released at once: after the client goes, `status` lists no stream.
//   3. The ssb-client example on a default ~/.ssb: ssbClient(cb) with ssb-client's defaults
//      (keys and config from ~/.ssb, our server on the port the config names) publishes, and
//      reads the post back from createFeedStream, createLogStream and createHistoryStream,
//      each value exactly as signed.
'use strict'
const fs = require('fs')
const os = require('os')
const path = require('path')
const net = require('net')
const { spawn, execFileSync } = require('child_process')

const SBOT = process.argv[2]
const GEN = process.argv[3]
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ssb-app-'))
const children = []
let failures = 0
const N = 30000
// The server holds at most its send queue (1 MiB) and one page per stream; the kernel's socket
// buffers hold some more. Items here are ~570 bytes: 1 MiB is ~1,800 of them; the bound leaves
// room for the kernel's buffers and is still a quarter of the log.
const BOUND = 7500

function result (name, ok, detail) {
  console.log((ok ? 'PASS ' : 'FAIL ') + name + (detail ? ': ' + detail : ''))
  if (!ok) failures++
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function freePort () {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = s.address().port
      s.close(() => resolve(port))
    })
  })
}

function startServer (dir, args, env) {
  const child = spawn(SBOT, ['--path', dir, 'server', '--host', '127.0.0.1', '--no-lan', '--run-for', '600', ...args],
    { stdio: ['pipe', 'pipe', 'pipe'], env: env || process.env })
  children.push(child)
  let err = ''
  child.stderr.on('data', (d) => { err += d })
  return new Promise((resolve, reject) => {
    child.stdout.once('data', () => resolve(child))
    child.on('exit', (code) => reject(new Error('sbot server exited with ' + code + ': ' + err)))
  })
}

function sbot (dir, args, input) {
  return execFileSync(SBOT, ['--path', dir, ...args], { input, maxBuffer: 256 << 20, encoding: 'utf8' })
}

// packet-stream framing (muxrpc over the owner socket, which needs no handshake).
function packet (req, body, { stream = false, end = false } = {}) {
  const b = Buffer.from(JSON.stringify(body))
  const h = Buffer.alloc(9)
  h[0] = (stream ? 8 : 0) | (end ? 4 : 0) | 2
  h.writeUInt32BE(b.length, 1)
  h.writeInt32BE(req, 5)
  return Buffer.concat([h, b])
}

function streamsOf (dir) {
  return JSON.parse(sbot(dir, ['status'])).streams
}

async function backPressure () {
  const dir = path.join(work, 'bp')
  execFileSync('sh', ['-c', `"${GEN}" 11 ${N} | "${SBOT}" --path "${dir}" add > /dev/null 2>&1`])
  await startServer(dir, ['--port', String(await freePort())])
  const sock = net.connect(path.join(dir, 'socket'))
  await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject) })
  let buf = Buffer.alloc(0)
  let items = 0
  let sync = false
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d])
    while (buf.length >= 9) {
      const len = buf.readUInt32BE(1)
      if (buf.length < 9 + len) break
      const body = buf.subarray(9, 9 + len).toString()
      buf = buf.subarray(9 + len)
      if (body === '{"sync":true}') sync = true
      else items++
    }
  })
  sock.write(packet(1, { name: ['createLogStream'], args: [{ live: true, sync: true }], type: 'source' }, { stream: true }))
  // Read the first items, then stop reading: the kernel buffers fill, then the server's queue.
  while (items === 0) await sleep(20)
  sock.pause()
  // Wait until the server has stopped producing (three equal counts in a row).
  let produced = -1
  let same = 0
  for (let i = 0; i < 200 && same < 3; i++) {
    await sleep(200)
    const s = streamsOf(dir).find((x) => x.method === 'createLogStream')
    const p = s ? s.produced : -1
    same = p === produced ? same + 1 : 0
    produced = p
  }
  result(`a reader that stops reading holds the server at ${produced} produced items of ${N} (bound ${BOUND})`,
    produced > 0 && produced <= BOUND && produced < N)
  sock.resume()
  for (let i = 0; i < 600 && !(items >= N && sync); i++) await sleep(50)
  result('once it reads again, every stored item arrives, then the sync marker', items === N && sync, `${items} items, sync ${sync}`)
  // The live tail.
  sbot(dir, ['publish', '--type', 'post', '--text', 'live after the backlog'])
  for (let i = 0; i < 200 && items === N; i++) await sleep(50)
  result('then the live tail', items === N + 1, `${items - N} new`)
  sock.destroy()
  let left = null
  for (let i = 0; i < 100; i++) {
    left = streamsOf(dir)
    if (left.length === 0) break
    await sleep(50)
  }
  result('a stream whose reader went away is released', left.length === 0, JSON.stringify(left))
}

// The example app, with ssb-client's defaults: run in its own process with HOME set, as a user
// runs it. Prints one JSON line with what it saw.
const exampleApp = fs.readFileSync(path.join(__dirname, 'example_app.js'), 'utf8')

async function example () {
  const home = path.join(work, 'home')
  const ssbDir = path.join(home, '.ssb')
  fs.mkdirSync(ssbDir, { recursive: true })
  const port = await freePort()
  // A user's config: the port (8008 is left alone on a shared machine) and nothing else.
  fs.writeFileSync(path.join(ssbDir, 'config'), JSON.stringify({ port, host: '127.0.0.1' }))
  const env = Object.assign({}, process.env, { HOME: home, SSB_PATH: '' })
  await startServer(ssbDir, [], env)
  const app = path.join(work, 'app.js')
  fs.writeFileSync(app, exampleApp)
  let out
  try {
    out = JSON.parse(execFileSync(process.execPath, [app], {
      env: Object.assign({}, env, { NODE_PATH: path.join(__dirname, '..', 'node_modules') }),
      encoding: 'utf8', timeout: 60000
    }))
  } catch (e) {
    result('the ssb-client example runs against sbot server on ~/.ssb', false, e.message)
    return
  }
  const ssbKeys = require('ssb-keys')
  const signed = (kvt) => kvt && kvt.key === '%' + ssbKeys.hash(JSON.stringify(kvt.value, null, 2)) &&
    ssbKeys.verifyObj(kvt.value.author.slice(1), kvt.value)
  const key = out.msg.key
  result('the ssb-client example publishes through sbot server on ~/.ssb', signed(out.msg) && out.msg.value.content.text === 'Hello, world!')
  result('and reads the post back from createFeedStream, createLogStream, createHistoryStream, as signed',
    [out.feed[0], out.log[0], out.history[0]].every((m) => m && m.key === key && signed(m)),
    JSON.stringify([out.feed.length, out.log.length, out.history.length]))
}

async function main () {
  await backPressure()
  await example()
}

main().catch((e) => { console.error(e); failures++ }).finally(() => {
  for (const c of children) c.kill('SIGTERM')
  setTimeout(() => {
    fs.rmSync(work, { recursive: true, force: true, maxRetries: 5 })
    console.log(failures ? `${failures} failed` : 'all passed')
    process.exit(failures ? 1 : 0)
  }, 500)
})
