/**
 * The registry's front door: `GET /v2/`, its challenge (how it wants to be spoken to, and which
 * token service to ask), the choice of realm, and the authenticated `GET /v2/` that proves the
 * token works.
 */
import { bearerChallenge, parseChallenges } from '../challenge.js'
import type { Answer, Exchange } from '../http.js'
import type { Check, Finding } from '../report.js'
import type { AuthFacts, RegistryScope } from './context.js'
import {
  checkFrom,
  fail,
  htmlFinding,
  isRegistryAnswer,
  looksLikeHtml,
  networkFinding,
  refusalFinding,
  statusFinding,
} from './findings.js'

export interface Endpoint {
  /** How the registry wants to be spoken to. */
  scheme: 'bearer' | 'basic' | 'none'
  realm?: URL
  service?: string
}

/**
 * Token services known in advance. Their token request goes out together with the first `GET /v2/`
 * (a round trip saved for the home case) and is kept when the challenge names the same realm and
 * service; when /v2/ cannot be reached, it still tells whether the token service can.
 */
export const KNOWN_REALMS: Record<string, { realm: string; service: string }> = {
  'registry.redhat.io': {
    realm: 'https://registry.redhat.io/auth/realms/rhcc/protocol/redhat-docker-v2/auth',
    service: 'docker-registry',
  },
}

/** `GET /v2/` of the scope's registry, recorded as the check `id`. */
export async function getV2(
  scope: RegistryScope,
  id: 'ping' | 'registry',
  title: string,
  authorization?: string,
): Promise<{ check: Check; exchange: Exchange }> {
  const url = new URL(`https://${scope.registry}/v2/`)
  const exchange = await scope.ctx.send({ method: 'GET', url, authorization })
  const check = checkFrom(
    id,
    scope.registry,
    title,
    'registry',
    scope.registry,
    'GET /v2/',
    exchange,
  )
  return { check, exchange }
}

/** The first `GET /v2/` of the configured registry: the `ping` row and the challenge. */
export async function ping(scope: RegistryScope): Promise<{ check: Check; endpoint?: Endpoint }> {
  const { check, exchange } = await getV2(scope, 'ping', 'Reach the registry')
  if (!exchange.answer) return { check }
  const endpoint = readEndpoint(exchange.answer)
  if ('code' in endpoint) {
    // A 429 or 5xx was already judged, with what the retries learned.
    if (check.outcome !== 'failed') fail(check, endpoint)
    return { check }
  }
  scope.facts.auth.scheme = endpoint.scheme
  return { check, endpoint }
}

/** The `GET /v2/` of a registry that gets no row of its own: its failure is its images'. */
export async function pingQuietly(scope: RegistryScope): Promise<Endpoint | Finding> {
  const url = new URL(`https://${scope.registry}/v2/`)
  const exchange = await scope.ctx.send({ method: 'GET', url })
  if (!exchange.answer) return networkFinding(exchange.error!, 'registry', scope.registry)
  return readEndpoint(exchange.answer)
}

/** The authenticated `GET /v2/`: the `registry` row and the `registry-status` output. */
export async function registryCheck(
  scope: RegistryScope,
  title: string,
  authorization: string | undefined,
): Promise<Check> {
  const { registry } = scope
  const { check, exchange } = await getV2(scope, 'registry', title, authorization)
  const answer = exchange.answer
  if (!answer) return check
  scope.facts.registryStatus = answer.status
  if (answer.status === 200) {
    if (!isRegistryAnswer(answer)) fail(check, htmlFinding('registry', registry, answer.status))
    return check
  }
  const finding = refusalFinding(
    answer,
    registry,
    undefined,
    authorization?.startsWith('Bearer ') ? 'token' : 'basic',
    scope.refusalContext,
  ) ??
    statusFinding(answer, 'registry', registry, exchange.retryNote) ?? {
      code: 'unexpected-response',
      detail: `${registry} answered HTTP ${answer.status} to GET /v2/`,
    }
  fail(check, finding)
  return check
}

/**
 * Picks the token realm: auth-url wins; else the challenge's; else, if /v2/ was not reached, the
 * known one. Records the choice in `auth`, and a note when auth-url differs from the challenge.
 */
export function chooseRealm(
  scope: RegistryScope,
  endpoint: Endpoint | undefined,
  answered: boolean,
): Endpoint | undefined {
  const { registry } = scope
  // auth-url belongs to the configured registry; any other asks the realm it announces.
  const authUrl = scope.isPrimary ? scope.ctx.config.authUrl : undefined
  const auth: AuthFacts = scope.facts.auth
  if (endpoint?.realm) auth.discoveredRealm = safeHref(endpoint.realm)
  if (authUrl) {
    if (endpoint?.realm && safeHref(endpoint.realm) !== safeHref(authUrl)) {
      scope.ctx.notes.push(
        `auth-url (${safeHref(authUrl)}) differs from the realm the registry announces (${safeHref(endpoint.realm)}); the auth-url was used.` +
          (authUrl.hostname === 'sso.redhat.com'
            ? ' sso.redhat.com is Red Hat’s older realm, still in many scripts and firewall rules; a pull uses the announced one, so the firewall must allow its host.'
            : ''),
      )
    }
    if (endpoint && endpoint.scheme !== 'bearer') return endpoint
    auth.realm = safeHref(authUrl)
    auth.realmSource = 'auth-url'
    return {
      scheme: 'bearer',
      realm: authUrl,
      service: endpoint?.service ?? KNOWN_REALMS[registry]?.service,
    }
  }
  if (endpoint) {
    if (endpoint.realm) {
      auth.realm = safeHref(endpoint.realm)
      auth.realmSource = 'challenge'
    }
    return endpoint
  }
  const known = KNOWN_REALMS[registry]
  if (!known || answered) return undefined
  auth.realm = known.realm
  auth.realmSource = 'known'
  return { scheme: 'bearer', realm: new URL(known.realm), service: known.service }
}

/** Whether two endpoints name the same token service: the same realm and the same service. */
export function sameTokenService(a: Endpoint, b: Endpoint): boolean {
  return (
    a.realm !== undefined &&
    b.realm !== undefined &&
    safeHref(a.realm) === safeHref(b.realm) &&
    a.service === b.service
  )
}

/** What /v2/ says about how to authenticate, or why its answer is not a registry's. */
export function readEndpoint(answer: Answer): Endpoint | Finding {
  const host = answer.url.host
  if (answer.status === 200) {
    if (!isRegistryAnswer(answer)) return htmlFinding('registry', host, 200)
    return { scheme: 'none' }
  }
  if (answer.status === 401) {
    const parsed = parseChallenges(answer.headersDistinct['www-authenticate'] ?? [])
    const bearer = bearerChallenge(parsed)
    if (bearer) {
      let realm: URL
      try {
        realm = new URL(bearer.params.realm)
      } catch {
        return {
          code: 'unexpected-response',
          detail: `${host} announced a token realm that is not a URL`,
        }
      }
      return { scheme: 'bearer', realm, service: bearer.params.service }
    }
    if (parsed.challenges.some((c) => c.scheme === 'basic')) return { scheme: 'basic' }
    if (looksLikeHtml(answer) && !isRegistryAnswer(answer))
      return htmlFinding('registry', host, 401)
    return {
      code: 'unexpected-response',
      detail: parsed.malformed
        ? `${host} answered 401 with a WWW-Authenticate header that cannot be parsed (expected Bearer realm="…",service="…")`
        : `${host} answered 401 without a challenge this action can read (WWW-Authenticate: Bearer realm=…)`,
    }
  }
  return (
    statusFinding(answer, 'registry', host, undefined) ?? {
      code: 'unexpected-response',
      detail: `${host} answered HTTP ${answer.status} to GET /v2/, which a registry does not`,
    }
  )
}

/** The Bearer challenge of a 401, as an endpoint to get a token from. */
export function challengedEndpoint(answer: Answer): Endpoint | undefined {
  const endpoint = readEndpoint(answer)
  return 'scheme' in endpoint && endpoint.scheme === 'bearer' ? endpoint : undefined
}

/** A URL as it may be shown: no credentials, no query. */
export function safeHref(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`
}
