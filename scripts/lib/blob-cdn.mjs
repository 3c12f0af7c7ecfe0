// The blob host behind a real registry: an HTTPS server on 127.0.0.1 that serves the storage
// directory of docker-registry (distribution.mjs) at the paths distribution's `redirect` storage
// middleware sends clients to, `/docker/registry/v2/blobs/sha256/<2>/<hex>/data`, as a CDN in
// front of the registry's bucket does. It journals every request (method, path, query, headers:
// Authorization included, so that a test can show none arrives), supports Range (one range, as
// clients send `bytes=0-0` or `bytes=<n>-`), and can be told to misbehave: answer 403 or 503, send
// a signed redirect first (as S3 and quay's CDN hand out signed URLs), or redirect forever. With a
// certificate from another CA (tls.mjs's makeRogueCertificates), it is a CDN whose chain the
// client does not trust; with `tls: null`, a plain-http one.
import { createHmac, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import http from 'node:http'
import https from 'node:https'
import { join } from 'node:path'
import { URLSearchParams } from 'node:url'
import { LOOPBACK, closer, listen } from './loopback.mjs'

/** The path distribution 2.8 stores a blob's bytes at, relative to its rootdirectory. */
export const BLOB_DATA_PATH =
  /^\/docker\/registry\/v2\/blobs\/sha256\/([0-9a-f]{2})\/([0-9a-f]{64})\/data$/

/** @param {string} digest `sha256:<hex>` */
export const blobDataPath = (digest) => {
  const hex = digest.replace(/^sha256:/, '')
  return `/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`
}

/**
 * @typedef {import('node:http').IncomingMessage} IncomingMessage
 * @typedef {import('node:http').ServerResponse} ServerResponse
 * @typedef {import('node:http').IncomingHttpHeaders} IncomingHttpHeaders
 * @typedef {import('./tls.mjs').Certificates} Certificates
 *
 * @typedef {'serve' | 'forbidden' | 'error' | 'sign' | 'loop'} CdnMode
 *   serve: the blob (404 when the storage has no such blob);
 *   forbidden: 403 with S3's AccessDenied body, to every request;
 *   error: 503 with S3's SlowDown body, to every request;
 *   sign: a request without a query is sent (302) to the same path with a signed query (AWS
 *   SigV4's parameter names, `X-Amz-Signature` a fresh HMAC, valid for the method it was issued
 *   for); a request with a good signature gets the blob, with a bad one 403;
 *   loop: 302 to the same path with `?hop=<n+1>`, forever
 *
 * @typedef {object} CdnRequest
 * @property {string} method
 * @property {string} path
 * @property {string} query the raw query, '' when there was none
 * @property {IncomingHttpHeaders} headers lower-case names, as received
 *
 * @typedef {object} BlobCdn
 * @property {number} port
 * @property {string} host `127.0.0.1:<port>`
 * @property {string} url `https://127.0.0.1:<port>` (`http://` without TLS)
 * @property {(hostName?: string) => string} baseUrl the redirect middleware's baseurl for this
 *   server under a host name (default `localhost`): `https://<name>:<port>/`
 * @property {CdnMode} mode what it does; may be changed at any time
 * @property {CdnRequest[]} journal every request, in arrival order
 * @property {string[]} signatures every `X-Amz-Signature` it issued (secrets for leak checks)
 * @property {() => Promise<void>} close destroys open sockets; resolves once closed
 */

/**
 * S3's XML error body.
 * @param {string} code
 * @param {string} message
 */
export const s3Error = (code, message) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${randomBytes(8).toString('hex').toUpperCase()}</RequestId></Error>`

/**
 * The byte range a `Range` header asks for, as a server that supports one range reads it:
 * undefined for none (or one it ignores, such as several ranges: it then sends the whole body),
 * null for one that cannot be satisfied (416).
 * @param {string | undefined} header
 * @param {number} size
 * @returns {{ start: number, end: number } | null | undefined}
 */
export function parseRange(header, size) {
  if (header === undefined) return undefined
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!match || (match[1] === '' && match[2] === '')) return undefined
  if (match[1] === '') {
    const suffix = Number(match[2])
    if (suffix === 0) return null
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(match[1])
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1)
  if (start >= size || end < start) return null
  return { start, end }
}

/**
 * Sends a blob as a storage service does: 200 with the whole of it, or 206 with the one range
 * asked for (416 when it lies outside); Content-Length always, the body never to a HEAD.
 * @param {IncomingMessage} req
 * @param {ServerResponse} res
 * @param {Buffer} data
 * @param {Record<string, string>} [headers] more headers (ETag, Content-Type…)
 */
export function sendBytes(req, res, data, headers = {}) {
  const range = parseRange(req.headers.range, data.length)
  const common = {
    'Accept-Ranges': 'bytes',
    'Content-Type': 'application/octet-stream',
    ...headers,
  }
  if (range === null) {
    res.writeHead(416, {
      ...common,
      'Content-Range': `bytes */${data.length}`,
      'Content-Length': '0',
    })
    return res.end()
  }
  const body = range ? data.subarray(range.start, range.end + 1) : data
  res.writeHead(range ? 206 : 200, {
    ...common,
    ...(range ? { 'Content-Range': `bytes ${range.start}-${range.end}/${data.length}` } : {}),
    'Content-Length': String(body.length),
  })
  res.end(req.method === 'HEAD' ? undefined : body)
}

/**
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

const XML = { 'Content-Type': 'application/xml' }
const SIGNED_FOR_S = 600

/**
 * Starts the blob host; see the typedefs above.
 * @param {{ root: string, tls: Certificates | null, mode?: CdnMode, label?: string }} options
 *   root: the registry's storage rootdirectory; tls: its certificate (null: plain http)
 * @returns {Promise<BlobCdn>}
 */
export async function startBlobCdn({ root, tls, mode = 'serve', label = 'blob CDN' }) {
  /** @type {CdnRequest[]} */
  const journal = []
  /** @type {string[]} */
  const signatures = []
  const key = randomBytes(32)
  const scheme = tls ? 'https' : 'http'
  let host = LOOPBACK // with its port once it listens
  /** @param {string} method @param {string} path @param {string} date */
  const sign = (method, path, date) =>
    createHmac('sha256', key).update(`${method}\n${path}\n${date}`).digest('hex')

  /**
   * Where the client reached this server (its Host header): redirects name it absolutely, as
   * S3's signed URLs do.
   * @param {IncomingMessage} req
   */
  const origin = (req) => `${scheme}://${req.headers.host ?? host}`

  /** @param {IncomingMessage} req @param {ServerResponse} res @param {URL} url */
  const serve = async (req, res, url) => {
    const match = BLOB_DATA_PATH.exec(url.pathname)
    if (!match || !match[2].startsWith(match[1]))
      return send(req, res, 404, XML, s3Error('NoSuchKey', 'The specified key does not exist.'))
    let data
    try {
      data = await readFile(join(root, url.pathname))
    } catch {
      return send(req, res, 404, XML, s3Error('NoSuchKey', 'The specified key does not exist.'))
    }
    sendBytes(req, res, data, { ETag: `"${match[2].slice(0, 32)}"` })
  }

  /** @param {IncomingMessage} req @param {ServerResponse} res @param {URL} url */
  const signed = (req, res, url) => {
    const method = req.method ?? ''
    if (url.search === '') {
      const date = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '')
      const signature = sign(method, url.pathname, date)
      signatures.push(signature)
      const query = new URLSearchParams({
        'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
        'X-Amz-Credential': `AKIATESTCDN0EXAMPLE/${date.slice(0, 8)}/us-east-1/s3/aws4_request`,
        'X-Amz-Date': date,
        'X-Amz-Expires': String(SIGNED_FOR_S),
        'X-Amz-SignedHeaders': 'host',
        'X-Amz-Signature': signature,
      })
      return send(req, res, 302, { Location: `${origin(req)}${url.pathname}?${query}` })
    }
    const date = url.searchParams.get('X-Amz-Date') ?? ''
    const given = url.searchParams.get('X-Amz-Signature') ?? ''
    if (given !== sign(method, url.pathname, date))
      return send(
        req,
        res,
        403,
        XML,
        s3Error(
          'SignatureDoesNotMatch',
          'The request signature we calculated does not match the signature you provided.',
        ),
      )
    return serve(req, res, url)
  }

  /** @type {import('node:http').RequestListener} */
  const listener = (req, res) => {
    const raw = req.url ?? '/'
    const url = new URL(`http://${LOOPBACK}${raw.startsWith('/') ? raw : `/${raw}`}`)
    journal.push({
      method: req.method ?? '',
      path: url.pathname,
      query: url.search.replace(/^\?/, ''),
      headers: { ...req.headers },
    })
    req.resume()
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(
        req,
        res,
        405,
        XML,
        s3Error('MethodNotAllowed', 'The specified method is not allowed.'),
      )
    Promise.resolve()
      .then(() => {
        switch (handle.mode) {
          case 'forbidden':
            return send(req, res, 403, XML, s3Error('AccessDenied', 'Access Denied'))
          case 'error':
            return send(req, res, 503, XML, s3Error('SlowDown', 'Please reduce your request rate.'))
          case 'loop': {
            const hop = Number(url.searchParams.get('hop') ?? '0') + 1
            return send(req, res, 302, { Location: `${origin(req)}${url.pathname}?hop=${hop}` })
          }
          case 'sign':
            return signed(req, res, url)
          default:
            return serve(req, res, url)
        }
      })
      .catch((/** @type {unknown} */ error) => {
        console.error(`${label}: failed on ${req.method} ${req.url}:`, error)
        if (res.headersSent) res.destroy()
        else send(req, res, 500, XML, s3Error('InternalError', 'We encountered an internal error.'))
      })
  }

  const server = tls
    ? https.createServer({ cert: tls.cert, key: tls.key }, listener)
    : http.createServer(listener)
  // A client that rejects the certificate hangs up mid-handshake: expected, not a crash.
  server.on('tlsClientError', () => {})
  const close = closer(server, undefined, label)
  const port = await listen(server)
  host = `${LOOPBACK}:${port}`
  /** @type {BlobCdn} */
  const handle = {
    port,
    host,
    url: `${scheme}://${host}`,
    baseUrl: (hostName = 'localhost') => `${scheme}://${hostName}:${port}/`,
    mode,
    journal,
    signatures,
    close,
  }
  return handle
}
