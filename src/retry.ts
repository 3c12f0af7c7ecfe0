/** When to try a request again, and how long to wait first. */

/** Retry-After above this ends the retries: a preflight that waits minutes helps nobody. */
export const MAX_RETRY_AFTER_MS = 30_000
const BACKOFF_BASE_MS = 1_000
const BACKOFF_CAP_MS = 8_000

/** Exponential backoff: 1 s, 2 s, 4 s, … capped at 8 s. `attempt` counts from 0. */
export function backoffMs(attempt: number): number {
  return Math.min(BACKOFF_BASE_MS * 2 ** attempt, BACKOFF_CAP_MS)
}

/** `Retry-After` as delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (!value) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  // An HTTP date always ends in GMT; V8's lenient Date.parse would find a date in any text.
  if (!/GMT$/.test(text)) return undefined
  const date = Date.parse(text)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - nowMs)
}

export function isRetryableStatus(status: number): boolean {
  // 511 is a captive portal asking for a login, which no retry will pass.
  return status === 429 || (status >= 500 && status <= 599 && status !== 511)
}
