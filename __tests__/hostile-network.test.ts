/**
 * Hostile and broken networks, end to end: the built action (dist/index.js) run as the runner runs
 * it, against loopback servers that try to draw credentials where they must never go (credentials
 * travel over https only, never to a link-local address, never along a redirect to http or to
 * another host; and no request follows more than 5 redirects): realms that are plain http or
 * link-local, redirects to http, to another host, in a loop; against servers that answer without
 * end (100 MB bodies, one byte a second), or with bytes no HTTP server sends. Every run must end
 * in the result code its case calls for, with the exit code that goes with it, within `timeout` +
 * 2 s, with bounded memory (the child's peak RSS, measured by scripts/lib/peak-memory.mjs),
 * without a stack trace and without a secret in what it wrote.
 */
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { ResultCode } from '../src/codes.js'
import { startPlainServer } from '../scripts/lib/fake-registry.mjs'
import {
  PEAK_MEMORY_PRELOAD,
  startRawTlsServer,
  streamBytes,
  trickle,
} from '../scripts/lib/hostile-servers.mjs'
import {
  authorizationIs,
  basic,
  expectNoStackTrace,
  parseReport,
  requestLines,
  type Run,
} from './support/e2e.js'
import { e2eHarness, type FakeHandler, type FakeRedHat } from './support/harness.js'

const USER = '12345678|hostile-network'
const PASSWORD = `eyJ${randomBytes(24).toString('base64url')}`
const BASIC = basic(USER, PASSWORD)
const TOKEN_PATH = '/auth/realms/rhcc/protocol/redhat-docker-v2/auth'
const MB = 1024 * 1024
const HUNDRED_MB = 100 * MB
/** What a run may use on top of a normal run's peak: far less than one 100 MB body. */
const MEMORY_HEADROOM = 50 * MB
/** `timeout` for the runs of this file, in seconds. */
const TIMEOUT_S = 3

type Measured = Run & { peakRss: number }

// Some tests run side by side (test.concurrent): every server lives until the end of the file.
const e2e = e2eHarness({
  name: 'hostile',
  account: { user: USER, password: PASSWORD },
  images: { 'ubi9/ubi': ['latest'] },
  inputs: { timeout: String(TIMEOUT_S) },
  closeServers: 'after-all',
})
let baselineRss: number
let runs = 0
const timers = new Set<NodeJS.Timeout>()

beforeAll(async () => {
  // The peak of an ordinary run (good credentials, one image): the yardstick for the others.
  const fake = await fakeRedHat()
  const run = await act({ registry: fake.host, images: 'ubi9/ubi' })
  expect(run.outputs.result).toBe('ok')
  baselineRss = run.peakRss
})

afterAll(() => {
  for (const timer of timers) clearInterval(timer)
  timers.clear()
})

/** The imitation of registry.redhat.io, with `handler` answering before its own routes. */
const fakeRedHat = (handler?: FakeHandler): Promise<FakeRedHat> => e2e.fakeRedHat({ handler })

/**
 * Runs dist/index.js as the harness does, with a V8 heap capped at 64 MB and the child's peak
 * resident set size recorded at exit.
 */
async function act(
  inputs: Record<string, string>,
  env: Record<string, string | undefined> = {},
): Promise<Measured> {
  runs += 1
  const memoryFile = join(e2e.dir, `peak-${runs}.json`)
  const run = await e2e.act(inputs, {
    NODE_OPTIONS: `--import=${pathToFileURL(PEAK_MEMORY_PRELOAD).href} --max-old-space-size=64`,
    PEAK_MEMORY_FILE: memoryFile,
    ...env,
  })
  let peakRss = Number.NaN
  try {
    peakRss = (JSON.parse(await readFile(memoryFile, 'utf8')) as { maxRssBytes: number })
      .maxRssBytes
  } catch {
    // No file: the process did not reach its exit handlers (killed, or crashed hard).
  }
  return { ...run, peakRss }
}

/**
 * Marks when a hostile answer began, server side, so that the action is timed from there rather
 * than from its start: on a loaded machine, starting node alone can take a second or more.
 */
class Stopwatch {
  private at?: number
  start(): void {
    this.at ??= performance.now()
  }
  elapsed(): number {
    return this.at === undefined ? Number.NaN : performance.now() - this.at
  }
}

interface Expectations {
  /** Tokens the run was given, which must not appear either. */
  tokens?: string[]
  timeoutS?: number
  /** Times the run from the hostile answer on (else from the start of the child). */
  watch?: Stopwatch
}

/**
 * The run ended in `result`, with the exit code that goes with it (0 for ok, 1 otherwise, as
 * fail-on-error is on), cleanly (no crash, no kill, no "stopped unexpectedly"), no stack trace,
 * within `timeout` + 2 s, and no secret in anything the run wrote.
 */
function expectClassified(run: Measured, result: ResultCode, options: Expectations = {}): void {
  const { tokens = [], timeoutS = TIMEOUT_S, watch } = options
  expect(run.timedOut).toBe(false)
  expect(run.signal).toBeNull()
  expect({ result: run.outputs.result, code: run.code }).toEqual({
    result,
    code: result === 'ok' ? 0 : 1,
  })
  expectNoStackTrace(run)
  expect(watch ? watch.elapsed() : run.durationMs).toBeLessThan((timeoutS + 2) * 1000)
  expect(Number.isFinite(run.peakRss)).toBe(true)
  e2e.expectNoLeak(run, tokens)
}

function expectBoundedMemory(run: Measured): void {
  expect(run.peakRss).toBeLessThan(baselineRss + MEMORY_HEADROOM)
}

/** Answers /v2/ (without a token) with a Bearer challenge naming `realm`. */
function challengeWith(realm: string): FakeHandler {
  return (req, res, ctx) => {
    if (ctx.url.pathname !== '/v2/' || req.headers.authorization) return false
    res
      .writeHead(401, {
        'Content-Type': 'application/json',
        'Docker-Distribution-Api-Version': 'registry/2.0',
        'WWW-Authenticate': `Bearer realm="${realm}",service="docker-registry"`,
      })
      .end('{"errors":[{"code":"UNAUTHORIZED","message":"unauthorized"}]}')
    return true
  }
}

/** A 100 MB answer, streamed until the client hangs up; `watch` starts with it. */
function hundredMegabytes(
  watch: Stopwatch,
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  prefix = '',
): void {
  watch.start()
  res.writeHead(status, headers)
  if (prefix) res.write(prefix)
  void streamBytes(res, HUNDRED_MB - prefix.length)
}

/** The token check of the run's report. */
function tokenCheck(run: Run): { outcome: string; attempts?: number } | undefined {
  return parseReport(run).checks.find((c) => c.id === 'token')
}

const tokenRequests = (fake: FakeRedHat): number =>
  fake.requests.filter((r) => r.url.startsWith(TOKEN_PATH)).length

describe('token realms that credentials must not go to', () => {
  test.each([
    'http://sso.hostile.test/auth',
    // Parser confusion: each of these is the host sso.hostile.test, not 127.0.0.1.
    'http://127.0.0.1@sso.hostile.test/auth',
    'http://sso.hostile.test#@127.0.0.1/auth',
    // (two backslashes in the header: a quoted-string unescapes them to one, a path separator)
    'http://sso.hostile.test\\\\@127.0.0.1/auth',
  ])(
    'a realm over plain http to a non-loopback name (%s): refused before any lookup',
    async (realm) => {
      const fake = await fakeRedHat(challengeWith(realm))
      const run = await act({ registry: fake.host, images: 'ubi9/ubi' })
      expectClassified(run, 'unexpected-response') // dns-error would mean it was tried
      expect(run.outputs.message).toMatch(/realm http:\/\/sso\.hostile\.test\/.* is not https/)
      expect(run.outputs['sso-status']).toBe('')
      expect(tokenCheck(run)?.outcome).toBe('failed')
      expect(tokenCheck(run)?.attempts).toBeUndefined()
    },
  )

  test.each([
    ['https://169.254.169.254/latest/meta-data/', /169\.254\.169\.254/],
    ['https://[::ffff:169.254.169.254]/token', /\[::ffff:a9fe:a9fe\]/],
    ['https://169.254.169.254./token', /169\.254\.169\.254/],
    ['https://0xa9fea9fe/token', /169\.254\.169\.254/],
    ['https://[fe80::1]/token', /\[fe80::1\]/],
  ])(
    'a realm at the link-local address %s: refused at once with a clear message',
    async (realm, host) => {
      const fake = await fakeRedHat(challengeWith(realm))
      const run = await act({ registry: fake.host, images: 'ubi9/ubi' })
      expectClassified(run, 'unexpected-response')
      expect(run.outputs.message).toMatch(/link-local/)
      expect(run.outputs.message).toMatch(host)
      // Not even a connect: the token check made no attempt (one would hang or fail on a network).
      expect(tokenCheck(run)?.outcome).toBe('failed')
      expect(tokenCheck(run)?.attempts).toBeUndefined()
    },
  )

  test.each(['ftp://127.0.0.1/auth', 'file:///etc/passwd'])(
    'a realm with the scheme of %s: refused as not https',
    async (realm) => {
      const fake = await fakeRedHat(challengeWith(realm))
      const run = await act({ registry: fake.host })
      expectClassified(run, 'unexpected-response')
      expect(run.outputs.message).toMatch(/is not https/)
    },
  )

  test('an auth-url over plain http to a non-loopback name: invalid-input naming auth-url, nothing sent', async () => {
    const fake = await fakeRedHat()
    const run = await act({ registry: fake.host, 'auth-url': 'http://sso.hostile.test/auth' })
    expectClassified(run, 'invalid-input')
    expect(run.outputs.message).toMatch(/auth-url/)
    expect(requestLines(fake.requests)).toEqual([])
  })
})

describe('redirects under the secret rules', () => {
  test('the token request redirected from https to http: refused, the http side never asked', async () => {
    const plain = await startPlainServer(null, (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"token":"plain-http"}')
    })
    e2e.servers.add(plain)
    const fake = await fakeRedHat((_req, res, ctx) => {
      if (ctx.url.pathname !== TOKEN_PATH) return false
      res.writeHead(302, { Location: `${plain.url}${TOKEN_PATH}${ctx.url.search}` }).end()
      return true
    })
    const run = await act({ registry: fake.host, images: 'ubi9/ubi' })
    expectClassified(run, 'unexpected-response')
    expect(run.outputs.message).toMatch(/redirect from https to http/)
    expect(requestLines(plain.requests)).toEqual([])
    expect(tokenRequests(fake)).toBe(1)
  })

  test('/v2/ redirected from https to http: refused, the http side never asked', async () => {
    const plain = await startPlainServer(null, (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, { 'Docker-Distribution-Api-Version': 'registry/2.0' }).end('{}')
    })
    e2e.servers.add(plain)
    const fake = await fakeRedHat((_req, res, ctx) => {
      if (ctx.url.pathname !== '/v2/') return false
      res.writeHead(301, { Location: `${plain.url}/v2/` }).end()
      return true
    })
    const run = await act({ registry: fake.host })
    expectClassified(run, 'unexpected-response')
    expect(run.outputs.message).toMatch(/redirect from https to http/)
    expect(requestLines(plain.requests)).toEqual([])
  })

  test('a redirect loop on the token request ends after 5 redirects (6 requests)', async () => {
    const fake = await fakeRedHat((_req, res, ctx) => {
      if (ctx.url.pathname !== TOKEN_PATH) return false
      res.writeHead(302, { Location: `${TOKEN_PATH}?hop=${ctx.hits}` }).end()
      return true
    })
    const run = await act({ registry: fake.host, images: 'ubi9/ubi' })
    expectClassified(run, 'unexpected-response')
    expect(run.outputs.message).toMatch(/more than 5 redirects/)
    expect(tokenRequests(fake)).toBe(6)
  })

  test('exactly 5 redirects are followed: ok', async () => {
    const fake = await fakeRedHat((_req, res, ctx) => {
      if (ctx.url.pathname !== TOKEN_PATH || ctx.hits > 5) return false
      res.writeHead(307, { Location: `${TOKEN_PATH}${ctx.url.search}&hop=${ctx.hits}` }).end()
      return true
    })
    const run = await act({ registry: fake.host, images: 'ubi9/ubi' })
    expectClassified(run, 'ok')
    expect(tokenRequests(fake)).toBe(6)
  })

  test('the token request redirected to another host arrives there without Authorization', async () => {
    const other = await startPlainServer(e2e.tls, (_req: IncomingMessage, res: ServerResponse) => {
      res
        .writeHead(401, { 'Content-Type': 'application/json' })
        .end('{"errors":[{"code":"UNAUTHORIZED","message":"no credentials"}]}')
    })
    e2e.servers.add(other)
    const fake = await fakeRedHat((_req, res, ctx) => {
      if (ctx.url.pathname !== TOKEN_PATH) return false
      // `localhost` is another origin than `127.0.0.1`, to the secret rules as to a browser.
      res
        .writeHead(307, { Location: `https://localhost:${other.port}/token${ctx.url.search}` })
        .end()
      return true
    })
    const run = await act({ registry: fake.host, images: 'ubi9/ubi' })
    // The other host, asked without the credentials, refuses: as a pull would be refused.
    expectClassified(run, 'invalid-credentials')
    expect(run.outputs['sso-status']).toBe('401')
    const asked = fake.requests.filter((r) => r.url.startsWith(TOKEN_PATH))
    expect(authorizationIs(asked, `Basic ${BASIC}`)).toEqual([true])
    expect(requestLines(other.requests)).toHaveLength(1)
    expect(authorizationIs(other.requests, undefined)).toEqual([true])
  })

  test("a Basic-only registry's /v2/ redirected to another host: the Basic header stays behind", async () => {
    const other = await startPlainServer(e2e.tls, (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, { 'Docker-Distribution-Api-Version': 'registry/2.0' }).end('{}')
    })
    e2e.servers.add(other)
    const fake = await fakeRedHat((req, res, ctx) => {
      if (ctx.url.pathname !== '/v2/') return false
      if (!req.headers.authorization) {
        res
          .writeHead(401, {
            'WWW-Authenticate': 'Basic realm="registry"',
            'Docker-Distribution-Api-Version': 'registry/2.0',
          })
          .end()
      } else {
        res.writeHead(302, { Location: `https://localhost:${other.port}/v2/` }).end()
      }
      return true
    })
    const run = await act({ registry: fake.host })
    expectClassified(run, 'ok')
    expect(run.outputs['registry-status']).toBe('200')
    expect(authorizationIs(fake.requests, `Basic ${BASIC}`)).toContain(true)
    expect(requestLines(other.requests)).toEqual(['GET /v2/'])
    expect(authorizationIs(other.requests, undefined)).toEqual([true])
  })

  test('a redirect to the metadata address (169.254.169.254): refused, not followed', async () => {
    const fake = await fakeRedHat((_req, res, ctx) => {
      if (ctx.url.pathname !== TOKEN_PATH) return false
      res.writeHead(302, { Location: 'https://169.254.169.254/latest/meta-data/' }).end()
      return true
    })
    const run = await act({ registry: fake.host, images: 'ubi9/ubi' })
    expectClassified(run, 'unexpected-response')
    expect(run.outputs.message).toMatch(/was stopped: 169\.254\.169\.254 is a link-local address/)
  })
})

describe('bodies without end: cut at 64 KiB, memory bounded, within the timeout', () => {
  test('100 MB of text as the 200 of /v2/: unexpected-response', async () => {
    const watch = new Stopwatch()
    const fake = await fakeRedHat((_req, res, ctx) => {
      if (ctx.url.pathname !== '/v2/') return false
      hundredMegabytes(watch, res, 200, { 'Content-Type': 'text/plain' })
      return true
    })
    const run = await act({ registry: fake.host, images: 'ubi9/ubi' })
    expectClassified(run, 'unexpected-response', { watch })
    expectBoundedMemory(run)
  })

  test('100 MB behind the challenge of /v2/: the body is cut and the procedure goes on (ok)', async () => {
    const watch = new Stopwatch()
    const fake = await fakeRedHat((req, res, ctx) => {
      if (ctx.url.pathname !== '/v2/' || req.headers.authorization) return false
      hundredMegabytes(watch, res, 401, {
        'Content-Type': 'application/json',
        'Content-Length': String(HUNDRED_MB),
        'WWW-Authenticate': `Bearer realm="${ctx.registry.realm}",service="docker-registry"`,
      })
      return true
    })
    const run = await act({ registry: fake.host, images: 'ubi9/ubi' })
    expectClassified(run, 'ok', { watch })
    expectBoundedMemory(run)
  })

  test('100 MB as the token response (a JSON string that never ends): unexpected-response', async () => {
    const watch = new Stopwatch()
    const fake = await fakeRedHat((_req, res, ctx) => {
      if (ctx.url.pathname !== TOKEN_PATH) return false
      hundredMegabytes(watch, res, 200, { 'Content-Type': 'application/json' }, '{"token":"eyJ')
      return true
    })
    const run = await act({ registry: fake.host, images: 'ubi9/ubi' })
    expectClassified(run, 'unexpected-response', { watch })
    expectBoundedMemory(run)
    expect(run.outputs['sso-status']).toBe('200')
  })

  test('100 MB as the error body of a missing image (the manifest GET): image-not-found', async () => {
    const watch = new Stopwatch()
    const fake = await fakeRedHat((req, res, ctx) => {
      if (req.method !== 'GET' || !ctx.url.pathname.includes('/manifests/')) return false
      hundredMegabytes(
        watch,
        res,
        404,
        { 'Content-Type': 'application/json', 'Docker-Distribution-Api-Version': 'registry/2.0' },
        '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"',
      )
      return true
    })
    const run = await act({ registry: fake.host, images: 'ubi9/ubi:no-such-tag' })
    expectClassified(run, 'image-not-found', { watch })
    expectBoundedMemory(run)
    expect(fake.requests.some((r) => r.method === 'GET' && r.url.includes('/manifests/'))).toBe(
      true,
    )
  })

  test('100 MB behind a redirect (drained, not kept): ok', async () => {
    const watch = new Stopwatch()
    const fake = await fakeRedHat((_req, res, ctx) => {
      if (ctx.url.pathname !== '/v2/' || ctx.hits !== 1) return false
      hundredMegabytes(watch, res, 302, { Location: '/v2/?again=1', 'Content-Type': 'text/plain' })
      return true
    })
    const run = await act({ registry: fake.host, images: 'ubi9/ubi' })
    expectClassified(run, 'ok', { watch })
    expectBoundedMemory(run)
  })
})

describe('answers one byte a second: the deadline covers the whole answer, not the gaps', () => {
  // An idle timer would never fire: a byte arrives every second. Only the deadline ends these.
  const SLOW_TIMEOUT_S = 2

  test.concurrent('the body of /v2/: timeout within timeout + 2 s', async () => {
    let written: (() => number) | undefined
    const watch = new Stopwatch()
    const fake = await fakeRedHat((_req, res, ctx) => {
      if (ctx.url.pathname !== '/v2/') return false
      watch.start()
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100000' })
      res.write('{')
      written = trickle(res, 1000, timers).written
      return true
    })
    const run = await act({ registry: fake.host, timeout: String(SLOW_TIMEOUT_S) })
    expectClassified(run, 'timeout', { timeoutS: SLOW_TIMEOUT_S, watch })
    expect(written?.()).toBeGreaterThanOrEqual(1)
  })

  test.concurrent('the body of the token response: timeout within timeout + 2 s', async () => {
    const watch = new Stopwatch()
    const fake = await fakeRedHat((_req, res, ctx) => {
      if (ctx.url.pathname !== TOKEN_PATH) return false
      watch.start()
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100000' })
      res.write('{"token":"')
      trickle(res, 1000, timers)
      return true
    })
    const run = await act({ registry: fake.host, timeout: String(SLOW_TIMEOUT_S) })
    expectClassified(run, 'timeout', { timeoutS: SLOW_TIMEOUT_S, watch })
    expect(run.outputs.message).toMatch(/token service/)
  })

  test.concurrent('the headers of /v2/ (raw TLS): timeout within timeout + 2 s', async () => {
    const watch = new Stopwatch()
    const raw = await startRawTlsServer(e2e.tls, ({ socket }) => {
      watch.start()
      socket.write('HTTP/1.1 200 OK\r\nX-Slow: ')
      trickle(socket, 1000, timers)
    })
    e2e.servers.add(raw)
    const run = await act({ registry: raw.host, timeout: String(SLOW_TIMEOUT_S) })
    expectClassified(run, 'timeout', { timeoutS: SLOW_TIMEOUT_S, watch })
  })
})

describe("answers Node's HTTP parser rejects (raw TLS server): unexpected-response", () => {
  test.each([
    [
      'a control byte in a header name',
      'HTTP/1.1 401 Unauthorized\r\nX-B\x01d: 1\r\nContent-Length: 0\r\n\r\n',
      'HPE_INVALID_HEADER_TOKEN',
    ],
    [
      'a control byte in a header value',
      'HTTP/1.1 401 Unauthorized\r\nX-Bad: a\x01b\r\nContent-Length: 0\r\n\r\n',
      'HPE_INVALID_HEADER_TOKEN',
    ],
    [
      'a 100 KB header',
      `HTTP/1.1 401 Unauthorized\r\nX-Big: ${'a'.repeat(100 * 1024)}\r\nContent-Length: 0\r\n\r\n`,
      'HPE_HEADER_OVERFLOW',
    ],
    ['bytes that are not HTTP at all', '\x00\x01\x02 not http\r\n\r\n', 'HPE_'],
  ])('%s on /v2/', async (_name, answer, code) => {
    const raw = await startRawTlsServer(e2e.tls, ({ socket }) => socket.end(answer))
    e2e.servers.add(raw)
    const run = await act({ registry: raw.host, images: 'ubi9/ubi' })
    expectClassified(run, 'unexpected-response')
    expect(run.outputs.message).toMatch(/not valid HTTP/)
    expect(run.outputs.message).toContain(code)
  })

  test('a control byte in a header of the token service', async () => {
    const raw = await startRawTlsServer(e2e.tls, ({ socket }) =>
      socket.end('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-B\x01d: 1\r\n\r\n{}'),
    )
    e2e.servers.add(raw)
    const fake = await fakeRedHat(challengeWith(`${raw.url}/auth`))
    const run = await act({ registry: fake.host, images: 'ubi9/ubi' })
    expectClassified(run, 'unexpected-response')
    expect(run.outputs.message).toMatch(/token service .*HPE_INVALID_HEADER_TOKEN/)
    expect(raw.heads).toHaveLength(1)
  })

  test('bytes that are not HTTP in answer to the manifest HEAD: unexpected-response', async () => {
    const fake = await fakeRedHat((req, res, ctx) => {
      if (req.method !== 'HEAD' || !ctx.url.pathname.includes('/manifests/')) return false
      res.socket?.write('x'.repeat(1000)) // past the HTTP layer, and no head before them
      return true
    })
    // layers: false asks for manifests with a HEAD.
    const run = await act({ registry: fake.host, images: 'ubi9/ubi', layers: 'false' })
    expectClassified(run, 'unexpected-response')
    expect(run.outputs['failed-images']).toBe('ubi9/ubi')
    expect(run.outputs.message).toMatch(/not valid HTTP \(HPE_INVALID_CONSTANT\)/)
  })
})

describe('a body where HTTP allows none', () => {
  test('a body sent after the head of an answer to the manifest HEAD: ignored, ok', async () => {
    const fake = await fakeRedHat((req, res, ctx) => {
      if (req.method !== 'HEAD' || !ctx.url.pathname.includes('/manifests/')) return false
      // Past the HTTP layer, which would drop a body on a HEAD: the head and 1000 bytes after it.
      const head = [
        'HTTP/1.1 200 OK',
        'Content-Type: application/json',
        'Docker-Distribution-Api-Version: registry/2.0',
      ]
      res.socket?.write(`${head.join('\r\n')}\r\n\r\n${'x'.repeat(1000)}`)
      return true
    })
    // layers: false asks for manifests with a HEAD.
    const run = await act({ registry: fake.host, images: 'ubi9/ubi', layers: 'false' })
    expectClassified(run, 'ok')
  })
})

describe('connections cut mid-body', () => {
  const cutAfter100Bytes = (res: ServerResponse): void => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '1000' })
    res.write('{"token":"' + 'a'.repeat(90))
    setTimeout(() => res.socket?.destroy(), 50)
  }

  test('/v2/: connection-failed', async () => {
    const fake = await fakeRedHat((_req, res, ctx) => {
      if (ctx.url.pathname !== '/v2/') return false
      cutAfter100Bytes(res)
      return true
    })
    const run = await act({ registry: fake.host })
    expectClassified(run, 'connection-failed')
  })

  test('the token response: connection-failed, at the token service', async () => {
    const fake = await fakeRedHat((_req, res, ctx) => {
      if (ctx.url.pathname !== TOKEN_PATH) return false
      cutAfter100Bytes(res)
      return true
    })
    const run = await act({ registry: fake.host, images: 'ubi9/ubi' })
    expectClassified(run, 'connection-failed')
    expect(run.outputs.message).toMatch(/token service/)
  })

  test.concurrent('cut once, then answered: retried, ok', async () => {
    const fake = await fakeRedHat((_req, res, ctx) => {
      if (ctx.url.pathname !== TOKEN_PATH || ctx.hits !== 1) return false
      cutAfter100Bytes(res)
      return true
    })
    const run = await act({ registry: fake.host, images: 'ubi9/ubi', retries: '1' })
    expectClassified(run, 'ok')
  })
})

describe('token responses no token service sends', () => {
  /** The token endpoint answers `status` with these bytes. */
  const tokenAnswer =
    (body: Buffer | string, type = 'application/json', status = 200): FakeHandler =>
    (_req, res, ctx) => {
      if (ctx.url.pathname !== TOKEN_PATH) return false
      res.writeHead(status, { 'Content-Type': type }).end(body)
      return true
    }

  test('200 with an HTML page: unexpected-response', async () => {
    const fake = await fakeRedHat(tokenAnswer('<!DOCTYPE html><title>Log in</title>', 'text/html'))
    const run = await act({ registry: fake.host, images: 'ubi9/ubi' })
    expectClassified(run, 'unexpected-response')
    expect(run.outputs['sso-status']).toBe('200')
  })

  test('invalid UTF-8 outside any string: not JSON, unexpected-response', async () => {
    const body = Buffer.concat([Buffer.from('{\xff\xfe'), Buffer.from('"token":"eyJx"}')])
    const fake = await fakeRedHat(tokenAnswer(body))
    const run = await act({ registry: fake.host, images: 'ubi9/ubi' })
    expectClassified(run, 'unexpected-response')
  })

  test('invalid UTF-8 in a field beside a good token: the token is used, ok', async () => {
    const token = `eyJ${randomBytes(16).toString('base64url')}`
    const fake = await fakeRedHat((req, res, ctx) => {
      if (ctx.url.pathname === TOKEN_PATH) {
        const body = Buffer.concat([
          Buffer.from(`{"token":"${token}","expires_in":300,"junk":"`),
          Buffer.from([0xff, 0xfe, 0xc3]),
          Buffer.from('"}'),
        ])
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(body)
        return true
      }
      if (ctx.url.pathname === '/v2/' && req.headers.authorization === `Bearer ${token}`) {
        res.writeHead(200, { 'Docker-Distribution-Api-Version': 'registry/2.0' }).end('{}')
        return true
      }
      return false
    })
    const run = await act({ registry: fake.host })
    expectClassified(run, 'ok', { tokens: [token] })
    expect(run.outputs).toMatchObject({
      'sso-status': '200',
      'registry-status': '200',
    })
    expect(run.stdout).toContain(`::add-mask::${token}`)
  })

  test('invalid UTF-8 inside the token: unexpected-response, not a network fault', async () => {
    const body = Buffer.concat([
      Buffer.from('{"token":"eyJ'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('x"}'),
    ])
    const fake = await fakeRedHat(tokenAnswer(body))
    const run = await act({ registry: fake.host, images: 'ubi9/ubi' })
    expectClassified(run, 'unexpected-response')
  })

  test('a token carrying CR LF (header injection): unexpected-response, and the injected header never reaches the registry', async () => {
    const fake = await fakeRedHat(
      tokenAnswer(JSON.stringify({ token: 'eyJabc\r\nX-Injected: yes', expires_in: 300 })),
    )
    const run = await act({ registry: fake.host, images: 'ubi9/ubi' })
    expectClassified(run, 'unexpected-response', { tokens: ['eyJabc\r\nX-Injected: yes'] })
    expect(run.outputs['sso-status']).toBe('200')
    expect(run.outputs.message).toMatch(/a token that cannot be sent in a header/)
    expect(fake.requests.some((r) => 'x-injected' in r.headers)).toBe(false)
  })

  test('10000-deep JSON as the token response: unexpected-response', async () => {
    const fake = await fakeRedHat(tokenAnswer('['.repeat(10_000) + ']'.repeat(10_000)))
    const run = await act({ registry: fake.host, images: 'ubi9/ubi' })
    expectClassified(run, 'unexpected-response')
  })

  test('10000-deep JSON in a refusal (401) of the token service: invalid-credentials', async () => {
    const deep = `{"errors":${'['.repeat(10_000)}${']'.repeat(10_000)}}`
    const fake = await fakeRedHat(tokenAnswer(deep, 'application/json', 401))
    const run = await act({ registry: fake.host, images: 'ubi9/ubi' })
    expectClassified(run, 'invalid-credentials')
  })

  test('expires_in that cannot be made a number ({"toString":1}): the token is used, with the 60 s a missing expires_in means', async () => {
    const token = `eyJ${randomBytes(16).toString('base64url')}`
    const fake = await fakeRedHat((req, res, ctx) => {
      if (ctx.url.pathname === TOKEN_PATH) {
        res
          .writeHead(200, { 'Content-Type': 'application/json' })
          .end(`{"token":"${token}","expires_in":{"toString":1}}`)
        return true
      }
      if (req.headers.authorization !== `Bearer ${token}`) return false
      // The registry takes the token for /v2/ and the manifest alike.
      res.writeHead(200, {
        'Docker-Distribution-Api-Version': 'registry/2.0',
        'Docker-Content-Digest': `sha256:${'a'.repeat(64)}`,
      })
      res.end(req.method === 'HEAD' ? undefined : '{}')
      return true
    })
    // layers: false asks for the manifest with a HEAD: this registry has no manifest to read.
    const run = await act({ registry: fake.host, images: 'ubi9/ubi', layers: 'false' })
    expectClassified(run, 'ok', { tokens: [token] })
    expect(run.outputs).toMatchObject({ 'sso-status': '200', 'token-expires-in': '60' })
  })

  test('an error code that cannot be made a string, on a missing image: image-not-found', async () => {
    const fake = await fakeRedHat((req, res, ctx) => {
      if (req.method !== 'GET' || !ctx.url.pathname.includes('/manifests/')) return false
      res
        .writeHead(404, {
          'Content-Type': 'application/json',
          'Docker-Distribution-Api-Version': 'registry/2.0',
        })
        .end('{"errors":[{"code":{"toString":1},"message":"manifest unknown"}]}')
      return true
    })
    const run = await act({ registry: fake.host, images: 'ubi9/ubi:no-such-tag' })
    expectClassified(run, 'image-not-found')
  })
})
