/**
 * The command line's edge, a second one over the same core as src/main.ts: the flags become the
 * action's inputs (src/cli/reader.ts), parseInputs and preflight decide everything, and this only
 * writes the result for a terminal or a CI log and chooses the exit status. It does not load
 * @actions/core: there is no runner to mask secrets, so nothing here prints one (src/cli/redact.ts).
 */
import { open, type FileHandle } from 'node:fs/promises'
import type { Readable, Writable } from 'node:stream'
import { InputError, parseInputs, secretsOf, type ActionInputs } from '../inputs.js'
import { outputsOf } from '../outputs.js'
import { CONCURRENCY, preflight } from '../preflight.js'
import { invalidInputReport, type Report } from '../report.js'
import { renderSummary } from '../summary.js'
import { quote } from '../text.js'
import { VERSION } from '../version.js'
import { FLAGS, UsageError, parseArgs, type CliArgs } from './args.js'
import { inputReader, readPasswordFrom } from './reader.js'
import { Redactor } from './redact.js'
import { renderHeader, renderText, styleFor, usage } from './render.js'

/** The exit statuses, as --help and the README give them. */
export const EXIT = { ready: 0, notReady: 1, usage: 2, bug: 3 } as const

const NAME = 'registry-auth-preflight'

export interface CliIO {
  argv: readonly string[]
  env: NodeJS.ProcessEnv
  stdin: Readable
  stdout: Writable & { isTTY?: boolean }
  stderr: Writable & { isTTY?: boolean }
}

/** Runs the command line; resolves to the exit status. Never rejects. */
export async function main(io: CliIO): Promise<number> {
  const redactor = new Redactor()
  const errors = styleFor(io.stderr, io.env)
  const fail = (message: string): void => {
    io.stderr.write(redactor.text(`${NAME}: ${message}\n`))
  }
  try {
    return await check(io, redactor)
  } catch (err) {
    if (err instanceof UsageError) {
      fail(`${err.message}\nTry '${NAME} --help'.`)
      return EXIT.usage
    }
    fail(
      errors.fail(
        `stopped unexpectedly: ${err instanceof Error ? err.message : String(err)} (please report this)`,
      ),
    )
    return EXIT.bug
  }
}

async function check(io: CliIO, redactor: Redactor): Promise<number> {
  const { env, stdout, stderr } = io
  const args = parseArgs(io.argv)
  if (args.help) {
    stdout.write(usage())
    return EXIT.ready
  }
  if (args.version) {
    stdout.write(`${VERSION}\n`)
    return EXIT.ready
  }

  const stdinPassword = args.passwordStdin ? await readPasswordFrom(io.stdin) : undefined
  const given = inputReader(args, env, stdinPassword)
  // The inputs parseInputs asked for: a flag whose input it never reads does nothing in this build.
  const asked = new Set<string>()
  const read = (name: string): string => {
    asked.add(name)
    return given(name)
  }
  for (const secret of secretsOf(given, env)) redactor.add(secret)
  const warnStyle = styleFor(stderr, env)
  const warn = (text: string): void => {
    stderr.write(redactor.text(`${warnStyle.warn('warning:')} ${text}\n`))
  }
  if (args.passwordOnCommandLine) {
    warn(
      'a password on the command line lands in shell history and in the process list (ps): use --password-stdin or REGISTRY_PASSWORD.',
    )
  }

  // Opened first, so that a summary file that cannot be written stops the run before any request.
  const summary = args.summaryFile === undefined ? undefined : await openSummary(args.summaryFile)
  try {
    let inputs: ActionInputs
    try {
      inputs = parseInputs(read, env, (secret) => redactor.add(secret))
    } catch (err) {
      if (!(err instanceof InputError)) throw err
      stderr.write(redactor.text(`${NAME}: ${err.message}${flagOf(err.input, args)}\n`))
      // As the action: a report of the invalid input, for whoever reads the JSON or the summary.
      const report = invalidInputReport(
        err.message,
        quote(read('registry').trim() || 'registry.redhat.io'),
      )
      await publish(io, args, redactor, report, [], summary, true)
      return EXIT.usage
    }

    for (const input of args.inputs.keys()) {
      if (asked.has(input)) continue
      const flags = FLAGS.filter((f) => f.input === input).map((f) => `--${f.long}`)
      warn(`${flags.join(' and ')}: not supported by this version (${VERSION}), which ignores it.`)
    }
    for (const warning of inputs.warnings) warn(warning)
    if (!args.json && !args.quiet)
      stdout.write(redactor.text(renderHeader(inputs.config, styleFor(stdout, env))))
    const report = await preflight(inputs.config, {
      onSecret: (value) => redactor.add(value),
      // The core's debug lines may hold what only a runner's mask would hide: never printed here.
      debug: () => {},
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      now: () => Date.now(),
      userAgent: `${NAME}/${VERSION}`,
      concurrency: CONCURRENCY,
    })
    for (const note of report.notes) warn(note)
    await publish(io, args, redactor, report, inputs.warnings, summary, false)
    return report.pullReady ? EXIT.ready : EXIT.notReady
  } finally {
    await summary?.close()
  }
}

/** ` (--timeout)`: the flag that gave the input parseInputs names, when a flag gave it. */
function flagOf(input: string, args: CliArgs): string {
  if (!args.inputs.has(input)) return ''
  const flags = FLAGS.filter((f) => f.input === input).map((f) => `--${f.long}`)
  return ` (${flags.join(' or ')})`
}

async function openSummary(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'w')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'an error'
    throw new UsageError(`cannot write the summary to '${quote(path)}' (${code}).`)
  }
}

/** The report as asked: JSON or text on stdout (or nothing, with --quiet), and the summary file. */
async function publish(
  io: CliIO,
  args: CliArgs,
  redactor: Redactor,
  report: Report,
  warnings: string[],
  summary: FileHandle | undefined,
  invalidInput: boolean,
): Promise<void> {
  if (summary) await summary.writeFile(redactor.text(renderSummary(report, warnings)))
  if (args.json) {
    const json = outputsOf(report).report
    io.stdout.write(`${JSON.stringify(redactor.value(JSON.parse(json) as unknown))}\n`)
  } else if (!args.quiet && !invalidInput) {
    io.stdout.write(redactor.text(renderText(report, styleFor(io.stdout, io.env))))
  }
}
