/**
 * A terminal has no runner to mask what a program prints. The report is scrubbed already and the
 * warnings quote no secret; this is the last gate all the same: every secret the run knows (the
 * password and the proxy's in their forms, every header and token the core derives) is cut from
 * each line before it is written, as the runner's mask would.
 */
import { Scrubber } from '../text.js'

export class Redactor {
  private readonly scrubber = new Scrubber()

  /** Registers a secret, and its base64 and URL forms. Very short values are left alone. */
  add(secret: string): void {
    this.scrubber.add(secret)
  }

  /** Text with every secret replaced by `***`. */
  text(text: string): string {
    return this.scrubber.redact(text)
  }

  /** A value with every string in it redacted (for JSON: the structure is left whole). */
  value<T>(value: T): T {
    if (typeof value === 'string') return this.text(value) as T
    if (Array.isArray(value)) return value.map((v: unknown) => this.value(v)) as T
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [this.text(k), this.value(v as unknown)]),
      ) as T
    }
    return value
  }
}
