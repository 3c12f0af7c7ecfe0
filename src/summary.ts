/**
 * The job summary, as Markdown a person takes in at a glance: the verdict; on failure, the cause
 * and the fix in a GitHub alert and a compact table of what failed; then, folded away (open on
 * failure, closed on success), the network path as a diagram, the images, every check and the
 * details. Each fact is said once. Everything a server sent is inert text (src/markdown.ts).
 * A pure function of the report, so the demo and the tests see exactly what the runner shows.
 */
import { VERDICT, adviceContext, howToFix } from './advice.js'
import { mermaid, pathModel } from './diagram.js'
import {
  decisiveFailure,
  doorFailure,
  oddAnswer,
  sentence,
  shortReason,
  shortRequest,
  tokenFailure,
} from './evidence.js'
import { codeSpan, htmlText, prose, row } from './markdown.js'
import type { Check, ImageCheck, RateLimit, RegistryVerdict, Report } from './report.js'

export interface SummaryOptions {
  /** The `fail-on-error` input: when false, a failing run says that the step did not fail. */
  failOnError?: boolean
}

export function renderSummary(
  report: Report,
  warnings: readonly string[] = [],
  options: SummaryOptions = {},
): string {
  const failOnError = options.failOnError ?? true
  const out: string[] = [`## ${verdictLine(report)}`, '']
  const notes = [...warnings, ...report.notes]

  if (report.result === 'invalid-input') {
    out.push(...alert(report, notes), '')
    return out.join('\n')
  }
  if (report.pullReady) {
    out.push(prose(report.message, 1200), '')
  } else {
    if (!failOnError) {
      out.push(
        '**Report only** (`fail-on-error: false`): this step did not fail and the job goes on, but the pulls described here will fail.',
        '',
      )
    }
    out.push(...alert(report, notes), '')
    out.push(...failedTable(report))
  }
  if (notes.length) out.push('### Warnings', '', ...notes.map((n) => `- ⚠️ ${prose(n, 1200)}`), '')
  out.push(...folded('Network path', !report.pullReady, mermaid(pathModel(report))))
  out.push(...registriesTable(report))
  if (report.images.length) out.push(...imagesSection(report.images))
  out.push(...hostsToAllow(report.hosts))
  out.push(...folded(`Every check (${report.checks.length})`, false, checksTable(report.checks)))
  out.push(...folded('Details', false, details(report)))
  return out.join('\n')
}

/** The verdict line: a run stopped at its inputs checked nothing, so it says so. */
function verdictLine(report: Report): string {
  if (report.pullReady) return '✅ Pulls will succeed'
  if (report.result === 'invalid-input') return `❌ Not checked: ${VERDICT['invalid-input']}`
  const decisive = decisiveFailure(report)
  const odd = report.result === 'unexpected-response' ? oddAnswer(decisive?.finding) : undefined
  if (odd === 'realm-plain-http' || odd === 'realm-link-local')
    return '❌ Pulls will fail: the registry names a token service credentials must not go to'
  return `❌ Pulls will fail: ${VERDICT[report.result]}`
}

/** The cause in one sentence and the steps that fix it, as a GitHub alert. */
function alert(report: Report, warnings: string[]): string[] {
  const decisive = decisiveFailure(report)
  const cause = decisive ? sentence(decisive.finding.detail) : report.message
  const steps = howToFix(report.result, adviceContext(report, warnings))
  return [
    '> [!CAUTION]',
    `> **${prose(cause, 900)}**`,
    '>',
    `> ### How to fix (\`${report.result}\`)`,
    '>',
    ...steps.map((s, n) => `> ${n + 1}. ${s}`),
  ]
}

/** A section folded into `<details>`: open when it explains a failure, closed otherwise. */
function folded(title: string, open: boolean, body: string[]): string[] {
  if (!body.length) return []
  return [
    `<details${open ? ' open' : ''}><summary>${htmlText(title)}</summary>`,
    '',
    ...body,
    '',
    '</details>',
    '',
  ]
}

/** What failed, one row each: the hop and host, the request, the answer, the reason in a few words. */
function failedTable(report: Report): string[] {
  const rows: string[] = []
  for (const c of report.checks) {
    if (c.outcome !== 'failed' || !c.finding) continue
    rows.push(
      row([
        `${c.atProxy ? 'Proxy, on the way to ' : ''}${HOP_NAME[c.id === 'blob' ? c.hop : c.id]} ${codeSpan(c.host)}`,
        codeSpan(shortRequest(c.request)),
        c.status?.toString() ?? '—',
        `❌ ${shortReason(c.finding)}`,
      ]),
    )
  }
  const images = report.images.filter((i) => i.outcome === 'failed' && i.finding)
  // A registry whose `/v2/` failed fails every image with the same words: one row says it.
  const doors = new Set<string>()
  for (const i of images) {
    if (doorFailure(i)) {
      if (doors.has(i.registry)) continue
      doors.add(i.registry)
      const count = images.filter((x) => x.registry === i.registry && doorFailure(x)).length
      rows.push(
        row([
          `Registry ${codeSpan(i.registry)} (${count} ${count === 1 ? 'image' : 'images'})`,
          codeSpan('GET /v2/'),
          '—',
          `❌ ${shortReason(i.finding!)}`,
        ]),
      )
      continue
    }
    const why = [`❌ ${shortReason(i.finding!)}`]
    if (i.finding!.code === 'no-matching-platform' && i.platforms)
      why.push(
        `it holds ${i.platforms.length ? i.platforms.map((p) => codeSpan(p)).join(', ') : 'no platform'}`,
      )
    if (i.registryMessage) why.push(`the registry says ${codeSpan(i.registryMessage, 300)}`)
    rows.push(
      row([
        imageName(i),
        tokenFailure(i) ? 'token' : 'manifest',
        i.status?.toString() ?? '—',
        why.join('; '),
      ]),
    )
  }
  const unchecked = report.images.filter((i) => i.outcome === 'skipped').length
  if (unchecked) {
    rows.push(
      row([
        `${unchecked} ${unchecked === 1 ? 'image' : 'images'}`,
        'manifest',
        '—',
        '⏭️ not checked: the steps before them failed',
      ]),
    )
  }
  if (!rows.length) return []
  return ['| What failed | Request | HTTP | Why |', '| --- | --- | --- | --- |', ...rows, '']
}

const HOP_NAME: Record<string, string> = {
  ping: 'Registry',
  registry: 'Registry',
  token: 'Token service',
  'token-service': 'Token service',
  'blob-host': 'Blob host',
  proxy: 'Proxy',
}

/**
 * One row per registry when there is more than one, or when credentials came from an auth file:
 * which file (and key) or helper each registry's credentials came from, and its own verdict.
 */
function registriesTable(report: Report): string[] {
  const fromFiles = report.registries.some(
    (r) => r.credentials.from === 'file' || r.credentials.from === 'helper',
  )
  if (report.registries.length < 2 && !fromFiles) return []
  const rows = report.registries.map((r) =>
    row([
      codeSpan(r.registry),
      credentialsFrom(r.credentials),
      r.pullReady ? '✅ will pull' : `❌ \`${r.result}\``,
    ]),
  )
  return [
    '### Registries',
    '',
    '| Registry | Credentials | Verdict |',
    '| --- | --- | --- |',
    ...rows,
    '',
  ]
}

function credentialsFrom(c: RegistryVerdict['credentials']): string {
  switch (c.from) {
    case 'none':
      return 'none (anonymous)'
    case 'inputs':
      return 'the `username` and `password` inputs'
    case 'file':
      return `${codeSpan(c.file)}, key ${codeSpan(c.key)}`
    case 'helper':
      return `${codeSpan(`docker-credential-${c.helper}`)} (named in ${codeSpan(c.file)})`
  }
}

function checksTable(checks: Check[]): string[] {
  if (!checks.length) return []
  const rows = checks.map((c) =>
    row([
      c.title,
      `${codeSpan(c.host)}${c.via === 'proxy' ? ' via proxy' : ''}`,
      codeSpan(shortRequest(c.request)),
      c.status?.toString() ?? '—',
      c.ms !== undefined
        ? `${c.ms} ms${c.attempts && c.attempts > 1 ? ` (${c.attempts} tries)` : ''}`
        : '—',
      c.outcome === 'failed' && c.finding
        ? `❌ \`${c.finding.code}\`: ${shortReason(c.finding)}`
        : c.outcome === 'passed'
          ? '✅ passed'
          : '⏭️ not reached',
    ]),
  )
  return [
    '| Check | Host | Request | HTTP | Time | Outcome |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
  ]
}

/**
 * How many images will pull; those that fail are in the table of what failed, so here only those
 * that pull and those not checked, folded away.
 */
function imagesSection(images: ImageCheck[]): string[] {
  const passed = images.filter((i) => i.outcome === 'passed')
  const skipped = images.filter((i) => i.outcome === 'skipped')
  const out = [
    '### Images',
    '',
    `${passed.length} of ${images.length} ${images.length === 1 ? 'image' : 'images'} will pull.`,
    '',
  ]
  if (passed.length) {
    const platforms = passed.some((i) => i.platforms?.length)
    out.push(
      ...folded(
        `${passed.length} ${passed.length === 1 ? 'image' : 'images'} that will pull`,
        false,
        [
          platforms ? '| Image | Digest | Platforms |' : '| Image | Digest |',
          platforms ? '| --- | --- | --- |' : '| --- | --- |',
          ...passed.map((i) =>
            row([
              imageName(i),
              i.digest ? codeSpan(`${i.digest.slice(0, 19)}…`) : '—',
              ...(platforms ? [platformList(i)] : []),
            ]),
          ),
        ],
      ),
    )
  }
  if (skipped.length) {
    out.push(
      ...folded(
        `${skipped.length} ${skipped.length === 1 ? 'image' : 'images'} not checked`,
        false,
        skipped.map((i) => `- ${imageName(i)}`),
      ),
    )
  }
  return out
}

function imageName(i: ImageCheck): string {
  return `${codeSpan(i.name)}${i.anonymous ? ' (anonymous)' : ''}`
}

/** The platforms an index holds, the one matched in bold. */
function platformList(i: ImageCheck): string {
  if (!i.platforms?.length) return i.kind === 'manifest' ? 'single platform' : '—'
  return i.platforms.map((p) => (p === i.platform ? `**${codeSpan(p)}**` : codeSpan(p))).join(', ')
}

/** What a firewall or a proxy must let through, one `host:port` a line, ready to copy. */
function hostsToAllow(hosts: string[]): string[] {
  if (!hosts.length) return []
  return [
    '### Hosts to allow',
    '',
    'The pulls need HTTPS to these, in the order they were first used (registry, token service, blob host):',
    '',
    '```text',
    // A host name cannot hold a backtick; a line that could end the fence is left out whole.
    ...hosts.filter((h) => !h.includes('`')).map((h) => h.replace(/[\r\n]/g, '')),
    '```',
    '',
  ]
}

function details(report: Report): string[] {
  const out: string[] = []
  if (report.platforms !== 'any') {
    out.push(
      `- Platform: ${codeSpan(report.platforms.wanted.join(', '))} (from ${prose(report.platforms.source)})`,
    )
  }
  for (const line of report.info) out.push(`- ${prose(line, 1200)}`)
  const p = report.proxy
  if (p.url) {
    const from =
      p.source === 'input' ? 'the `proxy` input' : `the ${codeSpan(p.source)} environment variable`
    out.push(
      `- Proxy: ${codeSpan(p.url)} from ${from}${p.schemeAssumed ? ' (no scheme given; http:// assumed)' : ''}`,
    )
  } else {
    out.push(
      '- Proxy: none configured (neither the `proxy` input nor `HTTPS_PROXY`/`https_proxy` is set)',
    )
  }
  if (p.noProxy.length)
    out.push(`- ${codeSpan(p.noProxySource ?? 'no_proxy')}: ${codeSpan(p.noProxy.join(','))}`)
  for (const r of report.routes)
    out.push(
      `- ${codeSpan(r.host)}: ${r.via === 'proxy' ? 'through the proxy' : 'direct'} (${prose(r.reason)})`,
    )
  const a = report.auth
  if (a.realm) {
    const source = {
      challenge: 'announced by the registry',
      'auth-url': 'from the `auth-url` input',
      known: 'the realm Red Hat uses (the registry could not be asked)',
    }[a.realmSource ?? 'challenge']
    out.push(
      `- Token service (the realm, where tokens are asked for): ${codeSpan(a.realm)} (${source})`,
    )
  }
  if (report.tokenExpiresIn !== undefined) out.push(`- Token lifetime: ${report.tokenExpiresIn} s`)
  for (const [registry, limit] of lowestRateLimits(report.images)) {
    out.push(`- Pull limit on ${codeSpan(registry)}: ${describeRateLimit(limit)}`)
  }
  out.push(
    `- Credentials: ${{ given: 'given', anonymous: 'none (anonymous access tried)', incomplete: 'incomplete (one of username and password is empty)' }[a.credentials]}`,
  )
  out.push(`- Took ${report.durationMs} ms`)
  return out
}

/** Per registry, the rate limit with the fewest pulls left (the last answer is the freshest). */
function lowestRateLimits(images: ImageCheck[]): Map<string, RateLimit> {
  const lowest = new Map<string, RateLimit>()
  for (const i of images) {
    const known = lowest.get(i.registry)
    if (
      i.rateLimit &&
      (!known || (i.rateLimit.remaining ?? Infinity) < (known.remaining ?? Infinity))
    ) {
      lowest.set(i.registry, i.rateLimit)
    }
  }
  return lowest
}

/** `76 of 100 pulls left in a 6 h window, counted for 203.0.113.7`. */
export function describeRateLimit(r: RateLimit): string {
  const left =
    r.remaining !== undefined && r.limit !== undefined
      ? `${r.remaining} of ${r.limit} pulls left`
      : r.remaining !== undefined
        ? `${r.remaining} pulls left`
        : `a limit of ${r.limit} pulls`
  const window = r.windowSeconds ? ` in a ${formatDuration(r.windowSeconds)} window` : ''
  const source = r.source ? `, counted for ${codeSpan(r.source, 80)}` : ''
  return `${left}${window}${source}`
}

function formatDuration(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`
  if (seconds % 60 === 0) return `${seconds / 60} min`
  return `${seconds} s`
}
