/**
 * The procedure a support engineer walks through by hand, as one function: for the configured
 * registry and every other registry an image lives on, reach /v2/ and read its challenge, ask the
 * token service for a token, present it, ask for each image's manifest, and follow one image to
 * its layers. Plain config in, typed report out; nothing here knows about the Actions runner.
 * This module only orders the registries' runs and reads their results into one verdict.
 */
import { adviceContext, firstStep } from './advice.js'
import type { Hop, ResultCode } from './codes.js'
import {
  RegistryScope,
  RunContext,
  type PreflightConfig,
  type PreflightDeps,
} from './core/context.js'
import {
  runConfiguredRegistry,
  runOtherRegistry,
  type RegistryResult,
} from './core/registry-run.js'
import { formatPlatform } from './platform.js'
import { redactProxy } from './proxy.js'
import { formatImageRef, isDockerHub } from './reference.js'
import type { Check, Finding, ImageCheck, RegistryVerdict, Report } from './report.js'

export type { Credentials, PreflightConfig, PreflightDeps } from './core/context.js'
export { KNOWN_REALMS } from './core/endpoint.js'
export { rateLimitOf } from './core/images.js'
export { MANIFEST_ACCEPT } from './manifest.js'

const CLOCK_SKEW_LIMIT_MS = 30_000
/** Findings are our sentences around a host name or a server's words: longer than those alone. */
const DETAIL_LIMIT = 600
/**
 * Requests in flight at once, for either edge: tokens, manifests and blobs together, on up to as
 * many connections.
 */
export const CONCURRENCY = 32

export async function preflight(config: PreflightConfig, deps: PreflightDeps): Promise<Report> {
  const ctx = new RunContext(config, deps)
  try {
    // The configured registry first (its requests go out first), then each other registry in the
    // order its first image appears; all at once.
    const registries = [config.registry]
    for (const registry of [
      ...config.images.map((i) => i.registry),
      ...(config.extraRegistries ?? []),
    ])
      if (!registries.includes(registry)) registries.push(registry)
    const scopes = registries.map((r) => new RegistryScope(ctx, r, isDockerHub(r)))
    const results = await Promise.all(
      scopes.map(async (scope) => {
        const images = config.images.filter((i) => i.registry === scope.registry)
        await scope.prepare(images.map((i) => i.repository))
        // With an auth file every registry is checked as the puller will meet it, with a row for
        // each step; otherwise registries other than the configured one are asked anonymously.
        return scope.isPrimary || config.authFiles
          ? runConfiguredRegistry(scope, images)
          : runOtherRegistry(scope, images)
      }),
    )
    return buildReport(ctx, scopes, results)
  } finally {
    ctx.close()
  }
}

/** The checks table reads in the order of the procedure. */
const CHECK_ORDER: Check['id'][] = ['ping', 'token', 'registry', 'blob']

function buildReport(ctx: RunContext, scopes: RegistryScope[], results: RegistryResult[]): Report {
  const { config } = ctx
  const primary = scopes[0]
  const checks = results
    .flatMap((r) => r.checks)
    .sort((a, b) => CHECK_ORDER.indexOf(a.id) - CHECK_ORDER.indexOf(b.id))
  // Images in input order, whatever registry they are on.
  const byName = new Map(results.flatMap((r) => r.images).map((i) => [i.name, i]))
  const images = config.images.map((ref) => byName.get(formatImageRef(ref))!)

  for (const host of config.skippedRegistries ?? []) {
    ctx.info.push(
      `${host} was not checked, and nothing was sent to it: the auth file names it, but it is OpenShift's telemetry endpoint, not a registry.`,
    )
  }
  if (ctx.clockSkewMs > CLOCK_SKEW_LIMIT_MS) {
    ctx.notes.push(
      `The runner's clock differs from the servers' by about ${Math.round(ctx.clockSkewMs / 1000)} s: a skewed clock makes freshly issued tokens fail. Check the runner's time synchronisation.`,
    )
  }
  scrubServerText(ctx, checks, images, primary)

  // The first failing hop decides, in the order of the procedure: the registry's door, then the
  // images in input order, then the layer path.
  const ordered: { finding: Finding; hop: Hop; host: string }[] = []
  const fromCheck = (c: Check): void => {
    if (c.outcome === 'failed' && c.finding)
      ordered.push({ finding: c.finding, hop: c.atProxy ? 'proxy' : c.hop, host: c.host })
  }
  checks.filter((c) => c.id !== 'blob').forEach(fromCheck)
  for (const i of images) {
    if (i.outcome === 'failed' && i.finding)
      ordered.push({ finding: i.finding, hop: 'registry', host: i.registry })
  }
  checks.filter((c) => c.id === 'blob').forEach(fromCheck)

  const first = ordered[0]
  const result: ResultCode = first?.finding.code ?? 'ok'
  const { facts } = primary
  const report: Omit<Report, 'message'> = {
    registry: config.registry,
    pullReady: !first,
    result,
    failedHop: first?.hop,
    failedHost: first?.host,
    checks,
    images,
    registries: scopes.map((scope, n) => registryVerdict(scope, results[n], images)),
    authFiles: config.authFiles?.searched,
    ssoStatus: facts.ssoStatus,
    registryStatus: facts.registryStatus,
    tokenExpiresIn: facts.tokenExpiresIn,
    auth: facts.auth,
    proxy: {
      url: config.proxy.url ? redactProxy(config.proxy.url) : undefined,
      source: config.proxy.source,
      schemeAssumed: config.proxy.schemeAssumed,
      noProxy: config.proxy.noProxy,
      noProxySource: config.proxy.noProxySource,
    },
    platforms:
      config.platforms.kind === 'any'
        ? 'any'
        : {
            wanted: config.platforms.platforms.map(formatPlatform),
            source: config.platforms.source,
          },
    hosts: ctx.hosts,
    routes: ctx.routes,
    notes: ctx.notes,
    info: ctx.info,
    durationMs: ctx.deps.now() - ctx.started,
  }
  const message = first
    ? `${capitalize(first.finding.detail)}: ${firstStep(result, adviceContext(report))}.`
    : `Pulls from ${config.registry} will succeed: ${describeSuccess(checks, images)}.`
  return { ...report, message }
}

/**
 * Server text (an error message, a certificate's names, a realm) may quote a secret back: every
 * secret the run met is cut from it, in one place, before the report holds it.
 */
function scrubServerText(
  ctx: RunContext,
  checks: Check[],
  images: ImageCheck[],
  primary: RegistryScope,
): void {
  const { scrubber } = ctx
  const scrub = (finding: Finding | undefined): void => {
    if (finding) finding.detail = scrubber.serverText(finding.detail, DETAIL_LIMIT)
  }
  for (const c of checks) scrub(c.finding)
  for (const i of images) {
    scrub(i.finding)
    if (i.registryMessage) i.registryMessage = scrubber.serverText(i.registryMessage)
  }
  for (const list of [ctx.notes, ctx.info])
    for (const [n, note] of list.entries()) list[n] = scrubber.serverText(note, 2 * DETAIL_LIMIT)
  const auth = primary.facts.auth
  if (auth.realm) auth.realm = scrubber.serverText(auth.realm, DETAIL_LIMIT)
  if (auth.discoveredRealm)
    auth.discoveredRealm = scrubber.serverText(auth.discoveredRealm, DETAIL_LIMIT)
}

/** One registry's verdict: its first failure (its door, its images in input order, its layers). */
function registryVerdict(
  scope: RegistryScope,
  result: RegistryResult,
  images: ImageCheck[],
): RegistryVerdict {
  const failed = [
    ...result.checks.filter((c) => c.id !== 'blob'),
    ...images.filter((i) => i.registry === scope.registry),
    ...result.checks.filter((c) => c.id === 'blob'),
  ].find((c) => c.outcome === 'failed' && c.finding)
  const source = scope.credentials(
    scope.ctx.config.images.find((i) => i.registry === scope.registry)?.repository,
  ).source
  return {
    registry: scope.registry,
    pullReady: !failed,
    result: failed?.finding?.code ?? 'ok',
    detail: failed?.finding?.detail,
    credentials:
      source.kind === 'none'
        ? { from: 'none' }
        : source.kind === 'inputs'
          ? { from: 'inputs' }
          : source.kind === 'file'
            ? { from: 'file', file: source.file, key: source.key }
            : { from: 'helper', file: source.file, helper: source.helper },
  }
}

function describeSuccess(checks: Check[], images: ImageCheck[]): string {
  const parts: string[] = []
  if (checks.some((c) => c.id === 'token' && c.outcome === 'passed'))
    parts.push('the token service accepted the credentials')
  if (checks.some((c) => c.id === 'registry' && c.outcome === 'passed'))
    parts.push('the registry accepted the token')
  else parts.push('the registry answered')
  parts.push(
    images.length
      ? `${images.length === 1 ? 'the image' : `all ${images.length} images`} can be pulled`
      : 'no images were listed to check',
  )
  const blobs = checks.filter((c) => c.id === 'blob' && c.outcome === 'passed')
  if (blobs.length) parts.push(`layers download (from ${blobs.map((c) => c.host).join(', ')})`)
  return parts.join(', ')
}

/** A sentence's first word capitalised, unless it is a name (a host, an image) written as is. */
function capitalize(text: string): string {
  if (!/^[a-z]+(\s|,|$)/.test(text)) return text
  return text.charAt(0).toUpperCase() + text.slice(1)
}
