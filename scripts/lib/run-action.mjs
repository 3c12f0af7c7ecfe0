// Runs the built action (dist/index.js) in a child process the way a GitHub runner does: inputs as
// INPUT_* variables (with action.yml's defaults), the file commands (GITHUB_OUTPUT,
// GITHUB_STEP_SUMMARY, …) as fresh files, and nothing of the caller's environment but PATH and HOME,
// so that a developer's https_proxy or NODE_OPTIONS cannot change what a test sees.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'

/** The bundle the runner executes (`runs.main` in action.yml). */
const OFFLINE_DNS = new URL('./offline-dns.mjs', import.meta.url).href

export const ACTION_PATH = fileURLToPath(new URL('../../dist/index.js', import.meta.url))
const ACTION_YML = fileURLToPath(new URL('../../action.yml', import.meta.url))

/**
 * @typedef {object} RunOptions
 * @property {Record<string, string>} [inputs] input name (as in action.yml) → value
 * @property {Record<string, string | undefined>} [env] extra environment, applied last; undefined
 *   removes a variable (e.g. `{ GITHUB_STEP_SUMMARY: undefined }` for a run outside a runner)
 * @property {string} [cwd] working directory; by default an empty workspace in the temp dir
 * @property {number} [timeoutMs] kill the action (SIGKILL) after this long; default 60000
 * @property {boolean} [applyDefaults] set action.yml's defaults for inputs not given, as the
 *   runner does; default true
 * @property {string} [script] what to run in the action's place, in the same environment (the
 *   bench's requests-only floor); default dist/index.js
 * @property {string} [node] the node binary that runs it; default this process's (the bench runs
 *   the action on the Node that action.yml names, when it is installed)
 *
 * @typedef {object} RunResult
 * @property {number | null} code exit code; null when the process was killed
 * @property {NodeJS.Signals | null} signal the signal that killed it, if one did
 * @property {boolean} timedOut whether runAction killed it for running past timeoutMs
 * @property {string} stdout
 * @property {string} stderr
 * @property {Record<string, string>} outputs what the action wrote to GITHUB_OUTPUT
 * @property {string} summary what the action wrote to GITHUB_STEP_SUMMARY
 * @property {number} durationMs
 */

/**
 * The variable @actions/core reads an input from: `INPUT_` + the name upper-cased with spaces
 * turned to underscores. Hyphens stay (`INPUT_FAIL-ON-ERROR`), which is why the child must get its
 * environment as an object, never through a shell.
 * @param {string} name
 */
export const inputVariable = (name) => `INPUT_${name.replace(/ /g, '_').toUpperCase()}`

/**
 * @param {string} raw
 * @param {string} name for the error message
 */
function yamlScalar(raw, name) {
  const value = raw.replace(/\s+#.*$/, '').trim()
  if (/^'.*'$/.test(value)) return value.slice(1, -1).replace(/''/g, "'")
  if (/^".*"$/.test(value)) return /** @type {string} */ (JSON.parse(value))
  if (/^[|>]/.test(value))
    throw new Error(
      `action.yml: the default of '${name}' is a block scalar, which runAction cannot read`,
    )
  return value
}

/**
 * The `default:` of every input in action.yml, which the runner sets as INPUT_* when a workflow
 * leaves the input out (and @actions/core's getBooleanInput throws on an unset input). A reader for
 * that file's plain shape only: an `inputs:` block, one key per input, one-line scalar defaults.
 * Nothing when action.yml does not exist.
 * @param {string} [path]
 * @returns {Promise<Record<string, string>>}
 */
export async function actionDefaults(path = ACTION_YML) {
  if (!existsSync(path)) return {}
  /** @type {Record<string, string>} */
  const defaults = {}
  let inInputs = false
  let inputIndent = -1
  let input = ''
  for (const line of (await readFile(path, 'utf8')).split(/\r?\n/)) {
    if (!line.trim() || line.trimStart().startsWith('#')) continue
    const indent = line.length - line.trimStart().length
    if (indent === 0) {
      inInputs = /^inputs:\s*$/.test(line)
      inputIndent = -1
      continue
    }
    if (!inInputs) continue
    if (inputIndent < 0) inputIndent = indent
    const key = /^\s*([^:\s][^:]*):\s*(.*)$/.exec(line)
    if (!key) continue
    if (indent === inputIndent) input = key[1]
    else if (key[1] === 'default') defaults[input] = yamlScalar(key[2], input)
  }
  return defaults
}

/**
 * Parses a file-command file such as GITHUB_OUTPUT. @actions/core writes every value as a heredoc
 * block (`name<<ghadelimiter_<uuid>` … `ghadelimiter_<uuid>`); `name=value` lines are read too. When
 * a name repeats, the last value wins, as on the runner.
 * @param {string} text
 * @returns {Record<string, string>}
 */
export function parseFileCommands(text) {
  // A Map, turned into an object at the end: an output named __proto__ stays an ordinary key.
  /** @type {Map<string, string>} */
  const values = new Map()
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]
    const equals = line.indexOf('=')
    const heredoc = line.indexOf('<<')
    if (heredoc > 0 && (equals < 0 || heredoc < equals)) {
      const name = line.slice(0, heredoc)
      const delimiter = line.slice(heredoc + 2)
      const end = lines.indexOf(delimiter, i + 1)
      if (end < 0) throw new Error(`file command: '${name}' has no closing ${delimiter}`)
      values.set(name, lines.slice(i + 1, end).join('\n'))
      i = end
    } else if (equals > 0) {
      values.set(line.slice(0, equals), line.slice(equals + 1))
    }
  }
  return Object.fromEntries(values)
}

/**
 * @param {Record<string, string | undefined>} layers
 * @returns {Record<string, string>}
 */
function definedOnly(layers) {
  return Object.fromEntries(
    /** @type {[string, string][]} */ (
      Object.entries(layers).filter(([, value]) => value !== undefined)
    ),
  )
}

/**
 * Runs the script with node, collecting its output; kills it once timeoutMs has passed (SIGKILL:
 * an action that hangs on a socket may well ignore gentler signals).
 * @param {string} node
 * @param {string} script
 * @param {Record<string, string>} env
 * @param {string} cwd
 * @param {number} timeoutMs
 * @returns {Promise<Pick<RunResult, 'code' | 'signal' | 'timedOut' | 'stdout' | 'stderr'>>}
 */
function runNode(node, script, env, cwd, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    // 'close', not 'exit': only then has all of stdout and stderr arrived.
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, timedOut, stdout, stderr })
    })
  })
}

/**
 * Runs dist/index.js as a GitHub runner would and reports what it did.
 * @param {RunOptions} [options]
 * @returns {Promise<RunResult>}
 */
export async function runAction({
  inputs = {},
  env = {},
  cwd,
  timeoutMs = 60_000,
  applyDefaults = true,
  script = ACTION_PATH,
  node = process.execPath,
} = {}) {
  if (!existsSync(script))
    throw new Error(
      script === ACTION_PATH
        ? `${ACTION_PATH} does not exist: run npm run build first`
        : `${script} does not exist`,
    )
  const temp = await mkdtemp(join(tmpdir(), 'run-action-'))
  try {
    const files = {
      GITHUB_OUTPUT: join(temp, 'output'),
      GITHUB_STEP_SUMMARY: join(temp, 'step-summary.md'),
      GITHUB_ENV: join(temp, 'env'),
      GITHUB_PATH: join(temp, 'path'),
      GITHUB_STATE: join(temp, 'state'),
    }
    await Promise.all(Object.values(files).map((file) => writeFile(file, '')))
    const runnerTemp = join(temp, 'runner-temp')
    await mkdir(runnerTemp)
    // The runner starts an action in the workspace; an empty one proves the bundle needs no repo files.
    const workspace = cwd ?? join(temp, 'workspace')
    if (cwd === undefined) await mkdir(workspace)

    const given = { ...(applyDefaults ? await actionDefaults() : {}), ...inputs }
    const childEnv = definedOnly({
      PATH: process.env.PATH,
      HOME: process.env.HOME ?? temp,
      ...files,
      RUNNER_TEMP: runnerTemp,
      GITHUB_WORKSPACE: workspace,
      ...Object.fromEntries(
        Object.entries(given).map(([name, value]) => [inputVariable(name), value]),
      ),
      // Reserved test names fail to resolve without a DNS query leaving the machine.
      NODE_OPTIONS: `--import=${OFFLINE_DNS}`,
      ...env,
    })

    const started = performance.now()
    const run = await runNode(node, script, childEnv, workspace, timeoutMs)
    const durationMs = Math.round(performance.now() - started)
    const [outputs, summary] = await Promise.all([
      readFile(files.GITHUB_OUTPUT, 'utf8').then(parseFileCommands),
      readFile(files.GITHUB_STEP_SUMMARY, 'utf8'),
    ])
    return { ...run, outputs, summary, durationMs }
  } finally {
    await rm(temp, { recursive: true, force: true })
  }
}
