// ssb-server 16.0.1 as `ssb-server start` runs it (node_modules/ssb-server/bin.js): the same
// plugins in the same order, except ssb-local and ssb-ws, which tests never load (LAN
// broadcasts, an extra HTTP/websocket port). Neither adds a method to the manifest.
//
// Usage: node ssb_server_default.js DIR PORT SHS_BASE64
// Listens on 127.0.0.1:PORT only, writes DIR/manifest.json as bin.js does, prints one JSON line
// {id, port, address} once it listens, and stops when its stdin closes (so it never outlives the
// test that started it) or on SIGTERM.
'use strict'
const fs = require('fs')
const path = require('path')
const ssbKeys = require('ssb-keys')

const [dir, portText, shs] = process.argv.slice(2)
const port = Number(portText)
fs.mkdirSync(dir, { recursive: true })
const keys = ssbKeys.loadOrCreateSync(path.join(dir, 'secret'))

// bin.js's list, minus ssb-local and ssb-ws.
const createSsbServer = require('ssb-server')
  .use(require('ssb-private1'))
  .use(require('ssb-onion'))
  .use(require('ssb-unix-socket'))
  .use(require('ssb-no-auth'))
  .use(require('ssb-plugins'))
  .use(require('ssb-master'))
  .use(require('ssb-gossip'))
  .use(require('ssb-replicate'))
  .use(require('ssb-friends'))
  .use(require('ssb-blobs'))
  .use(require('ssb-invite'))
  .use(require('ssb-logging'))
  .use(require('ssb-query'))
  .use(require('ssb-links'))
  .use(require('ssb-ebt'))
  .use(require('ssb-ooo'))

// ssb-config's defaults, as bin.js builds them, with the test's directory, port and network key.
const config = require('ssb-config/inject')('ssb-api-test', {
  path: dir,
  host: '127.0.0.1',
  port,
  caps: { shs },
  connections: {
    incoming: { net: [{ scope: ['device', 'local', 'private'], host: '127.0.0.1', port, transform: 'shs' }] },
    outgoing: { net: [{ transform: 'shs' }] }
  },
  logging: { level: 'error' }
})
config.keys = keys
const server = createSsbServer(config)
fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(server.getManifest(), null, 2))
server.once('multiserver:listening', () => {
  console.log(JSON.stringify({ id: keys.id, port, address: server.getAddress() }))
})

let closing = false
function stop () {
  if (closing) return
  closing = true
  const t = setTimeout(() => process.exit(0), 5000)
  server.close(true, () => { clearTimeout(t); process.exit(0) })
}
process.stdin.on('end', stop)
process.stdin.on('close', stop)
process.stdin.resume()
process.on('SIGTERM', stop)
