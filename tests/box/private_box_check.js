// private-box interop with the real npm private-box 0.3.1 and ssb-keys 8.5.0, both directions:
// JavaScript encrypts for our keys and ssb_box_tool decrypts; ssb_box_tool encrypts and
// ssb-keys.unbox decrypts. usage: node private_box_check.js SSB_BOX_TOOL [ROUNDS]
'use strict'
const path = require('path')
const { execFileSync } = require('child_process')
const crypto = require('crypto')
const modules = path.join(__dirname, '..', 'interop', 'node_modules')
const ssbKeys = require(path.join(modules, 'ssb-keys'))
const privateBox = require(path.join(modules, 'private-box'))
const sodium = require(path.join(modules, 'chloride'))

const tool = process.argv[2]
const rounds = Number(process.argv[3] || 40)
const curve = (k) => sodium.crypto_sign_ed25519_pk_to_curve25519(
  Buffer.from(k.public.replace('.ed25519', ''), 'base64'))
const run = (args, input) => {
  try { return execFileSync(tool, args, { input }).toString() } catch (e) { return null }
}

let pass = 0
for (let i = 0; i < rounds; i++) {
  const seeds = [1, 2, 3].map(() => crypto.randomBytes(32))
  const keys = seeds.map((s) => ssbKeys.generate('ed25519', s))
  const n = 1 + (i % 2)  // one or two recipients; the third key is an outsider
  const text = JSON.stringify({ type: 'post', text: `secret ${i} ü 😀 \u2028`, recps: keys.slice(0, n).map((k) => k.id) })
  const hex = seeds.map((s) => s.toString('hex'))
  // JS → C++
  const boxed = privateBox.multibox(Buffer.from(text), keys.slice(0, n).map(curve)).toString('base64') + '.box'
  const jsToCpp = keys.slice(0, n).every((_, j) => run(['decrypt', hex[j]], boxed) === text) &&
    run(['decrypt', hex[2]], boxed) === null
  // C++ → JS
  const ours = run(['encrypt', ...hex.slice(0, n)], text)
  const cppToJs = ours !== null &&
    keys.slice(0, n).every((k) => JSON.stringify(ssbKeys.unbox(ours, k)) === text) &&
    ssbKeys.unbox(ours, keys[2]) === undefined
  if (jsToCpp && cppToJs) pass++
  else console.log(`MISMATCH round ${i}: js->cpp ${jsToCpp} cpp->js ${cppToJs} boxed ${boxed} ours ${ours}`)
}
const summary = `interop private-box: js->cpp and cpp->js ${pass}/${rounds}`
console.log(summary)
if (process.env.SSB_REPORT_FILE) require('fs').appendFileSync(process.env.SSB_REPORT_FILE, summary + '\n')
process.exit(pass === rounds ? 0 : 1)
