import { InputError, parseInputs, secretsOf, type InputReader } from '../src/inputs.js'

const PASSWORD = 'S3cr3t-P@ss/word'
const PROXY_PASSWORD = 'Pr0xy@S3cret'
const PROXY_PASSWORD_ENCODED = encodeURIComponent(PROXY_PASSWORD) // Pr0xy%40S3cret
const DIGEST = `sha256:${'ab'.repeat(32)}`

function reader(values: Record<string, string>): InputReader {
  return (name) => values[name] ?? ''
}

function parse(values: Record<string, string>, env: NodeJS.ProcessEnv = {}) {
  return parseInputs(reader(values), env)
}

/** The InputError a call throws (fails the test when it throws nothing or something else). */
function inputError(values: Record<string, string>, env: NodeJS.ProcessEnv = {}): InputError {
  try {
    parse(values, env)
  } catch (err) {
    if (err instanceof InputError) return err
    throw err
  }
  throw new Error('expected an InputError')
}

describe('parseInputs: defaults', () => {
  test('nothing given: registry.redhat.io, 10 s, 2 retries, fail and summary on, anonymous', () => {
    const inputs = parse({})
    expect(inputs.config.registry).toBe('registry.redhat.io')
    expect(inputs.config.timeoutMs).toBe(10_000)
    expect(inputs.config.retries).toBe(2)
    expect(inputs.failOnError).toBe(true)
    expect(inputs.writeSummary).toBe(true)
    expect(inputs.config.images).toEqual([])
    expect(inputs.config.authUrl).toBeUndefined()
    expect(inputs.config.proxy.source).toBe('none')
    expect(inputs.warnings).toEqual([])
  })
})

describe('parseInputs: credentials', () => {
  test('both given and clean: credentials, no warning', () => {
    const inputs = parse({ username: 'alice', password: PASSWORD })
    expect(inputs.config.credentials).toEqual({ username: 'alice', password: PASSWORD })
    expect(inputs.config.missing).toBeUndefined()
    expect(inputs.warnings).toEqual([])
  })

  test('surrounding spaces are trimmed, with a warning about trimming that holds no secret', () => {
    const inputs = parse({ username: '  alice ', password: ` ${PASSWORD}  ` })
    expect(inputs.config.credentials).toEqual({ username: 'alice', password: PASSWORD })
    expect(inputs.warnings).toHaveLength(2)
    for (const warning of inputs.warnings) {
      expect(warning).toMatch(/trimmed/)
      expect(warning).toMatch(/white space/)
      expect(warning).not.toContain(PASSWORD)
    }
    expect(inputs.warnings.some((w) => w.includes('password'))).toBe(true)
  })

  test('a newline at the end of the password: trimmed, with a warning mentioning a newline', () => {
    const inputs = parse({ username: 'alice', password: `${PASSWORD}\n` })
    expect(inputs.config.credentials?.password).toBe(PASSWORD)
    expect(inputs.warnings).toHaveLength(1)
    expect(inputs.warnings[0]).toMatch(/newline/)
    expect(inputs.warnings[0]).toMatch(/password/)
    expect(inputs.warnings[0]).not.toContain(PASSWORD)
  })

  test('a CRLF at the end of the password also mentions a newline', () => {
    const inputs = parse({ username: 'alice', password: `${PASSWORD}\r\n` })
    expect(inputs.warnings[0]).toMatch(/newline/)
  })

  test('white space inside the password: a warning, the value kept', () => {
    const inputs = parse({ username: 'alice', password: 'two words' })
    expect(inputs.config.credentials?.password).toBe('two words')
    expect(inputs.warnings).toHaveLength(1)
    expect(inputs.warnings[0]).toMatch(/white space inside/)
    expect(inputs.warnings[0]).not.toContain('two words')
  })

  test('a control character inside the username: InputError naming username', () => {
    const err = inputError({ username: 'ali\u0001ce', password: PASSWORD })
    expect(err.input).toBe('username')
    expect(err.name).toBe('InputError')
    expect(err.message).toMatch(/control character/)
  })

  test('a newline inside the password: InputError naming password', () => {
    const err = inputError({ username: 'alice', password: 'first\nsecond' })
    expect(err.input).toBe('password')
    expect(err.message).not.toContain('first')
  })

  test("':' in the username: InputError naming username", () => {
    const err = inputError({ username: 'alice:smith', password: PASSWORD })
    expect(err.input).toBe('username')
    expect(err.message).toMatch(/':'/)
  })

  test("a service-account-like name without '|' on the Red Hat registry: a warning about '|'", () => {
    const inputs = parse({ username: '12345678name', password: PASSWORD })
    expect(inputs.warnings).toHaveLength(1)
    expect(inputs.warnings[0]).toContain("'|'")
    expect(inputs.warnings[0]).toContain('12345678|name')
  })

  test("a long eyJ token with a name lacking '|' on the Red Hat registry: a warning about '|'", () => {
    const jwt = `eyJ${'a'.repeat(300)}`
    const inputs = parse({ username: 'myorg-robot', password: jwt })
    expect(inputs.warnings.some((w) => w.includes("'|'"))).toBe(true)
    expect(inputs.warnings.join('\n')).not.toContain(jwt)
  })

  test("a service account name with '|' (12345678|name): no such warning", () => {
    const inputs = parse({ username: '12345678|name', password: PASSWORD })
    expect(inputs.config.credentials?.username).toBe('12345678|name')
    expect(inputs.warnings).toEqual([])
  })

  test("a digit-led name on another registry: no '|' warning", () => {
    const inputs = parse({ registry: 'quay.io', username: '12345678name', password: PASSWORD })
    expect(inputs.warnings).toEqual([])
  })

  test("only the username given: missing is 'password', no credentials", () => {
    const inputs = parse({ username: 'alice' })
    expect(inputs.config.missing).toBe('password')
    expect(inputs.config.credentials).toBeUndefined()
  })

  test("only the password given: missing is 'username', no credentials", () => {
    const inputs = parse({ password: PASSWORD })
    expect(inputs.config.missing).toBe('username')
    expect(inputs.config.credentials).toBeUndefined()
  })

  test('both empty (or only white space): neither missing nor credentials', () => {
    const shapes: Record<string, string>[] = [
      {},
      { username: '', password: '' },
      { username: ' ', password: '\n' },
    ]
    for (const values of shapes) {
      const inputs = parse(values)
      expect(inputs.config.missing).toBeUndefined()
      expect(inputs.config.credentials).toBeUndefined()
    }
  })
})

describe('parseInputs: images', () => {
  test('split on newlines and commas, trimmed, on the registry input by default', () => {
    const inputs = parse({
      images: `ubi9/ubi:latest, ubi9/python-311\r\nregistry.redhat.io/rhel9/toolbox@${DIGEST}\nquay.io/org/repo:v1.2`,
    })
    expect(inputs.config.images.map((i) => i.input)).toEqual([
      'ubi9/ubi:latest',
      'ubi9/python-311',
      `registry.redhat.io/rhel9/toolbox@${DIGEST}`,
      'quay.io/org/repo:v1.2',
    ])
    expect(inputs.config.images[1]).toMatchObject({
      registry: 'registry.redhat.io',
      repository: 'ubi9/python-311',
      reference: 'latest',
    })
    expect(inputs.config.images[3].registry).toBe('quay.io')
  })

  test('# comment lines and blank lines are ignored', () => {
    const inputs = parse({ images: '# base images\n\nubi9/ubi\n   # indented comment\n' })
    expect(inputs.config.images.map((i) => i.input)).toEqual(['ubi9/ubi'])
  })

  test('a # comment line holding a comma is ignored whole', () => {
    const inputs = parse({ images: 'ubi9/ubi:latest\n# was: ubi8/ubi, ubi7/ubi' })
    expect(inputs.config.images.map((i) => i.input)).toEqual(['ubi9/ubi:latest'])
  })

  test('duplicates (same image written differently) are removed, first kept', () => {
    const inputs = parse({
      images: 'ubi9/ubi\nubi9/ubi:latest\nregistry.redhat.io/ubi9/ubi,ubi9/ubi:9.4',
    })
    expect(inputs.config.images.map((i) => i.input)).toEqual(['ubi9/ubi', 'ubi9/ubi:9.4'])
  })

  test('short Docker Hub names against registry docker.io', () => {
    const inputs = parse({ registry: 'docker.io', images: 'nginx' })
    expect(inputs.config.registry).toBe('registry-1.docker.io')
    expect(inputs.config.images[0]).toMatchObject({
      registry: 'registry-1.docker.io',
      repository: 'library/nginx',
    })
  })

  test('an invalid reference: InputError naming images, quoting it and giving the expected form', () => {
    const err = inputError({ images: 'ubi9/ubi\nUBI9/Bad:latest' })
    expect(err.input).toBe('images')
    expect(err.message).toContain("'UBI9/Bad:latest'")
    expect(err.message).toContain('Expected [host/]repository[:tag][@sha256:digest]')
  })

  test('a reference with white space inside: InputError naming images', () => {
    const err = inputError({ images: 'ubi9/ubi latest' })
    expect(err.input).toBe('images')
    expect(err.message).toMatch(/white space/)
  })
})

describe('parseInputs: numbers and booleans', () => {
  test.each(['abc', '0', '-1', '1e3', '601', '.5'])(
    'timeout %p: InputError naming timeout',
    (t) => {
      const err = inputError({ timeout: t })
      expect(err.input).toBe('timeout')
      expect(err.message).toMatch(/Expected a number of seconds/)
    },
  )

  test('timeout 2.5: 2500 ms', () => {
    expect(parse({ timeout: '2.5' }).config.timeoutMs).toBe(2500)
  })

  test('timeout with surrounding spaces is read', () => {
    expect(parse({ timeout: ' 30 ' }).config.timeoutMs).toBe(30_000)
  })

  test.each(['1.5', '11', '-1', 'two'])('retries %p: InputError naming retries', (r) => {
    expect(inputError({ retries: r }).input).toBe('retries')
  })

  test('retries 0 and 10 are accepted', () => {
    expect(parse({ retries: '0' }).config.retries).toBe(0)
    expect(parse({ retries: '10' }).config.retries).toBe(10)
  })

  test('fail-on-error yes: InputError naming fail-on-error', () => {
    const err = inputError({ 'fail-on-error': 'yes' })
    expect(err.input).toBe('fail-on-error')
    expect(err.message).toMatch(/Expected true or false/)
  })

  test('fail-on-error False: false', () => {
    expect(parse({ 'fail-on-error': 'False' }).failOnError).toBe(false)
  })

  test('summary false: false; summary maybe: InputError naming summary', () => {
    expect(parse({ summary: 'false' }).writeSummary).toBe(false)
    expect(inputError({ summary: 'maybe' }).input).toBe('summary')
  })
})

describe('parseInputs: registry and auth-url', () => {
  test.each(['https://quay.io', 'quay.io/path', 'host:99999'])(
    'registry %p: InputError naming registry',
    (registry) => {
      const err = inputError({ registry })
      expect(err.input).toBe('registry')
      expect(err.message).toMatch(/Expected host\[:port\]/)
    },
  )

  test('registry is trimmed and lower-cased', () => {
    expect(parse({ registry: ' Quay.IO ' }).config.registry).toBe('quay.io')
  })

  test('auth-url over plain http to a remote host: InputError', () => {
    const err = inputError({ 'auth-url': 'http://example.com/auth' })
    expect(err.input).toBe('auth-url')
    expect(err.message).toMatch(/https/)
  })

  test('auth-url carrying credentials: InputError that does not repeat them', () => {
    const err = inputError({ 'auth-url': 'https://u:p4ssw0rd@x/auth' })
    expect(err.input).toBe('auth-url')
    expect(err.message).not.toContain('p4ssw0rd')
  })

  test('auth-url over plain http to loopback (http://127.0.0.1:8080/auth) is accepted', () => {
    expect(parse({ 'auth-url': 'http://127.0.0.1:8080/auth' }).config.authUrl?.href).toBe(
      'http://127.0.0.1:8080/auth',
    )
  })

  test('auth-url over https is accepted', () => {
    const url = parse({
      'auth-url': 'https://sso.redhat.com/auth/realms/rhcc/protocol/redhat-docker-v2/auth',
    }).config.authUrl
    expect(url?.hostname).toBe('sso.redhat.com')
  })

  test('auth-url at a link-local address (https://169.254.169.254/): InputError', () => {
    expect(inputError({ 'auth-url': 'https://169.254.169.254/' }).input).toBe('auth-url')
  })

  test('auth-url that is not a URL: InputError', () => {
    expect(inputError({ 'auth-url': 'sso.redhat.com/auth' }).input).toBe('auth-url')
  })

  test('auth-url over plain http to a DNS name starting with 127. is refused', () => {
    expect(inputError({ 'auth-url': 'http://127.attacker.example/auth' }).input).toBe('auth-url')
  })

  test('auth-url at the IPv4-mapped metadata address is refused', () => {
    expect(inputError({ 'auth-url': 'https://[::ffff:169.254.169.254]/' }).input).toBe('auth-url')
  })

  test('an unparseable auth-url carrying credentials is not quoted back with them', () => {
    const err = inputError({ 'auth-url': 'https://user:T0kenSecret@sso.redhat.com:badport/auth' })
    expect(err.input).toBe('auth-url')
    expect(err.message).not.toContain('T0kenSecret')
  })
})

describe('parseInputs: proxy', () => {
  test('a proxy input without a scheme: used as http://, with a warning', () => {
    const inputs = parse({ proxy: 'proxy.corp:3128' })
    expect(inputs.config.proxy.url?.href).toBe('http://proxy.corp:3128/')
    expect(inputs.warnings).toHaveLength(1)
    expect(inputs.warnings[0]).toMatch(/no scheme/)
    expect(inputs.warnings[0]).toContain('http://proxy.corp:3128')
  })

  test('a proxy without a scheme but with credentials: the warning holds no credentials', () => {
    const inputs = parse({ proxy: `user:${PROXY_PASSWORD_ENCODED}@proxy.corp:3128` })
    expect(inputs.warnings).toHaveLength(1)
    expect(inputs.warnings[0]).not.toContain(PROXY_PASSWORD_ENCODED)
    expect(inputs.warnings[0]).not.toContain('user')
  })

  test('an invalid proxy in HTTPS_PROXY: InputError naming HTTPS_PROXY', () => {
    const err = inputError({}, { HTTPS_PROXY: 'socks5://proxy.corp:1080' })
    expect(err.input).toBe('HTTPS_PROXY')
    expect(err.message).toMatch(/HTTPS_PROXY variable/)
  })

  test('an invalid proxy in https_proxy: InputError naming https_proxy', () => {
    expect(inputError({}, { https_proxy: 'socks5://proxy.corp:1080' }).input).toBe('https_proxy')
  })

  test('an invalid proxy input: InputError naming proxy', () => {
    expect(inputError({ proxy: 'socks5://proxy.corp:1080' }).input).toBe('proxy')
  })
})

describe('secretsOf', () => {
  /** The forms of the proxy's password in `http://user:<encoded>@…`: raw, as written, re-encoded, Basic. */
  const PROXY_FORMS = [
    PROXY_PASSWORD,
    PROXY_PASSWORD_ENCODED,
    encodeURIComponent(PROXY_PASSWORD_ENCODED),
    Buffer.from(`user:${PROXY_PASSWORD}`).toString('base64'),
  ]

  test('the password, trimmed and URL-encoded; the proxy password decoded and raw', () => {
    const secrets = secretsOf(
      reader({
        password: ` ${PASSWORD}\n`,
        proxy: `http://user:${PROXY_PASSWORD_ENCODED}@proxy:3128`,
      }),
      {},
    )
    // Exactly these: one missing leaks that form; one too many (a short or common string) would
    // mask innocent text all over the log.
    expect([...secrets].sort()).toEqual(
      [` ${PASSWORD}\n`, PASSWORD, encodeURIComponent(PASSWORD), ...PROXY_FORMS].sort(),
    )
  })

  test('the proxy password from the environment is included', () => {
    const secrets = secretsOf(reader({}), {
      HTTPS_PROXY: `http://user:${PROXY_PASSWORD_ENCODED}@proxy:3128`,
    })
    expect([...secrets].sort()).toEqual([...PROXY_FORMS].sort())
  })

  test('nothing secret given: no secrets, and no empty or blank entries ever', () => {
    expect(secretsOf(reader({}), {})).toEqual([])
    expect(secretsOf(reader({ password: '  \n' }), {})).toEqual([])
  })

  test('an invalid proxy does not make it throw; the password is still returned', () => {
    expect(secretsOf(reader({ password: PASSWORD, proxy: 'socks5://u:x@p' }), {})).toContain(
      PASSWORD,
    )
  })

  test('a proxy password with a stray % is still returned raw', () => {
    const secrets = secretsOf(reader({ proxy: 'http://user:50%off@proxy.corp:3128' }), {})
    expect(secrets).toContain('50%off')
  })
})

describe('no message or warning carries a secret', () => {
  const proxyUrl = `http://user:${PROXY_PASSWORD_ENCODED}@proxy.corp:3128`
  const base = { username: 'alice', password: PASSWORD, proxy: proxyUrl }
  const forbidden = [PASSWORD, encodeURIComponent(PASSWORD), PROXY_PASSWORD, PROXY_PASSWORD_ENCODED]

  const errorCases: [string, Record<string, string>, NodeJS.ProcessEnv][] = [
    ['control character in username', { ...base, username: 'al\u0002ice' }, {}],
    ["':' in username", { ...base, username: 'alice:x' }, {}],
    ['control character in password', { ...base, password: `${PASSWORD}\u0000x` }, {}],
    ['newline inside password', { ...base, password: `${PASSWORD}\nmore` }, {}],
    ['password over 16384 characters', { ...base, password: PASSWORD.repeat(2000) }, {}],
    ['bad timeout', { ...base, timeout: 'abc' }, {}],
    ['bad retries', { ...base, retries: '11' }, {}],
    ['bad fail-on-error', { ...base, 'fail-on-error': 'yes' }, {}],
    ['bad summary', { ...base, summary: 'maybe' }, {}],
    ['bad registry', { ...base, registry: 'https://quay.io' }, {}],
    ['bad image', { ...base, images: 'UBI9/ubi' }, {}],
    ['http auth-url', { ...base, 'auth-url': 'http://example.com/auth' }, {}],
    [
      'auth-url with the password in it',
      { ...base, 'auth-url': `https://alice:${encodeURIComponent(PASSWORD)}@x/auth` },
      {},
    ],
    ['link-local auth-url', { ...base, 'auth-url': 'https://169.254.169.254/' }, {}],
    [
      'socks5 proxy input with credentials',
      { ...base, proxy: `socks5://user:${PROXY_PASSWORD_ENCODED}@p:1080` },
      {},
    ],
    [
      'unparseable proxy input with credentials',
      { ...base, proxy: `http://user:${PROXY_PASSWORD_ENCODED}@proxy.corp:badport` },
      {},
    ],
    [
      'invalid HTTPS_PROXY with credentials',
      { username: 'alice', password: PASSWORD },
      { HTTPS_PROXY: `socks5://user:${PROXY_PASSWORD_ENCODED}@p:1080` },
    ],
    [
      'invalid https_proxy with credentials',
      { username: 'alice', password: PASSWORD },
      { https_proxy: `ftp://user:${PROXY_PASSWORD_ENCODED}@p` },
    ],
  ]

  test.each(errorCases)('InputError for %s holds no secret', (_shape, values, env) => {
    const err = inputError(values, env)
    for (const secret of forbidden) expect(err.message).not.toContain(secret)
    for (const secret of secretsOf(reader(values), env)) expect(err.message).not.toContain(secret)
  })

  const warningCases: [string, Record<string, string>, RegExp][] = [
    [
      'password with a trailing newline',
      { ...base, password: `${PASSWORD}\n` },
      /^The password input has a newline at its start or end\. It was trimmed/,
    ],
    [
      'password with surrounding spaces',
      { ...base, password: `  ${PASSWORD} ` },
      /^The password input has white space at its start or end\. It was trimmed/,
    ],
    [
      'password with white space inside',
      { ...base, password: `${PASSWORD} ${PASSWORD}` },
      /^The password input contains white space inside it/,
    ],
    [
      "service-account name without '|'",
      { ...base, username: '12345678robot' },
      /^The username looks like a Red Hat Registry Service Account's, but has no '\|'/,
    ],
    [
      'proxy without a scheme, with credentials',
      { ...base, proxy: `user:${PROXY_PASSWORD_ENCODED}@proxy.corp:3128` },
      /^The proxy has no scheme; it is used as http:\/\/proxy\.corp:3128, as curl and Go do/,
    ],
  ]

  test.each(warningCases)('the warning for %s holds no secret', (_shape, values, expected) => {
    const { warnings } = parse(values)
    // The one warning the case is about: a case that warns of nothing would check nothing below.
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(expected)
    for (const warning of warnings) {
      for (const secret of forbidden) expect(warning).not.toContain(secret)
    }
  })
})

describe('proxy variables in both cases', () => {
  test('HTTPS_PROXY and https_proxy that differ: a warning that says which is used, without the values', () => {
    const env = {
      HTTPS_PROXY: 'http://u:upper-secret@a:1',
      https_proxy: 'http://u:lower-secret@b:2',
    }
    const { warnings, config } = parseInputs(() => '', env)
    expect(config.proxy.url?.hostname).toBe('a')
    const text = warnings.join('\n')
    expect(text).toMatch(/HTTPS_PROXY and https_proxy differ; HTTPS_PROXY is used/)
    expect(text).not.toMatch(/secret|a:1|b:2/)
  })

  test('the same value in both: no warning', () => {
    const env = {
      HTTPS_PROXY: 'http://p:3128',
      https_proxy: 'http://p:3128',
      NO_PROXY: 'x',
      no_proxy: 'x',
    }
    expect(parseInputs(() => '', env).warnings).toEqual([])
  })
})
