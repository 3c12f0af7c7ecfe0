/**
 * The files pullers read credentials from: Docker's `config.json`, the containers `auth.json`
 * (podman, buildah, skopeo) and OpenShift pull secrets. All three are
 * `{"auths": {"<key>": {"auth": base64("user:password"), "identitytoken": …}}}`, with optional
 * `credHelpers` (a helper per registry) and `credsStore` (one helper for all). Keys may be `host`,
 * `host:port`, a URL (`https://index.docker.io/v1/`, Docker Hub's legacy key) or a repository
 * scope (`host/namespace[/repo]`, most specific first).
 */

/** Larger than any real auth file (a pull secret with dozens of registries is a few KiB). */
export const AUTH_FILE_LIMIT = 1024 * 1024

/** Docker Hub's names, as keys use them: folded into one. */
const DOCKER_HUB_KEYS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io'])
const DOCKER_HUB_KEY = 'docker.io'

export interface AuthEntry {
  /** The key as the file writes it. */
  key: string
  username?: string
  password?: string
  identityToken?: string
}

export interface AuthFileData {
  path: string
  /** Entries by normalised key (`host[:port][/path]`, Docker Hub as `docker.io`). */
  entries: Map<string, AuthEntry>
  /** Helpers by normalised host. */
  credHelpers: Map<string, string>
  credsStore?: string
}

export class AuthFileError extends Error {}

/**
 * Reads an auth file's JSON. Every secret it holds goes to `onSecret` as soon as the text is
 * parsed, before anything is checked, so that no later message can carry one unmasked. Errors
 * say what is wrong, never what the file holds.
 */
export function parseAuthFile(
  text: string,
  path: string,
  onSecret: (secret: string) => void,
): AuthFileData {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new AuthFileError('it is not JSON')
  }
  for (const secret of secretsIn(json)) onSecret(secret)
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new AuthFileError('it is not a JSON object')
  const record = json as Record<string, unknown>
  const data: AuthFileData = { path, entries: new Map(), credHelpers: new Map() }
  if (record.auths !== undefined) {
    if (typeof record.auths !== 'object' || record.auths === null || Array.isArray(record.auths))
      throw new AuthFileError('its "auths" is not an object')
    for (const [key, value] of Object.entries(record.auths as Record<string, unknown>)) {
      const entry = readEntry(key, value)
      data.entries.set(normalizeAuthKey(key), entry)
    }
  }
  if (record.credHelpers !== undefined) {
    if (typeof record.credHelpers !== 'object' || record.credHelpers === null)
      throw new AuthFileError('its "credHelpers" is not an object')
    for (const [key, value] of Object.entries(record.credHelpers as Record<string, unknown>)) {
      if (typeof value !== 'string' || !HELPER_NAME.test(value))
        throw new AuthFileError(`its "credHelpers" entry for ${shownKey(key)} is not a helper name`)
      data.credHelpers.set(normalizeAuthKey(key), value)
    }
  }
  if (record.credsStore !== undefined && record.credsStore !== '') {
    if (typeof record.credsStore !== 'string' || !HELPER_NAME.test(record.credsStore))
      throw new AuthFileError('its "credsStore" is not a helper name')
    data.credsStore = record.credsStore
  }
  return data
}

/** A helper is a program `docker-credential-<name>`: a name, never a path. */
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/

function readEntry(key: string, value: unknown): AuthEntry {
  const where = `its entry for ${shownKey(key)}`
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new AuthFileError(`${where} is not an object`)
  const record = value as Record<string, unknown>
  const entry: AuthEntry = { key }
  if (record.auth !== undefined && record.auth !== '') {
    if (typeof record.auth !== 'string')
      throw new AuthFileError(`${where} has an "auth" that is not a string`)
    const decoded = decodeAuth(record.auth)
    if (!decoded)
      throw new AuthFileError(`${where} has an "auth" that is not base64 of user:password`)
    Object.assign(entry, decoded)
  }
  if (record.identitytoken !== undefined && record.identitytoken !== '') {
    if (typeof record.identitytoken !== 'string')
      throw new AuthFileError(`${where} has an "identitytoken" that is not a string`)
    entry.identityToken = record.identitytoken
  }
  return entry
}

function decodeAuth(auth: string): { username: string; password: string } | undefined {
  const text = auth.trim()
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 === 1) return undefined
  const decoded = Buffer.from(text, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  // `user:` with an empty password is how docker login writes an entry whose secret is the
  // identitytoken beside it; an empty user name is what docker refuses.
  if (colon <= 0) return undefined
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/** Every credential-looking value in a parsed file, whatever its shape: for the mask. */
function secretsIn(json: unknown): string[] {
  const out: string[] = []
  const auths = (json as { auths?: unknown } | null)?.auths
  if (typeof auths !== 'object' || auths === null) return out
  for (const value of Object.values(auths as Record<string, unknown>)) {
    if (typeof value !== 'object' || value === null) continue
    const record = value as Record<string, unknown>
    for (const field of ['auth', 'identitytoken', 'password', 'registrytoken']) {
      const v = record[field]
      if (typeof v !== 'string' || !v.trim()) continue
      out.push(v)
      if (field === 'auth') {
        const decoded = Buffer.from(v.trim(), 'base64').toString('utf8')
        const colon = decoded.indexOf(':')
        if (colon >= 0 && decoded.length > colon + 1) out.push(decoded.slice(colon + 1))
      }
    }
  }
  return out
}

/** A key as an error may show it: a host name, never anything else it might carry. */
function shownKey(key: string): string {
  const normal = normalizeAuthKey(key)
  return /^[A-Za-z0-9.:[\]/_-]{1,200}$/.test(normal) ? normal : 'a key'
}

/**
 * A key as lookups compare it: no scheme, no trailing slash, a URL key reduced to its host (the
 * legacy `https://index.docker.io/v1/`), the host in lower case, Docker Hub as `docker.io`.
 */
export function normalizeAuthKey(key: string): string {
  let text = key.trim()
  const hadScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text)
  text = text.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
  if (hadScheme) text = text.split('/')[0]
  text = text.replace(/\/+$/, '')
  const slash = text.indexOf('/')
  const host = (slash < 0 ? text : text.slice(0, slash)).toLowerCase()
  const path = slash < 0 ? '' : text.slice(slash)
  return `${DOCKER_HUB_KEYS.has(host) ? DOCKER_HUB_KEY : host}${path}`
}

/** Where a registry's credentials come from, for one repository. */
export type AuthLookup =
  | { kind: 'entry'; file: string; key: string; entry: AuthEntry }
  | { kind: 'helper'; file: string; helper: string; server: string }

/**
 * The credentials a puller would use for `repository` on `registry`, from files read in order
 * (the first that has something wins, as containers/image reads them): a helper named for the
 * host, then the most specific `auths` key (`host/ns/repo`, `host/ns`, `host`), then `credsStore`.
 */
export function lookupAuth(
  files: readonly AuthFileData[],
  registry: string,
  repository: string | undefined,
): AuthLookup | undefined {
  const host = normalizeAuthKey(registry)
  const scopes = [host]
  if (repository) {
    const parts = repository.split('/')
    for (let n = 1; n <= parts.length; n++) scopes.unshift(`${host}/${parts.slice(0, n).join('/')}`)
  }
  for (const file of files) {
    const helper = file.credHelpers.get(host)
    if (helper) return { kind: 'helper', file: file.path, helper, server: serverFor(registry) }
    for (const scope of scopes) {
      const entry = file.entries.get(scope)
      if (entry && (entry.password !== undefined || entry.identityToken !== undefined))
        return { kind: 'entry', file: file.path, key: entry.key, entry }
    }
    if (file.credsStore)
      return {
        kind: 'helper',
        file: file.path,
        helper: file.credsStore,
        server: serverFor(registry),
      }
  }
  return undefined
}

/** The server name a credential helper is asked for, as docker asks it. */
function serverFor(registry: string): string {
  return normalizeAuthKey(registry) === DOCKER_HUB_KEY ? 'https://index.docker.io/v1/' : registry
}

/**
 * The registries a file names (hosts of its keys and helpers), in the order it writes them,
 * Docker Hub as the host its API answers on.
 */
export function registriesIn(file: AuthFileData): string[] {
  const hosts: string[] = []
  for (const key of [...file.entries.keys(), ...file.credHelpers.keys()]) {
    const host = key.split('/')[0]
    const registry = host === DOCKER_HUB_KEY ? 'registry-1.docker.io' : host
    if (!hosts.includes(registry)) hosts.push(registry)
  }
  return hosts
}
