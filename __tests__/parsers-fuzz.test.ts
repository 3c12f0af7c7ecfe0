/**
 * Property tests of every parser that reads what the network or the workflow sends: the
 * `WWW-Authenticate` parser, the token and error body parsers, image references, registries, the
 * proxy settings and `no_proxy` matching. Inputs come from a small seeded PRNG (a failure names
 * the seed and the case that reproduce it): random bytes, biased alphabets, truncated quotes,
 * invalid UTF-8, deeply nested JSON, 1 MB values. Whatever comes in, each parser either returns
 * the shape it documents or throws the one error class it documents (InvalidReference,
 * InvalidProxy) — never a TypeError or RangeError — and finishes in linear time.
 */
import { bearerChallenge, parseChallenges } from '../src/challenge.js'
import {
  InvalidProxy,
  noProxyMatches,
  redactProxy,
  resolveProxySettings,
  type ProxySettings,
} from '../src/proxy.js'
import {
  InvalidReference,
  normalizeRegistry,
  parseImageRef,
  type ImageRef,
} from '../src/reference.js'
import { MIN_EXPIRES_IN, parseErrorBody, parseTokenResponse } from '../src/token.js'
import { prng } from './support/prng.js'

// ── The generator ────────────────────────────────────────────────────────────────────────────

class Gen {
  readonly next: () => number
  constructor(readonly seed: number) {
    this.next = prng(seed)
  }
  int(max: number): number {
    return Math.floor(this.next() * max)
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]
  }
  chance(p: number): boolean {
    return this.next() < p
  }
  bytes(max: number): Buffer {
    const out = Buffer.alloc(this.int(max + 1))
    for (let i = 0; i < out.length; i++) out[i] = this.int(256)
    return out
  }
  /** A string of `max` pieces at most, each drawn from `alphabet`. */
  text(alphabet: readonly string[], max: number): string {
    let out = ''
    const n = this.int(max + 1)
    for (let i = 0; i < n; i++) out += this.pick(alphabet)
    return out
  }
  /** `text` cut somewhere, with a piece of noise inserted somewhere: the typical broken answer. */
  mangle(text: string, noise: readonly string[]): string {
    let out = this.chance(0.5) ? text.slice(0, this.int(text.length + 1)) : text
    if (this.chance(0.5)) {
      const at = this.int(out.length + 1)
      out = out.slice(0, at) + this.pick(noise) + out.slice(at)
    }
    return out
  }
  /** A Buffer with invalid UTF-8 (lone continuation bytes, truncated sequences, overlongs) spliced in. */
  invalidUtf8(text: string): Buffer {
    const bad = [
      [0xff],
      [0xfe],
      [0x80],
      [0xc3],
      [0xe2, 0x82],
      [0xf0, 0x9f, 0x98],
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
    ]
    const at = this.int(Buffer.byteLength(text) + 1)
    const bytes = Buffer.from(text)
    return Buffer.concat([bytes.subarray(0, at), Buffer.from(this.pick(bad)), bytes.subarray(at)])
  }
}

/** Runs `property` over `count` cases from `seed`; a failure names the seed, the case and the input. */
function forAll(seed: number, count: number, property: (gen: Gen, index: number) => void): void {
  const gen = new Gen(seed)
  for (let i = 0; i < count; i++) {
    try {
      property(gen, i)
    } catch (err) {
      throw new Error(
        `seed ${seed}, case ${i}: ${err instanceof Error ? err.message : String(err)}`,
        {
          cause: err,
        },
      )
    }
  }
}

/** Calls `fn`; any exception other than `allowed` fails, naming the input. */
function call<T>(
  fn: () => T,
  input: unknown,
  allowed?: new (...args: never[]) => Error,
): T | Error {
  try {
    return fn()
  } catch (err) {
    if (allowed && err instanceof allowed) return err
    const name = err instanceof Error ? err.constructor.name : typeof err
    throw new Error(`threw ${name} (${String(err)}) on ${JSON.stringify(input)?.slice(0, 300)}`)
  }
}

/** Asserts `fn` finishes within `ms` (generous: it only catches quadratic blow-ups). */
function quickly<T>(ms: number, fn: () => T): T {
  const started = performance.now()
  const result = fn()
  const took = performance.now() - started
  if (took > ms) throw new Error(`took ${Math.round(took)} ms, over ${ms} ms`)
  return result
}

/**
 * A plain assertion, cheap enough for a million elements (expect() costs microseconds a call).
 * @throws an Error saying what was wrong
 */
function must(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message)
}

const MB = 1024 * 1024
const CONTROL = ['\u0000', '\u0001', '\u001b', '\u007f', '\r', '\n', '\t']
const UNICODE = ['é', 'ü', '✓', '\u{1F600}', '\u202e', '\u200b', '\ufeff', '\ud800', 'а']

// ── WWW-Authenticate ─────────────────────────────────────────────────────────────────────────

const CHALLENGE_PIECES = [
  '"',
  '"',
  '"',
  ',',
  ',',
  '=',
  '=',
  '\\',
  '\\',
  ' ',
  ' ',
  'a',
  'B',
  'x',
  '0',
  '/',
  '+',
  'Bearer ',
  'Basic ',
  'Negotiate ',
  'realm',
  'service',
  'scope',
  'error',
  '==',
  ...CONTROL,
  ...UNICODE,
]
const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9a-z-]+$/

function expectChallengeShape(values: string[]): void {
  const parsed = call(() => parseChallenges(values), values)
  if (parsed instanceof Error) throw parsed
  must(typeof parsed.malformed === 'boolean', 'malformed is not a boolean')
  must(Array.isArray(parsed.challenges), 'challenges is not an array')
  for (const c of parsed.challenges) {
    must(TOKEN_RE.test(c.scheme), `scheme ${JSON.stringify(c.scheme)} is not a lower-case token`)
    for (const [name, value] of Object.entries(c.params)) {
      must(TOKEN_RE.test(name), `parameter ${JSON.stringify(name)} is not a lower-case token`)
      must(typeof value === 'string', `parameter ${name} is not a string`)
    }
  }
  const bearer = call(() => bearerChallenge(parsed), values)
  if (bearer instanceof Error) throw bearer
  if (bearer !== undefined) {
    must(bearer.scheme === 'bearer', 'bearerChallenge returned another scheme')
    must(typeof bearer.params.realm === 'string' && bearer.params.realm !== '', 'no realm')
  }
}

/** A quoted-string (RFC 9110): backslash before `"` and `\`. */
const quote = (value: string): string => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`

describe('parseChallenges and bearerChallenge', () => {
  test('random bytes, as latin1 and as (invalid) UTF-8: the documented shape, never a throw', () => {
    forAll(0x5eed01, 1500, (gen) => {
      const bytes = gen.bytes(96)
      expectChallengeShape([bytes.toString('latin1')])
      expectChallengeShape([bytes.toString('utf8'), bytes.toString('latin1')])
    })
  })

  test('real challenges cut anywhere and spliced with noise (truncated quotes)', () => {
    const real = [
      'Bearer realm="https://registry.redhat.io/auth/realms/rhcc/protocol/redhat-docker-v2/auth",service="docker-registry"',
      'Basic realm="quay.io", Bearer realm="https://quay.io/v2/auth",service="quay.io",scope="repository:a/b:pull,push"',
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",error="insufficient_scope"',
      'Negotiate abc==, Bearer realm="a\\"b\\\\c",service=x',
    ]
    forAll(0x5eed02, 2000, (gen) => {
      expectChallengeShape([gen.mangle(gen.pick(real), CHALLENGE_PIECES)])
    })
  })

  test('strings from a biased alphabet, several header values at once', () => {
    forAll(0x5eed03, 2000, (gen) => {
      const values = Array.from({ length: 1 + gen.int(3) }, () => gen.text(CHALLENGE_PIECES, 40))
      expectChallengeShape(values)
    })
  })

  test('well-formed challenges with any characters in their values read back exactly', () => {
    const alphabet = ['a', 'Z', '0', ' ', ',', '=', '"', '\\', ';', ':', '/', 'é', '\u{1F600}']
    forAll(0x5eed04, 1500, (gen) => {
      const params = {
        realm: `https://${gen.text(['a', 'b', '.'], 8)}x/${gen.text(alphabet, 12)}`,
        service: gen.text(alphabet, 12),
        scope: gen.text(alphabet, 20),
      }
      const bearer = `Bearer ${Object.entries(params)
        .map(([k, v]) => `${k}=${quote(v)}`)
        .join(gen.pick([',', ', ', ' , ']))}`
      const header = gen.chance(0.5)
        ? `Basic realm=${quote(gen.text(alphabet, 8))}, ${bearer}`
        : bearer
      const found = bearerChallenge(parseChallenges([header]))
      expect(found?.params).toEqual(params)
    })
  })

  test.each([
    ['a 1 MB quoted realm', `Bearer realm="${'a'.repeat(MB)}",service="x"`],
    ['a 1 MB unterminated quote', `Bearer realm="${'a'.repeat(MB)}`],
    ['1 MB of escaped quotes', `Bearer realm="${'\\"'.repeat(MB / 2)}"`],
    ['1 MB of commas', ','.repeat(MB)],
    ['1 MB of equals signs', `Bearer ${'='.repeat(MB)}`],
    ['1 MB of parameters', `Bearer ${'a=b,'.repeat(MB / 4)}`],
    ['1 MB of schemes', 'Basic '.repeat(MB / 6)],
    ['1 MB of token68', `Negotiate ${'A'.repeat(MB)}==`],
    ['1 MB of control characters', '\u0001'.repeat(MB)],
  ])('%s: linear time, the documented shape', (_name, header) => {
    quickly(3000, () => expectChallengeShape([header]))
  })
})

// ── Token and error bodies ───────────────────────────────────────────────────────────────────

const JSON_KEYS = [
  'token',
  'access_token',
  'expires_in',
  'issued_at',
  'errors',
  'code',
  'message',
  'x',
]
const NUMBERS = [0, -1, 1.5, 59, 60, 61, 300, 2 ** 53, 1e308, -1e308, 5e-324]
const STRINGS = [
  '',
  'eyJ',
  'eyJhbGciOiJSUzI1NiJ9.e30.sig',
  '300',
  '2024-01-01T00:00:00Z',
  '2024-13-45T99:99',
  '9'.repeat(400),
  ...UNICODE,
  ...CONTROL,
]

/** A random JSON value, biased towards what token services and registries send. */
function jsonValue(gen: Gen, depth: number): unknown {
  const kind = gen.int(depth > 3 ? 4 : 7)
  switch (kind) {
    case 0:
      return gen.pick(NUMBERS)
    case 1:
      return gen.pick(STRINGS) + (gen.chance(0.3) ? gen.text(STRINGS, 3) : '')
    case 2:
      return gen.pick([true, false, null])
    case 3:
      return gen.text(['a', '"', '\\', ' '], 6)
    case 4:
      return Array.from({ length: gen.int(4) }, () => jsonValue(gen, depth + 1))
    default: {
      const out: Record<string, unknown> = {}
      for (let i = gen.int(5); i > 0; i--) out[gen.pick(JSON_KEYS)] = jsonValue(gen, depth + 1)
      return out
    }
  }
}

/** A token response or registry error, often well-formed, sometimes not quite. */
function bodyOf(gen: Gen): Buffer {
  const shapes = [
    () => ({
      token: jsonValue(gen, 1),
      expires_in: jsonValue(gen, 1),
      issued_at: jsonValue(gen, 1),
    }),
    () => ({ access_token: jsonValue(gen, 1), expires_in: gen.pick(NUMBERS) }),
    () => ({ errors: Array.from({ length: gen.int(4) }, () => jsonValue(gen, 2)) }),
    () => jsonValue(gen, 0),
  ]
  const text = JSON.stringify(gen.pick(shapes)())
  const noise = ['"', '{', '}', '[', ']', ',', ':', '\\', '\\u', '\\ud800', 'null', ...CONTROL]
  switch (gen.int(4)) {
    case 0:
      return Buffer.from(text)
    case 1:
      return Buffer.from(gen.mangle(text, noise))
    case 2:
      return gen.invalidUtf8(text)
    default:
      return gen.bytes(64)
  }
}

function deepArray(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth)
}
function deepObject(depth: number, inner = '1'): string {
  return '{"a":'.repeat(depth) + inner + '}'.repeat(depth)
}

function expectTokenShape(body: Buffer): void {
  const result = call(() => parseTokenResponse(body), body.toString('latin1'))
  if (result instanceof Error) throw result
  if (result.ok) {
    must(Object.keys(result).sort().join() === 'ok,token', 'extra keys beside ok and token')
    const { token, expiresIn, issuedAt } = result.token
    must(typeof token === 'string' && token !== '', 'the token is not a non-empty string')
    must(Number.isInteger(expiresIn) && expiresIn >= MIN_EXPIRES_IN, `expiresIn ${expiresIn}`)
    if (issuedAt !== undefined)
      must(issuedAt instanceof Date && Number.isFinite(issuedAt.getTime()), 'issuedAt is no date')
  } else {
    must(Object.keys(result).sort().join() === 'ok,reason', 'extra keys beside ok and reason')
    must(typeof result.reason === 'string' && result.reason !== '', 'no reason')
  }
}

function expectErrorShape(body: Buffer): void {
  const result = call(() => parseErrorBody(body), body.toString('latin1'))
  if (result instanceof Error) throw result
  if (result === undefined) return
  must(Array.isArray(result), 'not an array')
  for (const e of result) {
    must(Object.keys(e).sort().join() === 'code,message', 'keys other than code and message')
    must(typeof e.code === 'string' && typeof e.message === 'string', 'code or message no string')
  }
}

describe('parseTokenResponse and parseErrorBody', () => {
  test('generated bodies (well-formed, cut, spliced, invalid UTF-8, random bytes): the documented shapes', () => {
    forAll(0x70c3e1, 3000, (gen) => {
      const body = bodyOf(gen)
      expectTokenShape(body)
      expectErrorShape(body)
    })
  })

  test('a well-formed token response reads back: the token, and a lifetime of at least 60 s', () => {
    forAll(0x70c3e2, 1500, (gen) => {
      const token = `eyJ${gen.text(['a', 'Z', '0', '-', '_', '.', '~', '+', '/'], 40)}`
      const expiresIn = gen.pick(NUMBERS)
      const key = gen.pick(['token', 'access_token'])
      const result = parseTokenResponse(
        Buffer.from(JSON.stringify({ [key]: token, expires_in: expiresIn })),
      )
      expect(result).toEqual({
        ok: true,
        token: {
          token,
          expiresIn: expiresIn >= MIN_EXPIRES_IN ? Math.floor(expiresIn) : MIN_EXPIRES_IN,
          issuedAt: undefined,
        },
      })
    })
  })

  test('token wins over access_token; an empty or non-string token falls back to the other', () => {
    expect(parseTokenResponse(Buffer.from('{"token":"a","access_token":"b"}'))).toMatchObject({
      token: { token: 'a' },
    })
    expect(parseTokenResponse(Buffer.from('{"token":"","access_token":"b"}'))).toMatchObject({
      token: { token: 'b' },
    })
    expect(parseTokenResponse(Buffer.from('{"token":{"x":1},"access_token":"b"}'))).toMatchObject({
      token: { token: 'b' },
    })
    expect(parseTokenResponse(Buffer.from('{"__proto__":{"token":"a"}}'))).toMatchObject({
      ok: false,
    })
  })

  test.each([
    ['10000-deep arrays', deepArray(10_000)],
    ['100000-deep arrays', deepArray(100_000)],
    ['10000-deep objects', deepObject(10_000)],
    ['a token beside 10000-deep JSON', `{"token":"eyJx","deep":${deepArray(10_000)}}`],
    ['errors 10000 deep', `{"errors":${deepArray(10_000)}}`],
    [
      'an error whose message is 10000 deep',
      `{"errors":[{"code":"X","message":${deepObject(10_000)}}]}`,
    ],
    ['a 1 MB token', `{"token":"${'a'.repeat(MB)}"}`],
    ['a 1 MB string never closed', `{"token":"${'a'.repeat(MB)}`],
    ['100000 errors', `{"errors":[${'{"code":"X"},'.repeat(100_000)}{}]}`],
    ['1 MB of invalid UTF-8', Buffer.alloc(MB, 0xff)],
    ['a BOM before the JSON', `\ufeff{"token":"eyJx"}`],
  ])('%s: the documented shapes, in linear time', (_name, body) => {
    const buffer = Buffer.isBuffer(body) ? body : Buffer.from(body)
    quickly(3000, () => {
      expectTokenShape(buffer)
      expectErrorShape(buffer)
    })
  })

  test('an invalid UTF-8 sequence inside the token decodes to U+FFFD, never a throw', () => {
    const body = Buffer.concat([
      Buffer.from('{"token":"eyJ'),
      Buffer.from([0xff, 0xc3]),
      Buffer.from('x"}'),
    ])
    expectTokenShape(body)
  })

  test.each([
    ['expires_in {"toString":1}', '{"token":"eyJx","expires_in":{"toString":1}}'],
    ['expires_in [{"toString":1}]', '{"token":"eyJx","expires_in":[{"toString":1}]}'],
    [
      'expires_in {"valueOf":{},"toString":{}}',
      '{"token":"eyJx","expires_in":{"valueOf":{},"toString":{}}}',
    ],
    ['an error code {"toString":1}', '{"errors":[{"code":{"toString":1},"message":"m"}]}'],
    ['an error code [{"toString":1}]', '{"errors":[{"code":[{"toString":1}]}]}'],
  ])('%s: the documented shapes, not a TypeError', (_name, body) => {
    expectTokenShape(Buffer.from(body))
    expectErrorShape(Buffer.from(body))
  })

  test('generated bodies whose objects may hold toString/valueOf keys: the documented shapes', () => {
    forAll(0x70c3e3, 2000, (gen) => {
      const hostile = (): unknown =>
        gen.pick<unknown>([
          { toString: gen.pick([1, 'x', {}, null]) },
          { valueOf: {}, toString: [] },
          [{ toString: 1 }],
        ])
      const body = JSON.stringify(
        gen.chance(0.5)
          ? { token: 'eyJx', expires_in: gen.chance(0.5) ? hostile() : jsonValue(gen, 1) }
          : { errors: [{ code: gen.chance(0.5) ? hostile() : jsonValue(gen, 2), message: 'm' }] },
      )
      expectTokenShape(Buffer.from(body))
      expectErrorShape(Buffer.from(body))
    })
  })
})

// ── Image references and registries ──────────────────────────────────────────────────────────

const COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const TAG_RE = /^[\w][\w.-]{0,127}$/
const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/
const HEX64 = 'a'.repeat(64)
const REF_PIECES = [
  'a',
  'b',
  'z',
  '0',
  '9',
  'ubi9',
  'ubi',
  'library',
  '.',
  '.',
  '_',
  '__',
  '-',
  '/',
  '/',
  ':',
  ':',
  '@',
  `sha256:${HEX64}`,
  'sha256:',
  'latest',
  '..',
  'A',
  'Q',
  ' ',
  '%2e',
  '?',
  '#',
  '\\',
  '[',
  ']',
  '::1',
  'localhost',
  'quay.io',
  'docker.io',
  '127.0.0.1',
  '5000',
  '256',
  '1.2.3.4',
  '0x7f',
  ...CONTROL,
  ...UNICODE,
]
const REGISTRIES = [
  'registry.redhat.io',
  'docker.io',
  'registry-1.docker.io',
  'localhost:5000',
  '[::1]:5000',
  '127.0.0.1:8443',
]

/** The probe URL the procedure builds for a reference, and its registry's own URL: or undefined when a URL cannot hold the registry. */
function probeUrls(ref: ImageRef): { probe: URL; base: URL } | undefined {
  let base: URL
  try {
    base = new URL(`https://${ref.registry}/`)
  } catch {
    return undefined
  }
  return {
    probe: new URL(`https://${ref.registry}/v2/${ref.repository}/manifests/${ref.reference}`),
    base,
  }
}

/** Checks one reference; true when it was accepted (so a test can tell it tried both sides). */
function expectReferenceShape(input: string, registry: string): boolean {
  const ref = call(() => parseImageRef(input, registry), input, InvalidReference)
  if (ref instanceof Error) return false
  must(ref.input === input, 'input not kept')
  must(
    ref.repository.split('/').every((c) => COMPONENT_RE.test(c)) && ref.repository.length <= 255,
    `repository ${JSON.stringify(ref.repository)}`,
  )
  must(ref.tag === undefined || TAG_RE.test(ref.tag), `tag ${JSON.stringify(ref.tag)}`)
  must(ref.digest === undefined || DIGEST_RE.test(ref.digest), `digest ${ref.digest}`)
  must(ref.reference === (ref.digest ?? ref.tag), 'reference is neither the digest nor the tag')
  const registryBack = call(() => normalizeRegistry(ref.registry), ref.registry, InvalidReference)
  must(registryBack === ref.registry, `registry ${JSON.stringify(ref.registry)} does not read back`)
  // The manifest URL is exactly what the reference says: no `..`, query or fragment sneaks in.
  const urls = probeUrls(ref)
  if (urls) {
    const path = `/v2/${ref.repository}/manifests/${ref.reference}`
    must(urls.probe.host === urls.base.host, `probe host ${urls.probe.host}`)
    must(urls.probe.pathname === path, `probe path ${urls.probe.pathname} is not ${path}`)
    must(urls.probe.search === '' && urls.probe.hash === '', 'a query or fragment in the probe')
  }
  return true
}

describe('parseImageRef and normalizeRegistry', () => {
  test('references from a biased alphabet: an ImageRef whose probe URL is what it says, or InvalidReference', () => {
    let accepted = 0
    forAll(0x1a6e01, 4000, (gen) => {
      if (expectReferenceShape(gen.text(REF_PIECES, 12), gen.pick(REGISTRIES))) accepted++
    })
    expect(accepted).toBeGreaterThan(100) // both sides of the parser were exercised
  })

  test('well-formed references mangled (cut, spliced): the same', () => {
    const real = [
      'ubi9/ubi:latest',
      `registry.redhat.io/rhel9/toolbox@sha256:${HEX64}`,
      'localhost:5000/a/b:c',
      '[::1]:5000/x',
      'alpine',
    ]
    let accepted = 0
    forAll(0x1a6e02, 2000, (gen) => {
      if (expectReferenceShape(gen.mangle(gen.pick(real), REF_PIECES), gen.pick(REGISTRIES)))
        accepted++
    })
    expect(accepted).toBeGreaterThan(200)
  })

  test('random bytes (latin1 and invalid UTF-8): the same', () => {
    forAll(0x1a6e03, 1500, (gen) => {
      const bytes = gen.bytes(40)
      expectReferenceShape(bytes.toString('latin1'), 'quay.io')
      expectReferenceShape(bytes.toString('utf8'), 'quay.io')
    })
  })

  test('registries from a biased alphabet: lower-case host[:port], or InvalidReference', () => {
    forAll(0x1a6e04, 3000, (gen) => {
      const value = gen.text(REF_PIECES, 6)
      const result = call(() => normalizeRegistry(value), value, InvalidReference)
      if (result instanceof Error) return
      expect(result).toBe(result.toLowerCase())
      expect(result).toMatch(/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/)
    })
  })

  test.each([
    ['a 1 MB reference', 'a'.repeat(MB)],
    ['1 MB of separators', `a${'-'.repeat(MB)}a`],
    ['1 MB of components', `${'a/'.repeat(MB / 2)}a`],
    ['a 1 MB tag', `a:${'b'.repeat(MB)}`],
    ['a 1 MB digest', `a@sha256:${'a'.repeat(MB)}`],
    ['a 1 MB host', `${'a.'.repeat(MB / 2)}io/a`],
    ['1 MB of almost-separators', `a${'._'.repeat(MB / 2)}`],
  ])('%s: InvalidReference or a reference, in linear time', (_name, input) => {
    quickly(3000, () => expectReferenceShape(input, 'quay.io'))
  })

  test.each(['1.2.3.4.5', '256.1.1.1', 'registry.example.1', 'a.0x10', '[:]', '[1.2.3.4]'])(
    'the registry %s, which no URL can hold, is refused as a registry and as the host of an image',
    (host) => {
      // The premise: the URL parser the requests go through throws on it.
      expect(() => new URL(`https://${host}/v2/`)).toThrow('Invalid URL')
      expect(() => normalizeRegistry(host)).toThrow(InvalidReference)
      expect(() => parseImageRef(`${host}/ubi9/ubi`, 'quay.io')).toThrow(InvalidReference)
    },
  )
})

// ── Proxy settings and no_proxy ──────────────────────────────────────────────────────────────

const PROXY_PIECES = [
  'http://',
  'https://',
  'socks5://',
  'proxy',
  '.corp',
  ':',
  ':3128',
  '@',
  'user',
  'p%40ss',
  '%',
  '%zz',
  '/',
  '[',
  ']',
  '::1',
  '127.0.0.1',
  ' ',
  ',',
  '?',
  '#',
  'a',
  '0',
  ...CONTROL,
  ...UNICODE,
]
const NO_PROXY_PIECES = [
  '*',
  '.',
  'example.com',
  '.corp',
  '*.',
  ',',
  ' ',
  ':443',
  '/8',
  '10.0.0.0',
  '::',
  'fd00',
  ':',
  'a',
  '0',
  '[',
  ']',
  '/',
  '127.0.0.1',
  ...UNICODE,
]

function expectProxyShape(input: string, env: NodeJS.ProcessEnv): void {
  const settings = call(() => resolveProxySettings(input, env), { input, env }, InvalidProxy)
  if (settings instanceof Error) return
  const s: ProxySettings = settings
  must(['input', 'https_proxy', 'HTTPS_PROXY', 'none'].includes(s.source), `source ${s.source}`)
  must(typeof s.schemeAssumed === 'boolean', 'schemeAssumed is not a boolean')
  must((s.url === undefined) === (s.source === 'none'), 'a url without a source, or the reverse')
  if (s.url) {
    must(['http:', 'https:'].includes(s.url.protocol), `protocol ${s.url.protocol}`)
    must(s.url.hostname !== '', 'no host')
    // The printable form never holds the credentials.
    const shown = redactProxy(s.url)
    must(!shown.includes('@'), 'redactProxy kept the user info')
    if (s.url.password.length >= 4)
      must(!shown.includes(s.url.password), 'redactProxy kept the password')
  }
  for (const entry of s.noProxy) {
    must(entry !== '' && entry === entry.toLowerCase(), `no_proxy entry ${entry}`)
    must(!/[\s,]/.test(entry), `no_proxy entry ${JSON.stringify(entry)} holds a separator`)
  }
  must([undefined, 'no_proxy', 'NO_PROXY'].includes(s.noProxySource), 'noProxySource')
}

const IP_PIECES = [
  '0',
  '1',
  '9',
  'a',
  'f',
  '.',
  '.',
  ':',
  ':',
  '::',
  '/',
  '/8',
  '/64',
  '/0',
  '/129',
  '*',
  '[',
  ']',
  '255',
  '256',
  'ffff',
  '1.2.3.4',
  'x',
  ' ',
]
const HOSTS = [
  'registry.redhat.io',
  'quay.io',
  '10.1.2.3',
  '192.168.0.1',
  '[fd00::1]',
  'fd00::1',
  '[::ffff:10.0.0.1]',
  '::ffff:a00:1',
  'localhost',
  '169.254.169.254',
  '',
]

describe('resolveProxySettings and noProxyMatches', () => {
  test('proxy values and environments from a biased alphabet: ProxySettings or InvalidProxy', () => {
    forAll(0x9e0501, 3000, (gen) => {
      const value = (): string => gen.text(PROXY_PIECES, 8)
      const env: NodeJS.ProcessEnv = {}
      if (gen.chance(0.4)) env.https_proxy = value()
      if (gen.chance(0.4)) env.HTTPS_PROXY = value()
      if (gen.chance(0.5)) env.no_proxy = gen.text(NO_PROXY_PIECES, 8)
      if (gen.chance(0.3)) env.NO_PROXY = gen.text(NO_PROXY_PIECES, 8)
      expectProxyShape(gen.chance(0.6) ? value() : '', env)
    })
  })

  test('a 1 MB proxy value or no_proxy: ProxySettings or InvalidProxy, in linear time', () => {
    quickly(3000, () => {
      expectProxyShape(`http://${'a'.repeat(MB)}:3128`, {})
      expectProxyShape(`http://user:${'%'.repeat(MB)}@proxy:3128`, {})
      expectProxyShape('', {
        https_proxy: `http://proxy:3128/${'a'.repeat(MB)}`,
        no_proxy: 'a,'.repeat(MB / 2),
      })
    })
  })

  test('entries and hosts from a biased alphabet (no zone ids): a boolean, never a throw', () => {
    forAll(0x9e0502, 5000, (gen) => {
      const entry = gen.chance(0.3) ? gen.text(NO_PROXY_PIECES, 5) : gen.text(IP_PIECES, 8)
      const host = gen.chance(0.5) ? gen.pick(HOSTS) : gen.text(IP_PIECES, 8)
      const port = gen.pick(['443', '80', '5000', ''])
      const result = call(() => noProxyMatches(entry, host, port), { entry, host, port })
      expect(typeof result).toBe('boolean')
    })
  })

  test('CIDR entries match exactly the addresses inside them', () => {
    forAll(0x9e0503, 2000, (gen) => {
      const a = [gen.int(256), gen.int(256), gen.int(256), gen.int(256)]
      const bits = gen.int(33)
      const b = a.map((octet) => (gen.chance(0.5) ? octet : (octet ^ (1 << gen.int(8))) & 255))
      const toInt = (ip: number[]): number => ip.reduce((acc, o) => acc * 256 + o, 0)
      const inside =
        bits === 0 ||
        Math.floor(toInt(a) / 2 ** (32 - bits)) === Math.floor(toInt(b) / 2 ** (32 - bits))
      expect(noProxyMatches(`${a.join('.')}/${bits}`, b.join('.'), '443')).toBe(inside)
    })
  })

  test('1 MB entries and hosts: linear time', () => {
    quickly(3000, () => {
      expect(typeof noProxyMatches('a'.repeat(MB), 'a'.repeat(MB), '443')).toBe('boolean')
      expect(typeof noProxyMatches(`${'a'.repeat(MB)}:443`, 'quay.io', '443')).toBe('boolean')
      expect(typeof noProxyMatches(`${'1'.repeat(MB)}/8`, '10.0.0.1', '443')).toBe('boolean')
      expect(typeof noProxyMatches(`*.${'a.'.repeat(MB / 2)}`, 'quay.io', '443')).toBe('boolean')
    })
  })

  test.each([
    ['fe80::1%z:z/64', '::2'],
    ['fe80::1%a:b:c:d:e:f:1:2:3/64', '::2'],
    ['::/0', 'fe80::1%zz:q'],
  ])('no_proxy entry %s against %s: a boolean, not a RangeError', (entry, host) => {
    expect(typeof call(() => noProxyMatches(entry, host, '443'), { entry, host })).toBe('boolean')
  })
})
