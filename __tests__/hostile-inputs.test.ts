/**
 * Hostile inputs, end to end: the built action (dist/index.js) run as the runner runs it, with
 * inputs a workflow should never hold — 100 KB values, control characters, Unicode look-alikes,
 * a newline inside the username, image references with spaces or `..`, a registry with a scheme, a
 * path or credentials, timeouts such as `1e9` — and each must end the same way: exit 1,
 * `result=invalid-input`, a message that names the input, no stack trace, and no secret (nor the
 * raw control characters) echoed. The registry is a closed port on 127.0.0.1, so that an input
 * wrongly accepted ends fast and never leaves the machine. The runs are independent and carry no
 * timing assertion, so they run side by side (test.concurrent).
 */
import { randomBytes } from 'node:crypto'
import { startConnectProxy } from '../scripts/lib/connect-proxy.mjs'
import { closedPort } from '../scripts/lib/fake-registry.mjs'
import { authorizationIs, basic, expectNoStackTrace, type Run } from './support/e2e.js'
import { accountSecrets, e2eHarness } from './support/harness.js'

const USER = '12345678|hostile-inputs'
const PASSWORD = `eyJ${randomBytes(24).toString('base64url')}`
/** A password someone put where no password belongs (a registry or an image reference). */
const STRAY_SECRET = `Sup3rS3cret${randomBytes(6).toString('hex')}`
const KB100 = 100 * 1024

// The runs go side by side (test.concurrent): every server lives until the end of the file.
const e2e = e2eHarness({
  name: 'hostile-inputs',
  account: { user: USER, password: PASSWORD },
  inputs: { timeout: '2' },
  timeoutMs: 20_000,
  closeServers: 'after-all',
})
let port: number

beforeAll(async () => {
  port = await closedPort()
})

/** Runs the action against the closed port, unless `inputs` names another registry. */
function act(inputs: Record<string, string>, env: Record<string, string> = {}): Promise<Run> {
  return e2e.act({ registry: `127.0.0.1:${port}`, ...inputs }, env)
}

/** Everything an invalid input must end in; `name` is the input (or variable) the message names. */
function expectInvalidInput(run: Run, name: string, secrets: string[] = []): void {
  expectNoStackTrace(run)
  expect(run.timedOut).toBe(false)
  expect(run.code).toBe(1)
  expect(run.outputs).toMatchObject({ result: 'invalid-input', 'pull-ready': 'false' })
  expect(run.outputs.message).toMatch(new RegExp(`(^|[^\\w-])${name}([^\\w-]|$)`))
  expect(run.stdout).toMatch(/^::error::Invalid /m)
  // A 100 KB value is not repeated back, and no raw control character reaches the log.
  expect(run.outputs.message.length).toBeLessThan(1000)
  // eslint-disable-next-line no-control-regex
  expect(run.outputs.message).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/)
  e2e.expectNoLeak(run, secrets)
}

type Case = [description: string, inputs: Record<string, string>, names: string]

describe('very long values (100 KB)', () => {
  test.concurrent.each<Case>([
    ['username', { username: 'u'.repeat(KB100) }, 'username'],
    ['password', { password: 'p'.repeat(KB100) }, 'password'],
    ['registry', { registry: `${'a'.repeat(KB100)}.example` }, 'registry'],
    ['images (one reference)', { images: `ubi9/${'a'.repeat(KB100)}` }, 'images'],
    ['timeout', { timeout: '1'.repeat(KB100) }, 'timeout'],
    ['retries', { retries: '1'.repeat(KB100) }, 'retries'],
    ['fail-on-error', { 'fail-on-error': 't'.repeat(KB100) }, 'fail-on-error'],
    ['summary', { summary: 't'.repeat(KB100) }, 'summary'],
  ])('%s: invalid-input naming it', async (_d, inputs, name) => {
    const run = await act(inputs)
    expectInvalidInput(run, name, name === 'password' ? [inputs.password] : [])
  })

  test.concurrent.each<Case>([
    ['images (a tag)', { images: `ubi9/ubi:${'t'.repeat(KB100)}` }, 'images'],
    ['images (a path component)', { images: `ubi9/${'A'.repeat(KB100)}` }, 'images'],
  ])('%s: invalid-input, and the value is not repeated whole', async (_d, inputs, name) => {
    const run = await act(inputs)
    expectInvalidInput(run, name)
  })

  test.concurrent('auth-url: invalid-input naming it', async () => {
    const run = await act({ 'auth-url': `https://127.0.0.1:${port}/${'a'.repeat(KB100)}` })
    expectInvalidInput(run, 'auth-url')
  })

  test.concurrent('proxy: invalid-input naming it', async () => {
    const run = await act({ proxy: `http://${'a'.repeat(KB100)}:3128` })
    expectInvalidInput(run, 'proxy')
  })
})

describe('control characters, shown escaped and never raw', () => {
  test.concurrent.each<Case>([
    ['an escape (ANSI colour) in username', { username: 'us\x1b[31mer' }, 'username'],
    [
      'a bell inside password',
      { password: `${PASSWORD.slice(0, 10)}\x07${PASSWORD.slice(10)}` },
      'password',
    ],
    ['a CR LF inside password', { password: `${PASSWORD}\r\nsecond-line` }, 'password'],
    ['a newline inside username', { username: 'user\nname' }, 'username'],
    ['a control byte in registry', { registry: 'quay\x01.io' }, 'registry'],
    ['a control byte in the host of images', { images: 'quay\x01.io/ubi9/ubi' }, 'images'],
    [
      'a control byte in the host of auth-url',
      { 'auth-url': 'https://exa\x01mple.com/' },
      'auth-url',
    ],
    ['a control byte in the host of proxy', { proxy: 'http://pro\x01xy:3128' }, 'proxy'],
    ['a control byte in timeout', { timeout: '1\x01' }, 'timeout'],
    ['a DEL in retries', { retries: '1\x7f' }, 'retries'],
    ['an escape in fail-on-error', { 'fail-on-error': '\x1b[0mtrue' }, 'fail-on-error'],
    ['a control byte in summary', { summary: 'tr\x02ue' }, 'summary'],
  ])('%s: invalid-input', async (_d, inputs, name) => {
    const run = await act(inputs)
    expectInvalidInput(run, name)
  })

  test.concurrent.each<Case>([
    ['an ANSI escape in the path of images', { images: 'ubi9/ubi\x1b[8m' }, 'images'],
    ['a DEL in the tag of images', { images: 'ubi9/ubi:lat\x7fest' }, 'images'],
  ])('%s: invalid-input, the character escaped', async (_d, inputs, name) => {
    const run = await act(inputs)
    expectInvalidInput(run, name)
  })

  test.concurrent(
    'a workflow command smuggled after a newline in registry is not run',
    async () => {
      const run = await act({ registry: 'quay.io\n::set-env name=NODE_OPTIONS::--require=/tmp/x' })
      expectInvalidInput(run, 'registry')
      expect(run.stdout).not.toMatch(/^::set-env/m)
    },
  )

  test.concurrent('a workflow command as an image reference is not run', async () => {
    const run = await act({ images: 'ubi9/ubi\n::warning::pwned' })
    expectInvalidInput(run, 'images')
    expect(run.stdout).not.toMatch(/^::warning::pwned/m)
  })
})

describe('Unicode', () => {
  test.concurrent.each<Case>([
    ['a non-ASCII host in registry', { registry: 'régistry.example' }, 'registry'],
    ['a Cyrillic look-alike in registry', { registry: 'quаy.io' }, 'registry'],
    ['a non-ASCII letter in images', { images: 'ubi9/ubï' }, 'images'],
    ['a right-to-left override in images', { images: 'ubi9/\u202eibu' }, 'images'],
    ['fullwidth digits in timeout', { timeout: '１０' }, 'timeout'],
    ['Arabic-Indic digits in retries', { retries: '٣' }, 'retries'],
    ['fullwidth letters in fail-on-error', { 'fail-on-error': 'ｔｒｕｅ' }, 'fail-on-error'],
    ['an emoji in summary', { summary: 'true🙂' }, 'summary'],
  ])('%s: invalid-input', async (_d, inputs, name) => {
    const run = await act(inputs)
    expectInvalidInput(run, name)
  })

  test.concurrent(
    'Unicode credentials are not invalid: they reach the token service as UTF-8, and work',
    async () => {
      const [username, password] = ['ユーザー', `пароль-密码-🔑-${randomBytes(8).toString('hex')}`]
      const fake = await e2e.fakeRedHat({
        users: { [username]: password },
        images: { 'ubi9/ubi': ['latest'] },
      })
      const run = await e2e.act({
        registry: fake.host,
        username,
        password,
        images: 'ubi9/ubi',
        timeout: '5',
      })
      expectNoStackTrace(run)
      expect(run.outputs.result).toBe('ok')
      expect(run.code).toBe(0)
      const asked = fake.requests.filter((r) => r.url.startsWith('/auth/'))
      // The Basic header carries the UTF-8 bytes of the credentials, not Latin-1 or '?'.
      expect(authorizationIs(asked, `Basic ${basic(username, password)}`)).toEqual([true])
      e2e.expectNoLeak(run, accountSecrets({ user: username, password }))
    },
  )
})

describe('image references with spaces or ..', () => {
  test.concurrent.each<Case>([
    ['a space between name and tag', { images: 'ubi9/ubi latest' }, 'images'],
    ['a space inside the path', { images: 'ubi9 /ubi' }, 'images'],
    ['a tab inside the path', { images: 'ubi9/\tubi' }, 'images'],
    ['a .. component', { images: 'ubi9/../ubi' }, 'images'],
    ['a leading ../..', { images: '../../etc/passwd' }, 'images'],
    ['.. after a registry host', { images: 'quay.io/../../v2/_catalog' }, 'images'],
    ['.. as the tag', { images: 'ubi9/ubi:..' }, 'images'],
    ['.. in the digest', { images: 'ubi9/ubi@sha256:../../x' }, 'images'],
    ['a percent-encoded ..', { images: 'ubi9/%2e%2e/ubi' }, 'images'],
    ['a query in the reference', { images: 'ubi9/ubi?tag=latest' }, 'images'],
    ['a fragment in the reference', { images: 'ubi9/ubi#latest' }, 'images'],
    ['a backslash in the reference', { images: 'ubi9\\..\\ubi' }, 'images'],
  ])('%s: invalid-input', async (_d, inputs, name) => {
    const run = await act(inputs)
    expectInvalidInput(run, name)
  })
})

describe('a registry that is not host[:port]', () => {
  test.concurrent.each<Case>([
    ['a scheme', { registry: 'https://quay.io' }, 'registry'],
    ['a path', { registry: 'quay.io/v2' }, 'registry'],
    ['a trailing slash', { registry: 'quay.io/' }, 'registry'],
    ['a port over 65535', { registry: 'quay.io:99999' }, 'registry'],
    ['port 0', { registry: 'quay.io:0' }, 'registry'],
    ['a query', { registry: 'quay.io?x=1' }, 'registry'],
  ])('%s: invalid-input', async (_d, inputs, name) => {
    const run = await act(inputs)
    expectInvalidInput(run, name)
  })

  test.concurrent(
    'credentials in auth-url: invalid-input, and the password is not echoed',
    async () => {
      const run = await act({ 'auth-url': `https://robot:${STRAY_SECRET}@127.0.0.1:${port}/auth` })
      expectInvalidInput(run, 'auth-url', [STRAY_SECRET])
    },
  )

  test.concurrent(
    'credentials in registry: invalid-input, and the password is not echoed',
    async () => {
      const run = await act({ registry: `robot:${STRAY_SECRET}@quay.io` })
      expectInvalidInput(run, 'registry', [STRAY_SECRET])
    },
  )

  test.concurrent(
    'credentials in an image reference: invalid-input, and the password is not echoed',
    async () => {
      const run = await act({ images: `robot:${STRAY_SECRET}@quay.io/ubi9/ubi` })
      expectInvalidInput(run, 'images', [STRAY_SECRET])
    },
  )

  test.concurrent.each<Case>([
    ['five numeric parts', { registry: '1.2.3.4.5' }, 'registry'],
    ['a part over 255', { registry: '256.1.1.1:5000' }, 'registry'],
    ['a numeric last label', { registry: 'registry.example.1' }, 'registry'],
    ['empty brackets', { registry: '[:]' }, 'registry'],
    ['an image on five numeric parts', { images: '1.2.3.4.5/ubi9/ubi' }, 'images'],
  ])('a host no URL can hold (%s): invalid-input, not a crash', async (_d, inputs, name) => {
    const run = await act(inputs)
    expectInvalidInput(run, name)
  })
})

describe('numbers that are not what they seem', () => {
  test.concurrent.each<Case>([
    ['timeout 1e9', { timeout: '1e9' }, 'timeout'],
    ['timeout NaN', { timeout: 'NaN' }, 'timeout'],
    ['timeout -1', { timeout: '-1' }, 'timeout'],
    ['timeout Infinity', { timeout: 'Infinity' }, 'timeout'],
    ['timeout 0x10', { timeout: '0x10' }, 'timeout'],
    ['timeout 0', { timeout: '0' }, 'timeout'],
    ['timeout 601', { timeout: '601' }, 'timeout'],
    ['timeout "5 s"', { timeout: '5 s' }, 'timeout'],
    ['retries 1.5', { retries: '1.5' }, 'retries'],
    ['retries -1', { retries: '-1' }, 'retries'],
    ['retries 11', { retries: '11' }, 'retries'],
  ])('%s: invalid-input', async (_d, inputs, name) => {
    const run = await act(inputs)
    expectInvalidInput(run, name)
  })
})

describe('the proxy environment', () => {
  test.concurrent(
    'an https_proxy with a password and a bad host: invalid-input naming it, password unsaid',
    async () => {
      const run = await act({}, { https_proxy: `http://user:${STRAY_SECRET}@pro\x01xy:3128` })
      expectInvalidInput(run, 'https_proxy', [STRAY_SECRET])
    },
  )

  test.concurrent(
    'a no_proxy entry with an IPv6 zone: not a crash, and it covers nothing, so the proxy is asked',
    async () => {
      const proxy = e2e.servers.add(await startConnectProxy({}))
      const run = await act(
        { registry: '[fd00::1]:5000', proxy: proxy.url },
        { no_proxy: 'fe80::1%z:z/64' },
      )
      expectNoStackTrace(run)
      // The registry went through the proxy, which refuses an address off this machine (503):
      // proxy-error. A run that took the entry to cover fd00::1 would have gone direct instead.
      expect(run.code).toBe(1)
      expect(run.outputs.result).toBe('proxy-error')
      expect(proxy.connects).toEqual([
        { target: '[fd00::1]:5000', authorized: true, sentCredentials: false, status: 503 },
      ])
    },
  )
})
