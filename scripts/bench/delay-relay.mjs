// A TCP relay on loopback that adds latency to the wire, for `npm run bench`: every chunk, in
// either direction, is passed on `oneWayMs` later, in order. Put in front of the bench's CONNECT
// proxy, it makes every round trip between the client and the servers behind the proxy cost
// 2 × oneWayMs: the CONNECT, the TLS handshake (one round trip in TLS 1.3) and each request alike,
// as on a real network, where a new host costs a tunnel and a handshake before its first request.
// (The servers' own `delayMs` delays only answers, so that connections cost no latency at all.)
import net from 'node:net'
import { LOOPBACK, closer, listen } from '../lib/loopback.mjs'

/**
 * @typedef {object} DelayRelay
 * @property {number} port
 * @property {string} url `http://127.0.0.1:<port>`: the proxy's URL, seen through the relay
 * @property {() => Promise<void>} close destroys both sides of every connection
 */

/**
 * @param {{ target: number, oneWayMs: number }} options the port it relays to (on 127.0.0.1)
 * @returns {Promise<DelayRelay>}
 */
export async function startDelayRelay({ target, oneWayMs }) {
  /** @type {Set<NodeJS.Timeout>} */
  const timers = new Set()
  /** @type {Set<net.Socket>} */
  const upstreams = new Set()
  /** @param {() => void} action */
  const later = (action) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      action()
    }, oneWayMs)
    timers.add(timer)
  }
  /**
   * Passes what `from` sends on to `to`, late; its end and its close, late too.
   * @param {net.Socket} from
   * @param {net.Socket} to
   */
  const pass = (from, to) => {
    from.on('data', (chunk) => later(() => to.write(chunk)))
    from.on('end', () => later(() => to.end()))
    from.on('close', () => later(() => to.destroy()))
    from.on('error', () => {}) // a peer that resets is expected; 'close' follows
  }
  const server = net.createServer((client) => {
    client.setNoDelay(true)
    const upstream = net.connect({ host: LOOPBACK, port: target })
    upstream.setNoDelay(true)
    upstreams.add(upstream)
    upstream.on('close', () => upstreams.delete(upstream))
    pass(client, upstream)
    pass(upstream, client)
  })
  const close = closer(
    server,
    () => {
      for (const timer of timers) clearTimeout(timer)
      for (const upstream of upstreams) upstream.destroy()
    },
    'delay relay',
  )
  const port = await listen(server)
  return { port, url: `http://${LOOPBACK}:${port}`, close }
}
