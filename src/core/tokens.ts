/**
 * The token service: trading credentials (or none) for a pull token per repository, as the
 * distribution token spec describes. The first request is the credential check (`sso-status`);
 * the images of a repository share its token. Every token is masked the moment it arrives.
 */
import type { Exchange } from '../http.js'
import { isLinkLocal, isLoopback } from '../proxy.js'
import type { ImageRef } from '../reference.js'
import type { Check, Finding } from '../report.js'
import { parseErrorBody, parseTokenResponse, pullScope, tokenSecrets, tokenUrl } from '../token.js'
import type { Token } from '../token.js'
import type { Auth, RegistryScope } from './context.js'
import { KNOWN_REALMS, safeHref, type Endpoint } from './endpoint.js'
import {
  checkFrom,
  fail,
  htmlFinding,
  looksLikeHtml,
  networkFinding,
  statusFinding,
} from './findings.js'

/** The token request sent before the challenge named the realm, for a known token service. */
export interface EarlyToken {
  endpoint: Endpoint
  exchange: Promise<Exchange>
  abandon: AbortController
}

/**
 * The token request for a registry whose token service is known (KNOWN_REALMS), sent before the
 * challenge has named it. Nothing is judged or recorded here: tokenCheck() adopts the answer only
 * if the challenge names the same realm and service (or /v2/ gave no answer at all).
 */
export function earlyToken(
  scope: RegistryScope,
  repository: string | undefined,
): EarlyToken | undefined {
  const { config } = scope.ctx
  const known = KNOWN_REALMS[scope.registry]
  if (!known || !scope.isPrimary || config.authUrl || config.missing) return undefined
  const endpoint: Endpoint = {
    scheme: 'bearer',
    realm: new URL(known.realm),
    service: known.service,
  }
  const abandon = new AbortController()
  const exchange = requestToken(scope, endpoint, repository, scope.basicHeader, {
    signal: abandon.signal,
    speculative: true,
  })
  return { endpoint, exchange, abandon }
}

/** The token request that proves (or disproves) the credentials: the `sso-status` check. */
export function tokenCheck(
  scope: RegistryScope,
  endpoint: Endpoint,
  repository: string | undefined,
  sent?: Promise<Exchange>,
): { check: Check; auth: Promise<Auth> } {
  const { config } = scope.ctx
  const realm = endpoint.realm!
  const check: Check = {
    id: 'token',
    title: config.credentials
      ? 'Token service accepts the credentials'
      : 'Token service grants anonymous access',
    hop: 'token-service',
    host: realm.host,
    request: `GET ${realm.pathname}`,
    outcome: 'skipped',
  }
  if (config.missing) {
    const finding: Finding = {
      code: 'missing-credentials',
      detail: `${scope.registry} needs credentials, but the ${config.missing} input is empty`,
    }
    fail(check, finding)
    return { check, auth: Promise.resolve({ finding }) }
  }
  const auth = fetchToken(scope, endpoint, repository, scope.basicHeader, check, sent)
  // The images of this repository share this token rather than asking again.
  if (repository) scope.tokens.set(repository, auth)
  return { check, auth }
}

/** The Authorization for an image: the token for its repository, fetched once per repository. */
export function authFor(scope: RegistryScope, image: ImageRef, endpoint: Endpoint): Promise<Auth> {
  if (endpoint.scheme === 'none') return Promise.resolve({})
  if (endpoint.scheme === 'basic') {
    // Basic credentials belong to the configured registry; any other registry gets none.
    if (scope.isPrimary) return Promise.resolve(basicAuth(scope))
    return Promise.resolve({})
  }
  return tokenFor(scope, image, endpoint)
}

/** The token for an image's repository, fetched once per repository and shared by its tags. */
export function tokenFor(scope: RegistryScope, image: ImageRef, endpoint: Endpoint): Promise<Auth> {
  let auth = scope.tokens.get(image.repository)
  if (!auth) {
    auth = fetchToken(scope, endpoint, image.repository, scope.basicHeader)
    scope.tokens.set(image.repository, auth)
  }
  return auth
}

/** Basic credentials for a registry that takes them itself, or why there are none. */
export function basicAuth(scope: RegistryScope): Auth {
  if (scope.basicHeader) return { header: scope.basicHeader }
  const { missing } = scope.ctx.config
  const what = missing ? `the ${missing} input is empty` : 'none were given'
  return {
    finding: {
      code: 'missing-credentials',
      detail: `${scope.registry} needs credentials, but ${what}`,
    },
  }
}

/**
 * Asks the token service for a pull token (or judges the answer to a request already `sent` to
 * it). `check`, when given, receives the outcome (the token check row); otherwise the outcome
 * comes back only as a finding for an image row.
 */
async function fetchToken(
  scope: RegistryScope,
  endpoint: Endpoint,
  repository: string | undefined,
  authorization: string | undefined,
  check?: Check,
  sent?: Promise<Exchange>,
): Promise<Auth> {
  const { ctx, registry } = scope
  const realm = endpoint.realm!
  const anonymous = authorization === undefined
  const refusal = realmRefusal(realm)
  if (refusal) {
    const finding: Finding = { code: 'unexpected-response', detail: refusal }
    if (check) fail(check, finding)
    return { finding }
  }
  const exchange = await (sent ?? requestToken(scope, endpoint, repository, authorization))
  // An early request is sent before it is known to be needed: now it is.
  if (sent) ctx.adopt(exchange)
  if (check) {
    Object.assign(
      check,
      checkFrom(check.id, check.title, 'token-service', realm.host, check.request, exchange),
    )
    if (exchange.answer) scope.facts.ssoStatus = exchange.answer.status
  }
  const answer = exchange.answer
  let finding: Finding | undefined
  let token: Token | undefined
  if (!answer) {
    finding = networkFinding(exchange.error!, 'token service', realm.host)
  } else if (answer.status === 200) {
    const parsed = parseTokenResponse(answer.body)
    if (parsed.ok) token = parsed.token
    else finding = { code: 'unexpected-response', detail: `${parsed.reason} (${realm.host})` }
  } else if (answer.status === 401 || answer.status === 403) {
    if (answer.status === 403 && looksLikeHtml(answer) && !parseErrorBody(answer.body)) {
      finding = htmlFinding('token service', realm.host, answer.status)
    } else if (anonymous && !scope.isPrimary) {
      finding = {
        code: 'access-denied',
        detail: `the token service at ${realm.host} refused anonymous access to ${repository ?? registry} (HTTP ${answer.status}); credentials are only sent to ${ctx.config.registry}`,
      }
    } else if (anonymous) {
      finding = {
        code: 'missing-credentials',
        detail: `the token service at ${realm.host} refused anonymous access (HTTP ${answer.status}) and no credentials were given`,
      }
    } else {
      finding = {
        code: 'invalid-credentials',
        detail: `the token service at ${realm.host} refused the credentials (HTTP ${answer.status})`,
      }
    }
  } else {
    finding = statusFinding(answer, 'token service', realm.host, exchange.retryNote) ?? {
      code: 'unexpected-response',
      detail: `the token service at ${realm.host} answered HTTP ${answer.status} at ${realm.pathname}; check auth-url, or that this is the registry's token endpoint`,
    }
  }

  if (token) {
    ctx.noteSkew(token.issuedAt)
    if (check) scope.facts.tokenExpiresIn = token.expiresIn
    ctx.deps.debug(
      `token for ${registry}${repository ? ` (${repository})` : ''}: expires in ${token.expiresIn} s`,
    )
    return { header: `Bearer ${token.token}`, status: answer?.status }
  }
  if (check && finding) fail(check, finding)
  return { finding, status: answer?.status }
}

/** `GET <realm>?service=…&scope=repository:<repository>:pull`; the token is masked at once. */
function requestToken(
  scope: RegistryScope,
  endpoint: Endpoint,
  repository: string | undefined,
  authorization: string | undefined,
  options: { signal?: AbortSignal; speculative?: boolean } = {},
): Promise<Exchange> {
  const scopes = repository ? [pullScope(repository)] : []
  return scope.ctx.send(
    {
      method: 'GET',
      url: tokenUrl(endpoint.realm!, endpoint.service, scopes),
      authorization,
      accept: 'application/json',
      signal: options.signal,
    },
    { secretsIn: tokenSecrets, speculative: options.speculative },
  )
}

/** A realm that credentials must not be sent to, whatever the registry says. */
function realmRefusal(realm: URL): string | undefined {
  if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && isLoopback(realm.hostname))) {
    return `the token realm ${safeHref(realm)} is not https, and credentials are never sent over plain http`
  }
  if (isLinkLocal(realm.hostname)) {
    return `the token realm ${safeHref(realm)} points at a link-local address, where no token service lives`
  }
  return undefined
}
