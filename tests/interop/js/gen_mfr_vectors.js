// Writes tests/vectors/generated/mfr_queries.json: the hand-written queries of mfr_cases.js and
// what the real map-filter-reduce 3.2.2 (as ssb-query 2.4 loads it) returns for each over the
// feeds.jsonl corpus. Run from tests/interop after scripts/npm-setup:
//   node js/gen_mfr_vectors.js
'use strict'
const fs = require('fs')
const path = require('path')
const { corpus, reference, cases } = require('./mfr_cases')

const items = corpus()
const out = cases.map((query) => Object.assign({ query }, reference(query, items)))
const file = path.join(__dirname, '..', '..', 'vectors', 'generated', 'mfr_queries.json')
fs.writeFileSync(file, JSON.stringify({
  about: 'map-filter-reduce 3.2.2 (flumeview-query 8, ssb-query 2.4) over feeds.jsonl items with rts = Math.min(timestamp, value.timestamp) || timestamp; output, or error when it throws',
  cases: out
}, null, 1) + '\n')
console.log(`${out.length} cases, ${out.filter((c) => c.error).length} errors`)
