// Loopback peers for tests and the demo: a fake registry.redhat.io (registry and token service on one
// host, as the real one is today), a generic HTTPS server, a black hole and a closed port.
// Every server listens on 127.0.0.1 only, closes itself after SAFETY_MS should a test forget, and
// destroys its sockets on close() so that nothing it owns keeps the process alive.
import { createHash, randomBytes } from 'node:crypto'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { LOOPBACK, closer, listen } from './loopback.mjs'
import { basicUser, passwordsIn, pullScopes } from './token-protocol.mjs'

const TOKEN_PATH = '/auth/realms/rhcc/protocol/redhat-docker-v2/auth'
const SERVICE = 'docker-registry'
const TOKEN_LIFETIME_S = 300
const MANIFEST_PATH = /^\/v2\/(.+)\/manifests\/([^/]+)$/
const JSON_TYPE = 'application/json'
const INDEX_TYPE = 'application/vnd.oci.image.index.v1+json'
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json'
const CONFIG_TYPE = 'application/vnd.oci.image.config.v1+json'
const BLOB_PATH = /^\/v2\/(.+)\/blobs\/([^/]+)$/
const API_VERSION = { 'Docker-Distribution-Api-Version': 'registry/2.0' }

/**
 * @param {string} code
 * @param {string} message
 */
const registryError = (code, message) => JSON.stringify({ errors: [{ code, message }] })

// The bodies registry.redhat.io and its token service send, word for word.
const BODY = {
  unauthorized: registryError('UNAUTHORIZED', 'Access to the requested resource is not authorized'),
  badLogin: registryError('UNAUTHORIZED', 'Invalid username or password'),
  pleaseLogin: registryError(
    'UNAUTHORIZED',
    'Please login to the Red Hat Registry using your Customer Portal credentials. Further instructions can be found here: https://access.redhat.com/RegistryAuthentication',
  ),
  notFound: registryError('404', 'Not Found'),
  manifestUnknown: registryError('MANIFEST_UNKNOWN', 'manifest unknown'),
  unsupported: registryError('UNSUPPORTED', 'The operation is unsupported.'),
}

/**
 * @typedef {import('node:http').IncomingMessage} IncomingMessage
 * @typedef {import('node:http').ServerResponse} ServerResponse
 * @typedef {import('./tls.mjs').Certificates} Certificates
 *
 * @typedef {object} RecordedRequest
 * @property {string} method
 * @property {string} url path and query, as the client sent them
 * @property {import('node:http').IncomingHttpHeaders} headers lower-case names
 *
 * @typedef {object} RequestContext
 * @property {URL} url the request's path and query, parsed (its origin is a placeholder)
 * @property {number} hits how many requests with this method and path arrived so far, this one included
 *   (for "fail the first two tries" fault injection)
 *
 * @callback PlainHandler
 * @param {IncomingMessage} req
 * @param {ServerResponse} res
 * @param {RequestContext} ctx
 * @returns {void | Promise<void>}
 *
 * @typedef {object} PlainServer
 * @property {number} port
 * @property {string} host `127.0.0.1:<port>`
 * @property {string} url `https://127.0.0.1:<port>` (`http://` when started without TLS)
 * @property {RecordedRequest[]} requests every request, in arrival order
 * @property {() => Promise<void>} close destroys open sockets; resolves once closed
 *
 * @typedef {object} FakeRedHatOptions
 * @property {Certificates} tls
 * @property {Record<string, string>} [users] user name → password accepted by the token service
 * @property {Record<string, string[]>} [images] repository → tags it has
 * @property {Record<string, string[]>} [entitlements] user name → repositories it may pull; a user
 *   not listed may pull all. Anonymous tokens use the entry for `''`.
 * @property {boolean} [anonymous] let the token service issue tokens without credentials
 * @property {number} [delayMs] delay every response by this much
 * @property {number} [clockSkewMs] shift this server's clock (`Date` header, `issued_at`) by this much
 * @property {(req: IncomingMessage, res: ServerResponse, ctx: RequestContext & { registry: FakeRedHat }) => boolean | Promise<boolean>} [handler]
 *   fault injection, called before the fake's own routes; return true when it answered
 *
 * @typedef {PlainServer & { realm: string, issuedTokens: string[] }} FakeRedHat
 *
 * @typedef {object} BlackHole
 * @property {number} port
 * @property {string} host `127.0.0.1:<port>`
 * @property {string} url `https://127.0.0.1:<port>`
 * @property {number} connections how many connections it accepted so far
 * @property {() => Promise<void>} close destroys open sockets; resolves once closed
 *
 * @typedef {object} Grant
 * @property {Set<string>} repos repositories the token may pull
 * @property {number} expiresAt ms since the epoch, by the server's clock
 */

/**
 * The image the fake serves for a tag: an OCI index (one linux/amd64 entry) → its image manifest →
 * its config blob, each addressed by the real sha256 of its bytes, as a pull follows them.
 * Deterministic, so a test can compute the digest of an image to ask for `repo@sha256:…`.
 * @param {string} repo
 * @param {string} tag
 */
export function fakeImage(repo, tag) {
  const sha256 = (/** @type {string} */ text) =>
    `sha256:${createHash('sha256').update(text).digest('hex')}`
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Labels: { image: `${repo}:${tag}` } },
    rootfs: { type: 'layers', diff_ids: [] },
  })
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST_TYPE,
    config: { mediaType: CONFIG_TYPE, digest: sha256(config), size: Buffer.byteLength(config) },
    layers: [],
  })
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: INDEX_TYPE,
    manifests: [
      {
        mediaType: MANIFEST_TYPE,
        digest: sha256(manifest),
        size: Buffer.byteLength(manifest),
        platform: { architecture: 'amd64', os: 'linux' },
      },
    ],
  })
  return {
    index: { body: index, digest: sha256(index) },
    manifest: { body: manifest, digest: sha256(manifest) },
    config: { body: config, digest: sha256(config) },
  }
}

/**
 * The OCI index the fake serves for a tag, and its digest.
 * @param {string} repo
 * @param {string} tag
 * @returns {{ body: string, digest: string }}
 */
export function fakeManifest(repo, tag) {
  return fakeImage(repo, tag).index
}

/**
 * Sends a whole answer. Content-Length is that of the body even for HEAD, as HTTP has it; the body
 * itself never goes to a HEAD.
 * @param {IncomingMessage} req
 * @param {ServerResponse} res
 * @param {number} status
 * @param {Record<string, string>} headers
 * @param {string} [body]
 */
function send(req, res, status, headers, body = '') {
  const bytes = Buffer.from(body)
  res.writeHead(status, { ...headers, 'Content-Length': String(bytes.length) })
  res.end(req.method === 'HEAD' ? undefined : bytes)
}

/**
 * The part every HTTP(S) server shares: record each request, count hits per method and path, run
 * the handler, and turn a handler that throws into a 500 (and a line on stderr) rather than a hang.
 * @param {Certificates | null} tls null for plain HTTP (a redirect target for https→http tests)
 * @param {PlainHandler} handler
 * @param {() => void} [onClose]
 * @returns {Promise<PlainServer>}
 */
async function startServer(tls, handler, onClose) {
  /** @type {RecordedRequest[]} */
  const requests = []
  /** @type {Map<string, number>} */
  const hits = new Map()

  /** @type {import('node:http').RequestListener} */
  const listener = (req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers } })
    req.resume() // bodies are never needed; drain them so the connection can be reused
    Promise.resolve()
      .then(() => {
        // Glued to a fixed origin rather than resolved against it (or the Host header): a path
        // such as //x must stay a path, and an odd request must end in a 500, not a crash.
        const url = new URL(`http://${LOOPBACK}${req.url ?? '/'}`)
        const key = `${req.method} ${url.pathname}`
        const count = (hits.get(key) ?? 0) + 1
        hits.set(key, count)
        return handler(req, res, { url, hits: count })
      })
      .catch((/** @type {unknown} */ error) => {
        console.error(`test server: handler failed on ${req.method} ${req.url}:`, error)
        if (res.headersSent) res.destroy()
        else
          send(req, res, 500, { 'Content-Type': 'text/plain' }, `handler failed: ${String(error)}`)
      })
  }

  const server = tls
    ? https.createServer({ cert: tls.cert, key: tls.key }, listener)
    : http.createServer(listener)
  const close = closer(server, onClose)
  const port = await listen(server)
  const host = `${LOOPBACK}:${port}`
  return { port, host, url: `${tls ? 'https' : 'http'}://${host}`, requests, close }
}

/**
 * A generic server on 127.0.0.1 that answers with `handler`.
 * @param {Certificates | null} tls certificates for HTTPS; null for plain HTTP
 * @param {PlainHandler} handler
 * @returns {Promise<PlainServer>}
 */
export function startPlainServer(tls, handler) {
  return startServer(tls, handler)
}

/**
 * A fake registry.redhat.io with its token service on the same host; see the typedefs above for
 * the options and the handle it returns. Answers as the real ones do:
 * - `GET /v2/`: 401 with a Bearer challenge, or 200 `{}` with a valid token;
 * - `GET <realm>?service=…&scope=…`: 200 with a token for good Basic credentials (granting the
 *   requested repositories the user is entitled to; a partial grant is still a 200), else 401;
 * - `HEAD|GET /v2/<repo>/manifests/<tag|digest>`: 401 (no token, or `insufficient_scope`), 404 for
 *   an unknown repository (Red Hat's non-standard body) or tag, 200 with the index (by tag or its
 *   digest) or the image manifest (by its digest; see fakeImage);
 * - `GET /v2/<repo>/blobs/<digest>`: the config blob, 206 for `Range: bytes=0-0`.
 * @param {FakeRedHatOptions} options
 * @returns {Promise<FakeRedHat>}
 */
export async function startFakeRedHat(options) {
  const { users = {}, images = {}, entitlements = {}, delayMs = 0, clockSkewMs = 0 } = options
  /** @type {Map<string, Grant>} */
  const grants = new Map()
  /** @type {string[]} */
  const issuedTokens = []
  /** @type {Set<NodeJS.Timeout>} */
  const pendingDelays = new Set()
  const now = () => Date.now() + clockSkewMs

  /** @param {number} ms */
  const delay = (ms) =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        pendingDelays.delete(timer)
        resolve(undefined)
      }, ms)
      pendingDelays.add(timer)
    })

  /**
   * @param {IncomingMessage} req
   * @param {ServerResponse} res
   * @param {number} status
   * @param {Record<string, string>} headers
   * @param {string} [body]
   */
  const reply = (req, res, status, headers, body) =>
    send(req, res, status, { Date: new Date(now()).toUTCString(), ...headers }, body)

  /**
   * The live grant a `Bearer` header carries, if any.
   * @param {IncomingMessage} req
   */
  const grantOf = (req) => {
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1]
    const grant = token === undefined ? undefined : grants.get(token)
    return grant && grant.expiresAt > now() ? grant : undefined
  }

  /**
   * @param {string} [scope]
   * @param {string} [error]
   */
  const challenge = (scope, error) =>
    [
      `Bearer realm="${handle.realm}"`,
      `service="${SERVICE}"`,
      ...(scope ? [`scope="${scope}"`] : []),
      ...(error ? [`error="${error}"`] : []),
    ].join(',')

  /**
   * @param {IncomingMessage} req
   * @param {ServerResponse} res
   * @param {URL} url
   */
  const tokenService = (req, res, url) => {
    const json = { 'Content-Type': JSON_TYPE }
    const user = basicUser(req.headers.authorization, passwordsIn(users))
    const identity = user === null && options.anonymous ? '' : user
    if (typeof identity !== 'string') return reply(req, res, 401, json, BODY.badLogin)

    const entitled = entitlements[identity]
    const repos = pullScopes(url.searchParams).filter(
      (repo) => !entitled || entitled.includes(repo),
    )
    // Random bytes behind `eyJ`: looks like a JWT to anything that sniffs, is unique per issue.
    const token = `eyJ${randomBytes(32).toString('base64url')}`
    grants.set(token, { repos: new Set(repos), expiresAt: now() + TOKEN_LIFETIME_S * 1000 })
    issuedTokens.push(token)
    const body = {
      token,
      access_token: token,
      expires_in: TOKEN_LIFETIME_S,
      issued_at: new Date(now()).toISOString(),
    }
    return reply(req, res, 200, json, JSON.stringify(body))
  }

  /**
   * @param {IncomingMessage} req
   * @param {ServerResponse} res
   */
  const base = (req, res) => {
    const headers = { ...API_VERSION, 'Content-Type': JSON_TYPE }
    if (grantOf(req)) return reply(req, res, 200, headers, '{}')
    return reply(req, res, 401, { ...headers, 'WWW-Authenticate': challenge() }, BODY.unauthorized)
  }

  /**
   * @param {IncomingMessage} req
   * @param {ServerResponse} res
   * @param {string} repo
   * @param {string} ref tag or digest
   */
  const manifest = (req, res, repo, ref) => {
    const headers = { ...API_VERSION, 'Content-Type': JSON_TYPE }
    const grant = grantOf(req)
    if (!grant?.repos.has(repo)) {
      // As distribution does: no token → a plain challenge; a token without this repository →
      // the same challenge with error="insufficient_scope".
      const www = challenge(`repository:${repo}:pull`, grant && 'insufficient_scope')
      return reply(req, res, 401, { ...headers, 'WWW-Authenticate': www }, BODY.pleaseLogin)
    }
    const tags = Object.hasOwn(images, repo) ? images[repo] : undefined
    if (!tags) return reply(req, res, 404, headers, BODY.notFound)
    for (const tag of tags) {
      const image = fakeImage(repo, tag)
      /** @type {[string, { body: string, digest: string }] | undefined} */
      const found =
        ref === tag || ref === image.index.digest
          ? [INDEX_TYPE, image.index]
          : ref === image.manifest.digest
            ? [MANIFEST_TYPE, image.manifest]
            : undefined
      if (!found) continue
      const [type, { body, digest }] = found
      const answer = { ...API_VERSION, 'Content-Type': type, 'Docker-Content-Digest': digest }
      return reply(req, res, 200, answer, body)
    }
    return reply(req, res, 404, headers, BODY.manifestUnknown)
  }

  /**
   * A config blob, served by the registry itself (Range honoured for one byte, as a pull's first
   * look at a blob asks).
   * @param {IncomingMessage} req
   * @param {ServerResponse} res
   * @param {string} repo
   * @param {string} digest
   */
  const blob = (req, res, repo, digest) => {
    const headers = { ...API_VERSION, 'Content-Type': JSON_TYPE }
    const grant = grantOf(req)
    if (!grant?.repos.has(repo)) {
      const www = challenge(`repository:${repo}:pull`, grant && 'insufficient_scope')
      return reply(req, res, 401, { ...headers, 'WWW-Authenticate': www }, BODY.pleaseLogin)
    }
    const tags = Object.hasOwn(images, repo) ? images[repo] : []
    const config = tags.map((t) => fakeImage(repo, t).config).find((c) => c.digest === digest)
    if (!config)
      return reply(
        req,
        res,
        404,
        headers,
        registryError('BLOB_UNKNOWN', 'blob unknown to registry'),
      )
    const blobHeaders = {
      'Content-Type': 'application/octet-stream',
      'Docker-Content-Digest': digest,
    }
    if (/^bytes=0-0$/.test(req.headers.range ?? ''))
      return reply(
        req,
        res,
        206,
        { ...blobHeaders, 'Content-Range': `bytes 0-0/${config.body.length}` },
        config.body.slice(0, 1),
      )
    return reply(req, res, 200, blobHeaders, config.body)
  }

  /**
   * @param {IncomingMessage} req
   * @param {ServerResponse} res
   * @param {RequestContext} ctx
   */
  const route = async (req, res, ctx) => {
    if (delayMs > 0) await delay(delayMs)
    if (options.handler && (await options.handler(req, res, { ...ctx, registry: handle }))) return
    const { pathname } = ctx.url
    const method = req.method ?? ''
    const readOnly = method === 'GET' || method === 'HEAD'
    const unsupported = () =>
      reply(req, res, 405, { ...API_VERSION, 'Content-Type': JSON_TYPE }, BODY.unsupported)

    if (pathname === TOKEN_PATH)
      return method === 'GET' ? tokenService(req, res, ctx.url) : unsupported()
    if (pathname === '/v2/') return readOnly ? base(req, res) : unsupported()
    const match = MANIFEST_PATH.exec(pathname)
    if (match) {
      if (!readOnly) return unsupported()
      return manifest(req, res, decodeURIComponent(match[1]), decodeURIComponent(match[2]))
    }
    const blobMatch = BLOB_PATH.exec(pathname)
    if (blobMatch) {
      if (!readOnly) return unsupported()
      return blob(req, res, decodeURIComponent(blobMatch[1]), decodeURIComponent(blobMatch[2]))
    }
    return reply(req, res, 404, { 'Content-Type': JSON_TYPE }, BODY.notFound)
  }

  const server = await startServer(options.tls, route, () => {
    // A delayed answer whose socket is gone has nobody to answer; its timer must not hold the process.
    for (const timer of pendingDelays) clearTimeout(timer)
    pendingDelays.clear()
  })
  /** @type {FakeRedHat} */
  const handle = { ...server, realm: `${server.url}${TOKEN_PATH}`, issuedTokens }
  return handle
}

/**
 * A TCP server that accepts connections and never says a word: a firewall that drops packets after
 * the handshake, or a proxy that never answers the CONNECT.
 * @returns {Promise<BlackHole>}
 */
export async function startBlackHole() {
  let accepted = 0
  const server = net.createServer((socket) => {
    accepted += 1
    // Read and discard, so that a client's FIN is seen and the socket closes instead of lingering;
    // a reset from the client is expected, not an error worth crashing for.
    socket.resume()
    socket.on('error', () => {})
  })
  const close = closer(server)
  const port = await listen(server)
  const host = `${LOOPBACK}:${port}`
  return {
    port,
    host,
    url: `https://${host}`,
    get connections() {
      return accepted
    },
    close,
  }
}

/**
 * A port on 127.0.0.1 that nothing listens on (a connection to it is refused): bind to port 0,
 * read the port, close. Another process could take it in between; on loopback that is rare enough.
 * @returns {Promise<number>}
 */
export async function closedPort() {
  const server = net.createServer()
  const port = await listen(server)
  await new Promise((resolve) => server.close(resolve))
  return port
}
