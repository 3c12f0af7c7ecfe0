/**
 * The job summary, as Markdown a person takes in at a glance: the verdict, the network path as
 * a Mermaid diagram with each hop marked, the checks, the images, the proxy, and how to fix.
 * A pure function of the report, so the demo and the tests see exactly what the runner shows.
 */
import { VERDICT, adviceContext, howToFix } from './advice.js'
import type { Check, ImageCheck, Outcome, RateLimit, RegistryVerdict, Report } from './report.js'

/** Above this many images, the ones that pass are folded away. */
const FOLD_IMAGES_ABOVE = 20

const MARK: Record<Outcome, string> = {
  passed: '✅ passed',
  failed: '❌ failed',
  skipped: '⏭️ skipped',
}

export function renderSummary(report: Report, warnings: readonly string[] = []): string {
  const out: string[] = []
  out.push(
    report.pullReady
      ? `## ✅ Pulls will succeed`
      : `## ❌ Pulls will fail: ${VERDICT[report.result]}`,
    '',
    `> ${escapeText(report.message)}`,
    '',
  )
  if (report.result !== 'invalid-input') {
    out.push('### Network path', '', ...diagram(report), '')
    out.push(...registriesTable(report))
    out.push(...checksTable(report.checks))
    if (report.images.length) out.push(...imagesTable(report.images))
    out.push(...hostsToAllow(report.hosts))
    out.push(...details(report))
  }
  const notes = [...warnings, ...report.notes]
  if (notes.length) out.push('### Warnings', '', ...notes.map((n) => `- ⚠️ ${escapeText(n)}`), '')
  if (!report.pullReady) {
    const steps = howToFix(report.result, adviceContext(report))
    out.push(`### How to fix (\`${report.result}\`)`, '', ...steps.map((s) => `- ${s}`), '')
  }
  return out.join('\n')
}

type NodeState = Outcome | 'unused'

function diagram(report: Report): string[] {
  const state = (checks: Check[], extraFail = false): NodeState => {
    if (extraFail || checks.some((c) => c.outcome === 'failed' && !c.atProxy)) return 'failed'
    if (checks.some((c) => c.outcome === 'passed')) return 'passed'
    return checks.length ? 'skipped' : 'unused'
  }
  const token = report.checks.filter((c) => c.hop === 'token-service')
  const registry = report.checks.filter(
    (c) => c.hop === 'registry' && (c.id !== 'blob' || c.host === report.registry),
  )
  const blobHosts = report.checks.filter((c) => c.hop === 'blob-host')
  const imageFailed = report.images.some(
    (i) => i.outcome === 'failed' && i.registry === report.registry,
  )
  // Routes name hosts as URLs do (no :443); a blob host's check names its port.
  const viaProxy = (host: string | undefined): boolean =>
    report.routes.some((r) => r.host === host?.replace(/:443$/, '') && r.via === 'proxy')
  const proxyChecks = report.checks.filter((c) => c.via === 'proxy')
  const proxyState: NodeState = report.checks.some((c) => c.atProxy)
    ? 'failed'
    : proxyChecks.some((c) => c.status !== undefined)
      ? 'passed'
      : 'skipped'

  const lines = ['```mermaid', 'flowchart LR', '  runner(["Runner"])']
  const label = (title: string, host: string, s: NodeState, status?: number): string =>
    `["${mermaidText(title)}<br/>${mermaidText(host)}<br/>${ICON[s]}${status ? ` HTTP ${status}` : ''}"]`
  const usesProxy = report.routes.some((r) => r.via === 'proxy') && report.proxy.url
  if (usesProxy) lines.push(`  proxy${label('Proxy', report.proxy.url!, proxyState)}`)
  const nodes: [string, string, string | undefined, NodeState, number | undefined][] = []
  if (token.length) {
    nodes.push(['token', 'Token service', token[0].host, state(token), decisive(token)?.status])
  }
  nodes.push([
    'registry',
    'Registry',
    report.registry,
    state(registry, imageFailed),
    decisive(registry)?.status,
  ])
  for (const [n, blob] of blobHosts.entries()) {
    nodes.push([`blob${n}`, 'Blob host', blob.host, state([blob]), blob.status])
  }
  for (const [id, title, host, s, status] of nodes) {
    lines.push(`  ${id}${label(title, host ?? '', s, status)}`)
    lines.push(viaProxy(host) && usesProxy ? `  runner --> proxy --> ${id}` : `  runner --> ${id}`)
    lines.push(`  class ${id} ${s}`)
  }
  if (usesProxy) lines.push(`  class proxy ${proxyState}`)
  lines.push(
    '  classDef passed fill:#dafbe1,stroke:#1a7f37,color:#1f2328',
    '  classDef failed fill:#ffebe9,stroke:#cf222e,color:#1f2328',
    '  classDef skipped fill:#f6f8fa,stroke:#8c959f,color:#57606a',
    '  classDef unused fill:#f6f8fa,stroke:#8c959f,color:#57606a',
    '```',
  )
  return lines
}

/** The check whose status a node shows: the one that failed, else the last that got an answer. */
function decisive(checks: Check[]): Check | undefined {
  return (
    checks.find((c) => c.outcome === 'failed') ?? checks.filter((c) => c.status !== undefined).pop()
  )
}

const ICON: Record<NodeState, string> = {
  passed: '✅',
  failed: '❌',
  skipped: '⏭️ not reached',
  unused: '',
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
      `\`${r.registry}\``,
      credentialsFrom(r.credentials),
      r.pullReady ? MARK.passed : `${MARK.failed}: \`${r.result}\``,
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

/** A path or key as inline code: no backtick or line break can end the span early. */
function codeSpan(text: string): string {
  return `\`${text.replace(/[`\r\n]/g, '?').slice(0, 200)}\``
}

function checksTable(checks: Check[]): string[] {
  if (!checks.length) return []
  const rows = checks.map((c) =>
    row([
      `${c.title} (\`${c.request}\`)`,
      `\`${c.host}\`${c.via === 'proxy' ? ' via proxy' : ''}`,
      c.status?.toString() ?? '—',
      c.ms !== undefined
        ? `${c.ms} ms${c.attempts && c.attempts > 1 ? ` (${c.attempts} tries)` : ''}`
        : '—',
      c.finding
        ? `${MARK[c.outcome]}: \`${c.finding.code}\` ${escapeText(c.finding.detail)}`
        : MARK[c.outcome],
    ]),
  )
  return [
    '### Checks',
    '',
    '| Check | Host | HTTP | Time | Outcome |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ]
}

function imagesTable(images: ImageCheck[]): string[] {
  const header = ['| Image | HTTP | Outcome | Details |', '| --- | --- | --- | --- |']
  const render = (i: ImageCheck): string =>
    row([imageName(i), i.status?.toString() ?? '—', imageOutcome(i), imageDetails(i)])
  const failed = images.filter((i) => i.outcome !== 'passed')
  const passed = images.filter((i) => i.outcome === 'passed')
  const out = ['### Images', '']
  if (images.length <= FOLD_IMAGES_ABOVE) return [...out, ...header, ...images.map(render), '']
  out.push(`${passed.length} of ${images.length} images will pull.`, '')
  if (failed.length) out.push(...header, ...failed.map(render), '')
  if (passed.length) {
    out.push(
      `<details><summary>${passed.length} images that will pull</summary>`,
      '',
      ...header,
      ...passed.map(render),
      '',
      '</details>',
      '',
    )
  }
  return out
}

function imageName(i: ImageCheck): string {
  return `\`${i.name}\`${i.anonymous ? ' (anonymous)' : ''}`
}

function imageOutcome(i: ImageCheck): string {
  return i.finding ? `${MARK[i.outcome]}: \`${i.finding.code}\`` : MARK[i.outcome]
}

function imageDetails(i: ImageCheck): string {
  const parts: string[] = []
  if (i.finding) parts.push(escapeText(i.finding.detail))
  if (i.registryMessage) parts.push(`registry says: “${escapeText(i.registryMessage)}”`)
  if (i.platforms?.length)
    parts.push(
      `platforms: ${i.platforms.map((p) => (p === i.platform ? `**${p}**` : p)).join(', ')}`,
    )
  if (i.digest) parts.push(`\`${i.digest.slice(0, 19)}…\``)
  if (i.rateLimit) parts.push(`pulls left: ${describeRateLimit(i.rateLimit)}`)
  return parts.join('; ') || '—'
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
    ...hosts,
    '```',
    '',
  ]
}

function details(report: Report): string[] {
  const out = ['### Details', '']
  if (report.platforms !== 'any') {
    out.push(
      `- Platform: \`${report.platforms.wanted.join(', ')}\` (from ${report.platforms.source})`,
    )
  }
  for (const line of report.info) out.push(`- ${escapeText(line)}`)
  const p = report.proxy
  if (p.url) {
    const from =
      p.source === 'input' ? 'the `proxy` input' : `the \`${p.source}\` environment variable`
    out.push(
      `- Proxy: \`${p.url}\` from ${from}${p.schemeAssumed ? ' (no scheme given; http:// assumed)' : ''}`,
    )
  } else {
    out.push(
      '- Proxy: none configured (neither the `proxy` input nor `HTTPS_PROXY`/`https_proxy` is set)',
    )
  }
  if (p.noProxy.length)
    out.push(`- \`${p.noProxySource ?? 'no_proxy'}\`: \`${p.noProxy.join(',')}\``)
  for (const r of report.routes)
    out.push(
      `- \`${r.host}\`: ${r.via === 'proxy' ? 'through the proxy' : 'direct'} (${escapeText(r.reason)})`,
    )
  const a = report.auth
  if (a.realm) {
    const source = {
      challenge: 'announced by the registry',
      'auth-url': 'from the `auth-url` input',
      known: 'the realm Red Hat uses (the registry could not be asked)',
    }[a.realmSource ?? 'challenge']
    out.push(`- Token realm: \`${a.realm}\` (${source})`)
  }
  if (report.tokenExpiresIn !== undefined) out.push(`- Token lifetime: ${report.tokenExpiresIn} s`)
  for (const [registry, limit] of lowestRateLimits(report.images)) {
    out.push(`- Pull limit on \`${registry}\`: ${describeRateLimit(limit)} left`)
  }
  out.push(
    `- Credentials: ${{ given: 'given', anonymous: 'none (anonymous access tried)', incomplete: 'incomplete (one of username and password is empty)' }[a.credentials]}`,
  )
  out.push(`- Took ${report.durationMs} ms`, '')
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

function describeRateLimit(r: RateLimit): string {
  const window = r.windowSeconds ? ` per ${formatDuration(r.windowSeconds)}` : ''
  const source = r.source ? `, counted for ${escapeText(r.source)}` : ''
  return `${r.remaining ?? '?'} of ${r.limit ?? '?'}${window}${source}`
}

function formatDuration(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`
  if (seconds % 60 === 0) return `${seconds / 60} min`
  return `${seconds} s`
}

function row(cells: string[]): string {
  return `| ${cells.map((c) => c.replace(/\|/g, '\\|').replace(/\n/g, ' ')).join(' | ')} |`
}

/** Text from servers or users, made inert in Markdown: no HTML, no line breaks. */
function escapeText(text: string): string {
  return text
    .replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c] as string)
    .replace(/\s+/g, ' ')
}

/** Mermaid labels: quotes and markup characters as entities. */
function mermaidText(text: string): string {
  return text.replace(/["<>&#]/g, (c) => `#${c.charCodeAt(0)};`)
}
