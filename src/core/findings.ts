/**
 * Answers read into findings: what a status, a page or a network failure means, whichever hop it
 * came from. The hop modules add what only they know (a refusal read with what was presented, a
 * 404 for an image); everything that means the same everywhere is decided here.
 */
import type { Hop } from '../codes.js'
import { firstHeader, type Answer, type Exchange, type TransportError } from '../http.js'
import type { Check, Finding } from '../report.js'
import { parseJson } from '../token.js'

/** Who answered, as the sentences name it. */
export type Role = 'registry' | 'token service' | 'blob host'

export const ROLE_OF: Record<Hop, Role> = {
  registry: 'registry',
  'token-service': 'token service',
  'blob-host': 'blob host',
  proxy: 'registry',
}

/** Statuses that mean the same wherever they come from: 429, 5xx, and HTML where JSON was due. */
export function statusFinding(
  answer: Answer,
  role: Role,
  host: string,
  retryNote: string | undefined,
): Finding | undefined {
  const status = answer.status
  const tail = retryNote ? `; ${retryNote}` : ''
  if (status === 429)
    return {
      code: 'rate-limited',
      detail: `the ${role} ${host} is rate-limiting requests (HTTP 429)${tail}`,
    }
  if (status === 511) return htmlFinding(role, host, status)
  if (status >= 500)
    return { code: 'registry-error', detail: `the ${role} ${host} answered HTTP ${status}${tail}` }
  if (status >= 200 && status < 300) return undefined
  if (looksLikeHtml(answer) && !isRegistryAnswer(answer) && ![401, 403].includes(status)) {
    return htmlFinding(role, host, status)
  }
  return undefined
}

export function htmlFinding(role: Role, host: string, status: number): Finding {
  return {
    code: 'unexpected-response',
    detail: `an HTML page (HTTP ${status}) answered where the ${role} ${host} was expected`,
  }
}

export function networkFinding(error: TransportError, role: Role, host: string): Finding {
  const where = `the ${role} ${host}`
  switch (error.kind) {
    case 'dns':
      return { code: 'dns-error', detail: `${where} could not be found: ${error.detail}` }
    case 'refused':
      return {
        code: 'connection-failed',
        detail: `${where} refused the connection (${error.detail})`,
      }
    case 'reset':
      return {
        code: 'connection-failed',
        detail: `the connection to ${where} was cut (${error.detail})`,
      }
    case 'unreachable':
      return { code: 'connection-failed', detail: `${where} is unreachable (${error.detail})` }
    case 'timeout':
      return { code: 'timeout', detail: `${where} did not answer: ${error.detail}` }
    case 'tls':
      return {
        code: 'tls-error',
        detail: `the certificate of ${where} did not verify${error.throughProxy ? ' through the proxy' : ''}: ${error.detail}`,
      }
    case 'proxy-unreachable':
    case 'proxy-timeout':
    case 'proxy-refused':
      return { code: 'proxy-error', detail: `on the way to ${where}, ${error.detail}` }
    case 'proxy-auth':
      return { code: 'proxy-auth-required', detail: `on the way to ${where}, ${error.detail}` }
    case 'bad-answer':
      return { code: 'unexpected-response', detail: `${where} sent ${error.detail}` }
    case 'policy':
      return {
        code: 'unexpected-response',
        detail: `a request to ${where} was stopped: ${error.detail}`,
      }
  }
}

export function looksLikeHtml(answer: Answer): boolean {
  const type = firstHeader(answer.headers['content-type'])?.toLowerCase() ?? ''
  if (type.includes('html')) return true
  return /^\s*<(!doctype|html)/i.test(answer.body.subarray(0, 256).toString('utf8'))
}

/** A registry says who it is in a header, or answers in JSON. */
export function isRegistryAnswer(answer: Answer): boolean {
  if (answer.headers['docker-distribution-api-version']) return true
  if (answer.body.length === 0) return !looksLikeHtml(answer)
  return parseJson(answer.body) !== undefined
}

export function fail(check: Check, finding: Finding): void {
  check.outcome = 'failed'
  check.finding = finding
}

/** A check row from an exchange: passed, or failed with what the network or a status says. */
export function checkFrom(
  id: Check['id'],
  registry: string,
  title: string,
  hop: Hop,
  host: string,
  request: string,
  exchange: Exchange,
): Check {
  const check: Check = {
    id,
    registry,
    title,
    hop,
    host,
    request,
    outcome: 'passed',
    status: exchange.answer?.status,
    ms: exchange.ms,
    attempts: exchange.attempts,
    via: exchange.route.via,
  }
  if (exchange.error) {
    fail(check, networkFinding(exchange.error, ROLE_OF[hop], host))
    check.atProxy = exchange.error.kind.startsWith('proxy-')
  } else if (exchange.answer) {
    const generic = statusFinding(exchange.answer, ROLE_OF[hop], host, exchange.retryNote)
    if (generic) fail(check, generic)
  }
  return check
}

/** Who the credentials are for, as a refusal is read. */
export interface RefusalContext {
  /** The registry the `registry` input names. */
  primary: string
  /** Whether this registry was given credentials. */
  credentialsGiven: boolean
  /** The auth files looked at, when the credentials were to come from them. */
  authFiles?: string[]
}

/**
 * 401/403 from the registry, read with what was presented: no credentials where they were
 * needed is `missing-credentials`; anything else the registry refused is `access-denied`.
 */
export function refusalFinding(
  answer: Answer,
  registry: string,
  image: string | undefined,
  presented: 'token' | 'basic' | 'nothing',
  context: RefusalContext,
): Finding | undefined {
  if (answer.status !== 401 && answer.status !== 403) return undefined
  if (looksLikeHtml(answer) && !isRegistryAnswer(answer))
    return htmlFinding('registry', registry, answer.status)
  const what = image ? `the image ${image}` : 'the token'
  const status = `HTTP ${answer.status}`
  if (!context.credentialsGiven && context.authFiles) {
    return {
      code: 'missing-credentials',
      detail: `${registry} refused ${image ? what : 'anonymous access'} (${status}), and no credentials for it are in ${context.authFiles.join(' or ') || 'the auth files'}`,
    }
  }
  if (registry !== context.primary && !context.credentialsGiven) {
    return {
      code: 'access-denied',
      detail: `${registry} refused ${what} to an anonymous request (${status}); credentials are only sent to ${context.primary}`,
    }
  }
  if (presented === 'nothing') {
    return {
      code: 'access-denied',
      detail: `${registry} refused ${what} (${status}) although it asks for no credentials`,
    }
  }
  if (!context.credentialsGiven) {
    return {
      code: 'missing-credentials',
      detail: `${registry} refused ${image ? what : 'anonymous access'} (${status}) and no credentials were given`,
    }
  }
  if (presented === 'basic' && !image && answer.status === 401) {
    // A registry that takes Basic is its own token service: a 401 on /v2/ refuses the login.
    return {
      code: 'invalid-credentials',
      detail: `${registry} refused the credentials on GET /v2/ (${status})`,
    }
  }
  const accepted =
    presented === 'token'
      ? 'the token service accepted the credentials'
      : 'it accepted the credentials on /v2/'
  return {
    code: 'access-denied',
    detail: `${registry} refused ${what} (${status}) although ${accepted}`,
  }
}
