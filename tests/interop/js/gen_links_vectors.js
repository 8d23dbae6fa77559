// Writes tests/vectors/generated/links.json: for messages of feeds.jsonl and hand-made
// contents, the links ssb-db 20's links index finds (ssb-msgs indexLinks over the readable
// content) and the ones ssb-links 3 (links2) finds, computed by those packages. Run from
// tests/interop after scripts/npm-setup: node js/gen_links_vectors.js
'use strict'
const fs = require('fs')
const path = require('path')
const mlib = require('ssb-msgs')
const extractLinks = require('ssb-links/links')

const dir = path.join(__dirname, '..', '..', 'vectors', 'generated')
const values = fs.readFileSync(path.join(dir, 'feeds.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).value)
const feed = '@2VB5k5WarS/kiuwK8wQCC9WPbxnszNrWX4HHS6GgmPA=.ed25519'
const msg = '%um/PBSzKU+sQXv0bqCy+0+jnDW7xGQpmWENkH1wwwEw=.sha256'
const blob = '&hX3hCrhv+u7P5V8BTsMRNnuZ6z7WKHuFiez2WkiMPWo=.sha256'
const base = values[0]
const made = [
  { type: 'post', text: 'x', mentions: [{ link: feed, name: 'ÅLICE Bob' }, { link: blob, name: 'pic.png', size: 10 }, { link: msg }, { link: blob, filename: 'f.txt', name: 'n' }] },
  { type: 'post', root: msg, branch: [msg, msg + '?unbox=abc'], fork: null, channel: 'x' },
  { type: 'vote', vote: { link: msg, value: -1, expression: 'Dislike' } },
  { type: 'vote', vote: msg },
  { type: 'flag', flag: { link: feed, reason: 'spam' } },
  { type: 'about', about: feed, name: 'alice', image: { link: blob, type: 'image/png', size: 3, width: 5 } },
  { type: 'about', about: feed, image: blob },
  { type: 'contact', contact: feed, following: true },
  { type: 'contact', contact: feed, blocking: true, following: false },
  { type: 'post', mentions: { 0: { link: feed }, 1: { link: msg }, 3: { link: blob } } },
  { type: 'post', mentions: [{ link: feed }, 'not a link', { link: 7 }, [msg], { link: { nested: true } }] },
  { type: 'post', thing: { link: msg, extra: { a: [1, { b: 2 }] } } },
  { type: 'pub', address: { host: 'h', port: 8008, key: feed } },
  { type: 'x', value: { content: { type: 'inner', link: feed } }, other: msg },
  { type: 'x', content: { type: 'inner', about: feed } }
]
const cases = []
const add = (value, content) => {
  const db = []
  if (typeof content !== 'string') mlib.indexLinks(content, (obj, rel) => db.push({ dest: obj.link, rel }))
  const l2 = []
  extractLinks({ key: '%x', value: Object.assign({}, value, { content }), timestamp: 1 }, (l) => l2.push({ dest: l.dest, rel: l.rel }))
  cases.push({ value, content, links: db, links2: JSON.parse(JSON.stringify(l2)) })
}
for (const v of values) add(v, v.content)
for (const c of made) add(Object.assign({}, base, { content: c }), c)
// A private message read with its plaintext: the readable content replaces the box.
const boxed = values.find((v) => typeof v.content === 'string')
add(boxed, { type: 'post', text: 'secret', mentions: [{ link: feed, name: 'Bob' }], recps: [feed] })
fs.writeFileSync(path.join(dir, 'links.json'), JSON.stringify({
  about: 'links ssb-db 20 (ssb-msgs 5 indexLinks of the readable content) and ssb-links 3 (links2, extractLinks) find in each message; content is the readable content (a private message\'s plaintext, or its box string when unreadable)',
  cases
}) + '\n')
console.log(`${cases.length} messages, ${cases.reduce((n, c) => n + c.links.length, 0)} links, ${cases.reduce((n, c) => n + c.links2.length, 0)} links2`)
