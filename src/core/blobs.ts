/**
 * The layer path: what a pull does after the manifest. The platform's manifest names a config
 * blob; `GET /v2/<repo>/blobs/<digest>` is answered by the registry itself or, as Red Hat, quay.io,
 * Docker Hub and GHCR do, by a redirect to a blob host (a CDN) that is another host with its own
 * firewall rules, proxy route and certificate. One byte is asked for (`Range: bytes=0-0`), as a GET:
 * signed URLs are method-specific. The transport follows the redirect as a pull does: without
 * Authorization, through the proxy NO_PROXY picks for that host, https only, at most 5 redirects.
 */
import type { Hop } from '../codes.js'
import { hostPort, type Exchange } from '../http.js'
import { MANIFEST_ACCEPT, MANIFEST_LIMIT, configPlatform, parseManifest } from '../manifest.js'
import { formatPlatform, platformMatches, type Platform } from '../platform.js'
import { formatImageRef, type ImageRef } from '../reference.js'
import type { Check, Finding } from '../report.js'
import { presented, type RegistryScope } from './context.js'
import type { ImageProbe, LayerTarget } from './images.js'
import { manifestUrl } from './images.js'
import {
  fail,
  htmlFinding,
  looksLikeHtml,
  networkFinding,
  refusalFinding,
  statusFinding,
} from './findings.js'

/** An image config is a few KiB; reading it whole tells a single-platform image's platform. */
const CONFIG_LIMIT = 64 * 1024

/**
 * The layer path of a registry, from one image whose manifest passed: the `blob` row. `warn`
 * receives the platform warning of a single-platform image that does not match.
 */
export async function layerPath(
  scope: RegistryScope,
  image: ImageRef,
  probe: ImageProbe & { target: LayerTarget },
): Promise<Check> {
  const { ctx } = scope
  const started = ctx.deps.now()
  const check: Check = {
    id: 'blob',
    registry: scope.registry,
    title: `Layers download from ${scope.registry}`,
    hop: 'registry',
    host: scope.registry,
    request: 'GET /v2/…/blobs/…',
    outcome: 'skipped',
  }
  const target =
    probe.target.kind === 'manifest'
      ? await platformManifest(scope, image, probe.target.digest, probe.authorization)
      : probe.target
  if ('code' in target) {
    fail(check, target)
    check.ms = ctx.deps.now() - started
    return check
  }
  const blob = await fetchBlob(scope, image, target.digest, probe.authorization, {
    whole: target.platformUnknown,
    urgent: true,
  })
  Object.assign(check, blob.check, { ms: ctx.deps.now() - started })
  if (check.outcome === 'passed' && target.platformUnknown) {
    warnOnPlatform(scope, image, blob.exchange)
  }
  return check
}

/**
 * The platform of a single-platform image that is not the one followed to its layers: its config
 * is read, and a mismatch is a warning (a pull takes such an image and warns). Failures here are
 * the layer path's to report, once per registry; this only says what it could not check.
 */
export async function checkConfigPlatform(
  scope: RegistryScope,
  image: ImageRef,
  probe: ImageProbe & { target: LayerTarget & { kind: 'config' } },
): Promise<void> {
  const blob = await fetchBlob(scope, image, probe.target.digest, probe.authorization, {
    whole: true,
    urgent: false,
  })
  if (blob.check.outcome === 'passed') warnOnPlatform(scope, image, blob.exchange)
  else
    scope.ctx.info.push(
      `The platform of ${formatImageRef(image)} (a single-platform image) could not be read: its config blob did not download.`,
    )
}

function warnOnPlatform(scope: RegistryScope, image: ImageRef, exchange: Exchange): void {
  const wanted = scope.platforms
  const found: Platform | undefined = exchange.answer && configPlatform(exchange.answer.body)
  if (!wanted || !found) return
  const missing = wanted.filter((w) => !platformMatches(w, found))
  if (!missing.length) return
  scope.ctx.notes.push(
    `${formatImageRef(image)} is a single-platform image for ${formatPlatform(found)}, not ${missing.map(formatPlatform).join(' or ')}: a pull takes it with a warning, and it runs only under emulation, if at all.`,
  )
}

/** The manifest an index names for the platform: read for its config blob. */
async function platformManifest(
  scope: RegistryScope,
  image: ImageRef,
  digest: string,
  authorization: string | undefined,
): Promise<(LayerTarget & { kind: 'config' }) | Finding> {
  const name = formatImageRef(image)
  // The layer path is what the run waits for last: its hops go ahead of other images' checks.
  const exchange = await scope.ctx.send(
    {
      method: 'GET',
      url: manifestUrl(image, digest),
      authorization,
      accept: MANIFEST_ACCEPT,
      bodyLimit: MANIFEST_LIMIT,
    },
    { urgent: true },
  )
  const answer = exchange.answer
  if (!answer) return networkFinding(exchange.error!, 'registry', image.registry)
  if (answer.status !== 200) {
    return registryRefusal(scope, image, exchange, authorization, {
      code: answer.status === 404 ? 'image-not-found' : 'unexpected-response',
      detail: `${image.registry} answered HTTP ${answer.status} for the platform manifest ${digest} of ${name}, which its index names`,
    })
  }

  const manifest = parseManifest(answer.body, undefined)
  if (manifest.kind !== 'manifest') {
    return {
      code: 'unexpected-response',
      detail: `${image.registry} answered with something other than an image manifest for ${digest}, which the index of ${name} names`,
    }
  }
  return { kind: 'config', digest: manifest.config.digest, platformUnknown: false }
}

/** `GET /v2/<repo>/blobs/<digest>` and wherever it is redirected: a check row, not yet timed. */
async function fetchBlob(
  scope: RegistryScope,
  image: ImageRef,
  digest: string,
  authorization: string | undefined,
  options: { whole: boolean; urgent: boolean },
): Promise<{ check: Check; exchange: Exchange }> {
  const url = new URL(`https://${image.registry}/v2/${image.repository}/blobs/${digest}`)
  const exchange = await scope.ctx.send(
    {
      method: 'GET',
      url,
      authorization,
      range: options.whole ? undefined : 'bytes=0-0',
      // A server that ignores Range sends the whole blob: a few bytes are enough to know it comes.
      bodyLimit: options.whole ? CONFIG_LIMIT : 1024,
    },
    { urgent: options.urgent },
  )
  // The hop that answered (or failed) last: the registry, or the host it redirected to.
  const atRegistry = exchange.url.host === url.host
  const hop: Hop = atRegistry ? 'registry' : 'blob-host'
  const host = atRegistry ? image.registry : hostPort(exchange.url)
  const check: Check = {
    id: 'blob',
    registry: scope.registry,
    title: `Layers download from ${atRegistry ? image.registry : host}`,
    hop,
    host,
    request: `GET /v2/${image.repository}/blobs/${digest.slice(0, 19)}…`,
    outcome: 'passed',
    status: exchange.answer?.status,
    attempts: exchange.attempts,
    via: scope.ctx.transport.route(exchange.url).via,
  }
  if (exchange.error) {
    const role = atRegistry ? 'registry' : 'blob host'
    const finding = networkFinding(exchange.error, role, host)
    fail(check, withRedirect(finding, atRegistry, image.registry))
    check.atProxy = exchange.error.kind.startsWith('proxy-')
    return { check, exchange }
  }
  const answer = exchange.answer!
  if (answer.status === 200 || answer.status === 206) return { check, exchange }
  fail(check, blobRefusal(scope, image, answer.status, exchange, atRegistry, host, authorization))
  return { check, exchange }
}

function blobRefusal(
  scope: RegistryScope,
  image: ImageRef,
  status: number,
  exchange: Exchange,
  atRegistry: boolean,
  host: string,
  authorization: string | undefined,
): Finding {
  const answer = exchange.answer!
  const name = formatImageRef(image)
  if (atRegistry) {
    return registryRefusal(
      scope,
      image,
      exchange,
      authorization,
      status === 404
        ? {
            code: 'image-not-found',
            detail: `${image.registry} has the manifest of ${name} but not its config blob (HTTP 404)`,
          }
        : {
            code: 'unexpected-response',
            detail: `${image.registry} answered HTTP ${status} for a blob of ${name}`,
          },
    )
  }

  const finding: Finding =
    status === 401 || status === 403
      ? {
          code: 'access-denied',
          detail: `the blob host ${host} refused the download of ${name}'s layers (HTTP ${status})`,
        }
      : (statusFinding(answer, 'blob host', host, exchange.retryNote) ??
        (looksLikeHtml(answer)
          ? htmlFinding('blob host', host, status)
          : {
              code: status === 404 ? 'registry-error' : 'unexpected-response',
              detail: `the blob host ${host} answered HTTP ${status} for a layer of ${name}`,
            }))
  return withRedirect(finding, false, image.registry)
}

/**
 * The registry's answer other than success for what an image needs: a refusal read with what was
 * presented, a status that means the same everywhere, or else `otherwise`.
 */
function registryRefusal(
  scope: RegistryScope,
  image: ImageRef,
  exchange: Exchange,
  authorization: string | undefined,
  otherwise: Finding,
): Finding {
  const answer = exchange.answer!
  const name = formatImageRef(image)
  return (
    refusalFinding(answer, image.registry, name, presented(authorization), scope.refusalContext) ??
    statusFinding(answer, 'registry', image.registry, exchange.retryNote) ??
    otherwise
  )
}

/** Says that the host was reached by the registry's redirect: the user never named it. */
function withRedirect(finding: Finding, atRegistry: boolean, registry: string): Finding {
  if (atRegistry) return finding
  return { ...finding, detail: `${finding.detail}, where ${registry} redirects layer downloads` }
}
