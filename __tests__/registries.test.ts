/**
 * The built action (dist/index.js), run as the runner runs it, against loopback imitations of the
 * registries people pull from (scripts/lib/registries.mjs): Red Hat's three, Docker Hub, quay.io,
 * ghcr.io and a private distribution registry, each answering as the real one does. The action
 * uses their real names (registry.redhat.io, auth.docker.io, …): the loopback CONNECT proxy sends
 * each name to its imitation's port, and the test CA's certificate names them all. Each test
 * asserts what a user sees (outputs, exit status, the summary, the report) and where every
 * credential went (the requests each imitation recorded), with step debug logging on.
 *
 * The imitations serve real images and blobs, each registry redirecting blob requests to its own
 * blob host as the real one does; the last describe block checks the peers themselves, with skopeo
 * copy as the client (the action's own layer checks are in layer-path.test.ts).
 */
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tlsClient from 'node:tls'
import { BLOB_HOST } from '../scripts/lib/blob-hosts.mjs'
import { startConnectProxy } from '../scripts/lib/connect-proxy.mjs'
import { skopeoCopy } from '../scripts/lib/distribution.mjs'
import {
  DOCKER_HUB_CDN,
  DOCKER_HUB_REALM,
  GHCR_CDN,
  IMITATED_HOSTS,
  LEGACY_SSO_REALM,
  PRIVATE_REGISTRY,
  QUAY_CDN,
  RHC4TP_BUCKET,
  RHC4TP_REALM,
  RHCC_REALM,
  RHCC_TOKEN_PATH,
  TERMS_MESSAGE,
  startDistribution,
  startDockerHub,
  startGhcr,
  startQuay,
  startRedHatAccess,
  startRedHatConnect,
  startRedHatRegistry,
} from '../scripts/lib/registries.mjs'
import { makeCertificates, type Certificates } from '../scripts/lib/tls.mjs'
import {
  Servers,
  basic,
  expectNoSecrets,
  howToFix,
  parseReport,
  runDebug,
  verdict,
  type Run,
} from './support/e2e.js'

const RH_USER = '12345678|ci-pipeline'
const RH_PASSWORD = 'eyJhbGciOiJSUzUxMiJ9.c2VjcmV0LXNlcnZpY2UtYWNjb3VudA.sig+/='
const RH_BASIC = basic(RH_USER, RH_PASSWORD)
const HUB_USER = 'ci-bot'
const HUB_PASSWORD = 'dckr_pat_2YvQk3xT9mZ8wL1nR4sP7uA0bC'
const QUAY_USER = 'acme+ci'
const QUAY_PASSWORD = 'Q9ZK1X0V7B3N5M2L8J4H6G0F2D4S6A8P0O9I7U5Y3T1R'
const CORP_USER = 'builder'
const CORP_PASSWORD = 'c0rp-s3cret!'
const SECRETS = [
  RH_PASSWORD,
  RH_BASIC,
  encodeURIComponent(RH_PASSWORD),
  HUB_PASSWORD,
  QUAY_PASSWORD,
  CORP_PASSWORD,
  ...[
    [HUB_USER, HUB_PASSWORD],
    [QUAY_USER, QUAY_PASSWORD],
    [CORP_USER, CORP_PASSWORD],
  ].map(([u, p]) => basic(u, p)),
]
/** The address Docker Hub reports anonymous pulls against (a documentation address). */
const RUNNER_ADDRESS = '198.51.100.23'

type Imitation = Awaited<ReturnType<typeof startRedHatRegistry>>
type ConnectProxy = Awaited<ReturnType<typeof startConnectProxy>>
type RateLimit = { limit?: number; remaining?: number; windowSeconds?: number; source?: string }
type ImageRow = {
  image: string
  name: string
  registry: string
  repository: string
  anonymous: boolean
  outcome: string
  status?: number
  finding?: { code: string; detail: string }
  registryMessage?: string
  rateLimit?: RateLimit
}
type Report = {
  result: string
  failedHost?: string
  checks: { id: string; host: string; status?: number; outcome: string; title: string }[]
  images: ImageRow[]
  auth: { scheme: string; credentials: string; realm?: string; realmSource?: string }
  notes: string[]
}

let dir: string
let tls: Certificates
/** The test CA alone, for skopeo's --cert-dir. */
let certDir: string
const servers = new Servers()

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'preflight-registries-'))
  tls = await makeCertificates(dir, { names: IMITATED_HOSTS })
  certDir = join(dir, 'certs.d')
  await mkdir(certDir)
  await copyFile(tls.caPath, join(certDir, 'ca.crt'))
})

afterEach(async () => {
  await servers.closeAll()
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Keeps an imitation for closing after the test. */
function started<T extends { close: () => Promise<void> }>(server: T): T {
  return servers.add(server)
}

/** registry.redhat.io (and sso.redhat.com) with the test account, kept for closing. */
async function redHat(
  repos: Parameters<typeof startRedHatRegistry>[0]['repos'],
): Promise<Imitation> {
  return started(await startRedHatRegistry({ tls, users: { [RH_USER]: RH_PASSWORD }, repos }))
}

/** The proxy that sends each imitated name to its imitation, and nothing anywhere else. */
async function proxyFor(...imitations: Imitation[]): Promise<ConnectProxy> {
  const hosts = Object.assign({}, ...imitations.map((i) => i.hosts)) as Record<string, string>
  return started(await startConnectProxy({ hosts }))
}

/** Runs dist/index.js through the proxy, trusting the test CA, with step debug logging on. */
function act(proxy: ConnectProxy, inputs: Record<string, string>): Promise<Run> {
  return runDebug({
    inputs: { retries: '0', timeout: '5', proxy: proxy.url, ...inputs },
    caPath: tls.caPath,
  })
}

const report = parseReport<Report>

/** No secret of any account, nor `tokens`, in what the run wrote (see expectNoSecrets). */
function expectNoLeak(run: Run, tokens: string[] = []): void {
  expectNoSecrets(run, [...SECRETS, ...tokens])
}

/** Requests to one server of an imitation whose path starts with `prefix`. */
function requestsTo(imitation: Imitation, host: string, prefix = '/'): Imitation['requests'] {
  return imitation.servers[host].requests.filter((r) => r.url.startsWith(prefix))
}

/** Every Authorization header an imitation received ('' for none). */
function authorizations(imitation: Imitation): string[] {
  return imitation.requests.map((r) => r.headers.authorization ?? '')
}

describe('registry.redhat.io', () => {
  test('a service account against the realm on the registry’s own host: ok', async () => {
    const rh = await redHat({
      'ubi9/ubi': { tags: ['latest'] },
      'rhel9/postgresql-15': { tags: ['1-54'] },
    })
    const proxy = await proxyFor(rh)
    // `registry` left to its default, registry.redhat.io.
    const run = await act(proxy, {
      username: RH_USER,
      password: RH_PASSWORD,
      images: 'ubi9/ubi\nregistry.redhat.io/rhel9/postgresql-15:1-54',
    })
    expect(run.code).toBe(0)
    expect(run.outputs).toMatchObject({
      'pull-ready': 'true',
      result: 'ok',
      'sso-status': '200',
      'registry-status': '200',
      'token-expires-in': '300',
      'failed-images': '',
    })
    expect(report(run).auth).toMatchObject({ realm: RHCC_REALM, realmSource: 'challenge' })
    const tokenRequests = requestsTo(rh, 'registry.redhat.io', RHCC_TOKEN_PATH)
    expect(tokenRequests).toHaveLength(2) // one per repository
    expect(tokenRequests.every((r) => r.headers.authorization === `Basic ${RH_BASIC}`)).toBe(true)
    expect(requestsTo(rh, 'sso.redhat.com')).toHaveLength(0)
    // The registry (and its token service), and at most its blob host: never sso.redhat.com.
    expect(
      proxy.connects.every((c) => ['registry.redhat.io:443', `${QUAY_CDN}:443`].includes(c.target)),
    ).toBe(true)
    expectNoLeak(run, rh.issuedTokens)
  })

  test('auth-url set to the legacy sso.redhat.com realm: ok, and the report says it is the older one', async () => {
    const rh = await redHat({ 'ubi9/ubi': { tags: ['latest'] } })
    const proxy = await proxyFor(rh)
    const run = await act(proxy, {
      username: RH_USER,
      password: RH_PASSWORD,
      images: 'ubi9/ubi:latest',
      'auth-url': LEGACY_SSO_REALM,
    })
    expect(run.code).toBe(0)
    expect(run.outputs).toMatchObject({ result: 'ok', 'sso-status': '200' })
    const r = report(run)
    expect(r.auth).toMatchObject({ realm: LEGACY_SSO_REALM, realmSource: 'auth-url' })
    expect(r.checks.find((c) => c.id === 'token')?.host).toBe('sso.redhat.com')
    const note = r.notes.find((n) => n.includes('sso.redhat.com'))
    expect(note).toBeDefined()
    expect(note).toContain(RHCC_REALM) // the realm the registry announces, for the firewall
    expect(run.summary).toMatch(/### Warnings\n\n(- .*\n)*- ⚠️ auth-url .*sso\.redhat\.com/)
    // The tokens came from the legacy host, and the registry accepted them.
    expect(requestsTo(rh, 'sso.redhat.com', RHCC_TOKEN_PATH).length).toBeGreaterThan(0)
    expect(requestsTo(rh, 'registry.redhat.io', RHCC_TOKEN_PATH)).toHaveLength(0)
    expectNoLeak(run, rh.issuedTokens)
  })
})

describe('registry.connect.redhat.com', () => {
  test('partner images with credentials, through the rhc4tp realm: ok', async () => {
    const connect = started(
      await startRedHatConnect({
        tls,
        users: { [RH_USER]: RH_PASSWORD },
        repos: { 'nvidia/gpu-operator': { tags: ['v24.3.0'] } },
      }),
    )
    const proxy = await proxyFor(connect)
    const run = await act(proxy, {
      registry: 'registry.connect.redhat.com',
      username: RH_USER,
      password: RH_PASSWORD,
      images: 'nvidia/gpu-operator:v24.3.0',
    })
    expect(run.code).toBe(0)
    expect(run.outputs).toMatchObject({
      result: 'ok',
      'sso-status': '200',
      'registry-status': '200',
    })
    expect(report(run).auth).toMatchObject({ realm: RHC4TP_REALM, realmSource: 'challenge' })
    expect(report(run).images[0]).toMatchObject({
      name: 'registry.connect.redhat.com/nvidia/gpu-operator:v24.3.0',
      anonymous: false,
      outcome: 'passed',
    })
    expectNoLeak(run, connect.issuedTokens)
  })
})

describe('registry.access.redhat.com', () => {
  test('anonymous: /v2/ answers 200, an open image pulls without any token', async () => {
    const access = started(
      await startRedHatAccess({ tls, repos: { 'ubi9/ubi-minimal': { tags: ['latest'] } } }),
    )
    const proxy = await proxyFor(access)
    const run = await act(proxy, {
      registry: 'registry.access.redhat.com',
      images: 'ubi9/ubi-minimal',
    })
    expect(run.code).toBe(0)
    expect(run.outputs).toMatchObject({
      result: 'ok',
      'sso-status': '',
      'registry-status': '200',
      'token-expires-in': '',
    })
    expect(report(run).auth.scheme).toBe('none')
    expect(authorizations(access).every((a) => a === '')).toBe(true)
  })

  test.each([
    ['as the configured registry', 'registry.access.redhat.com', 'rhel8/postgresql-16:latest'],
    [
      'as an image beside registry.redhat.io',
      'registry.redhat.io',
      'registry.access.redhat.com/rhel8/postgresql-16:latest',
    ],
  ])(
    'a repository that requires terms acceptance, %s: access-denied, advising registry.redhat.io',
    async (_how, registry, image) => {
      const access = started(
        await startRedHatAccess({
          tls,
          repos: { 'rhel8/postgresql-16': { tags: ['latest'], terms: true } },
        }),
      )
      const rh = await redHat({})
      const proxy = await proxyFor(access, rh)
      const credentials: Record<string, string> =
        registry === 'registry.redhat.io' ? { username: RH_USER, password: RH_PASSWORD } : {}
      const run = await act(proxy, { registry, images: image, ...credentials })
      expect(run.code).toBe(1)
      expect(run.outputs).toMatchObject({
        'pull-ready': 'false',
        result: 'access-denied',
        'failed-images': image,
      })
      expect(verdict(run)).toBe('## ❌ Pulls will fail: the registry denied access')
      expect(run.outputs.message).toContain('registry: registry.redhat.io')
      const row = report(run).images[0]
      expect(row).toMatchObject({ status: 403, registryMessage: TERMS_MESSAGE })
      expect(report(run).failedHost).toBe('registry.access.redhat.com')
      expect(howToFix(run)).toContain('Pull the image from registry.redhat.io instead')
      expect(authorizations(access).every((a) => a === '')).toBe(true) // never a credential
      expectNoLeak(run, rh.issuedTokens)
    },
  )
})

describe('Docker Hub', () => {
  test('docker.io and index.docker.io mean registry-1.docker.io, one-part names get library/; HEAD only, the rate limit reported', async () => {
    const hub = started(
      await startDockerHub({
        tls,
        pullsUsed: 24,
        repos: {
          'library/nginx': { tags: ['latest', '1.27'], public: true },
          'library/alpine': { tags: ['3.20'], public: true },
        },
      }),
    )
    const proxy = await proxyFor(hub)
    const run = await act(proxy, {
      registry: 'docker.io',
      images: [
        'docker.io/nginx',
        'index.docker.io/library/nginx', // the same image: dropped
        'index.docker.io/library/nginx:1.27',
        'alpine:3.20',
      ].join('\n'),
    })
    expect(run.code).toBe(0)
    expect(run.outputs).toMatchObject({
      result: 'ok',
      'pull-ready': 'true',
      'sso-status': '200',
      'registry-status': '200',
      'token-expires-in': '300',
    })
    const r = report(run)
    expect(r.images.map((i) => i.name)).toEqual([
      'registry-1.docker.io/library/nginx:latest',
      'registry-1.docker.io/library/nginx:1.27',
      'registry-1.docker.io/library/alpine:3.20',
    ])
    const limit = { limit: 100, remaining: 76, windowSeconds: 21600, source: RUNNER_ADDRESS }
    for (const row of r.images) expect(row.rateLimit).toEqual(limit)
    expect(run.summary).toContain(
      `- Pull limit on \`registry-1.docker.io\`: 76 of 100 pulls left in a 6 h window, counted for \`${RUNNER_ADDRESS}\``,
    )
    // Manifests were asked for with HEAD only, which Docker Hub does not count as a pull.
    const manifests = requestsTo(hub, 'registry-1.docker.io', '/v2/library/')
    expect(manifests.map((m) => m.method)).toEqual(['HEAD', 'HEAD', 'HEAD'])
    expect(hub.pullsLeft()).toBe(76)
    // Only the two real hosts were reached: never docker.io nor index.docker.io.
    expect(new Set(proxy.connects.map((c) => c.target))).toEqual(
      new Set(['registry-1.docker.io:443', 'auth.docker.io:443']),
    )
    expect(authorizations(hub).some((a) => a.startsWith('Basic '))).toBe(false)
  })

  test('a Docker Hub account: the token service gets the credentials, the registry only tokens; the limit is the account’s', async () => {
    const hub = started(
      await startDockerHub({
        tls,
        users: { [HUB_USER]: HUB_PASSWORD },
        repos: { 'acme/private-app': { tags: ['1.0'], users: [HUB_USER] } },
      }),
    )
    const proxy = await proxyFor(hub)
    const run = await act(proxy, {
      registry: 'docker.io',
      username: HUB_USER,
      password: HUB_PASSWORD,
      images: 'acme/private-app:1.0',
    })
    expect(run.code).toBe(0)
    expect(run.outputs).toMatchObject({ result: 'ok', 'sso-status': '200' })
    expect(report(run).images[0]).toMatchObject({
      anonymous: false,
      rateLimit: { limit: 200, remaining: 200, source: hub.sourceOf(HUB_USER) },
    })
    const header = `Basic ${basic(HUB_USER, HUB_PASSWORD)}`
    expect(requestsTo(hub, 'auth.docker.io').map((r) => r.headers.authorization)).toEqual([header])
    expect(
      requestsTo(hub, 'registry-1.docker.io').every(
        (r) => !r.headers.authorization?.startsWith('Basic '),
      ),
    ).toBe(true)
    expectNoLeak(run, hub.issuedTokens)
  })
})

describe('quay.io', () => {
  /** quay.io with the robot account and `repos`, and a run for `images` as the robot. */
  async function actOnQuay(
    repos: Parameters<typeof startQuay>[0]['repos'],
    images: string,
  ): Promise<{ quay: Imitation; run: Run }> {
    const quay = started(await startQuay({ tls, users: { [QUAY_USER]: QUAY_PASSWORD }, repos }))
    const proxy = await proxyFor(quay)
    const run = await act(proxy, {
      registry: 'quay.io',
      username: QUAY_USER,
      password: QUAY_PASSWORD,
      images,
    })
    return { quay, run }
  }

  test('Basic and Bearer challenges in one header, a robot account: ok through the Bearer one', async () => {
    const { quay, run } = await actOnQuay(
      {
        'acme/app': { tags: ['1.0'], users: [QUAY_USER] },
        'prometheus/node-exporter': { tags: ['v1.8.2'], public: true },
      },
      'acme/app:1.0\nprometheus/node-exporter:v1.8.2',
    )
    expect(run.code).toBe(0)
    expect(run.outputs).toMatchObject({
      result: 'ok',
      'sso-status': '200',
      'registry-status': '200',
      'token-expires-in': '60', // quay.io sends no expires_in
    })
    expect(report(run).auth).toMatchObject({
      scheme: 'bearer',
      realm: 'https://quay.io/v2/auth',
    })
    expectNoLeak(run, quay.issuedTokens)
  })

  test('a repository that does not exist answers 401: access-denied, and How to fix says a missing repository looks the same', async () => {
    const { quay, run } = await actOnQuay(
      { 'acme/app': { tags: ['1.0'], users: [QUAY_USER] } },
      'acme/app:1.0\nacme/ap:1.0',
    )
    expect(run.code).toBe(1)
    expect(run.outputs).toMatchObject({
      result: 'access-denied',
      'sso-status': '200',
      'failed-images': 'acme/ap:1.0',
    })
    expect(report(run).images[1]).toMatchObject({
      status: 401,
      registryMessage: 'access to the requested resource is not authorized',
    })
    expect(run.outputs.message).toContain(
      'on Docker Hub and quay.io a missing repository looks the same',
    )
    expect(howToFix(run)).toContain('a repository that does not exist is refused the same way')
    expectNoLeak(run, quay.issuedTokens)
  })
})

describe('ghcr.io', () => {
  test('a public image with an anonymous token that has no expires_in: ok, token-expires-in 60', async () => {
    const ghcr = started(
      await startGhcr({ tls, repos: { 'acme/tool': { tags: ['1.2.0'], public: true } } }),
    )
    const proxy = await proxyFor(ghcr)
    const run = await act(proxy, { registry: 'ghcr.io', images: 'acme/tool:1.2.0' })
    expect(run.code).toBe(0)
    expect(run.outputs).toMatchObject({
      result: 'ok',
      'sso-status': '200',
      'registry-status': '200',
      'token-expires-in': '60',
    })
    expect(report(run).auth).toMatchObject({
      credentials: 'anonymous',
      realm: 'https://ghcr.io/token',
    })
    expect(report(run).checks.find((c) => c.id === 'token')?.title).toBe(
      'Token service grants anonymous access',
    )
    // The token was asked for the image's repository, not the challenge's placeholder scope.
    const tokenRequest = requestsTo(ghcr, 'ghcr.io', '/token')[0]
    expect(new URL(tokenRequest.url, 'https://ghcr.io').searchParams.getAll('scope')).toEqual([
      'repository:acme/tool:pull',
    ])
    expect(tokenRequest.headers.authorization).toBeUndefined()
  })
})

describe('a private distribution registry (HTTP Basic)', () => {
  const registry = `${PRIVATE_REGISTRY}:5000`
  const repos = { 'team/app': { tags: ['1.0'] } }

  test('with credentials: ok, Basic sent to it and to nothing else', async () => {
    const corp = started(
      await startDistribution({ tls, users: { [CORP_USER]: CORP_PASSWORD }, repos }),
    )
    const proxy = await proxyFor(corp)
    const run = await act(proxy, {
      registry,
      username: CORP_USER,
      password: CORP_PASSWORD,
      images: 'team/app:1.0',
    })
    expect(run.code).toBe(0)
    expect(run.outputs).toMatchObject({
      result: 'ok',
      'sso-status': '',
      'registry-status': '200',
      'token-expires-in': '',
    })
    expect(report(run).auth.scheme).toBe('basic')
    expect(proxy.connects.every((c) => c.target === registry)).toBe(true)
    expectNoLeak(run)
  })
  test('a wrong password: invalid-credentials, as for a token service', async () => {
    const corp = started(
      await startDistribution({ tls, users: { [CORP_USER]: CORP_PASSWORD }, repos }),
    )
    const proxy = await proxyFor(corp)
    const run = await act(proxy, {
      registry,
      username: CORP_USER,
      password: 'not-the-password',
      images: 'team/app:1.0',
    })
    expect(run.code).toBe(1)
    expect(run.outputs).toMatchObject({ result: 'invalid-credentials', 'registry-status': '401' })
    expect(run.outputs.message).not.toContain('accepted the credentials')
    expect(howToFix(run)).not.toContain('The credentials are valid')
    expectNoLeak(run)
  })
})

describe('anonymous access (username and password both empty)', () => {
  test.each([
    ['registry.redhat.io', 'ubi9/ubi:latest'],
    ['registry.connect.redhat.com', 'nvidia/gpu-operator:v24.3.0'],
    ['docker.io', 'acme/private-app:1.0'],
    ['quay.io', 'acme/app:1.0'],
    [PRIVATE_REGISTRY, 'team/app:1.0'],
  ])(
    '%s, which wants a login for %s: missing-credentials with the fork and Dependabot hint, never invalid-credentials',
    async (registry, image) => {
      const users = { someone: 'secret' }
      const repos = {
        'ubi9/ubi': { tags: ['latest'] },
        'nvidia/gpu-operator': { tags: ['v24.3.0'] },
        'acme/private-app': { tags: ['1.0'], users: ['someone'] },
        'acme/app': { tags: ['1.0'], users: ['someone'] },
        'team/app': { tags: ['1.0'] },
      }
      const imitations = [
        started(await startRedHatRegistry({ tls, users, repos })),
        started(await startRedHatConnect({ tls, users, repos })),
        started(await startDockerHub({ tls, users, repos })),
        started(await startQuay({ tls, users, repos })),
        started(await startDistribution({ tls, users, repos })),
      ]
      const proxy = await proxyFor(...imitations)
      const run = await act(proxy, { registry, images: image })
      expect(run.code).toBe(1)
      expect(run.outputs).toMatchObject({
        'pull-ready': 'false',
        result: 'missing-credentials',
        'failed-images': image,
      })
      expect(run.outputs.message).toMatch(/forks and by Dependabot/)
      expect(howToFix(run)).toContain('Dependabot')
      expect(verdict(run)).toBe('## ❌ Pulls will fail: credentials are missing')
      expect(report(run).auth.credentials).toBe('anonymous')
      expect(run.stdout).not.toContain('invalid-credentials')
    },
  )
})

describe('images on other registries', () => {
  test('registry.redhat.io with credentials beside Docker Hub and quay.io images: those are checked anonymously, and no credential reaches them', async () => {
    const rh = await redHat({ 'ubi9/ubi': { tags: ['latest'] } })
    const hub = started(
      await startDockerHub({ tls, repos: { 'library/nginx': { tags: ['1.27'], public: true } } }),
    )
    const quay = started(
      await startQuay({
        tls,
        repos: { 'prometheus/node-exporter': { tags: ['v1.8.2'], public: true } },
      }),
    )
    const proxy = await proxyFor(rh, hub, quay)
    const run = await act(proxy, {
      username: RH_USER,
      password: RH_PASSWORD,
      images: 'ubi9/ubi\ndocker.io/library/nginx:1.27\nquay.io/prometheus/node-exporter:v1.8.2',
    })
    expect(run.code).toBe(0)
    expect(run.outputs).toMatchObject({ result: 'ok', 'pull-ready': 'true' })
    expect(report(run).images.map((i) => [i.registry, i.anonymous, i.outcome])).toEqual([
      ['registry.redhat.io', false, 'passed'],
      ['registry-1.docker.io', true, 'passed'],
      ['quay.io', true, 'passed'],
    ])
    expect(run.summary).toContain('`registry-1.docker.io/library/nginx:1.27` (anonymous)')
    expect(run.summary).toContain('`quay.io/prometheus/node-exporter:v1.8.2` (anonymous)')
    // The foreign hosts got no Basic header and no Red Hat token: only tokens they issued.
    for (const imitation of [hub, quay]) {
      for (const header of authorizations(imitation)) {
        expect(header).not.toContain(RH_BASIC)
        expect(header.startsWith('Basic ')).toBe(false)
        for (const token of rh.issuedTokens) expect(header).not.toContain(token)
        if (header) expect(imitation.issuedTokens).toContain(header.replace(/^Bearer /, ''))
      }
    }
    // Red Hat's token service did get them.
    expect(
      requestsTo(rh, 'registry.redhat.io', RHCC_TOKEN_PATH).every(
        (r) => r.headers.authorization === `Basic ${RH_BASIC}`,
      ),
    ).toBe(true)
    // Docker Hub's token was asked for anonymously, for that repository, at its own realm.
    const hubToken = requestsTo(hub, 'auth.docker.io', '/token')
    expect(hubToken).toHaveLength(1)
    expect(hubToken[0].headers.authorization).toBeUndefined()
    const query = new URL(hubToken[0].url, DOCKER_HUB_REALM).searchParams
    expect([query.get('service'), query.getAll('scope')]).toEqual([
      'registry.docker.io',
      ['repository:library/nginx:pull'],
    ])
    expectNoLeak(run, [...rh.issuedTokens, ...hub.issuedTokens, ...quay.issuedTokens])
  })

  test('an image on Docker Hub that refuses anonymous pulls: access-denied, saying credentials go only to the configured registry', async () => {
    const rh = await redHat({ 'ubi9/ubi': { tags: ['latest'] } })
    const hub = started(
      await startDockerHub({
        tls,
        users: { someone: 'secret' },
        repos: { 'acme/private-app': { tags: ['1.0'], users: ['someone'] } },
      }),
    )
    const proxy = await proxyFor(rh, hub)
    const image = 'docker.io/acme/private-app:1.0'
    const run = await act(proxy, {
      username: RH_USER,
      password: RH_PASSWORD,
      images: `ubi9/ubi\n${image}`,
    })
    expect(run.code).toBe(1)
    expect(run.outputs).toMatchObject({ result: 'access-denied', 'failed-images': image })
    expect(report(run).images[1]).toMatchObject({ anonymous: true, status: 401 })
    expect(run.outputs.message).toContain('credentials are only sent to registry.redhat.io')
    expect(authorizations(hub).some((a) => a.startsWith('Basic '))).toBe(false)
    expectNoLeak(run, [...rh.issuedTokens, ...hub.issuedTokens])
  })
  test('an image on registry.connect.redhat.com beside registry.redhat.io credentials: access-denied, saying credentials go only to registry.redhat.io', async () => {
    const repos = {
      'ubi9/ubi': { tags: ['latest'] },
      'nvidia/gpu-operator': { tags: ['v24.3.0'] },
    }
    const users = { [RH_USER]: RH_PASSWORD }
    const rh = started(await startRedHatRegistry({ tls, users, repos }))
    const connect = started(await startRedHatConnect({ tls, users, repos }))
    const proxy = await proxyFor(rh, connect)
    const image = 'registry.connect.redhat.com/nvidia/gpu-operator:v24.3.0'
    const run = await act(proxy, {
      username: RH_USER,
      password: RH_PASSWORD,
      images: `ubi9/ubi\n${image}`,
    })
    // The credentials were never sent there, whatever the verdict.
    expect(authorizations(connect).every((a) => a === '')).toBe(true)
    expect(run.code).toBe(1)
    expect(run.outputs).toMatchObject({ result: 'access-denied', 'failed-images': image })
    expect(report(run).images[1]).toMatchObject({ anonymous: true, outcome: 'failed' })
    expect(run.outputs.message).toContain('credentials are only sent to registry.redhat.io')
    expect(run.outputs.message).not.toMatch(/no credentials were given|Dependabot/)
  })
})

describe('many images', () => {
  test('100 images on one registry, one missing: image-not-found, one token per repository, connections reused, the failure first and the rest folded', async () => {
    const repos: Record<string, { tags: string[] }> = {}
    const images: string[] = []
    for (let n = 0; n < 50; n++) {
      const repo = `rhel9/app-${String(n).padStart(2, '0')}`
      repos[repo] = { tags: n === 37 ? ['1.0'] : ['1.0', '2.0'] }
      images.push(`${repo}:1.0`, `${repo}:2.0`)
    }
    const missing = 'rhel9/app-37:2.0'
    // Answers 20 ms late, so that requests overlap and the bound on concurrency shows.
    const rh = started(
      await startRedHatRegistry({ tls, users: { [RH_USER]: RH_PASSWORD }, repos, delayMs: 20 }),
    )
    const proxy = await proxyFor(rh)
    const run = await act(proxy, {
      username: RH_USER,
      password: RH_PASSWORD,
      images: images.join('\n'),
    })

    expect(run.code).toBe(1)
    expect(run.outputs).toMatchObject({
      result: 'image-not-found',
      'pull-ready': 'false',
      'failed-images': missing,
    })
    const rows = report(run).images
    expect(rows).toHaveLength(100)
    expect(rows.filter((i) => i.outcome === 'passed')).toHaveLength(99)
    expect(rows.find((i) => i.image === missing)).toMatchObject({ outcome: 'failed', status: 404 })

    // One token per repository, shared by its tags.
    const tokenScopes = requestsTo(rh, 'registry.redhat.io', RHCC_TOKEN_PATH).map((r) =>
      new URL(r.url, 'https://registry.redhat.io').searchParams.getAll('scope').join(' '),
    )
    expect(tokenScopes).toHaveLength(50)
    expect(new Set(tokenScopes).size).toBe(50)

    // Concurrent, within the bound: at most 32 requests at once, tokens, manifest checks and the
    // /v2/ check together (the token service is on the registry's host here).
    const registry = rh.servers['registry.redhat.io']
    expect(registry.maxInFlight).toBeGreaterThan(4)
    expect(registry.maxInFlight).toBeLessThanOrEqual(32)

    // Kept-alive connections: far fewer TLS handshakes than requests.
    expect(registry.requests.length).toBeGreaterThanOrEqual(150)
    // Each of the 32 places reuses its kept-alive connection.
    expect(registry.connections).toBeLessThanOrEqual(32)
    expect(proxy.connects.filter((c) => c.target === 'registry.redhat.io:443')).toHaveLength(
      registry.connections,
    )

    // The summary: the failure in its own table first, the 99 that pull folded away below it.
    const summary = run.summary
    const failedRow = summary.indexOf(`\`registry.redhat.io/${missing}\``)
    const folded = summary.indexOf('<details><summary>99 images that will pull</summary>')
    expect(summary).toContain('99 of 100 images will pull.')
    expect(failedRow).toBeGreaterThan(0)
    expect(folded).toBeGreaterThan(failedRow)
    expect(summary.indexOf('`registry.redhat.io/rhel9/app-00:1.0`')).toBeGreaterThan(folded)
    expectNoLeak(run, rh.issuedTokens)
  })
})

describe('the loopback proxy with ports', () => {
  test('hosts name → 127.0.0.1:<port>: a CONNECT to name:443 reaches that port, TLS under the real name; a value off loopback is refused', async () => {
    await expect(startConnectProxy({ hosts: { 'quay.io': '192.0.2.1:443' } })).rejects.toThrow(
      /not a loopback address/,
    )
    await expect(startConnectProxy({ hosts: { 'quay.io': 'localhost:443' } })).rejects.toThrow(
      /not a loopback address/,
    )
    const ghcr = started(await startGhcr({ tls }))
    const proxy = await proxyFor(ghcr)

    const socket = net.connect(proxy.port, '127.0.0.1')
    socket.on('error', () => {})
    const established = new Promise<string>((resolve) =>
      socket.once('data', (chunk) => resolve(chunk.toString())),
    )
    socket.write('CONNECT ghcr.io:443 HTTP/1.1\r\nHost: ghcr.io:443\r\n\r\n')
    expect(await established).toMatch(/^HTTP\/1\.1 200 /)
    const secure = tlsClient.connect({ socket, servername: 'ghcr.io', ca: tls.ca })
    const answer = await new Promise<string>((resolve, reject) => {
      let text = ''
      secure.setEncoding('utf8')
      secure.on('data', (chunk: string) => (text += chunk))
      secure.on('end', () => resolve(text))
      secure.on('error', reject)
      secure.write('GET /v2/ HTTP/1.1\r\nHost: ghcr.io\r\nConnection: close\r\n\r\n')
    })
    expect(answer).toMatch(/^HTTP\/1\.1 401 /)
    expect(answer).toMatch(
      /^www-authenticate: Bearer realm="https:\/\/ghcr\.io\/token",service="ghcr\.io",scope="repository:user\/image:pull"\r$/im,
    )
    expect(proxy.connects).toEqual([
      { target: 'ghcr.io:443', authorized: true, sentCredentials: false, status: 200 },
    ])
    expect(ghcr.servers['ghcr.io'].connections).toBe(1)
    expect(ghcr.servers['ghcr.io'].requests[0].headers.host).toBe('ghcr.io')
  })
})

describe('the imitations’ blobs and blob hosts (the peers themselves, skopeo copy as the client)', () => {
  const USERS = { [RH_USER]: RH_PASSWORD }
  const REPOS = {
    'ubi9/ubi': { tags: ['latest'] },
    'library/nginx': { tags: ['1.27'], public: true },
    'acme/tool': { tags: ['1.2.0'], public: true },
    'nvidia/gpu-operator': { tags: ['v24.3.0'] },
    'team/app': { tags: ['1.0'], platforms: ['linux/amd64'] },
  }
  const CREDS = `${RH_USER}:${RH_PASSWORD}`

  /** skopeo copy of `reference` through `proxy`, trusting the test CA. */
  function pull(proxy: ConnectProxy, reference: string, creds?: string, arch?: string) {
    return skopeoCopy({
      reference,
      creds,
      arch,
      certDir,
      home: dir,
      env: { HTTPS_PROXY: proxy.url },
    })
  }

  test.each([
    ['registry.redhat.io', 'registry.redhat.io/ubi9/ubi:latest', QUAY_CDN, 302],
    ['registry.access.redhat.com', 'registry.access.redhat.com/ubi9/ubi:latest', QUAY_CDN, 302],
    [
      'registry.connect.redhat.com',
      'registry.connect.redhat.com/nvidia/gpu-operator:v24.3.0',
      RHC4TP_BUCKET,
      302,
    ],
    ['registry-1.docker.io', 'docker.io/library/nginx:1.27', DOCKER_HUB_CDN, 307],
    ['quay.io', 'quay.io/acme/tool:1.2.0', QUAY_CDN, 302],
    ['ghcr.io', 'ghcr.io/acme/tool:1.2.0', GHCR_CDN, 307],
    [PRIVATE_REGISTRY, `${PRIVATE_REGISTRY}:5000/team/app:1.0`, 'itself', 200],
  ] as const)(
    '%s: skopeo copy pulls %s (linux/amd64 and linux/arm64), blobs from %s (the registry answers %i)',
    async (registry, reference, blobHost, status) => {
      const starts = {
        'registry.redhat.io': () => startRedHatRegistry({ tls, users: USERS, repos: REPOS }),
        'registry.access.redhat.com': () => startRedHatAccess({ tls, repos: REPOS }),
        'registry.connect.redhat.com': () =>
          startRedHatConnect({ tls, users: USERS, repos: REPOS }),
        'registry-1.docker.io': () => startDockerHub({ tls, repos: REPOS }),
        'quay.io': () => startQuay({ tls, repos: REPOS }),
        'ghcr.io': () => startGhcr({ tls, repos: REPOS }),
        [PRIVATE_REGISTRY]: () => startDistribution({ tls, users: USERS, repos: REPOS }),
      }
      const imitation = started(await starts[registry]())
      const proxy = await proxyFor(imitation)
      const anonymous = ['registry.access.redhat.com', 'registry-1.docker.io', 'quay.io', 'ghcr.io']
      const creds = anonymous.includes(registry) ? undefined : CREDS
      const pulled = await Promise.all(
        ['amd64', 'arm64'].map((arch) => pull(proxy, reference, creds, arch)),
      )
      for (const p of pulled) expect(p.stderr).toBe('')
      expect(pulled.map((p) => p.ok)).toEqual([true, true])

      const blobs = requestsTo(imitation, registry).filter((r) => r.url.includes('/blobs/'))
      // Two platforms: a config and a layer each.
      expect(blobs).toHaveLength(4)
      expect(blobs.map((r) => r.status)).toEqual(blobs.map(() => status))
      if (blobHost === 'itself') return
      expect(blobs.every((r) => new URL(r.location ?? '').host === blobHost)).toBe(true)
      const fetched = requestsTo(imitation, blobHost)
      expect(fetched.map((r) => [r.method, r.status])).toEqual(blobs.map(() => ['GET', 200]))
      // Go (and so skopeo) keeps Authorization across a redirect to the same host or a
      // subdomain: quay.io's goes along to cdn01.quay.io. To any other host, none.
      // (anonymous here, skopeo having taken quay's Basic challenge: `Basic Og==`, the empty pair).
      const subdomain = blobHost.endsWith(`.${registry}`)
      expect(fetched.map((r) => r.headers.authorization)).toEqual(
        blobs.map((r) => (subdomain ? r.headers.authorization : undefined)),
      )
      expect(proxy.connects.map((c) => c.target)).toContain(`${blobHost}:443`)
    },
  )

  test('the digests are real: skopeo copy by the digest of the index, and of one platform’s manifest', async () => {
    const rh = started(
      await startRedHatRegistry({
        tls,
        users: USERS,
        repos: {
          'ubi9/ubi': {
            tags: ['latest'],
            platforms: ['linux/amd64', 'linux/arm64', 'linux/s390x'],
          },
        },
      }),
    )
    const image = rh.image('ubi9/ubi', 'latest')
    expect(image?.isIndex).toBe(true)
    expect(image?.top.mediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json')
    const proxy = await proxyFor(rh)
    const byIndex = await pull(proxy, `registry.redhat.io/ubi9/ubi@${image?.top.digest}`, CREDS)
    const s390x = image?.manifests.find((m) => m.platform.architecture === 's390x')
    const byManifest = await pull(proxy, `registry.redhat.io/ubi9/ubi@${s390x?.digest}`, CREDS)
    expect([byIndex.stderr, byManifest.stderr]).toEqual(['', ''])
    expect(rh.image('ubi9/ubi', s390x?.digest ?? '')).toBe(image)
  })

  test('Docker Hub counts one pull per GET of what a tag names: skopeo copy (index, then manifest) costs one', async () => {
    const hub = started(await startDockerHub({ tls, repos: REPOS }))
    const proxy = await proxyFor(hub)
    const before = hub.pullsLeft()
    expect((await pull(proxy, 'docker.io/library/nginx:1.27')).ok).toBe(true)
    const manifests = requestsTo(hub, 'registry-1.docker.io', '/v2/library/nginx/manifests/')
    expect(manifests.map((r) => r.method)).toEqual(['GET', 'GET'])
    expect(hub.pullsLeft()).toBe(before - 1)
  })

  test('the blob hosts refuse what a pull must not send: Authorization beside S3’s signature (400), a signature tampered with or issued for another method (403)', async () => {
    const connect = started(await startRedHatConnect({ tls, users: USERS, repos: REPOS }))
    const hub = started(await startDockerHub({ tls, repos: REPOS }))
    const proxy = await proxyFor(connect, hub)
    const config = (imitation: Imitation, repo: string, tag: string): string => {
      const image = imitation.image(repo, tag)
      if (!image) throw new Error(`no ${repo}:${tag}`)
      return image.manifests[0].config.digest
    }
    const s3 = BLOB_HOST.rhc4tp.sign('GET', config(connect, 'nvidia/gpu-operator', 'v24.3.0')).url
    const ok = await viaProxy(proxy, s3, { range: 'bytes=0-0' })
    expect([ok.status, ok.body]).toEqual([206, '{'])
    const both = await viaProxy(proxy, s3, { authorization: 'Bearer eyJ-a-registry-token' })
    expect(both.status).toBe(400)
    expect(both.body).toContain('Only one auth mechanism allowed')
    const tampered = s3.replace(
      /X-Amz-Signature=(.)/,
      (_m, c: string) => `X-Amz-Signature=${c === 'a' ? 'b' : 'a'}`,
    )
    expect((await viaProxy(proxy, tampered)).status).toBe(403)
    expect((await viaProxy(proxy, s3, {}, 'HEAD')).status).toBe(403)

    const cloudflare = BLOB_HOST.dockerHub.sign('HEAD', config(hub, 'library/nginx', '1.27')).url
    expect((await viaProxy(proxy, cloudflare, {}, 'HEAD')).status).toBe(200)
    expect((await viaProxy(proxy, cloudflare)).status).toBe(403)
    // Another blob's path under the same signature: the last hex digit changed.
    const wrongBlob = cloudflare.replace(/([0-9a-f])(?=\/data\?)/, (c) => (c === 'f' ? 'e' : 'f'))
    expect(wrongBlob).not.toBe(cloudflare)
    expect((await viaProxy(proxy, wrongBlob, {}, 'HEAD')).status).toBe(403)
  })
})

/**
 * One HTTPS request through the CONNECT proxy, as a client behind it sends it, trusting the test
 * CA; no redirect followed.
 */
async function viaProxy(
  proxy: ConnectProxy,
  url: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; body: string }> {
  const target = new URL(url)
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const connect = http.request({
      host: '127.0.0.1',
      port: proxy.port,
      method: 'CONNECT',
      path: `${target.hostname}:${target.port || 443}`,
    })
    connect.once('connect', (res, s) =>
      res.statusCode === 200 ? resolve(s) : reject(new Error(`CONNECT: ${res.statusCode}`)),
    )
    connect.once('error', reject)
    connect.end()
  })
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: target.hostname,
        path: `${target.pathname}${target.search}`,
        method,
        headers,
        // No agent: with createConnection, the request runs on that socket alone.
        createConnection: () =>
          tlsClient.connect({ socket, servername: target.hostname, ca: tls.ca }),
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (body += chunk))
        res.on('end', () => {
          socket.destroy()
          resolve({ status: res.statusCode ?? 0, body })
        })
      },
    )
    req.on('error', reject)
    req.end()
  })
}
