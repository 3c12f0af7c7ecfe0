/**
 * The edge where the step's inputs become typed values. Nothing else reads them. Every error
 * names the input and the form it expects, and never repeats a secret.
 */
import {
  InvalidProxy,
  chooseProxy,
  isLinkLocal,
  isLoopback,
  resolveProxySettings,
} from './proxy.js'
import {
  InvalidReference,
  formatImageRef,
  normalizeRegistry,
  parseImageRef,
  type ImageRef,
} from './reference.js'
import { AuthSourceError, engineMismatches, readAuthFiles, registriesOf } from './auth-sources.js'
import type { PlatformPolicy } from './core/context.js'
import type { AuthFiles } from './core/credentials.js'
import {
  InvalidPlatform,
  hostPlatform,
  normalizePlatform,
  parsePlatform,
  type Platform,
} from './platform.js'
import type { PreflightConfig } from './preflight.js'
import { quote } from './text.js'

export interface ActionInputs {
  config: PreflightConfig
  failOnError: boolean
  writeSummary: boolean
  /** Things that look wrong but do not stop the run; no secret in them. */
  warnings: string[]
}

export class InputError extends Error {
  constructor(
    readonly input: string,
    message: string,
  ) {
    super(message)
    this.name = 'InputError'
  }
}

/** Reads an input as the runner hands it over (untrimmed; '' when unset). */
export type InputReader = (name: string) => string

const MAX_IMAGES = 1000
const RED_HAT_REGISTRIES = /(^|\.)redhat\.(io|com)$/

/** The longest value each input may hold: far above any real one, far below a pasted file. */
const MAX_LENGTH: Record<string, number> = {
  username: 1024,
  password: 16384,
  registry: 255,
  images: 1024 * 1024,
  'auth-url': 2048,
  proxy: 2048,
  timeout: 32,
  retries: 32,
  'fail-on-error': 32,
  summary: 32,
  platform: 1024,
  layers: 32,
  'auth-file': 4096,
}

/**
 * Parses every input. `onSecret` receives each credential an auth file holds, the moment it is
 * read, before anything about the file is judged.
 */
export function parseInputs(
  readRaw: InputReader,
  env: NodeJS.ProcessEnv,
  onSecret: (secret: string) => void = () => {},
): ActionInputs {
  const read: InputReader = (name) => {
    const value = readRaw(name)
    const max = MAX_LENGTH[name]
    if (max !== undefined && value.length > max) {
      throw new InputError(
        name,
        `Invalid ${name}: it is ${value.length} characters long; at most ${max}.`,
      )
    }
    return value
  }
  const warnings: string[] = []
  const rawUsername = read('username')
  const rawPassword = read('password')
  const username = credential('username', rawUsername, warnings)
  const password = credential('password', rawPassword, warnings)

  const registryText = read('registry').trim() || 'registry.redhat.io'
  let registry: string
  try {
    registry = normalizeRegistry(registryText)
  } catch {
    throw new InputError(
      'registry',
      `Invalid registry '${quote(registryText)}'. Expected host[:port] without a scheme or path, e.g. registry.redhat.io or quay.io.`,
    )
  }

  if (
    username &&
    RED_HAT_REGISTRIES.test(registry.replace(/:\d+$/, '')) &&
    !username.includes('|')
  ) {
    if (/^\d{5,}/.test(username) || (password.startsWith('eyJ') && password.length > 200)) {
      warnings.push(
        "The username looks like a Red Hat Registry Service Account's, but has no '|': a service account name is written '12345678|name', with the '|'.",
      )
    }
  }
  if (username.includes(':')) {
    throw new InputError(
      'username',
      "Invalid username: it contains ':', which HTTP Basic authentication cannot carry in a user name.",
    )
  }

  const images = parseImages(read('images'), registry)
  const authUrl = parseAuthUrl(read('auth-url').trim())

  let proxy
  try {
    proxy = resolveProxySettings(read('proxy'), env)
  } catch (err) {
    if (!(err instanceof InvalidProxy)) throw err
    const { source } = chooseProxy(read('proxy'), env)
    throw new InputError(
      source === 'input' ? 'proxy' : source,
      `Invalid proxy in ${source === 'input' ? 'the proxy input' : `the ${source} variable`}: ${err.message}.`,
    )
  }
  for (const [upper, lower] of [
    ['HTTPS_PROXY', 'https_proxy'],
    ['NO_PROXY', 'no_proxy'],
  ] as const) {
    const [a, b] = [env[upper]?.trim(), env[lower]?.trim()]
    if (
      a !== undefined &&
      b !== undefined &&
      a !== b &&
      !(upper === 'HTTPS_PROXY' && proxy.source === 'input')
    ) {
      // The values are not quoted: a proxy URL may hold a password.
      warnings.push(
        `${upper} and ${lower} differ; ${upper} is used, as docker, podman and skopeo (Go programs) use it, though curl would use ${lower}. Set both to the same value.`,
      )
    }
  }
  if (proxy.schemeAssumed && proxy.url) {
    warnings.push(
      `The proxy has no scheme; it is used as http://${proxy.url.host}, as curl and Go do (@actions/http-client would ignore it).`,
    )
  }

  const timeoutSeconds = parseNumber('timeout', read('timeout'), 10, {
    min: 0.1,
    max: 600,
    integer: false,
  })
  const retries = parseNumber('retries', read('retries'), 2, { min: 0, max: 10, integer: true })
  const platforms = parsePlatforms(read('platform'), env)
  const layers = parseChoice('layers', read('layers'), ['auto', 'true', 'false'] as const, 'auto')
  const credentials = username && password ? { username, password } : undefined
  const auth = parseAuthFileInput(read('auth-file').trim(), env, onSecret, {
    registry,
    images,
    credentials: !!credentials,
    warnings,
  })

  return {
    config: {
      registry: auth?.registry ?? registry,
      credentials,
      missing: username && !password ? 'password' : !username && password ? 'username' : undefined,
      images,
      authUrl,
      proxy,
      timeoutMs: Math.round(timeoutSeconds * 1000),
      retries,
      platforms,
      layers,
      ...(auth && {
        authFiles: auth.files,
        extraRegistries: auth.extraRegistries,
        skippedRegistries: auth.skipped,
      }),
    },
    failOnError: parseBoolean('fail-on-error', read('fail-on-error'), true),
    writeSummary: parseBoolean('summary', read('summary'), true),
    warnings,
  }
}

/**
 * Trims as docker/login-action and podman login do, so the verdict predicts the login step;
 * says what trimming hid, since tools that take the secret raw would fail with it.
 */
function credential(name: string, raw: string, warnings: string[]): string {
  const value = raw.trim()
  if (value !== raw && value !== '') {
    const what = /[\r\n]/.test(raw.replace(value, '')) ? 'a newline' : 'white space'
    warnings.push(
      `The ${name} input has ${what} at its start or end. It was trimmed, as docker/login-action and podman login do, but tools that take it raw (curl -u, skopeo --creds) would fail with it: fix the secret.`,
    )
  }
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(value)) {
    throw new InputError(
      name,
      `Invalid ${name}: it contains a control character (such as a newline) inside it. Expected a single line.`,
    )
  }
  if (/[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]/.test(value)) {
    warnings.push(
      `The ${name} input contains an invisible Unicode character (zero-width or bidirectional control); check that the secret was copied cleanly.`,
    )
  }
  if (/\s/.test(value)) {
    warnings.push(
      `The ${name} input contains white space inside it; check that the secret holds only the ${name}.`,
    )
  }
  return value
}

/**
 * The secrets among the inputs (the password, the proxy's password) in every form they may take
 * in a line of output, for the runner's mask. Read before anything else, so it holds even when
 * the inputs turn out to be invalid.
 */
export function secretsOf(read: InputReader, env: NodeJS.ProcessEnv): string[] {
  const forms = secretForms(read('password'))
  // The proxy that is used, and every other spelling that is set: a password in the variable that
  // loses is still a password. Read from the raw text, so that even a proxy URL too broken to parse
  // has its password masked, whatever characters it holds (the userinfo runs to the last `@`).
  const proxies = [chooseProxy(read('proxy'), env).value, env.HTTPS_PROXY, env.https_proxy]
  for (const proxy of proxies) {
    const text = proxy?.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '') ?? ''
    const userinfo = text.slice(0, Math.max(text.lastIndexOf('@'), 0))
    if (!userinfo.includes(':')) continue
    const colon = userinfo.indexOf(':')
    const [user, password] = [decodeLeniently(userinfo.slice(0, colon)), userinfo.slice(colon + 1)]
    const decoded = decodeLeniently(password)
    forms.push(...secretForms(password), ...secretForms(decoded))
    forms.push(Buffer.from(`${user}:${decoded}`).toString('base64'))
  }
  return [...new Set(forms)]
}

function decodeLeniently(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

/** The value and the forms it takes in a URL or a header line. */
function secretForms(value: string): string[] {
  const trimmed = value.trim()
  return [value, trimmed, encodeURIComponent(trimmed), ...trimmed.split(/\r?\n/)].filter(
    (v) => v.trim().length > 0,
  )
}

function parseImages(text: string, registry: string): ImageRef[] {
  // Comment lines go first, so a comma inside one does not make an image of its tail.
  const entries = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .flatMap((line) => line.split(','))
    .map((e) => e.trim())
    .filter((e) => e !== '')
  if (entries.length > MAX_IMAGES)
    throw new InputError('images', `Too many images: ${entries.length}; at most ${MAX_IMAGES}.`)
  const seen = new Set<string>()
  const images: ImageRef[] = []
  for (const entry of entries) {
    let ref: ImageRef
    try {
      if (/\s/.test(entry)) throw new InvalidReference('it contains white space')
      ref = parseImageRef(entry, registry)
    } catch (err) {
      const reason = err instanceof InvalidReference ? err.message : 'it cannot be read'
      throw new InputError(
        'images',
        `Invalid image reference '${quote(entry)}' in images: ${reason}. Expected [host/]repository[:tag][@sha256:digest], e.g. ubi9/ubi:latest.`,
      )
    }
    const key = formatImageRef(ref)
    if (!seen.has(key)) {
      seen.add(key)
      images.push(ref)
    }
  }
  return images
}

function parseAuthUrl(text: string): URL | undefined {
  if (!text) return undefined
  let url: URL
  try {
    url = new URL(text)
  } catch {
    // Not quoted back: an unreadable URL may still carry credentials.
    throw new InputError(
      'auth-url',
      'Invalid auth-url: it is not a URL. Expected an https URL of the token endpoint.',
    )
  }
  if (url.username || url.password) {
    throw new InputError(
      'auth-url',
      'Invalid auth-url: it must not carry credentials; use the username and password inputs.',
    )
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
    throw new InputError(
      'auth-url',
      `Invalid auth-url '${quote(text)}'. Expected an https URL: credentials are never sent over plain http.`,
    )
  }
  if (isLinkLocal(url.hostname)) {
    throw new InputError(
      'auth-url',
      'Invalid auth-url: it points at a link-local address, where no token service lives.',
    )
  }
  return url
}

function parseNumber(
  name: string,
  text: string,
  fallback: number,
  range: { min: number; max: number; integer: boolean },
): number {
  const value = text.trim()
  if (value === '') return fallback
  const pattern = range.integer ? /^\d+$/ : /^\d+(\.\d+)?$/
  const n = Number(value)
  if (!pattern.test(value) || n < range.min || n > range.max) {
    const kind = range.integer ? 'a whole number' : 'a number of seconds'
    throw new InputError(
      name,
      `Invalid ${name} '${quote(value)}'. Expected ${kind} from ${range.min} to ${range.max}.`,
    )
  }
  return n
}

/** Not registries, though pull secrets carry them: OpenShift's telemetry endpoint. */
const NOT_REGISTRIES = new Set(['cloud.openshift.com'])

/**
 * `auth-file`: the files to read credentials from, and which registries they add to the check:
 * with no images, every registry the files name (the way to check a pull secret in one step).
 * With docker or podman, a registry for which the other engine's files hold other credentials
 * (or none) is warned about: that mismatch is the usual cause of "login succeeded, pull denied".
 */
function parseAuthFileInput(
  value: string,
  env: NodeJS.ProcessEnv,
  onSecret: (secret: string) => void,
  context: { registry: string; images: ImageRef[]; credentials: boolean; warnings: string[] },
):
  | { files: AuthFiles; registry?: string; extraRegistries: string[]; skipped: string[] }
  | undefined {
  if (!value) return undefined
  let files: AuthFiles
  try {
    files = readAuthFiles(value, env, onSecret)
  } catch (err) {
    if (!(err instanceof AuthSourceError)) throw err
    throw new InputError('auth-file', `Invalid auth-file: ${err.message}.`)
  }
  const named: string[] = []
  for (const host of registriesOf(files)) {
    try {
      named.push(normalizeRegistry(host))
    } catch {
      // A key that is no host[:port] names no registry a pull could reach.
    }
  }
  const skipped = named.filter((r) => NOT_REGISTRIES.has(r))
  const inFile = named.filter((r) => !NOT_REGISTRIES.has(r))
  let registry: string | undefined
  let extraRegistries: string[] = []
  if (!context.images.length) {
    // The configured registry is checked when the inputs give it credentials or the file names it;
    // otherwise (the default registry, say) the file's own registries are.
    if (!context.credentials && inFile.length && !inFile.includes(context.registry))
      registry = inFile[0]
    extraRegistries = inFile.filter((r) => r !== (registry ?? context.registry))
  }
  if (files.engine !== 'path') {
    const checked = [
      { registry: registry ?? context.registry },
      ...context.images.map((i) => ({ registry: i.registry, repository: i.repository })),
      ...extraRegistries.map((r) => ({ registry: r })),
    ].filter((c, n, all) => all.findIndex((d) => d.registry === c.registry) === n)
    context.warnings.push(...engineMismatches(files.engine, env, checked, files, onSecret))
  }
  return { files, registry, extraRegistries, skipped }
}

/**
 * `platform`: empty for the machine's own (the runner's RUNNER_OS and RUNNER_ARCH), `any` to skip
 * the check, or a comma-separated list every image must offer.
 */
function parsePlatforms(text: string, env: NodeJS.ProcessEnv): PlatformPolicy {
  const value = text.trim()
  if (value.toLowerCase() === 'any') return { kind: 'any' }
  if (value === '') {
    const { platform, source } = hostPlatform(env)
    return { kind: 'list', platforms: [normalizePlatform(platform)], explicit: false, source }
  }
  const platforms: Platform[] = []
  for (const entry of value.split(/[\s,]+/).filter(Boolean)) {
    try {
      platforms.push(parsePlatform(entry))
    } catch (err) {
      if (!(err instanceof InvalidPlatform)) throw err
      throw new InputError(
        'platform',
        `Invalid platform '${quote(entry)}' in platform: ${err.message}. Expected os/architecture[/variant] (linux/amd64, linux/arm64, linux/arm/v7), a comma-separated list of them, or any.`,
      )
    }
  }
  return { kind: 'list', platforms, explicit: true, source: 'the platform input' }
}

function parseChoice<T extends string>(
  name: string,
  text: string,
  choices: readonly T[],
  fallback: T,
): T {
  const value = text.trim().toLowerCase()
  if (value === '') return fallback
  const choice = choices.find((c) => c === value)
  if (choice) return choice
  throw new InputError(
    name,
    `Invalid ${name} '${quote(text.trim())}'. Expected ${choices.join(', ')}.`,
  )
}

/** YAML 1.2's core booleans, as @actions/core's getBooleanInput accepts them; '' gives the default. */
function parseBoolean(name: string, text: string, fallback: boolean): boolean {
  const value = text.trim()
  if (value === '') return fallback
  if (['true', 'True', 'TRUE'].includes(value)) return true
  if (['false', 'False', 'FALSE'].includes(value)) return false
  throw new InputError(name, `Invalid ${name} '${quote(value)}'. Expected true or false.`)
}
