/**
 * The harness the end-to-end test files share: running the built action (dist/index.js) the way
 * the runner does, with step debug logging on, and reading what a user sees of a run (the
 * summary's verdict, the report, the "How to fix" section) and checking that no secret reached it.
 */
import { runAction } from '../../scripts/lib/run-action.mjs'

export type Run = Awaited<ReturnType<typeof runAction>>
type Closable = { close: () => Promise<void> }

/** The workflow command by which the action registers a secret with the runner's mask. */
export const ADD_MASK = '::add-mask::'

/**
 * Runs dist/index.js with step debug logging on (ACTIONS_STEP_DEBUG, RUNNER_DEBUG), trusting the
 * test CA at `caPath` when there is one; `env` comes on top.
 */
export function runDebug(options: {
  inputs: Record<string, string>
  env?: Record<string, string | undefined>
  caPath?: string
  timeoutMs?: number
}): Promise<Run> {
  const { inputs, env = {}, caPath, timeoutMs = 30_000 } = options
  const ca = caPath === undefined ? {} : { NODE_EXTRA_CA_CERTS: caPath }
  return runAction({
    inputs,
    env: { ...ca, ACTIONS_STEP_DEBUG: 'true', RUNNER_DEBUG: '1', ...env },
    timeoutMs,
  })
}

/** Servers started by a test file, closed together (after each test, or at the end). */
export class Servers {
  private readonly list: Closable[] = []

  /** Keeps `server` for closing, and returns it. */
  add<T extends Closable>(server: T): T {
    this.list.push(server)
    return server
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.list.splice(0).map((s) => s.close()))
  }
}

/** The base64 of a Basic Authorization header. */
export const basic = (user: string, password: string): string =>
  Buffer.from(`${user}:${password}`).toString('base64')

/** A password as given and URL-encoded. */
export const withEncoded = (password: string): string[] => [password, encodeURIComponent(password)]

/** stdout without the runner's own `::add-mask::` commands (it consumes them). */
export function visibleStdout(run: Run): string {
  return run.stdout
    .split('\n')
    .filter((line) => !line.startsWith(ADD_MASK))
    .join('\n')
}

const leakMessage = (secret: string, place: string): string =>
  `a secret (${secret.slice(0, 4)}…) leaked into ${place}`

/**
 * No secret anywhere a person or a later step could read it: stdout (the runner's own
 * `::add-mask::` commands aside: the runner consumes them), stderr, every output, the summary.
 * Throws `message(secret, place)` for the first secret found.
 */
export function expectNoSecrets(
  run: Run,
  secrets: string[],
  message: (secret: string, place: string) => string = leakMessage,
): void {
  const places = {
    stdout: visibleStdout(run),
    stderr: run.stderr,
    outputs: JSON.stringify(run.outputs),
    summary: run.summary,
  }
  for (const [place, text] of Object.entries(places)) {
    for (const secret of secrets) {
      if (text.includes(secret)) throw new Error(message(secret, place))
    }
  }
}

/** A request as the test servers record it. */
type Recorded = { method: string; url: string; headers: { authorization?: string } }

/**
 * Requests as `METHOD /path?query` lines, headers left out: what a failing expect prints, so that
 * it never prints a credential a request carried.
 */
export function requestLines(requests: Recorded[]): string[] {
  return requests.map((r) => `${r.method} ${r.url}`)
}

/**
 * For each request, whether its Authorization header is `expected` (undefined: none): compared
 * here, so that a failing expect prints true and false rather than the header's secret.
 */
export function authorizationIs(requests: Recorded[], expected: string | undefined): boolean[] {
  return requests.map((r) => r.headers.authorization === expected)
}

/** The raw `::add-mask::` lines of a run's stdout. */
export function maskLines(run: Run): string[] {
  return run.stdout.split('\n').filter((line) => line.startsWith(ADD_MASK))
}

/**
 * The values the action registered with the runner's mask. A workflow command escapes `%`, CR and
 * LF in its data (`%25`, `%0D`, `%0A`); the runner undoes that before masking, and so does this.
 */
export function masked(run: Run): string[] {
  return maskLines(run).map((line) =>
    line.slice(ADD_MASK.length).replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%'),
  )
}

/** No stack trace and no "stopped unexpectedly" in what the run wrote. */
export function expectNoStackTrace(run: Run): void {
  expect(run.stdout).not.toMatch(/stopped unexpectedly/)
  expect(`${run.stdout}\n${run.stderr}`).not.toMatch(/^\s+at .+[:(]\d+/m)
}

/** The summary's first line. */
export function verdict(run: Run): string {
  return run.summary.split('\n')[0]
}

/** A finding of a check or an image: the result code it stands for, and what happened. */
export type ReportFinding = { code: string; detail: string }

/** One step of the procedure as the report shows it (`ping`, `token`, `registry`). */
export type ReportCheck = {
  id: string
  title: string
  host: string
  request: string
  outcome: string
  status?: number
  attempts?: number
  finding?: ReportFinding
  via?: 'direct' | 'proxy'
  /** The failure happened at the proxy, not at `host`. */
  atProxy?: boolean
}

/** One image as the report shows it. */
export type ReportImage = {
  image: string
  name: string
  registry: string
  repository: string
  reference: string
  anonymous: boolean
  outcome: string
  status?: number
  digest?: string
  finding?: ReportFinding
  registryMessage?: string
  rateLimit?: { limit?: number; remaining?: number; windowSeconds?: number; source?: string }
}

/** Which way a host went, and why. */
export type ReportRoute = { host: string; via: 'direct' | 'proxy'; reason: string }

/**
 * The `report` output as the tests read it: the fields a workflow can read with `fromJSON`, written
 * from that JSON rather than imported from the source's types, so that what a test reads is what a
 * user reads, whatever the source calls it inside. Timings are left out: no test can assert them.
 */
export type Report = {
  registry: string
  pullReady: boolean
  result: string
  message: string
  failedHop?: string
  failedHost?: string
  checks: ReportCheck[]
  images: ReportImage[]
  ssoStatus?: number
  registryStatus?: number
  tokenExpiresIn?: number
  auth: {
    scheme: string
    credentials: string
    realm?: string
    realmSource?: string
    discoveredRealm?: string
  }
  proxy: {
    url?: string
    source: string
    schemeAssumed: boolean
    noProxy: string[]
    noProxySource?: string
  }
  routes: ReportRoute[]
  notes: string[]
}

/** The `report` output, parsed. */
export function parseReport<T = Report>(run: Run): T {
  return JSON.parse(run.outputs.report) as T
}

/** The summary's "How to fix" section, or '' when there is none. */
export function howToFix(run: Run): string {
  const at = run.summary.indexOf('### How to fix')
  return at < 0 ? '' : run.summary.slice(at)
}

export function expectOutputs(run: Run, expected: Record<string, string>, code: number): void {
  expect(run.outputs).toMatchObject(expected)
  expect(run.code).toBe(code)
}

/** Pulls will succeed: exit 0, `ok`, the token service and the registry said 200, and the verdict. */
export function expectPullReady(run: Run): void {
  expectOutputs(
    run,
    { result: 'ok', 'pull-ready': 'true', 'sso-status': '200', 'registry-status': '200' },
    0,
  )
  expect(verdict(run)).toBe('## ✅ Pulls will succeed')
}

/**
 * The run ended in `result` (exit 1) before the token service or the registry answered anything:
 * stopped at the proxy, at a name, at a connection. Neither status output is set.
 */
export function expectNoAnswer(run: Run, result: string): void {
  expectOutputs(run, { result, 'pull-ready': 'false', 'sso-status': '', 'registry-status': '' }, 1)
}
