/**
 * The action's edge: reads the inputs, masks the secrets, runs the preflight, and writes
 * outputs, annotations and the job summary. The only module that touches the runner.
 */
import * as core from '@actions/core'
import { InputError, parseInputs, secretsOf, type ActionInputs } from './inputs.js'
import { outputsOf } from './outputs.js'
import { CONCURRENCY, preflight } from './preflight.js'
import { invalidInputReport, type Report } from './report.js'
import { renderSummary } from './summary.js'
import { adviceContext, howToFix } from './advice.js'
import { quote } from './text.js'
import { VERSION } from './version.js'

export { VERSION }

export async function run(): Promise<void> {
  try {
    const read = (name: string): string => core.getInput(name, { trimWhitespace: false })
    for (const secret of secretsOf(read, process.env)) core.setSecret(secret)

    let inputs: ActionInputs
    try {
      inputs = parseInputs(read, process.env, (secret) => core.setSecret(secret))
    } catch (err) {
      if (!(err instanceof InputError)) throw err
      // An input error fails the step whatever fail-on-error says: the workflow itself is wrong.
      const report = invalidInputReport(
        err.message,
        quote(read('registry').trim() || 'registry.redhat.io'),
      )
      await publish(report, [], read('summary').trim().toLowerCase() !== 'false', true)
      core.setFailed(err.message)
      return
    }

    for (const warning of inputs.warnings) core.warning(warning)
    const report = await preflight(inputs.config, {
      onSecret: (value) => core.setSecret(value),
      // Debug lines are written only when the runner shows them (RUNNER_DEBUG=1): with many
      // images they are hundreds of writes to stdout.
      debug: core.isDebug() ? (message) => core.debug(message) : () => {},
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      now: () => Date.now(),
      userAgent: `registry-auth-preflight/${VERSION}`,
      concurrency: CONCURRENCY,
    })
    logReport(report, inputs.warnings)
    await publish(report, inputs.warnings, inputs.writeSummary, inputs.failOnError)
    for (const note of report.notes) core.warning(note)
    for (const line of report.info) core.info(line)
    if (report.pullReady) core.info(report.message)
    else if (inputs.failOnError) core.setFailed(report.message)
    else
      core.warning(
        `${report.message} This step did not fail (fail-on-error: false); the pulls will.`,
        { title: `registry-auth-preflight: ${report.result}` },
      )
  } catch (err) {
    core.setFailed(
      `registry-auth-preflight stopped unexpectedly: ${err instanceof Error ? err.message : String(err)}`,
    )
  }
}

async function publish(
  report: Report,
  warnings: string[],
  writeSummary: boolean,
  failOnError: boolean,
): Promise<void> {
  for (const [name, value] of Object.entries(outputsOf(report))) core.setOutput(name, value)
  if (!writeSummary) return
  if (!process.env.GITHUB_STEP_SUMMARY) {
    core.debug('GITHUB_STEP_SUMMARY is not set: no job summary written')
    return
  }
  await core.summary.addRaw(renderSummary(report, warnings, { failOnError }), true).write()
}

/**
 * The step's log: one line per check and image, folded into a group when there are many, then,
 * on failure, the cause and the same fix as the summary's, step by step, in plain text.
 */
function logReport(report: Report, warnings: readonly string[]): void {
  const mark = { passed: '✅', failed: '❌', skipped: '⏭️' }
  const lines: string[] = []
  for (const c of report.checks) {
    const status = c.status !== undefined ? ` → HTTP ${c.status}` : ''
    const time = c.ms !== undefined ? ` (${c.ms} ms)` : ''
    const why = c.finding ? `: ${c.finding.code}: ${c.finding.detail}` : ''
    lines.push(`${mark[c.outcome]} ${c.title}: ${c.request} ${c.host}${status}${time}${why}`)
  }
  for (const i of report.images) {
    const status = i.status !== undefined ? ` → HTTP ${i.status}` : ''
    const why = i.finding ? `: ${i.finding.code}: ${i.finding.detail}` : ''
    const says = i.registryMessage ? ` (the registry says: "${i.registryMessage}")` : ''
    lines.push(`${mark[i.outcome]} ${i.name}${status}${why}${says}`)
  }
  const grouped = lines.length > 12
  if (grouped) core.startGroup(`${lines.length} checks and images`)
  for (const line of lines) core.info(line)
  if (grouped) core.endGroup()
  if (report.pullReady) return
  const steps = howToFix(report.result, adviceContext(report, warnings))
  core.info(`How to fix (${report.result}):`)
  for (const [n, step] of steps.entries()) core.info(`  ${n + 1}. ${step}`)
}
