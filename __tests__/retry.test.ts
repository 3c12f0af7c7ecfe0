import { backoffMs, isRetryableStatus, parseRetryAfter } from '../src/retry.js'

const NOW = Date.parse('2025-01-15T12:00:00Z')

describe('backoffMs', () => {
  test('doubles from 1 s: 1, 2, 4, 8 s', () => {
    expect([0, 1, 2, 3].map(backoffMs)).toEqual([1000, 2000, 4000, 8000])
  })

  test('is capped at 8 s however many attempts', () => {
    expect([4, 5, 10, 100, 5000].map(backoffMs)).toEqual([8000, 8000, 8000, 8000, 8000])
  })
})

describe('parseRetryAfter', () => {
  test('delay-seconds', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000)
    expect(parseRetryAfter('0', NOW)).toBe(0)
  })

  test('delay-seconds with surrounding white space', () => {
    expect(parseRetryAfter(' 5 ', NOW)).toBe(5000)
  })

  // What a run does with them (waits 30 s, not 31 s) is checked in preflight.test.ts.
  test('delay-seconds over the 30 s cap are returned as they are (the caller ends the retries)', () => {
    expect(parseRetryAfter('31', NOW)).toBe(31_000)
    expect(parseRetryAfter('3600', NOW)).toBe(3_600_000)
  })

  test('an HTTP-date in the future is a delay relative to the given now', () => {
    expect(parseRetryAfter('Wed, 15 Jan 2025 12:00:10 GMT', NOW)).toBe(10_000)
    expect(parseRetryAfter('Wed, 15 Jan 2025 12:00:10 GMT', NOW + 4000)).toBe(6000)
  })

  test('an HTTP-date in the past means no wait', () => {
    expect(parseRetryAfter('Wed, 15 Jan 2025 11:59:00 GMT', NOW)).toBe(0)
  })

  test.each([
    ['absent', undefined],
    ['empty', ''],
    ['a word', 'soon'],
    ['a unit', '5s'],
    ['a hex number', '0x10'],
    ['an exponent', '1e3'],
  ])('garbage (%s) is undefined', (_shape, value) => {
    expect(parseRetryAfter(value, NOW)).toBeUndefined()
  })

  test('a fractional or negative number of seconds is undefined', () => {
    expect(parseRetryAfter('1.5', NOW)).toBeUndefined()
    expect(parseRetryAfter('-1', NOW)).toBeUndefined()
  })

  test('free text holding a year is undefined', () => {
    expect(parseRetryAfter('garbage 2020', NOW)).toBeUndefined()
  })
})

describe('isRetryableStatus', () => {
  // Every 5xx but 511 is taken for a passing fault, whatever its number says, and retried.
  test.each([429, 500, 501, 502, 503, 504, 505, 599])('%i is retried', (status) => {
    expect(isRetryableStatus(status)).toBe(true)
  })

  // 511 is a captive portal asking for a login: no retry passes it.
  test.each([200, 400, 401, 403, 404, 407, 511])('%i is not retried', (status) => {
    expect(isRetryableStatus(status)).toBe(false)
  })
})
