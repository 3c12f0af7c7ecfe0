/**
 * The proxy path of the built action (dist/index.js), run as the runner runs it, through a real
 * forward proxy on loopback (scripts/lib/connect-proxy.mjs). The registry is the fake
 * registry.redhat.io under the name `registry.proxied.test`, which only the proxy resolves: the
 * runner cannot, so a request that does not go through the proxy ends in dns-error. Each test
 * asserts what a user sees (outputs, exit status, the summary's verdict and proxy lines), which
 * way each host went (the report's `routes`), and that no secret — the registry's or the
 * proxy's — reached any of it, with step debug logging on.
 */
import http from 'node:http'
import net from 'node:net'
import { startConnectProxy } from '../scripts/lib/connect-proxy.mjs'
import { closedPort, fakeImage } from '../scripts/lib/fake-registry.mjs'
import {
  basic,
  expectNoAnswer,
  expectPullReady,
  parseReport,
  requestLines,
  verdict,
} from './support/e2e.js'
import { e2eHarness, type FakeRedHat } from './support/harness.js'

const USER = '12345678|ci-pipeline'
const PASSWORD = 'eyJhbGciOiJSUzUxMiJ9.c2VjcmV0LXNlcnZpY2UtYWNjb3VudA.sig+/='
const TOKEN_PATH = '/auth/realms/rhcc/protocol/redhat-docker-v2/auth'

/** Names only the proxy resolves (the test certificate names them too). */
const REGISTRY_NAME = 'registry.proxied.test'
const SSO_NAME = 'sso.proxied.test'

const PROXY_USER = 'user'
const PROXY_PASSWORD = 'p@ss:word'
const PROXY_PASSWORD_IN_URL = 'p%40ss%3Aword'

type ConnectProxy = Awaited<ReturnType<typeof startConnectProxy>>
type ProxyOptions = NonNullable<Parameters<typeof startConnectProxy>[0]>

const e2e = e2eHarness({
  name: 'proxy',
  account: { user: USER, password: PASSWORD },
  images: { 'ubi9/ubi': ['latest', '9.4'] },
  names: [REGISTRY_NAME, SSO_NAME],
  inputs: { images: 'ubi9/ubi:latest' },
  // The proxy's password is looked for in every run, whether or not the run was given it.
  secrets: [
    PROXY_PASSWORD,
    PROXY_PASSWORD_IN_URL,
    encodeURIComponent(PROXY_PASSWORD_IN_URL),
    basic(PROXY_USER, PROXY_PASSWORD),
  ],
  closeServers: 'after-each',
})

/** The fake registry and, in front of it, a proxy that resolves the test names to 127.0.0.1. */
async function network(proxyOptions: ProxyOptions = {}): Promise<{
  fake: FakeRedHat
  proxy: ConnectProxy
  registry: string
}> {
  const fake = await e2e.fakeRedHat()
  const proxy = e2e.servers.add(
    await startConnectProxy({
      hosts: { [REGISTRY_NAME]: '127.0.0.1', [SSO_NAME]: '127.0.0.1' },
      ...proxyOptions,
    }),
  )
  return { fake, proxy, registry: `${REGISTRY_NAME}:${fake.port}` }
}

const report = parseReport

/**
 * What reached the servers: the registry's three requests (the challenge, /v2/ with the token, the
 * manifest) under the registry's name, which only the proxy resolves, and the token request under
 * `tokenHost`; and what the proxy saw: a CONNECT, answered 200, to each name in `proxied`, with
 * `sentCredentials`. How many CONNECTs there were is the HTTP agent's choice (it may reuse a
 * tunnel): one per name at least, one per proxied request at most.
 */
function expectThroughProxy(
  { fake, proxy, registry }: Awaited<ReturnType<typeof network>>,
  tokenHost: string,
  proxied: string[],
  sentCredentials = false,
): void {
  // The whole pull's check: the door, the index, the platform's manifest, its config blob (the
  // fake serves blobs itself). The authenticated /v2/ and the index go out together: sorted.
  const image = fakeImage('ubi9/ubi', 'latest')
  const seen = fake.requests.map((r) => `${r.method} ${r.url.split('?')[0]} ${r.headers.host}`)
  expect(seen.slice(0, 2)).toEqual([`GET /v2/ ${registry}`, `GET ${TOKEN_PATH} ${tokenHost}`])
  expect(seen.slice(2).sort()).toEqual(
    [
      `GET /v2/ ${registry}`,
      `GET /v2/ubi9/ubi/manifests/latest ${registry}`,
      `GET /v2/ubi9/ubi/manifests/${image.manifest.digest} ${registry}`,
      `GET /v2/ubi9/ubi/blobs/${image.config.digest} ${registry}`,
    ].sort(),
  )
  const requests = fake.requests.filter((r) => proxied.includes(r.headers.host ?? '')).length
  expect(proxy.connects.length).toBeGreaterThanOrEqual(proxied.length)
  expect(proxy.connects.length).toBeLessThanOrEqual(requests)
  expect(new Set(proxy.connects.map((c) => c.target))).toEqual(new Set(proxied))
  for (const c of proxy.connects) {
    expect(c).toEqual({ target: c.target, authorized: true, sentCredentials, status: 200 })
  }
}

describe('through the proxy', () => {
  test('proxy from the proxy input: ok; the registry goes through it, the loopback realm goes direct', async () => {
    const setup = await network()
    const { fake, proxy, registry } = setup
    const run = await e2e.act({ registry, proxy: proxy.url })
    expectPullReady(run)
    expect(run.summary).toContain(`- Proxy: \`${proxy.url}\` from the \`proxy\` input\n`)
    expect(report(run).routes).toEqual([
      { host: registry, via: 'proxy', reason: 'proxy from the proxy input' },
      { host: fake.host, via: 'direct', reason: 'loopback is never proxied' },
    ])
    expect(report(run).proxy).toMatchObject({
      url: proxy.url,
      source: 'input',
      schemeAssumed: false,
    })
    // The registry's requests really crossed the proxy, and only they did.
    expectThroughProxy(setup, fake.host, [registry])
    e2e.expectNoLeak(run)
  })

  test('auth-url on a name only the proxy resolves: the token service goes through the proxy too', async () => {
    const setup = await network()
    const { fake, proxy, registry } = setup
    const authUrl = `https://${SSO_NAME}:${fake.port}${TOKEN_PATH}`
    const run = await e2e.act({ registry, proxy: proxy.url, 'auth-url': authUrl })
    expectPullReady(run)
    expect(run.summary).toContain(`- Proxy: \`${proxy.url}\` from the \`proxy\` input\n`)
    const sso = `${SSO_NAME}:${fake.port}`
    expect(report(run).routes).toEqual([
      { host: registry, via: 'proxy', reason: 'proxy from the proxy input' },
      { host: sso, via: 'proxy', reason: 'proxy from the proxy input' },
    ])
    expect(report(run).checks.find((c) => c.id === 'token')).toMatchObject({
      host: sso,
      via: 'proxy',
    })
    expectThroughProxy(setup, sso, [registry, sso])
    e2e.expectNoLeak(run)
  })

  test.each(['https_proxy', 'HTTPS_PROXY'])(
    'proxy from the %s variable: ok, and the summary names the variable',
    async (variable) => {
      const setup = await network()
      const { fake, proxy, registry } = setup
      const run = await e2e.act({ registry }, { [variable]: proxy.url })
      expectPullReady(run)
      expect(run.summary).toContain(
        `- Proxy: \`${proxy.url}\` from the \`${variable}\` environment variable\n`,
      )
      expect(report(run).routes).toEqual([
        { host: registry, via: 'proxy', reason: `proxy from ${variable}` },
        { host: fake.host, via: 'direct', reason: 'loopback is never proxied' },
      ])
      expect(report(run).proxy.source).toBe(variable)
      expectThroughProxy(setup, fake.host, [registry])
      e2e.expectNoLeak(run)
    },
  )

  test('a proxy without a scheme is used as http://, with a warning', async () => {
    const setup = await network()
    const { fake, proxy, registry } = setup
    const run = await e2e.act({ registry, proxy: proxy.host })
    expectPullReady(run)
    expect(run.stdout).toContain(
      `::warning::The proxy has no scheme; it is used as http://${proxy.host}, as curl and Go do`,
    )
    expect(run.summary).toContain(
      `- Proxy: \`${proxy.url}\` from the \`proxy\` input (no scheme given; http:// assumed)\n`,
    )
    expect(report(run).proxy).toMatchObject({ url: proxy.url, schemeAssumed: true })
    expect(report(run).routes[0]).toEqual({
      host: registry,
      via: 'proxy',
      reason: 'proxy from the proxy input',
    })
    expectThroughProxy(setup, fake.host, [registry])
    e2e.expectNoLeak(run)
  })

  test('a proxy that wants credentials, given them percent-encoded in the URL: ok, and its password is nowhere', async () => {
    const credentials = { user: PROXY_USER, password: PROXY_PASSWORD }
    const setup = await network({ credentials })
    const { fake, proxy, registry } = setup
    const run = await e2e.act({
      registry,
      proxy: `http://${PROXY_USER}:${PROXY_PASSWORD_IN_URL}@${proxy.host}`,
    })
    expectPullReady(run)
    expect(run.summary).toContain(`- Proxy: \`${proxy.url}\` from the \`proxy\` input\n`)
    expect(report(run).proxy.url).toBe(proxy.url)
    expect(report(run).routes[0]).toEqual({
      host: registry,
      via: 'proxy',
      reason: 'proxy from the proxy input',
    })
    expectThroughProxy(setup, fake.host, [registry], true)
    e2e.expectNoLeak(run)
  })
})

describe('the proxy in the way', () => {
  test('the proxy refuses the registry host (403): proxy-error naming the host to allow', async () => {
    const { fake, proxy, registry } = await network({ deny: [REGISTRY_NAME] })
    const run = await e2e.act({ registry, proxy: proxy.url })
    expectNoAnswer(run, 'proxy-error')
    expect(verdict(run)).toBe('## ❌ Pulls will fail: the proxy failed')
    expect(run.outputs.message).toContain('403')
    expect(run.outputs.message).toContain(
      `allow CONNECT to \`${registry}\` on the proxy ${proxy.url}`,
    )
    expect(run.summary).toContain(`- Proxy: \`${proxy.url}\` from the \`proxy\` input\n`)
    expect(report(run).routes).toEqual([
      { host: registry, via: 'proxy', reason: 'proxy from the proxy input' },
    ])
    expect(report(run).checks.find((c) => c.id === 'ping')?.atProxy).toBe(true)
    expect(proxy.connects[0]).toMatchObject({ target: registry, status: 403 })
    expect(requestLines(fake.requests)).toEqual([])
    e2e.expectNoLeak(run)
  })

  test('the proxy refuses the token host only: proxy-error naming the token host too', async () => {
    const { fake, proxy, registry } = await network({ deny: [SSO_NAME] })
    const sso = `${SSO_NAME}:${fake.port}`
    const run = await e2e.act({
      registry,
      proxy: proxy.url,
      'auth-url': `https://${sso}${TOKEN_PATH}`,
    })
    expectNoAnswer(run, 'proxy-error')
    expect(verdict(run)).toBe('## ❌ Pulls will fail: the proxy failed')
    expect(run.outputs.message).toContain(`\`${sso}\``)
    expect(report(run).routes.map((r) => [r.host, r.via])).toEqual([
      [registry, 'proxy'],
      [sso, 'proxy'],
    ])
    expect(proxy.connects.find((c) => c.target === sso)?.status).toBe(403)
    expect(fake.requests.some((r) => r.url.startsWith(TOKEN_PATH))).toBe(false)
    e2e.expectNoLeak(run)
  })

  test('the proxy wants credentials and gets none (407): proxy-auth-required', async () => {
    const credentials = { user: PROXY_USER, password: PROXY_PASSWORD }
    const { fake, proxy, registry } = await network({ credentials })
    const run = await e2e.act({ registry, proxy: proxy.url })
    expectNoAnswer(run, 'proxy-auth-required')
    expect(verdict(run)).toBe('## ❌ Pulls will fail: the proxy wants credentials')
    expect(run.summary).toContain(`- Proxy: \`${proxy.url}\` from the \`proxy\` input\n`)
    expect(report(run).routes).toEqual([
      { host: registry, via: 'proxy', reason: 'proxy from the proxy input' },
    ])
    expect(proxy.connects[0]).toMatchObject({
      target: registry,
      sentCredentials: false,
      authorized: false,
      status: 407,
    })
    expect(requestLines(fake.requests)).toEqual([])
    e2e.expectNoLeak(run)
  })

  test('the proxy is down (a closed port): proxy-error', async () => {
    const { fake, registry } = await network()
    const proxyUrl = `http://127.0.0.1:${await closedPort()}`
    const run = await e2e.act({ registry, proxy: proxyUrl })
    expectNoAnswer(run, 'proxy-error')
    expect(verdict(run)).toBe('## ❌ Pulls will fail: the proxy failed')
    expect(run.outputs.message).toContain(`cannot reach the proxy ${proxyUrl}`)
    expect(run.summary).toContain(`- Proxy: \`${proxyUrl}\` from the \`proxy\` input\n`)
    expect(report(run).routes).toEqual([
      { host: registry, via: 'proxy', reason: 'proxy from the proxy input' },
    ])
    expect(requestLines(fake.requests)).toEqual([])
    e2e.expectNoLeak(run)
  })

  test('a proxy that accepts the CONNECT and never answers: proxy-error within the timeout', async () => {
    const { fake, proxy, registry } = await network({ silent: true })
    const run = await e2e.act({ registry, proxy: proxy.url, timeout: '2', retries: '0' })
    expectNoAnswer(run, 'proxy-error')
    expect(verdict(run)).toBe('## ❌ Pulls will fail: the proxy failed')
    expect(run.outputs.message).toContain('did not answer the CONNECT')
    expect(run.summary).toContain(`- Proxy: \`${proxy.url}\` from the \`proxy\` input\n`)
    expect(report(run).routes).toEqual([
      { host: registry, via: 'proxy', reason: 'proxy from the proxy input' },
    ])
    expect(proxy.connects).toEqual([
      { target: registry, authorized: true, sentCredentials: false, status: null },
    ])
    expect(requestLines(fake.requests)).toEqual([])
    expect(run.durationMs).toBeLessThan(8000) // a hang would hit the harness's 30 s kill
    e2e.expectNoLeak(run)
  })

  test('a proxy URL whose password holds a stray %: invalid-input naming the proxy', async () => {
    const credentials = { user: PROXY_USER, password: '100%' }
    const { proxy, registry } = await network({ credentials })
    const run = await e2e.act({ registry, proxy: `http://${PROXY_USER}:100%@${proxy.host}` })
    expectNoAnswer(run, 'invalid-input')
    expect(run.outputs.message).toMatch(/^Invalid proxy in the proxy input/)
    expect(proxy.connects).toHaveLength(0)
  })
})

describe('around the proxy', () => {
  test('no proxy at all: the runner cannot resolve the name, dns-error', async () => {
    const { fake, proxy, registry } = await network()
    const run = await e2e.act({ registry })
    expectNoAnswer(run, 'dns-error')
    expect(verdict(run)).toBe('## ❌ Pulls will fail: a host name does not resolve')
    expect(run.summary).toContain('- Proxy: none configured')
    expect(report(run).routes).toEqual([
      { host: registry, via: 'direct', reason: 'no proxy is configured' },
    ])
    expect(proxy.connects).toHaveLength(0)
    expect(requestLines(fake.requests)).toEqual([])
    e2e.expectNoLeak(run)
  })

  test.each(['.proxied.test', '*.proxied.test'])(
    'no_proxy %s covers the registry: direct, so dns-error, and the route says why',
    async (entry) => {
      const { fake, proxy, registry } = await network()
      const run = await e2e.act({ registry, proxy: proxy.url }, { no_proxy: `localhost,${entry}` })
      expectNoAnswer(run, 'dns-error')
      expect(verdict(run)).toBe('## ❌ Pulls will fail: a host name does not resolve')
      expect(run.summary).toContain(`- Proxy: \`${proxy.url}\` from the \`proxy\` input\n`)
      expect(run.summary).toContain(`- \`no_proxy\`: \`localhost,${entry}\``)
      expect(report(run).routes).toEqual([
        { host: registry, via: 'direct', reason: `no_proxy entry '${entry}'` },
      ])
      expect(proxy.connects).toHaveLength(0)
      expect(requestLines(fake.requests)).toEqual([])
      e2e.expectNoLeak(run)
    },
  )
})

describe('the loopback proxy itself', () => {
  test('a plain request gets 405; close() ends an open tunnel on both sides', async () => {
    const target = await e2e.fakeRedHat()
    const proxy = e2e.servers.add(
      await startConnectProxy({ hosts: { [REGISTRY_NAME]: '127.0.0.1' } }),
    )

    const plain = await new Promise<number | undefined>((resolve, reject) =>
      http.get(`${proxy.url}/v2/`, (res) => resolve(res.resume().statusCode)).on('error', reject),
    )
    expect(plain).toBe(405)

    const client = net.connect(proxy.port, '127.0.0.1')
    client.on('error', () => {})
    const established = new Promise<string>((resolve) =>
      client.once('data', (chunk) => resolve(chunk.toString())),
    )
    client.write(
      `CONNECT ${REGISTRY_NAME}:${target.port} HTTP/1.1\r\nHost: ${REGISTRY_NAME}:${target.port}\r\n\r\n`,
    )
    expect(await established).toMatch(/^HTTP\/1\.1 200 /)
    const closed = new Promise((resolve) => client.once('close', resolve))
    await proxy.close()
    await closed
    expect(proxy.connects).toEqual([
      {
        target: `${REGISTRY_NAME}:${target.port}`,
        authorized: true,
        sentCredentials: false,
        status: 200,
      },
    ])
  })
})
