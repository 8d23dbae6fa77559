// node check.js < NDJSON: replay message values (or {key, value} objects) through the real
// ssb-validate 4.1.4, in input order, one result line per message:
// {"key": <ssb-validate's id>, "valid": true|false, "error": "..."}
'use strict'
const validate = require('ssb-validate')
const readline = require('readline')

let state = validate.initial()
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
const out = []
rl.on('line', (line) => {
  if (!line.trim()) return
  let value = JSON.parse(line)
  if (value && value.value && !value.author) value = value.value
  const key = validate.id(value)
  try {
    state = validate.append(state, null, value)
    out.push(JSON.stringify({ key, valid: true }))
  } catch (err) {
    out.push(JSON.stringify({ key, valid: false, error: err.message }))
  }
})
rl.on('close', () => process.stdout.write(out.join('\n') + (out.length ? '\n' : '')))
