// Writes tests/vectors/generated/mfr_queries.json: the hand-written queries of mfr_cases.js and
// what the real map-filter-reduce 3.2.2 (as ssb-query 2.4 loads it) returns for each over the
// feeds.jsonl corpus. Run from tests/interop after scripts/npm-setup:
//   node js/gen_mfr_vectors.js
'use strict'
const fs = require('fs')
const path = require('path')
const { corpus, reference, cases } = require('./mfr_cases')

const Explain = require('flumeview-query/explain')

// ssb-query 2.4's indexes (its index.js), as flumeview-query sees them (exact by default).
const indexes = [
  { key: 'log', value: ['timestamp'] },
  { key: 'clk', value: [['value', 'author'], ['value', 'sequence']] },
  { key: 'typ', value: [['value', 'content', 'type'], ['timestamp']] },
  { key: 'tya', value: [['value', 'content', 'type'], ['value', 'timestamp']] },
  { key: 'cha', value: [['value', 'content', 'channel'], ['timestamp']] },
  { key: 'aty', value: [['value', 'author'], ['value', 'content', 'type'], ['timestamp']] },
  { key: 'ata', value: [['value', 'author'], ['value', 'content', 'type'], ['value', 'timestamp']] },
  { key: 'art', value: [['value', 'content', 'root'], ['value', 'timestamp']] },
  { key: 'lor', value: [['rts']] }
].map((e) => Object.assign({ exact: true }, e))
const explain = Explain(indexes, () => {})
const optionSets = [{}, { live: true }, { old: false, reverse: true }, { sync: false, limit: 3 }]

const items = corpus()
const out = cases.map((query, i) => {
  const c = Object.assign({ query }, reference(query, items))
  // What query.explain answers (where flumeview-query's explain does not throw).
  if (Array.isArray(query) && query.length && query[0]) {
    const options = optionSets[i % optionSets.length]
    try {
      c.options = options
      c.explain = JSON.parse(JSON.stringify(explain(Object.assign({ query }, options))))
    } catch (e) { delete c.options }
  }
  return c
})
const file = path.join(__dirname, '..', '..', 'vectors', 'generated', 'mfr_queries.json')
fs.writeFileSync(file, JSON.stringify({
  about: 'map-filter-reduce 3.2.2 (flumeview-query 8, ssb-query 2.4) over feeds.jsonl items with rts = Math.min(timestamp, value.timestamp) || timestamp; output, or error when it throws',
  cases: out
}, null, 1) + '\n')
console.log(`${out.length} cases, ${out.filter((c) => c.error).length} errors`)
