// Loopback imitations of the registries people pull from, each answering as the real one does
// (challenges, token services, status codes, error bodies, Docker Hub's rate-limit headers), as
// the distribution token spec, the registries' documentation and public issue threads record it:
//   registry.redhat.io (+ the legacy sso.redhat.com realm), registry.connect.redhat.com,
//   registry.access.redhat.com, Docker Hub (registry-1.docker.io + auth.docker.io), quay.io,
//   ghcr.io, and a private distribution registry that takes HTTP Basic.
// Every imitation serves real images (oci-images.mjs: every digest the sha256 of its bytes, indexes
// where the real registry serves them) and their blobs, as the real service does: a redirect to a
// signed URL on its blob host (blob-hosts.mjs: cdn01.quay.io, the partner registry's S3 bucket,
// production.cloudflare.docker.com, pkg-containers.githubusercontent.com), which is an imitation
// too; the private distribution registry serves its blobs itself.
// Each host is its own HTTPS server on 127.0.0.1 with a port of its own. The action reaches them by
// their real names through the loopback CONNECT proxy (connect-proxy.mjs), given `hosts` (name →
// 127.0.0.1:<port>), and trusts them through NODE_EXTRA_CA_CERTS: the certificate must name them
// (makeCertificates(dir, { names: IMITATED_HOSTS })). Every server records each request with its
// headers, counts its TLS connections (to see keep-alive at work), closes itself after SAFETY_MS
// should a test forget, and destroys its sockets on close().
import { randomBytes, randomUUID } from 'node:crypto'
import https from 'node:https'
import { sendBytes } from './blob-cdn.mjs'
import { BLOB_HOST, BLOB_HOSTS, publishBlob, redirectBody } from './blob-hosts.mjs'
import { LOOPBACK, closer, listen } from './loopback.mjs'
import { buildImage } from './oci-images.mjs'
import { basicUser, passwordsIn, pullScopes } from './token-protocol.mjs'

export { BLOB_HOSTS, DOCKER_HUB_CDN, GHCR_CDN, QUAY_CDN, RHC4TP_BUCKET } from './blob-hosts.mjs'

const JSON_TYPE = 'application/json'
const API_VERSION = { 'Docker-Distribution-Api-Version': 'registry/2.0' }
/** `/v2/<repo>/manifests/<ref>` or `/v2/<repo>/blobs/<digest>`. */
const OBJECT_PATH = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/
/** What a repository holds when its entry does not say: an index over these. */
export const DEFAULT_PLATFORMS = ['linux/amd64', 'linux/arm64']

/** Red Hat's token path on registry.redhat.io and on the legacy sso.redhat.com. */
export const RHCC_TOKEN_PATH = '/auth/realms/rhcc/protocol/redhat-docker-v2/auth'
/** The partner registry's token path (its `rhc4tp` realm). */
export const RHC4TP_TOKEN_PATH = '/auth/realms/rhc4tp/protocol/redhat-docker-v2/auth'
export const RHCC_REALM = `https://registry.redhat.io${RHCC_TOKEN_PATH}`
export const LEGACY_SSO_REALM = `https://sso.redhat.com${RHCC_TOKEN_PATH}`
export const RHC4TP_REALM = `https://registry.connect.redhat.com${RHC4TP_TOKEN_PATH}`
export const DOCKER_HUB_REALM = 'https://auth.docker.io/token'
export const QUAY_REALM = 'https://quay.io/v2/auth'
export const GHCR_REALM = 'https://ghcr.io/token'

/** A private distribution registry's name in the tests (the certificate names it). */
export const PRIVATE_REGISTRY = 'registry.corp.example'

/** Every host an imitation answers for: the names the test certificate must carry. */
export const IMITATED_HOSTS = [
  'registry.redhat.io',
  'sso.redhat.com',
  'registry.connect.redhat.com',
  'registry.access.redhat.com',
  'registry-1.docker.io',
  'auth.docker.io',
  'quay.io',
  'ghcr.io',
  PRIVATE_REGISTRY,
  ...BLOB_HOSTS,
]

/**
 * @param {string} code
 * @param {string} message
 * @param {unknown} [detail]
 */
const errors = (code, message, detail) =>
  JSON.stringify({ errors: [{ code, message, ...(detail === undefined ? {} : { detail }) }] })

// The bodies the real services send, word for word where it is known.
const RED_HAT_PLEASE_LOGIN = errors(
  'UNAUTHORIZED',
  'Please login to the Red Hat Registry using your Customer Portal credentials. Further instructions can be found here: https://access.redhat.com/RegistryAuthentication',
)
const RED_HAT_BAD_LOGIN = errors('UNAUTHORIZED', 'Invalid username or password')
const RED_HAT_UNAUTHORIZED = errors(
  'UNAUTHORIZED',
  'Access to the requested resource is not authorized',
)
const RED_HAT_NOT_FOUND = errors('404', 'Not Found')
/** registry.access.redhat.com, for a repository whose terms must be accepted. */
export const TERMS_MESSAGE =
  'This repo requires terms acceptance and is only available on registry.redhat.io'
const MANIFEST_UNKNOWN = errors('MANIFEST_UNKNOWN', 'manifest unknown')
const QUAY_UNAUTHORIZED = JSON.stringify({
  errors: [
    {
      code: 'UNAUTHORIZED',
      detail: {},
      message: 'access to the requested resource is not authorized',
    },
  ],
})
const QUAY_MANIFEST_UNKNOWN = JSON.stringify({
  errors: [{ code: 'MANIFEST_UNKNOWN', detail: {}, message: 'manifest unknown' }],
})
const DOCKER_AUTH_REQUIRED = errors('UNAUTHORIZED', 'authentication required', null)
const GHCR_AUTH_REQUIRED = errors('UNAUTHORIZED', 'authentication required')
const GHCR_DENIED = errors('DENIED', 'requested access to the resource is denied')

/**
 * @typedef {import('node:http').IncomingMessage} IncomingMessage
 * @typedef {import('node:http').ServerResponse} ServerResponse
 * @typedef {import('node:http').IncomingHttpHeaders} IncomingHttpHeaders
 * @typedef {import('./tls.mjs').Certificates} Certificates
 *
 * @typedef {object} RecordedRequest
 * @property {string} server the host name of the server that got it (`auth.docker.io`, …)
 * @property {string} method
 * @property {string} url path and query, as the client sent them
 * @property {IncomingHttpHeaders} headers lower-case names; Authorization included, for tests
 *   that prove where credentials went
 * @property {number} [status] what the imitation answered, once it has
 * @property {string} [location] its Location header, for a redirect (signature included)
 *
 * @typedef {object} ImitationServer
 * @property {string} name the host name it answers for
 * @property {number} port
 * @property {string} address `127.0.0.1:<port>`, the value for the proxy's `hosts`
 * @property {RecordedRequest[]} requests every request, in arrival order
 * @property {number} connections TLS connections accepted so far ('secureConnection' events)
 * @property {number} maxInFlight the most requests it was answering at once
 * @property {() => Promise<void>} close destroys open sockets; resolves once closed
 *
 * @typedef {object} Repository
 * @property {string[]} tags
 * @property {boolean} [public] anyone may pull, anonymous tokens included
 * @property {string[]} [users] who may pull it when it is not public; every user when absent
 * @property {boolean} [terms] registry.access.redhat.com only: refused until terms are accepted
 * @property {string[]} [platforms] `os/arch[/variant]` of its images (default DEFAULT_PLATFORMS)
 * @property {boolean} [index] an index even for one platform (default: an index exactly when
 *   there are several platforms)
 * @property {'oci' | 'docker'} [format] media types (default: the registry's; `docker` for Red
 *   Hat's and quay.io, `oci` for the others)
 *
 * @typedef {object} ImitationOptions
 * @property {Certificates} tls a certificate that names the imitated hosts (IMITATED_HOSTS)
 * @property {Record<string, string>} [users] user name → password
 * @property {Record<string, Repository>} [repos] repository → what it holds and who may pull it
 * @property {number} [delayMs] answer every request this much later (to see how many overlap)
 *
 * @typedef {object} Imitation
 * @property {Record<string, ImitationServer>} servers by host name
 * @property {Record<string, string>} hosts host name → `127.0.0.1:<port>`, for startConnectProxy
 * @property {RecordedRequest[]} requests every server's requests, in arrival order
 * @property {string[]} issuedTokens every token issued, for leak checks
 * @property {string[]} signatures every signature in a blob redirect it sent (the secret parts of
 *   the signed URLs), for leak checks
 * @property {(repo: string, ref: string) => import('./oci-images.mjs').BuiltImage | undefined} image
 *   the image a tag (or the digest of its index or manifest) names, to compute digests in tests
 * @property {() => Promise<void>} close closes every server
 *
 * @typedef {object} Grant
 * @property {string} identity '' for an anonymous token
 * @property {Set<string>} repos repositories the token may pull
 *
 * @typedef {(req: IncomingMessage, res: ServerResponse, url: URL) => void} Route
 */

/**
 * Sends a whole answer. Content-Length is that of the body even for HEAD, as HTTP has it; the body
 * itself never goes to a HEAD. Node adds `Date`.
 * @param {IncomingMessage} req
 * @param {ServerResponse} res
 * @param {number} status
 * @param {Record<string, string>} headers
 * @param {string | Buffer} [body]
 */
function send(req, res, status, headers, body = '') {
  const bytes = Buffer.from(body)
  // Set one by one rather than given to writeHead, so that the recorder can read them back.
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value)
  res.setHeader('Content-Length', String(bytes.length))
  res.writeHead(status)
  res.end(req.method === 'HEAD' ? undefined : bytes)
}

/**
 * One HTTPS server on 127.0.0.1 for one host name: records every request, counts TLS connections,
 * turns a route that throws into a 500 (and a line on stderr) rather than a hang.
 * @param {Certificates} tls
 * @param {string} name
 * @param {Route} route
 * @param {number} delayMs
 * @returns {Promise<ImitationServer>}
 */
async function startHost(tls, name, route, delayMs) {
  /** @type {RecordedRequest[]} */
  const requests = []
  let connections = 0
  let inFlight = 0
  let maxInFlight = 0
  /** @type {Set<NodeJS.Timeout>} */
  const timers = new Set()
  const server = https.createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    /** @type {RecordedRequest} */
    const record = {
      server: name,
      method: req.method ?? '',
      url: req.url ?? '',
      headers: { ...req.headers },
    }
    requests.push(record)
    res.once('finish', () => {
      record.status = res.statusCode
      const location = res.getHeader('location')
      if (location !== undefined) record.location = String(location)
    })
    req.resume()
    inFlight += 1
    maxInFlight = Math.max(maxInFlight, inFlight)
    res.once('close', () => (inFlight -= 1))
    const answer = () => {
      try {
        // Glued to a fixed origin: the path stays a path whatever it holds.
        route(req, res, new URL(`https://${name}${req.url ?? '/'}`))
      } catch (error) {
        console.error(`${name} imitation: route failed on ${req.method} ${req.url}:`, error)
        if (res.headersSent) res.destroy()
        else send(req, res, 500, { 'Content-Type': 'text/plain' }, 'route failed')
      }
    }
    if (delayMs <= 0) return answer()
    const timer = setTimeout(() => {
      timers.delete(timer)
      answer()
    }, delayMs)
    timers.add(timer)
  })
  server.on('secureConnection', () => (connections += 1))
  // A client that hangs up mid-handshake is expected, not a reason to crash.
  server.on('tlsClientError', () => {})
  const close = closer(
    server,
    () => {
      for (const timer of timers) clearTimeout(timer)
    },
    `${name} imitation`,
  )
  const port = await listen(server)

  return {
    name,
    port,
    address: `${LOOPBACK}:${port}`,
    requests,
    get connections() {
      return connections
    },
    get maxInFlight() {
      return maxInFlight
    },
    close,
  }
}

/**
 * Starts one server per host name and bundles them.
 * @param {{ tls: Certificates, delayMs?: number }} options
 * @param {Record<string, Route>} routes host name → its route
 * @param {string[]} issuedTokens
 * @param {Catalog} catalog
 * @returns {Promise<Imitation>}
 */
async function startImitation({ tls, delayMs = 0 }, routes, issuedTokens, catalog) {
  const list = await Promise.all(
    Object.entries(routes).map(([name, route]) => startHost(tls, name, route, delayMs)),
  )
  const servers = Object.fromEntries(list.map((s) => [s.name, s]))
  return {
    servers,
    hosts: Object.fromEntries(list.map((s) => [s.name, s.address])),
    get requests() {
      return list.flatMap((s) => s.requests)
    },
    issuedTokens,
    signatures: catalog.signatures,
    image: catalog.image,
    close: async () => {
      await Promise.all(list.map((s) => s.close()))
    },
  }
}

/**
 * Tokens and what they grant, shared by a registry and its token service.
 * @param {ImitationOptions} options
 * @param {{ prefix?: string, grantMissing?: boolean }} [flavour] `prefix` starts every token
 *   (`eyJ` for JWTs, `djE6` for ghcr's); `grantMissing` grants a repository that does not exist
 *   to an authenticated user, so that the registry answers 404 for it (Red Hat) rather than 401
 *   (Docker Hub, quay.io)
 */
function authority(options, { prefix = 'eyJ', grantMissing = false } = {}) {
  const { users = {}, repos = {} } = options
  /** @type {Map<string, Grant>} */
  const grants = new Map()
  /** @type {string[]} */
  const issuedTokens = []

  /** @param {string} identity @param {string} repo */
  const mayPull = (identity, repo) => {
    const entry = Object.hasOwn(repos, repo) ? repos[repo] : undefined
    if (!entry) return grantMissing && identity !== ''
    if (entry.public) return true
    return identity !== '' && (!entry.users || entry.users.includes(identity))
  }

  return {
    issuedTokens,
    mayPull,
    /** @param {IncomingMessage} req */
    login: (req) => basicUser(req.headers.authorization, passwordsIn(users)),
    /**
     * A new token for these repositories, granting those the identity may pull (a partial grant
     * is still a token).
     * @param {string} identity
     * @param {string[]} wanted
     */
    issue(identity, wanted) {
      const token = `${prefix}${randomBytes(32).toString('base64url')}`
      grants.set(token, { identity, repos: new Set(wanted.filter((r) => mayPull(identity, r))) })
      issuedTokens.push(token)
      return token
    },
    /**
     * The grant a `Bearer` header carries, if it is one this authority issued.
     * @param {IncomingMessage} req
     * @returns {Grant | undefined}
     */
    grantOf(req) {
      const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1]
      return token === undefined ? undefined : grants.get(token)
    },
    /** @param {string} repo */
    repo: (repo) => (Object.hasOwn(repos, repo) ? repos[repo] : undefined),
  }
}

/**
 * A Bearer challenge as the distribution registry writes it.
 * @param {string} realm
 * @param {string} service
 * @param {string} [scope]
 * @param {string} [error]
 */
const bearer = (realm, service, scope, error) =>
  [
    `Bearer realm="${realm}"`,
    `service="${service}"`,
    ...(scope ? [`scope="${scope}"`] : []),
    ...(error ? [`error="${error}"`] : []),
  ].join(',')

/**
 * @typedef {import('./oci-images.mjs').BuiltImage} BuiltImage
 * @typedef {import('./oci-images.mjs').Content} Content
 *
 * @typedef {object} Catalog what an imitation's repositories hold, built on first use
 * @property {(repo: string, ref: string) => BuiltImage | undefined} image the image a tag, or the
 *   digest of its index or of one of its manifests, belongs to
 * @property {(repo: string, ref: string) => { content: Content, pull: boolean } | undefined} manifest
 *   what `/v2/<repo>/manifests/<ref>` answers; `pull` when it is what a tag names (the GET Docker
 *   Hub counts), not a platform's manifest read after it
 * @property {(repo: string, digest: string) => Content | undefined} blob a blob of one of the
 *   repository's images
 * @property {string[]} signatures every secret of every signed URL sent for a blob
 */

/**
 * @param {Record<string, Repository>} repos
 * @param {'oci' | 'docker'} format the registry's media types, unless an entry says otherwise
 * @returns {Catalog}
 */
function catalog(repos, format) {
  /** @type {Map<string, BuiltImage>} */
  const built = new Map()
  /** @param {string} repo @param {string} tag */
  const imageOf = (repo, tag) => {
    const key = `${repo}:${tag}`
    let image = built.get(key)
    if (!image) {
      const entry = repos[repo]
      image = buildImage(key, {
        platforms: entry.platforms ?? DEFAULT_PLATFORMS,
        index: entry.index,
        format: entry.format ?? format,
      })
      for (const blob of image.blobsByDigest.values()) publishBlob(blob)
      built.set(key, image)
    }
    return image
  }
  /** @param {string} repo @returns {BuiltImage[]} */
  const imagesOf = (repo) =>
    Object.hasOwn(repos, repo) ? repos[repo].tags.map((tag) => imageOf(repo, tag)) : []
  /** @type {Catalog['image']} */
  const image = (repo, ref) => {
    if (!Object.hasOwn(repos, repo)) return undefined
    if (repos[repo].tags.includes(ref)) return imageOf(repo, ref)
    return imagesOf(repo).find((i) => i.manifestsByDigest.has(ref))
  }
  return {
    image,
    manifest(repo, ref) {
      const found = image(repo, ref)
      if (!found) return undefined
      const content = found.manifestsByDigest.get(ref) ?? found.top
      return { content, pull: content.digest === found.top.digest }
    },
    blob: (repo, digest) =>
      imagesOf(repo)
        .map((i) => i.blobsByDigest.get(digest))
        .find((b) => b !== undefined),
    signatures: [],
  }
}

/** @param {Content} manifest */
const manifestHeaders = (manifest) => ({
  ...API_VERSION,
  'Content-Type': manifest.mediaType,
  'Docker-Content-Digest': manifest.digest,
  Etag: `"${manifest.digest}"`,
})

/**
 * A blob, as a registry whose blobs live elsewhere answers for it: a redirect to a signed URL on
 * its blob host (GET and HEAD alike, each signed for its own method), or, with no blob host, the
 * bytes (Range honoured), as distribution with filesystem storage does.
 * @param {IncomingMessage} req
 * @param {ServerResponse} res
 * @param {Catalog} cat
 * @param {Content} blob
 * @param {{ host: import('./blob-hosts.mjs').BlobHost, style: 'flask' | 'go' } | undefined} via
 */
function sendBlob(req, res, cat, blob, via) {
  if (!via)
    return sendBytes(req, res, blob.data, {
      ...API_VERSION,
      'Docker-Content-Digest': blob.digest,
      Etag: `"${blob.digest}"`,
    })
  const { url, secrets } = via.host.sign(req.method ?? 'GET', blob.digest)
  cat.signatures.push(...secrets)
  const body = req.method === 'GET' ? redirectBody(via.style, via.host.status, url) : ''
  send(
    req,
    res,
    via.host.status,
    { ...API_VERSION, Location: url, 'Content-Type': 'text/html; charset=utf-8' },
    body,
  )
}

/**
 * @typedef {{ host: import('./blob-hosts.mjs').BlobHost, style: 'flask' | 'go' } | undefined} BlobRoute
 *   where a registry sends clients for blobs (undefined: it serves them itself)
 */

/**
 * The answer to a manifest or blob request the registry has authorized for the repository: the
 * manifest (its own media type and digest), or the blob (sendBlob), or 404 with `unknown` (the
 * registry's body for a missing manifest) or distribution's BLOB_UNKNOWN.
 * @param {IncomingMessage} req
 * @param {ServerResponse} res
 * @param {{ cat: Catalog, repo: string, kind: string, ref: string, via: BlobRoute, unknown: string, extra?: Record<string, string> }} o
 *   extra: more headers for a manifest answer (Docker Hub's rate limits)
 */
function answerObject(req, res, { cat, repo, kind, ref, via, unknown, extra = {} }) {
  const headers = { ...API_VERSION, 'Content-Type': JSON_TYPE }
  if (kind === 'blobs') {
    const blob = cat.blob(repo, ref)
    if (!blob)
      return send(req, res, 404, headers, errors('BLOB_UNKNOWN', 'blob unknown to registry', ref))
    return sendBlob(req, res, cat, blob, via)
  }
  const found = cat.manifest(repo, ref)
  if (!found) return send(req, res, 404, { ...headers, ...extra }, unknown)
  send(req, res, 200, { ...manifestHeaders(found.content), ...extra }, found.content.data)
}

/** @param {RegExpExecArray} match of OBJECT_PATH */
const objectOf = (match) => ({
  repo: decodeURIComponent(match[1]),
  kind: match[2],
  ref: decodeURIComponent(match[3]),
})

/**
 * registry.redhat.io as it answers today: the token service on the registry's own host (realm
 * `https://registry.redhat.io/auth/realms/rhcc/…`, service `docker-registry`); and sso.redhat.com,
 * the older realm still in many scripts, which issues the same tokens. Anonymous token requests
 * get 401 "Please login to the Red Hat Registry…"; a repository that does not exist answers 404
 * with Red Hat's non-standard `{"errors":[{"code":"404","message":"Not Found"}]}`.
 * @param {ImitationOptions} options
 * @returns {Promise<Imitation>}
 */
export async function startRedHatRegistry(options) {
  const auth = authority(options, { grantMissing: true })
  const token = tokenService(auth, 'Red Hat')
  const cat = catalog(options.repos ?? {}, 'docker')
  const via = { host: BLOB_HOST.quay, style: /** @type {const} */ ('flask') }
  return startImitation(
    options,
    {
      'registry.redhat.io': redHatRegistryRoute(auth, RHCC_REALM, RHCC_TOKEN_PATH, token, cat, via),
      'sso.redhat.com': (req, res, url) => {
        if (url.pathname === RHCC_TOKEN_PATH) return token(req, res, url)
        send(req, res, 404, { 'Content-Type': 'text/html' }, '<html><body>Not Found</body></html>')
      },
      [BLOB_HOST.quay.name]: BLOB_HOST.quay.route,
    },
    auth.issuedTokens,
    cat,
  )
}

/**
 * registry.connect.redhat.com (partner images): the same software as registry.redhat.io, with the
 * `rhc4tp` realm on its own host.
 * @param {ImitationOptions} options
 * @returns {Promise<Imitation>}
 */
export async function startRedHatConnect(options) {
  const auth = authority(options, { grantMissing: true })
  const token = tokenService(auth, 'Red Hat')
  const cat = catalog(options.repos ?? {}, 'docker')
  const via = { host: BLOB_HOST.rhc4tp, style: /** @type {const} */ ('flask') }
  return startImitation(
    options,
    {
      'registry.connect.redhat.com': redHatRegistryRoute(
        auth,
        RHC4TP_REALM,
        RHC4TP_TOKEN_PATH,
        token,
        cat,
        via,
      ),
      [BLOB_HOST.rhc4tp.name]: BLOB_HOST.rhc4tp.route,
    },
    auth.issuedTokens,
    cat,
  )
}

/**
 * @param {ReturnType<typeof authority>} auth
 * @param {'Red Hat' | 'Docker Hub' | 'quay.io' | 'ghcr.io'} flavour
 * @returns {Route}
 */
function tokenService(auth, flavour) {
  return (req, res, url) => {
    const json = { 'Content-Type': JSON_TYPE }
    const user = auth.login(req)
    if (user === undefined) {
      // Credentials that are wrong: Red Hat's and Docker Hub's words; quay.io's and ghcr.io's approximated.
      const body = {
        'Red Hat': RED_HAT_BAD_LOGIN,
        'Docker Hub': JSON.stringify({ details: 'incorrect username or password' }),
        'quay.io': JSON.stringify({ error: 'Invalid Username or Password' }),
        'ghcr.io': GHCR_DENIED,
      }[flavour]
      return send(req, res, 401, json, body)
    }
    if (user === null && flavour === 'Red Hat')
      return send(req, res, 401, json, RED_HAT_PLEASE_LOGIN)
    const token = auth.issue(user ?? '', pullScopes(url.searchParams))
    const now = new Date().toISOString()
    /** @type {Record<string, unknown>} */
    const body = {
      // ghcr.io and quay.io send only the token: no expires_in (60 s per the spec), no issued_at.
      'Red Hat': { token, access_token: token, expires_in: 300, issued_at: now },
      'Docker Hub': { token, access_token: token, expires_in: 300, issued_at: now },
      'quay.io': { token },
      'ghcr.io': { token },
    }[flavour]
    send(req, res, 200, json, JSON.stringify(body))
  }
}

/**
 * @param {ReturnType<typeof authority>} auth
 * @param {string} realm
 * @param {string} tokenPath
 * @param {Route} token
 * @param {Catalog} cat
 * @param {BlobRoute} via
 * @returns {Route}
 */
function redHatRegistryRoute(auth, realm, tokenPath, token, cat, via) {
  const service = 'docker-registry'
  return (req, res, url) => {
    const headers = { ...API_VERSION, 'Content-Type': JSON_TYPE }
    if (url.pathname === tokenPath) return token(req, res, url)
    const grant = auth.grantOf(req)
    if (url.pathname === '/v2/') {
      if (grant) return send(req, res, 200, headers, '{}')
      const www = bearer(realm, service)
      return send(req, res, 401, { ...headers, 'WWW-Authenticate': www }, RED_HAT_UNAUTHORIZED)
    }
    const match = OBJECT_PATH.exec(url.pathname)
    if (!match) return send(req, res, 404, headers, RED_HAT_NOT_FOUND)
    const { repo, kind, ref } = objectOf(match)
    if (!grant?.repos.has(repo)) {
      const www = bearer(realm, service, `repository:${repo}:pull`, grant && 'insufficient_scope')
      return send(req, res, 401, { ...headers, 'WWW-Authenticate': www }, RED_HAT_PLEASE_LOGIN)
    }
    if (!auth.repo(repo)) return send(req, res, 404, headers, RED_HAT_NOT_FOUND)
    answerObject(req, res, { cat, repo, kind, ref, via, unknown: MANIFEST_UNKNOWN })
  }
}

/**
 * registry.access.redhat.com: anonymous. `/v2/` answers 200 `{}` without any token; a repository
 * marked `terms` answers 403 "This repo requires terms acceptance and is only available on
 * registry.redhat.io" (code UNSUPPORTED, as podman and docker print it); an unknown one, 404.
 * @param {Omit<ImitationOptions, 'users'>} options
 * @returns {Promise<Imitation>}
 */
export async function startRedHatAccess(options) {
  const { repos = {} } = options
  const cat = catalog(repos, 'docker')
  const via = { host: BLOB_HOST.quay, style: /** @type {const} */ ('flask') }
  return startImitation(
    options,
    {
      'registry.access.redhat.com': (req, res, url) => {
        const headers = { ...API_VERSION, 'Content-Type': JSON_TYPE }
        if (url.pathname === '/v2/') return send(req, res, 200, headers, '{}')
        const match = OBJECT_PATH.exec(url.pathname)
        if (!match) return send(req, res, 404, headers, RED_HAT_NOT_FOUND)
        const { repo, kind, ref } = objectOf(match)
        const entry = Object.hasOwn(repos, repo) ? repos[repo] : undefined
        if (!entry) return send(req, res, 404, headers, RED_HAT_NOT_FOUND)
        if (entry.terms) return send(req, res, 403, headers, errors('UNSUPPORTED', TERMS_MESSAGE))
        answerObject(req, res, { cat, repo, kind, ref, via, unknown: MANIFEST_UNKNOWN })
      },
      [BLOB_HOST.quay.name]: BLOB_HOST.quay.route,
    },
    [],
    cat,
  )
}

/**
 * @typedef {object} DockerHubOptions
 * @property {string} [anonymousSource] what `docker-ratelimit-source` says for anonymous pulls:
 *   the runner's public address (a documentation address by default)
 * @property {number} [anonymousLimit] pulls per window for anonymous tokens (100)
 * @property {number} [authenticatedLimit] pulls per window for a logged-in account (200)
 * @property {number} [windowSeconds] 21600 (six hours)
 * @property {number} [pullsUsed] pulls already counted for the anonymous source when it starts
 *
 * @typedef {object} DockerHubExtras
 * @property {(source?: string) => number} pullsLeft what `ratelimit-remaining` says now for a
 *   source (the anonymous one by default)
 * @property {(user: string) => string} sourceOf the `docker-ratelimit-source` of a logged-in user
 *
 * @typedef {Imitation & DockerHubExtras} DockerHub
 */

/**
 * Docker Hub: the registry on registry-1.docker.io, its token service on auth.docker.io (which
 * issues tokens to anyone, with access only to what the caller may pull). A repository the token
 * does not cover, private or missing, answers 401 UNAUTHORIZED with `error="insufficient_scope"`.
 * Every manifest answer to a token carries `ratelimit-limit: <n>;w=<window>`,
 * `ratelimit-remaining: <n>;w=<window>` and `docker-ratelimit-source`; a GET that returns a
 * manifest counts as a pull, a HEAD never does.
 * @param {ImitationOptions & DockerHubOptions} options
 * @returns {Promise<DockerHub>}
 */
export async function startDockerHub(options) {
  const {
    anonymousSource = '198.51.100.23',
    anonymousLimit = 100,
    authenticatedLimit = 200,
    windowSeconds = 21600,
    pullsUsed = 0,
  } = options
  const auth = authority(options)
  const cat = catalog(options.repos ?? {}, 'oci')
  const via = { host: BLOB_HOST.dockerHub, style: /** @type {const} */ ('go') }
  const realm = DOCKER_HUB_REALM
  const service = 'registry.docker.io'
  /** @type {Map<string, string>} user → a stable account id, as Docker Hub reports it */
  const accounts = new Map()
  /** @param {string} user */
  const sourceOf = (user) => {
    if (!accounts.has(user)) accounts.set(user, randomUUID())
    return /** @type {string} */ (accounts.get(user))
  }
  /** @type {Map<string, number>} source → pulls counted in this window */
  const pulls = new Map([[anonymousSource, pullsUsed]])
  /** @param {string} source */
  const limitOf = (source) => (source === anonymousSource ? anonymousLimit : authenticatedLimit)
  /** @param {string} source */
  const pullsLeft = (source = anonymousSource) =>
    Math.max(0, limitOf(source) - (pulls.get(source) ?? 0))

  /** @type {Route} */
  const registry = (req, res, url) => {
    const headers = { ...API_VERSION, 'Content-Type': JSON_TYPE }
    const grant = auth.grantOf(req)
    if (url.pathname === '/v2/') {
      if (grant) return send(req, res, 200, headers, '{}')
      const www = bearer(realm, service)
      return send(req, res, 401, { ...headers, 'WWW-Authenticate': www }, DOCKER_AUTH_REQUIRED)
    }
    const match = OBJECT_PATH.exec(url.pathname)
    if (!match) return send(req, res, 404, headers, errors('NOT_FOUND', 'not found'))
    const { repo, kind, ref } = objectOf(match)
    if (!grant?.repos.has(repo)) {
      const www = bearer(realm, service, `repository:${repo}:pull`, grant && 'insufficient_scope')
      const detail = [{ Type: 'repository', Class: '', Name: repo, Action: 'pull' }]
      const body = errors('UNAUTHORIZED', 'authentication required', detail)
      return send(req, res, 401, { ...headers, 'WWW-Authenticate': www }, body)
    }
    if (kind === 'blobs') return answerObject(req, res, { cat, repo, kind, ref, via, unknown: '' })
    const source = grant.identity === '' ? anonymousSource : sourceOf(grant.identity)
    // A GET of what a tag names is a pull; the platform's manifest read after it is part of the
    // same pull ("up to two GET requests"); a HEAD never counts.
    if (req.method === 'GET' && cat.manifest(repo, ref)?.pull)
      pulls.set(source, (pulls.get(source) ?? 0) + 1)
    const limits = {
      'ratelimit-limit': `${limitOf(source)};w=${windowSeconds}`,
      'ratelimit-remaining': `${pullsLeft(source)};w=${windowSeconds}`,
      'docker-ratelimit-source': source,
    }
    const unknown = errors('MANIFEST_UNKNOWN', 'manifest unknown', `unknown tag=${ref}`)
    answerObject(req, res, { cat, repo, kind, ref, via, unknown, extra: limits })
  }

  /** @type {Route} */
  const authService = (req, res, url) => {
    if (url.pathname !== '/token')
      return send(req, res, 404, { 'Content-Type': 'text/plain' }, '404 page not found\n')
    tokenService(auth, 'Docker Hub')(req, res, url)
  }

  const imitation = await startImitation(
    options,
    {
      'registry-1.docker.io': registry,
      'auth.docker.io': authService,
      [BLOB_HOST.dockerHub.name]: BLOB_HOST.dockerHub.route,
    },
    auth.issuedTokens,
    cat,
  )
  return Object.assign(imitation, { pullsLeft, sourceOf })
}

/**
 * quay.io: `/v2/` challenges with `Basic realm="quay.io", Bearer realm="https://quay.io/v2/auth",
 * service="quay.io"` in one header; the token service (on quay.io itself) issues anonymous tokens
 * and answers with `{"token"}` only; a repository that is missing or not pullable answers 401
 * UNAUTHORIZED "access to the requested resource is not authorized", the same for both. Its
 * manifests and blobs also answer a client that took the Basic challenge (as containers/image
 * does, the first challenge being Basic): a robot's Basic credentials, or an empty Basic pair or
 * none at all for a public repository.
 * @param {ImitationOptions} options
 * @returns {Promise<Imitation>}
 */
export async function startQuay(options) {
  const auth = authority(options)
  const token = tokenService(auth, 'quay.io')
  const cat = catalog(options.repos ?? {}, 'docker')
  const via = { host: BLOB_HOST.quay, style: /** @type {const} */ ('flask') }
  const challenge = `Basic realm="quay.io", ${bearer(QUAY_REALM, 'quay.io')}`
  /** @param {IncomingMessage} req @param {string} repo */
  const mayRead = (req, repo) => {
    const header = req.headers.authorization ?? ''
    const grant = auth.grantOf(req)
    if (grant || /^Bearer\s/i.test(header)) return grant?.repos.has(repo) ?? false
    const user = auth.login(req)
    if (typeof user === 'string') return auth.mayPull(user, repo)
    const anonymous = user === null || /^Basic\s+Og==$/i.test(header) // none, or `:`
    return anonymous && auth.mayPull('', repo)
  }
  return startImitation(
    options,
    {
      'quay.io': (req, res, url) => {
        const headers = { ...API_VERSION, 'Content-Type': JSON_TYPE }
        if (url.pathname === '/v2/auth') return token(req, res, url)
        const grant = auth.grantOf(req)
        if (url.pathname === '/v2/') {
          if (grant) return send(req, res, 200, headers, '{}')
          return send(
            req,
            res,
            401,
            { ...headers, 'WWW-Authenticate': challenge },
            QUAY_UNAUTHORIZED,
          )
        }
        const match = OBJECT_PATH.exec(url.pathname)
        if (!match)
          return send(
            req,
            res,
            404,
            { 'Content-Type': 'text/html' },
            '<!DOCTYPE html><title>404 Not Found</title>',
          )
        const { repo, kind, ref } = objectOf(match)
        if (!mayRead(req, repo)) {
          const www = bearer(
            QUAY_REALM,
            'quay.io',
            `repository:${repo}:pull`,
            grant && 'insufficient_scope',
          )
          return send(req, res, 401, { ...headers, 'WWW-Authenticate': www }, QUAY_UNAUTHORIZED)
        }
        answerObject(req, res, { cat, repo, kind, ref, via, unknown: QUAY_MANIFEST_UNKNOWN })
      },
      [BLOB_HOST.quay.name]: BLOB_HOST.quay.route,
    },
    auth.issuedTokens,
    cat,
  )
}

/**
 * ghcr.io: `/v2/` challenges with `Bearer realm="https://ghcr.io/token",service="ghcr.io",
 * scope="repository:user/image:pull"` (a placeholder scope, as the real one sends); /token issues
 * anonymous tokens for public images, as `{"token":"djE6…"}` with no `expires_in`.
 * @param {ImitationOptions} options
 * @returns {Promise<Imitation>}
 */
export async function startGhcr(options) {
  const auth = authority(options, { prefix: 'djE6' })
  const token = tokenService(auth, 'ghcr.io')
  const cat = catalog(options.repos ?? {}, 'oci')
  const via = { host: BLOB_HOST.ghcr, style: /** @type {const} */ ('go') }
  return startImitation(
    options,
    {
      'ghcr.io': (req, res, url) => {
        const headers = { ...API_VERSION, 'Content-Type': JSON_TYPE }
        if (url.pathname === '/token') return token(req, res, url)
        const grant = auth.grantOf(req)
        if (url.pathname === '/v2/') {
          if (grant) return send(req, res, 200, headers, '{}')
          const www = bearer(GHCR_REALM, 'ghcr.io', 'repository:user/image:pull')
          return send(req, res, 401, { ...headers, 'WWW-Authenticate': www }, GHCR_AUTH_REQUIRED)
        }
        const match = OBJECT_PATH.exec(url.pathname)
        if (!match) return send(req, res, 404, headers, errors('NOT_FOUND', 'not found'))
        const { repo, kind, ref } = objectOf(match)
        if (!grant?.repos.has(repo)) {
          const www = bearer(GHCR_REALM, 'ghcr.io', `repository:${repo}:pull`)
          return send(req, res, 401, { ...headers, 'WWW-Authenticate': www }, GHCR_AUTH_REQUIRED)
        }
        answerObject(req, res, { cat, repo, kind, ref, via, unknown: MANIFEST_UNKNOWN })
      },
      [BLOB_HOST.ghcr.name]: BLOB_HOST.ghcr.route,
    },
    auth.issuedTokens,
    cat,
  )
}

/**
 * A private distribution registry (`registry:2` with htpasswd) on PRIVATE_REGISTRY: `/v2/` and
 * every manifest and blob want HTTP Basic (`Basic realm="Registry Realm"`), and no token service
 * exists. Its storage is its own disk: it serves blobs itself (200, or 206 for a Range).
 * @param {ImitationOptions} options
 * @returns {Promise<Imitation>}
 */
export async function startDistribution(options) {
  const { users = {}, repos = {} } = options
  const cat = catalog(repos, 'oci')
  const challenge = 'Basic realm="Registry Realm"'
  return startImitation(
    options,
    {
      [PRIVATE_REGISTRY]: (req, res, url) => {
        const headers = { ...API_VERSION, 'Content-Type': JSON_TYPE }
        if (typeof basicUser(req.headers.authorization, passwordsIn(users)) !== 'string') {
          const body = errors('UNAUTHORIZED', 'authentication required', null)
          return send(req, res, 401, { ...headers, 'WWW-Authenticate': challenge }, body)
        }
        if (url.pathname === '/v2/') return send(req, res, 200, headers, '{}')
        const match = OBJECT_PATH.exec(url.pathname)
        if (!match) return send(req, res, 404, headers, errors('NOT_FOUND', 'not found'))
        const { repo, kind, ref } = objectOf(match)
        const entry = Object.hasOwn(repos, repo) ? repos[repo] : undefined
        if (!entry) {
          const body = errors('NAME_UNKNOWN', 'repository name not known to registry', {
            name: repo,
          })
          return send(req, res, 404, headers, body)
        }
        const unknown = errors('MANIFEST_UNKNOWN', 'manifest unknown', { Tag: ref })
        answerObject(req, res, { cat, repo, kind, ref, via: undefined, unknown })
      },
    },
    [],
    cat,
  )
}
