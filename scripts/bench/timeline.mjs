// Reads the traces scripts/bench/trace.cjs writes (`npm run bench -- --timeline`) into where a
// run's time goes: its phases, and every request and handshake on one time axis.

/**
 * @typedef {object} TraceEvent
 * @property {number} t ms since the traced process's time origin
 * @property {string} event preloaded | socket | request | connect | response | end | tls-start |
 *   tls-done | exit
 * @property {number} [id] the request's number, for request, connect, response and end
 * @property {number} [tls] the handshake's number, for tls-start and tls-done
 * @property {string} [method]
 * @property {string} [host]
 * @property {string} [path]
 * @property {number} [status]
 * @property {boolean} [resumed] for tls-done: a resumed TLS session
 * @property {number} [cpuMs] for exit: the process's CPU time (user and system)
 *
 * @typedef {object} Phases of one run, in ms
 * @property {number} boot time origin → the first JavaScript (Node's own start)
 * @property {number} startUp the first JavaScript → the first socket (loading the script,
 *   reading the inputs)
 * @property {number} requests the first socket → the last byte of the last answer
 * @property {number} finish the last byte → exit (the report, the outputs, the summary)
 * @property {number} cpu the process's CPU time
 * @property {number} requestCount requests other than CONNECTs
 * @property {number} tunnels CONNECTs
 * @property {number} handshakes TLS handshakes
 */

/** @param {string} text one JSON object a line @returns {TraceEvent[]} */
export const readTrace = (text) =>
  text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line))

/**
 * @param {TraceEvent[]} events
 * @returns {Phases}
 */
export function phasesOf(events) {
  const first = (/** @type {string} */ name) => events.find((e) => e.event === name)?.t ?? NaN
  const ends = events.filter((e) => e.event === 'end').map((e) => e.t)
  const preloaded = first('preloaded')
  const socket = first('socket')
  const lastEnd = Math.max(...ends)
  const exit = events.find((e) => e.event === 'exit')
  const requests = events.filter((e) => e.event === 'request')
  return {
    boot: preloaded,
    startUp: socket - preloaded,
    requests: lastEnd - socket,
    finish: (exit?.t ?? NaN) - lastEnd,
    cpu: exit?.cpuMs ?? NaN,
    requestCount: requests.filter((e) => e.method !== 'CONNECT').length,
    tunnels: requests.filter((e) => e.method === 'CONNECT').length,
    handshakes: events.filter((e) => e.event === 'tls-start').length,
  }
}

/** @param {number} ms */
const at = (ms) => ms.toFixed(1).padStart(6)

/**
 * One line per request (when it was sent, when its status line and its last byte came) and per
 * TLS handshake, in the order they began.
 * @param {TraceEvent[]} events
 * @returns {string[]}
 */
export function timelineLines(events) {
  /** @type {{ t: number, line: string }[]} */
  const lines = []
  const byId = (/** @type {number | undefined} */ id, /** @type {string} */ name) =>
    events.find((e) => e.id === id && e.event === name)
  const pending = new Map()
  for (const e of events) {
    if (e.event === 'preloaded' || e.event === 'exit')
      lines.push({
        t: e.t,
        line: `${at(e.t)}  ${e.event === 'exit' ? 'exit' : 'first JavaScript'}`,
      })
    else if (e.event === 'request') {
      const answered = e.method === 'CONNECT' ? byId(e.id, 'connect') : byId(e.id, 'response')
      const ended = byId(e.id, 'end')
      const target = e.method === 'CONNECT' ? e.path : `${e.host}${e.path}`
      const status = byId(e.id, 'response')?.status ?? (answered ? 200 : '—')
      const done = (ended ?? answered)?.t
      lines.push({
        t: e.t,
        line: `${at(e.t)}  ${e.method} ${shorten(target ?? '')} → ${status} at ${done === undefined ? '—' : done.toFixed(1)} (${done === undefined ? '—' : (done - e.t).toFixed(1)} ms)`,
      })
    } else if (e.event === 'tls-start') pending.set(e.tls, e.t)
    else if (e.event === 'tls-done') {
      const started = pending.get(e.tls) ?? e.t
      lines.push({
        t: started,
        line: `${at(started)}  TLS handshake ${e.host}${e.resumed ? ' (resumed)' : ''} → done at ${e.t.toFixed(1)} (${(e.t - started).toFixed(1)} ms)`,
      })
    }
  }
  return lines.sort((a, b) => a.t - b.t).map((l) => l.line)
}

/** Digests cut short: the lines stay readable. @param {string} text */
const shorten = (text) => text.replace(/([0-9a-f]{12})[0-9a-f]{52}/g, '$1…')
