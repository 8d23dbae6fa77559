// Pub invites both ways with the real ssb-server 16.0.1 and its ssb-invite 2.1.8, on 127.0.0.1.
// Usage: node -r ./ip_preload.js invite_interop.js SBOT_BINARY
//
// Shows, each as one PASS/FAIL line:
//   1. a JS pub's invite, accepted by `sbot invite.accept` through our running server: the pub
//      follows us and holds our feed (our server dials it from the peer database);
//   2. the same with no server running: accept, then start the server, which dials the pub;
//   3. a used invite is refused with a clear error, and a malformed code exits 4;
//   4. our server as the pub: `sbot invite.create`, a JS peer accepts the code, we follow back
//      and replicate it, it replicates us; a second use of the one-use code is refused.
'use strict'
const crypto = require('crypto')
const H = require('./peers')
const { p, log, result } = H

async function pubFollows (pub, id) {
  const msgs = await H.jsHistory(pub.server, pub.id)
  return msgs.some((m) => m.content.type === 'contact' && m.content.contact === id &&
    m.content.following === true && m.content.pub === true)
}

async function main () {
  H.setSbot(process.argv[2])
  const shs = crypto.randomBytes(32).toString('base64')

  // ---- 1 and 2: a JS pub invites us
  const pub = H.startJsPub('jspub', shs, await H.freePort())
  await H.publishPosts(pub.server, 3, 'from the pub')

  const ours = await H.startOurs('accepts', shs)
  for (let i = 0; i < 4; i++) await H.sbot(ours.dir, 'publish', '--type', 'post', '--text', `ours ${i}`)
  const code1 = await p((cb) => pub.server.invite.create({ uses: 1, note: 'welcome' }, cb))
  log('JS pub invite: ' + code1)
  let accepted = null
  try { accepted = JSON.parse(await H.sbot(ours.dir, 'invite.accept', code1)) } catch (e) { log('  ' + e.message) }
  const follows1 = await H.waitFor('the pub to follow us', () => pubFollows(pub, ours.id))
  // Our feed: 4 posts, our follow of the pub and the pub message.
  const held1 = await H.waitFor('our feed on the pub', async () => {
    const n = (await H.jsHistory(pub.server, ours.id)).length
    return n === 6 || `${n}/6`
  })
  const pubFeed = await H.waitFor('the pub\'s feed on ours', async () => {
    const n = await H.countOurs(ours.dir, pub.id)
    return n >= 4 || `${n}/4`
  })
  const kinds = accepted ? accepted.map((m) => m.value.content.type).join(',') : 'none'
  result('sbot invite.accept (server running): the JS pub follows us and holds our feed',
    accepted && follows1 && held1 && pubFeed, `published ${kinds}`)

  const offline = H.ourDir('offline', shs)
  for (let i = 0; i < 2; i++) await H.sbot(offline, 'publish', '--type', 'post', '--text', `offline ${i}`)
  const code2 = await p((cb) => pub.server.invite.create(1, cb))
  let ok2 = false
  try {
    await H.sbot(offline, 'invite.accept', code2)
    ok2 = true
  } catch (e) { log('  ' + e.message) }
  const offlineId = (await H.sbotJson(offline, 'whoami')).id
  const follows2 = await H.waitFor('the pub to follow the offline one', () => pubFollows(pub, offlineId))
  const later = await H.startOurs('offline', shs)
  const held2 = await H.waitFor('its feed on the pub', async () => {
    const n = (await H.jsHistory(pub.server, offlineId)).length
    return n === 4 || `${n}/4`
  })
  result('sbot invite.accept without a server, then `sbot server` dials the pub from peers.json',
    ok2 && follows2 && held2)
  await H.stopOurs(later)

  // ---- 3: refusals
  let usedErr = ''
  try { await H.sbot(ours.dir, 'invite.accept', code1) } catch (e) { usedErr = e.stderr || e.message }
  let badErr = ''
  let badCode = -1
  try { await H.sbot(ours.dir, 'invite.accept', '1.2.3.4:8008:@nope.ed25519~short') } catch (e) { badErr = e.stderr; badCode = e.code }
  result('a used invite and a malformed code are refused with clear errors',
    /invite not accepted/.test(usedErr) && badCode === 4 && /invite code/.test(badErr),
    `used: ${usedErr.trim().split('\n')[0]} | malformed (exit ${badCode}): ${badErr.trim()}`)
  await H.stopOurs(ours)

  // ---- 4: our server is the pub
  const ourPub = await H.startOurs('ourpub', shs)
  for (let i = 0; i < 3; i++) await H.sbot(ourPub.dir, 'publish', '--type', 'post', '--text', `pub post ${i}`)
  let code3 = ''
  try { code3 = JSON.parse(await H.sbot(ourPub.dir, 'invite.create', '--uses', '1', '--note', 'hello')) } catch (e) { log('  ' + e.message) }
  log('our invite: ' + code3)
  const js = H.startJsPub('jsguest', shs, await H.freePort())
  await H.publishPosts(js.server, 5, 'from the JS guest')
  let acceptErr = null
  try { await p((cb) => js.server.invite.accept(code3, cb)) } catch (e) { acceptErr = e.message }
  // Our follow-back: the contact message invite.use published.
  const followBack = await H.waitFor('our follow of the guest', async () => {
    const out = (await H.sbot(ourPub.dir, 'hist', ourPub.id, '--keys', 'false')).trim().split('\n')
    return out.map((l) => JSON.parse(l).content).some((c) => c.type === 'contact' && c.contact === js.id &&
      c.following === true && c.pub === true && c.note === 'hello')
  })
  // Its feed: 5 posts, its follow of us and its pub message.
  const gotJs = await H.waitFor('the guest\'s feed on ours', async () => {
    const n = await H.countOurs(ourPub.dir, js.id)
    return n === 7 || `${n}/7`
  })
  const gotOurs = await H.waitFor('our feed on the guest', async () => {
    const n = (await H.jsHistory(js.server, ourPub.id)).length
    return n === 4 || `${n}/4`
  })
  result('a JS peer accepts our invite: we follow back and replicate both ways',
    !acceptErr && followBack && gotJs && gotOurs, acceptErr || '')

  const js2 = H.startJsPub('jsguest2', shs, await H.freePort())
  let second = null
  try { await p((cb) => js2.server.invite.accept(code3, cb)) } catch (e) { second = e.message }
  result('a second use of our one-use code is refused', second && /invite not accepted/.test(second),
    (second || 'accepted').split('\n')[0])

  await H.finish()
}

main().catch((e) => { console.error(e); process.exit(1) })
