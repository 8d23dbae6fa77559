// Writes tests/vectors/generated/friends.json: random follow/block/unfollow graphs and what
// ssb-friends 4.3.0's layered-graph 1 (over dynamic-dijkstra's simple rules) answers for hops
// from us, with a smaller and a larger max, in reverse, and from another feed. Run from
// tests/interop after scripts/npm-setup: node js/gen_friends_vectors.js
'use strict'
const fs = require('fs')
const path = require('path')
const LayeredGraph = require('layered-graph')
const ssbKeys = require('ssb-keys')

let s = 12345
const rand = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648 }
const cases = []
for (let n = 0; n < 40; n++) {
  const feeds = []
  const count = 4 + Math.floor(rand() * 10)
  for (let i = 0; i < count; i++) feeds.push(ssbKeys.generate('ed25519', Buffer.alloc(32, n * 16 + i + 1)).id)
  const self = feeds[0]
  // Contact messages in log order: [from, to, content]; the last about a pair wins.
  const messages = []
  const edges = Math.floor(rand() * count * 3)
  for (let e = 0; e < edges; e++) {
    const from = feeds[Math.floor(rand() * count)]
    const to = feeds[Math.floor(rand() * count)]
    const r = rand()
    const content = r < 0.6 ? { type: 'contact', contact: to, following: true }
      : r < 0.75 ? { type: 'contact', contact: to, blocking: true }
        : r < 0.85 ? { type: 'contact', contact: to, following: false }
          : r < 0.9 ? { type: 'contact', contact: to, flagged: true }
            : { type: 'contact', contact: to, following: 'yes' }
    messages.push([from, to, content])
  }
  const g = {}
  for (const [from, to, c] of messages) {
    const value = (c.blocking || c.flagged) ? -1 : (c.following === true) ? 1 : -2
    g[from] = g[from] || {}
    g[from][to] = value
  }
  const max = 1 + Math.floor(rand() * 3)
  const layered = LayeredGraph({ max, start: self })
  layered.createLayer('contacts')(g)
  const other = feeds[1]
  cases.push({
    self,
    max,
    messages,
    hops: layered.getHops(),
    hops_max1: layered.getHops({ max: 1 }),
    hops_max4: layered.getHops({ max: 4 }),
    hops_reverse: layered.getHops({ reverse: true }),
    hops_other: layered.getHops({ start: other }),
    other
  })
}
fs.writeFileSync(path.join(__dirname, '..', '..', 'vectors', 'generated', 'friends.json'), JSON.stringify({
  about: 'contact graphs and the hops ssb-friends 4.3.0 (layered-graph 1, dynamic-dijkstra simple) computes for them',
  cases
}) + '\n')
console.log(`${cases.length} graphs`)
