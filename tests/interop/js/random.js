// Deterministic random JavaScript values that stress JSON.stringify compatibility:
// astral characters, lone and reversed surrogates, controls, JS number edge cases and
// integer-like object keys. Shared by gen.js; the C++ generator mirrors its ideas.
'use strict'

// mulberry32: a small seedable PRNG, so a failing seed can be replayed.
function rng (seed) {
  let a = seed >>> 0
  return function () {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const SPECIAL_UNITS = [0xd800, 0xdbff, 0xdc00, 0xdfff, 0x0000, 0x0001, 0x001f, 0x007f, 0x0085,
  0x00a0, 0x00df, 0x00ff, 0x2028, 0x2029, 0xfeff, 0xfffd, 0xffff, 0x0022, 0x005c, 0x002f]
const NUMBERS = [0, -0, 1, -1, 0.1, 0.5, 1e21, 1e20, 1e-6, 1e-7, 5e-324, 1.7976931348623157e308,
  9007199254740993, 2 ** 53, 2 ** 31, -(2 ** 31), 123456789.123, 1 / 3, 2 / 3, 1e300, 4.35,
  0.000001234, 1234567890123456789012]
const KEYS = ['0', '1', '7', '10', '01', '4294967294', '4294967295', '-1', '1.5', 'type', 'text',
  '__proto__', '', 'a', 'b', 'z', 'ünï', '😀', 'constructor']

function makeGen (seed) {
  const r = rng(seed)
  const int = (n) => Math.floor(r() * n)
  const pick = (xs) => xs[int(xs.length)]

  function string (maxLen) {
    const len = int(maxLen + 1)
    const units = []
    for (let i = 0; i < len; i++) {
      const k = int(10)
      if (k < 4) units.push(0x20 + int(0x5f)) // printable ASCII
      else if (k < 5) units.push(int(0x20)) // controls
      else if (k < 6) units.push(pick(SPECIAL_UNITS)) // escapes, lone surrogates, separators
      else if (k < 8) units.push(0x80 + int(0xd800 - 0x80)) // BMP
      else { // a surrogate pair (astral), sometimes reversed
        const cp = 0x10000 + int(0x100000)
        const hi = 0xd800 + ((cp - 0x10000) >> 10)
        const lo = 0xdc00 + ((cp - 0x10000) & 0x3ff)
        if (r() < 0.1) units.push(lo, hi); else units.push(hi, lo)
      }
    }
    return String.fromCharCode(...units)
  }

  function number () {
    const k = int(4)
    if (k === 0) return pick(NUMBERS) * (r() < 0.5 ? -1 : 1)
    if (k === 1) return int(2 ** 31)
    if (k === 2) return (r() - 0.5) * 10 ** (int(40) - 20)
    return r()
  }

  function value (depth) {
    const k = int(depth > 3 ? 4 : 7)
    if (k === 0) return string(12)
    if (k === 1) return number()
    if (k === 2) return pick([true, false, null])
    if (k === 3) return string(40)
    if (k === 4) {
      const a = []
      for (let i = int(4); i > 0; i--) a.push(value(depth + 1))
      return a
    }
    return object(depth + 1)
  }

  function object (depth) {
    const o = {}
    for (let i = int(5); i > 0; i--) {
      const key = r() < 0.5 ? pick(KEYS) : string(6)
      o[key] = value(depth)
    }
    return o
  }

  function content () {
    const c = object(1)
    // ssb-validate wants a type of 3..52 UTF-16 units; sometimes at the edges.
    const typeLen = pick([3, 4, 8, 20, 52])
    let type = string(typeLen)
    while (type.length < typeLen) type += 'x'
    c.type = type.slice(0, typeLen)
    if (c.type.length < 3) c.type = 'post'
    return c
  }

  return { r, int, pick, string, number, value, object, content }
}

module.exports = { rng, makeGen }
