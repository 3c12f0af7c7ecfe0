// Runs the built command line (dist/cli.js) in a child process as a person or a CI job does:
// arguments, stdin, and an environment of PATH and HOME only (plus what the caller gives), so that a
// developer's https_proxy or NODE_OPTIONS cannot change what a test sees. Its output is piped, as in
// a CI log; with `tty`, it runs on a pseudo-terminal instead (util-linux `script`), as in a terminal.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'

/** The bundle the `registry-auth-preflight` bin runs. */
export const CLI_PATH = fileURLToPath(new URL('../../dist/cli.js', import.meta.url))
const OFFLINE_DNS = new URL('./offline-dns.mjs', import.meta.url).href

/**
 * @typedef {object} CliOptions
 * @property {string[]} [args] the command line after the program's name
 * @property {Record<string, string | undefined>} [env] extra environment, applied last; undefined
 *   removes a variable
 * @property {string} [stdin] written to its stdin, which is then closed; by default stdin is empty
 * @property {boolean} [tty] run it on a pseudo-terminal (stdout and stderr both become `stdout`,
 *   with the terminal's CRLF line ends turned back into LF); stdin is then empty
 * @property {number} [timeoutMs] kill it (SIGKILL) after this long; default 60000
 *
 * @typedef {object} CliResult
 * @property {number | null} code exit code; null when the process was killed
 * @property {NodeJS.Signals | null} signal the signal that killed it, if one did
 * @property {boolean} timedOut whether runCli killed it for running past timeoutMs
 * @property {string} stdout
 * @property {string} stderr
 * @property {number} durationMs
 */

/** @param {string} word */
const shellQuote = (word) => `'${word.replace(/'/g, `'\\''`)}'`

/**
 * Runs dist/cli.js and reports what it did.
 * @param {CliOptions} [options]
 * @returns {Promise<CliResult>}
 */
export async function runCli({
  args = [],
  env = {},
  stdin = '',
  tty = false,
  timeoutMs = 60_000,
} = {}) {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} does not exist: run npm run build first`)
  // An empty working directory: the bundle needs no file of the repository.
  const cwd = await mkdtemp(join(tmpdir(), 'run-cli-'))
  try {
    const childEnv = Object.fromEntries(
      /** @type {[string, string][]} */ (
        Object.entries({
          PATH: process.env.PATH,
          HOME: process.env.HOME ?? cwd,
          // Reserved test names fail to resolve without a DNS query leaving the machine.
          NODE_OPTIONS: `--import=${OFFLINE_DNS}`,
          ...env,
        }).filter(([, value]) => value !== undefined)
      ),
    )
    const command = [process.execPath, CLI_PATH, ...args]
    const [file, argv] = tty
      ? // -q no banner, -e its exit status, -f flush at once; the log file is thrown away.
        ['script', ['-qefc', command.map(shellQuote).join(' '), '/dev/null']]
      : [command[0], command.slice(1)]

    const started = performance.now()
    const run = await new Promise((resolve, reject) => {
      const child = spawn(file, argv, { cwd, env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk))
      child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk))
      // A child that exits before reading all of stdin is not a failure of the harness.
      child.stdin.on('error', () => {})
      child.stdin.end(tty ? '' : stdin)
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
        if (tty) stdout = stdout.replace(/\r\n/g, '\n')
        resolve({ code, signal, timedOut, stdout, stderr })
      })
    })
    return {
      .../** @type {Omit<CliResult, 'durationMs'>} */ (run),
      durationMs: Math.round(performance.now() - started),
    }
  } finally {
    await rm(cwd, { recursive: true, force: true })
  }
}
