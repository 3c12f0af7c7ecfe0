import {
  CLIENT_ID,
  MIN_EXPIRES_IN,
  parseErrorBody,
  parseTokenResponse,
  pullScope,
  tokenUrl,
  type TokenParse,
} from '../src/token.js'

const RH_REALM = 'https://registry.redhat.io/auth/realms/rhcc/protocol/redhat-docker-v2/auth'

function body(value: unknown): Buffer {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8')
}

function ok(parse: TokenParse) {
  if (!parse.ok) throw new Error(`expected a token, got: ${parse.reason}`)
  return parse.token
}

function reason(parse: TokenParse): string {
  if (parse.ok) throw new Error('expected no token')
  return parse.reason
}

describe('tokenUrl', () => {
  test("Red Hat's realm gets service, one pull scope and the client_id", () => {
    const url = tokenUrl(new URL(RH_REALM), 'docker-registry', [pullScope('ubi9/ubi')])
    expect(url.origin + url.pathname).toBe(RH_REALM)
    expect(url.searchParams.get('service')).toBe('docker-registry')
    expect(url.searchParams.getAll('scope')).toEqual(['repository:ubi9/ubi:pull'])
    expect(url.searchParams.get('client_id')).toBe(CLIENT_ID)
  })

  test("a realm's existing query (?foo=bar) is kept", () => {
    const url = tokenUrl(new URL('https://auth.example/token?foo=bar'), 'reg', [])
    expect(url.searchParams.get('foo')).toBe('bar')
    expect(url.searchParams.get('service')).toBe('reg')
  })

  test('one scope parameter per repository, in order', () => {
    const url = tokenUrl(new URL('https://auth.example/token'), 'reg', [
      pullScope('a/b'),
      pullScope('localhost:5000/c'),
      pullScope('library/nginx'),
    ])
    expect(url.searchParams.getAll('scope')).toEqual([
      'repository:a/b:pull',
      'repository:localhost:5000/c:pull',
      'repository:library/nginx:pull',
    ])
  })

  test('no scopes: no scope parameter', () => {
    const url = tokenUrl(new URL('https://auth.example/token'), 'reg', [])
    expect(url.searchParams.has('scope')).toBe(false)
  })

  test('a client_id the realm already carries is kept, and not doubled', () => {
    const url = tokenUrl(new URL('https://auth.example/token?client_id=theirs'), 'reg', [])
    expect(url.searchParams.getAll('client_id')).toEqual(['theirs'])
  })

  test('no service: no service parameter', () => {
    const url = tokenUrl(new URL('https://auth.example/token'), undefined, [pullScope('a/b')])
    expect(url.searchParams.has('service')).toBe(false)
    expect(url.searchParams.get('client_id')).toBe(CLIENT_ID)
  })

  test('the realm passed in is not modified', () => {
    const realm = new URL('https://auth.example/token?foo=bar')
    tokenUrl(realm, 'reg', [pullScope('a/b')])
    expect(realm.href).toBe('https://auth.example/token?foo=bar')
  })
})

describe('parseTokenResponse', () => {
  test('token only', () => {
    expect(ok(parseTokenResponse(body({ token: 'tok' }))).token).toBe('tok')
  })

  test('access_token only', () => {
    expect(ok(parseTokenResponse(body({ access_token: 'acc' }))).token).toBe('acc')
  })

  test('both token and access_token: token is used', () => {
    expect(ok(parseTokenResponse(body({ token: 'tok', access_token: 'acc' }))).token).toBe('tok')
  })

  test('neither token nor access_token: no token, with a reason', () => {
    expect(reason(parseTokenResponse(body({ expires_in: 300 })))).toMatch(/without a token/)
  })

  test('an empty string token: no token', () => {
    expect(reason(parseTokenResponse(body({ token: '' })))).toMatch(/without a token/)
  })

  test('an empty token beside a non-empty access_token: the access_token is used', () => {
    expect(ok(parseTokenResponse(body({ token: '', access_token: 'acc' }))).token).toBe('acc')
  })

  test('a token that is not a string: no token', () => {
    expect(parseTokenResponse(body({ token: 12345 })).ok).toBe(false)
  })

  test('an HTML page (captive portal): not JSON', () => {
    const parse = parseTokenResponse(body('<!DOCTYPE html><html><body>Sign in</body></html>'))
    expect(reason(parse)).toMatch(/not JSON/)
  })

  test('an empty body: not JSON', () => {
    expect(reason(parseTokenResponse(Buffer.alloc(0)))).toMatch(/not JSON/)
  })

  test('a JSON array: not an object', () => {
    expect(reason(parseTokenResponse(body([{ token: 'tok' }])))).toMatch(/not an object/)
  })

  test('JSON null: not an object', () => {
    expect(reason(parseTokenResponse(body('null')))).toMatch(/not an object/)
  })

  test('expires_in missing: 60', () => {
    expect(ok(parseTokenResponse(body({ token: 't' }))).expiresIn).toBe(60)
    expect(MIN_EXPIRES_IN).toBe(60)
  })

  test('expires_in 30 (under the minimum): 60', () => {
    expect(ok(parseTokenResponse(body({ token: 't', expires_in: 30 }))).expiresIn).toBe(60)
  })

  test('expires_in 3600: 3600', () => {
    expect(ok(parseTokenResponse(body({ token: 't', expires_in: 3600 }))).expiresIn).toBe(3600)
  })

  test('expires_in as the string "300": 300', () => {
    expect(ok(parseTokenResponse(body({ token: 't', expires_in: '300' }))).expiresIn).toBe(300)
  })

  test('expires_in that is not a number: 60', () => {
    expect(ok(parseTokenResponse(body({ token: 't', expires_in: 'soon' }))).expiresIn).toBe(60)
    expect(ok(parseTokenResponse(body({ token: 't', expires_in: null }))).expiresIn).toBe(60)
  })

  test('a fractional expires_in is rounded down', () => {
    expect(ok(parseTokenResponse(body({ token: 't', expires_in: 299.9 }))).expiresIn).toBe(299)
  })

  test('issued_at in RFC 3339 is parsed', () => {
    const token = ok(parseTokenResponse(body({ token: 't', issued_at: '2024-05-01T10:20:30Z' })))
    expect(token.issuedAt?.toISOString()).toBe('2024-05-01T10:20:30.000Z')
  })

  test('issued_at in RFC 3339 with an offset and fraction is parsed', () => {
    const token = ok(
      parseTokenResponse(body({ token: 't', issued_at: '2024-05-01T12:20:30.123456+02:00' })),
    )
    expect(token.issuedAt?.toISOString()).toBe('2024-05-01T10:20:30.123Z')
  })

  test('an invalid issued_at is ignored', () => {
    const token = ok(parseTokenResponse(body({ token: 't', issued_at: 'not a date' })))
    expect(token.issuedAt).toBeUndefined()
  })

  test('an issued_at that is not a string is ignored', () => {
    const token = ok(parseTokenResponse(body({ token: 't', issued_at: 1714558830 })))
    expect(token.issuedAt).toBeUndefined()
  })

  test('an issued_at that is not RFC 3339 ("1") is ignored', () => {
    const token = ok(parseTokenResponse(body({ token: 't', issued_at: '1' })))
    expect(token.issuedAt).toBeUndefined()
  })
})

describe('parseErrorBody', () => {
  test("Red Hat's UNAUTHORIZED body", () => {
    const errors = parseErrorBody(
      body({
        errors: [
          {
            code: 'UNAUTHORIZED',
            message:
              'Please login to the Red Hat Registry using your Customer Portal credentials. Further instructions can be found here: https://access.redhat.com/RegistryAuthentication',
          },
        ],
      }),
    )
    expect(errors).toHaveLength(1)
    expect(errors?.[0].code).toBe('UNAUTHORIZED')
    expect(errors?.[0].message).toMatch(/^Please login to the Red Hat Registry/)
  })

  test('the non-standard 404 body of registry.redhat.io', () => {
    expect(parseErrorBody(body('{"errors":[{"code":"404","message":"Not Found"}]}'))).toEqual([
      { code: '404', message: 'Not Found' },
    ])
  })

  test('a numeric code is turned into a string, a missing message into an empty one', () => {
    expect(parseErrorBody(body({ errors: [{ code: 401 }] }))).toEqual([
      { code: '401', message: '' },
    ])
  })

  test('entries that are not objects are dropped', () => {
    expect(
      parseErrorBody(body({ errors: [null, 'x', 3, { code: 'DENIED', message: 'no' }] })),
    ).toEqual([{ code: 'DENIED', message: 'no' }])
  })

  test('non-JSON: undefined', () => {
    expect(parseErrorBody(body('<html><body>Access denied</body></html>'))).toBeUndefined()
  })

  test('JSON without an errors array: undefined', () => {
    expect(parseErrorBody(body({ message: 'x' }))).toBeUndefined()
    expect(parseErrorBody(body({ errors: 'x' }))).toBeUndefined()
    expect(parseErrorBody(body('null'))).toBeUndefined()
    expect(parseErrorBody(body([1, 2]))).toBeUndefined()
  })

  test('a 10000-deep JSON array does not throw: undefined, as for any body without errors', () => {
    const deep = '['.repeat(10000) + ']'.repeat(10000)
    expect(parseErrorBody(body(deep))).toBeUndefined()
  })

  test('a 10000-deep JSON array under errors does not throw: one entry, with neither code nor message', () => {
    const deep = '{"errors":' + '['.repeat(10000) + ']'.repeat(10000) + '}'
    // The one entry is an array, which is kept (unlike null, strings and numbers), but nothing is
    // read from its depths.
    expect(parseErrorBody(body(deep))).toEqual([{ code: '', message: '' }])
  })

  test('a deep body that is cut off (unterminated) does not throw', () => {
    expect(parseErrorBody(body('['.repeat(10000)))).toBeUndefined()
  })
})
