/**
 * Manifests as a pull reads them (OCI image spec, Docker's manifest v2 and manifest list): an
 * index names one manifest per platform; a manifest names its config blob and its layers. Only
 * what the preflight needs is read, and every digest is checked before it goes into a URL.
 */
import type { Platform } from './platform.js'
import { parseJson } from './token.js'

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const

/** What a manifest request accepts: every format a current pull does. */
export const MANIFEST_ACCEPT = Object.values(MEDIA_TYPES).join(', ')

/** distribution's limit for a manifest: a larger one is not a manifest a pull would take. */
export const MANIFEST_LIMIT = 4 * 1024 * 1024

const DIGEST = /^(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/

export interface Descriptor {
  digest: string
  mediaType?: string
  platform?: Platform
}

export type ParsedManifest =
  | { kind: 'index'; manifests: Descriptor[] }
  | { kind: 'manifest'; config: Descriptor }
  | { kind: 'unreadable'; reason: string }

/** Reads a manifest or an index from its body and its Content-Type. */
export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  const json = parseJson(body)
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { kind: 'unreadable', reason: 'the manifest is not a JSON object' }
  }
  const record = json as Record<string, unknown>
  const type = (
    typeof record.mediaType === 'string' ? record.mediaType : (contentType ?? '')
  ).split(';')[0]
  const isIndex =
    type === MEDIA_TYPES.ociIndex ||
    type === MEDIA_TYPES.dockerList ||
    Array.isArray(record.manifests)
  if (isIndex) {
    if (!Array.isArray(record.manifests))
      return { kind: 'unreadable', reason: 'the index has no manifests' }
    const manifests = record.manifests.map(descriptor).filter((d): d is Descriptor => !!d)
    return { kind: 'index', manifests }
  }
  const config = descriptor(record.config)
  if (!config) {
    const schema =
      record.schemaVersion === 1 ? ' (a schema 1 manifest, which this check does not read)' : ''
    return { kind: 'unreadable', reason: `the manifest names no config blob${schema}` }
  }
  return { kind: 'manifest', config }
}

function descriptor(value: unknown): Descriptor | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const record = value as Record<string, unknown>
  if (typeof record.digest !== 'string' || !DIGEST.test(record.digest)) return undefined
  const d: Descriptor = { digest: record.digest }
  if (typeof record.mediaType === 'string') d.mediaType = record.mediaType
  const platform = readPlatform(record.platform)
  if (platform) d.platform = platform
  return d
}

/**
 * A platform as a server wrote it, if it is one: each part a short word. Anything else (markup,
 * a page of text) is not a platform, and never reaches a report.
 */
function readPlatform(value: unknown): Platform | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const p = value as Record<string, unknown>
  const word = (v: unknown): v is string =>
    typeof v === 'string' && /^[A-Za-z0-9_.-]{1,32}$/.test(v)
  if (!word(p.os) || !word(p.architecture)) return undefined
  const platform: Platform = { os: p.os, architecture: p.architecture }
  if (word(p.variant)) platform.variant = p.variant
  return platform
}

/**
 * The platforms an index offers to run, in its order: attestation manifests and the like
 * (`unknown/unknown`) are not platforms.
 */
export function indexPlatforms(manifests: Descriptor[]): Descriptor[] {
  return manifests.filter(
    (m) => m.platform && m.platform.os !== 'unknown' && m.platform.architecture !== 'unknown',
  )
}

/** The platform an image config says it is for (`os`, `architecture`, `variant`), if it says. */
export function configPlatform(body: Buffer): Platform | undefined {
  return readPlatform(parseJson(body))
}
