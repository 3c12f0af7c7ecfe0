/**
 * The token service: trading credentials (or none) for a pull token per repository, as the
 * distribution token spec describes. The first request is the credential check (`sso-status`);
 * the images of a repository share its token. Every token is masked the moment it arrives.
 */
import type { Exchange } from '../http.js'
import { isLinkLocal, isLoopback } from '../proxy.js'
import type { ImageRef } from '../reference.js'
import type { Check, Finding } from '../report.js'
import {
  CLIENT_ID,
  parseErrorBody,
  parseTokenResponse,
  pullScope,
  tokenSecrets,
  tokenUrl,
} from '../token.js'
import type { Token } from '../token.js'
import type { Auth, RegistryScope } from './context.js'
import type { Resolved } from './credentials.js'
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
  const credentials = scope.credentials(repository)
  if (!known || !scope.isPrimary || config.authUrl || config.missing || credentials.finding)
    return undefined
  const endpoint: Endpoint = {
    scheme: 'bearer',
    realm: new URL(known.realm),
    service: known.service,
  }
  const abandon = new AbortController()
  const exchange = requestToken(scope, endpoint, repository, credentials, {
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
  const credentials = scope.credentials(repository)
  const check: Check = {
    id: 'token',
    registry: scope.registry,
    title:
      credentials.basic || credentials.identityToken
        ? 'Token service accepts the credentials'
        : 'Token service grants anonymous access',
    hop: 'token-service',
    host: realm.host,
    request: `GET ${realm.pathname}`,
    outcome: 'skipped',
  }
  const missing: Finding | undefined =
    scope.isPrimary && config.missing
      ? {
          code: 'missing-credentials',
          detail: `${scope.registry} needs credentials, but the ${config.missing} input is empty`,
        }
      : credentials.finding
  if (missing) {
    fail(check, missing)
    return { check, auth: Promise.resolve({ finding: missing }) }
  }
  const auth = fetchToken(scope, endpoint, repository, credentials, check, sent)
  // The images of this repository share this token rather than asking again.
  if (repository) scope.tokens.set(repository, auth)
  return { check, auth }
}

/** The Authorization for an image: the token for its repository, fetched once per repository. */
export function authFor(scope: RegistryScope, image: ImageRef, endpoint: Endpoint): Promise<Auth> {
  if (endpoint.scheme === 'none') return Promise.resolve({})
  if (endpoint.scheme === 'basic') {
    // Basic credentials go only to the registry they were given for; others are asked without.
    if (scope.isPrimary || scope.hasCredentials)
      return Promise.resolve(basicAuth(scope, image.repository))
    return Promise.resolve({})
  }
  return tokenFor(scope, image, endpoint)
}

/** The token for an image's repository, fetched once per repository and shared by its tags. */
export function tokenFor(scope: RegistryScope, image: ImageRef, endpoint: Endpoint): Promise<Auth> {
  let auth = scope.tokens.get(image.repository)
  if (!auth) {
    const credentials = scope.credentials(image.repository)
    auth = credentials.finding
      ? Promise.resolve({ finding: credentials.finding })
      : fetchToken(scope, endpoint, image.repository, credentials)
    scope.tokens.set(image.repository, auth)
  }
  return auth
}

/** Basic credentials for a registry that takes them itself, or why there are none. */
export function basicAuth(scope: RegistryScope, repository?: string): Auth {
  const credentials = scope.credentials(repository)
  if (credentials.basic) return { header: credentials.basic }
  if (credentials.finding) return { finding: credentials.finding }
  const { missing, authFiles } = scope.ctx.config
  const what =
    scope.isPrimary && missing
      ? `the ${missing} input is empty`
      : authFiles
        ? `none are in ${authFiles.searched.join(' or ')}`
        : 'none were given'
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
  credentials: Resolved,
  check?: Check,
  sent?: Promise<Exchange>,
): Promise<Auth> {
  const { ctx, registry } = scope
  const realm = endpoint.realm!
  const anonymous = !credentials.basic && !credentials.identityToken
  const refusal = realmRefusal(realm)
  if (refusal) {
    const finding: Finding = { code: 'unexpected-response', detail: refusal }
    if (check) fail(check, finding)
    return { finding }
  }
  const exchange = await (sent ?? requestToken(scope, endpoint, repository, credentials))
  // An early request is sent before it is known to be needed: now it is.
  if (sent) ctx.adopt(exchange)
  if (check) {
    Object.assign(
      check,
      checkFrom(
        check.id,
        check.registry,
        check.title,
        'token-service',
        realm.host,
        check.request,
        exchange,
      ),
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
    } else if (anonymous && ctx.config.authFiles) {
      finding = {
        code: 'missing-credentials',
        detail: `the token service at ${realm.host} refused anonymous access to ${repository ?? registry} (HTTP ${answer.status}), and no credentials for ${registry} are in ${ctx.config.authFiles.searched.join(' or ')}`,
      }
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

/**
 * `GET <realm>?service=…&scope=repository:<repository>:pull` with Basic credentials (or none), or,
 * for an identity token, the OAuth2 form the token spec describes: `POST <realm>` with
 * `grant_type=refresh_token`. The token is masked the moment it arrives.
 */
function requestToken(
  scope: RegistryScope,
  endpoint: Endpoint,
  repository: string | undefined,
  credentials: Resolved,
  options: { signal?: AbortSignal; speculative?: boolean } = {},
): Promise<Exchange> {
  const scopes = repository ? [pullScope(repository)] : []
  const send = { secretsIn: tokenSecrets, speculative: options.speculative }
  if (credentials.identityToken) {
    return scope.ctx.send(
      {
        method: 'POST',
        url: new URL(endpoint.realm!.href),
        form: refreshForm(endpoint, scopes, credentials.identityToken),
        accept: 'application/json',
        signal: options.signal,
      },
      send,
    )
  }
  return scope.ctx.send(
    {
      method: 'GET',
      url: tokenUrl(endpoint.realm!, endpoint.service, scopes),
      authorization: credentials.basic,
      accept: 'application/json',
      signal: options.signal,
    },
    send,
  )
}

function refreshForm(endpoint: Endpoint, scopes: string[], refreshToken: string): URLSearchParams {
  const form = new URLSearchParams({ grant_type: 'refresh_token', client_id: CLIENT_ID })
  if (endpoint.service) form.set('service', endpoint.service)
  for (const scope of scopes) form.append('scope', scope)
  form.set('refresh_token', refreshToken)
  return form
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
