/**
 * Each image's manifest: can it be read with the credentials the pull will present, and (where the
 * platform is checked) does its index hold a manifest for every wanted platform. A HEAD where only
 * the manifest's existence is asked (free on Docker Hub); a GET of the index where the platform or
 * the layer path needs its content, in the same round trip.
 */
import { firstHeader, type Answer, type Exchange } from '../http.js'
import {
  MANIFEST_ACCEPT,
  MANIFEST_LIMIT,
  indexPlatforms,
  parseManifest,
  type Descriptor,
} from '../manifest.js'
import { formatPlatform, platformMatches, type Platform } from '../platform.js'
import { formatImageRef, type ImageRef } from '../reference.js'
import type { Finding, ImageCheck, RateLimit } from '../report.js'
import { parseErrorBody } from '../token.js'
import { presented, type RegistryScope } from './context.js'
import { challengedEndpoint, type Endpoint } from './endpoint.js'
import {
  htmlFinding,
  isRegistryAnswer,
  looksLikeHtml,
  networkFinding,
  refusalFinding,
  statusFinding,
} from './findings.js'
import { authFor, tokenFor } from './tokens.js'

/** Where the layer path of an image starts: the platform's manifest, or the config blob itself. */
export type LayerTarget =
  | { kind: 'manifest'; digest: string }
  | { kind: 'config'; digest: string; platformUnknown: boolean }

export interface ImageProbe {
  row: ImageCheck
  /** What was presented for the manifest, to present again for its blobs. */
  authorization?: string
  /** Set when the manifest passed and was read (a GET). */
  target?: LayerTarget
}

/** The image rows of a registry that could not be asked: not reached, or failed at its door. */
export function unprobed(image: ImageRef, anonymous: boolean, finding?: Finding): ImageCheck {
  const row: ImageCheck = {
    ...imageBase(image, anonymous),
    outcome: finding ? 'failed' : 'skipped',
  }
  if (finding) row.finding = finding
  return row
}

export async function probeImage(
  scope: RegistryScope,
  image: ImageRef,
  endpoint: Endpoint,
): Promise<ImageProbe> {
  const { ctx } = scope
  const own = scope.credentials(image.repository)
  const anonymous = !own.basic && !own.identityToken
  const row: ImageCheck = { ...imageBase(image, anonymous), outcome: 'skipped' }
  const started = ctx.deps.now()
  const failed = (finding: Finding): ImageProbe => ({
    row: { ...row, outcome: 'failed', finding, ms: row.ms ?? ctx.deps.now() - started },
  })
  const auth = await authFor(scope, image, endpoint)
  if (auth.finding) return failed(auth.finding)

  const url = manifestUrl(image, image.reference)
  const method = scope.readsManifests ? 'GET' : 'HEAD'
  const request = (authorization: string | undefined): Promise<Exchange> =>
    ctx.send({
      method,
      url,
      authorization,
      accept: MANIFEST_ACCEPT,
      bodyLimit: MANIFEST_LIMIT,
    })
  let header = auth.header
  let exchange = await request(header)
  // A registry whose /v2/ is open may still want a token for a repository: get one and ask again.
  const upgrade =
    !header && exchange.answer?.status === 401 ? challengedEndpoint(exchange.answer) : undefined
  if (upgrade) {
    const token = await tokenFor(scope, image, upgrade)
    if (token.finding) return failed(token.finding)
    header = token.header
    exchange = await request(header)
  }
  row.ms = ctx.deps.now() - started
  const answer = exchange.answer
  if (!answer) return failed(networkFinding(exchange.error!, 'registry', image.registry))
  row.status = answer.status
  row.rateLimit = rateLimitOf(answer)
  const name = formatImageRef(image)
  if (answer.status === 200) {
    if (looksLikeHtml(answer) && !isRegistryAnswer(answer))
      return failed(htmlFinding('registry', image.registry, 200))
    row.digest = firstHeader(answer.headers['docker-content-digest'])
    if (method === 'HEAD') return { row: { ...row, outcome: 'passed' }, authorization: header }
    return readManifest(scope, image, row, answer, header)
  }
  let finding = refusalFinding(
    answer,
    image.registry,
    name,
    presented(header),
    scope.refusalContext,
  )
  if (!finding && answer.status === 404) {
    finding = {
      code: 'image-not-found',
      detail: `${image.registry} has no manifest for ${name} (HTTP 404)`,
    }
  }
  finding ??= statusFinding(answer, 'registry', image.registry, exchange.retryNote) ?? {
    code: 'unexpected-response',
    detail: `${image.registry} answered HTTP ${answer.status} for ${name}`,
  }
  const probe = failed(finding)
  if (finding.code !== 'unexpected-response' && finding.code !== 'rate-limited') {
    probe.row.registryMessage =
      method === 'GET'
        ? registryWords(answer)
        : // A HEAD has no body: one capped GET reads the registry's own words, except on Docker
          // Hub, where a manifest GET counts as a pull.
          scope.dockerHub
          ? undefined
          : await registryMessage(scope, url, header)
  }
  return probe
}

/** Reads a manifest that passed: the platforms of an index, and where its layer path starts. */
function readManifest(
  scope: RegistryScope,
  image: ImageRef,
  row: ImageCheck,
  answer: Answer,
  authorization: string | undefined,
): ImageProbe {
  const name = formatImageRef(image)
  const manifest = parseManifest(answer.body, firstHeader(answer.headers['content-type']))
  if (manifest.kind === 'unreadable') {
    return {
      row: {
        ...row,
        outcome: 'failed',
        finding: {
          code: 'unexpected-response',
          detail: `${image.registry} answered 200 for ${name} with a manifest that cannot be read: ${manifest.reason}`,
        },
      },
    }
  }
  if (manifest.kind === 'manifest') {
    row.kind = 'manifest'
    return {
      row: { ...row, outcome: 'passed' },
      authorization,
      target: {
        kind: 'config',
        digest: manifest.config.digest,
        platformUnknown: scope.platforms !== undefined,
      },
    }
  }
  row.kind = 'index'
  const offered = indexPlatforms(manifest.manifests)
  row.platforms = offered.map((m) => formatPlatform(m.platform!))
  const wanted = scope.platforms
  let chosen: Descriptor | undefined
  if (wanted) {
    const missing: Platform[] = []
    for (const platform of wanted) {
      const match = offered.find((m) => platformMatches(platform, m.platform!))
      if (!match) missing.push(platform)
      chosen ??= match
    }
    if (missing.length) {
      const held = row.platforms.length ? row.platforms.join(', ') : 'no platform at all'
      return {
        row: {
          ...row,
          outcome: 'failed',
          finding: {
            code: 'no-matching-platform',
            detail: `${name} has no manifest for ${missing.map(formatPlatform).join(' or ')} in its index (it holds ${held})`,
          },
        },
      }
    }
    row.platform = formatPlatform(chosen!.platform!)
  }
  // Without a platform to match, the layer path follows the index's first platform.
  chosen ??= offered[0] ?? manifest.manifests[0]
  if (!chosen) {
    return {
      row: {
        ...row,
        outcome: 'failed',
        finding: {
          code: 'unexpected-response',
          detail: `${image.registry} answered 200 for ${name} with an index that lists no manifest`,
        },
      },
    }
  }
  return {
    row: { ...row, outcome: 'passed' },
    authorization,
    target: { kind: 'manifest', digest: chosen.digest },
  }
}

export function manifestUrl(image: ImageRef, reference: string): URL {
  return new URL(`https://${image.registry}/v2/${image.repository}/manifests/${reference}`)
}

/** A HEAD has no body: one capped GET reads the registry's own words for a refused image. */
async function registryMessage(
  scope: RegistryScope,
  url: URL,
  authorization: string | undefined,
): Promise<string | undefined> {
  const exchange = await scope.ctx.send(
    { method: 'GET', url, authorization, accept: MANIFEST_ACCEPT },
    { retries: 0 },
  )
  return exchange.answer ? registryWords(exchange.answer) : undefined
}

/** The registry's own error messages, as it wrote them; the report scrubs them. */
function registryWords(answer: Answer): string | undefined {
  const text = parseErrorBody(answer.body)
    ?.map((e) => e.message || e.code)
    .filter(Boolean)
    .join('; ')
  return text || undefined
}

/** `ratelimit-limit: 100;w=21600`, `ratelimit-remaining: 76;w=21600`, as Docker Hub sends them. */
export function rateLimitOf(answer: Pick<Answer, 'headers'>): RateLimit | undefined {
  const read = (name: string): { value?: number; window?: number } => {
    const match = /^\s*(\d+)\s*(?:;\s*w\s*=\s*(\d+))?/.exec(firstHeader(answer.headers[name]) ?? '')
    return match ? { value: Number(match[1]), window: match[2] ? Number(match[2]) : undefined } : {}
  }
  const limit = read('ratelimit-limit')
  const remaining = read('ratelimit-remaining')
  if (limit.value === undefined && remaining.value === undefined) return undefined
  const source = firstHeader(answer.headers['docker-ratelimit-source'])
  return {
    limit: limit.value,
    remaining: remaining.value,
    windowSeconds: limit.window ?? remaining.window,
    source,
  }
}

function imageBase(image: ImageRef, anonymous: boolean): Omit<ImageCheck, 'outcome'> {
  return {
    image: image.input,
    name: formatImageRef(image),
    registry: image.registry,
    repository: image.repository,
    reference: image.reference,
    anonymous,
  }
}
