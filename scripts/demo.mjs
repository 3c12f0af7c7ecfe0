// npm run demo: shows what the action reports, offline. It starts a fake registry.redhat.io (registry
// and token service) on 127.0.0.1 with its own CA and runs the built action against it twice, with a
// service account's right secret and then with a wrong one, printing what a workflow would see; then
// the command line (dist/cli.js) once, with the wrong secret on stdin, printing what a terminal shows.
// It exits non-zero only when the demo itself cannot run, never because a check failed.
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startFakeRedHat } from './lib/fake-registry.mjs'
import { ACTION_PATH, runAction } from './lib/run-action.mjs'
import { CLI_PATH, runCli } from './lib/run-cli.mjs'
import { makeCertificates } from './lib/tls.mjs'

const USERNAME = '12345678|demo-pipeline'
// Made up on each run, shaped like a service-account secret (a JWT): nothing real is ever used.
const SECRET = `eyJ${randomBytes(24).toString('base64url')}`
const WRONG_SECRET = `eyJ${randomBytes(24).toString('base64url')}`
const IMAGES = ['ubi9/ubi:latest', 'rhel9/postgresql-15:latest']
const REPORT_LINES = 40
const RULE = '═'.repeat(78)

/** @param {string} title */
function heading(title) {
  console.log(`\n${RULE}\n  ${title}\n${RULE}`)
}

/** @param {string} title */
function section(title) {
  console.log(`\n── ${title} ${'─'.repeat(Math.max(0, 74 - title.length))}`)
}

/**
 * JSON laid out for reading: a value that fits on one line stays on one line, so that a list of
 * small checks reads as a list rather than as a column of braces.
 * @param {unknown} value
 * @param {string} [indent]
 * @returns {string}
 */
function pretty(value, indent = '') {
  const compact = JSON.stringify(value)
  if (value === null || typeof value !== 'object' || indent.length + compact.length <= 96) {
    return compact
  }
  const inner = `${indent}  `
  const items = Array.isArray(value)
    ? value.map((item) => inner + pretty(item, inner))
    : Object.entries(value).map(
        ([key, item]) => `${inner}${JSON.stringify(key)}: ${pretty(item, inner)}`,
      )
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}']
  return `${open}\n${items.join(',\n')}\n${indent}${close}`
}

/**
 * The report output, pretty-printed and cut after REPORT_LINES lines: enough to see its shape
 * without scrolling past the rest.
 * @param {string} value
 */
function formatReport(value) {
  let text
  try {
    text = pretty(JSON.parse(value))
  } catch {
    return value.length > 2000 ? `${value.slice(0, 2000)} … (${value.length} characters)` : value
  }
  const lines = text.split('\n')
  if (lines.length <= REPORT_LINES) return text
  return [...lines.slice(0, REPORT_LINES), `… (${lines.length - REPORT_LINES} more lines)`].join(
    '\n',
  )
}

/**
 * One output per line as `name = value`; lines of a multi-line value are indented under it.
 * @param {Record<string, string>} outputs
 */
function printOutputs(outputs) {
  const names = Object.keys(outputs)
  if (names.length === 0) console.log('(none)')
  const width = Math.max(0, ...names.map((name) => name.length))
  for (const name of names) {
    const value = name === 'report' ? formatReport(outputs[name]) : outputs[name]
    const [first, ...rest] = value.split('\n')
    console.log(`${name.padEnd(width)} = ${first}`.trimEnd())
    for (const line of rest) console.log(`${' '.repeat(width + 3)}${line}`)
  }
}

/**
 * @param {string} title
 * @param {import('./lib/run-action.mjs').RunResult} result
 */
function printRun(title, result) {
  heading(title)
  section('Job summary (GITHUB_STEP_SUMMARY, Markdown)')
  console.log(result.summary.trim() || '(empty)')
  section('Outputs (GITHUB_OUTPUT)')
  printOutputs(result.outputs)
  // The log is noise when the action did its job; it is the only clue when it did not.
  if (result.timedOut || result.outputs.result === undefined) {
    section('Log of the action (it wrote no result)')
    console.log([result.stdout, result.stderr].filter(Boolean).join('\n').trim() || '(empty)')
  }
  section('Exit')
  const how = result.timedOut
    ? `killed after the time limit (${result.signal})`
    : `code ${result.code}`
  console.log(`${how}, after ${result.durationMs} ms`)
}

/**
 * A word as a POSIX shell reads it back: bare when it is plain, else in single quotes.
 * @param {string} word
 */
const shellWord = (word) =>
  /^[\w./:@=+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`

/**
 * The command line, run as on a RHEL host where a pull of ubi9/ubi fails with `unauthorized`: the
 * service account's secret piped in, as a person or a CI job would give it.
 * @param {string} host
 * @param {string} password
 * @param {string} caPath
 */
async function runTerminal(host, password, caPath) {
  const args = ['--registry', host, '-u', USERNAME, '--password-stdin', '--image', IMAGES[0]]
  heading('Run 3 of 3: the wrong secret from a terminal (dist/cli.js, the command line)')
  console.log(`$ export NODE_EXTRA_CA_CERTS=${caPath}`)
  console.log(
    `$ printf '%s\\n' "$TOKEN" | registry-auth-preflight ${args.map(shellWord).join(' ')}`,
  )
  const result = await runCli({
    args,
    stdin: `${password}\n`,
    env: { NODE_EXTRA_CA_CERTS: caPath },
  })
  process.stdout.write(result.stdout)
  process.stdout.write(result.stderr)
  const how = result.timedOut ? `killed after the time limit (${result.signal})` : `${result.code}`
  console.log(`$ echo $?\n${how}`)
}

async function main() {
  for (const path of [ACTION_PATH, CLI_PATH]) {
    if (!existsSync(path)) {
      console.error(`${path} does not exist: run npm run build first.`)
      return 1
    }
  }
  const dir = await mkdtemp(join(tmpdir(), 'registry-auth-preflight-demo-'))
  /** @type {import('./lib/fake-registry.mjs').FakeRedHat | undefined} */
  let registry
  try {
    const tls = await makeCertificates(dir)
    registry = await startFakeRedHat({
      tls,
      users: { [USERNAME]: SECRET },
      images: { 'ubi9/ubi': ['latest', '9.4'], 'rhel9/postgresql-15': ['latest'] },
    })
    console.log(`A fake registry.redhat.io and its token service listen on ${registry.url}`)
    console.log(`(their own test CA, trusted by the action through NODE_EXTRA_CA_CERTS).`)
    console.log(`Service account: ${USERNAME}; images: ${IMAGES.join(', ')}.`)

    const runs = [
      ['Run 1 of 3: the right service-account secret', SECRET],
      ['Run 2 of 3: a wrong secret (say, a regenerated token not yet in secrets.*)', WRONG_SECRET],
    ]
    for (const [title, password] of runs) {
      const result = await runAction({
        inputs: {
          registry: registry.host,
          username: USERNAME,
          password,
          images: IMAGES.join('\n'),
        },
        env: { NODE_EXTRA_CA_CERTS: tls.caPath },
      })
      printRun(title, result)
    }
    await runTerminal(registry.host, WRONG_SECRET, tls.caPath)
    return 0
  } finally {
    await registry?.close()
    await rm(dir, { recursive: true, force: true })
  }
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error) => {
    console.error('The demo itself failed:', error)
    process.exitCode = 1
  },
)
