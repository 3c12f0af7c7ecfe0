/** Text a person reads: a user's value quoted back, and a server's words made safe to show. */
import { Scrubber, quote, redactUserinfo } from '../src/text.js'

describe('quote() blanks the userinfo of URL-like text, whatever the password holds', () => {
  test.each([
    ['https://user:se/cret@host.example/v2/', 'https://***@host.example/v2/', 'se/cret'],
    ['user:p@ss@host.example', '***@host.example', 'p@ss'],
    ['http://u:a%40b:c@proxy:3128', 'http://***@proxy:3128', 'a%40b'],
    ['see "u:pw@host" here', 'see "***@host" here', 'pw'],
    ['proxy=http://u:x@h', 'proxy=http://***@h', 'u:x'],
  ])('%s', (value, shown, secret) => {
    expect(quote(value, 200)).toBe(shown)
    expect(quote(value, 200)).not.toContain(secret)
  })

  test('an e-mail address or a digest reference has no password and stays as it is', () => {
    expect(redactUserinfo('ops@example.com')).toBe('ops@example.com')
    expect(redactUserinfo('ubi9/ubi@sha256:abc')).toBe('ubi9/ubi@sha256:abc')
  })

  test('control characters are shown as escapes, and long values are cut', () => {
    expect(quote('a\nb\x1b')).toBe('a\\x0ab\\x1b')
    expect(quote('x'.repeat(100), 10)).toBe(`${'x'.repeat(10)}…`)
  })
})

describe('Scrubber.serverText', () => {
  const secret = 'eyJhbGciOi.s3cr3t-t0ken'
  const scrubber = new Scrubber()
  scrubber.add(secret)
  scrubber.add('p@ss/word')

  test.each([
    ['as given', `denied for "Bearer ${secret}"`],
    ['URL-encoded', `q=${encodeURIComponent('p@ss/word')}`],
    ['base64', `blob ${Buffer.from(secret).toString('base64')}`],
    ['base64url', `blob ${Buffer.from('p@ss/word').toString('base64url')}`],
  ])('a secret %s is cut', (_, text) => {
    const clean = scrubber.serverText(text)
    expect(clean).toContain('***')
    for (const form of [secret, 'p@ss/word', encodeURIComponent('p@ss/word')])
      expect(clean).not.toContain(form)
  })

  test('one line without control characters, capped', () => {
    expect(scrubber.serverText('a\r\nb\u0000c\u2028d')).toBe('a b c d')
    expect(scrubber.serverText('y'.repeat(1000))).toHaveLength(300)
    expect(scrubber.serverText('y'.repeat(1000), 50)).toBe(`${'y'.repeat(49)}…`)
  })

  test('credentials in a URL the server quotes are blanked even when no one registered them', () => {
    expect(new Scrubber().serverText('proxy http://u:other@proxy:3128 refused')).toBe(
      'proxy http://***@proxy:3128 refused',
    )
  })
})
