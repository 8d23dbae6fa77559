// node gen.js SEED COUNT: COUNT signed messages from 3 interleaved feeds, made by the real
// ssb-validate 4.1.4 + ssb-keys 8.5.0, with random hostile content. One {"key","value"} per line.
'use strict'
const crypto = require('crypto')
const ssbKeys = require('ssb-keys')
const validate = require('ssb-validate')
const { makeGen } = require('./random')

const seed = Number(process.argv[2] || 1)
const count = Number(process.argv[3] || 100)
const g = makeGen(seed)

const authors = [0, 1, 2].map((i) =>
  ssbKeys.generate('ed25519', crypto.createHash('sha256').update(`diff:${seed}:${i}`).digest()))
let state = validate.initial()
let made = 0
let ts = 1600000000000
const out = []
while (made < count) {
  const keys = g.pick(authors)
  const content = g.content()
  ts += g.int(3) === 0 ? -g.int(1000) : g.int(100000) + g.r() // not monotonic, fractional
  try {
    state = validate.appendNew(state, null, keys, content, ts)
  } catch (err) {
    continue // e.g. over 8192: ssb-validate refuses to create it; try another
  }
  const kvt = state.queue[state.queue.length - 1]
  out.push(JSON.stringify({ key: kvt.key, value: kvt.value }))
  made++
}
process.stdout.write(out.join('\n') + '\n')
