/**
 * Secrets that come back: a registry whose refusal quotes the request (debugging registries and
 * some proxies do: `access denied for authorization "Bearer …"`), and proxy passwords when both
 * spellings of the proxy variable are set. The built action (dist/index.js) runs with step debug
 * logging on; whatever a person or a later step can read must hold no secret.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startConnectProxy } from '../scripts/lib/connect-proxy.mjs'
import { startFakeRedHat } from '../scripts/lib/fake-registry.mjs'
import { makeCertificates, type Certificates } from '../scripts/lib/tls.mjs'
import { Servers, basic, expectNoSecrets, masked, runDebug } from './support/e2e.js'

const USER = '12345678|quoted-secrets'
const PASSWORD = `Qu0ted%pass:/+${randomBytes(12).toString('base64url')}`
const IMAGES = { 'ubi9/ubi': ['latest'] }
const PROXIED = 'registry.proxied.test'
const PACKAGE_VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
).version

type Fake = Awaited<ReturnType<typeof startFakeRedHat>>
type Handler = NonNullable<Parameters<typeof startFakeRedHat>[0]['handler']>

let dir: string
let tls: Certificates
const servers = new Servers()

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'preflight-quoted-'))
  tls = await makeCertificates(dir, { names: [PROXIED] })
})
afterEach(() => servers.closeAll())
afterAll(() => rm(dir, { recursive: true, force: true }))

async function fakeRedHat(handler?: Handler): Promise<Fake> {
  return servers.add(
    await startFakeRedHat({ tls, users: { [USER]: PASSWORD }, images: IMAGES, handler }),
  )
}

/** Every form the run's credentials take: the password, the Basic header, each token issued. */
function secretsOf(fake: Fake): string[] {
  return [
    PASSWORD,
    encodeURIComponent(PASSWORD),
    basic(USER, PASSWORD),
    ...fake.issuedTokens,
    ...fake.issuedTokens.map((t) => Buffer.from(t).toString('base64')),
  ]
}

/** A refusal of every manifest that quotes what the request carried, in one way or another. */
const quoting =
  (words: (authorization: string) => string): Handler =>
  (req: IncomingMessage, res: ServerResponse, ctx) => {
    if (!ctx.url.pathname.includes('/manifests/')) return false
    const body = JSON.stringify({
      errors: [{ code: 'DENIED', message: words(req.headers.authorization ?? '') }],
    })
    res
      .writeHead(403, {
        'Docker-Distribution-Api-Version': 'registry/2.0',
        'Content-Type': 'application/json',
      })
      .end(req.method === 'HEAD' ? undefined : body)
    return true
  }

describe('a registry that quotes the request back', () => {
  test.each([
    ['the Authorization header', (a: string) => `access denied for authorization "${a}"`],
    ['the bare token', (a: string) => `token ${a.replace(/^Bearer /, '')} lacks pull`],
    [
      'the token base64-encoded, after a control character',
      (a: string) => `denied\u0007 ${Buffer.from(a.replace(/^Bearer /, '')).toString('base64')}`,
    ],
    ['the password', () => `user ${USER} with password ${PASSWORD} is not entitled`],
    ['the Basic credentials', () => `Basic ${basic(USER, PASSWORD)} refused`],
  ])('quoting %s: refused as access-denied, the quote kept but the secret cut', async (_, say) => {
    const fake = await fakeRedHat(quoting(say))
    const run = await runDebug({
      inputs: { registry: fake.host, username: USER, password: PASSWORD, images: 'ubi9/ubi' },
      caPath: tls.caPath,
    })
    expect(run.outputs.result).toBe('access-denied')
    expect(run.code).toBe(1)
    expect(fake.issuedTokens.length).toBeGreaterThan(0)
    expectNoSecrets(run, secretsOf(fake))
    const report = JSON.parse(run.outputs.report) as { images: { registryMessage?: string }[] }
    // The registry's words still reach the user, with the secret blanked and no control character.
    expect(report.images[0].registryMessage).toMatch(/\*\*\*/)
    // eslint-disable-next-line no-control-regex
    expect(report.images[0].registryMessage).not.toMatch(/[\x00-\x1f]/)
  })

  test('a page-long quote is capped in the report and the summary', async () => {
    const fake = await fakeRedHat(quoting((a) => `${'x'.repeat(5000)} ${a}`))
    const run = await runDebug({
      inputs: { registry: fake.host, username: USER, password: PASSWORD, images: 'ubi9/ubi' },
      caPath: tls.caPath,
    })
    expect(run.outputs.result).toBe('access-denied')
    const report = JSON.parse(run.outputs.report) as { images: { registryMessage?: string }[] }
    expect(report.images[0].registryMessage!.length).toBeLessThanOrEqual(300)
    expect(run.summary).not.toContain('x'.repeat(301))
    expectNoSecrets(run, secretsOf(fake))
  })

  test('the version in the User-Agent is the package’s', async () => {
    const fake = await fakeRedHat()
    const run = await runDebug({
      inputs: { registry: fake.host, username: USER, password: PASSWORD, images: 'ubi9/ubi' },
      caPath: tls.caPath,
    })
    expect(run.outputs.result).toBe('ok')
    const agents = new Set(fake.requests.map((r) => r.headers['user-agent']))
    expect([...agents]).toEqual([`registry-auth-preflight/${PACKAGE_VERSION}`])
  })
})

describe('both spellings of the proxy variable', () => {
  const proxyUrl = (host: string, password: string): string =>
    `http://proxy-user:${encodeURIComponent(password)}@${host}`

  test('HTTPS_PROXY is used, and both passwords are masked before any line could carry them', async () => {
    const upper = `Upp3r@pass:${randomBytes(9).toString('base64url')}`
    const lower = `l0wer@pass:${randomBytes(9).toString('base64url')}`
    const fake = await fakeRedHat()
    const proxy = servers.add(
      await startConnectProxy({
        hosts: { [PROXIED]: '127.0.0.1' },
        credentials: { user: 'proxy-user', password: upper },
      }),
    )
    const run = await runDebug({
      inputs: {
        registry: `${PROXIED}:${fake.port}`,
        username: USER,
        password: PASSWORD,
        images: 'ubi9/ubi',
      },
      env: { HTTPS_PROXY: proxyUrl(proxy.host, upper), https_proxy: proxyUrl(proxy.host, lower) },
      caPath: tls.caPath,
    })
    // Only the upper-case proxy's password opens the tunnel: it was the one used.
    expect(run.outputs.result).toBe('ok')
    const mask = masked(run)
    for (const password of [upper, lower]) {
      expect(mask).toContain(password)
      expect(mask).toContain(encodeURIComponent(password))
    }
    expectNoSecrets(run, [
      ...secretsOf(fake),
      upper,
      lower,
      encodeURIComponent(upper),
      encodeURIComponent(lower),
      basic('proxy-user', upper),
    ])
  })

  test('an invalid HTTPS_PROXY is named as HTTPS_PROXY, with its password masked', async () => {
    const secret = `s3cret/${randomBytes(9).toString('base64url')}`
    const run = await runDebug({
      inputs: { username: USER, password: PASSWORD },
      // The userinfo's `/` makes the URL unreadable; the valid lower-case spelling is not used.
      env: {
        HTTPS_PROXY: `http://user:${secret}@proxy.internal:3128`,
        https_proxy: 'http://proxy.internal:3128',
      },
    })
    expect(run.outputs.result).toBe('invalid-input')
    expect(run.outputs.message).toMatch(/^Invalid proxy in the HTTPS_PROXY variable/)
    expect(masked(run)).toContain(secret)
    expectNoSecrets(run, [PASSWORD, secret, encodeURIComponent(secret)])
  })
})
