/**
 * The proxy path of the built action (dist/index.js), run as the runner runs it, through a real
 * forward proxy on loopback (scripts/lib/connect-proxy.mjs). The registry is the fake
 * registry.redhat.io under the name `registry.proxied.test`, which only the proxy resolves: the
 * runner cannot, so a request that does not go through the proxy ends in dns-error. Each test
 * asserts what a user sees (outputs, exit status, the summary's verdict and proxy lines), which
 * way each host went (the report's `routes`), and that no secret — the registry's or the
 * proxy's — reached any of it, with step debug logging on.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startConnectProxy } from '../scripts/lib/connect-proxy.mjs'
import { closedPort, startFakeRedHat } from '../scripts/lib/fake-registry.mjs'
import { makeCertificates, type Certificates } from '../scripts/lib/tls.mjs'
import {
  Servers,
  basic,
  expectNoSecrets,
  expectOutputs,
  parseReport,
  runDebug,
  verdict,
  type Run,
} from './support/e2e.js'

const USER = '12345678|ci-pipeline'
const PASSWORD = 'eyJhbGciOiJSUzUxMiJ9.c2VjcmV0LXNlcnZpY2UtYWNjb3VudA.sig+/='
const BASIC = basic(USER, PASSWORD)
const IMAGES = { 'ubi9/ubi': ['latest', '9.4'] }
const TOKEN_PATH = '/auth/realms/rhcc/protocol/redhat-docker-v2/auth'

/** Names only the proxy resolves (the test certificate names them too). */
const REGISTRY_NAME = 'registry.proxied.test'
const SSO_NAME = 'sso.proxied.test'

const PROXY_USER = 'user'
const PROXY_PASSWORD = 'p@ss:word'
const PROXY_PASSWORD_IN_URL = 'p%40ss%3Aword'
const PROXY_SECRETS = [
  PROXY_PASSWORD,
  PROXY_PASSWORD_IN_URL,
  encodeURIComponent(PROXY_PASSWORD_IN_URL),
  basic(PROXY_USER, PROXY_PASSWORD),
]

type Fake = Awaited<ReturnType<typeof startFakeRedHat>>
type ConnectProxy = Awaited<ReturnType<typeof startConnectProxy>>
type ProxyOptions = NonNullable<Parameters<typeof startConnectProxy>[0]>
type Route = { host: string; via: 'direct' | 'proxy'; reason: string }
type Report = {
  checks: { id: string; host: string; via?: string; atProxy?: boolean }[]
  routes: Route[]
  proxy: { url?: string; source: string; schemeAssumed: boolean; noProxy: string[] }
}

let dir: string
let tls: Certificates
const servers = new Servers()

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'preflight-proxy-'))
  tls = await makeCertificates(dir, { names: [REGISTRY_NAME, SSO_NAME] })
})

afterEach(async () => {
  await servers.closeAll()
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** The fake registry and, in front of it, a proxy that resolves the test names to 127.0.0.1. */
async function network(proxyOptions: ProxyOptions = {}): Promise<{
  fake: Fake
  proxy: ConnectProxy
  registry: string
}> {
  const fake = servers.add(
    await startFakeRedHat({ tls, users: { [USER]: PASSWORD }, images: IMAGES }),
  )
  const proxy = servers.add(
    await startConnectProxy({
      hosts: { [REGISTRY_NAME]: '127.0.0.1', [SSO_NAME]: '127.0.0.1' },
      ...proxyOptions,
    }),
  )
  return { fake, proxy, registry: `${REGISTRY_NAME}:${fake.port}` }
}

/** Runs dist/index.js with step debug logging on, trusting the test CA. */
function act(
  inputs: Record<string, string>,
  env: Record<string, string | undefined> = {},
): Promise<Run> {
  return runDebug({
    inputs: {
      username: USER,
      password: PASSWORD,
      images: 'ubi9/ubi:latest',
      retries: '0',
      timeout: '5',
      ...inputs,
    },
    env,
    caPath: tls.caPath,
  })
}

/**
 * No secret anywhere a person or a later step could read it (see expectNoSecrets). The proxy's
 * password is checked in every run, whether or not the run was given it.
 */
function expectNoLeak(run: Run, tokens: string[] = []): void {
  expectNoSecrets(run, [PASSWORD, BASIC, encodeURIComponent(PASSWORD), ...PROXY_SECRETS, ...tokens])
}

const report = parseReport<Report>

describe('through the proxy', () => {
  test('proxy from the proxy input: ok; the registry goes through it, the loopback realm goes direct', async () => {
    const { fake, proxy, registry } = await network()
    const run = await act({ registry, proxy: proxy.url })
    expectOutputs(
      run,
      { result: 'ok', 'pull-ready': 'true', 'sso-status': '200', 'registry-status': '200' },
      0,
    )
    expect(verdict(run)).toBe('## ✅ Pulls will succeed')
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
    expect(proxy.connects.length).toBeGreaterThan(0)
    expect(proxy.connects.every((c) => c.target === registry && c.status === 200)).toBe(true)
    expect(fake.requests.find((r) => r.url.includes('/manifests/'))?.headers.host).toBe(registry)
    expect(fake.requests.find((r) => r.url.startsWith(TOKEN_PATH))?.headers.host).toBe(fake.host)
    expectNoLeak(run, fake.issuedTokens)
  })

  test('auth-url on a name only the proxy resolves: the token service goes through the proxy too', async () => {
    const { fake, proxy, registry } = await network()
    const authUrl = `https://${SSO_NAME}:${fake.port}${TOKEN_PATH}`
    const run = await act({ registry, proxy: proxy.url, 'auth-url': authUrl })
    expectOutputs(
      run,
      { result: 'ok', 'pull-ready': 'true', 'sso-status': '200', 'registry-status': '200' },
      0,
    )
    expect(verdict(run)).toBe('## ✅ Pulls will succeed')
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
    expect(proxy.connects.map((c) => c.target)).toContain(sso)
    expect(fake.requests.find((r) => r.url.startsWith(TOKEN_PATH))?.headers.host).toBe(sso)
    expectNoLeak(run, fake.issuedTokens)
  })

  test.each(['https_proxy', 'HTTPS_PROXY'])(
    'proxy from the %s variable: ok, and the summary names the variable',
    async (variable) => {
      const { fake, proxy, registry } = await network()
      const run = await act({ registry }, { [variable]: proxy.url })
      expectOutputs(
        run,
        { result: 'ok', 'pull-ready': 'true', 'sso-status': '200', 'registry-status': '200' },
        0,
      )
      expect(verdict(run)).toBe('## ✅ Pulls will succeed')
      expect(run.summary).toContain(
        `- Proxy: \`${proxy.url}\` from the \`${variable}\` environment variable\n`,
      )
      expect(report(run).routes).toEqual([
        { host: registry, via: 'proxy', reason: `proxy from ${variable}` },
        { host: fake.host, via: 'direct', reason: 'loopback is never proxied' },
      ])
      expect(report(run).proxy.source).toBe(variable)
      expect(proxy.connects.length).toBeGreaterThan(0)
      expectNoLeak(run, fake.issuedTokens)
    },
  )

  test('a proxy without a scheme is used as http://, with a warning', async () => {
    const { fake, proxy, registry } = await network()
    const run = await act({ registry, proxy: proxy.host })
    expectOutputs(
      run,
      { result: 'ok', 'pull-ready': 'true', 'sso-status': '200', 'registry-status': '200' },
      0,
    )
    expect(verdict(run)).toBe('## ✅ Pulls will succeed')
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
    expect(proxy.connects.length).toBeGreaterThan(0)
    expectNoLeak(run, fake.issuedTokens)
  })

  test('a proxy that wants credentials, given them percent-encoded in the URL: ok, and its password is nowhere', async () => {
    const credentials = { user: PROXY_USER, password: PROXY_PASSWORD }
    const { fake, proxy, registry } = await network({ credentials })
    const run = await act({
      registry,
      proxy: `http://${PROXY_USER}:${PROXY_PASSWORD_IN_URL}@${proxy.host}`,
    })
    expectOutputs(
      run,
      { result: 'ok', 'pull-ready': 'true', 'sso-status': '200', 'registry-status': '200' },
      0,
    )
    expect(verdict(run)).toBe('## ✅ Pulls will succeed')
    expect(run.summary).toContain(`- Proxy: \`${proxy.url}\` from the \`proxy\` input\n`)
    expect(report(run).proxy.url).toBe(proxy.url)
    expect(report(run).routes[0]).toEqual({
      host: registry,
      via: 'proxy',
      reason: 'proxy from the proxy input',
    })
    expect(proxy.connects.length).toBeGreaterThan(0)
    expect(proxy.connects.every((c) => c.authorized && c.status === 200)).toBe(true)
    expectNoLeak(run, fake.issuedTokens)
  })
})

describe('the proxy in the way', () => {
  test('the proxy refuses the registry host (403): proxy-error naming the host to allow', async () => {
    const { fake, proxy, registry } = await network({ deny: [REGISTRY_NAME] })
    const run = await act({ registry, proxy: proxy.url })
    expectOutputs(
      run,
      { result: 'proxy-error', 'pull-ready': 'false', 'sso-status': '', 'registry-status': '' },
      1,
    )
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
    expect(fake.requests).toHaveLength(0)
    expectNoLeak(run, fake.issuedTokens)
  })

  test('the proxy refuses the token host only: proxy-error naming the token host too', async () => {
    const { fake, proxy, registry } = await network({ deny: [SSO_NAME] })
    const sso = `${SSO_NAME}:${fake.port}`
    const run = await act({
      registry,
      proxy: proxy.url,
      'auth-url': `https://${sso}${TOKEN_PATH}`,
    })
    expectOutputs(
      run,
      { result: 'proxy-error', 'pull-ready': 'false', 'sso-status': '', 'registry-status': '' },
      1,
    )
    expect(verdict(run)).toBe('## ❌ Pulls will fail: the proxy failed')
    expect(run.outputs.message).toContain(`\`${sso}\``)
    expect(report(run).routes.map((r) => [r.host, r.via])).toEqual([
      [registry, 'proxy'],
      [sso, 'proxy'],
    ])
    expect(proxy.connects.find((c) => c.target === sso)?.status).toBe(403)
    expect(fake.requests.some((r) => r.url.startsWith(TOKEN_PATH))).toBe(false)
    expectNoLeak(run, fake.issuedTokens)
  })

  test('the proxy wants credentials and gets none (407): proxy-auth-required', async () => {
    const credentials = { user: PROXY_USER, password: PROXY_PASSWORD }
    const { fake, proxy, registry } = await network({ credentials })
    const run = await act({ registry, proxy: proxy.url })
    expectOutputs(
      run,
      {
        result: 'proxy-auth-required',
        'pull-ready': 'false',
        'sso-status': '',
        'registry-status': '',
      },
      1,
    )
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
    expect(fake.requests).toHaveLength(0)
    expectNoLeak(run, fake.issuedTokens)
  })

  test('the proxy is down (a closed port): proxy-error', async () => {
    const { fake, registry } = await network()
    const proxyUrl = `http://127.0.0.1:${await closedPort()}`
    const run = await act({ registry, proxy: proxyUrl })
    expectOutputs(
      run,
      { result: 'proxy-error', 'pull-ready': 'false', 'sso-status': '', 'registry-status': '' },
      1,
    )
    expect(verdict(run)).toBe('## ❌ Pulls will fail: the proxy failed')
    expect(run.outputs.message).toContain(`cannot reach the proxy ${proxyUrl}`)
    expect(run.summary).toContain(`- Proxy: \`${proxyUrl}\` from the \`proxy\` input\n`)
    expect(report(run).routes).toEqual([
      { host: registry, via: 'proxy', reason: 'proxy from the proxy input' },
    ])
    expect(fake.requests).toHaveLength(0)
    expectNoLeak(run)
  })

  test('a proxy that accepts the CONNECT and never answers: proxy-error within the timeout', async () => {
    const { fake, proxy, registry } = await network({ silent: true })
    const run = await act({ registry, proxy: proxy.url, timeout: '2', retries: '0' })
    expectOutputs(
      run,
      { result: 'proxy-error', 'pull-ready': 'false', 'sso-status': '', 'registry-status': '' },
      1,
    )
    expect(verdict(run)).toBe('## ❌ Pulls will fail: the proxy failed')
    expect(run.outputs.message).toContain('did not answer the CONNECT')
    expect(run.summary).toContain(`- Proxy: \`${proxy.url}\` from the \`proxy\` input\n`)
    expect(report(run).routes).toEqual([
      { host: registry, via: 'proxy', reason: 'proxy from the proxy input' },
    ])
    expect(proxy.connects).toEqual([
      { target: registry, authorized: true, sentCredentials: false, status: null },
    ])
    expect(fake.requests).toHaveLength(0)
    expect(run.durationMs).toBeLessThan(8000) // a hang would hit the harness's 30 s kill
    expectNoLeak(run)
  })

  test('a proxy URL whose password holds a stray %: invalid-input naming the proxy', async () => {
    const credentials = { user: PROXY_USER, password: '100%' }
    const { proxy, registry } = await network({ credentials })
    const run = await act({ registry, proxy: `http://${PROXY_USER}:100%@${proxy.host}` })
    expectOutputs(run, { result: 'invalid-input', 'pull-ready': 'false' }, 1)
    expect(run.outputs.message).toMatch(/^Invalid proxy in the proxy input/)
    expect(proxy.connects).toHaveLength(0)
  })
})

describe('around the proxy', () => {
  test('no proxy at all: the runner cannot resolve the name, dns-error', async () => {
    const { fake, proxy, registry } = await network()
    const run = await act({ registry })
    expectOutputs(
      run,
      { result: 'dns-error', 'pull-ready': 'false', 'sso-status': '', 'registry-status': '' },
      1,
    )
    expect(verdict(run)).toBe('## ❌ Pulls will fail: a host name does not resolve')
    expect(run.summary).toContain('- Proxy: none configured')
    expect(report(run).routes).toEqual([
      { host: registry, via: 'direct', reason: 'no proxy is configured' },
    ])
    expect(proxy.connects).toHaveLength(0)
    expect(fake.requests).toHaveLength(0)
    expectNoLeak(run)
  })

  test.each(['.proxied.test', '*.proxied.test'])(
    'no_proxy %s covers the registry: direct, so dns-error, and the route says why',
    async (entry) => {
      const { fake, proxy, registry } = await network()
      const run = await act({ registry, proxy: proxy.url }, { no_proxy: `localhost,${entry}` })
      expectOutputs(
        run,
        { result: 'dns-error', 'pull-ready': 'false', 'sso-status': '', 'registry-status': '' },
        1,
      )
      expect(verdict(run)).toBe('## ❌ Pulls will fail: a host name does not resolve')
      expect(run.summary).toContain(`- Proxy: \`${proxy.url}\` from the \`proxy\` input\n`)
      expect(run.summary).toContain(`- \`no_proxy\`: \`localhost,${entry}\``)
      expect(report(run).routes).toEqual([
        { host: registry, via: 'direct', reason: `no_proxy entry '${entry}'` },
      ])
      expect(proxy.connects).toHaveLength(0)
      expect(fake.requests).toHaveLength(0)
      expectNoLeak(run)
    },
  )
})

describe('the loopback proxy itself', () => {
  test('a plain request gets 405; close() ends an open tunnel on both sides', async () => {
    const target = await startFakeRedHat({ tls })
    servers.add(target)
    const proxy = await startConnectProxy({ hosts: { [REGISTRY_NAME]: '127.0.0.1' } })
    servers.add(proxy)

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
