/**
 * The built action (dist/index.js), run as the runner runs it, against the real programs on the
 * network path: Debian's squid as the forward proxy, Debian's docker-registry (the distribution
 * registry 2.8, TLS, `auth: token`) as the registry, behind a token service that imitates Red Hat
 * SSO and issues JWTs the registry verifies for real; and skopeo as the referee: for every registry
 * case, the action's `pull-ready` must agree with whether `skopeo inspect` succeeds with the same
 * credentials, CA and proxy settings (scripts/lib/squid.mjs, scripts/lib/distribution.mjs).
 *
 * squid resolves names of its own (`registry.squid.test`, `sso.squid.test`) that the runner cannot:
 * a request that skips the proxy ends in dns-error, as on a network where the proxy is mandatory.
 *
 * Each test asserts what a user sees (outputs, exit status, the summary's verdict, proxy and fix
 * lines), the report's routes, what the peers saw (squid's access log, the token service's
 * requests), and that no secret reached stdout, stderr, an output or the summary, with step debug
 * logging on. The peers are real programs: when one is missing the suite fails, saying which and
 * how to install it (scripts/install-test-peers.sh); it never skips.
 */
import { PARTNER_REALM, PARTNER_SERVICE, startDistribution } from '../scripts/lib/distribution.mjs'
import { freePort, requireProgram, startSquid } from '../scripts/lib/squid.mjs'
import {
  basic,
  expectNoSecrets,
  expectOutputs,
  howToFix,
  masked,
  parseReport,
  runDebug,
  verdict,
  withEncoded,
  type Run,
} from './support/e2e.js'

type Distribution = Awaited<ReturnType<typeof startDistribution>>
type Squid = Awaited<ReturnType<typeof startSquid>>
type Registry = Awaited<ReturnType<Distribution['startRegistry']>>
type Route = { host: string; via: 'direct' | 'proxy'; reason: string }
type Report = {
  checks: { id: string; host: string; via?: string; atProxy?: boolean; outcome: string }[]
  images: {
    image: string
    outcome: string
    status?: number
    digest?: string
    registryMessage?: string
    finding?: { code: string }
  }[]
  routes: Route[]
  proxy: { url?: string; source: string }
}

/** A Red Hat Registry Service Account, entitled to everything in the registry. */
const USER = '12345678|ci-pipeline'
const PASSWORD = 'eyJhbGciOiJSUzUxMiJ9.c2VjcmV0LXNlcnZpY2UtYWNjb3VudA.sig+/='
const WRONG_PASSWORD = 'eyJhbGciOiJSUzUxMiJ9.bm90LXRoZS1zZWNyZXQ.wrong+/='
/** An account whose organisation has no subscription: tokens come with an empty access list. */
const NO_SUB_USER = '87654321|no-subscription'
const NO_SUB_PASSWORD = 'eyJhbGciOiJSUzUxMiJ9.bm8tc3Vic2NyaXB0aW9u.nosub+/='
/** Entitled to UBI only. */
const UBI_USER = '11223344|ubi-only'
const UBI_PASSWORD = 'eyJhbGciOiJSUzUxMiJ9.dWJpLW9ubHk.ubi+/='
const ACCOUNTS = {
  [USER]: { password: PASSWORD, entitlements: '*' as const },
  [NO_SUB_USER]: { password: NO_SUB_PASSWORD },
  [UBI_USER]: { password: UBI_PASSWORD, entitlements: ['ubi9/ubi'] },
}

const UBI = 'ubi9/ubi:latest'
const POSTGRES = 'rhel9/postgresql-15:latest'

/** Names only squid resolves; the test certificates name them too. */
const REGISTRY_NAME = 'registry.squid.test'
const SSO_NAME = 'sso.squid.test'

const PROXY_USER = 'proxy-user'
const PROXY_PASSWORD = 'p@ss:w0rd/+%'
const PROXY_PASSWORD_IN_URL = encodeURIComponent(PROXY_PASSWORD)

const SECRETS = [
  ...[PASSWORD, WRONG_PASSWORD, NO_SUB_PASSWORD, UBI_PASSWORD].flatMap(withEncoded),
  basic(USER, PASSWORD),
  basic(USER, WRONG_PASSWORD),
  basic(NO_SUB_USER, NO_SUB_PASSWORD),
  basic(UBI_USER, UBI_PASSWORD),
  PROXY_PASSWORD,
  PROXY_PASSWORD_IN_URL,
  encodeURIComponent(PROXY_PASSWORD_IN_URL),
  basic(PROXY_USER, PROXY_PASSWORD),
]

let dist: Distribution
/** Lets everything through. */
let openProxy: Squid
/** Refuses CONNECT to the token host. */
let strictProxy: Squid
/** Wants Basic credentials. */
let authProxy: Squid
/** A second registry on the same storage whose challenge sends clients to the partner realm. */
let partner: Registry

beforeAll(async () => {
  // No silent skips: a missing peer fails the suite with what to run.
  for (const [program, what] of [
    ['squid', 'squid'],
    ['/usr/lib/squid/basic_ncsa_auth', 'basic_ncsa_auth (package squid)'],
    ['docker-registry', 'docker-registry'],
    ['skopeo', 'skopeo'],
    ['openssl', 'openssl'],
  ]) {
    requireProgram(program, what)
  }
  const hosts = [REGISTRY_NAME, SSO_NAME]
  // allSettled: what did start is kept (and closed by afterAll) even when something else failed.
  const [d, o, s, a] = await Promise.allSettled([
    startDistribution({ users: ACCOUNTS, names: hosts }),
    startSquid({ hosts }),
    startSquid({ hosts, deny: [SSO_NAME] }),
    startSquid({ hosts, credentials: { user: PROXY_USER, password: PROXY_PASSWORD } }),
  ])
  if (d.status === 'fulfilled') dist = d.value
  if (o.status === 'fulfilled') openProxy = o.value
  if (s.status === 'fulfilled') strictProxy = s.value
  if (a.status === 'fulfilled') authProxy = a.value
  for (const result of [d, o, s, a]) if (result.status === 'rejected') throw result.reason
  partner = await dist.startRegistry(PARTNER_REALM)
}, 60_000)

afterAll(async () => {
  await Promise.all([dist, openProxy, strictProxy, authProxy].map((peer) => peer?.close()))
}, 30_000)

/** Runs dist/index.js with step debug logging on, trusting the test CA. */
function act(
  inputs: Record<string, string>,
  env: Record<string, string | undefined> = {},
): Promise<Run> {
  return runDebug({
    inputs: { username: USER, password: PASSWORD, retries: '0', timeout: '5', ...inputs },
    env,
    caPath: dist.tls.caPath,
  })
}

/**
 * No secret anywhere a person or a later step could read it (see expectNoSecrets): every password
 * of every account and of the proxy, their Basic forms, and every token the service ever issued.
 */
function expectNoLeak(run: Run, extra: string[] = []): void {
  const tokens = dist.tokens.issued.map((i) => i.token)
  expectNoSecrets(run, [...SECRETS, ...tokens, ...extra])
}

const report = parseReport<Report>

/** `image` was not found, everything else answered: image-not-found, exit 1, and its verdict. */
function expectImageNotFound(run: Run, image: string): void {
  expectOutputs(
    run,
    {
      result: 'image-not-found',
      'pull-ready': 'false',
      'sso-status': '200',
      'registry-status': '200',
      'failed-images': image,
    },
    1,
  )
  expect(verdict(run)).toBe('## ❌ Pulls will fail: an image was not found')
}

/** The tokens the service issued while `body` ran. */
async function issuedDuring<T>(
  body: () => Promise<T>,
): Promise<[T, Distribution['tokens']['issued']]> {
  const before = dist.tokens.issued.length
  const result = await body()
  return [result, dist.tokens.issued.slice(before)]
}

/**
 * The referee: skopeo inspect, with the same credentials, CA and proxy settings, for each image
 * the action checked. The action's pull-ready must be true exactly when skopeo reads every image,
 * and `failed-images` must list exactly the images skopeo cannot read. Where skopeo reads an image,
 * the digest must be the one the action reported and the one that was pushed.
 */
async function expectRefereeAgrees(
  run: Run,
  options: {
    registry: string
    images: string[]
    /** `user:password`; undefined for none (`--no-creds`) */
    creds: string | undefined
    env?: Record<string, string>
  },
): Promise<void> {
  const verdicts = await Promise.all(
    options.images.map(async (image) => ({
      image,
      ...(await dist.inspect({
        reference: `${options.registry}/${image}`,
        creds: options.creds,
        env: options.env,
      })),
    })),
  )
  const skopeoReady = verdicts.every((v) => v.ok)
  const actionReady = run.outputs['pull-ready'] === 'true'
  const skopeoFailed = verdicts.filter((v) => !v.ok).map((v) => v.image)
  const actionFailed = (run.outputs['failed-images'] ?? '').split('\n').filter(Boolean)
  if (skopeoReady !== actionReady || skopeoFailed.join('\n') !== actionFailed.join('\n')) {
    const said = verdicts
      .map((v) => `  ${v.image}: ${v.ok ? `ok (${v.digest})` : `failed: ${v.stderr.trim()}`}`)
      .join('\n')
    throw new Error(
      [
        `the action and skopeo disagree about ${options.registry}:`,
        `  the action: pull-ready=${run.outputs['pull-ready']}, result=${run.outputs.result}, failed-images=[${actionFailed.join(', ')}]`,
        `  ${run.outputs.message}`,
        `skopeo inspect (pull-ready would be ${skopeoReady}):`,
        said,
      ].join('\n'),
    )
  }
  for (const v of verdicts.filter((v) => v.ok)) {
    expect(v.digest).toBe(dist.digests[v.image])
    expect(report(run).images.find((i) => i.image === v.image)?.digest).toBe(v.digest)
  }
}

describe('the real registry (docker-registry 2.8 with token auth), skopeo as referee', () => {
  test('good service-account credentials: ok, the registry verified the tokens, the digests are what was pushed', async () => {
    const images = [UBI, POSTGRES]
    const [run, issued] = await issuedDuring(() =>
      act({ registry: dist.registry.host, images: images.join('\n') }),
    )
    expectOutputs(
      run,
      {
        result: 'ok',
        'pull-ready': 'true',
        'sso-status': '200',
        'registry-status': '200',
        'token-expires-in': '300',
        'failed-images': '',
      },
      0,
    )
    expect(verdict(run)).toBe('## ✅ Pulls will succeed')
    expect(report(run).routes).toEqual([
      { host: dist.registry.host, via: 'direct', reason: 'no proxy is configured' },
      { host: dist.tokens.host, via: 'direct', reason: 'no proxy is configured' },
    ])
    // One token per repository, each scoped to it, for the service the registry announced.
    expect(issued.map((i) => [i.user, i.audience, i.access])).toEqual(
      expect.arrayContaining([
        [USER, 'docker-registry', [{ type: 'repository', name: 'ubi9/ubi', actions: ['pull'] }]],
        [
          USER,
          'docker-registry',
          [{ type: 'repository', name: 'rhel9/postgresql-15', actions: ['pull'] }],
        ],
      ]),
    )
    expect(masked(run)).toEqual(expect.arrayContaining(issued.map((i) => i.token)))
    expectNoLeak(run)
    await expectRefereeAgrees(run, {
      registry: dist.registry.host,
      images,
      creds: `${USER}:${PASSWORD}`,
    })
  })

  test("wrong secret: invalid-credentials (the SSO's 401), and skopeo is refused too", async () => {
    const run = await act({ registry: dist.registry.host, images: UBI, password: WRONG_PASSWORD })
    expectOutputs(
      run,
      {
        result: 'invalid-credentials',
        'pull-ready': 'false',
        'sso-status': '401',
        'registry-status': '',
        'failed-images': UBI,
      },
      1,
    )
    expect(verdict(run)).toBe('## ❌ Pulls will fail: the credentials were refused')
    expect(run.summary).toContain('### How to fix (`invalid-credentials`)')
    expectNoLeak(run)
    await expectRefereeAgrees(run, {
      registry: dist.registry.host,
      images: [UBI],
      creds: `${USER}:${WRONG_PASSWORD}`,
    })
  })

  test('an account with no entitlement (a token with an empty access list): access-denied', async () => {
    const images = [UBI, POSTGRES]
    const [run, issued] = await issuedDuring(() =>
      act({
        registry: dist.registry.host,
        images: images.join('\n'),
        username: NO_SUB_USER,
        password: NO_SUB_PASSWORD,
      }),
    )
    expectOutputs(
      run,
      {
        result: 'access-denied',
        'pull-ready': 'false',
        'sso-status': '200',
        'registry-status': '200',
        'failed-images': images.join('\n'),
      },
      1,
    )
    expect(verdict(run)).toBe('## ❌ Pulls will fail: the registry denied access')
    expect(issued.length).toBeGreaterThan(0)
    expect(issued.every((i) => i.access.length === 0)).toBe(true)
    // The registry's own words for the refusal, read with one GET.
    expect(report(run).images[0]).toMatchObject({ status: 401, outcome: 'failed' })
    expect(report(run).images[0].registryMessage).toMatch(/authentication required/)
    expectNoLeak(run)
    await expectRefereeAgrees(run, {
      registry: dist.registry.host,
      images,
      creds: `${NO_SUB_USER}:${NO_SUB_PASSWORD}`,
    })
  })

  test('an account entitled to one of two images: access-denied for the other only', async () => {
    const images = [UBI, POSTGRES]
    const run = await act({
      registry: dist.registry.host,
      images: images.join('\n'),
      username: UBI_USER,
      password: UBI_PASSWORD,
    })
    expectOutputs(
      run,
      { result: 'access-denied', 'pull-ready': 'false', 'failed-images': POSTGRES },
      1,
    )
    expect(report(run).images.map((i) => [i.image, i.outcome])).toEqual([
      [UBI, 'passed'],
      [POSTGRES, 'failed'],
    ])
    expectNoLeak(run)
    await expectRefereeAgrees(run, {
      registry: dist.registry.host,
      images,
      creds: `${UBI_USER}:${UBI_PASSWORD}`,
    })
  })

  test('a tag that does not exist: image-not-found', async () => {
    const image = 'ubi9/ubi:8.0-does-not-exist'
    const run = await act({ registry: dist.registry.host, images: `${UBI}\n${image}` })
    expectImageNotFound(run, image)
    expect(report(run).images[1]).toMatchObject({
      status: 404,
      registryMessage: 'manifest unknown',
    })
    expectNoLeak(run)
    await expectRefereeAgrees(run, {
      registry: dist.registry.host,
      images: [UBI, image],
      creds: `${USER}:${PASSWORD}`,
    })
  })

  test('a repository that does not exist: image-not-found', async () => {
    const image = 'rhel9/not-a-repository:latest'
    const run = await act({ registry: dist.registry.host, images: image })
    expectImageNotFound(run, image)
    expect(report(run).images[0].status).toBe(404)
    expectNoLeak(run)
    await expectRefereeAgrees(run, {
      registry: dist.registry.host,
      images: [image],
      creds: `${USER}:${PASSWORD}`,
    })
  })

  test('images by digest: the pushed digest pulls, an unknown digest is image-not-found', async () => {
    const pinned = `ubi9/ubi@${dist.digests[UBI]}`
    const unknown = `rhel9/postgresql-15@sha256:${'0'.repeat(64)}`
    const ok = await act({ registry: dist.registry.host, images: pinned })
    expectOutputs(ok, { result: 'ok', 'pull-ready': 'true' }, 0)
    expect(report(ok).images[0].digest).toBe(dist.digests[UBI])
    expectNoLeak(ok)
    const missing = await act({ registry: dist.registry.host, images: unknown })
    expectOutputs(
      missing,
      { result: 'image-not-found', 'pull-ready': 'false', 'failed-images': unknown },
      1,
    )
    expectNoLeak(missing)
    for (const [run, image] of [
      [ok, pinned],
      [missing, unknown],
    ] as const) {
      const verdict = await dist.inspect({
        reference: `${dist.registry.host}/${image}`,
        creds: `${USER}:${PASSWORD}`,
      })
      if (verdict.ok !== (run.outputs['pull-ready'] === 'true'))
        throw new Error(
          `the action and skopeo disagree about ${image}: the action says ${run.outputs.result}, skopeo ${verdict.ok ? 'read it' : `failed: ${verdict.stderr}`}`,
        )
    }
  })

  test('no credentials at all: the SSO refuses anonymous access, missing-credentials', async () => {
    const run = await act({
      registry: dist.registry.host,
      images: UBI,
      username: '',
      password: '',
    })
    expectOutputs(
      run,
      {
        result: 'missing-credentials',
        'pull-ready': 'false',
        'sso-status': '401',
        'registry-status': '',
        'failed-images': UBI,
      },
      1,
    )
    expect(verdict(run)).toBe('## ❌ Pulls will fail: credentials are missing')
    expectNoLeak(run)
    await expectRefereeAgrees(run, {
      registry: dist.registry.host,
      images: [UBI],
      creds: undefined,
    })
  })

  test('a token for the wrong service (the realm serves another registry): access-denied', async () => {
    const [run, issued] = await issuedDuring(() => act({ registry: partner.host, images: UBI }))
    expectOutputs(
      run,
      {
        result: 'access-denied',
        'pull-ready': 'false',
        'sso-status': '200',
        'registry-status': '401',
        'failed-images': UBI,
      },
      1,
    )
    expect(verdict(run)).toBe('## ❌ Pulls will fail: the registry denied access')
    // The token was good for its own audience, and the registry refused it for that reason.
    expect(issued.length).toBeGreaterThan(0)
    expect(issued.every((i) => i.audience === PARTNER_SERVICE)).toBe(true)
    expect(partner.output()).toContain('token intended for another audience')
    expectNoLeak(run)
    await expectRefereeAgrees(run, {
      registry: partner.host,
      images: [UBI],
      creds: `${USER}:${PASSWORD}`,
    })
  })
})

describe('through a real squid', () => {
  const registryName = (): string => `${REGISTRY_NAME}:${dist.registry.port}`
  const ssoName = (): string => `${SSO_NAME}:${dist.tokens.port}`
  const proxyLine = (url: string, from: string): string => `- Proxy: \`${url}\` from ${from}\n`

  /** squid's access-log lines written while `body` ran. */
  async function loggedDuring<T>(
    proxy: Squid,
    body: () => Promise<T>,
  ): Promise<[T, Awaited<ReturnType<Squid['log']>>]> {
    const before = (await proxy.log({ settleMs: 0 })).length
    const result = await body()
    return [result, (await proxy.log()).slice(before)]
  }

  test('the proxy input: ok; the registry goes through squid, the loopback realm direct', async () => {
    const [run, log] = await loggedDuring(openProxy, () =>
      act({ registry: registryName(), images: UBI, proxy: openProxy.url }),
    )
    expectOutputs(
      run,
      { result: 'ok', 'pull-ready': 'true', 'sso-status': '200', 'registry-status': '200' },
      0,
    )
    expect(verdict(run)).toBe('## ✅ Pulls will succeed')
    expect(run.summary).toContain(proxyLine(openProxy.url, 'the `proxy` input'))
    expect(report(run).routes).toEqual([
      { host: registryName(), via: 'proxy', reason: 'proxy from the proxy input' },
      { host: dist.tokens.host, via: 'direct', reason: 'loopback is never proxied' },
    ])
    expect(log.length).toBeGreaterThan(0)
    expect(log).toEqual(
      log.map(() => expect.objectContaining({ target: registryName(), status: 200 })),
    )
    expectNoLeak(run)
    await expectRefereeAgrees(run, {
      registry: registryName(),
      images: [UBI],
      creds: `${USER}:${PASSWORD}`,
      env: { HTTPS_PROXY: openProxy.url },
    })
  })

  test.each(['https_proxy', 'HTTPS_PROXY'])(
    'the %s variable: ok, and the summary names the variable',
    async (variable) => {
      const [run, log] = await loggedDuring(openProxy, () =>
        act({ registry: registryName(), images: UBI }, { [variable]: openProxy.url }),
      )
      expectOutputs(run, { result: 'ok', 'pull-ready': 'true' }, 0)
      expect(verdict(run)).toBe('## ✅ Pulls will succeed')
      expect(run.summary).toContain(
        proxyLine(openProxy.url, `the \`${variable}\` environment variable`),
      )
      expect(report(run).routes[0]).toEqual({
        host: registryName(),
        via: 'proxy',
        reason: `proxy from ${variable}`,
      })
      expect(log.some((e) => e.target === registryName() && e.status === 200)).toBe(true)
      expectNoLeak(run)
      await expectRefereeAgrees(run, {
        registry: registryName(),
        images: [UBI],
        creds: `${USER}:${PASSWORD}`,
        env: { [variable]: openProxy.url },
      })
    },
  )

  test('auth-url on a name only squid resolves: the token hop goes through squid too', async () => {
    const authUrl = dist.tokens.realm('rhcc', SSO_NAME)
    const before = dist.tokens.requests.length
    const [run, log] = await loggedDuring(openProxy, () =>
      act({ registry: registryName(), images: UBI, proxy: openProxy.url, 'auth-url': authUrl }),
    )
    expectOutputs(
      run,
      { result: 'ok', 'pull-ready': 'true', 'sso-status': '200', 'registry-status': '200' },
      0,
    )
    expect(report(run).routes).toEqual([
      { host: registryName(), via: 'proxy', reason: 'proxy from the proxy input' },
      { host: ssoName(), via: 'proxy', reason: 'proxy from the proxy input' },
    ])
    expect(log.some((e) => e.target === ssoName() && e.status === 200)).toBe(true)
    const requests = dist.tokens.requests.slice(before)
    expect(requests.length).toBeGreaterThan(0)
    expect(requests.every((r) => r.host === ssoName())).toBe(true)
    expectNoLeak(run)
  })

  test('squid refuses CONNECT to the token host (an ACL): proxy-error, and How to fix names that host', async () => {
    const before = dist.tokens.requests.length
    const [run, log] = await loggedDuring(strictProxy, () =>
      act({
        registry: registryName(),
        images: UBI,
        proxy: strictProxy.url,
        'auth-url': dist.tokens.realm('rhcc', SSO_NAME),
      }),
    )
    expectOutputs(
      run,
      { result: 'proxy-error', 'pull-ready': 'false', 'sso-status': '', 'registry-status': '' },
      1,
    )
    expect(verdict(run)).toBe('## ❌ Pulls will fail: the proxy failed')
    expect(run.outputs.message).toContain('403')
    expect(run.outputs.message).toContain(`\`${ssoName()}\``)
    expect(howToFix(run)).toMatch(/^### How to fix \(`proxy-error`\)/)
    expect(howToFix(run)).toContain(`\`${ssoName()}\``)
    expect(run.summary).toContain(proxyLine(strictProxy.url, 'the `proxy` input'))
    expect(report(run).checks.find((c) => c.id === 'token')).toMatchObject({
      host: ssoName(),
      via: 'proxy',
      atProxy: true,
      outcome: 'failed',
    })
    // squid let the registry through and refused the token host; nothing reached the service.
    expect(log).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ target: registryName(), status: 200 }),
        expect.objectContaining({ target: ssoName(), status: 403, code: 'TCP_DENIED' }),
      ]),
    )
    expect(dist.tokens.requests.length).toBe(before)
    expectNoLeak(run)
  })

  test('squid wants credentials and gets none: proxy-auth-required', async () => {
    const [run, log] = await loggedDuring(authProxy, () =>
      act({ registry: registryName(), images: UBI, proxy: authProxy.url }),
    )
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
    expect(run.summary).toContain(proxyLine(authProxy.url, 'the `proxy` input'))
    expect(log[0]).toMatchObject({ target: registryName(), status: 407, user: '-' })
    expectNoLeak(run)
    await expectRefereeAgrees(run, {
      registry: registryName(),
      images: [UBI],
      creds: `${USER}:${PASSWORD}`,
      env: { HTTPS_PROXY: authProxy.url },
    })
  })

  test('squid wants credentials and gets them in the URL: ok, and the proxy password is nowhere', async () => {
    const proxyWithCredentials = `http://${PROXY_USER}:${PROXY_PASSWORD_IN_URL}@${authProxy.host}`
    const [run, log] = await loggedDuring(authProxy, () =>
      act({ registry: registryName(), images: UBI, proxy: proxyWithCredentials }),
    )
    expectOutputs(
      run,
      { result: 'ok', 'pull-ready': 'true', 'sso-status': '200', 'registry-status': '200' },
      0,
    )
    expect(verdict(run)).toBe('## ✅ Pulls will succeed')
    expect(run.summary).toContain(proxyLine(authProxy.url, 'the `proxy` input'))
    expect(report(run).proxy.url).toBe(authProxy.url)
    expect(log.length).toBeGreaterThan(0)
    expect(log).toEqual(
      log.map(() =>
        expect.objectContaining({ target: registryName(), status: 200, user: PROXY_USER }),
      ),
    )
    expect(masked(run)).toEqual(expect.arrayContaining([PROXY_PASSWORD, PROXY_PASSWORD_IN_URL]))
    expectNoLeak(run, [proxyWithCredentials])
    await expectRefereeAgrees(run, {
      registry: registryName(),
      images: [UBI],
      creds: `${USER}:${PASSWORD}`,
      env: { HTTPS_PROXY: proxyWithCredentials },
    })
  })

  test('squid gets a wrong proxy password: proxy-auth-required', async () => {
    const wrong = `http://${PROXY_USER}:not-it@${authProxy.host}`
    const [run, log] = await loggedDuring(authProxy, () =>
      act({ registry: registryName(), images: UBI, proxy: wrong }),
    )
    expectOutputs(run, { result: 'proxy-auth-required', 'pull-ready': 'false' }, 1)
    expect(log[0]).toMatchObject({ target: registryName(), status: 407 })
    expectNoLeak(run, ['not-it'])
    await expectRefereeAgrees(run, {
      registry: registryName(),
      images: [UBI],
      creds: `${USER}:${PASSWORD}`,
      env: { HTTPS_PROXY: wrong },
    })
  })

  test('squid is down: proxy-error, cannot reach the proxy', async () => {
    const gone = await startSquid({ hosts: [REGISTRY_NAME, SSO_NAME] })
    await gone.close()
    const run = await act({ registry: registryName(), images: UBI, proxy: gone.url })
    expectOutputs(
      run,
      { result: 'proxy-error', 'pull-ready': 'false', 'sso-status': '', 'registry-status': '' },
      1,
    )
    expect(verdict(run)).toBe('## ❌ Pulls will fail: the proxy failed')
    expect(run.outputs.message).toContain(`cannot reach the proxy ${gone.url}`)
    expect(run.summary).toContain(proxyLine(gone.url, 'the `proxy` input'))
    expect(report(run).checks.find((c) => c.id === 'ping')?.atProxy).toBe(true)
    expectNoLeak(run)
    await expectRefereeAgrees(run, {
      registry: registryName(),
      images: [UBI],
      creds: `${USER}:${PASSWORD}`,
      env: { HTTPS_PROXY: gone.url },
    })
  })

  test('the registry is down behind squid (squid answers 503): proxy-error', async () => {
    const closed = `${REGISTRY_NAME}:${await freePort()}`
    const [run, log] = await loggedDuring(openProxy, () =>
      act({ registry: closed, images: UBI, proxy: openProxy.url }),
    )
    expectOutputs(
      run,
      { result: 'proxy-error', 'pull-ready': 'false', 'sso-status': '', 'registry-status': '' },
      1,
    )
    expect(run.outputs.message).toContain('503')
    expect(log[0]).toMatchObject({ target: closed, status: 503 })
    expectNoLeak(run)
    await expectRefereeAgrees(run, {
      registry: closed,
      images: [UBI],
      creds: `${USER}:${PASSWORD}`,
      env: { HTTPS_PROXY: openProxy.url },
    })
  })

  test('no_proxy covers the registry: direct, so the runner cannot resolve it (dns-error), and squid saw nothing', async () => {
    const [run, log] = await loggedDuring(openProxy, () =>
      act(
        { registry: registryName(), images: UBI, proxy: openProxy.url },
        { no_proxy: 'localhost,.squid.test' },
      ),
    )
    expectOutputs(
      run,
      { result: 'dns-error', 'pull-ready': 'false', 'sso-status': '', 'registry-status': '' },
      1,
    )
    expect(verdict(run)).toBe('## ❌ Pulls will fail: a host name does not resolve')
    expect(run.summary).toContain('- `no_proxy`: `localhost,.squid.test`')
    expect(report(run).routes).toEqual([
      { host: registryName(), via: 'direct', reason: "no_proxy entry '.squid.test'" },
    ])
    expect(log).toEqual([])
    expectNoLeak(run)
    await expectRefereeAgrees(run, {
      registry: registryName(),
      images: [UBI],
      creds: `${USER}:${PASSWORD}`,
      env: { HTTPS_PROXY: openProxy.url, NO_PROXY: 'localhost,.squid.test' },
    })
  })
})

describe('proxy variables in both cases, as skopeo (and every Go client) reads them', () => {
  test.each([
    ['https_proxy (squid) and HTTPS_PROXY (a proxy that is down)', 'HTTPS_PROXY'],
    ['no_proxy (not covering the registry) and NO_PROXY (covering it)', 'NO_PROXY'],
  ])('%s: the action follows the one skopeo follows', async (_title, which) => {
    const down = `http://127.0.0.1:${await freePort()}`
    const env: Record<string, string> =
      which === 'HTTPS_PROXY'
        ? { https_proxy: openProxy.url, HTTPS_PROXY: down }
        : { https_proxy: openProxy.url, no_proxy: 'localhost', NO_PROXY: '.squid.test' }
    const registry = `${REGISTRY_NAME}:${dist.registry.port}`
    const run = await act({ registry, images: UBI }, env)
    expectNoLeak(run)
    await expectRefereeAgrees(run, {
      registry,
      images: [UBI],
      creds: `${USER}:${PASSWORD}`,
      env,
    })
  })
})
