// An OAuth2 token endpoint for identity tokens (the `identitytoken` of an auth file, a credential
// helper's `<token>` secret), as the distribution spec's oauth.md describes it: `POST <realm>` with
// a form (`grant_type=refresh_token`, `refresh_token`, `service`, `scope`, `client_id`). It holds no
// tokens of its own: for a refresh token it knows, it asks an upstream token service (a GET with
// the Basic credentials that refresh token stands for, and the form's service and scopes) and
// passes its answer on, so that the registry behind that service accepts what it hands out. A
// refresh token it does not know is refused as distribution's reference token server
// (contrib/token-server) refuses it: 401 UNAUTHORIZED, "invalid refresh token". A GET gets 405, as
// from an endpoint that only takes the OAuth2 form. It records every request, the form included,
// so that a test can show what arrived. On 127.0.0.1 only; close() destroys its sockets.
import https from 'node:https'
import { URLSearchParams } from 'node:url'
import { LOOPBACK, closer, listen } from './loopback.mjs'

/** Far above any form a client sends: a refresh token, a service and a few scopes. */
const FORM_LIMIT = 64 * 1024
const JSON_TYPE = 'application/json'
export const REFRESH_PATH = '/oauth2/token'

/**
 * @typedef {import('./tls.mjs').Certificates} Certificates
 *
 * @typedef {object} RefreshRealmOptions
 * @property {Certificates} tls its own certificate, and the CA it trusts for the upstream
 * @property {string} upstream the realm of a token service that takes `GET ?service=&scope=` with
 *   Basic credentials
 * @property {Record<string, { user: string, password: string }>} refreshTokens refresh token → the
 *   account it stands for
 *
 * @typedef {object} RefreshRequest
 * @property {string} method
 * @property {string} path path and query, as the client sent them
 * @property {string | undefined} contentType
 * @property {boolean} authorization whether an Authorization header came (its value is not kept)
 * @property {Record<string, string[]>} form the form's fields, every value in order ({} for a GET)
 * @property {number} [status] what it answered
 *
 * @typedef {object} RefreshRealm
 * @property {number} port
 * @property {string} host `127.0.0.1:<port>`
 * @property {string} realm `https://127.0.0.1:<port>/oauth2/token`
 * @property {RefreshRequest[]} requests every request, in arrival order
 * @property {() => Promise<void>} close
 */

/**
 * GETs `url` with a Basic header, trusting `ca`; resolves with the status, type and body.
 * @param {URL} url
 * @param {string} authorization
 * @param {string} ca
 * @returns {Promise<{ status: number, type: string, body: Buffer }>}
 */
function fetchUpstream(url, authorization, ca) {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, headers: { authorization }, timeout: 5000 }, (res) => {
      /** @type {Buffer[]} */
      const chunks = []
      res.on('data', (chunk) => chunks.push(chunk))
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 502,
          type: String(res.headers['content-type'] ?? JSON_TYPE),
          body: Buffer.concat(chunks),
        }),
      )
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('upstream token service timed out')))
    req.on('error', reject)
  })
}

/**
 * Starts the endpoint; see the typedefs above.
 * @param {RefreshRealmOptions} options
 * @returns {Promise<RefreshRealm>}
 */
export async function startRefreshRealm({ tls, upstream, refreshTokens }) {
  /** @type {RefreshRequest[]} */
  const requests = []

  const server = https.createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    /** @type {RefreshRequest} */
    const record = {
      method: req.method ?? '',
      path: req.url ?? '',
      contentType: req.headers['content-type'],
      authorization: req.headers.authorization !== undefined,
      form: {},
    }
    requests.push(record)
    /** @param {number} status @param {string | Buffer} body @param {string} [type] */
    const reply = (status, body, type = JSON_TYPE) => {
      record.status = status
      const bytes = Buffer.from(body)
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(bytes.length) })
      res.end(bytes)
    }
    const path = new URL(`https://${LOOPBACK}${req.url ?? '/'}`).pathname
    if (path !== REFRESH_PATH) {
      req.resume()
      return reply(404, JSON.stringify({ error: 'not_found' }))
    }
    if (req.method !== 'POST') {
      req.resume()
      return reply(405, JSON.stringify({ error: 'invalid_request', error_description: 'POST' }))
    }
    /** @type {Buffer[]} */
    const chunks = []
    let size = 0
    req.on('data', (/** @type {Buffer} */ chunk) => {
      size += chunk.length
      if (size <= FORM_LIMIT) chunks.push(chunk)
    })
    req.on('end', () => {
      if (size > FORM_LIMIT) return reply(413, JSON.stringify({ error: 'invalid_request' }))
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
      for (const key of new Set(form.keys())) record.form[key] = form.getAll(key)
      const account = Object.hasOwn(refreshTokens, form.get('refresh_token') ?? '')
        ? refreshTokens[form.get('refresh_token') ?? '']
        : undefined
      if (form.get('grant_type') !== 'refresh_token' || !account) {
        const error = { code: 'UNAUTHORIZED', message: 'authentication required' }
        return reply(
          401,
          JSON.stringify({ errors: [{ ...error, detail: 'invalid refresh token' }] }),
        )
      }
      const url = new URL(upstream)
      const service = form.get('service')
      if (service) url.searchParams.set('service', service)
      for (const scope of form.getAll('scope')) url.searchParams.append('scope', scope)
      const basic = Buffer.from(`${account.user}:${account.password}`).toString('base64')
      fetchUpstream(url, `Basic ${basic}`, tls.ca).then(
        (answer) => reply(answer.status, answer.body, answer.type),
        () => reply(502, JSON.stringify({ error: 'upstream_failed' })),
      )
    })
  })
  // A client that hangs up mid-handshake is expected, not a reason to crash.
  server.on('tlsClientError', () => {})
  const close = closer(server, undefined, 'refresh realm')
  const port = await listen(server)
  const host = `${LOOPBACK}:${port}`
  return { port, host, realm: `https://${host}${REFRESH_PATH}`, requests, close }
}
