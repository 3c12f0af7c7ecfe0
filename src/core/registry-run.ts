/**
 * One registry's part of the procedure, in order: reach /v2/ and read the challenge, get a token
 * with the credentials it is given, present it to /v2/, ask for each image's manifest, and follow
 * one image to its layers. The configured registry has a row for each step; any other registry is
 * asked anonymously and its failures are its images'.
 */
import type { ImageRef } from '../reference.js'
import type { Check, ImageCheck } from '../report.js'
import type { Auth, RegistryScope } from './context.js'
import { checkConfigPlatform, layerPath } from './blobs.js'
import { chooseRealm, ping, pingQuietly, registryCheck, sameTokenService } from './endpoint.js'
import type { Endpoint } from './endpoint.js'
import { fail } from './findings.js'
import { probeImage, unprobed, type ImageProbe } from './images.js'
import { basicAuth, earlyToken, tokenCheck, tokenFor } from './tokens.js'

export interface RegistryResult {
  checks: Check[]
  images: ImageCheck[]
}

/** A registry checked step by step: the configured one, or any with an auth file. */
export async function runConfiguredRegistry(
  scope: RegistryScope,
  images: ImageRef[],
): Promise<RegistryResult> {
  const checks: Check[] = []
  const firstRepo = images[0]?.repository
  // 1. Reach /v2/ and read the challenge; a known token service is asked at the same time.
  const early = earlyToken(scope, firstRepo)
  const reached = await ping(scope)
  checks.push(reached.check)
  // 2. The token service, at the announced realm, the auth-url override, or the known realm.
  const endpoint = chooseRealm(scope, reached.endpoint, reached.check.status !== undefined)
  const adopted =
    early && endpoint && sameTokenService(early.endpoint, endpoint) ? early.exchange : undefined
  // Not the token service this registry names (or none at all): no retries on its behalf.
  if (early && !adopted) early.abandon.abort()
  let auth: Auth | undefined
  if (endpoint?.scheme === 'bearer') {
    const token = tokenCheck(scope, endpoint, firstRepo, adopted)
    checks.push(token.check)
    auth = await token.auth
  } else if (endpoint?.scheme === 'basic') {
    auth = basicAuth(scope)
  } else if (endpoint?.scheme === 'none') {
    auth = {}
    scope.facts.registryStatus = reached.check.status
  }
  const authorized = reached.check.outcome === 'passed' && auth !== undefined && !auth.finding
  const title = scope.hasCredentials
    ? 'Registry accepts the credentials'
    : 'Registry accepts anonymous access'

  // 3. /v2/ with the token, and 4. each image (5. and the layer path), side by side.
  const [registry, result] = await Promise.all([
    authorized && endpoint?.scheme !== 'none'
      ? registryCheck(scope, title, auth?.header)
      : Promise.resolve(undefined),
    authorized && endpoint
      ? probeRegistryImages(scope, images, endpoint)
      : Promise.resolve({
          checks: [],
          images: images.map((i) => unprobed(i, !scope.hasCredentials)),
        }),
  ])
  if (registry) checks.push(registry)
  else if (endpoint?.scheme !== 'none') {
    const check: Check = {
      id: 'registry',
      registry: scope.registry,
      title,
      hop: 'registry',
      host: scope.registry,
      request: 'GET /v2/',
      outcome: 'skipped',
    }
    // A registry that takes Basic itself, and no credentials to give it, fails here.
    if (endpoint?.scheme === 'basic' && auth?.finding) fail(check, auth.finding)
    checks.push(check)
  }
  return { checks: [...checks, ...result.checks], images: result.images }
}

/** Any other registry: asked anonymously, with no row of its own but its layer path. */
export async function runOtherRegistry(
  scope: RegistryScope,
  images: ImageRef[],
): Promise<RegistryResult> {
  const endpoint = await pingQuietly(scope)
  if ('code' in endpoint)
    return { checks: [], images: images.map((i) => unprobed(i, true, endpoint)) }
  return probeRegistryImages(scope, images, endpoint)
}

/**
 * Every image of a registry, then its layer path from the first image (in input order) whose
 * manifest passed, started as soon as that image is known: the layer path waits for no other.
 */
async function probeRegistryImages(
  scope: RegistryScope,
  images: ImageRef[],
  endpoint: Endpoint,
): Promise<RegistryResult> {
  if (endpoint.scheme === 'bearer') {
    // Every repository's token is asked for first, so that the tokens queue for places ahead
    // of the manifest checks, which join the queue only once their token is in. A place never
    // waits a round trip for a token and then another for its manifest (bench: 100 images, one
    // wave fewer than two groups of fixed size). tokenFor() shares each repository's request.
    for (const image of images) void tokenFor(scope, image, endpoint)
  }
  const probes = images.map((image) => probeImage(scope, image, endpoint))
  const layers = scope.layers ? followLayers(scope, images, probes) : Promise.resolve([])
  const [done, blobChecks] = await Promise.all([Promise.all(probes), layers])
  if (!scope.layers && scope.dockerHub && images.length) {
    scope.ctx.info.push(
      scope.platforms
        ? `On ${scope.registry} the layer path was not checked (layers: false).`
        : `On ${scope.registry} the layer path and the platform were not checked: Docker Hub counts every manifest GET as a pull against the limit, and a HEAD is free (set layers: true, or a platform, to check them anyway).`,
    )
  }
  return { checks: blobChecks, images: done.map((p) => p.row) }
}

async function followLayers(
  scope: RegistryScope,
  images: ImageRef[],
  probes: Promise<ImageProbe>[],
): Promise<Check[]> {
  let followed: Promise<Check> | undefined
  const platformChecks: Promise<void>[] = []
  for (const [n, pending] of probes.entries()) {
    const probe = await pending
    const target = probe.target
    if (probe.row.outcome !== 'passed' || !target) continue
    if (!followed) followed = layerPath(scope, images[n], { ...probe, target })
    else if (target.kind === 'config' && target.platformUnknown) {
      platformChecks.push(checkConfigPlatform(scope, images[n], { ...probe, target }))
    }
  }
  const [check] = await Promise.all([followed, ...platformChecks])
  return check ? [check] : []
}
