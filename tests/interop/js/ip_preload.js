// Preloaded (node -r) by the interop tests that run ssb-gossip or ssb-conn, never by our code.
//
// ssb-server 16.0.1's ssb-gossip asks ip.isPrivate(peer.host) of every peer it schedules, and
// the ip 1.1.9 that npm resolves today throws "invalid ipv4 address" for a peer without a host
// (one added by multiserver address, as ssb-invite's accept adds the pub), which kills the JS
// server within seconds. Older ip versions answered false; so does this for non-strings.
'use strict'
const ip = require('ip')
const isPrivate = ip.isPrivate
ip.isPrivate = function (addr) {
  if (typeof addr !== 'string') return false
  return isPrivate.call(this, addr)
}
