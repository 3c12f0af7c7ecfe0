/**
 * The built action (dist/index.js) run as the runner runs it — INPUT_* variables, GITHUB_OUTPUT
 * and GITHUB_STEP_SUMMARY files, stdout — against real HTTPS servers on 127.0.0.1 with their
 * own CA. Each test asserts what a user sees (outputs, exit status, the summary's verdict) and
 * that no secret reached any of it, with step debug logging on.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  closedPort,
  fakeImage,
  fakeManifest,
  startBlackHole,
  startPlainServer,
} from '../scripts/lib/fake-registry.mjs'
import { makeRogueCertificates, type Certificates } from '../scripts/lib/tls.mjs'
import {
  ADD_MASK,
  authorizationIs,
  basic,
  expectNoAnswer,
  expectNoStackTrace,
  expectOutputs,
  expectPullReady,
  maskLines,
  parseReport,
  requestLines,
  verdict,
  type Run,
} from './support/e2e.js'
import { e2eHarness } from './support/harness.js'

const USER = '12345678|ci-pipeline'
const PASSWORD = 'eyJhbGciOiJSUzUxMiJ9.c2VjcmV0LXNlcnZpY2UtYWNjb3VudA.sig+/='
const BASIC = basic(USER, PASSWORD)
const WRONG_PASSWORD = 'eyJhbGciOiJSUzUxMiJ9.bm90LXRoZS1wYXNzd29yZA.wrong+/='

const e2e = e2eHarness({
  name: 'action',
  account: { user: USER, password: PASSWORD },
  images: { 'ubi9/ubi': ['latest', '9.4'], 'rhel9/postgresql-15': ['latest'] },
  closeServers: 'after-each',
})
let rogue: Certificates

beforeAll(async () => {
  rogue = await makeRogueCertificates(e2e.dir)
})

/** Every token the service issued was registered with the mask. */
function expectMasked(run: Run, tokens: string[]): void {
  const masks = maskLines(run)
  for (const secret of [PASSWORD, BASIC, ...tokens]) expect(masks).toContain(`${ADD_MASK}${secret}`)
}

const report = parseReport

describe('a registry like registry.redhat.io', () => {
  test('good service-account credentials: ok, exit 0, the token masked', async () => {
    const fake = await e2e.fakeRedHat()
    const run = await e2e.act({
      registry: fake.host,
      images: 'ubi9/ubi:latest\nrhel9/postgresql-15',
    })
    expectPullReady(run)
    expect(run.outputs).toMatchObject({ 'token-expires-in': '300', 'failed-images': '' })
    // One token per repository, each asked for with the Basic header, each masked.
    expect(fake.issuedTokens).toHaveLength(2)
    const tokenRequests = fake.requests.filter((r) => r.url.startsWith('/auth/'))
    expect(authorizationIs(tokenRequests, `Basic ${BASIC}`)).toEqual([true, true])
    expectMasked(run, fake.issuedTokens)
    e2e.expectNoLeak(run)
  })

  test("wrong password: invalid-credentials (Red Hat's 401 body), exit 1", async () => {
    const fake = await e2e.fakeRedHat()
    const run = await e2e.act({
      registry: fake.host,
      images: 'ubi9/ubi',
      password: WRONG_PASSWORD,
    })
    expect(run.code).toBe(1)
    expect(run.outputs).toMatchObject({
      'pull-ready': 'false',
      result: 'invalid-credentials',
      'sso-status': '401',
      'registry-status': '',
      'token-expires-in': '',
      'failed-images': 'ubi9/ubi',
    })
    expect(verdict(run)).toBe('## ❌ Pulls will fail: the credentials were refused')
    expect(run.summary).toContain('### How to fix (`invalid-credentials`)')
    expect(run.stdout).toMatch(
      /^::error::The token service at 127\.0\.0\.1:\d+ refused the credentials/m,
    )
    e2e.expectNoLeak(run, [WRONG_PASSWORD])
  })

  test('token granted but the registry refuses the image: access-denied with its own words', async () => {
    const fake = await e2e.fakeRedHat({ entitlements: { [USER]: ['ubi9/ubi'] } })
    const run = await e2e.act({
      registry: fake.host,
      images: 'ubi9/ubi\nrhel9/postgresql-15:latest',
    })
    expect(run.code).toBe(1)
    expect(run.outputs.result).toBe('access-denied')
    expect(run.outputs['failed-images']).toBe('rhel9/postgresql-15:latest')
    expect(verdict(run)).toBe('## ❌ Pulls will fail: the registry denied access')
    expect(report(run).images[1].registryMessage).toMatch(/Please login to the Red Hat Registry/)
    e2e.expectNoLeak(run)
  })

  test('a tag that does not exist: image-not-found', async () => {
    const fake = await e2e.fakeRedHat()
    const run = await e2e.act({ registry: fake.host, images: 'ubi9/ubi:8.0-nope' })
    expect(run.code).toBe(1)
    expect(run.outputs.result).toBe('image-not-found')
    expect(run.outputs['failed-images']).toBe('ubi9/ubi:8.0-nope')
    expect(verdict(run)).toBe('## ❌ Pulls will fail: an image was not found')
    e2e.expectNoLeak(run)
  })

  test('an image by digest pulls', async () => {
    const fake = await e2e.fakeRedHat()
    const { digest } = fakeManifest('ubi9/ubi', '9.4')
    const run = await e2e.act({ registry: fake.host, images: `${fake.host}/ubi9/ubi@${digest}` })
    expectPullReady(run)
    expect(report(run).images[0]).toMatchObject({ outcome: 'passed', digest })
    // The index by its digest, then the platform's manifest it names.
    const { manifest } = fakeImage('ubi9/ubi', '9.4')
    expect(requestLines(fake.requests.filter((r) => r.url.includes('/manifests/')))).toEqual([
      `GET /v2/ubi9/ubi/manifests/${digest}`,
      `GET /v2/ubi9/ubi/manifests/${manifest.digest}`,
    ])
    e2e.expectNoLeak(run)
  })

  test('fail-on-error false: the step passes and the outputs still say why', async () => {
    const fake = await e2e.fakeRedHat()
    const run = await e2e.act({
      registry: fake.host,
      password: WRONG_PASSWORD,
      'fail-on-error': 'false',
    })
    expect(run.code).toBe(0)
    expect(run.outputs).toMatchObject({ 'pull-ready': 'false', result: 'invalid-credentials' })
    expect(verdict(run)).toBe('## ❌ Pulls will fail: the credentials were refused')
    expect(run.stdout).toMatch(/^::warning title=registry-auth-preflight%3A invalid-credentials::/m)
    expect(run.stdout).not.toMatch(/^::error/m)
    e2e.expectNoLeak(run, [WRONG_PASSWORD])
  })

  test('an empty password: missing-credentials with the fork and Dependabot hint; nothing sent', async () => {
    const fake = await e2e.fakeRedHat()
    const run = await e2e.act({ registry: fake.host, password: '' })
    expect(run.code).toBe(1)
    expect(run.outputs.result).toBe('missing-credentials')
    expect(run.outputs.message).toMatch(/forks and by Dependabot/)
    expect(fake.requests.some((r) => r.url.startsWith('/auth/'))).toBe(false)
  })

  test('a password with a trailing newline: trimmed as login steps do, with a warning', async () => {
    const fake = await e2e.fakeRedHat()
    const run = await e2e.act({ registry: fake.host, password: `${PASSWORD}\n` })
    expectPullReady(run)
    expect(run.stdout).toMatch(/^::warning::The password input has a newline at its start or end/m)
    // What reached the token service is the trimmed password.
    const asked = fake.requests.filter((r) => r.url.startsWith('/auth/'))
    expect(authorizationIs(asked, `Basic ${BASIC}`)).toEqual([true])
    e2e.expectNoLeak(run)
  })
})

describe('network failures', () => {
  test('a closed port: connection-failed, and the token service is not pretended to be known', async () => {
    const port = await closedPort()
    const run = await e2e.act({ registry: `127.0.0.1:${port}` })
    expectNoAnswer(run, 'connection-failed')
    expect(verdict(run)).toBe('## ❌ Pulls will fail: the connection failed')
    e2e.expectNoLeak(run)
  })

  test('a server that accepts and never answers: timeout within the deadline', async () => {
    const hole = await startBlackHole()
    e2e.servers.add(hole)
    const run = await e2e.act({ registry: hole.host, timeout: '1' })
    expectNoAnswer(run, 'timeout')
    expect(verdict(run)).toBe('## ❌ Pulls will fail: no answer in time')
    expect(run.durationMs).toBeLessThan(10_000) // a hang would hit the harness's 30 s kill
    e2e.expectNoLeak(run)
  })

  test('a host name that does not resolve: dns-error', async () => {
    const run = await e2e.act({ registry: 'registry.does-not-exist.invalid' })
    expectNoAnswer(run, 'dns-error')
    expect(verdict(run)).toBe('## ❌ Pulls will fail: a host name does not resolve')
    e2e.expectNoLeak(run)
  })

  test('a certificate from an unknown CA: tls-error', async () => {
    const fake = await e2e.fakeRedHat({ tls: rogue })
    const run = await e2e.act({ registry: fake.host })
    expectNoAnswer(run, 'tls-error')
    expect(run.outputs.message).toMatch(/NODE_EXTRA_CA_CERTS/)
    expect(verdict(run)).toBe('## ❌ Pulls will fail: a certificate did not verify')
    expect(requestLines(fake.requests)).toEqual([]) // no request, so no credential, crossed the bad TLS
    e2e.expectNoLeak(run)
  })
})

describe('answers no registry gives', () => {
  test('an HTML page with 200 (a captive portal): unexpected-response', async () => {
    const fake = await e2e.fakeRedHat({
      handler: (_req: IncomingMessage, res: ServerResponse) => {
        res
          .writeHead(200, { 'Content-Type': 'text/html' })
          .end('<!DOCTYPE html><h1>Sign in to the guest Wi-Fi</h1>')
        return true
      },
    })
    const run = await e2e.act({ registry: fake.host, images: 'ubi9/ubi' })
    expect(run.code).toBe(1)
    expect(run.outputs.result).toBe('unexpected-response')
    expect(verdict(run)).toBe('## ❌ Pulls will fail: something other than the registry answered')
    e2e.expectNoLeak(run)
  })
})

describe('transient failures', () => {
  test('500 then 200: retried, then ok', async () => {
    const fake = await e2e.fakeRedHat({
      handler: (req: IncomingMessage, res: ServerResponse, ctx: { url: URL; hits: number }) => {
        if (ctx.url.pathname !== '/v2/' || ctx.hits !== 1) return false
        res
          .writeHead(500, { 'Content-Type': 'application/json' })
          .end('{"errors":[{"code":"UNKNOWN"}]}')
        return true
      },
    })
    const run = await e2e.act({ registry: fake.host, retries: '2' })
    expectPullReady(run)
    expect(report(run).checks.find((c) => c.id === 'ping')?.attempts).toBe(2)
    e2e.expectNoLeak(run)
  })

  test('429 with Retry-After: waits as asked, then ok', async () => {
    const fake = await e2e.fakeRedHat({
      handler: (req: IncomingMessage, res: ServerResponse, ctx: { url: URL; hits: number }) => {
        if (!ctx.url.pathname.startsWith('/auth/') || ctx.hits !== 1) return false
        res.writeHead(429, { 'Retry-After': '1', 'Content-Type': 'application/json' }).end('{}')
        return true
      },
    })
    const run = await e2e.act({ registry: fake.host, retries: '2' })
    expectPullReady(run)
    expect(requestLines(fake.requests.filter((r) => r.url.startsWith('/auth/')))).toHaveLength(2)
    expect(run.durationMs).toBeGreaterThanOrEqual(1000)
    e2e.expectNoLeak(run)
  })

  test('429 with a Retry-After too long to wait: rate-limited at once', async () => {
    const fake = await e2e.fakeRedHat({
      handler: (req: IncomingMessage, res: ServerResponse, ctx: { url: URL }) => {
        if (!ctx.url.pathname.startsWith('/auth/')) return false
        res.writeHead(429, { 'Retry-After': '3600', 'Content-Type': 'application/json' }).end('{}')
        return true
      },
    })
    const run = await e2e.act({ registry: fake.host, retries: '2' })
    expectOutputs(run, { result: 'rate-limited', 'sso-status': '429' }, 1)
    expect(run.outputs.message).toMatch(/Retry-After asked for 3600 s/)
    // Not retried, though retries allowed two more tries: the wait asked for is too long.
    expect(requestLines(fake.requests.filter((r) => r.url.startsWith('/auth/')))).toHaveLength(1)
    expect(run.durationMs).toBeLessThan(10_000)
    e2e.expectNoLeak(run)
  })
})

describe('secrets on the move', () => {
  test('a redirect to another host arrives there without Authorization', async () => {
    const { digest, body } = fakeManifest('ubi9/ubi', 'latest')
    const mirror = await startPlainServer(e2e.tls, (req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, {
        'Docker-Distribution-Api-Version': 'registry/2.0',
        'Docker-Content-Digest': digest,
        'Content-Type': 'application/vnd.oci.image.index.v1+json',
      })
      res.end(req.method === 'HEAD' ? undefined : body)
    })
    e2e.servers.add(mirror)
    const fake = await e2e.fakeRedHat({
      handler: (req: IncomingMessage, res: ServerResponse, ctx: { url: URL }) => {
        if (!ctx.url.pathname.endsWith('/manifests/latest')) return false
        // Another host: `localhost` is not `127.0.0.1` to a browser, nor to the secret rules.
        res
          .writeHead(307, {
            Location: `https://localhost:${mirror.port}/v2/ubi9/ubi/manifests/latest`,
          })
          .end()
        return true
      },
    })
    const run = await e2e.act({ registry: fake.host, images: 'ubi9/ubi' })
    expectPullReady(run)
    expect(requestLines(mirror.requests)).toEqual(['GET /v2/ubi9/ubi/manifests/latest'])
    expect(authorizationIs(mirror.requests, undefined)).toEqual([true])
    const manifests = fake.requests.filter((r) => r.url.includes('/manifests/'))
    expect(manifests.length).toBeGreaterThan(0)
    expect(authorizationIs(manifests, `Bearer ${fake.issuedTokens[0]}`)).toEqual(
      manifests.map(() => true),
    )
    e2e.expectNoLeak(run)
  })
})

describe('inputs', () => {
  test('a timeout that is no number: invalid-input naming the input, whatever fail-on-error says', async () => {
    const run = await e2e.act({ timeout: 'ten', 'fail-on-error': 'false' })
    expect(run.code).toBe(1)
    expect(run.outputs).toMatchObject({ result: 'invalid-input', 'pull-ready': 'false' })
    expect(run.outputs.message).toMatch(/^Invalid timeout 'ten'\. Expected a number of seconds/)
    expect(verdict(run)).toBe('## ❌ Not checked: an input is invalid')
    expect(run.stderr).not.toMatch(/at .*\.js:\d+/) // no stack trace
    e2e.expectNoLeak(run)
  })

  test('a local run without GITHUB_STEP_SUMMARY still writes the outputs', async () => {
    const fake = await e2e.fakeRedHat()
    const run = await e2e.act({ registry: fake.host }, { GITHUB_STEP_SUMMARY: undefined })
    expectOutputs(run, { result: 'ok', 'pull-ready': 'true' }, 0)
    expect(run.summary).toBe('')
    expectNoStackTrace(run)
  })
})
