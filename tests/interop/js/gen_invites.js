// Makes tests/vectors/generated/invites.json: invite codes as ssb-invite 2.1.8 writes and reads
// them, judged by the real ssb-ref 2.16.0 and ssb-keys 8.5.0 (the packages ssb-invite uses).
// Usage: node gen_invites.js > invites.json   (deterministic: a fixed PRNG seed)
//
// "valid" cases: the legacy code exactly as invite.create prints it, the multiserver code its
// accept converts that into, and what accept derives from either: the pub's address (the
// content of the `pub` message it publishes), and the guest id (ssbKeys.generate('ed25519',
// seed), the key the client handshake uses). "invalid" cases: codes ssb-invite's accept would
// refuse (ssb-ref's parseInvite returns nothing, or the shs seed is not 32 bytes).
'use strict'
const ref = require('ssb-ref')
const ssbKeys = require('ssb-keys')

// A small deterministic PRNG (mulberry32) so the file is reproducible.
let state = 0x5eed1e55
function rand () {
  state |= 0; state = (state + 0x6D2B79F5) | 0
  let t = Math.imul(state ^ (state >>> 15), 1 | state)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
function bytes (n) {
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256)
  return b
}

// ssb-invite 2.1.8 create(): [host, port, key].join(':') + '~' + seed.toString('base64')
function legacyCode (host, port, key, seed) {
  return [host, port, key].join(':') + '~' + seed.toString('base64')
}
// ssb-invite 2.1.8 accept(): the legacy code converted to a multiserver invite.
function toMultiserver (code) {
  const parts = code.split('~')
  const opts = ref.parseAddress(parts[0])
  let protocol = 'net:'
  if (opts.host.endsWith('.onion')) protocol = 'onion:'
  return protocol + opts.host + ':' + opts.port + '~shs:' + opts.key.slice(1, -8) + ':' + parts[1]
}
// What accept would do with `code`: null when it refuses it, else the pub address and guest id.
function judge (code) {
  let invite = code
  if (invite.charAt(0) === '"' && invite.charAt(invite.length - 1) === '"') invite = invite.slice(1, -1)
  if (ref.isInvite(invite) && ref.isLegacyInvite(invite)) invite = toMultiserver(invite.replace(/#.*$/, ''))
  const parsed = ref.parseInvite(invite)
  if (!parsed || !parsed.remote) return null
  const addr = ref.parseAddress(parsed.remote)
  // multiserver's shs plugin: the third field is the seed, which must be 32 bytes.
  const shs = invite.split('#')[0].split('~')[1].split(':')
  if (shs.length < 3) return null
  const seed = Buffer.from(shs[2], 'base64')
  if (seed.length !== 32) return null
  if (!/^net:/.test(parsed.remote)) return null
  return { pub: { host: addr.host, port: addr.port, key: addr.key }, guest: ssbKeys.generate('ed25519', seed).id }
}

const hosts = ['203.0.113.7', '127.0.0.1', 'pub.example.org', 'localhost', 'a-b.c-d.example', '10.1.2.3',
  '::1', '2001:db8::7', 'fe80::1']
const valid = []
for (let i = 0; i < 24; i++) {
  const host = hosts[i % hosts.length]
  const port = i % 5 === 0 ? 8008 : 1 + Math.floor(rand() * 65535)
  const pub = ssbKeys.generate('ed25519', bytes(32))
  const seed = bytes(32)
  const legacy = legacyCode(host, port, pub.id, seed)
  const multiserver = toMultiserver(legacy)
  for (const code of [legacy, multiserver, '"' + legacy + '"', multiserver + '#/redirect']) {
    const j = judge(code)
    if (!j) throw new Error('ssb-invite would refuse its own code ' + code)
    valid.push({ code, legacy, multiserver, pub: j.pub, guest_id: j.guest })
  }
}

const pub = ssbKeys.generate('ed25519', bytes(32))
const seed = bytes(32).toString('base64')
const k = pub.id
const kb = k.slice(1, -8)
const invalidCodes = [
  '',
  '~',
  'net:1.2.3.4:8008~shs:' + kb, // an address, no seed
  '1.2.3.4:8008:' + k, // legacy without seed
  '1.2.3.4:8008:' + k + '~' + seed.slice(0, 40), // short seed
  '1.2.3.4:8008:' + k + '~' + seed + 'AAAA', // long seed
  '1.2.3.4:8008:' + k.slice(0, 20) + '~' + seed, // bad key
  '1.2.3.4:8008:@' + kb + '.sha256~' + seed, // not an ed25519 key
  '1.2.3.4:99999:' + k + '~' + seed, // port out of range
  '1.2.3.4:80x8:' + k + '~' + seed, // port not a number
  'not a host:8008:' + k + '~' + seed,
  'net:1.2.3.4:8008~shs:' + kb.slice(0, 30) + ':' + seed, // bad key
  'net:1.2.3.4:8008~shs:' + kb + ':' + Buffer.alloc(16).toString('base64'), // 16-byte seed
  'net:1.2.3.4~shs:' + kb + ':' + seed, // no port
  'net:1.2.3.4:99999~shs:' + kb + ':' + seed,
  'tcp:1.2.3.4:8008~shs:' + kb + ':' + seed, // unknown transport
  'net:1.2.3.4:8008~noauth:' + kb + ':' + seed,
  '1.2.3.4:8008:' + k + '~' + seed + '~' + seed,
  '@' + kb + '.ed25519'
]
// Accepted although unusual: the seed without its '=' (Buffer.from reads it).
for (const code of ['net:127.0.0.1:8008~shs:' + kb + ':' + seed.replace(/=$/, '')]) {
  const j = judge(code)
  if (!j) throw new Error('expected ssb-invite to accept ' + code)
  valid.push({ code, pub: j.pub, guest_id: j.guest })
}
const invalid = []
for (const code of invalidCodes) {
  let j = null
  try { j = judge(code) } catch (e) { j = null }
  if (j) throw new Error('expected ssb-invite to refuse ' + code)
  invalid.push({ code })
}

process.stdout.write(JSON.stringify({
  source: 'tests/interop/js/gen_invites.js with ssb-ref 2.16.0 and ssb-keys 8.5.0 (ssb-invite 2.1.8 create/accept)',
  valid,
  invalid
}, null, 2) + '\n')
