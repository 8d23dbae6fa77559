// Differential test of our map-filter-reduce against the real one (3.2.2, as ssb-query 2.4
// loads it): random queries from mfr_cases.js's grammar, a fresh seed each run (printed; set
// SSB_MFR_SEED to repeat one), over the feeds.jsonl corpus. Every query must give the same
// output, or both must fail. Usage: node mfr_differential.js MFR_TOOL [COUNT]
'use strict'
const { execFileSync } = require('child_process')
const fs = require('fs')
const { corpus, reference, randomQuery, rng } = require('./mfr_cases')

const tool = process.argv[2]
const count = Number(process.argv[3] || 2000)
const seed = Number(process.env.SSB_MFR_SEED || Math.floor(Math.random() * 2 ** 31))
const r = rng(seed)
const items = corpus()
const queries = []
for (let i = 0; i < count; i++) queries.push(randomQuery(r))
const want = queries.map((q) => reference(q, items))
const got = execFileSync(tool, { input: JSON.stringify({ items, queries }), maxBuffer: 1 << 30 })
  .toString().trim().split('\n').map((l) => JSON.parse(l))
let same = 0
let errors = 0
const diffs = []
for (let i = 0; i < count; i++) {
  const w = want[i]
  const g = got[i]
  const ok = w.error !== undefined ? g.error !== undefined : JSON.stringify(w.output) === JSON.stringify(g.output)
  if (w.error !== undefined) errors++
  if (ok) same++
  else diffs.push(i)
}
for (const i of diffs.slice(0, 10)) {
  console.log('DIFFERENT: ' + JSON.stringify(queries[i]))
  console.log('  real:  ' + JSON.stringify(want[i]).slice(0, 400))
  console.log('  ours:  ' + JSON.stringify(got[i]).slice(0, 400))
}
const summary = `map-filter-reduce differential (seed ${seed}): ${same}/${count} random queries agree (${errors} fail in both)`
console.log(summary)
if (process.env.SSB_REPORT_FILE) fs.appendFileSync(process.env.SSB_REPORT_FILE, summary + '\n')
process.exit(same === count ? 0 : 1)
