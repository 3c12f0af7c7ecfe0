// What every loopback peer shares: listen on 127.0.0.1 with a port of its own, and a close() that
// stops listening, destroys every socket the server accepted, and is armed to run by itself after
// SAFETY_MS should a test forget to call it, so that nothing a peer owns keeps the process alive.
/**
 * @typedef {import('node:net').Server} Server
 * @typedef {import('node:net').Socket} Socket
 * @typedef {import('node:net').AddressInfo} AddressInfo
 */

/** The only address the peers listen on. */
export const LOOPBACK = '127.0.0.1'
/** How long a peer stays open before its safety timer closes it: 5 minutes. */
export const SAFETY_MS = 5 * 60_000

/**
 * Listens on 127.0.0.1 with a port the system picks (port 0).
 * @param {Server} server not yet listening
 * @returns {Promise<number>} the port it got; rejects with the server's 'error' (e.g. EADDRINUSE)
 *   should listening fail
 */
export function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, LOOPBACK, () => {
      server.off('error', reject)
      resolve(/** @type {AddressInfo} */ (server.address()).port)
    })
  })
}

/** @param {Server} server */
const portOf = (server) => /** @type {AddressInfo | null} */ (server.address())?.port

/**
 * Makes the close() of a server: stop listening, destroy every socket (raw sockets, not only the
 * HTTP connections closeAllConnections() knows, so that a client stuck in the TLS handshake cannot
 * hold the close up), and arm an unref'd safety timer that closes it anyway after SAFETY_MS, with a
 * line on stderr. Call it before the server listens: it tracks sockets from its 'connection' event,
 * so it sees only the ones the server accepts; sockets the peer opens itself (the target side of a
 * proxy tunnel, say) are for `onClose` to destroy.
 * @param {Server} server
 * @param {() => void} [onClose] extra clean-up, run once, first thing in close(): pending timers,
 *   sockets the server did not accept, child processes
 * @param {string} [label] what the safety timer's line on stderr calls the server
 * @returns {() => Promise<void>} close(): idempotent (every call returns the same promise), which
 *   resolves once the server has stopped listening
 */
export function closer(server, onClose = () => {}, label = 'test server') {
  /** @type {Set<Socket>} */
  const sockets = new Set()
  server.on('connection', (/** @type {Socket} */ socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  /** @type {Promise<void> | undefined} */
  let closing
  const close = () => {
    closing ??= new Promise((resolve) => {
      clearTimeout(safety)
      onClose()
      server.close(() => resolve())
      for (const socket of sockets) socket.destroy()
    })
    return closing
  }
  const safety = setTimeout(() => {
    console.error(
      `${label} on port ${portOf(server)} was still open after ${SAFETY_MS} ms: closing it`,
    )
    void close()
  }, SAFETY_MS)
  safety.unref()
  return close
}
