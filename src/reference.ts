import { quote } from './text.js'

/**
 * Image references as `docker pull` reads them: `[host[:port]/]path[:tag][@digest]`.
 * A first component is a host when it holds a `.` or a `:`, or is `localhost`; otherwise the
 * reference belongs to the configured registry. Docker Hub's aliases are folded into the host
 * the API answers on, and its one-part names get `library/`.
 */
export interface ImageRef {
  /** The reference as the user wrote it (trimmed). */
  input: string
  /** host[:port] the API is reached on. */
  registry: string
  repository: string
  tag?: string
  digest?: string
  /** What the manifest is asked for by: the digest when there is one, else the tag. */
  reference: string
}

export const DOCKER_HUB = 'registry-1.docker.io'
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', DOCKER_HUB])

// distribution/reference's grammar, reduced to what a pull needs.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const TAG = /^[\w][\w.-]{0,127}$/
const DIGEST = /^(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/
const HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/
const IPV6 = /^\[[0-9a-fA-F:.]+\]$/

export class InvalidReference extends Error {}

/** Checks `host[:port]`; returns the host in the form requests use (Docker Hub's aliases folded). */
export function normalizeRegistry(value: string): string {
  const match = /^(\[[^\]]*\]|[^:/]+)(?::(\d{1,5}))?$/.exec(value)
  if (!match) throw new InvalidReference('expected host[:port]')
  const [, host, port] = match
  if (!(HOST.test(host) || IPV6.test(host))) throw new InvalidReference('expected host[:port]')
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    throw new InvalidReference('the port must be between 1 and 65535')
  }
  // A name the URL parser reads otherwise (1.2.3.4.5, a.0x10, 256.1.1.1) cannot be requested.
  let url: URL | undefined
  try {
    url = new URL(`https://${value}/`)
  } catch {
    // reported below
  }
  if (url?.hostname !== host.toLowerCase()) throw new InvalidReference('expected host[:port]')
  const lower = value.toLowerCase()
  return DOCKER_HUB_ALIASES.has(lower) ? DOCKER_HUB : lower
}

export function isDockerHub(registry: string): boolean {
  return registry === DOCKER_HUB
}

export function parseImageRef(input: string, defaultRegistry: string): ImageRef {
  let rest = input
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST.test(digest)) {
      throw new InvalidReference(`the digest '${quote(digest, 40)}' is not sha256:<64 hex digits>`)
    }
  }

  let registry = DOCKER_HUB_ALIASES.has(defaultRegistry) ? DOCKER_HUB : defaultRegistry
  const slash = rest.indexOf('/')
  if (slash >= 0) {
    const first = rest.slice(0, slash)
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      registry = normalizeRegistry(first)
      rest = rest.slice(slash + 1)
    }
  }

  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon >= 0 && !rest.slice(colon).includes('/')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag))
      throw new InvalidReference(
        `the tag '${quote(tag, 40)}' is not a valid tag (at most 128 letters, digits, _ . -)`,
      )
  }

  let repository = rest
  if (repository === '') throw new InvalidReference('the repository name is empty')
  const components = repository.split('/')
  for (const component of components) {
    if (!COMPONENT.test(component)) {
      throw new InvalidReference(
        `'${quote(component, 40) || '(empty)'}' is not a valid repository path component (lower-case letters, digits and . _ - separators)`,
      )
    }
  }
  if (isDockerHub(registry) && components.length === 1) repository = `library/${repository}`
  if (repository.length > 255)
    throw new InvalidReference('the repository name is over 255 characters')

  if (!tag && !digest) tag = 'latest'
  return { input, registry, repository, tag, digest, reference: digest ?? (tag as string) }
}

/** `host/repo:tag@digest`, the canonical name shown in the report. */
export function formatImageRef(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`
}
