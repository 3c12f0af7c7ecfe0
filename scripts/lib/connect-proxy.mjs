// A small forward proxy on loopback, for tests of the proxy path: plain HTTP on 127.0.0.1, CONNECT
// only, as corporate proxies are used for HTTPS. It resolves only the names it is given, as on a
// network where the runner cannot resolve outside names and only the proxy can, and it answers the
// way squid does: 407 for missing credentials, 403 for a denied host, 503 for a name it cannot
// resolve or a target that refuses the connection. No dependency, and nothing it owns outlives
// close() (both sides of every tunnel are destroyed).
import http from 'node:http'
import net from 'node:net'
import { LOOPBACK, closer, listen } from './loopback.mjs'

/**
 * @typedef {object} ConnectProxyOptions
 * @property {Record<string, string>} [hosts] host name → where the proxy connects for it: the only
 *   names the proxy resolves; any other name gets 503, as squid's ERR_DNS_FAIL. A value is a loopback
 *   address (`127.0.0.1`, `::1`), used with the port the CONNECT asked for, or a loopback address and
 *   a port (`127.0.0.1:8443`, `[::1]:8443`), used whatever port the CONNECT asked for: that is how a
 *   test sends `registry.redhat.io:443` to a server on 127.0.0.1:<its own port>. Any other value
 *   throws. An IP literal target is used as it is when it is a loopback address, and refused with
 *   503 otherwise (nothing leaves the host).
 * @property {string[]} [deny] host names it refuses to tunnel to, with 403 (squid's ERR_ACCESS_DENIED)
 * @property {{ user: string, password: string }} [credentials] require `Proxy-Authorization: Basic …`
 *   with these; without them (or with others) the answer is 407 with `Proxy-Authenticate: Basic realm="proxy"`
 * @property {boolean} [silent] accept every CONNECT and never answer it: a proxy that hangs
 *
 * @typedef {object} ConnectRecord
 * @property {string} target `host:port` as the CONNECT asked for it
 * @property {boolean} authorized whether the request passed the proxy's authentication (always true
 *   when no credentials are required)
 * @property {boolean} sentCredentials whether the request carried a Proxy-Authorization header at
 *   all (its value is never recorded)
 * @property {number | null} status what the proxy answered; null while it has not answered (always,
 *   for a silent proxy)
 *
 * @typedef {object} ConnectProxy
 * @property {number} port
 * @property {string} host `127.0.0.1:<port>`
 * @property {string} url `http://127.0.0.1:<port>`
 * @property {ConnectRecord[]} connects every CONNECT, in arrival order
 * @property {() => Promise<void>} close destroys every socket (both sides of every tunnel);
 *   resolves once the server is closed
 */

const REASON = /** @type {Record<number, string>} */ ({
  200: 'Connection established',
  403: 'Forbidden',
  405: 'Method Not Allowed',
  407: 'Proxy Authentication Required',
  503: 'Service Unavailable',
})

/**
 * The host and port of a CONNECT target: `host:port` or `[v6]:port`.
 * @param {string} target
 * @returns {{ hostname: string, port: number } | undefined}
 */
function parseTarget(target) {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(target)
  if (!match) return undefined
  const port = Number(match[3])
  if (port < 1 || port > 65535) return undefined
  return { hostname: (match[1] ?? match[2]).toLowerCase(), port }
}

/** @param {string} address */
const isLoopbackAddress = (address) =>
  (net.isIPv4(address) && address.startsWith('127.')) || address === '::1'

/**
 * Reads a `hosts` value: a loopback address, optionally with a port (`[v6]:port` for IPv6).
 * @param {string} name the host name it is the value of, for the error message
 * @param {string} value
 * @returns {{ address: string, port?: number }}
 */
function parseMapping(name, value) {
  if (net.isIP(value)) {
    if (!isLoopbackAddress(value))
      throw new Error(`startConnectProxy: hosts['${name}'] = '${value}' is not a loopback address`)
    return { address: value }
  }
  const target = parseTarget(value)
  if (!target || !net.isIP(target.hostname) || !isLoopbackAddress(target.hostname))
    throw new Error(
      `startConnectProxy: hosts['${name}'] = '${value}' is not a loopback address, nor one with a port (127.0.0.1:8443, [::1]:8443)`,
    )
  return { address: target.hostname, port: target.port }
}

/**
 * Whether a Proxy-Authorization header carries these credentials. The user name is what comes
 * before the first colon of the decoded pair, as in HTTP Basic.
 * @param {string | undefined} header
 * @param {{ user: string, password: string }} credentials
 */
function basicMatches(header, credentials) {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '')
  if (!match) return false
  const decoded = Buffer.from(match[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return (
    colon >= 0 &&
    decoded.slice(0, colon) === credentials.user &&
    decoded.slice(colon + 1) === credentials.password
  )
}

/**
 * Writes a whole HTTP answer on a raw socket and ends it (after a refusal, the client gets a fresh
 * connection for its next try, as from squid).
 * @param {import('node:stream').Duplex} socket
 * @param {number} status
 * @param {Record<string, string>} [headers]
 */
function refuse(socket, status, headers = {}) {
  const body = `${status} ${REASON[status]}\n`
  const lines = [
    `HTTP/1.1 ${status} ${REASON[status]}`,
    ...Object.entries({
      ...headers,
      'Content-Type': 'text/plain',
      'Content-Length': String(Buffer.byteLength(body)),
      Connection: 'close',
    }).map(([name, value]) => `${name}: ${value}`),
  ]
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`)
}

/**
 * Starts the proxy on 127.0.0.1 with a port of its own; see the typedefs above for the options and
 * the handle it returns.
 * @param {ConnectProxyOptions} [options]
 * @returns {Promise<ConnectProxy>}
 */
export async function startConnectProxy(options = {}) {
  const { hosts = {}, deny = [], credentials, silent = false } = options
  const denied = new Set(deny.map((name) => name.toLowerCase()))
  /** @type {Map<string, { address: string, port?: number }>} */
  const names = new Map(
    Object.entries(hosts).map(([name, value]) => [name.toLowerCase(), parseMapping(name, value)]),
  )
  /** @type {ConnectRecord[]} */
  const connects = []
  /**
   * The sockets the proxy opened to targets. The clients' (as accepted) are closer()'s to track;
   * close() destroys both, so both sides of every tunnel go.
   * @type {Set<net.Socket>}
   */
  const upstreams = new Set()
  // A peer that gives up resets its side; that is expected, not a reason to crash.
  const quiet = (/** @type {net.Socket} */ socket) => socket.on('error', () => {})

  const server = http.createServer((req, res) => {
    req.resume()
    res.writeHead(405, { Allow: 'CONNECT', 'Content-Type': 'text/plain', Connection: 'close' })
    res.end('405 this proxy only tunnels (CONNECT)\n')
  })
  server.on('connection', quiet)
  const close = closer(
    server,
    () => {
      for (const upstream of upstreams) upstream.destroy()
    },
    'test proxy',
  )

  server.on('connect', (/** @type {http.IncomingMessage} */ req, socket, head) => {
    const target = req.url ?? ''
    const sentCredentials = req.headers['proxy-authorization'] !== undefined
    const authorized = !credentials || basicMatches(req.headers['proxy-authorization'], credentials)
    /** @type {ConnectRecord} */
    const record = { target, authorized, sentCredentials, status: null }
    connects.push(record)
    if (silent) return // the socket stays open, unanswered, until the client or close() ends it

    /** @param {number} status @param {Record<string, string>} [headers] */
    const answer = (status, headers) => {
      record.status = status
      refuse(socket, status, headers)
    }
    if (!authorized) return answer(407, { 'Proxy-Authenticate': 'Basic realm="proxy"' })
    const parsed = parseTarget(target)
    if (!parsed) return answer(403) // squid refuses a malformed CONNECT target as access denied
    if (denied.has(parsed.hostname)) return answer(403)
    const mapped =
      names.get(parsed.hostname) ??
      (net.isIP(parsed.hostname) && isLoopbackAddress(parsed.hostname)
        ? { address: parsed.hostname }
        : undefined)
    if (mapped === undefined) return answer(503)

    const upstream = net.connect({ host: mapped.address, port: mapped.port ?? parsed.port })
    upstreams.add(upstream)
    upstream.on('close', () => upstreams.delete(upstream))
    quiet(upstream)
    // One side gone: the tunnel is gone (also when the client leaves before the target answers).
    socket.once('close', () => upstream.destroy())
    upstream.once('close', () => {
      if (record.status === 200) socket.destroy() // a refusal ends the socket itself, once written
    })
    upstream.once('error', () => {
      if (record.status === null) answer(503) // squid's ERR_CONNECT_FAIL
    })
    upstream.once('connect', () => {
      record.status = 200
      socket.write(`HTTP/1.1 200 ${REASON[200]}\r\n\r\n`)
      if (head.length) upstream.write(head)
      socket.pipe(upstream)
      upstream.pipe(socket)
    })
  })

  const port = await listen(server)

  const host = `${LOOPBACK}:${port}`
  return { port, host, url: `http://${host}`, connects, close }
}
