/**
 * What a report says about a failure, read for the people who fix it: which check or image
 * decided the verdict, which registry it belongs to, who runs that registry, what kind of failure
 * it was (a tunnel the proxy refused, a slow answer cut by the timeout, a realm over plain http),
 * and the two or three words that name it on a diagram's node. The summary, the diagram and the
 * advice read the same facts from here, so that they never disagree.
 */
import type { Hop, ResultCode } from './codes.js'
import type { Check, Finding, ImageCheck, Report } from './report.js'

/** Who runs a registry: the advice differs for each. */
export type Family = 'redhat' | 'dockerhub' | 'quay' | 'ghcr' | 'other'

/** The registry's operator, from any of its hosts (its registry, token service or CDN). */
export function familyOf(host: string | undefined): Family {
  const name = (host ?? '').replace(/:\d+$/, '').toLowerCase()
  if (/(^|\.)redhat\.(io|com)$/.test(name)) return 'redhat'
  if (/(^|\.)docker\.(io|com)$/.test(name)) return 'dockerhub'
  if (/(^|\.)quay\.io$/.test(name)) return 'quay'
  if (name === 'ghcr.io' || name.endsWith('.githubusercontent.com')) return 'ghcr'
  return 'other'
}

/** The failure that decided the verdict, with the row it came from. */
export interface Decisive {
  finding: Finding
  hop: Hop
  /** The host that failed (a blob host as `host:port`). */
  host: string
  /** The registry whose pull it decides. */
  registry: string
  check?: Check
  image?: ImageCheck
}

/**
 * The first failure in the order the core decides by: the registries' doors (every check but the
 * layer path), then the images in input order, then the layer path.
 */
export function decisiveFailure(report: Omit<Report, 'message'>): Decisive | undefined {
  const failed = (c: Check): boolean => c.outcome === 'failed' && !!c.finding
  const door = report.checks.find((c) => c.id !== 'blob' && failed(c))
  const image = report.images.find((i) => i.outcome === 'failed' && i.finding)
  const blob = report.checks.find((c) => c.id === 'blob' && failed(c))
  const check = door ?? (image ? undefined : blob)
  if (check) {
    return {
      finding: check.finding!,
      hop: check.atProxy ? 'proxy' : check.hop,
      host: check.host,
      registry: check.registry,
      check,
    }
  }
  if (image) {
    return {
      finding: image.finding!,
      hop: 'registry',
      host: image.registry,
      registry: image.registry,
      image,
    }
  }
  return undefined
}

/** What went wrong at or with the proxy, from a finding of `proxy-error` or `proxy-auth-required`. */
export type ProxyFailure =
  | { kind: 'refused'; status?: number; target?: string }
  | { kind: 'auth' }
  | { kind: 'dns' }
  | { kind: 'unreachable' }
  | { kind: 'timeout' }

/** How the proxy failed, read from the finding's words (the tunnel's own sentences). */
export function proxyFailure(finding: Finding | undefined): ProxyFailure | undefined {
  if (!finding) return undefined
  if (finding.code === 'proxy-auth-required') return { kind: 'auth' }
  if (finding.code !== 'proxy-error') return undefined
  const d = finding.detail
  const refused = /refused the tunnel to (\S+) with HTTP (\d{3})/.exec(d)
  if (refused) return { kind: 'refused', target: refused[1], status: Number(refused[2]) }
  if (/did not answer the CONNECT/.test(d)) return { kind: 'timeout' }
  if (/cannot reach the proxy .*(ENOTFOUND|EAI_AGAIN|EAI_NODATA|EAI_FAIL|EAI_NONAME)/.test(d))
    return { kind: 'dns' }
  return { kind: 'unreachable' }
}

/** The kinds of `unexpected-response` the advice tells apart. */
export type OddAnswer =
  | 'html'
  | 'realm-plain-http'
  | 'realm-link-local'
  | 'realm-not-url'
  | 'redirect'
  | 'not-http'
  | 'bad-token'
  | 'challenge'
  | 'other'

export function oddAnswer(finding: Finding | undefined): OddAnswer {
  const d = finding?.detail ?? ''
  if (/HTML page/.test(d)) return 'html'
  if (/token realm .* is not https/.test(d)) return 'realm-plain-http'
  if (/token realm .* link-local/.test(d)) return 'realm-link-local'
  if (/token realm that is not a URL/.test(d)) return 'realm-not-url'
  if (/redirect|link-local address/.test(d)) return 'redirect'
  if (/not valid HTTP|cannot be sent in an HTTP request/.test(d)) return 'not-http'
  if (/token/.test(d) && !/WWW-Authenticate/.test(d)) return 'bad-token'
  if (/WWW-Authenticate|challenge/.test(d)) return 'challenge'
  return 'other'
}

/** The seconds a timeout waited, as its finding says them (`within 2 s`). */
export function timeoutSeconds(finding: Finding | undefined): number | undefined {
  const match = /within (\d+(?:\.\d+)?) s\b/.exec(finding?.detail ?? '')
  return match ? Number(match[1]) : undefined
}

/** The `timeout` input's default, in seconds: a run with less may cut a slow but working host. */
export const DEFAULT_TIMEOUT_S = 10

/**
 * The two or three words that name a failure on the diagram and in the tables: what a person
 * would say ("credentials refused", "timeout 2 s", "CONNECT refused (403)"), never the sentence.
 */
export function shortReason(finding: Finding): string {
  const d = finding.detail
  switch (finding.code) {
    case 'ok':
      return 'passed'
    case 'missing-credentials':
      return 'no credentials'
    case 'invalid-credentials':
      return 'credentials refused'
    case 'access-denied':
      return TOKEN_FINDING.test(d) ? 'token refused' : 'access denied'
    case 'image-not-found':
      return /config blob/.test(d) ? 'layer missing' : 'not found'
    case 'rate-limited':
      return 'rate-limited'
    case 'registry-error':
      return 'server error'
    case 'unexpected-response':
      return {
        html: 'HTML page',
        'realm-plain-http': 'realm not https',
        'realm-link-local': 'link-local realm',
        'realm-not-url': 'realm not a URL',
        redirect: 'redirect stopped',
        'not-http': 'not HTTP',
        'bad-token': 'unusable token',
        challenge: 'no usable challenge',
        other: 'unexpected answer',
      }[oddAnswer(finding)]
    case 'dns-error':
      return 'name not found (DNS)'
    case 'connection-failed':
      return /refused the connection/.test(d)
        ? 'connection refused'
        : /unreachable/.test(d)
          ? 'unreachable'
          : 'connection cut'
    case 'timeout': {
      const seconds = timeoutSeconds(finding)
      return seconds === undefined ? 'timeout' : `timeout ${seconds} s`
    }
    case 'tls-error':
      return /expired/i.test(d)
        ? 'certificate expired'
        : /not yet valid/i.test(d)
          ? 'certificate not yet valid'
          : /altname|HOSTNAME_MISMATCH|does not match/i.test(d)
            ? 'certificate for another name'
            : 'TLS: untrusted certificate'
    case 'proxy-error': {
      const p = proxyFailure(finding)
      if (p?.kind === 'refused') return `CONNECT refused${p.status ? ` (${p.status})` : ''}`
      if (p?.kind === 'timeout') return 'no answer to CONNECT'
      if (p?.kind === 'dns') return 'proxy name not found'
      return 'proxy unreachable'
    }
    case 'proxy-auth-required':
      return '407: proxy login needed'
    case 'no-matching-platform':
      return 'platform missing'
    case 'invalid-input':
      return 'invalid input'
  }
}

/** Whether a failure happened at the proxy: the host behind it was never reached. */
export function atProxy(finding: Finding | undefined): boolean {
  return finding?.code === 'proxy-error' || finding?.code === 'proxy-auth-required'
}

/** Whether an image's failure came from its token request rather than its manifest. */
export function tokenFailure(image: ImageCheck): boolean {
  return !!image.finding && TOKEN_FINDING.test(image.finding.detail)
}

/** The token service's findings start by naming it (src/core/tokens.ts, findings.ts). */
const TOKEN_FINDING = /^(the|on the way to the) token service /

/**
 * Whether an image was never asked for because its registry's `/v2/` failed: such a row carries
 * the registry's finding, with no status and no time of its own.
 */
export function doorFailure(image: ImageCheck): boolean {
  return image.outcome === 'failed' && image.status === undefined && image.ms === undefined
}

/** A request path shortened for a table or a node: `/auth/realms/…/auth` keeps its ends. */
export function shortRequest(request: string, max = 28): string {
  const [method, path = ''] = request.split(' ', 2)
  if (/\/blobs\//.test(path)) return `${method} /v2/…/blobs/…`
  if (path.length <= max) return request
  const parts = path.split('/').filter(Boolean)
  const short = parts.length > 2 ? `/${parts[0]}/…/${parts[parts.length - 1]}` : path
  return `${method} ${short.length <= max + 4 ? short : `${short.slice(0, max)}…`}`
}

/** The first word of our sentence capitalised, unless it is a name (a host, an image) written as is. */
export function sentence(text: string): string {
  const ended = /[.!?…]$/.test(text) ? text : `${text}.`
  if (!/^[a-z]+(\s|,|$)/.test(ended)) return ended
  return ended.charAt(0).toUpperCase() + ended.slice(1)
}

/** Red Hat's token service, wherever it is served from (its realm path names it). */
export const RED_HAT_REALM = /\/realms\/rhcc\//

/** The result codes whose failure is the network's or the proxy's, not the registry's answer. */
export const NETWORK_CODES: readonly ResultCode[] = [
  'dns-error',
  'connection-failed',
  'timeout',
  'tls-error',
  'proxy-error',
  'proxy-auth-required',
]
