// A timeline of one run, for `npm run bench -- --timeline`: preloaded into the action or a floor
// (NODE_OPTIONS=--require), it writes one JSON line per event to BENCH_TRACE_FILE, each with `t`,
// the milliseconds since the process's time origin (performance.timeOrigin, about when the process
// started). Events: `preloaded` (Node has booted and runs the first JavaScript), every HTTP request
// (`request`: method, host, path; `connect` when a proxy answered a CONNECT; `response` when its
// status line arrived; `end` when its body did), every TCP socket a client opened (`socket`), every
// TLS handshake (`tls-start`, `tls-done`), and `exit` with the process's CPU time (`cpuMs`). It
// observes through Node's diagnostics channels and a wrapper around tls.connect; it changes nothing
// the run does.
'use strict'
const dc = require('node:diagnostics_channel')
const { appendFileSync } = require('node:fs')
const { performance } = require('node:perf_hooks')
const tls = require('node:tls')

const file = process.env.BENCH_TRACE_FILE
if (file) {
  /** @type {string[]} */
  const lines = []
  const at = () => Math.round(performance.now() * 10) / 10
  /** @param {string} event @param {Record<string, unknown>} [fields] */
  const mark = (event, fields = {}) => lines.push(JSON.stringify({ t: at(), event, ...fields }))
  mark('preloaded')
  let next = 0
  dc.subscribe('http.client.request.start', (message) => {
    const { request } = /** @type {{ request: import('node:http').ClientRequest }} */ (message)
    const id = ++next
    const host = String(request.getHeader('host') ?? request.host)
    // The path without its query: a signed URL's signature stays out of the trace.
    mark('request', { id, method: request.method, host, path: request.path.split('?')[0] })
    // Ahead of the listeners already there (the channel publishes once the request is sent), so
    // that the mark is not late by whatever they do: a tunnel's TLS handshake starts in one.
    request.prependOnceListener('connect', () => mark('connect', { id }))
    request.prependOnceListener('response', (response) => {
      mark('response', { id, status: response.statusCode })
      response.once('end', () => mark('end', { id }))
    })
  })
  dc.subscribe('net.client.socket', () => mark('socket'))
  const connect = tls.connect
  let handshakes = 0
  tls.connect = function tracedConnect(...args) {
    const options = args.find((a) => a && typeof a === 'object') ?? {}
    const tlsId = ++handshakes
    const host = options.servername ?? options.host
    mark('tls-start', { tls: tlsId, host })
    const socket = connect.apply(this, args)
    socket.once('secureConnect', () =>
      mark('tls-done', { tls: tlsId, host, resumed: socket.isSessionReused() }),
    )
    return socket
  }
  process.once('exit', () => {
    const { user, system } = process.cpuUsage()
    mark('exit', { cpuMs: Math.round((user + system) / 100) / 10 })
    appendFileSync(file, `${lines.join('\n')}\n`)
  })
}
