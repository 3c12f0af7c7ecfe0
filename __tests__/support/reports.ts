/**
 * Reports as the core writes them, by hand, one for each thing a summary must show: every result
 * code, with and without a proxy, 1, 20 and 100 images, warnings, several registries, and hostile
 * server text. The findings' words are the core's own (src/core/findings.ts and its neighbours),
 * so that the advice and the diagram read them as they read a real run's.
 */
import type { Check, Finding, ImageCheck, Report } from '../../src/report.js'

export const RH = 'registry.redhat.io'
export const RH_REALM = `https://${RH}/auth/realms/rhcc/protocol/redhat-docker-v2/auth`
export const RH_TOKEN_PATH = 'GET /auth/realms/rhcc/protocol/redhat-docker-v2/auth'
export const CDN = 'cdn01.quay.io:443'
export const PROXY = 'http://proxy.corp.example:3128'

export function check(id: Check['id'], overrides: Partial<Check> = {}, finding?: Finding): Check {
  const defaults: Record<Check['id'], Partial<Check>> = {
    ping: {
      title: 'Reach the registry',
      hop: 'registry',
      host: RH,
      request: 'GET /v2/',
      status: 401,
    },
    token: {
      title: 'Token service accepts the credentials',
      hop: 'token-service',
      host: RH,
      request: RH_TOKEN_PATH,
      status: 200,
    },
    registry: {
      title: 'Registry accepts the credentials',
      hop: 'registry',
      host: RH,
      request: 'GET /v2/',
      status: 200,
    },
    blob: {
      title: `Layers download from ${CDN}`,
      hop: 'blob-host',
      host: CDN,
      request: 'GET /v2/ubi9/img0/blobs/sha256:0123456789ab…',
      status: 206,
    },
  }
  const c = {
    id,
    registry: RH,
    title: '',
    hop: 'registry',
    host: RH,
    request: '',
    outcome: 'passed',
    ms: 40,
    attempts: 1,
    via: 'direct',
    ...defaults[id],
    ...overrides,
  } as Check
  if (finding) {
    c.outcome = 'failed'
    c.finding = finding
  }
  return c
}

export function image(n: number, overrides: Partial<ImageCheck> = {}): ImageCheck {
  const registry = overrides.registry ?? RH
  const repository = overrides.repository ?? `ubi9/img${n}`
  return {
    image: registry === RH ? repository : `${registry}/${repository}`,
    name: `${registry}/${repository}:latest`,
    registry,
    repository,
    reference: 'latest',
    anonymous: false,
    outcome: 'passed',
    status: 200,
    ms: 30,
    digest: `sha256:${'ab'.repeat(32)}`,
    kind: 'index',
    platforms: ['linux/amd64', 'linux/arm64'],
    platform: 'linux/amd64',
    ...overrides,
  }
}

/** A failed image row, as probeImage() writes it. */
export function failedImage(
  n: number,
  finding: Finding,
  overrides: Partial<ImageCheck> = {},
): ImageCheck {
  return image(n, {
    outcome: 'failed',
    finding,
    digest: undefined,
    platforms: undefined,
    platform: undefined,
    kind: undefined,
    ...overrides,
  })
}

/** An image not asked for, because a step before it failed. */
export function skippedImage(n: number, overrides: Partial<ImageCheck> = {}): ImageCheck {
  return image(n, {
    outcome: 'skipped',
    status: undefined,
    ms: undefined,
    digest: undefined,
    platforms: undefined,
    platform: undefined,
    kind: undefined,
    ...overrides,
  })
}

/** A Red Hat run that passed: /v2/, the token, /v2/ with it, `count` images, the layer path. */
export function passing(count = 2, overrides: Partial<Report> = {}): Report {
  const images = Array.from({ length: count }, (_, n) => image(n))
  return {
    registry: RH,
    pullReady: true,
    result: 'ok',
    message: `Pulls from ${RH} will succeed: the token service accepted the credentials, the registry accepted the token, ${count === 1 ? 'the image' : `all ${count} images`} can be pulled, layers download (from ${CDN}).`,
    checks: [check('ping'), check('token'), check('registry'), check('blob')],
    images,
    registries: [{ registry: RH, pullReady: true, result: 'ok', credentials: { from: 'inputs' } }],
    ssoStatus: 200,
    registryStatus: 200,
    tokenExpiresIn: 300,
    auth: { scheme: 'bearer', credentials: 'given', realm: RH_REALM, realmSource: 'challenge' },
    proxy: { source: 'none', schemeAssumed: false, noProxy: [] },
    platforms: { wanted: ['linux/amd64'], source: 'this machine' },
    hosts: [`${RH}:443`, CDN],
    routes: [
      { host: RH, via: 'direct', reason: 'no proxy is configured' },
      { host: CDN.replace(/:443$/, ''), via: 'direct', reason: 'no proxy is configured' },
    ],
    notes: [],
    info: [],
    durationMs: 420,
    ...overrides,
  }
}

/** The same run through a proxy: every route and check goes through it. */
export function throughProxy(report: Report): Report {
  return {
    ...report,
    proxy: { url: PROXY, source: 'input', schemeAssumed: false, noProxy: [] },
    routes: report.routes.map((r) => ({
      ...r,
      via: 'proxy',
      reason: 'proxy from the proxy input',
    })),
    checks: report.checks.map((c) => ({ ...c, via: 'proxy' })),
  }
}

/** A report whose verdict is the first failure, as buildReport() decides it. */
export function failing(report: Report, message = 'It failed.'): Report {
  const door = report.checks.find((c) => c.id !== 'blob' && c.outcome === 'failed')
  const img = report.images.find((i) => i.outcome === 'failed')
  const blob = report.checks.find((c) => c.id === 'blob' && c.outcome === 'failed')
  const first = door
    ? { finding: door.finding!, hop: door.atProxy ? 'proxy' : door.hop, host: door.host }
    : img
      ? { finding: img.finding!, hop: 'registry' as const, host: img.registry }
      : { finding: blob!.finding!, hop: blob!.atProxy ? 'proxy' : blob!.hop, host: blob!.host }
  return {
    ...report,
    pullReady: false,
    result: first.finding.code,
    message,
    failedHop: first.hop,
    failedHost: first.host,
    registries: report.registries.map((r) =>
      r.registry === report.registry
        ? { ...r, pullReady: false, result: first.finding.code, detail: first.finding.detail }
        : r,
    ),
  }
}

/** The checks after a failed token request: /v2/ with a token never asked, images skipped. */
function tokenFailed(report: Report, token: Partial<Check>, finding: Finding): Report {
  return failing({
    ...report,
    checks: [
      check('ping', { via: report.checks[0].via }),
      check('token', { ...token, via: report.checks[0].via }, finding),
      check('registry', {
        outcome: 'skipped',
        status: undefined,
        ms: undefined,
        attempts: undefined,
      }),
    ],
    images: report.images.map((_, n) => skippedImage(n)),
    hosts: [`${RH}:443`],
    ssoStatus: token.status,
    registryStatus: undefined,
    tokenExpiresIn: undefined,
  })
}

/** A finding as networkFinding() words it. */
export const net = {
  dns: (role: string, host: string, name = host.replace(/:\d+$/, '')): Finding => ({
    code: 'dns-error',
    detail: `the ${role} ${host} could not be found: ${name} does not resolve (ENOTFOUND)`,
  }),
  refused: (role: string, host: string): Finding => ({
    code: 'connection-failed',
    detail: `the ${role} ${host} refused the connection (connection refused (203.0.113.9:443))`,
  }),
  timeout: (role: string, host: string, seconds: number): Finding => ({
    code: 'timeout',
    detail: `the ${role} ${host} did not answer: no complete answer within ${seconds} s`,
  }),
  tls: (role: string, host: string, throughProxy = false): Finding => ({
    code: 'tls-error',
    detail: `the certificate of the ${role} ${host} did not verify${throughProxy ? ' through the proxy' : ''}: self-signed certificate in certificate chain (SELF_SIGNED_CERT_IN_CHAIN)`,
  }),
  tunnelRefused: (role: string, host: string, target: string): Finding => ({
    code: 'proxy-error',
    detail: `on the way to the ${role} ${host}, the proxy ${PROXY} refused the tunnel to ${target} with HTTP 403`,
  }),
  proxyDns: (role: string, host: string): Finding => ({
    code: 'proxy-error',
    detail: `on the way to the ${role} ${host}, cannot reach the proxy ${PROXY}: ENOTFOUND`,
  }),
  proxyAuth: (role: string, host: string): Finding => ({
    code: 'proxy-auth-required',
    detail: `on the way to the ${role} ${host}, the proxy ${PROXY} asked for credentials (407)`,
  }),
}

export const SERVICE_ACCOUNT_WARNING =
  "The username looks like a Red Hat Registry Service Account's, but has no '|': a service account name is written '12345678|name', with the '|'."

/** Text a hostile or broken server could send: Markdown, links, images, HTML, controls. */
export const HOSTILE_TEXT =
  '**bold** _em_ [click](https://evil.example/x) ![pixel](https://evil.example/p.png) <img src=x onerror=alert(1)> <b>b</b> `tick` ``two`` @octocat #1 :smile: $x^2$ ~~gone~~ | pipe \u001b[31mred\u202eevil\u0000 https://evil.example/path"end'

/** One variant of the summary: a report, the inputs' warnings, and fail-on-error. */
export interface Variant {
  name: string
  report: Report
  warnings?: string[]
  failOnError?: boolean
}

/** Every variant the rendering tests draw: each result code, proxies, image counts, warnings. */
export function variants(): Variant[] {
  const ok = passing(2)
  const list: Variant[] = [
    { name: 'ok, 1 image', report: passing(1) },
    { name: 'ok, 20 images', report: passing(20) },
    { name: 'ok, 100 images', report: passing(100) },
    { name: 'ok through a proxy', report: throughProxy(ok) },
    {
      name: 'missing-credentials (empty password)',
      report: tokenFailed(
        passing(2, { auth: { ...ok.auth, credentials: 'incomplete' } }),
        { status: undefined, ms: undefined },
        {
          code: 'missing-credentials',
          detail: `${RH} needs credentials, but the password input is empty`,
        },
      ),
    },
    {
      name: 'invalid-credentials with a service-account warning',
      report: tokenFailed(
        ok,
        { status: 401 },
        {
          code: 'invalid-credentials',
          detail: `the token service at ${RH} refused the credentials (HTTP 401)`,
        },
      ),
      warnings: [SERVICE_ACCOUNT_WARNING],
    },
    {
      name: 'access-denied with the registry’s words',
      report: failing({
        ...ok,
        images: [
          image(0),
          failedImage(
            1,
            {
              code: 'access-denied',
              detail: `${RH} refused the image ${RH}/ubi9/img1:latest (HTTP 401) although the token service accepted the credentials`,
            },
            {
              status: 401,
              registryMessage:
                'Please login to the Red Hat Registry using your Customer Portal credentials. Further instructions can be found here: https://access.redhat.com/RegistryAuthentication',
            },
          ),
        ],
      }),
    },
    {
      name: 'image-not-found, report only',
      report: failing({
        ...ok,
        images: [
          image(0),
          failedImage(
            1,
            {
              code: 'image-not-found',
              detail: `${RH} has no manifest for ${RH}/ubi9/img1:latest (HTTP 404)`,
            },
            { status: 404, registryMessage: 'manifest unknown' },
          ),
        ],
      }),
      failOnError: false,
    },
    {
      name: 'rate-limited on Docker Hub',
      report: failing({
        ...passing(0),
        registry: 'registry-1.docker.io',
        checks: [
          check('ping', { host: 'registry-1.docker.io', registry: 'registry-1.docker.io' }),
          check('token', {
            host: 'auth.docker.io',
            request: 'GET /token',
            registry: 'registry-1.docker.io',
          }),
          check('registry', { host: 'registry-1.docker.io', registry: 'registry-1.docker.io' }),
        ],
        auth: { ...ok.auth, realm: 'https://auth.docker.io/token' },
        registries: [
          {
            registry: 'registry-1.docker.io',
            pullReady: true,
            result: 'ok',
            credentials: { from: 'none' },
          },
        ],
        images: [
          failedImage(
            0,
            {
              code: 'rate-limited',
              detail:
                'the registry registry-1.docker.io is rate-limiting requests (HTTP 429); Retry-After asked for 3600 s',
            },
            {
              registry: 'registry-1.docker.io',
              repository: 'library/nginx',
              status: 429,
              rateLimit: { limit: 100, remaining: 0, windowSeconds: 21600, source: '192.0.2.1' },
            },
          ),
        ],
        hosts: ['registry-1.docker.io:443', 'auth.docker.io:443'],
        routes: [
          { host: 'registry-1.docker.io', via: 'direct', reason: 'no proxy is configured' },
          { host: 'auth.docker.io', via: 'direct', reason: 'no proxy is configured' },
        ],
      }),
    },
    {
      name: 'registry-error at /v2/',
      report: failing({
        ...ok,
        checks: [
          check(
            'ping',
            { status: 503, attempts: 3 },
            {
              code: 'registry-error',
              detail: `the registry ${RH} answered HTTP 503; it failed 3 times`,
            },
          ),
        ],
        images: ok.images.map((_, n) => skippedImage(n)),
      }),
    },
    {
      name: 'unexpected-response: an HTML page from the token service',
      report: tokenFailed(
        ok,
        { status: 200, host: 'sso.redhat.com' },
        {
          code: 'unexpected-response',
          detail:
            'an HTML page (HTTP 200) answered where the token service sso.redhat.com was expected',
        },
      ),
    },
    {
      name: 'unexpected-response: a realm over plain http',
      report: tokenFailed(
        { ...ok, auth: { ...ok.auth, realm: 'http://auth.corp.example/token' } },
        { status: undefined, ms: undefined, host: 'auth.corp.example', request: 'GET /token' },
        {
          code: 'unexpected-response',
          detail:
            'the token realm http://auth.corp.example/token is not https, and credentials are never sent over plain http',
        },
      ),
    },
    {
      name: 'dns-error at the blob host',
      report: failing({
        ...ok,
        checks: [
          check('ping'),
          check('token'),
          check('registry'),
          check(
            'blob',
            { status: undefined },
            {
              code: 'dns-error',
              detail: `${net.dns('blob host', CDN).detail}, where ${RH} redirects layer downloads`,
            },
          ),
        ],
      }),
    },
    {
      name: 'connection-failed at /v2/',
      report: failing({
        ...ok,
        checks: [check('ping', { status: undefined }, net.refused('registry', RH))],
        images: ok.images.map((_, n) => skippedImage(n)),
        hosts: [`${RH}:443`],
      }),
    },
    {
      name: 'timeout of 2 s at the token service',
      report: tokenFailed(ok, { status: undefined, ms: 2000 }, net.timeout('token service', RH, 2)),
    },
    {
      name: 'tls-error through a proxy',
      report: throughProxy(
        failing({
          ...ok,
          checks: [check('ping', { status: undefined }, net.tls('registry', RH, true))],
          images: ok.images.map((_, n) => skippedImage(n)),
        }),
      ),
    },
    {
      name: 'proxy-error: the tunnel to the token service refused',
      report: (() => {
        const r = throughProxy({
          ...ok,
          auth: { ...ok.auth, realm: `https://sso.redhat.com${RH_TOKEN_PATH.slice(4)}` },
          routes: [
            { host: RH, via: 'proxy', reason: '' },
            { host: 'sso.redhat.com', via: 'proxy', reason: '' },
          ],
        })
        return tokenFailed(
          r,
          { host: 'sso.redhat.com', status: undefined, atProxy: true },
          net.tunnelRefused('token service', 'sso.redhat.com', 'sso.redhat.com:443'),
        )
      })(),
    },
    {
      name: 'proxy-error: the proxy’s name does not resolve',
      report: throughProxy(
        failing({
          ...ok,
          checks: [
            check('ping', { status: undefined, atProxy: true }, net.proxyDns('registry', RH)),
          ],
          images: ok.images.map((_, n) => skippedImage(n)),
        }),
      ),
    },
    {
      name: 'proxy-auth-required',
      report: throughProxy(
        failing({
          ...ok,
          checks: [
            check('ping', { status: undefined, atProxy: true }, net.proxyAuth('registry', RH)),
          ],
          images: ok.images.map((_, n) => skippedImage(n)),
        }),
      ),
    },
    {
      name: 'no-matching-platform',
      report: failing({
        ...ok,
        images: [
          image(0),
          failedImage(
            1,
            {
              code: 'no-matching-platform',
              detail: `${RH}/ubi9/img1:latest has no manifest for linux/arm64 in its index (it holds linux/amd64)`,
            },
            { status: 200, platforms: ['linux/amd64'], kind: 'index' },
          ),
        ],
      }),
    },
    {
      name: '100 images, 3 not found, one anonymous on quay.io denied, with warnings',
      report: failing({
        ...passing(100),
        images: [
          ...passing(100).images.map((i, n) =>
            [7, 42, 77].includes(n)
              ? failedImage(
                  n,
                  {
                    code: 'image-not-found',
                    detail: `${RH} has no manifest for ${i.name} (HTTP 404)`,
                  },
                  { status: 404 },
                )
              : i,
          ),
          failedImage(
            100,
            {
              code: 'access-denied',
              detail:
                'the token service at quay.io refused anonymous access to acme/private (HTTP 401); credentials are only sent to registry.redhat.io',
            },
            { registry: 'quay.io', repository: 'acme/private', anonymous: true, status: undefined },
          ),
        ],
        registries: [
          {
            registry: RH,
            pullReady: false,
            result: 'image-not-found',
            credentials: { from: 'inputs' },
          },
          {
            registry: 'quay.io',
            pullReady: false,
            result: 'access-denied',
            credentials: { from: 'none' },
          },
        ],
        notes: [
          "The runner's clock differs from the servers' by about 45 s: a skewed clock makes freshly issued tokens fail. Check the runner's time synchronisation.",
        ],
      }),
      warnings: ['The password input has white space at its start or end. It was trimmed.'],
    },
    {
      name: 'hostile server text',
      report: failing({
        ...ok,
        images: [
          failedImage(
            0,
            {
              code: 'access-denied',
              detail: `${RH} refused the image ${RH}/ubi9/img0:latest (HTTP 403) although the token service accepted the credentials`,
            },
            { status: 403, registryMessage: HOSTILE_TEXT },
          ),
        ],
        notes: [`auth-url (https://evil.example/[x](y)) differs from the realm: ${HOSTILE_TEXT}`],
      }),
    },
  ]
  list.push({
    name: 'invalid-input',
    report: {
      ...passing(0),
      pullReady: false,
      result: 'invalid-input',
      message: "Invalid timeout 'ten'. Expected a number of seconds from 0.1 to 600.",
      checks: [],
      images: [],
      registries: [],
      hosts: [],
      routes: [],
    },
  })
  return list
}
