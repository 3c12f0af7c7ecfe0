/**
 * No leak, anywhere, ever: a matrix of runs of the built action (dist/index.js), each with step
 * debug logging on (ACTIONS_STEP_DEBUG and RUNNER_DEBUG), over every kind of outcome the suite
 * knows (success, refusals, a missing image, a proxy with credentials that works or answers 407,
 * redirects, a transient 5xx, invalid inputs, anonymous access). Every secret the run was given or
 * was issued — the password (as given, trimmed, URL-encoded, line by line), the Basic header's
 * base64, every token the fake registry issued, the proxy's password (raw, decoded, its
 * Proxy-Authorization base64) — is searched for in stdout (`::add-mask::` lines aside, which the
 * runner consumes), stderr, every output (the report raw and parsed) and the job summary.
 * The order matters too: the runner masks only the lines after an `::add-mask::`, so each secret
 * must be registered before the first line that could carry it.
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ResultCode } from '../src/codes.js'
import { startConnectProxy } from '../scripts/lib/connect-proxy.mjs'
import { fakeManifest, startPlainServer } from '../scripts/lib/fake-registry.mjs'
import { ADD_MASK, type Run } from './support/e2e.js'
import {
  e2eHarness,
  type FakeHandler,
  type FakeRedHat,
  type FakeRedHatOptions,
} from './support/harness.js'

const USER = '12345678|leak-matrix'
/** Characters that change under URL-encoding, a `%` that changes under command escaping, UTF-8. */
const PASSWORD = `Pa55%w0rd:/+é&=?#${randomBytes(12).toString('base64url')}`
const WRONG_PASSWORD = `Wr0ng%pa55:/+${randomBytes(12).toString('base64url')}`
const PROXY_USER = 'proxy-user'
const PROXY_PASSWORD = `pr0xy@p%ss:w/rd+${randomBytes(12).toString('base64url')}`
const WRONG_PROXY_PASSWORD = `n0t-the@pr0xy:${randomBytes(12).toString('base64url')}`
const TOKEN_PATH = '/auth/realms/rhcc/protocol/redhat-docker-v2/auth'
/** A name only the proxy resolves (the test certificate names it). */
const PROXIED = 'registry.proxied.test'

/** What a scenario gave the action, to know every secret form to look for. */
interface Given {
  inputs: Record<string, string>
  env?: Record<string, string>
  /** The registry's username and password as given to the action (untrimmed). */
  username: string
  password: string
  /** The proxy's credentials as written in the proxy URL (percent-encoded). */
  proxy?: { user: string; passwordInUrl: string }
  fake?: FakeRedHat
}

interface Scenario {
  name: string
  result: ResultCode
  /** How many tokens the fake issues in it: the masking tests below check each of them. */
  tokens: number
  setup: () => Promise<Given>
}

interface Outcome {
  run: Run
  given: Given
  tokens: string[]
}

// Every test of a scenario reads the one run of it: the servers live until the end of the file.
const e2e = e2eHarness({
  name: 'leaks',
  account: { user: USER, password: PASSWORD },
  images: { 'ubi9/ubi': ['latest', '9.4'], 'rhel9/postgresql-15': ['latest'] },
  names: [PROXIED],
  closeServers: 'after-all',
})
const outcomes = new Map<string, Promise<Outcome>>()

async function connectProxy(): Promise<Awaited<ReturnType<typeof startConnectProxy>>> {
  return e2e.servers.add(
    await startConnectProxy({
      hosts: { [PROXIED]: '127.0.0.1' },
      credentials: { user: PROXY_USER, password: PROXY_PASSWORD },
    }),
  )
}

/**
 * Good credentials against the fake, through the proxy that wants credentials: `proxyPassword` in
 * the proxy URL, given in the proxy input or in HTTPS_PROXY.
 */
async function throughProxy(proxyPassword: string, via: 'input' | 'HTTPS_PROXY'): Promise<Given> {
  const fake = await e2e.fakeRedHat()
  const proxy = await connectProxy()
  const passwordInUrl = encodeURIComponent(proxyPassword)
  const url = `http://${PROXY_USER}:${passwordInUrl}@${proxy.host}`
  return {
    inputs: {
      registry: `${PROXIED}:${fake.port}`,
      images: 'ubi9/ubi',
      username: USER,
      password: PASSWORD,
      ...(via === 'input' ? { proxy: url } : {}),
    },
    ...(via === 'HTTPS_PROXY' ? { env: { HTTPS_PROXY: url } } : {}),
    username: USER,
    password: PASSWORD,
    proxy: { user: PROXY_USER, passwordInUrl },
    fake,
  }
}

/** Good credentials against the fake, with these inputs on top. */
async function withCredentials(
  inputs: Record<string, string>,
  options: Partial<FakeRedHatOptions> = {},
): Promise<Given> {
  const fake = await e2e.fakeRedHat(options)
  return {
    inputs: { registry: fake.host, username: USER, password: PASSWORD, ...inputs },
    username: USER,
    password: PASSWORD,
    fake,
  }
}

const SCENARIOS: Scenario[] = [
  {
    name: 'good credentials, two repositories (two tokens)',
    result: 'ok',
    tokens: 2,
    setup: () => withCredentials({ images: 'ubi9/ubi:latest\nrhel9/postgresql-15' }),
  },
  {
    name: 'a wrong password',
    result: 'invalid-credentials',
    tokens: 0,
    setup: async () => {
      const given = await withCredentials({ images: 'ubi9/ubi', password: WRONG_PASSWORD })
      return { ...given, password: WRONG_PASSWORD }
    },
  },
  {
    name: 'access denied to one image',
    result: 'access-denied',
    tokens: 2,
    setup: () =>
      withCredentials(
        { images: 'ubi9/ubi\nrhel9/postgresql-15' },
        { entitlements: { [USER]: ['ubi9/ubi'] } },
      ),
  },
  {
    name: 'a missing image',
    result: 'image-not-found',
    tokens: 1,
    setup: () => withCredentials({ images: 'ubi9/ubi:no-such-tag' }),
  },
  {
    name: 'a password with white space and a newline around it (trimmed)',
    result: 'ok',
    tokens: 1,
    setup: async () => {
      const password = `  ${PASSWORD}\n`
      const given = await withCredentials({ images: 'ubi9/ubi', password })
      return { ...given, password }
    },
  },
  {
    name: 'through a proxy that wants credentials, given them in the proxy input',
    result: 'ok',
    tokens: 1,
    setup: () => throughProxy(PROXY_PASSWORD, 'input'),
  },
  {
    name: 'through a proxy that refuses the credentials in HTTPS_PROXY (407)',
    result: 'proxy-auth-required',
    tokens: 0,
    setup: () => throughProxy(WRONG_PROXY_PASSWORD, 'HTTPS_PROXY'),
  },
  {
    name: 'redirects: the token request within its origin, a manifest to another host',
    result: 'ok',
    tokens: 1,
    setup: async () => {
      const { digest, body } = fakeManifest('ubi9/ubi', 'latest')
      const mirror = await startPlainServer(
        e2e.tls,
        (req: IncomingMessage, res: ServerResponse) => {
          res
            .writeHead(200, {
              'Docker-Distribution-Api-Version': 'registry/2.0',
              'Docker-Content-Digest': digest,
              'Content-Type': 'application/vnd.oci.image.index.v1+json',
            })
            .end(req.method === 'HEAD' ? undefined : body)
        },
      )
      e2e.servers.add(mirror)
      const handler: FakeHandler = (req, res, ctx) => {
        if (ctx.url.pathname === TOKEN_PATH && ctx.hits === 1) {
          res.writeHead(307, { Location: `${TOKEN_PATH}${ctx.url.search}&again=1` }).end()
          return true
        }
        if (ctx.url.pathname.endsWith('/manifests/latest')) {
          const location = `https://localhost:${mirror.port}/v2/ubi9/ubi/manifests/latest`
          res.writeHead(307, { Location: location }).end()
          return true
        }
        return false
      }
      return withCredentials({ images: 'ubi9/ubi' }, { handler })
    },
  },
  {
    name: 'a 500 from /v2/ and a 503 from the token service, then answers (retried)',
    result: 'ok',
    tokens: 1,
    setup: () =>
      withCredentials(
        { images: 'ubi9/ubi', retries: '2' },
        {
          handler: (_req, res, ctx) => {
            const path = ctx.url.pathname
            if (ctx.hits !== 1 || (path !== '/v2/' && path !== TOKEN_PATH)) return false
            res
              .writeHead(path === '/v2/' ? 500 : 503, {
                'Content-Type': 'application/json',
                'Retry-After': '0',
              })
              .end('{"errors":[{"code":"UNAVAILABLE","message":"try again"}]}')
            return true
          },
        },
      ),
  },
  {
    name: 'an invalid image reference (invalid-input)',
    result: 'invalid-input',
    tokens: 0,
    setup: () => withCredentials({ images: 'ubi9/../ubi' }),
  },
  {
    name: 'a newline inside the password (invalid-input)',
    result: 'invalid-input',
    tokens: 0,
    setup: async () => {
      const password = `${PASSWORD}\n${WRONG_PASSWORD}`
      const given = await withCredentials({ images: 'ubi9/ubi', password })
      return { ...given, password }
    },
  },
  {
    name: 'anonymous access granted by the token service',
    result: 'ok',
    tokens: 1,
    setup: async () => {
      const fake = await e2e.fakeRedHat({ anonymous: true })
      return {
        inputs: { registry: fake.host, images: 'ubi9/ubi', username: '', password: '' },
        username: '',
        password: '',
        fake,
      }
    },
  },
]

/** Runs a scenario once; every test of the scenario reads the same run. */
function outcomeOf(scenario: Scenario): Promise<Outcome> {
  let outcome = outcomes.get(scenario.name)
  if (!outcome) {
    outcome = (async () => {
      const given = await scenario.setup()
      const run = await e2e.act(given.inputs, given.env)
      return { run, given, tokens: [...(given.fake?.issuedTokens ?? [])] }
    })()
    outcomes.set(scenario.name, outcome)
  }
  return outcome
}

/** The password's forms: as given, trimmed, URL-encoded, and each of its lines. */
function passwordForms(password: string): string[] {
  const trimmed = password.trim()
  if (!trimmed) return []
  const lines = trimmed.split(/\r?\n/).filter((line) => line.trim().length >= 8)
  return [...new Set([password, trimmed, encodeURIComponent(trimmed), ...lines])]
}

/** The proxy password's forms: as written in the URL, decoded, both URL-encoded, and the header. */
function proxyForms(proxy: Given['proxy']): string[] {
  if (!proxy) return []
  const decoded = decodeURIComponent(proxy.passwordInUrl)
  const header = Buffer.from(`${decodeURIComponent(proxy.user)}:${decoded}`).toString('base64')
  return [
    ...new Set([
      proxy.passwordInUrl,
      decoded,
      encodeURIComponent(proxy.passwordInUrl),
      encodeURIComponent(decoded),
      header,
    ]),
  ]
}

/** The Basic header's base64, as built from the trimmed credentials; none without both. */
function basicOf(given: Given): string | undefined {
  const [user, password] = [given.username.trim(), given.password.trim()]
  return user && password ? Buffer.from(`${user}:${password}`).toString('base64') : undefined
}

/** Every secret of a run, each with a label for the failure message (never the secret itself). */
function secretsOf({ given, tokens }: Outcome): [string, string][] {
  const basic = basicOf(given)
  return [
    ...passwordForms(given.password).map((s, i): [string, string] => [`password form ${i}`, s]),
    ...(basic ? [['Basic header', basic] as [string, string]] : []),
    ...tokens.map((s, i): [string, string] => [`token ${i}`, s]),
    ...proxyForms(given.proxy).map((s, i): [string, string] => [`proxy password form ${i}`, s]),
  ]
}

/** @actions/core's escaping of command data, undone (`%25`, `%0D`, `%0A`; `%3A`, `%2C` in properties). */
function unescapeCommand(line: string): string {
  const map: Record<string, string> = {
    '%25': '%',
    '%0D': '\r',
    '%0A': '\n',
    '%3A': ':',
    '%2C': ',',
  }
  return line.replace(/%(25|0D|0A|3A|2C)/g, (m) => map[m])
}

/** @actions/core's escaping of command data: how a secret appears in an `::add-mask::` line. */
function escapeData(value: string): string {
  return value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
}

/** Every string inside a JSON value. */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.flatMap(stringsIn)
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => [k, ...stringsIn(v)])
  return []
}

const lines = (run: Run): string[] => run.stdout.split('\n')
const maskLine = (secret: string): string => `${ADD_MASK}${escapeData(secret)}`

/** Where each secret of a run appears (as `<secret label> in <place>`); empty when nowhere. */
function leaksIn(outcome: Outcome): string[] {
  const { run } = outcome
  const stdout = lines(run).filter((line) => !line.startsWith(ADD_MASK))
  const places: Record<string, string> = {
    stdout: stdout.join('\n'),
    'stdout, command data unescaped': stdout.map(unescapeCommand).join('\n'),
    stderr: run.stderr,
    summary: run.summary,
    ...Object.fromEntries(Object.entries(run.outputs).map(([k, v]) => [`output ${k}`, v])),
    'report, parsed': stringsIn(JSON.parse(run.outputs.report ?? '{}')).join('\n'),
  }
  const leaks: string[] = []
  for (const [label, secret] of secretsOf(outcome)) {
    for (const [place, text] of Object.entries(places)) {
      if (text.includes(secret)) leaks.push(`${label} in ${place}`)
    }
  }
  return leaks
}

test('the search itself finds a secret planted in each place, however it is escaped', () => {
  const token = `eyJ${randomBytes(12).toString('base64url')}`
  const given: Given = {
    inputs: {},
    username: USER,
    password: PASSWORD,
    proxy: { user: PROXY_USER, passwordInUrl: encodeURIComponent(PROXY_PASSWORD) },
  }
  const clean: Run = {
    code: 0,
    signal: null,
    timedOut: false,
    stdout: `::add-mask::${escapeData(PASSWORD)}\n::debug::nothing to see\n`,
    stderr: '',
    outputs: { result: 'ok', report: JSON.stringify({ message: 'fine' }) },
    summary: '## fine',
    durationMs: 1,
  }
  expect(leaksIn({ run: clean, given, tokens: [token] })).toEqual([])
  const planted: [string, (run: Run, secret: string) => Run][] = [
    [
      'stdout',
      (run, secret) => ({ ...run, stdout: `${run.stdout}::debug::${escapeData(secret)}\n` }),
    ],
    ['stderr', (run, secret) => ({ ...run, stderr: secret })],
    ['summary', (run, secret) => ({ ...run, summary: `| ${secret} |` })],
    ['output message', (run, secret) => ({ ...run, outputs: { ...run.outputs, message: secret } })],
    [
      'report, parsed',
      (run, secret) => ({
        ...run,
        outputs: { ...run.outputs, report: JSON.stringify({ checks: [{ detail: secret }] }) },
      }),
    ],
  ]
  for (const [place, plant] of planted) {
    for (const secret of [PASSWORD, token, PROXY_PASSWORD, basicOf(given) as string]) {
      const found = leaksIn({ run: plant(clean, secret), given, tokens: [token] })
      expect(found.some((leak) => leak.includes(` in ${place}`))).toBe(true)
    }
  }
})

describe.each(SCENARIOS)('$name', (scenario) => {
  test(`ends in ${scenario.result}, with ${scenario.tokens} token(s) issued`, async () => {
    const { run, tokens } = await outcomeOf(scenario)
    expect(run.outputs.result).toBe(scenario.result)
    expect(run.code).toBe(scenario.result === 'ok' ? 0 : 1)
    expect(tokens).toHaveLength(scenario.tokens)
    expect(run.timedOut).toBe(false)
    expect(run.stdout).not.toMatch(/stopped unexpectedly/)
  })

  test('no secret in stdout, stderr, any output (the report raw and parsed) or the summary', async () => {
    expect(leaksIn(await outcomeOf(scenario))).toEqual([])
  })

  test("the inputs' secrets are masked before any other line; the Basic header before any request", async () => {
    const outcome = await outcomeOf(scenario)
    const out = lines(outcome.run)
    const firstOther = out.findIndex((line) => line !== '' && !line.startsWith(ADD_MASK))
    const inputSecrets = [
      ...passwordForms(outcome.given.password),
      ...proxyForms(outcome.given.proxy),
    ]
    for (const secret of inputSecrets) {
      const at = out.indexOf(maskLine(secret))
      expect(at).toBeGreaterThanOrEqual(0)
      expect(at).toBeLessThan(firstOther)
    }
    const basic = basicOf(outcome.given)
    if (basic && scenario.result !== 'invalid-input') {
      const at = out.indexOf(maskLine(basic))
      const firstDebug = out.findIndex((line) => line.startsWith('::debug::'))
      expect(at).toBeGreaterThanOrEqual(0)
      expect(at).toBeLessThan(firstDebug)
    }
  })

  test('each issued token is masked, before the first line that follows from it', async () => {
    const { run, tokens } = await outcomeOf(scenario)
    const out = lines(run)
    // The debug line each token is reported by ("token for <registry>: expires in …"), in order:
    // the token requests of these scenarios run one at a time.
    const reported = out.flatMap((line, i) => (/^::debug::token for /.test(line) ? [i] : []))
    expect(reported).toHaveLength(tokens.length)
    tokens.forEach((token, k) => {
      const at = out.indexOf(maskLine(token))
      expect(at).toBeGreaterThanOrEqual(0)
      expect(at).toBeLessThan(reported[k])
    })
  })
})

/** Index of the k-th line matching `pattern`. */
function nth(out: string[], pattern: RegExp, k: number): number {
  return out.flatMap((line, i) => (pattern.test(line) ? [i] : []))[k] ?? -1
}

test('each token is masked before the first line about the answer that carried it', async () => {
  // Token requests may run side by side, so answers are matched to masks by count: by the time
  // the k-th token answer is reported, k tokens have been registered with the mask.
  const answer = new RegExp(`^::debug::GET [^ ]+${TOKEN_PATH}: HTTP 200 `)
  for (const scenario of SCENARIOS) {
    const { run, tokens } = await outcomeOf(scenario)
    const out = lines(run)
    const masks = new Set(tokens.map(maskLine))
    tokens.forEach((_token, k) => {
      const reported = nth(out, answer, k)
      expect(reported).toBeGreaterThanOrEqual(0)
      const maskedBefore = out.slice(0, reported).filter((line) => masks.has(line)).length
      expect(maskedBefore).toBeGreaterThanOrEqual(k + 1)
    })
  }
})
