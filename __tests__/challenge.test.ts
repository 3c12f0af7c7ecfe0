import { bearerChallenge, parseChallenges } from '../src/challenge.js'
import { prng } from './support/prng.js'

const RED_HAT =
  'Bearer realm="https://registry.redhat.io/auth/realms/rhcc/protocol/redhat-docker-v2/auth",service="docker-registry"'

describe('parseChallenges', () => {
  test("Red Hat's real challenge gives one bearer challenge with realm and service", () => {
    const parsed = parseChallenges([RED_HAT])
    expect(parsed.malformed).toBe(false)
    expect(parsed.challenges).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://registry.redhat.io/auth/realms/rhcc/protocol/redhat-docker-v2/auth',
          service: 'docker-registry',
        },
      },
    ])
    expect(bearerChallenge(parsed)?.params.realm).toBe(
      'https://registry.redhat.io/auth/realms/rhcc/protocol/redhat-docker-v2/auth',
    )
  })

  test("quay's Basic and Bearer challenges in ONE header value are told apart", () => {
    const parsed = parseChallenges([
      'Basic realm="quay.io", Bearer realm="https://quay.io/v2/auth",service="quay.io"',
    ])
    expect(parsed.malformed).toBe(false)
    expect(parsed.challenges).toEqual([
      { scheme: 'basic', params: { realm: 'quay.io' } },
      { scheme: 'bearer', params: { realm: 'https://quay.io/v2/auth', service: 'quay.io' } },
    ])
    expect(bearerChallenge(parsed)?.params).toEqual({
      realm: 'https://quay.io/v2/auth',
      service: 'quay.io',
    })
  })

  test("quay's Basic and Bearer challenges as two separate header values", () => {
    const parsed = parseChallenges([
      'Basic realm="quay.io"',
      'Bearer realm="https://quay.io/v2/auth",service="quay.io"',
    ])
    expect(parsed.malformed).toBe(false)
    expect(parsed.challenges.map((c) => c.scheme)).toEqual(['basic', 'bearer'])
    expect(bearerChallenge(parsed)?.params.service).toBe('quay.io')
  })

  test('a quoted value holding commas stays one value', () => {
    const parsed = parseChallenges([
      'Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push"',
    ])
    expect(parsed.malformed).toBe(false)
    expect(parsed.challenges).toHaveLength(1)
    expect(parsed.challenges[0].params).toEqual({
      realm: 'https://auth.example/token',
      service: 'reg',
      scope: 'repository:a/b:pull,push',
    })
  })

  test('backslash escapes in a quoted value are unescaped', () => {
    const parsed = parseChallenges([
      'Bearer realm="https://a.example/x",service="a \\"quoted\\" \\\\ name"',
    ])
    expect(parsed.malformed).toBe(false)
    expect(parsed.challenges[0].params.service).toBe('a "quoted" \\ name')
  })

  test('a scope naming a repository with host:port is kept whole', () => {
    const parsed = parseChallenges([
      'Bearer realm="https://auth.example/token",scope="repository:localhost:5000/team/app:pull"',
    ])
    expect(parsed.malformed).toBe(false)
    expect(parsed.challenges[0].params.scope).toBe('repository:localhost:5000/team/app:pull')
  })

  test('error="insufficient_scope" is read as a parameter of the bearer challenge', () => {
    const parsed = parseChallenges([
      'Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull",error="insufficient_scope"',
    ])
    expect(parsed.malformed).toBe(false)
    expect(bearerChallenge(parsed)?.params.error).toBe('insufficient_scope')
  })

  test('unquoted token values are read', () => {
    const parsed = parseChallenges([
      'Bearer realm="https://auth.example/t",service=reg,error=invalid_token',
    ])
    expect(parsed.malformed).toBe(false)
    expect(parsed.challenges[0].params).toEqual({
      realm: 'https://auth.example/t',
      service: 'reg',
      error: 'invalid_token',
    })
  })

  test('an unquoted value as the first parameter after the scheme is a parameter, not a token68', () => {
    const parsed = parseChallenges(['Bearer service=reg,realm="https://auth.example/t"'])
    expect(parsed.malformed).toBe(false)
    expect(parsed.challenges[0].params).toEqual({
      service: 'reg',
      realm: 'https://auth.example/t',
    })
  })

  test('scheme and parameter names are case-insensitive (lower-cased)', () => {
    const parsed = parseChallenges(['BEARER REALM="https://auth.example/T",Service="Reg"'])
    const bearer = { scheme: 'bearer', params: { realm: 'https://auth.example/T', service: 'Reg' } }
    expect(parsed.challenges).toEqual([bearer])
    // The upper-case scheme is found as Bearer, and the values keep their case.
    expect(bearerChallenge(parsed)).toEqual(bearer)
  })

  test('a repeated parameter keeps its first value', () => {
    const parsed = parseChallenges([
      'Bearer realm="https://first.example/",realm="https://second.example/"',
    ])
    expect(parsed.challenges[0].params.realm).toBe('https://first.example/')
  })

  test('a token68 challenge alone (Negotiate abc==)', () => {
    const parsed = parseChallenges(['Negotiate abc=='])
    expect(parsed.malformed).toBe(false)
    expect(parsed.challenges).toEqual([{ scheme: 'negotiate', params: {} }])
    expect(bearerChallenge(parsed)).toBeUndefined()
  })

  test('a token68 challenge followed by a comma and another challenge', () => {
    const parsed = parseChallenges([
      'Negotiate abc==, Bearer realm="https://auth.example/t",service="reg"',
    ])
    expect(parsed.malformed).toBe(false)
    expect(parsed.challenges).toEqual([
      { scheme: 'negotiate', params: {} },
      { scheme: 'bearer', params: { realm: 'https://auth.example/t', service: 'reg' } },
    ])
  })

  test('a token68 with a single = padding followed by another challenge', () => {
    const parsed = parseChallenges(['Negotiate abc=, Bearer realm="https://auth.example/t"'])
    expect(parsed.challenges.map((c) => c.scheme)).toEqual(['negotiate', 'bearer'])
    expect(bearerChallenge(parsed)?.params.realm).toBe('https://auth.example/t')
  })

  test('a scheme with no parameters followed by a comma and another challenge', () => {
    const parsed = parseChallenges(['Negotiate, Bearer realm="https://auth.example/t"'])
    expect(parsed.malformed).toBe(false)
    expect(parsed.challenges.map((c) => c.scheme)).toEqual(['negotiate', 'bearer'])
  })

  test('white space around "=" in the first parameter (BWS, RFC 9110)', () => {
    const parsed = parseChallenges(['Bearer realm = "https://auth.example/t", service = "reg"'])
    expect(parsed.malformed).toBe(false)
    expect(bearerChallenge(parsed)?.params).toEqual({
      realm: 'https://auth.example/t',
      service: 'reg',
    })
  })

  test('white space around "=" in a later parameter is accepted', () => {
    const parsed = parseChallenges(['Bearer realm="https://auth.example/t", service = "reg"'])
    expect(parsed.malformed).toBe(false)
    expect(parsed.challenges[0].params.service).toBe('reg')
  })

  test('a token68 holding "/" (base64) is not malformed', () => {
    const parsed = parseChallenges(['Negotiate YII/ab+c==, Bearer realm="https://auth.example/t"'])
    expect(parsed.malformed).toBe(false)
    expect(parsed.challenges.map((c) => c.scheme)).toEqual(['negotiate', 'bearer'])
  })

  test('an unterminated quoted value is malformed and does not throw', () => {
    const parsed = parseChallenges(['Bearer service="reg",realm="https://auth.example/t'])
    expect(parsed.malformed).toBe(true)
    expect(bearerChallenge(parsed)).toBeUndefined()
  })

  test('a quoted value ending in a lone backslash is unterminated, hence malformed', () => {
    const parsed = parseChallenges(['Bearer realm="abc\\'])
    expect(parsed.malformed).toBe(true)
  })

  test('garbage is malformed and yields no bearer challenge', () => {
    const parsed = parseChallenges(['"}{@@@ ==== ;;;'])
    expect(parsed.malformed).toBe(true)
    expect(bearerChallenge(parsed)).toBeUndefined()
  })

  test('a parameter without a challenge before it is malformed', () => {
    const parsed = parseChallenges(['="x"'])
    expect(parsed.malformed).toBe(true)
    expect(bearerChallenge(parsed)).toBeUndefined()
  })

  test('an empty string gives no challenge and is not malformed', () => {
    expect(parseChallenges([''])).toEqual({ challenges: [], malformed: false })
  })

  test('no header values at all gives no challenge and is not malformed', () => {
    expect(parseChallenges([])).toEqual({ challenges: [], malformed: false })
  })

  test('only commas gives no challenge and is malformed', () => {
    const parsed = parseChallenges([', , ,,'])
    expect(parsed.challenges).toEqual([])
    expect(parsed.malformed).toBe(true)
  })

  test('one malformed header value marks the whole set malformed but keeps the good challenges', () => {
    const parsed = parseChallenges([RED_HAT, '"garbage'])
    expect(parsed.malformed).toBe(true)
    expect(bearerChallenge(parsed)?.params.service).toBe('docker-registry')
  })
})

describe('bearerChallenge', () => {
  test('a bearer challenge without a realm is not returned', () => {
    expect(bearerChallenge(parseChallenges(['Bearer service="reg"']))).toBeUndefined()
  })

  test('a bearer challenge with an empty realm is not returned', () => {
    expect(bearerChallenge(parseChallenges(['Bearer realm=""']))).toBeUndefined()
  })

  test('only a Basic challenge gives no bearer challenge', () => {
    expect(bearerChallenge(parseChallenges(['Basic realm="Registry"']))).toBeUndefined()
  })

  test('the first bearer challenge with a realm is chosen', () => {
    const parsed = parseChallenges([
      'Bearer service="no-realm"',
      'Bearer realm="https://one.example/",service="one"',
      'Bearer realm="https://two.example/",service="two"',
    ])
    expect(bearerChallenge(parsed)?.params.service).toBe('one')
  })
})

describe('parseChallenges on random input', () => {
  const BIASED = [
    '"',
    '"',
    '"',
    ',',
    ',',
    ',',
    '=',
    '=',
    '\\',
    '\\',
    ' ',
    ' ',
    '\t',
    'a',
    'B',
    'r',
    'e',
    'x',
    'Bearer ',
    'realm',
    'Basic ',
    'service',
    '==',
    'é',
    'ü',
    '✓',
    '\u{1F600}',
    '\u0000',
    '\u0001',
    '\u001f',
    '\u007f',
    '\r',
    '\n',
  ]

  function check(values: string[], label: string): void {
    let parsed: ReturnType<typeof parseChallenges> | undefined
    try {
      parsed = parseChallenges(values)
    } catch (err) {
      throw new Error(
        `parseChallenges threw on ${label}: ${JSON.stringify(values)}: ${String(err)}`,
      )
    }
    expect(Array.isArray(parsed.challenges)).toBe(true)
    expect(typeof parsed.malformed).toBe('boolean')
    for (const c of parsed.challenges) {
      expect(typeof c.scheme).toBe('string')
      expect(c.scheme).toBe(c.scheme.toLowerCase())
      expect(typeof c.params).toBe('object')
    }
    // bearerChallenge must not throw either.
    bearerChallenge(parsed)
  }

  test('2000 strings from a biased alphabet never make it throw', () => {
    const seed = 0xc0ffee
    const rand = prng(seed)
    for (let n = 0; n < 2000; n++) {
      const parts = 1 + Math.floor(rand() * 3)
      const values: string[] = []
      for (let p = 0; p < parts; p++) {
        const len = Math.floor(rand() * 40)
        let s = ''
        for (let k = 0; k < len; k++) s += BIASED[Math.floor(rand() * BIASED.length)]
        values.push(s)
      }
      check(values, `seed ${seed} case ${n}`)
    }
  })

  test('2000 random byte buffers decoded as latin1 never make it throw', () => {
    const seed = 1234567
    const rand = prng(seed)
    for (let n = 0; n < 2000; n++) {
      const bytes = Buffer.alloc(Math.floor(rand() * 64))
      for (let k = 0; k < bytes.length; k++) bytes[k] = Math.floor(rand() * 256)
      check([bytes.toString('latin1')], `seed ${seed} case ${n}`)
    }
  })
})
