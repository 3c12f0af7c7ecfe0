/**
 * Text that goes into a line a person reads: a user's value quoted back in an error, and text a
 * server sent. Both are bounded, one line, free of control characters and of credentials.
 */

// Control characters, line and paragraph separators, zero-width and bidirectional controls.
const INVISIBLE =
  // eslint-disable-next-line no-control-regex
  /[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]+/g

/** One line: invisible characters as one space, runs of white space as one, at most `max` long. */
export function oneLine(text: string, max = 300): string {
  const line = text
    .slice(0, max * 4)
    .replace(INVISIBLE, ' ')
    .replace(/\s+/g, ' ')
    .trim()
  return line.length > max ? `${line.slice(0, max - 1)}…` : line
}

/** Control characters shown as `\xNN`: a value quoted whole, on one line, with nothing hidden. */
export function escapeControls(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex
    /[\x00-\x1f\x7f-\x9f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  )
}

/**
 * A user's value quoted back in an error or warning: one line, short, control characters shown
 * as \xNN, and the userinfo of anything shaped like a URL with credentials blanked, since a value
 * in the wrong input may carry them.
 */
export function quote(value: string, max = 80): string {
  // Bounded before any pattern runs over it: inputs can be megabytes long.
  const head = value.slice(0, max * 4)
  const redacted = redactUserinfo(head)
  const shown =
    redacted.length > max || value.length > head.length ? `${redacted.slice(0, max)}…` : redacted
  return escapeControls(shown)
}

/**
 * Blanks the userinfo of every URL-like word: `scheme://user:pass@host` and `user:pass@host`.
 * The password may hold any character but white space, `@` and `/` included, so the userinfo runs
 * to the word's last `@`: `https://u:se/cret@host` and `u:p@ss@host` both become `***@host`.
 */
export function redactUserinfo(text: string): string {
  if (!text.includes('@')) return text
  return text.replace(/\S+/g, (word) => {
    const at = word.lastIndexOf('@')
    if (at < 0) return word
    // What comes before the userinfo: up to a scheme's `://` (`proxy=http://`), or a quote or
    // bracket that belongs to the sentence.
    const prefix = /^(?:[^@]*?[a-z][a-z0-9+.-]*:\/\/|["'(<[]+)/i.exec(word)?.[0] ?? ''
    const userinfo = word.slice(prefix.length, at)
    // `name@host` (an e-mail address, a digest) carries no password; `user:secret@` does.
    if (!userinfo.includes(':')) return word
    return `${prefix}***${word.slice(at)}`
  })
}

/** The most of a server's text that reaches a report: enough for a sentence, not a page. */
export const SERVER_TEXT_LIMIT = 300

/**
 * The one gate between what a server sent and what the action writes. A server can quote the
 * request back (`access denied for authorization "Bearer eyJ…"`), so every secret the run knows,
 * in every form it may take in text, is cut out; control characters and line breaks go, and the
 * text is capped. Markdown and HTML are left for the writer to escape: this is about content.
 */
export class Scrubber {
  private readonly secrets = new Set<string>()

  /** Registers a secret: the value itself and its encodings (URL, base64) are cut from text. */
  add(secret: string): void {
    for (const form of encodings(secret)) if (form.length >= 3) this.secrets.add(form)
  }

  /** Text with every registered secret, in every form, replaced by `***`. */
  redact(text: string): string {
    // Long secrets first, so a secret that contains another is cut whole.
    const secrets = [...this.secrets].sort((a, b) => b.length - a.length)
    let clean = text
    for (const secret of secrets) clean = clean.split(secret).join('***')
    return clean
  }

  /** Server text made safe to show: secrets replaced by `***`, one line, at most `max` characters. */
  serverText(text: string, max = SERVER_TEXT_LIMIT): string {
    return oneLine(redactUserinfo(this.redact(text)), max)
  }
}

function encodings(secret: string): string[] {
  const forms = [secret, secret.trim()]
  for (const value of [...forms]) {
    forms.push(encodeURIComponent(value), Buffer.from(value).toString('base64'))
    // base64 without its padding, as it appears inside longer base64 or URL-safe text.
    forms.push(Buffer.from(value).toString('base64').replace(/=+$/, ''))
    forms.push(Buffer.from(value).toString('base64url'))
  }
  return [...new Set(forms)]
}
