// Rooms and tunnels with the real ssb-room 1.3.0 (room server) and ssb-room-client 2.0.2 on
// ssb-conn 6.0.4 (peers), all on 127.0.0.1. Usage: node -r ./ip_preload.js rooms_interop.js SBOT
//
// Shows, each as one PASS/FAIL line:
//   1. our server joins an ssb-room 1.3.0 room (`sbot room.join`), finds a JS room-client peer
//      among the attendants, dials it through the room, and they replicate both ways;
//   2. a JS room-client peer dials our server through that room (we accept the tunnel);
//   3. two JS room-client peers reach each other through our room (`sbot server --room`);
//   4. two of our servers reach each other through the JS room, and through our room.
// Peers follow each other; each side must hold the other's whole feed.
'use strict'
const crypto = require('crypto')
const H = require('./peers')
const { p, log, result } = H

const tunnelAddress = (room, target) => `tunnel:${room}:${target}~shs:${target.slice(1, -8)}`

async function follow (who, id) {
  if (who.server) await p((cb) => who.server.publish({ type: 'contact', contact: id, following: true }, cb))
  else await H.sbot(who.dir, 'friends.follow', id)
}

async function feedLength (holder, id) {
  if (holder.server) return (await H.jsHistory(holder.server, id)).length
  return H.countOurs(holder.dir, id)
}

// a and b hold each other's feeds (aLen, bLen messages).
async function replicated (what, a, aLen, b, bLen) {
  return H.waitFor(what, async () => {
    const x = await feedLength(b, a.id)
    const y = await feedLength(a, b.id)
    return (x === aLen && y === bLen) || `${x}/${aLen}, ${y}/${bLen}`
  })
}

async function viaTunnel (ours, room, other) {
  const status = await H.sbotJson(ours.dir, 'status')
  const c = (status.connections || []).find((x) => x.id === other)
  return c ? c.address.startsWith(`tunnel:${room}:`) : false
}

async function main () {
  H.setSbot(process.argv[2])
  const shs = crypto.randomBytes(32).toString('base64')

  // ---- 1, 2: the JS room
  const jsRoom = H.startJsRoom('jsroom', shs, await H.freePort())
  const j1 = H.startJsRoomClient('j1', shs, await H.freePort())
  const j2 = H.startJsRoomClient('j2', shs, await H.freePort())
  const o1 = await H.startOurs('o1', shs)
  for (let i = 0; i < 4; i++) await H.sbot(o1.dir, 'publish', '--type', 'post', '--text', `o1 ${i}`)
  await H.publishPosts(j1.server, 3, 'j1')
  await H.publishPosts(j2.server, 2, 'j2')
  await follow(o1, j1.id)
  await follow(j1, o1.id)
  await follow(j2, o1.id)
  await p((cb) => j1.server.conn.connect(jsRoom.address, cb))
  await p((cb) => j2.server.conn.connect(jsRoom.address, cb))
  let joined = null
  try { joined = JSON.parse(await H.sbot(o1.dir, 'room.join', jsRoom.address)) } catch (e) { log('  ' + e.message) }
  log('room.join: ' + JSON.stringify(joined))
  // o1's feed: 4 posts + its follow of j1; j1: 3 posts + its follow of o1.
  const r1 = await replicated('o1 <-> j1 through the JS room', o1, 5, j1, 4)
  const t1 = r1 && await viaTunnel(o1, jsRoom.id, j1.id)
  result('our server reaches an ssb-room-client peer through an ssb-room 1.3.0 room, both ways', r1 && t1,
    `through a tunnel: ${t1}`)

  // j2 dials us: the room relays its tunnel.connect to us.
  let dialErr = null
  await H.waitFor('the room to list o1', async () => {
    const obs = j2.server.tunnel.getRoomsMap().get(jsRoom.id)
    return !!obs
  })
  // o1 does not follow j2 yet, so it does not dial j2: this connection is j2's.
  try { await p((cb) => j2.server.conn.connect(tunnelAddress(jsRoom.id, o1.id), cb)) } catch (e) { dialErr = e.message }
  const incoming = await H.waitFor('j2 on o1', async () => {
    const c = ((await H.sbotJson(o1.dir, 'status')).connections || []).find((x) => x.id === j2.id)
    return c ? c.outgoing === false : 'not connected'
  })
  await follow(o1, j2.id)
  const r2 = await replicated('o1 <-> j2 through the JS room', o1, 6, j2, 3)
  const t2 = r2 && incoming && await viaTunnel(o1, jsRoom.id, j2.id)
  result('an ssb-room-client peer dials our server through the ssb-room room, both ways', !dialErr && r2 && t2,
    dialErr || `through a tunnel: ${t2}`)

  // ---- 3: our room, two JS peers
  const ourRoom = await H.startOurs('ourroom', shs, { flags: ['--room'], config: { room: { name: 'test room' } } })
  const j3 = H.startJsRoomClient('j3', shs, await H.freePort())
  const j4 = H.startJsRoomClient('j4', shs, await H.freePort())
  await H.publishPosts(j3.server, 3, 'j3')
  await H.publishPosts(j4.server, 4, 'j4')
  await follow(j3, j4.id)
  await follow(j4, j3.id)
  await p((cb) => j3.server.conn.connect(ourRoom.address, cb))
  await p((cb) => j4.server.conn.connect(ourRoom.address, cb))
  const listed = await H.waitFor('j3 to see j4 in our room', async () => {
    const obs = j3.server.tunnel.getRoomsMap().get(ourRoom.id)
    return !!obs && (obs.attendants.has(j4.id) || `${[...obs.attendants].length} attendants`)
  })
  let err3 = null
  try { await p((cb) => j3.server.conn.connect(tunnelAddress(ourRoom.id, j4.id), cb)) } catch (e) { err3 = e.message }
  const r3 = await replicated('j3 <-> j4 through our room', j3, 4, j4, 5)
  result('two ssb-room-client peers reach each other through our room', listed && !err3 && r3, err3 || '')

  // ---- 4: two of ours, through either room
  for (const [room, label] of [[jsRoom, 'the ssb-room 1.3.0 room'], [ourRoom, 'our room']]) {
    const a = await H.startOurs(`pa-${label.length}`, shs)
    const b = await H.startOurs(`pb-${label.length}`, shs)
    for (let i = 0; i < 3; i++) await H.sbot(a.dir, 'publish', '--type', 'post', '--text', `a ${i}`)
    for (let i = 0; i < 2; i++) await H.sbot(b.dir, 'publish', '--type', 'post', '--text', `b ${i}`)
    await follow(a, b.id)
    await follow(b, a.id)
    let err = null
    for (const x of [a, b]) {
      try { await H.sbot(x.dir, 'room.join', room.address) } catch (e) { err = e.message }
    }
    const r = await replicated(`two of ours through ${label}`, a, 4, b, 3)
    const t = r && (await viaTunnel(a, room.id, b.id) || await viaTunnel(b, room.id, a.id))
    result(`two of our servers reach each other through ${label}`, !err && r && t, err || `through a tunnel: ${t}`)
    await H.stopOurs(a)
    await H.stopOurs(b)
  }

  await H.finish()
}

main().catch((e) => { console.error(e); process.exit(1) })
