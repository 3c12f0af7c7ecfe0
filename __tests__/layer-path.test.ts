/**
 * The layer path: what a pull does after the manifest, and what `pull-ready: true` must therefore
 * have checked. For each registry in play, the action reads one image's manifest (for an index, the
 * one for the wanted platform), then asks for its config blob (`GET /v2/<repo>/blobs/<digest>`,
 * `Range: bytes=0-0`) and follows the registry's redirect to its blob host as a pull does: without
 * Authorization, through the proxy NO_PROXY picks for that host, https only, at most 5 redirects.
 * A failure there is reported with the existing codes, naming the blob host and port.
 *
 * The peers are real where it matters:
 * - Debian's docker-registry (distribution 2.8) with its `redirect` storage middleware, which
 *   answers every blob GET and HEAD with 307 to <baseurl's host> + the storage path, in front of a
 *   blob CDN that serves the registry's storage directory and journals every request
 *   (scripts/lib/distribution.mjs, scripts/lib/blob-cdn.mjs); a real squid (scripts/lib/squid.mjs);
 *   and skopeo as the referee: `skopeo copy docker://… dir:<tmp>`, which fetches every blob,
 *   following the same redirects, with the same CA, credentials and proxy settings. In every layer
 *   case below, `pull-ready` must agree with whether skopeo copy succeeds, except where a rule of
 *   the action's is stricter than Go's client (a redirect to plain http; more than 5 redirects),
 *   which the tests say in so many words.
 * - The imitations of the public registries (scripts/lib/registries.mjs): real images and blobs,
 *   each registry redirecting to its own blob host (cdn01.quay.io, an S3 bucket,
 *   production.cloudflare.docker.com, pkg-containers.githubusercontent.com) with a signed query.
 *
 * Each case first checks that its peer does what the case needs (skopeo fails, or succeeds, for
 * the reason the case is about; the journal shows what arrived), so that a broken peer reads as
 * such and is never mistaken for the action. No secret (passwords, tokens, the signatures in the
 * blob hosts' URLs) may reach stdout, stderr, an output or the summary, with step debug logging on.
 */
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises'
import https from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startConnectProxy } from '../scripts/lib/connect-proxy.mjs'
import { blobDataPath } from '../scripts/lib/blob-cdn.mjs'
import { skopeoCopy, startDistribution } from '../scripts/lib/distribution.mjs'
import { startBlackHole } from '../scripts/lib/fake-registry.mjs'
import { platformText } from '../scripts/lib/oci-images.mjs'
import {
  DOCKER_HUB_CDN,
  GHCR_CDN,
  IMITATED_HOSTS,
  PRIVATE_REGISTRY,
  QUAY_CDN,
  RHC4TP_BUCKET,
  startDistribution as startPrivateRegistry,
  startDockerHub,
  startGhcr,
  startQuay,
  startRedHatConnect,
  startRedHatRegistry,
} from '../scripts/lib/registries.mjs'
import { freePort, requireProgram, startSquid } from '../scripts/lib/squid.mjs'
import { makeCertificates, makeRogueCertificates, type Certificates } from '../scripts/lib/tls.mjs'
import {
  Servers,
  basic,
  expectNoSecrets,
  parseReport,
  runDebug,
  visibleStdout,
  withEncoded,
  type Run,
} from './support/e2e.js'

type Distribution = Awaited<ReturnType<typeof startDistribution>>
type Registry = Awaited<ReturnType<Distribution['startRegistry']>>
type Cdn = Awaited<ReturnType<Distribution['startCdn']>>
type Squid = Awaited<ReturnType<typeof startSquid>>
type BlackHole = Awaited<ReturnType<typeof startBlackHole>>
type Pulled = Awaited<ReturnType<Distribution['copy']>>
type Imitation = Awaited<ReturnType<typeof startRedHatRegistry>>
type Check = { id: string; hop?: string; host: string; outcome: string; status?: number }
type Report = {
  result: string
  checks: Check[]
  images: { image: string; outcome: string; finding?: { code: string } }[]
}

/** A Red Hat Registry Service Account, entitled to everything. */
const USER = '12345678|layer-path'
const PASSWORD = 'eyJhbGciOiJSUzUxMiJ9.bGF5ZXItcGF0aA.layers+/='
const CREDS = `${USER}:${PASSWORD}`
const SECRETS = [...withEncoded(PASSWORD), basic(USER, PASSWORD)]
const PROXY_USER = 'proxy-user'
const PROXY_PASSWORD = 'pr0xy:s3cret/+%'

/** ubi9/ubi is multi-platform on Red Hat's registry, and so it is here. */
const MULTI = 'ubi9/ubi:latest'
const MULTI_PLATFORMS = ['linux/amd64', 'linux/arm64/v8', 'linux/ppc64le', 'linux/s390x']
/** An index that holds one platform. */
const AMD64_ONLY = 'rhel9/amd64-only:latest'
/** A single linux/amd64 manifest, no index. */
const SINGLE = 'rhel9/single:latest'

/** Names only squid resolves (the certificates name them too); one nobody resolves. */
const REGISTRY_NAME = 'registry.layers.test'
const CDN_NAME = 'cdn.layers.test'
const NOWHERE = 'cdn.nowhere.test'

/** The runner the tests pretend to be, unless a test says otherwise. */
const X64_RUNNER = { RUNNER_OS: 'Linux', RUNNER_ARCH: 'X64' }
const ARM64_RUNNER = { RUNNER_OS: 'Linux', RUNNER_ARCH: 'ARM64' }

let dist: Distribution
let openProxy: Squid
/** Refuses CONNECT to the CDN's name. */
let strictProxy: Squid
/** Wants Basic credentials. */
let authProxy: Squid
let blackHole: BlackHole
let rogueTls: Certificates
let closedCdnPort: number

/** The blob CDNs over the registry's storage, by how they behave. */
const cdn = {} as Record<
  'good' | 'rogue' | 'forbidden' | 'failing' | 'signing' | 'looping' | 'plain',
  Cdn
>
/** Registry processes on the same storage, by where they send blobs. */
const reg = {} as Record<
  | 'direct'
  | 'named'
  | 'nowhere'
  | 'rogue'
  | 'closed'
  | 'silent'
  | 'forbidden'
  | 'failing'
  | 'signing'
  | 'looping'
  | 'plain',
  Registry
>

beforeAll(async () => {
  for (const [program, what] of [
    ['squid', 'squid'],
    ['/usr/lib/squid/basic_ncsa_auth', 'basic_ncsa_auth (package squid)'],
    ['docker-registry', 'docker-registry'],
    ['skopeo', 'skopeo'],
    ['openssl', 'openssl'],
  ]) {
    requireProgram(program, what)
  }
  const names = [REGISTRY_NAME, CDN_NAME]
  const started = await Promise.allSettled([
    startDistribution({
      users: { [USER]: { password: PASSWORD, entitlements: '*' } },
      names,
      images: { 'rhel9/single': ['latest'] },
      indexes: { [MULTI]: MULTI_PLATFORMS, [AMD64_ONLY]: ['linux/amd64'] },
    }),
    startSquid({ hosts: names }),
    startSquid({ hosts: names, deny: [CDN_NAME] }),
    startSquid({ hosts: names, credentials: { user: PROXY_USER, password: PROXY_PASSWORD } }),
    startBlackHole(),
  ])
  const [d, o, s, a, b] = started
  if (d.status === 'fulfilled') dist = d.value
  if (o.status === 'fulfilled') openProxy = o.value
  if (s.status === 'fulfilled') strictProxy = s.value
  if (a.status === 'fulfilled') authProxy = a.value
  if (b.status === 'fulfilled') blackHole = b.value
  for (const result of started) if (result.status === 'rejected') throw result.reason

  rogueTls = await makeRogueCertificates(dist.dir)
  closedCdnPort = await freePort()
  const [good, rogue, forbidden, failing, signing, looping, plain] = await Promise.all([
    dist.startCdn(),
    dist.startCdn({ tls: rogueTls }),
    dist.startCdn({ mode: 'forbidden' }),
    dist.startCdn({ mode: 'error' }),
    dist.startCdn({ mode: 'sign' }),
    dist.startCdn({ mode: 'loop' }),
    dist.startCdn({ tls: null }),
  ])
  Object.assign(cdn, { good, rogue, forbidden, failing, signing, looping, plain })
  const redirects = {
    direct: good.baseUrl(),
    named: good.baseUrl(CDN_NAME),
    nowhere: good.baseUrl(NOWHERE),
    rogue: rogue.baseUrl(),
    closed: `https://localhost:${closedCdnPort}/`,
    silent: `https://localhost:${blackHole.port}/`,
    forbidden: forbidden.baseUrl(),
    failing: failing.baseUrl(),
    signing: signing.baseUrl(),
    looping: looping.baseUrl(),
    plain: plain.baseUrl(),
  }
  const registries = await Promise.all(
    Object.entries(redirects).map(
      async ([name, redirect]) => [name, await dist.startRegistry('rhcc', { redirect })] as const,
    ),
  )
  Object.assign(reg, Object.fromEntries(registries))
}, 60_000)

afterAll(async () => {
  await Promise.all(
    [dist, openProxy, strictProxy, authProxy, blackHole].map((peer) => peer?.close()),
  )
}, 30_000)

/** Runs dist/index.js with step debug logging on, trusting the test CA, on an x64 Linux runner. */
function act(
  inputs: Record<string, string>,
  env: Record<string, string | undefined> = {},
): Promise<Run> {
  return runDebug({
    inputs: { username: USER, password: PASSWORD, retries: '0', timeout: '5', ...inputs },
    env: { ...X64_RUNNER, ...env },
    caPath: dist.tls.caPath,
  })
}

/** What skopeo copy says about `registry/image`, with the account's credentials unless told. */
function pull(
  registry: string,
  image: string,
  options: Omit<Parameters<Distribution['copy']>[0], 'reference'> = {},
): Promise<Pulled> {
  return dist.copy({ reference: `${registry}/${image}`, creds: CREDS, ...options })
}

/**
 * The peer check: skopeo copy succeeded, or failed for the reason this case is about. A failure
 * here means the test set-up is wrong, not the action.
 */
function expectPull(pulled: Pulled, ok: boolean, because?: RegExp): void {
  const said = pulled.ok ? 'it succeeded' : `it failed: ${pulled.stderr.trim()}`
  if (pulled.ok !== ok)
    throw new Error(`peer set-up: skopeo copy should ${ok ? 'succeed' : 'fail'} here, but ${said}`)
  if (!ok && because && !because.test(pulled.stderr))
    throw new Error(`peer set-up: skopeo copy failed, but not with ${because}: ${said}`)
}

/** The referee: the action's pull-ready is what skopeo copy says about every pull. */
function expectAgreement(run: Run, pulled: Pulled[]): void {
  const skopeoReady = pulled.every((p) => p.ok)
  if ((run.outputs['pull-ready'] === 'true') !== skopeoReady)
    throw new Error(
      [
        `the action and skopeo copy disagree:`,
        `  the action: pull-ready=${run.outputs['pull-ready']}, result=${run.outputs.result}`,
        `  ${run.outputs.message}`,
        `  skopeo copy: ${pulled.map((p) => (p.ok ? 'ok' : p.stderr.trim())).join('; ')}`,
      ].join('\n'),
    )
}

/** Every request a CDN journalled while `body` ran. */
async function journalled<T>(server: Cdn, body: () => Promise<T>): Promise<[T, Cdn['journal']]> {
  const before = server.journal.length
  const result = await body()
  return [result, server.journal.slice(before)]
}

/** squid's access-log lines written while `body` ran. */
async function logged<T>(
  proxy: Squid,
  body: () => Promise<T>,
): Promise<[T, Awaited<ReturnType<Squid['log']>>]> {
  const before = (await proxy.log({ settleMs: 0 })).length
  const result = await body()
  return [result, (await proxy.log()).slice(before)]
}

/** The `hosts` output as a list. */
const hostsOf = (run: Run): string[] => (run.outputs.hosts ?? '').split('\n').filter(Boolean)

/** The layer check in the report. */
const blobCheck = (run: Run): Check | undefined =>
  parseReport<Report>(run).checks.find((c) => c.id === 'blob')

/** The config blob of an image pushed here, for a platform (default linux/amd64). */
function configOf(image: string, platform = 'linux/amd64'): string {
  const built = dist.pushed[image]
  const found = built.manifests.find((m) => platformText(m.platform) === platform)
  if (!found) throw new Error(`${image} has no ${platform}`)
  return found.config.digest
}

function expectNoLeak(run: Run, extra: string[] = []): void {
  expectNoSecrets(run, [...SECRETS, ...dist.tokens.issued.map((i) => i.token), ...extra])
}

/** A failure at the blob host: the code, the host:port named, the report's check. */
function expectBlobHostFailure(run: Run, code: string, blobHost: string): void {
  expect(run.outputs).toMatchObject({ result: code, 'pull-ready': 'false' })
  expect(run.code).toBe(1)
  expect(run.outputs.message).toContain(blobHost)
  expect(blobCheck(run)).toMatchObject({
    id: 'blob',
    hop: 'blob-host',
    host: blobHost,
    outcome: 'failed',
  })
}

describe('the peers themselves: docker-registry’s redirect middleware and the blob CDN', () => {
  /** A pull token for `repo`, from the token service. */
  async function tokenFor(repo: string): Promise<string> {
    const url = `${dist.tokens.realm()}?service=docker-registry&scope=repository:${repo}:pull`
    const answer = await fetchOnce(url, { authorization: `Basic ${basic(USER, PASSWORD)}` })
    return (JSON.parse(answer.body) as { token: string }).token
  }

  test('blob GET and HEAD answer 307 to the baseurl’s scheme and host + the storage path; the baseurl’s path and query are dropped; the Range is left to the client', async () => {
    const withQuery = await dist.startRegistry('rhcc', {
      redirect: `${cdn.good.baseUrl()}prefix/dropped?X-Amz-Signature=dropped`,
    })
    const token = await tokenFor('ubi9/ubi')
    const config = configOf(MULTI)
    for (const registry of [reg.direct, withQuery]) {
      for (const method of ['GET', 'HEAD']) {
        const answer = await fetchOnce(
          `https://${registry.host}/v2/ubi9/ubi/blobs/${config}`,
          {
            authorization: `Bearer ${token}`,
            range: 'bytes=0-0',
          },
          method,
        )
        expect([method, answer.status]).toEqual([method, 307])
        expect(answer.headers.location).toBe(
          `https://localhost:${cdn.good.port}${blobDataPath(config)}`,
        )
        expect(answer.body).toBe('')
      }
    }
    // The CDN: one byte for bytes=0-0, the bytes the digest names.
    const [answer, journal] = await journalled(cdn.good, () =>
      fetchOnce(`${cdn.good.baseUrl()}${blobDataPath(config).slice(1)}`, { range: 'bytes=0-0' }),
    )
    expect(answer.status).toBe(206)
    expect(answer.headers['content-range']).toMatch(/^bytes 0-0\/\d+$/)
    expect(answer.body).toBe('{')
    expect(journal).toEqual([
      expect.objectContaining({ method: 'GET', path: blobDataPath(config), query: '' }),
    ])
  })

  test('skopeo copy follows the redirect: the CDN gets every blob, never an Authorization header', async () => {
    const [pulled, journal] = await journalled(cdn.good, () => pull(reg.direct.host, MULTI))
    expectPull(pulled, true)
    const blobs = dist.pushed[MULTI].manifests[0]
    expect(journal.map((r) => r.path).sort()).toEqual(
      [blobs.config, ...blobs.layers].map((b) => blobDataPath(b.digest)).sort(),
    )
    expect(journal.every((r) => r.headers.authorization === undefined)).toBe(true)
  })
})

describe('the layer path of a real registry (docker-registry 2.8, redirect middleware), skopeo copy as referee', () => {
  test('blobs on a CDN reached directly: ok; one GET of the config blob with Range bytes=0-0 and no Authorization; hosts are the registry, the token service and the CDN', async () => {
    const cdnHost = `localhost:${cdn.good.port}`
    const [run, journal] = await journalled(cdn.good, () =>
      act({ registry: reg.direct.host, images: MULTI }),
    )
    const pulled = await pull(reg.direct.host, MULTI)
    expectPull(pulled, true)
    expect(run.outputs).toMatchObject({ result: 'ok', 'pull-ready': 'true' })
    expect(run.code).toBe(0)
    expect(journal).toEqual([
      expect.objectContaining({ method: 'GET', path: blobDataPath(configOf(MULTI)) }),
    ])
    expect(journal[0].headers.range).toBe('bytes=0-0')
    expect(journal[0].headers.authorization).toBeUndefined()
    expect(hostsOf(run)).toEqual([reg.direct.host, dist.tokens.host, cdnHost])
    expect(blobCheck(run)).toMatchObject({ id: 'blob', outcome: 'passed' })
    expectNoLeak(run)
    expectAgreement(run, [pulled])
  })

  test('two images on one registry: one layer check, for the first image', async () => {
    const [run, journal] = await journalled(cdn.good, () =>
      act({ registry: reg.direct.host, images: `${MULTI}\n${SINGLE}` }),
    )
    expect(run.outputs).toMatchObject({ result: 'ok', 'pull-ready': 'true' })
    // One layer check (one byte of the first image's config); the single-platform image's whole
    // config is read too, for its platform, which only a config says.
    const ranged = journal.filter((r) => r.headers.range)
    expect(ranged.map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET ${blobDataPath(configOf(MULTI))}`,
    ])
    expect(journal.filter((r) => !r.headers.range).map((r) => r.path)).toEqual([
      blobDataPath(configOf(SINGLE)),
    ])
    const report = JSON.parse(run.outputs.report) as { checks: { id: string }[] }
    expect(report.checks.filter((c) => c.id === 'blob')).toHaveLength(1)
    expectNoLeak(run)
  })

  test('a registry that serves its blobs itself (no redirect): ok, and hosts hold no third host', async () => {
    const run = await act({ registry: dist.registry.host, images: MULTI })
    const pulled = await pull(dist.registry.host, MULTI)
    expectPull(pulled, true)
    expect(run.outputs).toMatchObject({ result: 'ok', 'pull-ready': 'true' })
    expect(hostsOf(run)).toEqual([dist.registry.host, dist.tokens.host])
    expect(blobCheck(run)).toMatchObject({ outcome: 'passed' })
    expectNoLeak(run)
    expectAgreement(run, [pulled])
  })

  test('registry and CDN by names only squid resolves: ok; squid tunnelled to both', async () => {
    const registry = `${REGISTRY_NAME}:${reg.named.port}`
    const cdnHost = `${CDN_NAME}:${cdn.good.port}`
    const [[run, journal], log] = await logged(openProxy, () =>
      journalled(cdn.good, () => act({ registry, images: MULTI, proxy: openProxy.url })),
    )
    const pulled = await pull(registry, MULTI, { env: { HTTPS_PROXY: openProxy.url } })
    expectPull(pulled, true)
    expect(run.outputs).toMatchObject({ result: 'ok', 'pull-ready': 'true' })
    expect(log).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ target: registry, status: 200 }),
        expect.objectContaining({ target: cdnHost, status: 200 }),
      ]),
    )
    expect(journal.map((r) => r.headers.host)).toEqual([cdnHost])
    expect(journal[0].headers.authorization).toBeUndefined()
    expect(hostsOf(run)).toEqual([registry, dist.tokens.host, cdnHost])
    expectNoLeak(run)
    expectAgreement(run, [pulled])
  })

  test('squid allows the registry and refuses CONNECT to the CDN (an ACL on its name): proxy-error naming the CDN', async () => {
    const registry = `${REGISTRY_NAME}:${reg.named.port}`
    const cdnHost = `${CDN_NAME}:${cdn.good.port}`
    const [[run, journal], log] = await logged(strictProxy, () =>
      journalled(cdn.good, () => act({ registry, images: MULTI, proxy: strictProxy.url })),
    )
    const pulled = await pull(registry, MULTI, { env: { HTTPS_PROXY: strictProxy.url } })
    expectPull(pulled, false, /Forbidden/)
    expectBlobHostFailure(run, 'proxy-error', cdnHost)
    expect(run.outputs.message).toContain('403')
    expect(log).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ target: registry, status: 200 }),
        expect.objectContaining({ target: cdnHost, status: 403, code: 'TCP_DENIED' }),
      ]),
    )
    expect(journal).toEqual([])
    expect(hostsOf(run)).toEqual([registry, dist.tokens.host, cdnHost])
    expectNoLeak(run)
    expectAgreement(run, [pulled])
  })

  test('NO_PROXY covers the CDN: it is asked directly, and the runner cannot resolve it: dns-error', async () => {
    const registry = `${REGISTRY_NAME}:${reg.named.port}`
    const cdnHost = `${CDN_NAME}:${cdn.good.port}`
    const env = { HTTPS_PROXY: openProxy.url, NO_PROXY: CDN_NAME }
    const [run, log] = await logged(openProxy, () => act({ registry, images: MULTI }, env))
    const pulled = await pull(registry, MULTI, { env })
    expectPull(pulled, false, new RegExp(`lookup ${CDN_NAME.replace(/\./g, '\\.')}`))
    expectBlobHostFailure(run, 'dns-error', cdnHost)
    expect(log.some((e) => e.target === cdnHost)).toBe(false)
    expectNoLeak(run)
    expectAgreement(run, [pulled])
  })

  test('the proxy wants credentials, and only the CDN goes through it (the registry is on loopback): proxy-auth-required', async () => {
    const cdnHost = `${CDN_NAME}:${cdn.good.port}`
    const env = { HTTPS_PROXY: authProxy.url }
    const [run, log] = await logged(authProxy, () =>
      act({ registry: reg.named.host, images: MULTI }, env),
    )
    const pulled = await pull(reg.named.host, MULTI, { env })
    expectPull(pulled, false, /Proxy Authentication Required/)
    expectBlobHostFailure(run, 'proxy-auth-required', cdnHost)
    expect(log).toEqual([expect.objectContaining({ target: cdnHost, status: 407 })])
    expectNoLeak(run, [PROXY_PASSWORD])
    expectAgreement(run, [pulled])
  })

  test('the CDN’s name does not resolve: dns-error naming it', async () => {
    const run = await act({ registry: reg.nowhere.host, images: MULTI })
    const pulled = await pull(reg.nowhere.host, MULTI)
    expectPull(pulled, false, /lookup cdn\.nowhere\.test/)
    expectBlobHostFailure(run, 'dns-error', `${NOWHERE}:${cdn.good.port}`)
    expect(hostsOf(run)).toEqual([
      reg.nowhere.host,
      dist.tokens.host,
      `${NOWHERE}:${cdn.good.port}`,
    ])
    expectNoLeak(run)
    expectAgreement(run, [pulled])
  })

  test('the CDN presents a certificate from an unknown CA (the registry’s is trusted): tls-error naming it', async () => {
    const [run, journal] = await journalled(cdn.rogue, () =>
      act({ registry: reg.rogue.host, images: MULTI }),
    )
    const pulled = await pull(reg.rogue.host, MULTI)
    expectPull(pulled, false, /x509|certificate/)
    expectBlobHostFailure(run, 'tls-error', `localhost:${cdn.rogue.port}`)
    expect(journal).toEqual([]) // no request got through the handshake
    expectNoLeak(run)
    expectAgreement(run, [pulled])
  })

  test('nothing listens on the CDN’s port: connection-failed naming it', async () => {
    const run = await act({ registry: reg.closed.host, images: MULTI })
    const pulled = await pull(reg.closed.host, MULTI)
    expectPull(pulled, false, /connection refused/)
    expectBlobHostFailure(run, 'connection-failed', `localhost:${closedCdnPort}`)
    expectNoLeak(run)
    expectAgreement(run, [pulled])
  })

  test('the CDN accepts the connection and never answers: timeout naming it', async () => {
    const run = await act({ registry: reg.silent.host, images: MULTI, timeout: '2' })
    const pulled = await pull(reg.silent.host, MULTI, { timeoutMs: 4_000 })
    expectPull(pulled, false, /deadline|timeout/i)
    expectBlobHostFailure(run, 'timeout', `localhost:${blackHole.port}`)
    expectNoLeak(run)
    expectAgreement(run, [pulled])
  })

  test('the CDN answers 403: access-denied naming it', async () => {
    const [run, journal] = await journalled(cdn.forbidden, () =>
      act({ registry: reg.forbidden.host, images: MULTI }),
    )
    const pulled = await pull(reg.forbidden.host, MULTI)
    expectPull(pulled, false, /403/)
    expectBlobHostFailure(run, 'access-denied', `localhost:${cdn.forbidden.port}`)
    expect(blobCheck(run)?.status).toBe(403)
    expect(journal.length).toBeGreaterThan(0)
    expect(journal.every((r) => r.headers.authorization === undefined)).toBe(true)
    expectNoLeak(run)
    expectAgreement(run, [pulled])
  })

  test('the CDN answers 503: registry-error naming it', async () => {
    const run = await act({ registry: reg.failing.host, images: MULTI })
    const pulled = await pull(reg.failing.host, MULTI)
    expectPull(pulled, false, /503/)
    expectBlobHostFailure(run, 'registry-error', `localhost:${cdn.failing.port}`)
    expectNoLeak(run)
    expectAgreement(run, [pulled])
  })

  test('a signed redirect (X-Amz-Signature in the query): ok, and the signature reaches no output, summary, stdout or stderr', async () => {
    const before = cdn.signing.signatures.length
    const [run, journal] = await journalled(cdn.signing, () =>
      act({ registry: reg.signing.host, images: MULTI }),
    )
    const signatures = cdn.signing.signatures.slice(before)
    const pulled = await pull(reg.signing.host, MULTI)
    expectPull(pulled, true)
    expect(run.outputs).toMatchObject({ result: 'ok', 'pull-ready': 'true' })
    // registry → CDN (302 with the signed query) → the signed URL: two redirects, followed.
    expect(journal.map((r) => [r.method, r.path, r.query === '' ? 'unsigned' : 'signed'])).toEqual([
      ['GET', blobDataPath(configOf(MULTI)), 'unsigned'],
      ['GET', blobDataPath(configOf(MULTI)), 'signed'],
    ])
    expect(signatures).toHaveLength(1)
    const query = journal[1].query
    expect(query).toContain(`X-Amz-Signature=${signatures[0]}`)
    expect(journal.every((r) => r.headers.authorization === undefined)).toBe(true)
    expect(hostsOf(run)).toEqual([
      reg.signing.host,
      dist.tokens.host,
      `localhost:${cdn.signing.port}`,
    ])
    expectNoLeak(run, [...signatures, query, decodeURIComponent(query)])
    expect(run.outputs.report).not.toContain('X-Amz-')
    expectAgreement(run, [pulled])
  })

  test('the registry redirects to plain http: unexpected-response; skopeo follows it (Go allows the downgrade), the action refuses it by rule', async () => {
    const plainHost = `localhost:${cdn.plain.port}`
    const [run, journal] = await journalled(cdn.plain, () =>
      act({ registry: reg.plain.host, images: MULTI }),
    )
    const [pulled, pulledJournal] = await journalled(cdn.plain, () => pull(reg.plain.host, MULTI))
    // The referee pulls the layers over plain http: the one case where they disagree on purpose.
    expectPull(pulled, true)
    expect(pulledJournal.length).toBeGreaterThan(0)
    expect(run.outputs).toMatchObject({ result: 'unexpected-response', 'pull-ready': 'false' })
    expect(run.outputs.message).toContain(plainHost)
    expect(journal).toEqual([]) // never sent
    expectNoLeak(run)
  })

  test('the CDN redirects forever: unexpected-response after 5 redirects (skopeo gives up after 10)', async () => {
    const [run, journal] = await journalled(cdn.looping, () =>
      act({ registry: reg.looping.host, images: MULTI }),
    )
    const pulled = await pull(reg.looping.host, MULTI)
    expectPull(pulled, false, /stopped after 10 redirects/)
    expect(run.outputs).toMatchObject({ result: 'unexpected-response', 'pull-ready': 'false' })
    expect(run.outputs.message).toContain(`localhost:${cdn.looping.port}`)
    // The registry's 307 is the first redirect; the CDN then saw at most 4 more.
    expect(journal.length).toBeGreaterThan(0)
    expect(journal.length).toBeLessThanOrEqual(5)
    expectNoLeak(run)
    expectAgreement(run, [pulled])
  })

  test('layers: false: manifests by HEAD only, no blob request; the 403 CDN goes unseen', async () => {
    // A registry of its own, so that its log holds this run only.
    const registry = await dist.startRegistry('rhcc', { redirect: cdn.forbidden.baseUrl() })
    const [run, journal] = await journalled(cdn.forbidden, () =>
      act({ registry: registry.host, images: MULTI, layers: 'false' }),
    )
    expect(run.outputs).toMatchObject({ result: 'ok', 'pull-ready': 'true' })
    expect(journal).toEqual([])
    const requests = registry
      .requests()
      .map((r) => `${r.method} ${r.uri.replace(/\/manifests\/.*$/, '/manifests/…')}`)
    expect(requests).toContain('HEAD /v2/ubi9/ubi/manifests/…')
    expect(requests.filter((r) => !r.startsWith('HEAD ') && r !== 'GET /v2/')).toEqual([])
    expect(blobCheck(run)?.outcome ?? 'skipped').toBe('skipped')
    expectNoLeak(run)
  })
})

describe('platforms: a runner on linux/arm64 (RUNNER_ARCH=ARM64), skopeo --override-arch arm64 as referee', () => {
  const arm = (inputs: Record<string, string>): Promise<Run> =>
    act({ registry: reg.direct.host, ...inputs }, ARM64_RUNNER)

  test('a multi-platform index: ok, and the layer check reads the linux/arm64 image’s config', async () => {
    const [run, journal] = await journalled(cdn.good, () => arm({ images: MULTI }))
    const pulled = await pull(reg.direct.host, MULTI, { arch: 'arm64' })
    expectPull(pulled, true)
    expect(run.outputs).toMatchObject({ result: 'ok', 'pull-ready': 'true' })
    expect(journal.map((r) => r.path)).toEqual([blobDataPath(configOf(MULTI, 'linux/arm64/v8'))])
    expectNoLeak(run)
    expectAgreement(run, [pulled])
  })

  test('an index with linux/amd64 only: no-matching-platform, and the message lists linux/amd64', async () => {
    const run = await arm({ images: AMD64_ONLY })
    const pulled = await pull(reg.direct.host, AMD64_ONLY, { arch: 'arm64' })
    expectPull(pulled, false, /no image found in image index for architecture arm64/)
    expect(run.outputs).toMatchObject({
      result: 'no-matching-platform',
      'pull-ready': 'false',
      'failed-images': AMD64_ONLY,
    })
    expect(run.code).toBe(1)
    expect(run.outputs.message).toContain('linux/amd64')
    expect(run.outputs.message).toMatch(/linux\/arm64/)
    expectNoLeak(run)
    expectAgreement(run, [pulled])
  })

  test('a single linux/amd64 manifest: pull-ready, with a warning that it does not match', async () => {
    const run = await arm({ images: SINGLE })
    const pulled = await pull(reg.direct.host, SINGLE, { arch: 'arm64' })
    expectPull(pulled, true) // skopeo (as docker) pulls a single manifest whatever its platform
    expect(run.outputs).toMatchObject({ result: 'ok', 'pull-ready': 'true' })
    expect(run.code).toBe(0)
    const warnings = visibleStdout(run)
      .split('\n')
      .filter((l) => l.startsWith('::warning'))
    expect(warnings.some((l) => l.includes('linux/amd64'))).toBe(true)
    expect(run.summary).toMatch(/### Warnings\n\n(- .*\n)*- .*linux\/amd64/)
    expectNoLeak(run)
    expectAgreement(run, [pulled])
  })

  test('platform: linux/amd64,linux/arm64: every image must offer both', async () => {
    const platform = 'linux/amd64,linux/arm64'
    const multi = await arm({ images: MULTI, platform })
    const amd64Only = await arm({ images: AMD64_ONLY, platform })
    const pulls = async (image: string) =>
      Promise.all(['amd64', 'arm64'].map((arch) => pull(reg.direct.host, image, { arch })))
    const [multiPulled, amd64OnlyPulled] = await Promise.all([pulls(MULTI), pulls(AMD64_ONLY)])
    multiPulled.forEach((p) => expectPull(p, true))
    expectPull(amd64OnlyPulled[0], true)
    expectPull(amd64OnlyPulled[1], false, /architecture arm64/)
    expect(multi.outputs).toMatchObject({ result: 'ok', 'pull-ready': 'true' })
    expect(amd64Only.outputs).toMatchObject({
      result: 'no-matching-platform',
      'pull-ready': 'false',
    })
    expect(amd64Only.outputs.message).toContain('linux/amd64')
    expectNoLeak(multi)
    expectNoLeak(amd64Only)
    expectAgreement(multi, multiPulled)
    expectAgreement(amd64Only, amd64OnlyPulled)
  })

  test('platform: any: an index with linux/amd64 only is fine on an arm64 runner', async () => {
    const run = await arm({ images: AMD64_ONLY, platform: 'any' })
    const pulled = await pull(reg.direct.host, AMD64_ONLY, { all: true })
    expectPull(pulled, true)
    expect(run.outputs).toMatchObject({ result: 'ok', 'pull-ready': 'true' })
    expectNoLeak(run)
    expectAgreement(run, [pulled])
  })

  test('a Windows runner (RUNNER_OS=Windows): a Linux-only index is no-matching-platform', async () => {
    const run = await act(
      { registry: reg.direct.host, images: MULTI },
      { RUNNER_OS: 'Windows', RUNNER_ARCH: 'X64' },
    )
    const pulled = await pull(reg.direct.host, MULTI, { os: 'windows', arch: 'amd64' })
    expectPull(pulled, false, /OS windows/)
    expect(run.outputs).toMatchObject({ result: 'no-matching-platform', 'pull-ready': 'false' })
    expect(run.outputs.message).toContain('windows/amd64')
    expect(run.outputs.message).toContain('linux/arm64/v8')
    expectNoLeak(run)
    expectAgreement(run, [pulled])
  })
})

describe('the public registries’ blob hosts (loopback imitations through a CONNECT proxy)', () => {
  const RH_USER = '12345678|ci-pipeline'
  const RH_PASSWORD = 'eyJhbGciOiJSUzUxMiJ9.c2VjcmV0LXNlcnZpY2UtYWNjb3VudA.sig+/='
  const servers = new Servers()
  let dir: string
  let tls: Certificates
  let certDir: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'layer-path-'))
    tls = await makeCertificates(dir, { names: IMITATED_HOSTS })
    certDir = join(dir, 'certs.d')
    await mkdir(certDir)
    await copyFile(tls.caPath, join(certDir, 'ca.crt'))
  })
  afterEach(() => servers.closeAll())
  afterAll(() => rm(dir, { recursive: true, force: true }))

  async function proxyFor(imitation: Imitation, deny: string[] = []) {
    return servers.add(await startConnectProxy({ hosts: imitation.hosts, deny }))
  }

  function actVia(proxyUrl: string, inputs: Record<string, string>): Promise<Run> {
    return runDebug({
      inputs: { retries: '0', timeout: '5', proxy: proxyUrl, ...inputs },
      env: X64_RUNNER,
      caPath: tls.caPath,
    })
  }

  function pullVia(proxyUrl: string, reference: string, creds?: string): Promise<Pulled> {
    return skopeoCopy({
      reference,
      creds,
      certDir,
      home: dir,
      env: { HTTPS_PROXY: proxyUrl },
    })
  }

  /** A copy of the imitation's requests to one of its hosts so far. */
  const to = (imitation: Imitation, host: string): Imitation['requests'] => [
    ...imitation.servers[host].requests,
  ]

  /** The action's requests to a blob host: one, GET with Range bytes=0-0, no Authorization. */
  function expectCleanBlobRequest(requests: Imitation['requests']): void {
    expect(requests.map((r) => r.method)).toEqual(['GET'])
    expect(requests[0].headers.range).toBe('bytes=0-0')
    expect(requests[0].headers.authorization).toBeUndefined()
  }

  test('registry.redhat.io: ubi9/ubi (a multi-platform list) has its layers on cdn01.quay.io: ok, and hosts name it', async () => {
    const rh = servers.add(
      await startRedHatRegistry({
        tls,
        users: { [RH_USER]: RH_PASSWORD },
        repos: { 'ubi9/ubi': { tags: ['latest'], platforms: MULTI_PLATFORMS } },
      }),
    )
    const proxy = await proxyFor(rh)
    const run = await actVia(proxy.url, {
      username: RH_USER,
      password: RH_PASSWORD,
      images: 'ubi9/ubi:latest',
    })
    const cdnRequests = to(rh, QUAY_CDN)
    const blobRequest = to(rh, 'registry.redhat.io').find((r) => r.url.includes('/blobs/'))
    const pulled = await pullVia(
      proxy.url,
      'registry.redhat.io/ubi9/ubi:latest',
      `${RH_USER}:${RH_PASSWORD}`,
    )
    expectPull(pulled, true)
    expect(run.outputs).toMatchObject({ result: 'ok', 'pull-ready': 'true' })
    expect(blobRequest?.status).toBe(302)
    expectCleanBlobRequest(cdnRequests)
    expect(hostsOf(run)).toEqual(['registry.redhat.io:443', `${QUAY_CDN}:443`])
    expect(proxy.connects.map((c) => c.target)).toContain(`${QUAY_CDN}:443`)
    expectNoSecrets(run, [...SECRETS, RH_PASSWORD, ...rh.issuedTokens, ...rh.signatures])
    expectAgreement(run, [pulled])
  })

  test('a firewall that allows registry.redhat.io and not cdn01.quay.io: proxy-error naming cdn01.quay.io:443', async () => {
    const rh = servers.add(
      await startRedHatRegistry({
        tls,
        users: { [RH_USER]: RH_PASSWORD },
        repos: { 'ubi9/ubi': { tags: ['latest'] } },
      }),
    )
    const proxy = await proxyFor(rh, [QUAY_CDN])
    const run = await actVia(proxy.url, {
      username: RH_USER,
      password: RH_PASSWORD,
      images: 'ubi9/ubi:latest',
    })
    const pulled = await pullVia(
      proxy.url,
      'registry.redhat.io/ubi9/ubi:latest',
      `${RH_USER}:${RH_PASSWORD}`,
    )
    expectPull(pulled, false, /Forbidden/)
    expectBlobHostFailure(run, 'proxy-error', `${QUAY_CDN}:443`)
    expect(proxy.connects).toEqual(
      expect.arrayContaining([expect.objectContaining({ target: `${QUAY_CDN}:443`, status: 403 })]),
    )
    expectNoSecrets(run, [...SECRETS, RH_PASSWORD, ...rh.issuedTokens, ...rh.signatures])
    expectAgreement(run, [pulled])
  })

  test('registry.connect.redhat.com: layers in its S3 bucket (302), which never sees Authorization', async () => {
    const connect = servers.add(
      await startRedHatConnect({
        tls,
        users: { [RH_USER]: RH_PASSWORD },
        repos: { 'nvidia/gpu-operator': { tags: ['v24.3.0'] } },
      }),
    )
    const proxy = await proxyFor(connect)
    const run = await actVia(proxy.url, {
      registry: 'registry.connect.redhat.com',
      username: RH_USER,
      password: RH_PASSWORD,
      images: 'nvidia/gpu-operator:v24.3.0',
    })
    expect(run.outputs).toMatchObject({ result: 'ok', 'pull-ready': 'true' })
    expect(
      to(connect, 'registry.connect.redhat.com').find((r) => r.url.includes('/blobs/'))?.status,
    ).toBe(302)
    expectCleanBlobRequest(to(connect, RHC4TP_BUCKET))
    expect(to(connect, RHC4TP_BUCKET).map((r) => r.status)).toEqual([206])
    expect(hostsOf(run)).toEqual(['registry.connect.redhat.com:443', `${RHC4TP_BUCKET}:443`])
    expectNoSecrets(run, [...SECRETS, RH_PASSWORD, ...connect.issuedTokens, ...connect.signatures])
  })

  test('quay.io: a public image, its layers on cdn01.quay.io: ok', async () => {
    const quay = servers.add(
      await startQuay({
        tls,
        repos: { 'prometheus/node-exporter': { tags: ['v1.8.2'], public: true } },
      }),
    )
    const proxy = await proxyFor(quay)
    const run = await actVia(proxy.url, {
      registry: 'quay.io',
      images: 'prometheus/node-exporter:v1.8.2',
    })
    expect(run.outputs).toMatchObject({ result: 'ok', 'pull-ready': 'true' })
    expectCleanBlobRequest(to(quay, QUAY_CDN))
    expect(hostsOf(run)).toEqual(['quay.io:443', `${QUAY_CDN}:443`])
    expectNoSecrets(run, [...quay.issuedTokens, ...quay.signatures])
  })

  test('ghcr.io: layers on pkg-containers.githubusercontent.com (307): ok', async () => {
    const ghcr = servers.add(
      await startGhcr({ tls, repos: { 'acme/tool': { tags: ['1.2.0'], public: true } } }),
    )
    const proxy = await proxyFor(ghcr)
    const run = await actVia(proxy.url, { registry: 'ghcr.io', images: 'acme/tool:1.2.0' })
    expect(run.outputs).toMatchObject({ result: 'ok', 'pull-ready': 'true' })
    expect(to(ghcr, 'ghcr.io').find((r) => r.url.includes('/blobs/'))?.status).toBe(307)
    expectCleanBlobRequest(to(ghcr, GHCR_CDN))
    expect(hostsOf(run)).toEqual(['ghcr.io:443', `${GHCR_CDN}:443`])
    expectNoSecrets(run, [...ghcr.issuedTokens, ...ghcr.signatures])
  })

  test('Docker Hub by default (layers auto, no platform): manifests by HEAD only, no GET and no blob request, no pull counted', async () => {
    const hub = servers.add(
      await startDockerHub({
        tls,
        pullsUsed: 10,
        repos: { 'library/nginx': { tags: ['1.27'], public: true } },
      }),
    )
    const proxy = await proxyFor(hub)
    const run = await actVia(proxy.url, { registry: 'docker.io', images: 'nginx:1.27' })
    expect(run.outputs).toMatchObject({ result: 'ok', 'pull-ready': 'true' })
    const registry = to(hub, 'registry-1.docker.io').filter((r) => r.url !== '/v2/')
    expect(registry.map((r) => r.method)).toEqual(['HEAD'])
    expect(to(hub, DOCKER_HUB_CDN)).toEqual([])
    expect(hub.pullsLeft()).toBe(90)
    expect(hostsOf(run)).toEqual(['registry-1.docker.io:443', 'auth.docker.io:443'])
    expect(blobCheck(run)?.outcome ?? 'skipped').toBe('skipped')
    expectNoSecrets(run, hub.issuedTokens)
  })

  test('Docker Hub with platform set: the manifest is read (one pull counted) and the layers checked on production.cloudflare.docker.com (307)', async () => {
    const hub = servers.add(
      await startDockerHub({
        tls,
        pullsUsed: 10,
        repos: { 'library/nginx': { tags: ['1.27'], public: true } },
      }),
    )
    const proxy = await proxyFor(hub)
    const run = await actVia(proxy.url, {
      registry: 'docker.io',
      images: 'nginx:1.27',
      platform: 'linux/amd64',
    })
    expect(run.outputs).toMatchObject({ result: 'ok', 'pull-ready': 'true' })
    expect(hub.pullsLeft()).toBe(89)
    expect(to(hub, 'registry-1.docker.io').find((r) => r.url.includes('/blobs/'))?.status).toBe(307)
    expectCleanBlobRequest(to(hub, DOCKER_HUB_CDN))
    expect(hostsOf(run)).toEqual([
      'registry-1.docker.io:443',
      'auth.docker.io:443',
      `${DOCKER_HUB_CDN}:443`,
    ])
    expectNoSecrets(run, [...hub.issuedTokens, ...hub.signatures])
  })

  test('a private distribution registry serves its blobs itself, with its Basic credentials: ok, one host', async () => {
    const corp = servers.add(
      await startPrivateRegistry({
        tls,
        users: { builder: 'c0rp-s3cret!' },
        repos: { 'team/app': { tags: ['1.0'] } },
      }),
    )
    const proxy = await proxyFor(corp)
    const run = await actVia(proxy.url, {
      registry: `${PRIVATE_REGISTRY}:5000`,
      username: 'builder',
      password: 'c0rp-s3cret!',
      images: 'team/app:1.0',
    })
    expect(run.outputs).toMatchObject({ result: 'ok', 'pull-ready': 'true' })
    const blob = to(corp, PRIVATE_REGISTRY).find((r) => r.url.includes('/blobs/'))
    expect(blob).toMatchObject({ method: 'GET', status: 206 })
    expect(blob?.headers.range).toBe('bytes=0-0')
    expect(hostsOf(run)).toEqual([`${PRIVATE_REGISTRY}:5000`])
    expectNoSecrets(run, ['c0rp-s3cret!', basic('builder', 'c0rp-s3cret!')])
  })
})

/**
 * One HTTPS request straight to a loopback peer, trusting the test CA (no redirect followed):
 * status, headers, body as text.
 */
function fetchOnce(
  url: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, ca: dist.tls.ca, timeout: 5_000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer`)))
    req.on('error', reject)
    req.end()
  })
}
