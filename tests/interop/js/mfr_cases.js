// map-filter-reduce test material shared by gen_mfr_vectors.js (fixed cases, written to
// tests/vectors/generated/mfr_queries.json) and mfr_differential.js (random queries each run):
// the corpus, the hand-written queries, a random query generator, and the reference evaluator
// (map-filter-reduce 3.2.2 as flumeview-query 8 / ssb-query 2.4 load it).
'use strict'
const fs = require('fs')
const path = require('path')
const pull = require('pull-stream')
const mfr = require('flumeview-query/node_modules/map-filter-reduce')

// The corpus: tests/vectors/generated/feeds.jsonl as ssb-query's index hands items to
// map-filter-reduce ({key, value, timestamp, rts}).
function corpus () {
  const file = path.join(__dirname, '..', '..', 'vectors', 'generated', 'feeds.jsonl')
  return fs.readFileSync(file, 'utf8').trim().split('\n').map((line) => {
    const kvt = JSON.parse(line)
    kvt.rts = Math.min(kvt.timestamp, kvt.value.timestamp) || kvt.timestamp
    return kvt
  })
}

// Runs `query` over `items` with the real map-filter-reduce; {output} or {error} (it throws
// while building the pipeline or while running it).
function reference (query, items) {
  let out
  let error
  const log = console.log
  console.log = () => {}  // compare-at-paths ($sort) logs every comparison
  try {
    pull(pull.values(items), mfr(query), pull.collect((err, ary) => {
      if (err) error = err.message
      else out = ary
    }))
  } catch (e) {
    error = e.message
  } finally {
    console.log = log
  }
  if (error !== undefined) return { error }
  // An undefined item cannot cross muxrpc; drop it as JSON would fail on it.
  return { output: JSON.parse(JSON.stringify(out.filter((x) => x !== undefined))) }
}

const alice = '@2VB5k5WarS/kiuwK8wQCC9WPbxnszNrWX4HHS6GgmPA=.ed25519'
const bob = '@chWVOIxVoHBR3x8Uod8J9r2VAC4xKiJcZ3owGRPsP2E=.ed25519'

// Hand-written cases: every operator, the JavaScript coercions that decide results, and rules
// map-filter-reduce cannot process.
const cases = [
  [{ $filter: { value: { content: { type: 'post' } } } }],
  [{ $filter: { value: { author: alice } } }, { $map: ['value', 'sequence'] }],
  [{ $filter: { value: { author: bob, sequence: { $gt: 10, $lte: 20 } } } }, { $map: { s: ['value', 'sequence'] } }],
  [{ $filter: { value: { sequence: { $gte: 78, $lt: 81 } } } }, { $map: 'key' }],
  [{ $filter: { value: { content: { type: { $prefix: 'po' } } } } }, { $map: ['value', 'content', 'type'] }],
  [{ $filter: { value: { content: { type: { $in: ['vote', 'contact'] } } } } }, { $reduce: { $count: true } }],
  [{ $filter: { value: { content: { $is: 'string' } } } }, { $map: ['value', 'author'] }],
  [{ $filter: { value: { content: { text: { $is: 'undefined' } } } } }, { $reduce: { $count: true } }],
  [{ $filter: { value: { content: { type: 'vote', vote: { value: 1 } } } } }, { $map: ['value', 'content', 'vote', 'link'] }],
  [{ $map: { author: ['value', 'author'], type: ['value', 'content', 'type'] } }, { $reduce: { author: 'author', type: 'type', n: { $count: true } } }],
  [{ $reduce: { author: ['value', 'author'], first: { $min: ['value', 'timestamp'] }, last: { $max: ['value', 'timestamp'] } } }],
  [{ $reduce: { $sum: ['value', 'sequence'] } }],
  [{ $reduce: { $product: ['value', 'content', 'vote', 'value'] } }],
  [{ $reduce: { $max: ['value', 'sequence'] } }],
  [{ $reduce: { $min: ['value', 'sequence'] } }],
  [{ $filter: { value: { author: carolOrNone() } } }, { $reduce: { $collect: ['value', 'sequence'] } }],
  [{ $filter: { value: { content: { type: 'channel' } } } }, { $reduce: { channel: ['value', 'content', 'channel'], who: { $collect: ['value', 'author'] } } }],
  [{ $map: { type: ['value', 'content', 'type'] } }, { $reduce: { type: 'type', count: { $count: true } } }, { $filter: { count: { $gt: 10 } } }],
  [{ $filter: { value: { content: { type: 'post' } } } }, { $map: { text: ['value', 'content', 'text'], len: ['value', 'content', 'text', 'length'] } }],
  [{ $filter: { value: { content: { text: { $prefix: 'hello' } } } } }, { $map: ['value', 'content', 'text'] }],
  [{ $map: ['value', 'content', 'mentions', 0, 'link'] }],
  [{ $map: ['value', 'content', 'mentions', -1] }],
  [{ $map: ['value', 'content', 'text', 0] }],
  [{ $map: ['value', 'content', 'type', 'length'] }],
  [{ $map: { $type: true } }],
  [{ $map: [{ $get: ['value', 'content'] }, { $type: true }] }],
  [{ $map: [['value', 'sequence'], { $mod: 7 }] }],
  [{ $map: [['value', 'sequence'], { $int: true }] }],
  [{ $filter: { value: { sequence: { $mod: 5 } } } }, { $map: ['value', 'sequence'] }],
  [{ $filter: { value: { content: { type: { $ne: 'post' } } } } }, { $map: ['value', 'content', 'type'] }],
  [{ $filter: { value: { content: { type: { $eq: 'about' } } } } }, { $map: ['value', 'content', 'name'] }],
  [{ $filter: { value: { content: { private: { $truthy: true } } } } }, { $map: 'key' }],
  [{ $filter: { value: { previous: { $not: true } } } }, { $map: ['value', 'author'] }],
  [{ $filter: { value: { previous: null } } }, { $map: ['value', 'sequence'] }],
  [{ $filter: { value: { content: { following: true } } } }, { $map: ['value', 'content', 'contact'] }],
  [{ $filter: { value: { content: { following: false } } } }, { $map: 'key' }],
  [{ $filter: { value: { sequence: 3 } } }, { $map: ['value', 'author'] }],
  [{ $filter: { value: { sequence: '3' } } }],
  [{ $filter: { value: { sequence: { $gt: '100' } } } }, { $map: ['value', 'sequence'] }],
  [{ $filter: { value: { sequence: { $lt: '1e1' } } } }, { $map: ['value', 'sequence'] }],
  [{ $filter: { value: { content: { type: { $gt: 'p' } } } } }, { $map: ['value', 'content', 'type'] }],
  [{ $filter: { value: { content: { type: { $lt: 1 } } } } }],
  [{ $filter: { value: { content: { mentions: { $gt: '' } } } } }, { $map: 'key' }],
  [{ $filter: { value: { content: { mentions: { $prefix: [] } } } } }, { $map: 'key' }],
  [{ $filter: { value: { content: { type: { $in: 'contactvote' } } } } }, { $map: ['value', 'content', 'type'] }],
  [{ $filter: { value: { content: { type: { $in: 5 } } } } }],
  [{ $filter: { value: { content: { type: { $prefix: 5 } } } } }],
  [{ $filter: { value: { content: { text: { $prefix: null } } } } }],
  [{ $filter: { value: { content: {} } } }, { $reduce: { $count: true } }],
  [{ $filter: [] }, { $reduce: { $count: true } }],
  [{ $filter: { value: [] } }, { $reduce: { $count: true } }],
  [{ $filter: true }],
  [{ $filter: 'x' }],
  [{ $map: true }, { $map: 'rts' }, { $reduce: { $min: true } }],
  [{ $map: { k: 'key', v: true } }, { $map: 'v' }, { $reduce: { $count: true } }],
  [{ $map: { x: true } }],
  [{ $map: {} }],
  [{ $map: null }],
  [{ $map: 1.5 }],
  [{ $map: ['value', 1.5] }],
  [{ $map: 0 }],
  [{ $nosuch: 1 }],
  [{}],
  [null, { $map: 'key' }, false, { $reduce: { $count: true } }],
  [{ $filter: { value: { sequence: { $gt: 118 } } }, $map: 'key' }],
  [{ $map: { seq: ['value', 'sequence'] } }, { $filter: { seq: { $gt: 118 } } }],
  [{ $filter: { value: { content: { $filter: { type: 'post' } } } } }, { $reduce: { $count: true } }],
  [{ $filter: { value: { sequence: { $count: true } } } }, { $reduce: { $count: true } }],
  [{ $reduce: { count: { $count: true } } }],
  [{ $reduce: { a: { b: ['value', 'author'] }, n: { $count: true } } }],
  [{ $reduce: { t: ['value', 'content', 'type'], texts: { $collect: ['value', 'content', 'text'] } } }, { $map: { t: 't', n: ['texts', 'length'] } }],
  [{ $reduce: 'key' }],
  [{ $reduce: { r: ['value', 'content'], n: { $count: true } } }],
  [{ $filter: { value: { content: { type: 'post' } } } }, { $sort: [['value', 'content', 'text']] }, { $map: ['value', 'content', 'text'] }],
  [{ $map: ['value', 'sequence'] }, { $filter: { $gt: 45 } }],
  [{ $map: ['value', 'timestamp'] }, { $reduce: { $sum: true } }],
  [{ $filter: { timestamp: { $gte: 1600000031927, $lt: 1600000040000 } } }, { $map: 'key' }],
  [{ $filter: { rts: { $gt: 1600000050000 } } }, { $reduce: { $count: true } }],
  [{ $filter: { value: { content: { channel: { $is: 'string' } } } } }, { $map: ['value', 'content', 'channel'] }],
  [{ $filter: { value: { content: { type: 'about', name: { $in: ['alice', 'bob'] } } } } }, { $map: { who: ['value', 'content', 'name'] } }],
  [{ $filter: { value: { content: { recps: { $is: 'object' } } } } }, { $map: 'key' }],
  [{ $filter: { value: { content: { root: { $prefix: '%' } } } } }, { $map: ['value', 'content', 'root'] }],
  [{ $map: [['value', 'content', 'text'], { $prefix: 'h' }] }],
  [{ $map: [['value', 'content', 'text'], { $type: true, $prefix: 'h' }] }],
  [{ $map: [['value', 'sequence'], { $gt: 100, $type: true }] }],
  [{ $map: ['value', 'content', 'vote', { $get: 'value' }] }],
  [{ $map: ['value', { $get: 'sequence' }] }],
  [{ $map: [{ $get: 5 }] }],
  [{ $filter: { value: { sequence: { $in: [1, 2, '3'] } } } }, { $map: ['value', 'sequence'] }],
  [{ $map: ['key', { $get: 'link' }] }, { $map: { $type: true } }],
  [{ $map: { f: ['key', 'charAt'], n: ['value', 'sequence', 'toFixed'], m: ['value', 'content', 'mentions', 'map'] } }],
  [{ $filter: { value: { content: { text: { constructor: { $truthy: true } } } } } }, { $reduce: { $count: true } }],
  [{ $map: [['value', 'content', 'mentions'], { $collect: 'link' }] }]
]

function carolOrNone () { return '@Le7oOz3PbGdxK/URCOq8R1arejcXcVpPcAwXQ8XbsKk=.ed25519' }

// A random query from a small grammar over the corpus' fields (deterministic per seed).
function rng (seed) {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13; s >>>= 0
    s ^= s >>> 17
    s ^= s << 5; s >>>= 0
    return s / 4294967296
  }
}

function randomQuery (r) {
  const pick = (a) => a[Math.floor(r() * a.length)]
  const paths = [['value', 'sequence'], ['value', 'author'], ['value', 'content', 'type'], ['value', 'content', 'text'],
    ['value', 'timestamp'], ['timestamp'], ['rts'], ['key'], ['value', 'content', 'channel'], ['value', 'content', 'vote', 'value'],
    ['value', 'content', 'mentions'], ['value', 'content'], ['value', 'previous'], ['value', 'content', 'following']]
  const scalars = [0, 1, 3, 50, 100, -1, 2.5, '', 'a', 'p', 'post', 'vote', 'hello', '%', '@', '10', null, true, false,
    alice, bob, 1600000040000, [], ['a'], {}]
  const nest = (p, leaf) => {
    let o = leaf
    for (let i = p.length - 1; i >= 0; i--) o = { [p[i]]: o }
    return o
  }
  const scalar = () => JSON.parse(JSON.stringify(pick(scalars)))
  const operand = () => {
    const k = r()
    if (k < 0.25) return scalar()
    if (k < 0.35) return { $prefix: pick(['p', 'po', 'h', '%', '@', '', ['a'], null, 3]) }
    if (k < 0.6) { const o = {}; o[pick(['$gt', '$gte', '$lt', '$lte'])] = scalar(); if (r() < 0.5) o[pick(['$gt', '$gte', '$lt', '$lte'])] = scalar(); return o }
    if (k < 0.67) return { $in: [scalar(), scalar(), scalar()] }
    if (k < 0.7) return { $in: pick(['votepost', 3, null]) }
    if (k < 0.8) return { $is: pick(['string', 'number', 'object', 'undefined', 'boolean']) }
    if (k < 0.85) return { $ne: scalar() }
    if (k < 0.9) return { $eq: scalar() }
    if (k < 0.95) return { $truthy: true }
    return { $not: true }
  }
  const filter = () => {
    let f = {}
    const n = 1 + Math.floor(r() * 2)
    for (let i = 0; i < n; i++) {
      const p = pick(paths)
      const part = nest(p, operand())
      f = merge(f, part)
    }
    return { $filter: f }
  }
  const map = () => {
    const k = r()
    if (k < 0.4) return { $map: pick(paths) }
    if (k < 0.8) return { $map: { a: pick(paths), b: pick(paths) } }
    return { $map: [pick(paths), pick([{ $type: true }, { $gt: scalar() }, { $prefix: 'p' }, 'length', { $mod: 3 }, 0, -1, { $get: 'link' }])] }
  }
  const reduce = () => {
    const k = r()
    const agg = pick(['$count', '$sum', '$max', '$min', '$collect', '$product'])
    if (k < 0.5) return { $reduce: { [agg]: agg === '$count' ? true : pick(paths) } }
    return { $reduce: { g: pick([['value', 'author'], ['value', 'content', 'type'], ['value', 'content', 'channel']]), v: { [agg]: agg === '$count' ? true : pick(paths) } } }
  }
  const q = [filter()]
  if (r() < 0.5) q.push(filter())
  if (r() < 0.6) q.push(map())
  else if (r() < 0.3) q.push(reduce())
  return q
}

function merge (a, b) {
  for (const k of Object.keys(b)) {
    if (a[k] && typeof a[k] === 'object' && !Array.isArray(a[k]) && typeof b[k] === 'object' && b[k] && !Array.isArray(b[k]) &&
        !Object.keys(b[k]).some((x) => x[0] === '$') && !Object.keys(a[k]).some((x) => x[0] === '$')) a[k] = merge(a[k], b[k])
    else a[k] = b[k]
  }
  return a
}

module.exports = { corpus, reference, cases, randomQuery, rng }
