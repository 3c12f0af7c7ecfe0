/**
 * The one HTTP layer every probe goes through. On top of @actions/http-client it adds what a
 * diagnosis needs and the client lacks: a deadline per attempt from connect to last byte,
 * bodies read with a cap, redirects followed under the rules that keep credentials safe, retries of
 * transient failures honouring Retry-After, our own proxy routing, and every failure turned
 * into a typed `TransportError` instead of a message.
 */
import * as dns from 'node:dns'
import * as http from 'node:http'
import * as https from 'node:https'
import * as tls from 'node:tls'
import type { LookupFunction } from 'node:net'
import { HttpClient, type HttpClientResponse } from '@actions/http-client'
import type { RequestInfo } from '@actions/http-client/lib/interfaces'
import {
  isLinkLocal,
  isLoopback,
  routeFor,
  stripBrackets,
  type ProxySettings,
  type Route,
} from './proxy.js'
import { MAX_RETRY_AFTER_MS, backoffMs, isRetryableStatus, parseRetryAfter } from './retry.js'
import { TunnelAgent, TunnelError, type RequestTrace, type TunnelRequestOptions } from './tunnel.js'

export const BODY_LIMIT = 64 * 1024
export const MAX_REDIRECTS = 5

export type TransportErrorKind =
  | 'dns'
  | 'refused'
  | 'reset'
  | 'unreachable'
  | 'timeout'
  | 'tls'
  | 'proxy-unreachable'
  | 'proxy-timeout'
  | 'proxy-refused'
  | 'proxy-auth'
  | 'bad-answer'
  | 'policy'

export interface TransportError {
  kind: TransportErrorKind
  /** Safe to print: built from error codes, hosts and statuses, never from request headers. */
  detail: string
  /** The TLS failure happened inside a proxy tunnel (a TLS-intercepting proxy, most likely). */
  throughProxy?: boolean
}

export interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  /** Headers a server may repeat, kept apart (`WWW-Authenticate` above all). */
  headersDistinct: Record<string, string[]>
  /** At most BODY_LIMIT bytes: a longer body is cut there. */
  body: Buffer
  /** The URL that answered, after redirects. */
  url: URL
}

export interface Exchange {
  answer?: Answer
  error?: TransportError
  /** The URL of the last request made: where the answer came from, or where the error happened. */
  url: URL
  /** Every URL requested in the last attempt, redirects included, in order. */
  hops: URL[]
  attempts: number
  ms: number
  route: Route
  /** Why the retries stopped early, when they did (a Retry-After too long to wait). */
  retryNote?: string
}

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST'
  url: URL
  /** Sent to `url`'s origin only, and only over https (or to loopback). */
  authorization?: string
  accept?: string
  /** A POST's body, sent as application/x-www-form-urlencoded (a POST follows no redirect). */
  form?: URLSearchParams
  /** A `Range` header (`bytes=0-0`): the layer path asks for one byte of a blob. */
  range?: string
  /** The most of the body to read; BODY_LIMIT unless a manifest needs more. */
  bodyLimit?: number
  /** Abandons the request: an attempt in flight is cut off, and no retry follows. */
  signal?: AbortSignal
}

export interface TransportOptions {
  timeoutMs: number
  retries: number
  proxy: ProxySettings
  userAgent: string
  sleep: (ms: number) => Promise<void>
  now: () => number
  debug: (message: string) => void
  /** Resolves host names; dns.lookup unless a test gives its own. Link-local answers are refused either way. */
  lookup?: LookupFunction
}

/**
 * A rule that keeps credentials safe was about to be broken (credentials over plain http or to a
 * link-local address, an https→http redirect, too many redirects): the request is not sent.
 */
class PolicyError extends Error {}

export class Transport {
  private readonly client: HttpClient
  private readonly direct: https.Agent
  private readonly plain: http.Agent
  private tunnel?: TunnelAgent
  private readonly secureContext: tls.SecureContext

  constructor(private readonly options: TransportOptions) {
    this.client = new HttpClient(options.userAgent, [], {
      allowRedirects: false,
      allowRetries: false,
      // Only an idle timer in the client; the deadline that counts is ours (see attempt()).
      socketTimeout: options.timeoutMs + 1000,
    })
    // One TLS context for every connection: building one per handshake (the root store, with
    // NODE_EXTRA_CA_CERTS) was the largest CPU cost of a run with many images.
    this.secureContext = tls.createSecureContext()
    const agentOptions = {
      keepAlive: true,
      maxSockets: 32,
      lookup: refuseLinkLocal(options.lookup ?? dns.lookup),
      secureContext: this.secureContext,
    }
    this.direct = new https.Agent(agentOptions)
    this.plain = new http.Agent(agentOptions)
  }

  route(url: URL): Route {
    return routeFor(url, this.options.proxy)
  }

  /** One request with its retries. Never throws: failures come back as `error`. */
  async send(request: HttpRequest, retries = this.options.retries): Promise<Exchange> {
    const started = this.options.now()
    const route = this.route(request.url)
    let attempts = 0
    for (;;) {
      attempts++
      const result = await this.attempt(request)
      const exchange = (): Exchange => ({
        ...result,
        attempts,
        ms: this.options.now() - started,
        route,
      })
      if (attempts > retries || !isTransient(result) || request.signal?.aborted) return exchange()
      const retryAfter = parseRetryAfter(
        firstHeader(result.answer?.headers['retry-after']),
        this.options.now(),
      )
      if (retryAfter !== undefined && retryAfter > MAX_RETRY_AFTER_MS) {
        return {
          ...exchange(),
          retryNote: `Retry-After asked for ${Math.round(retryAfter / 1000)} s, over the 30 s this action waits`,
        }
      }
      const delay = retryAfter ?? backoffMs(attempts - 1)
      this.options.debug(
        `${request.method} ${safeUrl(request.url)}: transient failure, retry in ${delay} ms`,
      )
      await this.options.sleep(delay)
    }
  }

  /** Closes kept-alive connections so nothing holds the process open. */
  close(): void {
    this.direct.destroy()
    this.plain.destroy()
    this.tunnel?.destroy()
  }

  private agentFor(url: URL): http.Agent {
    if (url.protocol === 'http:') return this.plain
    if (this.route(url).via === 'direct' || !this.options.proxy.url) return this.direct
    this.tunnel ??= new TunnelAgent(this.options.proxy.url, {
      keepAlive: true,
      maxSockets: 32,
      secureContext: this.secureContext,
    })
    return this.tunnel
  }

  /** One attempt: the request and its redirects, all within one deadline. */
  private async attempt(
    request: HttpRequest,
  ): Promise<Pick<Exchange, 'answer' | 'error' | 'url' | 'hops'>> {
    const controller = new AbortController()
    const trace: RequestTrace = {}
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs)
    const abandon = (): void => controller.abort()
    request.signal?.addEventListener('abort', abandon, { once: true })
    let url = request.url
    let authorization = request.authorization
    const hops: URL[] = []
    try {
      for (let redirects = 0; ; redirects++) {
        hops.push(url)
        if (authorization) assertCredentialsMayGo(url)
        if (isLinkLocal(url.hostname))
          throw new PolicyError(`${url.hostname} is a link-local address`)
        const response = await this.exchange(request, url, authorization, controller.signal, trace)
        const status = response.message.statusCode ?? 0
        const location = response.message.headers.location
        if ([301, 302, 303, 307, 308].includes(status) && location && request.method !== 'POST') {
          response.message.resume()
          if (redirects >= MAX_REDIRECTS)
            throw new PolicyError(`more than ${MAX_REDIRECTS} redirects`)
          const next = new URL(location, url)
          if (url.protocol === 'https:' && next.protocol !== 'https:') {
            throw new PolicyError(
              `a redirect from https to ${next.protocol}// (${next.host}) was refused`,
            )
          }
          // Authorization belongs to the origin it was meant for; another host gets none.
          if (next.origin !== url.origin) authorization = undefined
          this.options.debug(
            `${request.method} ${safeUrl(url)} redirected to ${safeUrl(next)}${next.search ? ' (query not shown)' : ''}`,
          )
          url = next
          continue
        }
        const limit = request.bodyLimit ?? BODY_LIMIT
        const body = await readCapped(response, limit, controller.signal)
        return {
          url,
          hops,
          answer: {
            status,
            headers: response.message.headers,
            headersDistinct: response.message.headersDistinct as Record<string, string[]>,
            body,
            url,
          },
        }
      }
    } catch (err) {
      return {
        url,
        hops,
        error: classifyError(err, trace, controller.signal.aborted, this.options.timeoutMs),
      }
    } finally {
      clearTimeout(timer)
      request.signal?.removeEventListener('abort', abandon)
    }
  }

  private exchange(
    request: HttpRequest,
    url: URL,
    authorization: string | undefined,
    signal: AbortSignal,
    trace: RequestTrace,
  ): Promise<HttpClientResponse> {
    const headers: http.OutgoingHttpHeaders = { 'user-agent': this.options.userAgent }
    if (request.accept) headers.accept = request.accept
    if (request.range) headers.range = request.range
    const body = request.form?.toString()
    if (body !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      headers['content-length'] = Buffer.byteLength(body)
    }
    if (authorization) headers.authorization = authorization
    const secure = url.protocol === 'https:'
    const options: http.RequestOptions & TunnelRequestOptions = {
      method: request.method,
      host: stripBrackets(url.hostname),
      port: url.port || (secure ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      headers,
      agent: this.agentFor(url),
      signal,
      trace,
      deadlineSignal: signal,
    }
    const info = { parsedUrl: url, httpModule: secure ? https : http, options } as RequestInfo
    return new Promise((resolve, reject) => {
      this.client.requestRawWithCallback(info, body ?? null, (err, res) =>
        err || !res ? reject(err) : resolve(res),
      )
    })
  }
}

function isTransient(result: Pick<Exchange, 'answer' | 'error'>): boolean {
  if (result.answer) return isRetryableStatus(result.answer.status)
  return result.error?.kind === 'reset' || result.error?.kind === 'timeout'
}

/**
 * Credentials never travel over plain http, loopback aside: the last gate before any request with
 * an Authorization header, whoever built it. (Link-local hosts are refused for every request.)
 */
function assertCredentialsMayGo(url: URL): void {
  if (url.protocol !== 'https:' && !isLoopback(url.hostname)) {
    throw new PolicyError(`credentials were not sent to ${url.host} over plain http`)
  }
}

/** A host name that resolves to a link-local address (a metadata service) is refused too. */
export const refuseLinkLocal =
  (lookup: LookupFunction): LookupFunction =>
  (hostname, options, callback) => {
    lookup(hostname, { ...options }, (err, address, family) => {
      if (err) return callback(err, address, family)
      const addresses = Array.isArray(address) ? address : [{ address, family }]
      if (addresses.some((a) => isLinkLocal(a.address))) {
        const refused = Object.assign(new Error(`${hostname} resolves to a link-local address`), {
          code: 'ELINKLOCAL',
        })
        return callback(refused, '', 0)
      }
      callback(null, address, family)
    })
  }

/** Reads at most `limit` bytes; a larger body is cut (and its connection dropped). */
function readCapped(
  response: HttpClientResponse,
  limit: number,
  signal: AbortSignal,
): Promise<Buffer> {
  const message = response.message
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const finish = (): void => {
      if (done) return
      done = true
      signal.removeEventListener('abort', onAbort)
      resolve(Buffer.concat(chunks))
    }
    const fail = (err: Error): void => {
      if (done) return
      done = true
      signal.removeEventListener('abort', onAbort)
      message.destroy()
      reject(err)
    }
    const onAbort = (): void => fail(Object.assign(new Error('deadline'), { name: 'AbortError' }))
    signal.addEventListener('abort', onAbort, { once: true })
    message.on('data', (chunk: Buffer) => {
      const room = limit - size
      if (chunk.length >= room) {
        chunks.push(chunk.subarray(0, room))
        size = limit
        message.destroy()
        finish()
        return
      }
      chunks.push(chunk)
      size += chunk.length
    })
    message.on('end', () => finish())
    message.on('error', (err) => fail(err))
    message.on('close', () => {
      if (!message.complete)
        fail(
          Object.assign(new Error('the connection closed before the body ended'), {
            code: 'ECONNRESET',
          }),
        )
      else finish()
    })
  })
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'HOSTNAME_MISMATCH',
  'EPROTO',
])

/** Turns whatever Node or the client threw into one of the kinds the diagnosis knows. */
export function classifyError(
  err: unknown,
  trace: RequestTrace,
  deadline: boolean,
  timeoutMs: number,
): TransportError {
  const seconds = `${Math.round(timeoutMs / 100) / 10} s`
  if (err instanceof TunnelError) {
    return { kind: err.kind, detail: err.message }
  }
  if (deadline) {
    if (trace.tunnel === 'connecting')
      return {
        kind: 'proxy-timeout',
        detail: `the proxy did not answer the CONNECT within ${seconds}`,
      }
    return { kind: 'timeout', detail: `no complete answer within ${seconds}` }
  }
  if (err instanceof PolicyError) return { kind: 'policy', detail: err.message }
  const e = (err ?? {}) as NodeJS.ErrnoException & {
    hostname?: string
    address?: string
    port?: number
  }
  const code = e.code ?? ''
  const message = e.message ?? String(err)
  const throughProxy = trace.tunnel === 'established'
  if (code === 'ELINKLOCAL') return { kind: 'policy', detail: message }
  if (['ENOTFOUND', 'EAI_AGAIN', 'EAI_NODATA', 'EAI_FAIL', 'EAI_NONAME'].includes(code)) {
    return { kind: 'dns', detail: `${e.hostname ?? 'the host'} does not resolve (${code})` }
  }
  if (code === 'ECONNREFUSED')
    return {
      kind: 'refused',
      detail: `connection refused (${e.address ?? ''}${e.port ? `:${e.port}` : ''})`,
    }
  if (['ECONNRESET', 'EPIPE', 'ECONNABORTED'].includes(code) || message === 'socket hang up') {
    return { kind: 'reset', detail: `the connection was reset (${code || message})`, throughProxy }
  }
  if (['EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENETDOWN', 'EHOSTDOWN'].includes(code)) {
    return { kind: 'unreachable', detail: `the host is unreachable (${code})` }
  }
  if (code === 'ETIMEDOUT' || message.startsWith('Request timeout')) {
    return { kind: 'timeout', detail: `no answer within ${seconds}` }
  }
  if (
    TLS_CODES.has(code) ||
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    code.startsWith('CERT_')
  ) {
    return { kind: 'tls', detail: `${message} (${code})`, throughProxy }
  }
  if (code.startsWith('HPE_'))
    return { kind: 'bad-answer', detail: `an answer that is not valid HTTP (${code})` }
  if (
    ['ERR_INVALID_CHAR', 'ERR_INVALID_HTTP_TOKEN', 'ERR_HTTP_INVALID_HEADER_VALUE'].includes(code)
  ) {
    // A value from a server (a token, a redirect) that cannot go into a request line or header.
    return {
      kind: 'bad-answer',
      detail: `a value that cannot be sent in an HTTP request (${code})`,
    }
  }
  // Only the code: the text of an error we do not know could quote a request, headers included.
  return {
    kind: 'reset',
    detail: `the connection failed (${code || e.name || 'unknown error'})`,
    throughProxy,
  }
}

/**
 * The URL without its credentials and its query, for logs: a blob host's signed URL carries its
 * signature in the query.
 */
export function safeUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`
}

/** `host:port`, the port always written: what a firewall rule or a proxy's CONNECT names. */
export function hostPort(url: URL): string {
  return `${url.host}${url.port ? '' : url.protocol === 'http:' ? ':80' : ':443'}`
}

export function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}
