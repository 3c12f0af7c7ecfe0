/** The job summary as a person reads it, from hand-made reports. */
import { RESULT_CODES } from '../src/codes.js'
import { outputsOf } from '../src/outputs.js'
import { rateLimitOf } from '../src/preflight.js'
import { invalidInputReport, type ImageCheck, type Report } from '../src/report.js'
import { renderSummary } from '../src/summary.js'

function report(overrides: Partial<Report> = {}): Report {
  return {
    registry: 'registry.redhat.io',
    pullReady: true,
    result: 'ok',
    message: 'Pulls from registry.redhat.io will succeed.',
    checks: [
      {
        id: 'ping',
        title: 'Reach the registry',
        hop: 'registry',
        host: 'registry.redhat.io',
        request: 'GET /v2/',
        outcome: 'passed',
        status: 401,
        ms: 80,
        attempts: 1,
        via: 'direct',
      },
      {
        id: 'token',
        title: 'Token service accepts the credentials',
        hop: 'token-service',
        host: 'registry.redhat.io',
        request: 'GET /auth',
        outcome: 'passed',
        status: 200,
        ms: 120,
        attempts: 1,
        via: 'direct',
      },
      {
        id: 'registry',
        title: 'Registry accepts the credentials',
        hop: 'registry',
        host: 'registry.redhat.io',
        request: 'GET /v2/',
        outcome: 'passed',
        status: 200,
        ms: 60,
        attempts: 1,
        via: 'direct',
      },
    ],
    images: [],
    auth: { scheme: 'bearer', credentials: 'given' },
    proxy: { source: 'none', schemeAssumed: false, noProxy: [] },
    registries: [],
    platforms: 'any',
    hosts: ['registry.redhat.io:443'],
    routes: [{ host: 'registry.redhat.io', via: 'direct', reason: 'no proxy is configured' }],
    notes: [],
    info: [],
    durationMs: 300,
    ...overrides,
  }
}

function image(n: number, outcome: ImageCheck['outcome'] = 'passed'): ImageCheck {
  return {
    image: `ubi9/img${n}`,
    name: `registry.redhat.io/ubi9/img${n}:latest`,
    registry: 'registry.redhat.io',
    repository: `ubi9/img${n}`,
    reference: 'latest',
    anonymous: false,
    outcome,
    status: outcome === 'passed' ? 200 : 404,
    finding:
      outcome === 'failed'
        ? { code: 'image-not-found', detail: `no manifest for img${n}` }
        : undefined,
  }
}

test('success: the verdict line, the path diagram and the checks table', () => {
  const md = renderSummary(report())
  expect(md.split('\n')[0]).toBe('## ✅ Pulls will succeed')
  expect(md).toContain('```mermaid')
  expect(md).toContain(
    '| Reach the registry (`GET /v2/`) | `registry.redhat.io` | 401 | 80 ms | ✅ passed |',
  )
  expect(md).not.toContain('How to fix')
})

const FAILURES = RESULT_CODES.filter((c) => c !== 'ok')

/** The steps of the summary's "How to fix" section: its `- ` lines, without the dash. */
function fixSteps(md: string): string[] {
  const section = md.split(/^### How to fix .*$/m)[1] ?? ''
  return section
    .split('\n')
    .filter((line) => line.startsWith('- '))
    .map((line) => line.slice(2).trim())
}

test.each(FAILURES)('%s: a verdict with its reason and a How to fix section', (code) => {
  const md = renderSummary(report({ pullReady: false, result: code, message: 'It failed.' }))
  expect(md.split('\n')[0]).toMatch(/^## ❌ Pulls will fail: \S/)
  expect(md).toContain(`### How to fix (\`${code}\`)`)
  // At least one step, and no step without words (a fix whose text went missing).
  const steps = fixSteps(md)
  expect(steps.length).toBeGreaterThanOrEqual(1)
  for (const step of steps) expect(step).toMatch(/[a-z]{3}/)
})

test('each failure has a fix of its own: no two codes share their steps', () => {
  const fixes = FAILURES.map((code) =>
    fixSteps(renderSummary(report({ pullReady: false, result: code, message: 'It failed.' }))).join(
      '\n',
    ),
  )
  expect(new Set(fixes).size).toBe(FAILURES.length)
})

test('a failed hop is marked failed in the diagram, with its status', () => {
  const r = report({ pullReady: false, result: 'invalid-credentials', message: 'No.' })
  r.checks[1] = {
    ...r.checks[1],
    outcome: 'failed',
    status: 401,
    finding: { code: 'invalid-credentials', detail: 'refused' },
  }
  r.checks[2] = { ...r.checks[2], outcome: 'skipped', status: undefined }
  const md = renderSummary(r)
  expect(md).toContain('token["Token service<br/>registry.redhat.io<br/>❌ HTTP 401"]')
  expect(md).toContain('class token failed')
  expect(md).toContain('registry["Registry<br/>registry.redhat.io<br/>✅ HTTP 401"]')
})

test('through a proxy: the diagram routes through it and the details say where it was set', () => {
  const r = report({
    proxy: {
      url: 'http://proxy.corp:3128',
      source: 'HTTPS_PROXY',
      schemeAssumed: false,
      noProxy: ['.internal'],
      noProxySource: 'no_proxy',
    },
    routes: [{ host: 'registry.redhat.io', via: 'proxy', reason: 'proxy from HTTPS_PROXY' }],
  })
  r.checks = r.checks.map((c) => ({ ...c, via: 'proxy' }))
  const md = renderSummary(r)
  expect(md).toContain('runner --> proxy --> registry')
  expect(md).toContain(
    '- Proxy: `http://proxy.corp:3128` from the `HTTPS_PROXY` environment variable',
  )
  expect(md).toContain('- `no_proxy`: `.internal`')
})

test('100 images: failures first, the rest folded', () => {
  const images = Array.from({ length: 100 }, (_, n) => image(n, n === 42 ? 'failed' : 'passed'))
  const md = renderSummary(
    report({ images, pullReady: false, result: 'image-not-found', message: 'No.' }),
  )
  expect(md).toContain('99 of 100 images will pull.')
  const [before, folded] = md.split('<details><summary>99 images that will pull</summary>')
  expect(before).toContain('`registry.redhat.io/ubi9/img42:latest`')
  expect(before).not.toContain('img41:latest')
  expect(folded).toContain('img41:latest')
  expect(folded).toContain('</details>')
})

test('text from servers cannot inject Markdown, HTML or Mermaid', () => {
  const r = report({
    pullReady: false,
    result: 'access-denied',
    message: 'Refused <img src=x onerror=alert(1)>',
  })
  r.images = [
    { ...image(1, 'failed'), registryMessage: 'denied | <script>alert(1)</script>\n# heading' },
  ]
  r.routes = [{ host: 'a"b', via: 'direct', reason: 'x' }]
  r.checks[2] = { ...r.checks[2], host: 'evil"]-->x' }
  const md = renderSummary(r)
  expect(md).not.toContain('<script>')
  expect(md).not.toContain('<img')
  expect(md).not.toMatch(/\n# heading/)
  expect(md).toContain('denied \\| &lt;script&gt;')
})

test("Docker Hub's rate-limit headers: read, and shown per image and per registry", () => {
  const limit = rateLimitOf({
    headers: {
      'ratelimit-limit': '100;w=21600',
      'ratelimit-remaining': '76;w=21600',
      'docker-ratelimit-source': '203.0.113.7',
    },
  })
  expect(limit).toEqual({ limit: 100, remaining: 76, windowSeconds: 21600, source: '203.0.113.7' })
  expect(rateLimitOf({ headers: {} })).toBeUndefined()
  const md = renderSummary(
    report({ images: [{ ...image(1), registry: 'registry-1.docker.io', rateLimit: limit }] }),
  )
  expect(md).toContain('pulls left: 76 of 100 per 6 h, counted for 203.0.113.7')
  expect(md).toContain(
    '- Pull limit on `registry-1.docker.io`: 76 of 100 per 6 h, counted for 203.0.113.7 left',
  )
})

test('registry.access.redhat.com refusing an image: the fix is registry.redhat.io with credentials', () => {
  const md = renderSummary(
    report({
      registry: 'registry.access.redhat.com',
      pullReady: false,
      result: 'access-denied',
      message: 'No.',
      failedHost: 'registry.access.redhat.com',
    }),
  )
  expect(md).toMatch(/Pull the image from registry\.redhat\.io instead/)
})

test('invalid input: only the verdict and the message, and outputs that say so', () => {
  const r = invalidInputReport(
    "Invalid timeout 'x'. Expected a number of seconds from 0.1 to 600.",
    'registry.redhat.io',
  )
  const md = renderSummary(r)
  expect(md.split('\n')[0]).toBe('## ❌ Pulls will fail: an input is invalid')
  expect(md).not.toContain('mermaid')
  expect(outputsOf(r)).toMatchObject({
    'pull-ready': 'false',
    result: 'invalid-input',
    'sso-status': '',
    'failed-images': '',
  })
})

test('outputs: failed-images lists every image that will not pull, as written', () => {
  const r = report({
    pullReady: false,
    result: 'image-not-found',
    images: [image(1), image(2, 'failed'), image(3, 'skipped')],
  })
  expect(outputsOf(r)['failed-images']).toBe('ubi9/img2\nubi9/img3')
  expect(JSON.parse(outputsOf(r).report).images).toHaveLength(3)
})
