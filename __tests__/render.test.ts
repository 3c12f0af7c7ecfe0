/**
 * The job summary as a person sees it: every variant rendered as GitHub does (GitHub-flavoured
 * Markdown with alerts, GitHub's stylesheet, Mermaid) in headless Chromium, one browser for the
 * file. Each diagram parses and draws; no Markdown or HTML shows as characters; the browser loads
 * nothing; a failing node is the hop that decided the verdict, and no node's colour contradicts
 * its mark or the verdict; whatever a server sent shows as the text it is. Four summaries come
 * from real runs of the built action against the loopback imitation of registry.redhat.io.
 * Needs Debian's chromium: bash scripts/install-test-peers.sh.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { haveChromium, openRenderer } from '../scripts/lib/render-summary.mjs'
import { startFakeRedHat } from '../scripts/lib/fake-registry.mjs'
import { runAction } from '../scripts/lib/run-action.mjs'
import { makeCertificates } from '../scripts/lib/tls.mjs'
import { pathModel, type PathModel } from '../src/diagram.js'
import { atProxy, decisiveFailure, doorFailure, proxyFailure } from '../src/evidence.js'
import type { Report } from '../src/report.js'
import { renderSummary } from '../src/summary.js'
import { HOSTILE_TEXT, variants } from './support/reports.js'

type Renderer = Awaited<ReturnType<typeof openRenderer>>
type Rendered = Awaited<ReturnType<Renderer['render']>>

let renderer: Renderer | undefined

beforeAll(async () => {
  if (!haveChromium())
    throw new Error('chromium is not installed: run bash scripts/install-test-peers.sh')
  renderer = await openRenderer()
}, 30_000)
afterAll(() => renderer?.close())

const render = (markdown: string): Promise<Rendered> => renderer!.render(markdown)

/** The links our own advice gives; a server's text never becomes one. */
const OUR_LINKS = [
  'https://access.redhat.com/terms-based-registry/',
  'https://catalog.redhat.com',
  'https://app.docker.com/settings/personal-access-tokens',
  'https://hub.docker.com',
  'https://quay.io',
  'https://status.redhat.com',
  'https://www.dockerstatus.com',
  'https://status.quay.io',
  'https://www.githubstatus.com',
]

/** What a page shows when Markdown or HTML was not rendered, or was escaped twice. */
const RAW_MARKUP =
  /\*\*|__|`|\]\(|\[!(CAUTION|NOTE|WARNING)\]|<\/?[a-z]+[\s>]|&(lt|gt|amp|quot|#\d+);|\\/i

/** Checks every summary must pass, whatever its report. */
function expectSound(report: Report, out: Rendered): void {
  expect(out.errors).toEqual([])
  expect(out.diagrams).toBe(report.result === 'invalid-input' ? 0 : 1)
  expect(out.text).not.toMatch(RAW_MARKUP)
  expect(out.images).toBe(0)
  expect(renderer!.fetched).toEqual([])
  for (const link of out.links)
    expect([link.href, OUR_LINKS.some((ours) => link.href.startsWith(ours))]).toEqual([
      link.href,
      true,
    ])
  expect(out.alerts).toEqual(report.pullReady ? [] : ['caution'])
  // Elements a summary is made of: nothing a server could have added.
  for (const tag of out.elements)
    expect([
      'h2',
      'h3',
      'p',
      'div',
      'strong',
      'code',
      'ol',
      'ul',
      'li',
      'table',
      'thead',
      'tbody',
      'tr',
      'th',
      'td',
      'details',
      'summary',
      'pre',
      'a',
      'span',
      'svg',
      'path',
    ]).toContain(tag)
}

const MARK = { passed: '✅', failed: '❌', skipped: '⏭️' } as const

/**
 * The drawn diagram agrees with its model and with itself: each node's colour (its class) is the
 * model's state, and its mark says the same; a run that passed has no red node or edge, and a run
 * that failed has the decisive hop red.
 */
function expectDiagram(report: Report, model: PathModel, out: Rendered): void {
  const drawn = new Map(out.nodes.map((n) => [n.id, n]))
  expect([...drawn.keys()].sort()).toEqual(model.nodes.map((n) => n.id).sort())
  for (const node of model.nodes) {
    const shown = drawn.get(node.id)!
    expect([node.id, shown.classes]).toEqual([node.id, expect.arrayContaining([node.state])])
    for (const [state, mark] of Object.entries(MARK)) {
      expect([node.id, state, shown.text.includes(mark)]).toEqual([
        node.id,
        state,
        node.state === state,
      ])
    }
  }
  const red = out.edges.filter((e) => e.style.includes('#cf222e'))
  expect(red.length).toBe(model.edges.filter((e) => e.failed).length)
  if (report.pullReady) {
    expect(model.nodes.filter((n) => n.state === 'failed')).toEqual([])
    expect(red).toEqual([])
    return
  }
  const d = decisiveFailure(report)
  if (!d) return
  const failedAt = (host: string): string[] =>
    model.nodes.filter((n) => n.state === 'failed' && n.host === host).map((n) => n.kind)
  if (atProxy(d.finding)) {
    if (proxyFailure(d.finding)?.kind === 'refused') {
      const target = model.nodes.find((n) => n.host === d.host)!
      expect(model.edges.find((e) => e.to === target.id)?.failed).toBe(true)
      expect(target.state).toBe('skipped')
      expect(out.edges.map((e) => e.label)).toContain('❌ CONNECT refused (403)')
    } else {
      expect(model.nodes.find((n) => n.id === 'proxy')?.state).toBe('failed')
    }
  } else if (d.image && !doorFailure(d.image)) {
    const imageNodes = model.nodes.filter((n) => n.kind === 'images' && n.state === 'failed')
    const short = d.image.name.slice(d.image.registry.length + 1)
    expect(imageNodes.some((n) => n.host === short || /images$/.test(n.title))).toBe(true)
  } else {
    expect(failedAt(d.host).length).toBeGreaterThan(0)
  }
}

describe('every variant, rendered', () => {
  test.each(variants().map((v) => [v.name, v] as const))('%s', async (_name, v) => {
    const md = renderSummary(v.report, v.warnings, { failOnError: v.failOnError })
    const out = await render(md)
    expectSound(v.report, out)
    if (v.report.result !== 'invalid-input') expectDiagram(v.report, pathModel(v.report), out)
    if (v.failOnError === false) expect(out.text).toContain('this step did not fail')
  })
})

describe('server text renders as the text it is', () => {
  test('a registry message with Markdown, links, images, HTML and controls is one code element', async () => {
    const v = variants().find((x) => x.name === 'hostile server text')!
    const out = await render(renderSummary(v.report))
    expectSound(v.report, out)
    // Cleaned of its control characters, capped, and shown whole in one code element.
    const shown = out.codes.find((c) => c.startsWith('**bold**'))!
    expect(shown).toContain('[click](https://evil.example/x)')
    expect(shown).toContain('<img src=x onerror=alert(1)>')
    expect(shown).toContain('@octocat #1 :smile: $x^2$ ~~gone~~ | pipe')
    // eslint-disable-next-line no-control-regex
    expect(shown).not.toMatch(/[\x00-\x1f\u202e]/)
    expect(HOSTILE_TEXT.startsWith(shown.slice(0, 40))).toBe(true)
    expect(out.links.map((l) => l.href)).not.toContainEqual(expect.stringContaining('evil'))
    expect(out.elements).not.toContain('img')
    expect(out.elements).not.toContain('b')
    expect(out.elements).not.toContain('em')
    expect(out.elements).not.toContain('del')
  })
})

describe('summaries of real runs against the loopback imitation of registry.redhat.io', () => {
  const USER = '12345678|render-test'
  const PASSWORD = `eyJ${'r'.repeat(40)}`
  let dir = ''
  let fake: Awaited<ReturnType<typeof startFakeRedHat>> | undefined
  let caPath = ''

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'preflight-render-'))
    const tls = await makeCertificates(dir)
    caPath = tls.caPath
    fake = await startFakeRedHat({
      tls,
      users: { [USER]: PASSWORD },
      images: { 'ubi9/ubi': ['latest'], 'rhel9/postgresql-15': ['latest'] },
      entitlements: { [USER]: ['ubi9/ubi', 'ubi9/nope'] },
    })
  })
  afterAll(async () => {
    await fake?.close()
    await rm(dir, { recursive: true, force: true })
  })

  test.each([
    ['passes', PASSWORD, 'ubi9/ubi', 'ok'],
    ['a wrong password', 'eyJwrong', 'ubi9/ubi', 'invalid-credentials'],
    [
      'an image the account may not pull',
      PASSWORD,
      'ubi9/ubi\nrhel9/postgresql-15',
      'access-denied',
    ],
    ['a tag that does not exist', PASSWORD, 'ubi9/ubi:nope', 'image-not-found'],
  ])('%s', async (_name, password, images, result) => {
    const run = await runAction({
      inputs: {
        registry: fake!.host,
        username: USER,
        password,
        images,
        retries: '0',
        timeout: '5',
      },
      env: { NODE_EXTRA_CA_CERTS: caPath },
    })
    expect(run.outputs.result).toBe(result)
    const report = JSON.parse(run.outputs.report) as Report
    const out = await render(run.summary)
    expectSound(report, out)
    expectDiagram(report, pathModel(report), out)
  })
})
