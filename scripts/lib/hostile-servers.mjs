// Hostile loopback peers for the tests of broken and malicious networks: answers streamed without
// end or one byte at a time, and a raw TLS server that writes bytes no HTTP library would (control
// characters in a header, a 100 KB header). Like the other peers, everything listens on 127.0.0.1
// only and nothing it owns (sockets, timers) outlives close().
import { clearInterval, setInterval } from 'node:timers'
import tls from 'node:tls'
import { fileURLToPath } from 'node:url'
import { LOOPBACK, closer, listen } from './loopback.mjs'

const CHUNK = Buffer.alloc(64 * 1024, 'x')

/**
 * The preload that records a process's peak memory (see peak-memory.mjs): give the action
 * `NODE_OPTIONS=--import=<its file URL>` and `PEAK_MEMORY_FILE=<path>`.
 */
export const PEAK_MEMORY_PRELOAD = fileURLToPath(new URL('./peak-memory.mjs', import.meta.url))

/**
 * @typedef {import('./tls.mjs').Certificates} Certificates
 *
 * @typedef {object} RawConnection
 * @property {string} head the request's line and headers, as the client sent them
 * @property {import('node:tls').TLSSocket} socket write the answer's raw bytes here
 *
 * @callback RawHandler
 * @param {RawConnection} connection
 * @returns {void}
 *
 * @typedef {object} RawTlsServer
 * @property {number} port
 * @property {string} host `127.0.0.1:<port>`
 * @property {string} url `https://127.0.0.1:<port>`
 * @property {string[]} heads every request head received, in arrival order
 * @property {() => Promise<void>} close destroys every socket; resolves once closed
 *
 * @typedef {object} Trickle
 * @property {() => number} written how many bytes went out so far
 */

/**
 * Writes `total` bytes of `chunk` repeated, honouring back-pressure, and stops as soon as the
 * client goes away. Resolves with the number of bytes the socket accepted.
 * @param {import('node:stream').Writable} out a ServerResponse or a socket
 * @param {number} total
 * @param {Buffer} [chunk]
 * @returns {Promise<number>}
 */
export function streamBytes(out, total, chunk = CHUNK) {
  return new Promise((resolve) => {
    let sent = 0
    let closed = false
    const stop = () => {
      closed = true
      resolve(sent)
    }
    out.once('close', stop)
    out.on('error', stop)
    const pump = () => {
      while (!closed && sent < total) {
        const piece = chunk.subarray(0, Math.min(chunk.length, total - sent))
        sent += piece.length
        if (!out.write(piece)) {
          out.once('drain', pump)
          return
        }
      }
      if (!closed) {
        out.end()
        out.off('close', stop)
        resolve(sent)
      }
    }
    pump()
  })
}

/**
 * Writes one byte every `intervalMs`, forever, until the client goes away or `stopAll` runs.
 * @param {import('node:stream').Writable} out
 * @param {number} intervalMs
 * @param {Set<NodeJS.Timeout>} timers where the interval is kept, so that a close() can clear it
 * @returns {Trickle}
 */
export function trickle(out, intervalMs, timers) {
  let written = 0
  const timer = setInterval(() => {
    if (out.writableEnded || out.destroyed) return stop()
    out.write('x')
    written += 1
  }, intervalMs)
  timers.add(timer)
  const stop = () => {
    clearInterval(timer)
    timers.delete(timer)
  }
  out.once('close', stop)
  out.on('error', stop)
  return { written: () => written }
}

/**
 * A TLS server on 127.0.0.1 that reads each request's head and hands the socket to `handler`, which
 * writes whatever bytes it likes: a response Node's own HTTP server would never produce.
 * @param {Certificates} certificates
 * @param {RawHandler} handler
 * @returns {Promise<RawTlsServer>}
 */
export async function startRawTlsServer(certificates, handler) {
  /** @type {string[]} */
  const heads = []
  const server = tls.createServer({ cert: certificates.cert, key: certificates.key }, (socket) => {
    socket.on('error', () => {}) // a client that gives up resets; expected
    let buffered = ''
    const onData = (/** @type {Buffer} */ data) => {
      buffered += data.toString('latin1')
      const end = buffered.indexOf('\r\n\r\n')
      if (end < 0) return
      socket.off('data', onData)
      socket.resume()
      const head = buffered.slice(0, end)
      heads.push(head)
      handler({ head, socket })
    }
    socket.on('data', onData)
  })
  server.on('connection', (/** @type {import('node:net').Socket} */ socket) => {
    socket.on('error', () => {})
  })
  server.on('tlsClientError', () => {})
  const close = closer(server, undefined, 'raw TLS server')
  const port = await listen(server)

  const host = `${LOOPBACK}:${port}`
  return { port, host, url: `https://${host}`, heads, close }
}
