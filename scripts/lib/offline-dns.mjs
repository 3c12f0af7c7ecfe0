// Preloaded (node --import) into the action when tests run it: names under the TLDs reserved
// for tests and examples (RFC 2606, RFC 6761) fail to resolve at once, as they would anywhere,
// without a query leaving this machine. Every other name resolves as usual.
import dns from 'node:dns'
import { syncBuiltinESMExports } from 'node:module'

const RESERVED = /(^|\.)(test|invalid|example)\.?$/i
const original = dns.lookup

/** @type {typeof dns.lookup} */
const lookup = /** @type {any} */ (
  function lookup(
    /** @type {string} */ hostname,
    /** @type {any} */ options,
    /** @type {any} */ callback,
  ) {
    const done = typeof options === 'function' ? options : callback
    if (typeof hostname === 'string' && RESERVED.test(hostname)) {
      const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
        code: 'ENOTFOUND',
        errno: -3008,
        syscall: 'getaddrinfo',
        hostname,
      })
      process.nextTick(() => done(error))
      return {}
    }
    return original.call(dns, hostname, options, callback)
  }
)

dns.lookup = lookup
syncBuiltinESMExports()
