/**
 * The layer path and the platform, as the core decides them, against scripted registries (nock):
 * which requests a pull's check makes (GET or HEAD, which platform's manifest, which blob, with
 * what headers, to which host), and what the report says. The network path itself (a real
 * distribution registry redirecting to a CDN, proxies, TLS) is tested against real peers.
 */
import { createHash } from 'node:crypto'
import nock from 'nock'
import type { PreflightConfig } from '../src/preflight.js'
import type { PlatformPolicy } from '../src/core/context.js'
import { expectNoLeakIn, runCore, type CoreRun } from './support/core.js'

const REGISTRY = 'registry.example.com'
const BASE = `https://${REGISTRY}`
const AUTH = 'https://auth.example.com'
const CDN = 'https://cdn.example.net'
const USER = 'robot$ci'
const PASSWORD = 'l4yers-pa55word'
const TOKEN = 'eyJsYXllcnMifQ.layers-token'
const SIGNATURE = 'S1GNATURE-of-the-signed-url'
const API = { 'Docker-Distribution-Api-Version': 'registry/2.0' }
const INDEX = 'application/vnd.oci.image.index.v1+json'
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json'

type P = { os: string; architecture: string; variant?: string }
const AMD64: P = { os: 'linux', architecture: 'amd64' }
const ARM64: P = { os: 'linux', architecture: 'arm64', variant: 'v8' }
const S390X: P = { os: 'linux', architecture: 's390x' }

const sha = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`

interface Built {
  body: string
  digest: string
  children: {
    platform: P
    manifest: string
    digest: string
    config: string
    configDigest: string
  }[]
}

/** An image: one manifest and config per platform, and the index that lists them. */
function multiPlatform(platforms: P[]): Built {
  const children = platforms.map((platform) => {
    const config = JSON.stringify({ ...platform, rootfs: { type: 'layers', diff_ids: [] } })
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config) },
      layers: [],
    })
    return { platform, manifest, digest: sha(manifest), config, configDigest: sha(config) }
  })
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: INDEX,
    manifests: [
      ...children.map((c) => ({ mediaType: MANIFEST, digest: c.digest, platform: c.platform })),
      // An attestation manifest, as buildx writes them: not a platform.
      {
        mediaType: MANIFEST,
        digest: sha('attestation'),
        platform: { os: 'unknown', architecture: 'unknown' },
      },
    ],
  })
  return { body, digest: sha(body), children }
}

const base = (platforms: PlatformPolicy, layers: PreflightConfig['layers'] = 'auto') => ({
  registry: REGISTRY,
  credentials: { username: USER, password: PASSWORD },
  proxy: { source: 'none' as const, schemeAssumed: false, noProxy: [] },
  timeoutMs: 5000,
  retries: 0,
  platforms,
  layers,
})
const runner = (...platforms: P[]): PlatformPolicy => ({
  kind: 'list',
  platforms,
  explicit: false,
  source: 'the runner (RUNNER_OS and RUNNER_ARCH)',
})
const explicit = (...platforms: P[]): PlatformPolicy => ({
  kind: 'list',
  platforms,
  explicit: true,
  source: 'the platform input',
})

const SECRETS = [PASSWORD, TOKEN, SIGNATURE, Buffer.from(`${USER}:${PASSWORD}`).toString('base64')]

/** What reached the scripted servers. */
interface Seen {
  method: string
  url: string
  authorization?: string
  range?: string
}

/** The challenge, the token, and the authenticated /v2/: what every run here starts with. */
function door(seen: Seen[]): nock.Scope {
  nock(AUTH).get('/token').query(true).reply(200, { token: TOKEN, expires_in: 300 }).persist()
  return nock(BASE)
    .get('/v2/')
    .reply(function () {
      const authorization = this.req.headers.authorization as string | undefined
      seen.push({ method: 'GET', url: '/v2/', authorization })
      return authorization
        ? [200, {}, API]
        : [
            401,
            {},
            {
              ...API,
              'WWW-Authenticate': `Bearer realm="${AUTH}/token",service="${REGISTRY}"`,
            },
          ]
    })
    .persist()
}

/** Serves `image` for `team/app:latest`, its blobs redirected to the CDN with a signed query. */
function serve(
  image: Built,
  seen: Seen[],
  cdn: (uri: string) => [number, string] = () => [206, '{'],
) {
  const record = (answer: (uri: string) => nock.ReplyFnResult) =>
    function (this: nock.ReplyFnContext, uri: string): nock.ReplyFnResult {
      seen.push({
        method: this.req.method,
        url: uri,
        authorization: this.req.headers.authorization as string | undefined,
        range: this.req.headers.range as string | undefined,
      })
      return answer(uri)
    }
  const scope = nock(BASE)
  for (const method of ['get', 'head'] as const) {
    scope[method]('/v2/team/app/manifests/latest')
      .reply(record(() => [200, image.body, { ...API, 'Content-Type': INDEX }]))
      .persist()
  }
  for (const child of image.children) {
    scope
      .get(`/v2/team/app/manifests/${child.digest}`)
      .reply(record(() => [200, child.manifest, { ...API, 'Content-Type': MANIFEST }]))
      .persist()
      .get(`/v2/team/app/blobs/${child.configDigest}`)
      .reply(
        record(() => [
          307,
          '',
          { Location: `${CDN}/blobs/${child.configDigest}?X-Amz-Signature=${SIGNATURE}` },
        ]),
      )
      .persist()
  }
  nock(CDN)
    .get(/^\/blobs\//)
    .reply(record((uri) => cdn(uri)))
    .persist()
}

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())
afterAll(() => nock.enableNetConnect())

function expectNoLeak(run: CoreRun): void {
  expectNoLeakIn(run, SECRETS)
}

describe('the layer path', () => {
  test('index → the platform’s manifest → its config blob on the CDN: ok, the CDN host among the hosts', async () => {
    const seen: Seen[] = []
    const image = multiPlatform([AMD64, ARM64])
    door(seen)
    serve(image, seen)
    const run = await runCore(base(runner(ARM64)), ['team/app:latest'])
    expect(run.report.result).toBe('ok')
    const arm = image.children[1]
    // The arm64 entry was followed, not the first one.
    expect(seen.map((s) => `${s.method} ${s.url.replace(/\?.*/, '')}`)).toEqual(
      expect.arrayContaining([
        'GET /v2/team/app/manifests/latest',
        `GET /v2/team/app/manifests/${arm.digest}`,
        `GET /v2/team/app/blobs/${arm.configDigest}`,
        `GET /blobs/${arm.configDigest}`,
      ]),
    )
    const toCdn = seen.find((s) => s.url.startsWith('/blobs/'))!
    expect(toCdn.authorization).toBeUndefined()
    expect(toCdn.range).toBe('bytes=0-0')
    const toRegistry = seen.find((s) => s.url.includes('/blobs/sha256'))!
    expect(toRegistry.authorization).toBe(`Bearer ${TOKEN}`)
    expect(run.report.images[0]).toMatchObject({
      outcome: 'passed',
      kind: 'index',
      platforms: ['linux/amd64', 'linux/arm64/v8'],
      platform: 'linux/arm64/v8',
    })
    expect(run.report.checks.find((c) => c.id === 'blob')).toMatchObject({
      outcome: 'passed',
      hop: 'blob-host',
      host: 'cdn.example.net:443',
    })
    expect(run.report.hosts).toEqual([
      'registry.example.com:443',
      'auth.example.com:443',
      'cdn.example.net:443',
    ])
    expect(run.report.message).toMatch(/layers download \(from cdn\.example\.net:443\)/)
    expectNoLeak(run)
  })

  test.each([
    [403, 'access-denied'],
    [503, 'registry-error'],
  ])('the CDN answers %i: %s, naming the blob host and port', async (status, code) => {
    const seen: Seen[] = []
    door(seen)
    serve(multiPlatform([AMD64]), seen, () => [status, `denied ${SIGNATURE}`])
    const run = await runCore(base(runner(AMD64)), ['team/app:latest'])
    expect(run.report.result).toBe(code)
    expect(run.report.pullReady).toBe(false)
    expect(run.report.failedHop).toBe('blob-host')
    expect(run.report.failedHost).toBe('cdn.example.net:443')
    expect(run.report.message).toMatch(/blob host cdn\.example\.net:443/)
    expect(run.report.message).toMatch(/where registry\.example\.com redirects layer downloads/)
    // The image itself passed: it is the layers that will not come.
    expect(run.report.images[0].outcome).toBe('passed')
    expectNoLeak(run)
  })

  test('a redirect from https to http is refused: unexpected-response, the http side never asked', async () => {
    const seen: Seen[] = []
    const image = multiPlatform([AMD64])
    door(seen)
    serve(image, seen)
    nock.removeInterceptor({
      hostname: REGISTRY,
      path: `/v2/team/app/blobs/${image.children[0].configDigest}`,
      method: 'GET',
      proto: 'https',
    })
    nock(BASE)
      .get(`/v2/team/app/blobs/${image.children[0].configDigest}`)
      .reply(307, '', { Location: `http://cdn.example.net/blob?sig=${SIGNATURE}` })
    const plain = nock('http://cdn.example.net').get(/.*/).reply(200, 'x')
    const run = await runCore(base(runner(AMD64)), ['team/app:latest'])
    expect(run.report.result).toBe('unexpected-response')
    expect(run.report.message).toMatch(
      /redirect from https to http:\/\/ \(cdn\.example\.net\) was refused/,
    )
    expect(plain.isDone()).toBe(false)
    expectNoLeak(run)
  })

  test('layers: false asks for manifests with a HEAD and follows nothing', async () => {
    const seen: Seen[] = []
    door(seen)
    serve(multiPlatform([AMD64]), seen)
    const run = await runCore(base(runner(ARM64), 'false'), ['team/app:latest'])
    // The runner's platform is checked only where the layer path is: not here.
    expect(run.report.result).toBe('ok')
    expect(seen.filter((s) => s.url.includes('/manifests/')).map((s) => s.method)).toEqual(['HEAD'])
    expect(seen.some((s) => s.url.includes('/blobs/'))).toBe(false)
    expect(run.report.checks.some((c) => c.id === 'blob')).toBe(false)
    expect(run.report.hosts).toEqual(['registry.example.com:443', 'auth.example.com:443'])
  })

  test('the layer path is followed once per registry, from the first image that passed', async () => {
    const seen: Seen[] = []
    const image = multiPlatform([AMD64])
    door(seen)
    serve(image, seen)
    nock(BASE).get('/v2/team/gone/manifests/latest').reply(404, {}, API)
    for (const tag of ['a', 'b'])
      nock(BASE)
        .get(`/v2/team/app/manifests/${tag}`)
        .reply(200, image.body, { ...API, 'Content-Type': INDEX })
    const run = await runCore(base(runner(AMD64)), ['team/gone:latest', 'team/app:a', 'team/app:b'])
    expect(run.report.result).toBe('image-not-found')
    expect(seen.filter((s) => s.url.startsWith('/blobs/'))).toHaveLength(1)
    expect(run.report.checks.filter((c) => c.id === 'blob')).toHaveLength(1)
  })
})

describe('the platform', () => {
  test('an index without the runner’s platform: no-matching-platform, listing what it holds', async () => {
    const seen: Seen[] = []
    door(seen)
    serve(multiPlatform([AMD64, S390X]), seen)
    const run = await runCore(base(runner(ARM64)), ['team/app:latest'])
    expect(run.report.result).toBe('no-matching-platform')
    expect(run.report.message).toMatch(
      /registry\.example\.com\/team\/app:latest has no manifest for linux\/arm64\/v8 in its index \(it holds linux\/amd64, linux\/s390x\)/,
    )
    expect(run.report.images[0]).toMatchObject({
      outcome: 'failed',
      platforms: ['linux/amd64', 'linux/s390x'],
    })
    // Nothing to follow: the layer path was not tried.
    expect(seen.some((s) => s.url.includes('/blobs/'))).toBe(false)
  })

  test('a list: every image must offer every platform; the first missing one is named', async () => {
    const seen: Seen[] = []
    door(seen)
    serve(multiPlatform([AMD64]), seen)
    const run = await runCore(base(explicit(AMD64, ARM64)), ['team/app:latest'])
    expect(run.report.result).toBe('no-matching-platform')
    expect(run.report.message).toMatch(
      /no manifest for linux\/arm64\/v8 in its index \(it holds linux\/amd64\)/,
    )
  })

  test('arm64 written without its variant matches a runner that is arm64/v8', async () => {
    const seen: Seen[] = []
    door(seen)
    serve(multiPlatform([AMD64, { os: 'linux', architecture: 'arm64' }]), seen)
    const run = await runCore(base(runner(ARM64)), ['team/app:latest'])
    expect(run.report.result).toBe('ok')
    expect(run.report.images[0].platform).toBe('linux/arm64')
  })

  test('any: the index’s first platform is followed to its layers, nothing is matched', async () => {
    const seen: Seen[] = []
    const image = multiPlatform([S390X, AMD64])
    door(seen)
    serve(image, seen)
    const run = await runCore(base({ kind: 'any' }), ['team/app:latest'])
    expect(run.report.result).toBe('ok')
    expect(seen.some((s) => s.url.endsWith(image.children[0].digest))).toBe(true)
  })

  test('a single-platform image for another platform: a warning, and the pull is still ready', async () => {
    const seen: Seen[] = []
    const image = multiPlatform([AMD64])
    const only = image.children[0]
    door(seen)
    serve(image, seen, () => [200, only.config])
    nock(BASE)
      .get('/v2/team/single/manifests/1.0')
      .reply(200, only.manifest, { ...API, 'Content-Type': MANIFEST })
      .get(`/v2/team/single/blobs/${only.configDigest}`)
      .reply(307, '', {
        Location: `${CDN}/blobs/${only.configDigest}?X-Amz-Signature=${SIGNATURE}`,
      })
    const run = await runCore(base(runner(ARM64)), ['team/single:1.0'])
    expect(run.report.result).toBe('ok')
    expect(run.report.images[0].kind).toBe('manifest')
    expect(run.report.notes).toEqual([
      expect.stringMatching(
        /team\/single:1\.0 is a single-platform image for linux\/amd64, not linux\/arm64\/v8/,
      ),
    ])
    // The whole config was read, to learn its platform.
    expect(seen.find((s) => s.url.startsWith('/blobs/'))?.range).toBeUndefined()
    expectNoLeak(run)
  })
})

describe('Docker Hub', () => {
  const HUB = 'https://registry-1.docker.io'

  function hub(seen: Seen[]): void {
    nock('https://auth.docker.io').get('/token').query(true).reply(200, { token: TOKEN }).persist()
    nock(HUB)
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
      .persist()
    for (const method of ['get', 'head'] as const) {
      const scope = nock(HUB)
      scope[method]('/v2/library/nginx/manifests/latest')
        .reply(function () {
          seen.push({ method: this.req.method, url: '/v2/library/nginx/manifests/latest' })
          return [200, multiPlatform([AMD64]).body, { ...API, 'Content-Type': INDEX }]
        })
        .persist()
    }
  }

  test('by default no manifest GET reaches Docker Hub, and the report says what was not checked', async () => {
    const seen: Seen[] = []
    door([])
    hub(seen)
    const run = await runCore({ ...base(runner(ARM64)), registry: REGISTRY }, [
      'docker.io/library/nginx:latest',
    ])
    expect(run.report.result).toBe('ok')
    expect(seen.map((s) => s.method)).toEqual(['HEAD'])
    expect(run.report.info).toEqual([
      expect.stringMatching(
        /On registry-1\.docker\.io the layer path and the platform were not checked/,
      ),
    ])
  })

  test('a platform set explicitly is checked on Docker Hub too, with a GET', async () => {
    const seen: Seen[] = []
    door([])
    hub(seen)
    const run = await runCore(base(explicit(ARM64)), ['docker.io/library/nginx:latest'])
    expect(seen.map((s) => s.method)).toEqual(['GET'])
    expect(run.report.result).toBe('no-matching-platform')
    expect(run.report.info).toEqual([])
  })
})
