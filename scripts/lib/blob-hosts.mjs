// The hosts a pull's layers come from, as the public registries send clients to them: a registry
// answers `GET /v2/<repo>/blobs/<digest>` with a redirect to a signed URL on a CDN or a bucket, and
// that host serves the bytes only for a good, unexpired signature, issued for that method.
//   cdn01.quay.io                        registry.redhat.io, registry.access.redhat.com and quay.io
//                                        (302; S3 SigV4 parameters plus quay's cf_sign/cf_expiry)
//   rhc4tp-prod-….s3.dualstack.us-east-1.amazonaws.com
//                                        registry.connect.redhat.com (302; an S3 presigned URL: a
//                                        request that also carries Authorization gets S3's 400)
//   production.cloudflare.docker.com     Docker Hub (307; `verify=<expiry>-<signature>`)
//   pkg-containers.githubusercontent.com ghcr.io (307; an Azure SAS: se, sig, sp, spr, sr, sv)
// The loopback imitations (registries.mjs) run one server per host name. Every imitation in this
// process shares one signing key and one store of blobs (content-addressed), so that any server for
// a host name serves what any imitation signed: two imitations that both send clients to
// cdn01.quay.io (Red Hat and quay.io) work whichever of them the proxy's `hosts` map picks.
import { createHmac, randomBytes } from 'node:crypto'
import { URLSearchParams } from 'node:url'
import { sendBytes, s3Error } from './blob-cdn.mjs'

export const QUAY_CDN = 'cdn01.quay.io'
export const RHC4TP_BUCKET =
  'rhc4tp-prod-z8cxpypmfm5gd2tbkgs2obtbu.s3.dualstack.us-east-1.amazonaws.com'
export const DOCKER_HUB_CDN = 'production.cloudflare.docker.com'
export const GHCR_CDN = 'pkg-containers.githubusercontent.com'
/** Every blob host an imitation answers for: the test certificate must name them. */
export const BLOB_HOSTS = [QUAY_CDN, RHC4TP_BUCKET, DOCKER_HUB_CDN, GHCR_CDN]

/**
 * @typedef {import('node:http').IncomingMessage} IncomingMessage
 * @typedef {import('node:http').ServerResponse} ServerResponse
 *
 * @typedef {object} SignedUrl
 * @property {string} url the whole URL, query included
 * @property {string[]} secrets the values in it that are credentials of sorts (signatures)
 *
 * @typedef {object} Failure
 * @property {number} status
 * @property {string} type Content-Type
 * @property {string} body
 *
 * @typedef {object} BlobHost
 * @property {string} name its host name
 * @property {302 | 307} status how the registry redirects to it
 * @property {(method: string, digest: string) => SignedUrl} sign a URL for one blob and method
 * @property {(req: IncomingMessage, res: ServerResponse, url: URL) => void} route its server
 */

/** Every blob an imitation serves, by digest (content-addressed: one store for all of them). */
const BLOBS = new Map()
/** The one signing key of every blob host in this process. */
const KEY = randomBytes(32)

/**
 * Makes a blob servable by every blob host.
 * @param {{ digest: string, data: Buffer }} blob
 */
export function publishBlob(blob) {
  BLOBS.set(blob.digest, blob.data)
}

/** @param {...string} parts */
const mac = (...parts) => createHmac('sha256', KEY).update(parts.join('\n')).digest()
/** @param {number} ms */
const amzDate = (ms) => new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '')
/** @param {string} text `20261129T212814Z` */
const fromAmzDate = (text) => {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text)
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : NaN
}
/** @param {string} digest */
const hexOf = (digest) => digest.replace(/^sha256:/, '')
/** @param {string} hex */
const storagePath = (hex) => `/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`

/**
 * SigV4's query parameters, with a signature over method, host, path and date.
 * @param {string} host
 * @param {string} method
 * @param {string} path
 * @param {number} expiresS
 */
function amzQuery(host, method, path, expiresS) {
  const date = amzDate(Date.now())
  const signature = mac(method, host, path, date).toString('hex')
  const query = new URLSearchParams({
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `ASIATESTQUAYCDN0EXMPL/${date.slice(0, 8)}/us-east-1/s3/aws4_request`,
    'X-Amz-Date': date,
    'X-Amz-Expires': String(expiresS),
    'X-Amz-SignedHeaders': 'host',
    'X-Amz-Signature': signature,
  })
  return { query, signature }
}

/**
 * Whether SigV4 parameters are good for this request: the signature, and the date within expiry.
 * @param {string} host
 * @param {string} method
 * @param {URL} url
 * @returns {'ok' | 'expired' | 'bad'}
 */
function amzVerdict(host, method, url) {
  const q = url.searchParams
  const date = q.get('X-Amz-Date') ?? ''
  const expected = mac(method, host, url.pathname, date).toString('hex')
  if (q.get('X-Amz-Signature') !== expected) return 'bad'
  const expires = Number(q.get('X-Amz-Expires'))
  return Date.now() > fromAmzDate(date) + expires * 1000 ? 'expired' : 'ok'
}

/** @param {string} code @param {string} message @returns {Failure} */
const s3Failure = (code, message) => ({
  status: 403,
  type: 'application/xml',
  body: s3Error(code, message),
})
const SIGNATURE_MISMATCH = s3Failure(
  'SignatureDoesNotMatch',
  'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
)
const EXPIRED = s3Failure('AccessDenied', 'Request has expired')
const NOT_FOUND = {
  status: 404,
  type: 'application/xml',
  body: s3Error('NoSuchKey', 'The specified key does not exist.'),
}

/**
 * The server of a blob host: GET and HEAD only; the digest read from the path; the signature
 * checked (`check` answers a Failure, or undefined when the request may have the blob); then the
 * blob, with Range.
 * @param {(path: string) => string | undefined} digestOf
 * @param {(req: IncomingMessage, url: URL) => Failure | undefined} check
 * @returns {BlobHost['route']}
 */
function blobRoute(digestOf, check) {
  return (req, res, url) => {
    /** @param {Failure} f */
    const fail = (f) => {
      const body = Buffer.from(f.body)
      res.writeHead(f.status, { 'Content-Type': f.type, 'Content-Length': String(body.length) })
      res.end(req.method === 'HEAD' ? undefined : body)
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return fail({
        status: 405,
        type: 'application/xml',
        body: s3Error('MethodNotAllowed', 'The specified method is not allowed.'),
      })
    const digest = digestOf(url.pathname)
    const data = digest === undefined ? undefined : BLOBS.get(digest)
    if (digest === undefined) return fail(NOT_FOUND)
    const refused = check(req, url)
    if (refused) return fail(refused)
    if (!data) return fail(NOT_FOUND)
    sendBytes(req, res, data, { ETag: `"${hexOf(digest).slice(0, 32)}"` })
  }
}

/** cdn01.quay.io: CloudFront over quay's S3 bucket. */
const quayCdn = /** @type {BlobHost} */ ({
  name: QUAY_CDN,
  status: 302,
  sign(method, digest) {
    const hex = hexOf(digest)
    const path = `/sha256/${hex.slice(0, 2)}/${hex}`
    const { query, signature } = amzQuery(QUAY_CDN, method, path, 600)
    const expiry = String(Math.floor(Date.now() / 1000) + 600)
    const cfSign = mac('cf', path, expiry).toString('base64')
    query.set('cf_sign', cfSign)
    query.set('cf_expiry', expiry)
    query.set('region', 'us-east-1')
    return {
      url: `https://${QUAY_CDN}${path}?${query}`,
      secrets: [signature, cfSign, encodeURIComponent(cfSign)],
    }
  },
  route: blobRoute(
    (path) => {
      const m = /^\/sha256\/([0-9a-f]{2})\/([0-9a-f]{64})$/.exec(path)
      return m && m[2].startsWith(m[1]) ? `sha256:${m[2]}` : undefined
    },
    (req, url) => {
      const expiry = url.searchParams.get('cf_expiry') ?? ''
      if (url.searchParams.get('cf_sign') !== mac('cf', url.pathname, expiry).toString('base64'))
        return s3Failure('AccessDenied', 'Access denied')
      const verdict = amzVerdict(QUAY_CDN, req.method ?? '', url)
      if (verdict === 'bad') return SIGNATURE_MISMATCH
      if (verdict === 'expired' || Date.now() / 1000 > Number(expiry)) return EXPIRED
      return undefined
    },
  ),
})

/** The partner registry's S3 bucket: distribution's S3 driver hands out presigned URLs. */
const rhc4tpBucket = /** @type {BlobHost} */ ({
  name: RHC4TP_BUCKET,
  status: 302,
  sign(method, digest) {
    const path = storagePath(hexOf(digest))
    const { query, signature } = amzQuery(RHC4TP_BUCKET, method, path, 1200)
    return { url: `https://${RHC4TP_BUCKET}${path}?${query}`, secrets: [signature] }
  },
  route: blobRoute(
    (path) => {
      const m = /^\/docker\/registry\/v2\/blobs\/sha256\/([0-9a-f]{2})\/([0-9a-f]{64})\/data$/.exec(
        path,
      )
      return m && m[2].startsWith(m[1]) ? `sha256:${m[2]}` : undefined
    },
    (req, url) => {
      // S3 takes one way of authenticating a request: a presigned query, or the header.
      if (req.headers.authorization !== undefined && url.searchParams.has('X-Amz-Signature'))
        return {
          status: 400,
          type: 'application/xml',
          body: s3Error(
            'InvalidArgument',
            'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
          ),
        }
      const verdict = amzVerdict(RHC4TP_BUCKET, req.method ?? '', url)
      if (verdict === 'bad') return SIGNATURE_MISMATCH
      if (verdict === 'expired') return EXPIRED
      return undefined
    },
  ),
})

const CLOUDFLARE_FORBIDDEN = {
  status: 403,
  type: 'text/html',
  body: '<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n<center><h1>403 Forbidden</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n',
}

/** Docker Hub's blobs, behind Cloudflare: `?verify=<expiry>-<signature>`. */
const dockerHubCdn = /** @type {BlobHost} */ ({
  name: DOCKER_HUB_CDN,
  status: 307,
  sign(method, digest) {
    const path = `/registry-v2${storagePath(hexOf(digest))}`
    const expiry = String(Math.floor(Date.now() / 1000) + 1200)
    const signature = mac(method, DOCKER_HUB_CDN, path, expiry).toString('base64url')
    const query = new URLSearchParams({ verify: `${expiry}-${signature}` })
    return { url: `https://${DOCKER_HUB_CDN}${path}?${query}`, secrets: [signature] }
  },
  route: blobRoute(
    (path) => {
      const m =
        /^\/registry-v2\/docker\/registry\/v2\/blobs\/sha256\/([0-9a-f]{2})\/([0-9a-f]{64})\/data$/.exec(
          path,
        )
      return m && m[2].startsWith(m[1]) ? `sha256:${m[2]}` : undefined
    },
    (req, url) => {
      const verify = url.searchParams.get('verify') ?? ''
      const dash = verify.indexOf('-') // the signature is base64url: it may hold dashes too
      const [expiry, signature] = [verify.slice(0, dash), verify.slice(dash + 1)]
      const expected = mac(req.method ?? '', DOCKER_HUB_CDN, url.pathname, expiry)
      if (signature !== expected.toString('base64url') || Date.now() / 1000 > Number(expiry))
        return CLOUDFLARE_FORBIDDEN
      return undefined
    },
  ),
})

const AZURE_FORBIDDEN = {
  status: 403,
  type: 'application/xml',
  body: '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.</Message></Error>',
}

/** ghcr.io's blobs: an Azure blob SAS. */
const ghcrCdn = /** @type {BlobHost} */ ({
  name: GHCR_CDN,
  status: 307,
  sign(method, digest) {
    const path = `/ghcr1/blobs/sha256:${hexOf(digest)}`
    const se = new Date(Date.now() + 600_000).toISOString().replace(/\.\d{3}/, '')
    const sig = mac(method, GHCR_CDN, path, se).toString('base64')
    const query = new URLSearchParams({ se, sig, sp: 'r', spr: 'https', sr: 'b', sv: '2019-12-12' })
    return { url: `https://${GHCR_CDN}${path}?${query}`, secrets: [sig, encodeURIComponent(sig)] }
  },
  route: blobRoute(
    (path) => {
      const m = /^\/ghcr1\/blobs\/sha256:([0-9a-f]{64})$/.exec(path)
      return m ? `sha256:${m[1]}` : undefined
    },
    (req, url) => {
      const se = url.searchParams.get('se') ?? ''
      const expected = mac(req.method ?? '', GHCR_CDN, url.pathname, se).toString('base64')
      if (url.searchParams.get('sig') !== expected || Date.now() > Date.parse(se))
        return AZURE_FORBIDDEN
      return undefined
    },
  ),
})

/** The blob hosts, by what the registries call them. */
export const BLOB_HOST = {
  quay: quayCdn,
  rhc4tp: rhc4tpBucket,
  dockerHub: dockerHubCdn,
  ghcr: ghcrCdn,
}

/**
 * The body a registry sends with its redirect to a GET: Flask's (quay, and Red Hat's registries,
 * which run quay) or Go's net/http (distribution, Docker Hub, ghcr.io). Both quote the URL, signature
 * and all: a client that logs a redirect's body leaks it.
 * @param {'flask' | 'go'} style
 * @param {number} status
 * @param {string} url
 */
export function redirectBody(style, status, url) {
  const href = url.replace(/&/g, '&amp;')
  if (style === 'flask')
    return `<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the target URL: <a href="${href}">${href}</a>. If not, click the link.\n`
  return `<a href="${href}">${status === 307 ? 'Temporary Redirect' : 'Found'}</a>.\n\n`
}
