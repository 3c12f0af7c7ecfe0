/**
 * The transport's own gates, whoever builds the request: credentials never over plain http
 * (loopback aside), and no connection to a host name that resolves to a link-local address (a
 * cloud metadata service). Each test points a host name at a loopback server through an injected
 * resolver, so that if a gate were missing the request would reach that server (and the test would
 * see it) instead of leaving the machine.
 */
import http from 'node:http'
import type { LookupFunction } from 'node:net'
import { closer, listen } from '../scripts/lib/loopback.mjs'
import { Transport, type Exchange } from '../src/http.js'

interface Peer {
  port: number
  requests: { url: string; authorization?: string }[]
  close: () => Promise<void>
}

let peer: Peer

beforeAll(async () => {
  const requests: Peer['requests'] = []
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? '', authorization: req.headers.authorization })
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}')
  })
  const close = closer(server)
  peer = { port: await listen(server), requests, close }
})
afterEach(() => void peer.requests.splice(0))
afterAll(() => peer.close())

/** Resolves every name to `addresses` (all of them when asked for all, else the first). */
function resolvingTo(...addresses: string[]): LookupFunction {
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    const list = addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
    if (options.all) process.nextTick(() => callback(null, list))
    else process.nextTick(() => callback(null, list[0].address, list[0].family))
  }) as unknown as LookupFunction
}

async function send(
  url: string,
  lookup: LookupFunction,
  authorization?: string,
): Promise<Exchange> {
  const transport = new Transport({
    timeoutMs: 2000,
    retries: 0,
    proxy: { source: 'none', schemeAssumed: false, noProxy: [] },
    userAgent: 'test',
    sleep: async () => {},
    now: () => Date.now(),
    debug: () => {},
    lookup,
  })
  try {
    return await transport.send({ method: 'GET', url: new URL(url), authorization })
  } finally {
    transport.close()
  }
}

describe('credentials never go over plain http', () => {
  test('a request with Authorization to a plain-http host that is not loopback is not sent', async () => {
    const exchange = await send(
      `http://registry.internal:${peer.port}/v2/`,
      resolvingTo('127.0.0.1'),
      'Bearer secret-token',
    )
    expect(exchange.error).toMatchObject({ kind: 'policy' })
    expect(exchange.error?.detail).toMatch(/not sent to registry\.internal:\d+ over plain http/)
    expect(peer.requests).toEqual([])
  })

  test('the same request without Authorization goes (the gate is about credentials only)', async () => {
    const exchange = await send(
      `http://registry.internal:${peer.port}/v2/`,
      resolvingTo('127.0.0.1'),
    )
    expect(exchange.answer?.status).toBe(200)
    expect(peer.requests).toHaveLength(1)
  })

  test('plain http to loopback may carry credentials (a local registry)', async () => {
    const exchange = await send(
      `http://127.0.0.1:${peer.port}/v2/`,
      resolvingTo('127.0.0.1'),
      'Bearer local',
    )
    expect(exchange.answer?.status).toBe(200)
    expect(peer.requests).toEqual([{ url: '/v2/', authorization: 'Bearer local' }])
  })
})

describe('a host name that resolves to a link-local address', () => {
  test.each([['169.254.169.254'], ['fe80::1']])(
    'a name resolving to loopback and %s is refused before any connection',
    async (linkLocal) => {
      // Loopback first: without the gate the connection would go there, and the peer would see it.
      const exchange = await send(
        `http://metadata.internal:${peer.port}/latest/`,
        resolvingTo('127.0.0.1', linkLocal),
      )
      expect(exchange.error).toMatchObject({ kind: 'policy' })
      expect(exchange.error?.detail).toMatch(/metadata\.internal resolves to a link-local address/)
      expect(peer.requests).toEqual([])
    },
  )
})
