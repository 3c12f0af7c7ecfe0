/**
 * An HTTPS agent that reaches its targets through an HTTP(S) proxy with CONNECT.
 *
 * @actions/http-client tunnels through the `tunnel` package, which has no deadline on the
 * CONNECT (a proxy that accepts TCP and never answers hangs the process) and reports the
 * proxy's refusal only as text. This agent ties the CONNECT to the request's deadline and
 * fails with a typed `TunnelError`, so the report can name the proxy hop and its status.
 */
import * as http from 'node:http'
import * as https from 'node:https'
import * as tls from 'node:tls'
import { isIP } from 'node:net'
import type { Duplex } from 'node:stream'
import { redactProxy, stripBrackets } from './proxy.js'

export type TunnelFailure = 'proxy-unreachable' | 'proxy-timeout' | 'proxy-refused' | 'proxy-auth'

export class TunnelError extends Error {
  constructor(
    message: string,
    readonly kind: TunnelFailure,
  ) {
    super(message)
    this.name = 'TunnelError'
  }
}

/** Shared with the transport through the request options: how far the tunnel got. */
export interface RequestTrace {
  tunnel?: 'connecting' | 'established'
}

/** Extra request options that reach `createConnection` (Node passes unknown options through). */
export interface TunnelRequestOptions {
  trace?: RequestTrace
  deadlineSignal?: AbortSignal
}

type ConnectionOptions = https.RequestOptions & tls.ConnectionOptions & TunnelRequestOptions
type Callback = (err: Error | null, socket?: Duplex) => void

export class TunnelAgent extends https.Agent {
  private readonly proxyAuthorization?: string

  constructor(
    private readonly proxy: URL,
    options: https.AgentOptions,
  ) {
    super(options)
    if (proxy.username || proxy.password) {
      const user = decodeURIComponent(proxy.username)
      const pass = decodeURIComponent(proxy.password)
      this.proxyAuthorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`
    }
  }

  override createConnection(options: ConnectionOptions, callback: Callback): undefined {
    const host = String(options.host ?? options.hostname ?? 'localhost')
    const target = `${host.includes(':') ? `[${host}]` : host}:${options.port ?? 443}`
    const proxyName = redactProxy(this.proxy)
    const trace = options.trace ?? {}
    const signal = options.deadlineSignal

    const headers: http.OutgoingHttpHeaders = { host: target }
    if (this.proxyAuthorization) headers['proxy-authorization'] = this.proxyAuthorization
    const overTls = this.proxy.protocol === 'https:'
    const connectRequest = (overTls ? https : http).request({
      host: stripBrackets(this.proxy.hostname),
      port: this.proxy.port || (overTls ? 443 : 80),
      method: 'CONNECT',
      path: target,
      headers,
      agent: false,
      servername: overTls ? this.proxy.hostname : undefined,
    })
    trace.tunnel = 'connecting'

    let settled = false
    const settle = (err: Error | null, socket?: Duplex): void => {
      if (settled) return
      settled = true
      signal?.removeEventListener('abort', onAbort)
      callback(err, socket)
    }
    const onAbort = (): void => {
      connectRequest.destroy()
      settle(
        new TunnelError(
          `the proxy ${proxyName} did not answer the CONNECT to ${target} in time`,
          'proxy-timeout',
        ),
      )
    }
    if (signal?.aborted) {
      onAbort()
      return undefined
    }
    signal?.addEventListener('abort', onAbort, { once: true })

    connectRequest.once('connect', (res, socket) => {
      const status = res.statusCode ?? 0
      if (status < 200 || status > 299) {
        socket.destroy()
        const kind = status === 407 ? 'proxy-auth' : 'proxy-refused'
        const what =
          status === 407
            ? 'asked for credentials (407)'
            : `refused the tunnel to ${target} with HTTP ${status}`
        settle(new TunnelError(`the proxy ${proxyName} ${what}`, kind))
        return
      }
      trace.tunnel = 'established'
      // The TLS session to the target runs inside the tunnel; its errors are the target's.
      const { trace: _t, deadlineSignal: _d, ...tlsOptions } = options
      void _t
      void _d
      settle(
        null,
        tls.connect({
          ...tlsOptions,
          socket,
          servername: options.servername || (isIP(host) ? undefined : host),
        }),
      )
    })
    connectRequest.once('error', (err: NodeJS.ErrnoException) => {
      settle(
        new TunnelError(
          `cannot reach the proxy ${proxyName}: ${err.code ?? err.message}`,
          'proxy-unreachable',
        ),
      )
    })
    connectRequest.end()
    return undefined
  }
}
