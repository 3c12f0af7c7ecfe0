/**
 * What a person reads in a terminal or a CI log: one line per check and per image with its outcome
 * and time, the verdict, and how to fix. A pure function of the report, as renderSummary is; the
 * words come from the report and src/advice.ts, so the terminal and the job summary agree.
 */
import { VERDICT, adviceContext, howToFix } from '../advice.js'
import { formatPlatform } from '../platform.js'
import type { PreflightConfig } from '../preflight.js'
import { redactProxy } from '../proxy.js'
import type { Check, ImageCheck, Outcome, Report } from '../report.js'
import { FLAGS } from './args.js'
import { PASSWORD_VARIABLE } from './reader.js'
import { escapeControls } from '../text.js'

export interface Style {
  pass: (text: string) => string
  fail: (text: string) => string
  warn: (text: string) => string
  dim: (text: string) => string
  bold: (text: string) => string
}

const sgr =
  (open: number, close: number) =>
  (text: string): string =>
    `\x1b[${open}m${text}\x1b[${close}m`

export const COLOUR: Style = {
  pass: sgr(32, 39),
  fail: sgr(31, 39),
  warn: sgr(33, 39),
  dim: sgr(2, 22),
  bold: sgr(1, 22),
}

const same = (text: string): string => text
export const PLAIN: Style = { pass: same, fail: same, warn: same, dim: same, bold: same }

/**
 * Colours for a stream that is a terminal, unless NO_COLOR is set (to anything, even '') or the
 * terminal says it has none (TERM=dumb). Piped or redirected output is plain text.
 */
export function styleFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): Style {
  const colour = stream.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb'
  return colour ? COLOUR : PLAIN
}

/**
 * Text from elsewhere made safe for a terminal: control characters (an escape sequence, a
 * carriage return that would overwrite the line) shown as `\xNN`. The report's server text is
 * one line already; this also holds for what the user typed.
 */
export const inert = escapeControls

const MARK: Record<Outcome, (s: Style) => string> = {
  passed: (s) => s.pass('pass'),
  failed: (s) => s.fail('FAIL'),
  skipped: (s) => s.dim('skip'),
}

function timing(ms: number | undefined, attempts?: number): string {
  if (ms === undefined) return ''
  return ` (${ms} ms${attempts && attempts > 1 ? `, ${attempts} tries` : ''})`
}

function checkLines(c: Check, s: Style): string[] {
  const status = c.status !== undefined ? ` -> HTTP ${c.status}` : ''
  const via = c.via === 'proxy' ? ' via the proxy' : ''
  const lines = [
    `  ${MARK[c.outcome](s)}  ${inert(c.title)}: ${inert(c.request)} ${inert(c.host)}${via}${status}${timing(c.ms, c.attempts)}`,
  ]
  if (c.finding) lines.push(`        ${s.bold(c.finding.code)}: ${inert(c.finding.detail)}`)
  return lines
}

function imageLines(i: ImageCheck, s: Style): string[] {
  const status = i.status !== undefined ? ` -> HTTP ${i.status}` : ''
  const facts = [
    i.anonymous ? 'anonymous' : '',
    i.platform ?? '',
    i.digest ? `${i.digest.slice(0, 19)}…` : '',
    i.rateLimit ? `${i.rateLimit.remaining ?? '?'} of ${i.rateLimit.limit ?? '?'} pulls left` : '',
  ].filter(Boolean)
  const lines = [
    `  ${MARK[i.outcome](s)}  ${inert(i.name)}${status}${timing(i.ms)}${facts.length ? `, ${facts.join(', ')}` : ''}`,
  ]
  if (i.finding) lines.push(`        ${s.bold(i.finding.code)}: ${inert(i.finding.detail)}`)
  if (i.registryMessage) lines.push(`        the registry says: ${inert(i.registryMessage)}`)
  return lines
}

const ORIGINS = new Map([
  ['input', '--proxy'],
  ['the platform input', '--platform'],
])

/** Where a setting came from, in the command line's words. */
function origin(source: string): string {
  return ORIGINS.get(source) ?? source
}

/**
 * The line printed before any request: what is about to be checked, and how. From the parsed
 * config, so a person at a terminal sees at once what a slow run is waiting for.
 */
export function renderHeader(config: PreflightConfig, s: Style): string {
  const images = `${config.images.length} image${config.images.length === 1 ? '' : 's'}`
  const p = config.platforms
  const platform =
    p.kind === 'any'
      ? 'any platform'
      : `platform ${p.platforms.map(formatPlatform).join(', ')} (from ${origin(p.source)})`
  const { url, source } = config.proxy
  const proxy = url ? `proxy ${redactProxy(url)} (from ${origin(source)})` : 'no proxy'
  return `${s.bold(inert(`Checking ${config.registry}: ${images}, ${platform}, ${proxy}`))}\n`
}

/** The report as lines of text (after the header), ending with a newline. */
export function renderText(report: Report, s: Style): string {
  const out: string[] = []
  if (report.result !== 'invalid-input') {
    for (const c of report.checks) out.push(...checkLines(c, s))
    for (const i of report.images) out.push(...imageLines(i, s))
    if (report.hosts.length) out.push(`Hosts the pulls need: ${report.hosts.map(inert).join(', ')}`)
    for (const line of report.info) out.push(s.dim(inert(line)))
    out.push('')
  }
  if (report.pullReady) {
    out.push(s.pass(s.bold('Pulls will succeed.')), inert(report.message))
  } else {
    out.push(s.fail(s.bold(`Pulls will fail: ${VERDICT[report.result]}.`)), inert(report.message))
    out.push('', s.bold(`How to fix (${report.result}):`))
    for (const step of howToFix(report.result, adviceContext(report))) {
      out.push(`  - ${inert(step)}`)
    }
  }
  return `${out.join('\n')}\n`
}

const NAME = 'registry-auth-preflight'

/** Words wrapped to `width` columns, the lines after the first indented by `indent`. */
function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  lines.push(line)
  return lines.join(`\n${indent}`)
}

/** --help. */
export function usage(): string {
  const column = 30
  const flags = FLAGS.map((f) => {
    const names = `${f.short ? `-${f.short}, ` : '    '}--${f.long}${f.value ? ` ${f.value}` : ''}`
    const gap =
      names.length + 2 < column ? ' '.repeat(column - 2 - names.length) : '\n' + ' '.repeat(column)
    return `  ${names}${gap}${wrap(f.help, 100 - column, ' '.repeat(column))}`
  })
  return `Usage: ${NAME} [flags]

Checks, before any pull, that container image pulls will succeed: the registry, its token
service, the credentials, each image and the layer path. When they will not, it says which hop
failed and what to do. The same checks as the GitHub Action, from a terminal or any CI system.

Examples:
  printf '%s\\n' "$TOKEN" | ${NAME} -u '12345678|name' --password-stdin --image ubi9/ubi:latest
  ${PASSWORD_VARIABLE}="$TOKEN" ${NAME} --registry quay.io -u 'org+bot' --image quay.io/org/app:1.2 --json

Flags:
${flags.join('\n')}

Environment:
  ${PASSWORD_VARIABLE}             The password, when neither --password-stdin nor --password gives one.
  HTTPS_PROXY, https_proxy      The proxy, when --proxy is not given. NO_PROXY, no_proxy apply either way.
  NODE_EXTRA_CA_CERTS           A PEM file of CA certificates to trust as well (a TLS-intercepting proxy's).
  NO_COLOR                      Set to anything: no colours. There are none when stdout is not a terminal.

Exit status:
  0  pulls will succeed
  1  pulls will not succeed: the report says which hop failed and what to do
  2  invalid usage or input: nothing was sent
  3  the check stopped unexpectedly (a bug: please report it)
`
}
