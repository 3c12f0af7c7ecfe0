/**
 * The procedure's logic against scripted registries (nock). The network path itself (TLS,
 * timeouts, proxies, the built action) is tested against real servers in action.test.ts.
 */
import nock from 'nock'
import type { PreflightConfig } from '../src/preflight.js'
import { runCore, type CoreRun } from './support/core.js'

const REGISTRY = 'registry.redhat.io'
const BASE = `https://${REGISTRY}`
const REALM_PATH = '/auth/realms/rhcc/protocol/redhat-docker-v2/auth'
const CHALLENGE = `Bearer realm="${BASE}${REALM_PATH}",service="docker-registry"`
const USER = '12345678|ci-pipeline'
const PASSWORD = 'eyJhbGciOiJSUzUxMiJ9.secret-password-value'
const BASIC = Buffer.from(`${USER}:${PASSWORD}`).toString('base64')
const TOKEN = 'eyJ0eXAiOiJKV1QifQ.issued-token-value'
const API = {
  'Docker-Distribution-Api-Version': 'registry/2.0',
  'Content-Type': 'application/json',
}

type Run = CoreRun

function run(overrides: Partial<PreflightConfig> = {}, images: string[] = []): Promise<Run> {
  const { images: _images, ...rest } = overrides
  void _images
  return runCore(
    {
      registry: REGISTRY,
      credentials: { username: USER, password: PASSWORD },
      proxy: { source: 'none', schemeAssumed: false, noProxy: [] },
      timeoutMs: 5000,
      retries: 2,
      // Manifests by HEAD, as these scripts expect; the layer path has tests of its own.
      platforms: { kind: 'any' },
      layers: 'false',
      ...rest,
    },
    images,
  )
}

/** No secret in the report or the debug log: the properties every test checks. */
function expectNoLeak({ report, debug }: Run, extra: string[] = []): void {
  const text = JSON.stringify(report) + debug.join('\n')
  for (const secret of [PASSWORD, BASIC, TOKEN, encodeURIComponent(PASSWORD), ...extra]) {
    expect(text).not.toContain(secret)
  }
}

function challenge(scope = nock(BASE)): nock.Scope {
  return scope.get('/v2/').reply(
    401,
    { errors: [{ code: 'UNAUTHORIZED', message: 'unauthorized' }] },
    {
      ...API,
      'WWW-Authenticate': CHALLENGE,
    },
  )
}

/** The registry challenges, the token service grants a token, and /v2/ takes it. */
function authorized(): nock.Scope {
  return challenge()
    .get(REALM_PATH)
    .query(true)
    .reply(200, { token: TOKEN })
    .get('/v2/')
    .reply(200, {}, API)
}

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())
afterAll(() => nock.enableNetConnect())

describe("Red Hat's procedure", () => {
  test('good credentials, entitled image: ok, with the token masked and its lifetime reported', async () => {
    const api = challenge()
      .get(REALM_PATH)
      .query({
        service: 'docker-registry',
        scope: 'repository:ubi9/ubi:pull',
        client_id: 'registry-auth-preflight',
      })
      .matchHeader('authorization', `Basic ${BASIC}`)
      .reply(200, {
        token: TOKEN,
        access_token: TOKEN,
        expires_in: 300,
        issued_at: new Date().toISOString(),
      })
      .get('/v2/')
      .matchHeader('authorization', `Bearer ${TOKEN}`)
      .reply(200, {}, API)
      .head('/v2/ubi9/ubi/manifests/latest')
      .matchHeader('authorization', `Bearer ${TOKEN}`)
      .matchHeader('accept', /application\/vnd\.oci\.image\.index\.v1\+json/)
      .reply(200, '', { ...API, 'Docker-Content-Digest': 'sha256:' + 'a'.repeat(64) })

    const r = await run({}, ['ubi9/ubi:latest'])
    expect(r.report.result).toBe('ok')
    expect(r.report.pullReady).toBe(true)
    expect(r.report.ssoStatus).toBe(200)
    expect(r.report.registryStatus).toBe(200)
    expect(r.report.tokenExpiresIn).toBe(300)
    expect(r.report.images[0]).toMatchObject({
      outcome: 'passed',
      status: 200,
      digest: 'sha256:' + 'a'.repeat(64),
    })
    // What is masked: the Basic header and the token (given as both token and access_token).
    expect(new Set(r.secrets)).toEqual(new Set([BASIC, TOKEN]))
    expect(api.isDone()).toBe(true)
    expectNoLeak(r)
  })

  test('wrong password: invalid-credentials from the token service; the registry and images are not asked', async () => {
    challenge()
      .get(REALM_PATH)
      .query(true)
      .reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'Invalid username or password' }] })
    const r = await run({}, ['ubi9/ubi:latest'])
    expect(r.report.result).toBe('invalid-credentials')
    expect(r.report.ssoStatus).toBe(401)
    expect(r.report.registryStatus).toBeUndefined()
    expect(r.report.checks.map((c) => [c.id, c.outcome])).toEqual([
      ['ping', 'passed'],
      ['token', 'failed'],
      ['registry', 'skipped'],
    ])
    expect(r.report.images[0].outcome).toBe('skipped')
    expect(r.report.message).toMatch(/refused the credentials \(HTTP 401\)/)
    expect(r.sleeps).toEqual([]) // a 401 is never retried
    expectNoLeak(r)
  })

  test('token granted, registry refuses the image: access-denied with the registry’s own words', async () => {
    authorized()
      .head('/v2/rhel9/postgresql-15/manifests/latest')
      .reply(401, '', { ...API, 'WWW-Authenticate': `${CHALLENGE},error="insufficient_scope"` })
      .get('/v2/rhel9/postgresql-15/manifests/latest')
      .reply(
        401,
        { errors: [{ code: 'UNAUTHORIZED', message: 'Please login to the Red Hat Registry' }] },
        API,
      )
    const r = await run({}, ['rhel9/postgresql-15'])
    expect(r.report.result).toBe('access-denied')
    expect(r.report.tokenExpiresIn).toBe(60)
    expect(r.report.images[0]).toMatchObject({
      outcome: 'failed',
      status: 401,
      registryMessage: 'Please login to the Red Hat Registry',
    })
    expectNoLeak(r)
  })

  test('registry refuses the token on /v2/: access-denied', async () => {
    challenge()
      .get(REALM_PATH)
      .query(true)
      .reply(200, { access_token: TOKEN })
      .get('/v2/')
      .reply(401, {}, API)
    const r = await run()
    expect(r.report.result).toBe('access-denied')
    expect(r.report.registryStatus).toBe(401)
  })

  test("a missing image: image-not-found, with Red Hat's non-standard 404 body", async () => {
    authorized()
      .head('/v2/ubi9/nope/manifests/latest')
      .reply(404, '', API)
      .get('/v2/ubi9/nope/manifests/latest')
      .reply(404, { errors: [{ code: '404', message: 'Not Found' }] }, API)
    const r = await run({}, ['ubi9/nope'])
    expect(r.report.result).toBe('image-not-found')
    expect(r.report.images[0].registryMessage).toBe('Not Found')
  })

  test('the first failing image in input order decides the result; every image is reported', async () => {
    challenge()
      .get(REALM_PATH)
      .query(true)
      .times(3)
      .reply(200, { token: TOKEN })
      .get('/v2/')
      .reply(200, {}, API)
      .head('/v2/a/ok/manifests/latest')
      .reply(200, '', API)
      .head('/v2/a/gone/manifests/latest')
      .reply(404, '', API)
      .get('/v2/a/gone/manifests/latest')
      .reply(404, {}, API)
      .head('/v2/a/denied/manifests/latest')
      .reply(403, '', API)
      .get('/v2/a/denied/manifests/latest')
      .reply(403, {}, API)
    const r = await run({}, ['a/ok', 'a/gone', 'a/denied'])
    expect(r.report.result).toBe('image-not-found')
    expect(r.report.images.map((i) => i.outcome)).toEqual(['passed', 'failed', 'failed'])
  })
})

describe('credentials', () => {
  test('both empty: an anonymous token is asked for; a 401 means missing-credentials', async () => {
    challenge()
      .get(REALM_PATH)
      .query(true)
      .matchHeader('authorization', (v) => v === undefined)
      .reply(401, {})
    const r = await run({ credentials: undefined })
    expect(r.report.result).toBe('missing-credentials')
    expect(r.report.message).toMatch(/forks and by Dependabot/)
  })

  test('both empty and the registry grants anonymous tokens: ok for a public image', async () => {
    authorized().head('/v2/pub/img/manifests/latest').reply(200, '', API)
    const r = await run({ credentials: undefined }, ['pub/img'])
    expect(r.report.result).toBe('ok')
    expect(r.report.images[0].anonymous).toBe(true)
  })

  test('only the username: missing-credentials, and nothing is sent to the token service', async () => {
    const scope = challenge()
    const token = nock(BASE).get(REALM_PATH).query(true).reply(200, { token: TOKEN })
    const r = await run({ credentials: undefined, missing: 'password' })
    expect(r.report.result).toBe('missing-credentials')
    expect(r.report.message).toMatch(/password input is empty/)
    expect(scope.isDone()).toBe(true)
    expect(token.isDone()).toBe(false)
  })
})

describe('the token realm', () => {
  test('auth-url overrides the announced realm, and the report says they differ', async () => {
    challenge().get('/v2/').reply(200, {}, API)
    const sso = nock('https://sso.redhat.com')
      .get(REALM_PATH)
      .query(true)
      .reply(200, { token: TOKEN })
    const r = await run({ authUrl: new URL(`https://sso.redhat.com${REALM_PATH}`) })
    expect(sso.isDone()).toBe(true)
    expect(r.report.result).toBe('ok')
    expect(r.report.auth.realmSource).toBe('auth-url')
    expect(r.report.notes.join(' ')).toMatch(/differs from the realm the registry announces/)
  })

  test('a realm with a query keeps it', async () => {
    nock(BASE)
      .get('/v2/')
      .reply(
        401,
        {},
        { ...API, 'WWW-Authenticate': `Bearer realm="${BASE}/auth?tenant=x",service="s"` },
      )
      .get('/auth')
      .query({ tenant: 'x', service: 's', client_id: 'registry-auth-preflight' })
      .reply(200, { token: TOKEN })
      .get('/v2/')
      .reply(200, {}, API)
    expect((await run()).report.result).toBe('ok')
  })

  test('/v2/ unreachable: the token service is still tried at the realm Red Hat uses', async () => {
    nock(BASE)
      .get('/v2/')
      .replyWithError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
      .get(REALM_PATH)
      .query(true)
      .reply(200, { token: TOKEN })
    const r = await run()
    expect(r.report.result).toBe('connection-failed')
    expect(r.report.auth.realmSource).toBe('known')
    expect(r.report.checks.find((c) => c.id === 'token')).toMatchObject({
      outcome: 'passed',
      status: 200,
    })
    expect(r.report.ssoStatus).toBe(200)
  })

  test('a realm over plain http is refused: unexpected-response, and no credentials go there', async () => {
    nock(BASE)
      .get('/v2/')
      .reply(
        401,
        {},
        { ...API, 'WWW-Authenticate': 'Bearer realm="http://auth.example.com/token",service="x"' },
      )
    const plain = nock('http://auth.example.com')
      .get('/token')
      .query(true)
      .reply(200, { token: TOKEN })
    const r = await run()
    expect(r.report.result).toBe('unexpected-response')
    expect(r.report.message).toMatch(/not https/)
    expect(plain.isDone()).toBe(false)
  })

  test('a realm on a link-local address is refused', async () => {
    nock(BASE)
      .get('/v2/')
      .reply(
        401,
        {},
        { ...API, 'WWW-Authenticate': 'Bearer realm="https://169.254.169.254/latest",service="x"' },
      )
    const r = await run()
    expect(r.report.result).toBe('unexpected-response')
    expect(r.report.message).toMatch(/link-local/)
  })

  test('quay.io sends Basic and Bearer in one header: Bearer is used', async () => {
    nock('https://quay.io')
      .get('/v2/')
      .reply(
        401,
        {},
        {
          ...API,
          'WWW-Authenticate':
            'Basic realm="quay.io", Bearer realm="https://quay.io/v2/auth",service="quay.io"',
        },
      )
      .get('/v2/auth')
      .query(true)
      .reply(200, { token: TOKEN })
      .get('/v2/')
      .reply(200, {}, API)
    expect((await run({ registry: 'quay.io' })).report.result).toBe('ok')
  })

  test('a registry that asks for Basic only gets the credentials on /v2/', async () => {
    nock('https://basic.example.com')
      .get('/v2/')
      .reply(401, {}, { ...API, 'WWW-Authenticate': 'Basic realm="registry"' })
      .get('/v2/')
      .matchHeader('authorization', `Basic ${BASIC}`)
      .reply(200, {}, API)
    const r = await run({ registry: 'basic.example.com' })
    expect(r.report.result).toBe('ok')
    expect(r.report.ssoStatus).toBeUndefined()
    expect(r.report.registryStatus).toBe(200)
  })
})

describe('answers no registry gives', () => {
  test('an HTML page with 200 on /v2/: unexpected-response', async () => {
    nock(BASE).get('/v2/').reply(200, '<!doctype html><title>Log in to the Wi-Fi</title>', {
      'Content-Type': 'text/html',
    })
    const r = await run()
    expect(r.report.result).toBe('unexpected-response')
    expect(r.report.message).toMatch(/HTML page/)
  })

  test('a 200 from the token service without a token: unexpected-response', async () => {
    challenge().get(REALM_PATH).query(true).reply(200, { expires_in: 300 })
    const r = await run()
    expect(r.report.result).toBe('unexpected-response')
    expect(r.report.message).toMatch(/without a token/)
  })

  test('a 401 without any challenge: unexpected-response', async () => {
    nock(BASE).get('/v2/').reply(401, {}, API)
    expect((await run()).report.result).toBe('unexpected-response')
  })
})

describe('retries', () => {
  test('500 then 200: retried once with backoff, then ok', async () => {
    nock(BASE).get('/v2/').reply(500, {}, API)
    authorized()
    const r = await run()
    expect(r.report.result).toBe('ok')
    expect(r.sleeps).toEqual([1000])
    expect(r.report.checks[0].attempts).toBe(2)
  })

  // 30 s is the longest wait it takes.
  test.each([
    ['3', 3000],
    ['30', 30_000],
  ])('429 with Retry-After %s: waits as asked (%i ms), then ok', async (seconds, ms) => {
    nock(BASE)
      .get('/v2/')
      .reply(429, {}, { ...API, 'Retry-After': seconds })
    authorized()
    const r = await run()
    expect(r.report.result).toBe('ok')
    expect(r.sleeps).toEqual([ms])
  })

  test.each(['31', '120'])(
    '429 with Retry-After %s, over 30 s, ends the retries: rate-limited, and the message says why',
    async (seconds) => {
      nock(BASE)
        .get('/v2/')
        .reply(429, {}, { ...API, 'Retry-After': seconds })
        // The token request sent alongside (registry.redhat.io's token service is known) is
        // abandoned once /v2/ has answered: no retry of its 503 either.
        .get(REALM_PATH)
        .query(true)
        .delay(100)
        .reply(503, 'busy')
      const r = await run()
      expect(r.report.result).toBe('rate-limited')
      expect(r.sleeps).toEqual([])
      expect(r.report.message).toMatch(new RegExp(`Retry-After asked for ${seconds} s`))
    },
  )

  test('persistent 503 from the token service: registry-error after 1 + retries attempts', async () => {
    challenge().get(REALM_PATH).query(true).times(3).reply(503, 'busy')
    const r = await run()
    expect(r.report.result).toBe('registry-error')
    expect(r.report.checks.find((c) => c.id === 'token')?.attempts).toBe(3)
  })
})

describe('the token request for a known token service goes out with the first GET /v2/', () => {
  /** Records the order in which the scripted servers saw things. */
  function timeline(): { events: string[]; tokenAsked: Promise<void>; asked: () => void } {
    const events: string[] = []
    let asked = (): void => {}
    const tokenAsked = new Promise<void>((resolve) => (asked = resolve))
    return { events, tokenAsked, asked }
  }
  /** `promise`, or `ms` passing, whichever comes first; the timer goes with it either way. */
  const within = async (promise: Promise<void>, ms: number): Promise<void> => {
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([
        promise,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
      ])
    } finally {
      clearTimeout(timer)
    }
  }

  test('registry.redhat.io: the token service is asked before /v2/ answers, once, and the run is ok', async () => {
    const t = timeline()
    const api = nock(BASE)
      .get('/v2/')
      .reply(async () => {
        // Answer /v2/ only once the token request has arrived (or after 2 s, which fails below).
        await within(t.tokenAsked, 2000)
        t.events.push('/v2/ answered')
        return [
          401,
          { errors: [{ code: 'UNAUTHORIZED' }] },
          { ...API, 'WWW-Authenticate': CHALLENGE },
        ]
      })
      .get(REALM_PATH)
      .query({
        service: 'docker-registry',
        scope: 'repository:ubi9/ubi:pull',
        client_id: 'registry-auth-preflight',
      })
      .matchHeader('authorization', `Basic ${BASIC}`)
      .reply(() => {
        t.events.push('token asked')
        t.asked()
        return [200, { token: TOKEN, expires_in: 300 }]
      })
      .get('/v2/')
      .matchHeader('authorization', `Bearer ${TOKEN}`)
      .reply(200, {}, API)
      .head('/v2/ubi9/ubi/manifests/latest')
      .matchHeader('authorization', `Bearer ${TOKEN}`)
      .reply(200, '', API)
    const r = await run({}, ['ubi9/ubi'])
    expect(t.events).toEqual(['token asked', '/v2/ answered'])
    expect(api.isDone()).toBe(true)
    expect(r.report.result).toBe('ok')
    expect(r.report.auth).toMatchObject({ realmSource: 'challenge', realm: `${BASE}${REALM_PATH}` })
    expect(r.report.checks.map((c) => [c.id, c.outcome])).toEqual([
      ['ping', 'passed'],
      ['token', 'passed'],
      ['registry', 'passed'],
    ])
    expect(new Set(r.secrets)).toEqual(new Set([BASIC, TOKEN]))
    expectNoLeak(r)
  })

  test('bad credentials: invalid-credentials from a single token request', async () => {
    let tokenRequests = 0
    challenge()
      .get(REALM_PATH)
      .query(true)
      .times(3)
      .reply(() => {
        tokenRequests++
        return [
          401,
          { errors: [{ code: 'UNAUTHORIZED', message: 'Invalid username or password' }] },
        ]
      })
    const r = await run({}, ['ubi9/ubi'])
    expect(r.report.result).toBe('invalid-credentials')
    expect(tokenRequests).toBe(1)
    expect(r.report.ssoStatus).toBe(401)
    expectNoLeak(r)
  })

  test('a challenge that names another realm wins: the early token is dropped, masked, and never presented', async () => {
    const EARLY = 'eyJlYXJseSJ9.early-token-value'
    const LEGACY = 'https://sso.redhat.com'
    nock(BASE)
      .get('/v2/')
      .delay(50) // the early token request is answered first
      .reply(
        401,
        {},
        {
          ...API,
          'WWW-Authenticate': `Bearer realm="${LEGACY}${REALM_PATH}",service="docker-registry"`,
        },
      )
      .get(REALM_PATH)
      .query(true)
      .reply(200, { token: EARLY })
      .get('/v2/')
      .matchHeader('authorization', `Bearer ${TOKEN}`)
      .reply(200, {}, API)
      .head('/v2/ubi9/ubi/manifests/latest')
      .matchHeader('authorization', `Bearer ${TOKEN}`)
      .reply(200, '', API)
    const legacy = nock(LEGACY).get(REALM_PATH).query(true).reply(200, { token: TOKEN })
    const r = await run({}, ['ubi9/ubi'])
    expect(legacy.isDone()).toBe(true)
    expect(r.report.result).toBe('ok')
    expect(r.report.auth).toMatchObject({
      realmSource: 'challenge',
      realm: `${LEGACY}${REALM_PATH}`,
    })
    expect(r.report.checks.find((c) => c.id === 'token')?.host).toBe('sso.redhat.com')
    expect(new Set(r.secrets)).toEqual(new Set([BASIC, EARLY, TOKEN]))
    expectNoLeak(r, [EARLY])
  })

  test('any other registry: the token service is asked only after the challenge named it', async () => {
    const other = 'https://registry.example.com'
    const events: string[] = []
    nock(other)
      .get('/v2/')
      .reply(() => {
        events.push('/v2/ answered')
        return [
          401,
          {},
          { ...API, 'WWW-Authenticate': `Bearer realm="${other}/token",service="example"` },
        ]
      })
      .get('/token')
      .query(true)
      .reply(() => {
        events.push('token asked')
        return [200, { token: TOKEN }]
      })
      .get('/v2/')
      .reply(200, {}, API)
      .head('/v2/app/manifests/latest')
      .reply(200, '', API)
    const r = await run({ registry: 'registry.example.com' }, ['app'])
    expect(r.report.result).toBe('ok')
    expect(events).toEqual(['/v2/ answered', 'token asked'])
    expectNoLeak(r)
  })

  test('auth-url set: nothing is sent before the challenge, and the auth-url is asked', async () => {
    const events: string[] = []
    nock(BASE)
      .get('/v2/')
      .reply(() => {
        events.push('/v2/ answered')
        return [401, {}, { ...API, 'WWW-Authenticate': CHALLENGE }]
      })
      .get('/v2/')
      .reply(200, {}, API)
      .head('/v2/ubi9/ubi/manifests/latest')
      .reply(200, '', API)
    const sso = nock('https://sso.redhat.com')
      .get(REALM_PATH)
      .query(true)
      .reply(() => {
        events.push('token asked')
        return [200, { token: TOKEN }]
      })
    const r = await run({ authUrl: new URL(`https://sso.redhat.com${REALM_PATH}`) }, ['ubi9/ubi'])
    expect(sso.isDone()).toBe(true)
    expect(r.report.result).toBe('ok')
    expect(events).toEqual(['/v2/ answered', 'token asked'])
  })
})

describe('redirects and secrets', () => {
  test('a redirect to another host arrives there without Authorization', async () => {
    authorized()
    nock(BASE)
      .head('/v2/ubi9/ubi/manifests/latest')
      .reply(307, '', { Location: 'https://cdn.example.com/manifest' })
    const cdn = nock('https://cdn.example.com', { badheaders: ['authorization'] })
      .head('/manifest')
      .reply(200, '', API)
    const r = await run({}, ['ubi9/ubi'])
    expect(cdn.isDone()).toBe(true)
    expect(r.report.result).toBe('ok')
  })

  test('a redirect from https to http is refused: unexpected-response', async () => {
    nock(BASE).get('/v2/').reply(302, '', { Location: 'http://registry.redhat.io/v2/' })
    const r = await run()
    expect(r.report.result).toBe('unexpected-response')
    expect(r.report.message).toMatch(/https to http/)
  })

  test('a redirect loop ends after 5 redirects', async () => {
    nock(BASE)
      .get('/v2/')
      .times(6)
      .reply(302, '', { Location: `${BASE}/v2/` })
    const r = await run()
    expect(r.report.result).toBe('unexpected-response')
    expect(r.report.message).toMatch(/more than 5 redirects/)
  })
})

describe('many repositories', () => {
  test('at most `concurrency` requests in flight, and every token is asked for before a manifest check takes a place', async () => {
    const repos = Array.from({ length: 10 }, (_, i) => `team/app-${i}`)
    const arrivals: string[] = []
    let inFlight = 0
    let most = 0
    /** Answers 5 ms late, so that requests overlap and the bound shows. */
    const late =
      (kind: string, status: number, body: nock.Body, headers: Record<string, string>) =>
      async (): Promise<[number, nock.Body, Record<string, string>]> => {
        arrivals.push(kind)
        most = Math.max(most, ++inFlight)
        await new Promise((resolve) => setTimeout(resolve, 5))
        inFlight--
        return [status, body, headers]
      }
    const api = challenge()
      .get(REALM_PATH)
      .query(true)
      .times(repos.length)
      .reply(late('token', 200, { token: TOKEN }, API))
      .get('/v2/')
      .matchHeader('authorization', `Bearer ${TOKEN}`)
      .reply(late('/v2/', 200, {}, API))
      .head(/^\/v2\/team\/app-\d\/manifests\/latest$/)
      .times(repos.length)
      .reply(late('manifest', 200, '', API))

    const r = await run({}, repos) // concurrency 4

    expect(api.isDone()).toBe(true)
    expect(r.report.result).toBe('ok')
    expect(r.report.images.map((i) => i.outcome)).toEqual(repos.map(() => 'passed'))
    expect(most).toBe(4)
    expect(arrivals.filter((a) => a === 'token')).toHaveLength(repos.length)
    expect(arrivals.lastIndexOf('token')).toBeLessThan(arrivals.indexOf('manifest'))
    expectNoLeak(r)
  })
})

describe('images on other registries', () => {
  test('are checked anonymously: no credential goes to a host the user did not name', async () => {
    authorized()
    nock('https://registry-1.docker.io')
      .get('/v2/')
      .reply(
        401,
        {},
        {
          ...API,
          'WWW-Authenticate':
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"',
        },
      )
      .head('/v2/library/nginx/manifests/latest')
      .reply(200, '', {
        ...API,
        'ratelimit-limit': '100;w=21600',
        'ratelimit-remaining': '76;w=21600',
      })
    const hub = nock('https://auth.docker.io', { badheaders: ['authorization'] })
      .get('/token')
      .query({
        service: 'registry.docker.io',
        scope: 'repository:library/nginx:pull',
        client_id: 'registry-auth-preflight',
      })
      .reply(200, { token: 'anon-token' })
    const r = await run({}, ['docker.io/nginx'])
    expect(hub.isDone()).toBe(true)
    expect(r.report.result).toBe('ok')
    expect(r.report.images[0]).toMatchObject({
      anonymous: true,
      registry: 'registry-1.docker.io',
      rateLimit: { remaining: 76, limit: 100, windowSeconds: 21600 },
    })
  })
})

describe('a registry whose /v2/ is open', () => {
  const OPEN = 'https://registry.access.redhat.com'
  const open = (): nock.Scope => nock(OPEN).get('/v2/').reply(200, {}, API)

  test('a repository that still wants a token gets one (with the credentials) and is asked again', async () => {
    open()
      .head('/v2/ubi9/ubi/manifests/latest')
      .reply(401, '', { ...API, 'WWW-Authenticate': `Bearer realm="${OPEN}/auth",service="open"` })
      .get('/auth')
      .query(true)
      .matchHeader('authorization', `Basic ${BASIC}`)
      .reply(200, { token: TOKEN })
      .head('/v2/ubi9/ubi/manifests/latest')
      .matchHeader('authorization', `Bearer ${TOKEN}`)
      .reply(200, '', API)
    const r = await run({ registry: 'registry.access.redhat.com' }, ['ubi9/ubi'])
    expect(r.report.result).toBe('ok')
    expect(r.report.registryStatus).toBe(200)
    expectNoLeak(r)
  })

  test('an image it refuses without any challenge is access-denied, not missing-credentials', async () => {
    open()
      .head('/v2/rhel/terms/manifests/latest')
      .reply(403, '', API)
      .get('/v2/rhel/terms/manifests/latest')
      .reply(403, { errors: [{ code: 'DENIED', message: 'requires terms acceptance' }] }, API)
    const r = await run({ registry: 'registry.access.redhat.com', credentials: undefined }, [
      'rhel/terms',
    ])
    expect(r.report.result).toBe('access-denied')
    expect(r.report.message).toMatch(/although it asks for no credentials/)
    expect(r.report.images[0].registryMessage).toBe('requires terms acceptance')
  })
})

describe('the runner’s clock', () => {
  test('a Date header two minutes off: a warning, since skew makes fresh tokens fail', async () => {
    const skewed = new Date(Date.now() - 120_000).toUTCString()
    nock(BASE)
      .get('/v2/')
      .reply(200, {}, { ...API, Date: skewed })
    const r = await run()
    expect(r.report.result).toBe('ok')
    expect(r.report.notes.join(' ')).toMatch(
      /clock differs from the servers' by about 1[12][0-9] s/,
    )
  })

  test('a server within 30 s: no warning', async () => {
    nock(BASE)
      .get('/v2/')
      .reply(200, {}, { ...API, Date: new Date(Date.now() - 5_000).toUTCString() })
    expect((await run()).report.notes).toEqual([])
  })
})

test('a registry that asks for Basic, and no credentials: missing-credentials, not ok', async () => {
  nock('https://basic.example.com')
    .get('/v2/')
    .reply(401, {}, { ...API, 'WWW-Authenticate': 'Basic realm="registry"' })
  const r = await run({ registry: 'basic.example.com', credentials: undefined }, ['team/app'])
  expect(r.report.result).toBe('missing-credentials')
  expect(r.report.pullReady).toBe(false)
  expect(r.report.images[0].outcome).toBe('skipped')
})

describe('where credentials go, and what a refusal means', () => {
  test('an image on another registry that asks for Basic gets no Authorization at all', async () => {
    authorized().head('/v2/ubi9/ubi/manifests/latest').reply(200, '', API)
    const seen: (string | undefined)[] = []
    nock('https://basic.example.com')
      .get('/v2/')
      .reply(401, {}, { ...API, 'WWW-Authenticate': 'Basic realm="registry"' })
      .head('/v2/team/app/manifests/latest')
      .reply(function () {
        seen.push(this.req.headers.authorization)
        return [401, '', { ...API, 'WWW-Authenticate': 'Basic realm="registry"' }]
      })
      .get('/v2/team/app/manifests/latest')
      .reply(function () {
        seen.push(this.req.headers.authorization)
        return [401, {}, API]
      })
    const r = await run({}, ['ubi9/ubi', 'basic.example.com/team/app'])
    expect(seen.length).toBeGreaterThan(0)
    expect(seen).toEqual(seen.map(() => undefined))
    expect(r.report.result).toBe('access-denied')
    expect(r.report.images[1]).toMatchObject({ outcome: 'failed', anonymous: true })
    expect(r.report.message).toMatch(/credentials are only sent to registry\.redhat\.io/)
    expectNoLeak(r)
  })

  test.each([
    [
      'a JSON refusal',
      'invalid-credentials',
      { errors: [{ code: 'DENIED', message: 'denied' }] },
      'application/json',
    ],
    ['an HTML page', 'unexpected-response', '<!doctype html><title>Blocked</title>', 'text/html'],
  ])('403 from the token service with %s: %s', async (_, code, body, type) => {
    challenge().get(REALM_PATH).query(true).reply(403, body, { 'Content-Type': type })
    const r = await run({}, ['ubi9/ubi'])
    expect(r.report.result).toBe(code)
    expect(r.report.ssoStatus).toBe(403)
    expect(r.report.checks.find((c) => c.id === 'token')?.outcome).toBe('failed')
    expectNoLeak(r)
  })

  test('the early token request is abandoned when the challenge names another realm: no retries', async () => {
    const LEGACY = 'https://sso.redhat.com'
    let early = 0
    nock(BASE)
      .get(REALM_PATH)
      .query(true)
      .times(3)
      .delay(150)
      .reply(() => {
        early++
        return [503, 'busy']
      })
      .get('/v2/')
      .reply(
        401,
        {},
        {
          ...API,
          'WWW-Authenticate': `Bearer realm="${LEGACY}${REALM_PATH}",service="docker-registry"`,
        },
      )
      .get('/v2/')
      .reply(200, {}, API)
    nock(LEGACY).get(REALM_PATH).query(true).reply(200, { token: TOKEN })
    const r = await run()
    expect(r.report.result).toBe('ok')
    // Long enough for a request left running to fail, back off (no real sleep) and try again.
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(early).toBeLessThanOrEqual(1)
    expect(r.sleeps).toEqual([])
  })
})
