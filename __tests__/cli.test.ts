/**
 * The command line (dist/cli.js), built, run as a person or a CI job runs it (scripts/lib/
 * run-cli.mjs: arguments, stdin, piped output or a pseudo-terminal), against the loopback peers the
 * action's tests use. Each case asserts the exit status, the lines printed, that `--json` is the
 * action's own `report` output for the same case (the action is run too), and that no secret
 * reached stdout or stderr. The parsing of the command line is also tested in-process.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { isBuiltin } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startConnectProxy } from '../scripts/lib/connect-proxy.mjs'
import { closedPort, startFakeRedHat } from '../scripts/lib/fake-registry.mjs'
import { actionDefaults } from '../scripts/lib/run-action.mjs'
import { CLI_PATH, runCli } from '../scripts/lib/run-cli.mjs'
import { makeCertificates, type Certificates } from '../scripts/lib/tls.mjs'
import { FLAGS, UsageError, parseArgs } from '../src/cli/args.js'
import { ACTION_DEFAULTS, inputReader } from '../src/cli/reader.js'
import { Redactor } from '../src/cli/redact.js'
import { inert } from '../src/cli/render.js'
import { parseInputs } from '../src/inputs.js'
import { Servers, basic, parseReport, runDebug, type Run } from './support/e2e.js'

const USER = '12345678|ci-pipeline'
// Made up for each run, shaped like a service account's token.
const PASSWORD = `eyJ${randomBytes(24).toString('base64url')}`
const WRONG_PASSWORD = `eyJ${randomBytes(24).toString('base64url')}`
const IMAGES = { 'ubi9/ubi': ['latest', '9.4'], 'rhel9/postgresql-15': ['latest'] }
/** A name only the proxy resolves (the test certificate names it too). */
const PROXIED_NAME = 'registry.proxied.test'
const PROXY_USER = 'proxy-user'
const PROXY_PASSWORD = `pr0xy${randomBytes(8).toString('hex')}`
// eslint-disable-next-line no-control-regex
const ESCAPE = /\x1b\[/

type Fake = Awaited<ReturnType<typeof startFakeRedHat>>
type CliRun = Awaited<ReturnType<typeof runCli>>
type Json = Record<string, unknown> & {
  checks: Record<string, unknown>[]
  images: Record<string, unknown>[]
}

let dir: string
let tls: Certificates
const servers = new Servers()

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'preflight-cli-'))
  tls = await makeCertificates(dir, { names: [PROXIED_NAME] })
})

afterEach(async () => {
  await servers.closeAll()
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function fakeRedHat(): Promise<Fake> {
  return servers.add(await startFakeRedHat({ tls, users: { [USER]: PASSWORD }, images: IMAGES }))
}

/** Runs dist/cli.js trusting the test CA, with the request budget the action's tests use. */
function cli(
  args: string[],
  options: { env?: Record<string, string | undefined>; stdin?: string; tty?: boolean } = {},
): Promise<CliRun> {
  return runCli({
    args: ['--retries', '0', '--timeout', '5', ...args],
    env: { NODE_EXTRA_CA_CERTS: tls.caPath, ...options.env },
    stdin: options.stdin,
    tty: options.tty,
  })
}

/** Runs dist/index.js for the same case, as the runner would. */
function action(
  inputs: Record<string, string>,
  env: Record<string, string | undefined> = {},
): Promise<Run> {
  return runDebug({
    inputs: { retries: '0', timeout: '5', ...inputs },
    env,
    caPath: tls.caPath,
  })
}

/** A report without what differs from run to run: the times. */
function withoutTimings(report: Json): Json {
  const copy = structuredClone(report)
  delete copy.durationMs
  for (const item of [...copy.checks, ...copy.images]) delete item.ms
  return copy
}

/** `--json` is the action's `report` output, times aside. */
function expectSameReport(run: CliRun, actionRun: Run): Json {
  expect(run.stdout.endsWith('\n')).toBe(true)
  expect(run.stdout.trimEnd().split('\n')).toHaveLength(1)
  const cliReport = JSON.parse(run.stdout) as Json
  expect(withoutTimings(cliReport)).toEqual(withoutTimings(parseReport<Json>(actionRun)))
  return cliReport
}

/** No secret, in any form it takes on the wire, in what the run printed. */
function expectNoSecrets(run: CliRun, secrets: string[], tokens: string[] = []): void {
  const forms = secrets.flatMap((s) => [
    s,
    encodeURIComponent(s),
    Buffer.from(s).toString('base64'),
    basic(USER, s),
  ])
  for (const secret of [...forms, ...tokens]) {
    expect({ secret, in: run.stdout.includes(secret) }).toEqual({ secret, in: false })
    expect({ secret, in: run.stderr.includes(secret) }).toEqual({ secret, in: false })
  }
}

const ALL_SECRETS = [PASSWORD, WRONG_PASSWORD, PROXY_PASSWORD]

describe('a registry like registry.redhat.io', () => {
  test('good credentials from --password-stdin, newline trimmed: exit 0, a line per check and image', async () => {
    const fake = await fakeRedHat()
    const args = ['--registry', fake.host, '-u', USER, '--password-stdin']
    const images = ['--image', 'ubi9/ubi:latest', '--image', 'rhel9/postgresql-15']
    const run = await cli([...args, ...images], { stdin: `${PASSWORD}\n` })
    expect(run.code).toBe(0)
    // The trailing newline went before parseInputs saw the password: it would warn of it.
    expect(run.stderr).toBe('')
    const lines = run.stdout.split('\n')
    const host = fake.host.replace(/\./g, '\\.')
    expect(lines[0]).toBe(
      `Checking ${fake.host}: 2 images, platform linux/amd64 (from this machine), no proxy`,
    )
    expect(lines.slice(1, 7)).toEqual([
      expect.stringMatching(
        new RegExp(`^ {2}pass {2}Reach the registry: GET /v2/ ${host} -> HTTP 401 \\(\\d+ ms\\)$`),
      ),
      expect.stringMatching(
        /^ {2}pass {2}Token service accepts the credentials: GET \/auth\/\S+ \S+ -> HTTP 200 \(\d+ ms\)$/,
      ),
      expect.stringMatching(
        /^ {2}pass {2}Registry accepts the credentials: .* HTTP 200 \(\d+ ms\)$/,
      ),
      expect.stringMatching(/^ {2}pass {2}Layers download from .* HTTP 206 \(\d+ ms\)$/),
      expect.stringMatching(
        new RegExp(
          `^ {2}pass {2}${host}/ubi9/ubi:latest -> HTTP 200 \\(\\d+ ms\\), linux/amd64, sha256:[0-9a-f]{12}…$`,
        ),
      ),
      expect.stringMatching(
        new RegExp(`^ {2}pass {2}${host}/rhel9/postgresql-15:latest -> HTTP 200`),
      ),
    ])
    expect(run.stdout).toContain(`\nHosts the pulls need: ${fake.host}\n`)
    expect(run.stdout).toMatch(/\n\nPulls will succeed\.\nPulls from \S+ will succeed: .*\.\n$/)
    expect(run.stdout).not.toMatch(ESCAPE) // piped: plain text
    expectNoSecrets(run, ALL_SECRETS, fake.issuedTokens)

    const json = await cli([...args, ...images, '--json'], { stdin: `${PASSWORD}\n` })
    expect(json.code).toBe(0)
    const reference = await action({
      registry: fake.host,
      username: USER,
      password: PASSWORD,
      images: 'ubi9/ubi:latest\nrhel9/postgresql-15',
    })
    expect(reference.outputs.result).toBe('ok')
    expect(expectSameReport(json, reference)).toMatchObject({ result: 'ok', pullReady: true })
    expectNoSecrets(json, ALL_SECRETS, fake.issuedTokens)
  })

  test('wrong password: exit 1, invalid-credentials, the verdict and how to fix', async () => {
    const fake = await fakeRedHat()
    const args = ['--registry', fake.host, '-u', USER, '--password-stdin', '--image', 'ubi9/ubi']
    const run = await cli(args, { stdin: `${WRONG_PASSWORD}\n` })
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(
      /^ {2}FAIL {2}Token service accepts the credentials: GET \/auth\/\S+ \S+ -> HTTP 401 \(\d+ ms\)\n {8}invalid-credentials: the token service at \S+ refused the credentials \(HTTP 401\)$/m,
    )
    expect(run.stdout).toMatch(/^ {2}skip {2}Registry accepts the credentials: GET \/v2\/ \S+$/m)
    expect(run.stdout).toMatch(/^ {2}skip {2}\S+\/ubi9\/ubi:latest$/m)
    expect(run.stdout).toContain(
      '\n\nPulls will fail: the credentials were refused.\nThe token service at',
    )
    expect(run.stdout).toMatch(
      /\n\nHow to fix \(invalid-credentials\):\n {2}- Check the username: a Registry Service Account’s name is written `12345678\|name`/,
    )
    expectNoSecrets(run, ALL_SECRETS, fake.issuedTokens)

    const json = await cli([...args, '--json'], { stdin: `${WRONG_PASSWORD}\n` })
    expect(json.code).toBe(1)
    const reference = await action({
      registry: fake.host,
      username: USER,
      password: WRONG_PASSWORD,
      images: 'ubi9/ubi',
    })
    expect(reference.code).toBe(1)
    expect(expectSameReport(json, reference)).toMatchObject({
      result: 'invalid-credentials',
      failedHop: 'token-service',
    })
    expectNoSecrets(json, ALL_SECRETS, fake.issuedTokens)
  })

  test('a tag that does not exist: exit 1, image-not-found, the registry’s words', async () => {
    const fake = await fakeRedHat()
    const args = [
      '--registry',
      fake.host,
      '-u',
      USER,
      '--images',
      'ubi9/ubi:latest,ubi9/ubi:0-nope',
    ]
    const env = { REGISTRY_PASSWORD: PASSWORD }
    const run = await cli(args, { env })
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/^ {2}pass {2}\S+\/ubi9\/ubi:latest -> HTTP 200/m)
    expect(run.stdout).toMatch(
      /^ {2}FAIL {2}\S+\/ubi9\/ubi:0-nope -> HTTP 404 \(\d+ ms\)\n {8}image-not-found: .*\n {8}the registry says: manifest unknown$/m,
    )
    expect(run.stdout).toContain('Pulls will fail: an image was not found.\n')
    expect(run.stdout).toContain('How to fix (image-not-found):\n  - Check the repository name')
    expectNoSecrets(run, ALL_SECRETS, fake.issuedTokens)

    const json = await cli([...args, '--json'], { env })
    const reference = await action({
      registry: fake.host,
      username: USER,
      password: PASSWORD,
      images: 'ubi9/ubi:latest,ubi9/ubi:0-nope',
    })
    expect(reference.outputs.result).toBe('image-not-found')
    expect(expectSameReport(json, reference)).toMatchObject({ result: 'image-not-found' })
    expect(json.code).toBe(1)
  })

  test('--summary FILE: the job summary the action writes, times aside', async () => {
    const fake = await fakeRedHat()
    const file = join(dir, 'summary.md')
    const run = await cli(
      [
        '--registry',
        fake.host,
        '-u',
        USER,
        '--password-stdin',
        '--image',
        'ubi9/ubi',
        '--summary',
        file,
      ],
      { stdin: `${WRONG_PASSWORD}\n` },
    )
    expect(run.code).toBe(1)
    const reference = await action({
      registry: fake.host,
      username: USER,
      password: WRONG_PASSWORD,
      images: 'ubi9/ubi',
    })
    const times = (text: string): string => text.replace(/\d+ ms/g, 'N ms')
    const summary = await readFile(file, 'utf8')
    expect(summary.split('\n')[0]).toBe('## ❌ Pulls will fail: the credentials were refused')
    // The runner's summary file gets one more line end (core.summary.addRaw(text, true)).
    expect(times(summary)).toBe(times(reference.summary).replace(/\n$/, ''))
  })
})

describe('the proxy', () => {
  async function refusingProxy(): Promise<{ fake: Fake; registry: string; url: string }> {
    const fake = await fakeRedHat()
    const proxy = servers.add(
      await startConnectProxy({
        hosts: { [PROXIED_NAME]: '127.0.0.1' },
        deny: [PROXIED_NAME],
        credentials: { user: PROXY_USER, password: PROXY_PASSWORD },
      }),
    )
    return {
      fake,
      registry: `${PROXIED_NAME}:${fake.port}`,
      url: `http://${PROXY_USER}:${PROXY_PASSWORD}@${proxy.host}`,
    }
  }

  test('--proxy that refuses the registry (403): exit 1, proxy-error; its password never shown', async () => {
    const { fake, registry, url } = await refusingProxy()
    const args = ['--registry', registry, '-u', USER, '--image', 'ubi9/ubi', '--proxy', url]
    const env = { REGISTRY_PASSWORD: PASSWORD }
    const run = await cli(args, { env })
    expect(run.code).toBe(1)
    const proxy = url.replace(/\/\/.*@/, '//')
    expect(run.stdout.split('\n')[0]).toBe(
      `Checking ${registry}: 1 image, platform linux/amd64 (from this machine), proxy ${proxy} (from --proxy)`,
    )
    expect(run.stdout).toMatch(
      /^ {2}FAIL {2}Reach the registry: GET \/v2\/ \S+ via the proxy \(\d+ ms\)\n {8}proxy-error: .*HTTP 403$/m,
    )
    expect(run.stdout).toContain('Pulls will fail: the proxy failed.\n')
    expect(run.stdout).toContain(`allow CONNECT to \`${registry}\` on the proxy ${proxy}`)
    expect(fake.requests).toHaveLength(0)
    expectNoSecrets(run, ALL_SECRETS, fake.issuedTokens)

    const json = await cli([...args, '--json'], { env })
    const reference = await action({
      registry,
      username: USER,
      password: PASSWORD,
      images: 'ubi9/ubi',
      proxy: url,
    })
    expect(expectSameReport(json, reference)).toMatchObject({
      result: 'proxy-error',
      failedHop: 'proxy',
    })
    expectNoSecrets(json, ALL_SECRETS, fake.issuedTokens)
  })

  test('the proxy from HTTPS_PROXY, as the action takes it', async () => {
    const { fake, registry, url } = await refusingProxy()
    const env = { REGISTRY_PASSWORD: PASSWORD, HTTPS_PROXY: url }
    const run = await cli(['--registry', registry, '-u', USER, '--image', 'ubi9/ubi', '--json'], {
      env,
    })
    expect(run.code).toBe(1)
    const reference = await action(
      { registry, username: USER, password: PASSWORD, images: 'ubi9/ubi' },
      { HTTPS_PROXY: url },
    )
    expect(expectSameReport(run, reference)).toMatchObject({
      result: 'proxy-error',
      proxy: { source: 'HTTPS_PROXY' },
    })
    expectNoSecrets(run, ALL_SECRETS, fake.issuedTokens)
  })
})

describe('passwords', () => {
  test('--password works, with a warning that names neither it nor any secret', async () => {
    const fake = await fakeRedHat()
    const run = await cli(['--registry', fake.host, '-u', USER, '--password', PASSWORD])
    expect(run.code).toBe(0)
    expect(run.stderr).toBe(
      'warning: a password on the command line lands in shell history and in the process list (ps): use --password-stdin or REGISTRY_PASSWORD.\n',
    )
    expectNoSecrets(run, ALL_SECRETS, fake.issuedTokens)
    const short = await cli(['--registry', fake.host, '-u', USER, `-p${WRONG_PASSWORD}`])
    expect(short.code).toBe(1)
    expect(short.stderr).toMatch(/^warning: a password on the command line/)
    expectNoSecrets(short, ALL_SECRETS, fake.issuedTokens)
  })

  test('--password-stdin drops one trailing newline (and a CR), as docker login; more is warned of', async () => {
    const fake = await fakeRedHat()
    const args = ['--registry', fake.host, '-u', USER, '--password-stdin']
    const crlf = await cli(args, { stdin: `${PASSWORD}\r\n` })
    expect(crlf).toMatchObject({ code: 0, stderr: '' })
    const bare = await cli(args, { stdin: PASSWORD })
    expect(bare).toMatchObject({ code: 0, stderr: '' })
    // Two newlines: one is the terminator, the other is in the secret, and parseInputs says so.
    const two = await cli(args, { stdin: `${PASSWORD}\n\n` })
    expect(two.code).toBe(0)
    expect(two.stderr).toMatch(/^warning: The password input has a newline at its start or end\./)
    for (const run of [crlf, bare, two]) expectNoSecrets(run, ALL_SECRETS, fake.issuedTokens)
  })

  test('--password-stdin wins over REGISTRY_PASSWORD; with --password it is a usage error', async () => {
    const fake = await fakeRedHat()
    const args = ['--registry', fake.host, '-u', USER, '--password-stdin']
    const run = await cli(args, { stdin: PASSWORD, env: { REGISTRY_PASSWORD: WRONG_PASSWORD } })
    expect(run.code).toBe(0)
    const both = await cli([...args, '--password', WRONG_PASSWORD], { stdin: PASSWORD })
    expect(both).toMatchObject({ code: 2, stdout: '' })
    expect(both.stderr).toContain('--password and --password-stdin are incompatible.')
    expect(fake.requests.length).toBeGreaterThan(0)
    expectNoSecrets(both, ALL_SECRETS)
  })
})

describe('invalid usage or input: exit 2, nothing sent', () => {
  let fake: Fake
  beforeEach(async () => {
    fake = await fakeRedHat()
  })
  afterEach(() => {
    expect(fake.requests).toHaveLength(0)
  })

  test.each([
    [['--bogus'], 'unknown flag --bogus.'],
    [['--image'], '--image needs a value (REF).'],
    [['--username', '--json'], '--username needs a value (NAME).'],
    [['--json=yes'], '--json takes no value.'],
  ])('%j', async (extra, message) => {
    const run = await cli(['--registry', fake.host, ...extra])
    expect(run).toMatchObject({
      code: 2,
      stdout: '',
      stderr: `registry-auth-preflight: ${message}\nTry 'registry-auth-preflight --help'.\n`,
    })
  })

  test('a stray value (a password without its flag, say) is not echoed', async () => {
    const run = await cli(['--registry', fake.host, '-u', USER, PASSWORD])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(
      /^registry-auth-preflight: unexpected argument 9: every value follows/,
    )
    expectNoSecrets(run, ALL_SECRETS)
  })

  test('an invalid value: parseInputs’ own message, naming the flag; --json the action’s report', async () => {
    const args = ['--registry', fake.host, '--timeout', 'ten', '-u', USER, '-p', PASSWORD]
    const run = await runCli({ args, env: { NODE_EXTRA_CA_CERTS: tls.caPath } })
    expect(run.code).toBe(2)
    expect(run.stdout).toBe('')
    expect(run.stderr.split('\n').slice(1)).toEqual([
      "registry-auth-preflight: Invalid timeout 'ten'. Expected a number of seconds from 0.1 to 600. (--timeout)",
      '',
    ])
    const json = await runCli({ args: [...args, '--json'] })
    expect(json.code).toBe(2)
    const reference = await action({ registry: fake.host, timeout: 'ten', password: PASSWORD })
    expect(reference.outputs.result).toBe('invalid-input')
    expect(JSON.parse(json.stdout)).toEqual(parseReport(reference))
    expectNoSecrets(run, ALL_SECRETS)
    expectNoSecrets(json, ALL_SECRETS)
  })

  test('a summary file that cannot be written', async () => {
    const run = await cli(['--registry', fake.host, '--summary', join(dir, 'no', 'such', 'dir.md')])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(
      /^registry-auth-preflight: cannot write the summary to '.*' \(ENOENT\)\./,
    )
  })
})

describe('a flag for an input this version does not read', () => {
  test('--auth-file: ignored with a warning until parseInputs reads `auth-file`, then used', async () => {
    const asked = new Set<string>()
    parseInputs((name) => {
      asked.add(name)
      return ACTION_DEFAULTS.get(name) ?? ''
    }, {})
    const port = await closedPort()
    const run = await cli([
      '--registry',
      `127.0.0.1:${port}`,
      '--auth-file',
      join(dir, 'auth.json'),
    ])
    const warning =
      /^warning: --auth-file: not supported by this version \(\S+\), which ignores it\.$/m
    if (asked.has('auth-file')) expect(run.stderr).not.toMatch(warning)
    else expect(run.stderr).toMatch(warning)
  })
})

describe('output', () => {
  test('colours on a terminal; none with NO_COLOR (any value, even empty) or TERM=dumb', async () => {
    const port = await closedPort()
    const args = ['--registry', `127.0.0.1:${port}`]
    const tty = await cli(args, { tty: true })
    expect(tty.code).toBe(1)
    expect(tty.stdout).toContain('\x1b[31mFAIL\x1b[39m  Reach the registry')
    expect(tty.stdout).toContain('\x1b[31m\x1b[1mPulls will fail: the connection failed.')
    for (const env of [{ NO_COLOR: '1' }, { NO_COLOR: '' }, { TERM: 'dumb' }]) {
      const plain = await cli(args, { tty: true, env })
      expect({ env, code: plain.code }).toEqual({ env, code: 1 })
      expect(plain.stdout).toContain('  FAIL  Reach the registry')
      expect({ env, escapes: ESCAPE.test(plain.stdout) }).toEqual({ env, escapes: false })
    }
  })

  test('piped: plain text, on stdout and stderr alike', async () => {
    const port = await closedPort()
    const run = await cli(['--registry', `127.0.0.1:${port}`, '-p', PASSWORD])
    expect(run.code).toBe(1)
    expect(run.stdout).toContain('  FAIL  Reach the registry')
    expect(run.stderr).toMatch(/^warning: /)
    expect(ESCAPE.test(run.stdout + run.stderr)).toBe(false)
  })

  test('--quiet: nothing on stdout, the exit status says it', async () => {
    const fake = await fakeRedHat()
    const ok = await cli(['--registry', fake.host, '-u', USER, '-q'], {
      env: { REGISTRY_PASSWORD: PASSWORD },
    })
    expect(ok).toMatchObject({ code: 0, stdout: '', stderr: '' })
    const wrong = await cli(['--registry', fake.host, '-u', USER, '--quiet'], {
      env: { REGISTRY_PASSWORD: WRONG_PASSWORD },
    })
    expect(wrong).toMatchObject({ code: 1, stdout: '', stderr: '' })
  })

  test('--help: every flag and the exit statuses, exit 0; --version: package.json’s', async () => {
    const help = await runCli({ args: ['--help'] })
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^Usage: registry-auth-preflight \[flags\]\n/)
    for (const flag of FLAGS) {
      expect(help.stdout).toContain(`${flag.short ? `-${flag.short}, ` : '    '}--${flag.long}`)
    }
    expect(help.stdout).toMatch(
      /\nExit status:\n {2}0 {2}pulls will succeed\n {2}1 {2}pulls will not succeed.*\n {2}2 {2}invalid usage or input/,
    )
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
      version: string
      bin: Record<string, string>
    }
    expect(await runCli({ args: ['--version'] })).toMatchObject({
      code: 0,
      stdout: `${pkg.version}\n`,
    })
    expect(await runCli({ args: ['-h'] })).toMatchObject({ code: 0, stdout: help.stdout })
  })
})

describe('the bundle', () => {
  const bundle = readFileSync(CLI_PATH, 'utf8')

  test('is the bin of package.json, starts with a shebang, and is executable', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { bin: Record<string, string> }
    expect(pkg.bin).toEqual({ 'registry-auth-preflight': 'dist/cli.js' })
    expect(bundle.startsWith('#!/usr/bin/env node\n')).toBe(true)
    expect(statSync(CLI_PATH).mode & 0o111).toBe(0o111)
  })

  test('loads nothing but Node built-ins, and not @actions/core', () => {
    const loaded = [...bundle.matchAll(/\brequire\(["']([^"'./][^"']*)["']\)/g)].map((m) => m[1])
    expect(loaded.length).toBeGreaterThan(0)
    expect([...new Set(loaded)].filter((name) => !isBuiltin(name))).toEqual([])
    // @actions/core's workflow commands and file commands: the action's edge, not this one.
    for (const word of ['add-mask', 'GITHUB_OUTPUT', 'GITHUB_STEP_SUMMARY', 'ACTIONS_STEP_DEBUG']) {
      expect({ word, in: bundle.includes(word) }).toEqual({ word, in: false })
    }
    expect(readFileSync(join('dist', 'index.js'), 'utf8')).toContain('add-mask')
  })
})

describe('the command line, parsed (in-process)', () => {
  test('each flag gives its input; --image and --images add up; otherwise the last wins', () => {
    const args = parseArgs([
      '--registry=quay.io',
      '-uname',
      '--image',
      'a',
      '--images',
      'b,c',
      '--image',
      '-dash',
      '--timeout',
      '3',
      '--timeout',
      '4',
      '--password-stdin',
      '--summary',
      'out.md',
      '--json',
      '-q',
    ])
    expect(Object.fromEntries(args.inputs)).toEqual({
      registry: 'quay.io',
      username: 'name',
      images: 'a\nb,c\n-dash',
      timeout: '4',
    })
    expect(args).toMatchObject({
      passwordStdin: true,
      passwordOnCommandLine: false,
      json: true,
      quiet: true,
      summaryFile: 'out.md',
    })
    expect(parseArgs(['-p', '-starts-with-dash']).inputs.get('password')).toBe('-starts-with-dash')
    expect(parseArgs(['--password=']).passwordOnCommandLine).toBe(true)
    expect(() => parseArgs(['--registry', '-q'])).toThrow(UsageError)
    expect(() => parseArgs(['-qx'])).toThrow('-q takes no value.')
    expect(() => parseArgs(['--'])).toThrow(/^unexpected argument 1/)
  })

  test('the last gate: every secret the run knows, in its forms, is cut from what is printed', () => {
    const redactor = new Redactor()
    const secret = 'p@ss w0rd/+'
    redactor.add(secret)
    redactor.add('ab') // too short to cut without cutting ordinary words
    const forms = [
      secret,
      encodeURIComponent(secret),
      Buffer.from(secret).toString('base64'),
      Buffer.from(secret).toString('base64url'),
    ]
    for (const form of forms) expect(redactor.text(`<${form}>`)).toBe('<***>')
    expect(redactor.text('about')).toBe('about')
    expect(redactor.value({ a: [secret, 1, null], [secret]: true })).toEqual({
      a: ['***', 1, null],
      '***': true,
    })
    expect(inert('a\x1b[31mred\rover')).toBe('a\\x1b[31mred\\x0dover')
  })

  test("every input of action.yml has the action's default when its flag is not given", async () => {
    const defaults = await actionDefaults()
    expect(Object.keys(defaults).length).toBeGreaterThan(5)
    const read = inputReader(parseArgs([]), {})
    for (const [name, value] of Object.entries(defaults)) {
      expect({ name, value: read(name) }).toEqual({ name, value })
      expect({ name, value: ACTION_DEFAULTS.get(name) }).toEqual({ name, value })
    }
    // Every flag's input is one the action has (auth-file: coming to action.yml).
    for (const flag of FLAGS.filter((f) => f.input && f.input !== 'auth-file')) {
      expect({ flag: flag.long, known: flag.input! in defaults }).toEqual({
        flag: flag.long,
        known: true,
      })
    }
    expect(inputReader(parseArgs([]), { REGISTRY_PASSWORD: 'from-env' })('password')).toBe(
      'from-env',
    )
    expect(inputReader(parseArgs(['-p', 'flag']), { REGISTRY_PASSWORD: 'env' })('password')).toBe(
      'flag',
    )
  })
})
