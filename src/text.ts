/**
 * A user's value quoted back in an error or warning: one line, short, control characters shown
 * as \xNN, and anything shaped like URL credentials (`user:secret@`) blanked, since a value
 * in the wrong input may carry them.
 */
export function quote(value: string, max = 80): string {
  // Bounded before any pattern runs over it: inputs can be megabytes long.
  const head = value.slice(0, max * 4)
  const redacted = head.includes('@')
    ? head.replace(/[^\s/@]+@/g, (m) => (m.includes(':') ? '***@' : m))
    : head
  const shown =
    redacted.length > max || value.length > head.length ? `${redacted.slice(0, max)}…` : redacted
  return shown.replace(
    // eslint-disable-next-line no-control-regex
    /[\x00-\x1f\x7f-\x9f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  )
}
