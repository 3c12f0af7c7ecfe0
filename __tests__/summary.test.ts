/** The job summary as Markdown, from hand-made reports: its layout, what it says once, and escaping. */
import { RESULT_CODES } from '../src/codes.js'
import { pathModel } from '../src/diagram.js'
import { codeSpan, prose } from '../src/markdown.js'
import { outputsOf } from '../src/outputs.js'
import { rateLimitOf } from '../src/preflight.js'
import { invalidInputReport } from '../src/report.js'
import { describeRateLimit, renderSummary } from '../src/summary.js'
import {
  PROXY,
  RH,
  SERVICE_ACCOUNT_WARNING,
  check,
  failedImage,
  failing,
  image,
  passing,
  skippedImage,
  throughProxy,
  variants,
} from './support/reports.js'

/** The summary without its Mermaid block. */
function outsideDiagram(md: string): string {
  return md.replace(/```mermaid[\s\S]*?```/, '')
}

/** Markdown with its code spans taken out (a span's fence is a run of backticks, closed by the same). */
function withoutCodeSpans(md: string): string {
  return md.replace(/(`+)[\s\S]*?\1/g, '')
}

/** The summary's "How to fix" steps: the numbered lines of the alert, without their numbers. */
function fixSteps(md: string): string[] {
  return md
    .split('\n')
    .filter((line) => /^> \d+\. /.test(line))
    .map((line) => line.replace(/^> \d+\. /, ''))
}

describe('layout', () => {
  test('success: the verdict, the sentence, and everything else folded away', () => {
    const md = renderSummary(passing(2))
    const lines = md.split('\n')
    expect(lines[0]).toBe('## ✅ Pulls will succeed')
    expect(lines[2]).toMatch(/^Pulls from `registry\.redhat\.io` will succeed: /)
    expect(md).not.toContain('[!CAUTION]')
    expect(md).not.toContain('How to fix')
    expect(md).not.toContain('<details open>')
    expect(md).toContain('<details><summary>Network path</summary>')
    expect(md).toContain('<details><summary>2 images that will pull</summary>')
    expect(md).toContain('### Hosts to allow')
  })

  test('failure: the verdict, then the cause and the fix in a CAUTION alert, then what failed', () => {
    const r = failing({
      ...passing(2),
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
    })
    const md = renderSummary(r)
    const lines = md.split('\n')
    expect(lines[0]).toBe('## ❌ Pulls will fail: an image was not found')
    expect(lines[2]).toBe('> [!CAUTION]')
    // The cause once, in bold, with the host as code: never re-cased.
    expect(lines[3]).toBe(
      '> **`registry.redhat.io` has no manifest for `registry.redhat.io/ubi9/img1:latest` (HTTP 404).**',
    )
    expect(lines[5]).toBe('> ### How to fix (`image-not-found`)')
    expect(fixSteps(md)[0]).toMatch(/^Check the repository name/)
    expect(md).toContain('| What failed | Request | HTTP | Why |')
    expect(md).toContain(
      '| `registry.redhat.io/ubi9/img1:latest` | manifest | 404 | ❌ not found; the registry says `manifest unknown` |',
    )
    // The failing image is in the table of what failed, not again in the images section.
    expect(outsideDiagram(md).split('ubi9/img1:latest').length - 1).toBe(2) // the cause and the row
    expect(md).toContain('<details open><summary>Network path</summary>')
    expect(md).toContain('1 of 2 images will pull.')
  })

  test('each failure code has a verdict, an alert and steps of its own', () => {
    const fixes = new Map<string, string>()
    for (const v of variants()) {
      if (v.report.pullReady) continue
      const md = renderSummary(v.report, v.warnings, { failOnError: v.failOnError })
      expect(md).toContain('> [!CAUTION]')
      expect(md).toContain(`> ### How to fix (\`${v.report.result}\`)`)
      const steps = fixSteps(md)
      expect(steps.length).toBeGreaterThanOrEqual(1)
      for (const step of steps) expect(step).toMatch(/[a-z]{3}/)
      fixes.set(v.report.result, steps.join('\n'))
    }
    // Every code but ok was drawn, and no two codes share their steps.
    expect([...fixes.keys()].sort()).toEqual(RESULT_CODES.filter((c) => c !== 'ok').sort())
    expect(new Set(fixes.values()).size).toBe(fixes.size)
  })

  test('report only (fail-on-error: false): the summary says the step did not fail', () => {
    const v = variants().find((x) => x.failOnError === false)!
    const md = renderSummary(v.report, [], { failOnError: false })
    expect(md.split('\n')[2]).toMatch(
      /^\*\*Report only\*\* \(`fail-on-error: false`\): this step did not fail/,
    )
    expect(renderSummary(v.report)).not.toContain('Report only')
    // A run that passed has nothing to report as not failed.
    expect(renderSummary(passing(1), [], { failOnError: false })).not.toContain('Report only')
  })

  test('invalid input: "not checked", the message and its fix, nothing else', () => {
    const r = invalidInputReport(
      "Invalid timeout 'x'. Expected a number of seconds from 0.1 to 600.",
      'registry.redhat.io',
    )
    const md = renderSummary(r)
    expect(md.split('\n')[0]).toBe('## ❌ Not checked: an input is invalid')
    expect(md).not.toContain('Pulls will fail')
    expect(md).toContain("> **Invalid timeout 'x'. Expected a number of seconds from 0.1 to 600.**")
    expect(md).not.toContain('mermaid')
    expect(outputsOf(r)).toMatchObject({ 'pull-ready': 'false', result: 'invalid-input' })
  })

  test('100 images: the failure in the table first, the 99 that pull folded away', () => {
    const images = Array.from({ length: 100 }, (_, n) =>
      n === 42
        ? failedImage(n, { code: 'image-not-found', detail: 'no manifest' }, { status: 404 })
        : image(n),
    )
    const md = renderSummary(failing({ ...passing(0), images }))
    expect(md).toContain('99 of 100 images will pull.')
    const [before, folded] = md.split('<details><summary>99 images that will pull</summary>')
    expect(before).toContain('`registry.redhat.io/ubi9/img42:latest`')
    expect(before).not.toContain('img41:latest')
    expect(folded).toContain('img41:latest')
  })

  test('warnings are listed, and one that explains the failure leads the fix', () => {
    const v = variants().find((x) => x.warnings?.includes(SERVICE_ACCOUNT_WARNING))!
    const md = renderSummary(v.report, v.warnings)
    expect(md).toMatch(/### Warnings\n\n- ⚠️ The username looks like/)
    expect(fixSteps(md)[0]).toMatch(/^Write the username with its `\|`/)
    // Without warnings, the advice never points at them.
    expect(renderSummary(v.report)).not.toMatch(/warning/i)
  })

  test('the token path is shortened in tables; the realm is given whole once, in the details', () => {
    const md = renderSummary(passing(1))
    expect(md).toContain('`GET /auth/…/auth`')
    expect(md.match(/realms\/rhcc\/protocol/g)).toHaveLength(1)
  })

  test("Docker Hub's rate limit: read from its headers, said once per registry, in words", () => {
    const limit = rateLimitOf({
      headers: {
        'ratelimit-limit': '100;w=21600',
        'ratelimit-remaining': '0;w=21600',
        'docker-ratelimit-source': '192.0.2.1',
      },
    })
    expect(limit).toEqual({ limit: 100, remaining: 0, windowSeconds: 21600, source: '192.0.2.1' })
    expect(rateLimitOf({ headers: {} })).toBeUndefined()
    expect(describeRateLimit(limit!)).toBe(
      '0 of 100 pulls left in a 6 h window, counted for `192.0.2.1`',
    )
    const md = renderSummary(
      passing(2, {
        images: [0, 1].map((n) => image(n, { registry: 'registry-1.docker.io', rateLimit: limit })),
      }),
    )
    expect(md.match(/pulls left/g)).toHaveLength(1)
    expect(md).toContain(
      '- Pull limit on `registry-1.docker.io`: 0 of 100 pulls left in a 6 h window, counted for `192.0.2.1`',
    )
  })

  test('through a proxy: the details say where it was set and which hosts go through it', () => {
    const r = throughProxy(passing(1))
    r.proxy = {
      ...r.proxy,
      source: 'HTTPS_PROXY',
      noProxy: ['.internal'],
      noProxySource: 'no_proxy',
    }
    const md = renderSummary(r)
    expect(md).toContain(`- Proxy: \`${PROXY}\` from the \`HTTPS_PROXY\` environment variable`)
    expect(md).toContain('- `no_proxy`: `.internal`')
    expect(md).toContain('- `registry.redhat.io`: through the proxy')
  })
})

describe('the diagram', () => {
  test('one Runner → Proxy edge, however many hosts go through it', () => {
    const md = renderSummary(throughProxy(passing(2)))
    expect(md.match(/runner --> proxy/g)).toHaveLength(1)
    expect(md).toContain('proxy --> r0_token')
    expect(md).toContain('proxy --> r0_registry')
    expect(md).toContain('proxy --> r0_blob0')
  })

  test('a tunnel refused to one host: that edge is marked, the proxy and the other hosts are not failed', () => {
    const v = variants().find((x) => x.name.startsWith('proxy-error: the tunnel'))!
    const model = pathModel(v.report)
    const state = (id: string): string | undefined => model.nodes.find((n) => n.id === id)?.state
    expect(state('proxy')).toBe('passed')
    expect(state('r0_token')).toBe('skipped')
    const refused = model.edges.filter((e) => e.failed)
    expect(refused).toEqual([
      { from: 'proxy', to: 'r0_token', label: '❌ CONNECT refused (403)', failed: true },
    ])
    const md = renderSummary(v.report)
    expect(md).toContain('proxy -->|"❌ CONNECT refused (403)"| r0_token')
    expect(md).toMatch(/linkStyle \d+ stroke:#cf222e/)
  })

  test('an image refused: the images node is failed, the registry that answered /v2/ is not', () => {
    const v = variants().find((x) => x.name.startsWith('access-denied'))!
    const model = pathModel(v.report)
    expect(model.nodes.find((n) => n.id === 'r0_registry')).toMatchObject({
      state: 'passed',
      answer: '200',
    })
    expect(model.nodes.find((n) => n.id === 'r0_img0')).toMatchObject({
      state: 'failed',
      host: 'ubi9/img1:latest',
      answer: '401',
      reason: 'access denied',
    })
  })

  test('a refused token: the registry after it is grey (not asked), never green with its 401', () => {
    const v = variants().find((x) => x.name.startsWith('invalid-credentials'))!
    const model = pathModel(v.report)
    expect(model.nodes.find((n) => n.id === 'r0_token')).toMatchObject({
      state: 'failed',
      answer: '401',
      reason: 'credentials refused',
    })
    expect(model.nodes.find((n) => n.id === 'r0_registry')).toMatchObject({
      state: 'skipped',
      reason: 'not asked: no token',
    })
  })

  test('the reason on a failed node is a few words: 407, timeout 2 s, TLS, DNS', () => {
    const reasons = new Map(
      variants().map((v) => [
        v.name,
        pathModel(v.report)
          .nodes.filter((n) => n.state === 'failed')
          .map((n) => n.reason),
      ]),
    )
    expect(reasons.get('proxy-auth-required')).toEqual(['407: proxy login needed'])
    expect(reasons.get('timeout of 2 s at the token service')).toEqual(['timeout 2 s'])
    expect(reasons.get('tls-error through a proxy')).toEqual(['TLS: untrusted certificate'])
    expect(reasons.get('dns-error at the blob host')).toEqual(['name not found (DNS)'])
    expect(reasons.get('proxy-error: the proxy’s name does not resolve')).toEqual([
      'proxy name not found',
    ])
  })

  test('a node is never passed when its request failed, nor failed when it was not reached', () => {
    for (const v of variants()) {
      const r = v.report
      for (const node of pathModel(r).nodes) {
        if (node.state === 'passed') expect([node.id, node.reason]).toEqual([node.id, undefined])
        if (node.state === 'failed') expect([node.id, !!node.reason]).toEqual([node.id, true])
      }
      const failed = pathModel(r).nodes.filter((n) => n.state === 'failed')
      if (r.pullReady) expect(failed).toEqual([])
    }
  })

  test('a token service never contacted is grey', () => {
    const r = failing({
      ...passing(1),
      checks: [
        check(
          'ping',
          { status: undefined },
          {
            code: 'dns-error',
            detail: `the registry ${RH} could not be found: ${RH} does not resolve (ENOTFOUND)`,
          },
        ),
        check('token', { outcome: 'skipped', status: undefined, ms: undefined }),
      ],
      images: [skippedImage(0)],
    })
    const model = pathModel(r)
    expect(model.nodes.find((n) => n.id === 'r0_token')).toMatchObject({
      state: 'skipped',
      reason: 'not reached',
    })
    expect(model.nodes.find((n) => n.id === 'r0_registry')?.state).toBe('failed')
  })
})

describe('server text is inert', () => {
  test('a code span holds any text: backticks, pipes, controls; capped', () => {
    expect(codeSpan('a`b')).toBe('``a`b``')
    expect(codeSpan('`edge`')).toBe('`` `edge` ``')
    expect(codeSpan('x\u0000y\u001b[31m\u202ez\nw')).toBe('`x y [31m z w`')
    expect(codeSpan('x'.repeat(500), 100)).toHaveLength(102)
  })

  test('prose: links, mentions, emoji codes and markup in code spans or escaped', () => {
    expect(prose('see https://evil.example/a"b now')).toBe('see `https://evil.example/a"b` now')
    expect(prose('**bold** and _x_ [x](y)')).toBe('`**bold**` and `_x_` `[x](y)`')
    expect(prose('2 * 3 < 4 & ~5 $6')).toBe('2 `*` 3 `<` 4 `&` `~5` `$6`')
    expect(prose('hi @octocat :smile: #1')).toBe('hi `@octocat` `:smile:` `#1`')
    expect(prose('registry.redhat.io refused it.')).toBe('`registry.redhat.io` refused it.')
  })

  test('a registry message with Markdown, HTML and controls stays one code span', () => {
    const v = variants().find((x) => x.name === 'hostile server text')!
    const md = renderSummary(v.report)
    const prose = withoutCodeSpans(outsideDiagram(md))
    expect(prose).not.toMatch(/<img|<b>|<script|\]\(|@octocat|:smile:/i)
    // eslint-disable-next-line no-control-regex
    expect(md).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f\u202e]/)
    expect(md).toContain('the registry says ``')
  })

  test('hosts and labels cannot break out of the Mermaid diagram', () => {
    const r = passing(1)
    r.checks = r.checks.map((c) => (c.id === 'registry' ? { ...c, host: 'evil"]-->x' } : c))
    r.registry = 'evil"]-->x'
    const diagram = renderSummary(r).split('```mermaid')[1].split('```')[0]
    expect(diagram).toContain('evil#34;]--#62;x')
    expect(diagram).not.toContain('evil"]')
  })
})
