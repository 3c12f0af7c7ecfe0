/**
 * The token exchange of the distribution token spec: the request URL, and what the token
 * service and the registry say back.
 */

/** The client_id the token spec asks clients to send; token services log it. */
export const CLIENT_ID = 'registry-auth-preflight'
/** `expires_in` when the service says nothing, and the least it may say (token spec). */
export const MIN_EXPIRES_IN = 60

export interface Token {
  token: string
  expiresIn: number
  issuedAt?: Date
}

/** `realm?service=…&scope=…&client_id=…`, keeping whatever query the realm already carries. */
export function tokenUrl(realm: URL, service: string | undefined, scopes: string[]): URL {
  const url = new URL(realm.href)
  if (service) url.searchParams.set('service', service)
  for (const scope of scopes) url.searchParams.append('scope', scope)
  if (!url.searchParams.has('client_id')) url.searchParams.set('client_id', CLIENT_ID)
  return url
}

export function pullScope(repository: string): string {
  return `repository:${repository}:pull`
}

export type TokenParse = { ok: true; token: Token } | { ok: false; reason: string }

/** A 200 from the token service: JSON with `token` and/or `access_token`. */
export function parseTokenResponse(body: Buffer): TokenParse {
  const json = parseJson(body)
  if (json === undefined)
    return { ok: false, reason: 'the token service answered 200 with a body that is not JSON' }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, reason: 'the token service answered 200 with JSON that is not an object' }
  }
  const record = json as Record<string, unknown>
  const token = [record.token, record.access_token].find(
    (t): t is string => typeof t === 'string' && t !== '',
  )
  if (!token) return { ok: false, reason: 'the token service answered 200 without a token' }
  if (!/^[\x21-\x7e]+$/.test(token)) {
    return {
      ok: false,
      reason: 'the token service answered 200 with a token that cannot be sent in a header',
    }
  }
  const expires = readSeconds(record.expires_in)
  const expiresIn =
    expires !== undefined && expires >= MIN_EXPIRES_IN ? Math.floor(expires) : MIN_EXPIRES_IN
  const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/
  const issued =
    typeof record.issued_at === 'string' && rfc3339.test(record.issued_at)
      ? new Date(record.issued_at)
      : undefined
  const issuedAt = issued && !Number.isNaN(issued.getTime()) ? issued : undefined
  return { ok: true, token: { token, expiresIn, issuedAt } }
}

/** `expires_in` as a number or a numeric string; anything else is no answer. */
function readSeconds(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value
  const n =
    typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : undefined
  return n !== undefined && Number.isFinite(n) ? n : undefined
}

/** Every credential a token response carries, for the mask, whatever else the body holds. */
export function tokenSecrets(body: Buffer): string[] {
  const json = parseJson(body)
  if (typeof json !== 'object' || json === null) return []
  const record = json as Record<string, unknown>
  return [record.token, record.access_token, record.refresh_token].filter(
    (v): v is string => typeof v === 'string' && v.trim() !== '',
  )
}

export interface RegistryError {
  code: string
  message: string
}

/** `{"errors":[{"code","message"}]}` as registries (and Red Hat's SSO) send it; undefined otherwise. */
export function parseErrorBody(body: Buffer): RegistryError[] | undefined {
  const json = parseJson(body) as { errors?: unknown } | undefined
  if (!json || typeof json !== 'object' || !Array.isArray(json.errors)) return undefined
  return json.errors
    .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
    .map((e) => ({
      code: scalar(e.code),
      message: typeof e.message === 'string' ? e.message : '',
    }))
}

export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'))
  } catch {
    return undefined
  }
}

/** A JSON scalar as text; objects and arrays (whose toString could be anything) as ''. */
function scalar(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : ''
}
