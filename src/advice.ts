/** What each result code asks the user to do: the first step (in `message`) and the full fix (summary). */
import type { ResultCode } from './codes.js'
import type { RegistryVerdict, Report } from './report.js'

export interface AdviceContext {
  registry: string
  /** Host of the token service, when one is known. */
  tokenHost?: string
  /** The host whose hop failed. */
  failedHost?: string
  /** The proxy in use (no credentials), when one is. */
  proxy?: string
  /** Hosts whose requests go through the proxy. */
  proxied: string[]
  /** Whether the layer path was followed to its blob host (else it is only named as a risk). */
  layersChecked: boolean
  /** Where the failing registry's credentials were to come from, when not from the inputs. */
  credentialsFrom?: RegistryVerdict['credentials']
  /** Whether an auth file was in use (its registries without an entry are asked anonymously). */
  authFile: boolean
}

/** The facts the advice needs, read from a report (the message and the summary use the same). */
export function adviceContext(report: Omit<Report, 'message'>): AdviceContext {
  return {
    registry: report.registry,
    tokenHost: report.checks.find((c) => c.id === 'token')?.host,
    failedHost: report.failedHost,
    proxy: report.proxy.url,
    proxied: report.routes.filter((r) => r.via === 'proxy').map((r) => r.host),
    layersChecked: report.checks.some((c) => c.id === 'blob' && c.outcome !== 'skipped'),
    credentialsFrom: report.registries.find((r) => !r.pullReady)?.credentials,
    authFile: report.authFiles !== undefined,
  }
}

const RED_HAT_CDN = 'cdn.quay.io, cdn01.quay.io … cdn06.quay.io'
/** Red Hat's anonymous registry, where some repositories refuse until terms are accepted. */
const ACCESS_REGISTRY = 'registry.access.redhat.com'
const TERMS_STEP =
  'set registry: registry.redhat.io with a service account’s credentials and pull the image from there (some images on registry.access.redhat.com require accepting terms)'

function otherRegistryStep(host: string): string {
  return `add a second preflight step with \`registry: ${host}\` and that registry’s credentials`
}

/** The host that failed, the registry and the token service, each once. */
function hostsToAllow(ctx: AdviceContext): string {
  return quoteHosts([ctx.failedHost, ctx.registry, ctx.tokenHost])
}

/**
 * What the proxy must let through, as the CONNECT targets it sees (`host:port`): the host that
 * failed first, then the others that go through it.
 */
function connectTargets(ctx: AdviceContext): string {
  const hosts = ctx.proxied.length
    ? [ctx.failedHost, ...ctx.proxied]
    : [ctx.failedHost ?? ctx.registry]
  return quoteHosts(hosts.map((h) => (h && !/:\d+$/.test(h) ? `${h}:443` : h)))
}

function quoteHosts(hosts: (string | undefined)[]): string {
  const unique = hosts.filter((h, i, all): h is string => !!h && all.indexOf(h) === i)
  return unique.map((h) => `\`${h}\``).join(' and ')
}

/** The first thing to do, as the tail of the one-sentence `message`. */
export function firstStep(code: ResultCode, ctx: AdviceContext): string {
  const host = ctx.failedHost ?? ctx.registry
  switch (code) {
    case 'ok':
      return 'nothing to do'
    case 'missing-credentials':
      if (ctx.credentialsFrom?.from === 'helper')
        return `check that \`docker-credential-${ctx.credentialsFrom.helper}\` (named in ${ctx.credentialsFrom.file}) runs on the runner and holds credentials for ${host}`
      if (ctx.authFile && ctx.credentialsFrom?.from !== 'inputs')
        return `log in to ${host} with the engine that pulls, or add its entry to the auth file`
      return 'check that the secrets behind `username` and `password` exist and reach this workflow (runs from forks and by Dependabot get no secrets)'
    case 'invalid-credentials':
      return 're-check the Customer Portal login, or the service account name and token, and regenerate the token if in doubt'
    case 'access-denied':
      if (host === ACCESS_REGISTRY) return TERMS_STEP
      if (host !== ctx.registry) return otherRegistryStep(host)
      return 'check that the account is entitled to the image and has accepted its terms (on Docker Hub and quay.io a missing repository looks the same)'
    case 'image-not-found':
      return 'check the repository name and the tag or digest'
    case 'rate-limited':
      return 'wait, authenticate, or raise the plan’s pull limit'
    case 'registry-error':
      return 'the service is failing, not your setup: retry later'
    case 'unexpected-response':
      return 'something other than the registry answered (a captive portal, transparent proxy or firewall page): check the network path'
    case 'dns-error':
      return `check DNS on the runner for ${host}, or that the proxy is set (https_proxy or the proxy input)`
    case 'connection-failed':
      return `a firewall is likely in the way: allow HTTPS to ${hostsToAllow(ctx)}`
    case 'timeout':
      return `a firewall that drops packets, or a proxy that must be configured: allow ${hostsToAllow(ctx)} or set the proxy`
    case 'tls-error':
      return 'a TLS-intercepting proxy is likely: give its CA certificate with NODE_EXTRA_CA_CERTS'
    case 'proxy-error':
      return `allow CONNECT to ${connectTargets(ctx)} on the proxy${ctx.proxy ? ` ${ctx.proxy}` : ''}`
    case 'proxy-auth-required':
      return 'give the proxy’s credentials in the proxy URL (http://user:password@host:port, from a secret)'
    case 'no-matching-platform':
      return 'pick a multi-platform tag, set the platform input to what the pull will ask for, or run on a runner of a platform the image offers'
    case 'invalid-input':
      return 'fix the step’s inputs in the workflow file'
  }
}

/** The "How to fix" section of the summary: a few concrete steps, in Markdown list items. */
export function howToFix(code: ResultCode, ctx: AdviceContext): string[] {
  const redHat = ctx.registry.endsWith('redhat.io') || ctx.registry.endsWith('redhat.com')
  const cdn =
    redHat && !ctx.layersChecked
      ? [
          `Image layers come from Red Hat’s CDN (${RED_HAT_CDN}): a firewall that allows only ${ctx.registry} passes this check and still fails the pull of layers.`,
        ]
      : []
  switch (code) {
    case 'ok':
      return []
    case 'missing-credentials':
      if (ctx.credentialsFrom?.from === 'helper')
        return [
          `The credential helper \`docker-credential-${ctx.credentialsFrom.helper}\`, which ${ctx.credentialsFrom.file} names for ${ctx.failedHost ?? ctx.registry}, gave no credentials: the message says why (not on \`PATH\`, a non-zero exit, output that is not its JSON, or no answer within \`timeout\`).`,
          'Run it by hand on the runner (`echo <registry> | docker-credential-<name> get`), and log in again with the engine that pulls so that the helper stores the credentials.',
        ]
      if (ctx.authFile && ctx.credentialsFrom?.from !== 'inputs')
        return [
          `The auth file has no entry for ${ctx.failedHost ?? ctx.registry}, and it does not let anonymous pulls through.`,
          'Log in to it with the engine that pulls (`docker login`, `podman login`, or the login action that writes the file this step reads), or add its entry to the pull secret.',
        ]
      return [
        'Check that the secrets named in `with: username:` and `with: password:` exist in the repository or organisation settings, spelled exactly as in the workflow.',
        'Workflows triggered from a fork, or by Dependabot, receive no secrets: use `pull_request_target` with care, or Dependabot secrets.',
        redHat
          ? 'For Red Hat, create a Registry Service Account at https://access.redhat.com/terms-based-registry/ and store its name and token as secrets.'
          : 'Give the credentials of an account that can pull these images.',
      ]
    case 'invalid-credentials':
      return [
        'The token service refused the credentials it was sent: the user name or the password is wrong, or the token was revoked.',
        redHat
          ? 'For a Registry Service Account, the user name is `12345678|name` (with the `|`) and the password is the long token that starts with `eyJ`; regenerate it at https://access.redhat.com/terms-based-registry/ if in doubt.'
          : 'Regenerate the token or password and update the secret.',
        'Check the warnings above: white space copied into a secret is a common cause.',
      ]
    case 'access-denied':
      if (ctx.failedHost && ctx.failedHost !== ctx.registry && ctx.failedHost !== ACCESS_REGISTRY) {
        return [
          `The image on \`${ctx.failedHost}\` was checked anonymously: credentials go only to \`${ctx.registry}\` and its token service.`,
          `If the image is private, ${otherRegistryStep(ctx.failedHost)}; if it is public, check its name (a missing repository is often refused the same way).`,
        ]
      }
      if (ctx.failedHost === ACCESS_REGISTRY) {
        return [
          `${ACCESS_REGISTRY} needs no login, but some of its images are served only to accounts that accepted their terms.`,
          `Pull the image from registry.redhat.io instead, with a Registry Service Account (https://access.redhat.com/terms-based-registry/): ${TERMS_STEP}.`,
        ]
      }
      return [
        'The credentials are valid, but the registry refused this image for this account.',
        redHat
          ? 'Check that the account’s organisation has a subscription that includes the image, and that the terms were accepted at https://access.redhat.com/terms-based-registry/.'
          : 'Check that the account has pull access to the repository.',
        'On Docker Hub and quay.io, a repository that does not exist is refused the same way: check its name.',
      ]
    case 'image-not-found':
      return [
        'Check the repository name, and that the tag or digest exists (tags are case-sensitive).',
        redHat
          ? 'Browse https://catalog.redhat.com to find the exact repository and tag.'
          : 'List the tags in the registry’s web interface.',
      ]
    case 'rate-limited':
      return [
        'Wait for the limit to reset (the images table shows what the registry said), log in to get a higher limit, or raise the plan’s limit.',
      ]
    case 'registry-error':
      return [
        'The registry or its token service answered with a server error after the retries: check its status page and retry later.',
        'Raise `retries` if the failures are brief.',
      ]
    case 'unexpected-response':
      return [
        'An answer came that no registry gives (an HTML page, malformed JSON, a token response without a token, or a redirect that breaks the secret rules).',
        'A captive portal, transparent proxy or firewall page is the usual cause: check what the runner reaches with `curl -v https://' +
          ctx.registry +
          '/v2/`.',
        'If you set `auth-url`, check that it is the registry’s token endpoint.',
      ]
    case 'dns-error':
      return [
        `The runner cannot resolve ${ctx.failedHost ?? ctx.registry}: check the runner’s DNS settings.`,
        'On networks where only the proxy resolves outside names, set `https_proxy` or the `proxy` input.',
        ...cdn,
      ]
    case 'connection-failed':
      return [
        `Allow outbound HTTPS (port 443) to ${hostsToAllow(ctx)} in the firewall or security group.`,
        ...cdn,
      ]
    case 'timeout':
      return [
        `Nothing answered within the timeout: a firewall that drops packets is the usual cause. Allow ${hostsToAllow(ctx)}.`,
        'If the network requires a proxy, set `https_proxy` or the `proxy` input.',
        ...cdn,
      ]
    case 'tls-error':
      return [
        'The certificate chain did not verify. Behind a TLS-intercepting proxy, give its CA certificate to Node with `env: NODE_EXTRA_CA_CERTS: /path/to/ca.pem`.',
        'Check that the runner’s clock is right: a certificate that is “not yet valid” points at a skewed clock.',
      ]
    case 'proxy-error':
      return [
        `The proxy${ctx.proxy ? ` ${ctx.proxy}` : ''} could not be reached, did not answer, or refused the tunnel.`,
        `Ask for CONNECT to ${connectTargets(ctx)} to be allowed on the proxy.`,
        ...cdn,
      ]
    case 'proxy-auth-required':
      return [
        'The proxy answered 407: give its credentials in the URL, `http://user:password@proxy:port`, built from a secret (percent-encode special characters).',
      ]
    case 'no-matching-platform':
      return [
        'The image’s index lists the platforms it was built for, and the one the pull will ask for is not among them: `docker pull` fails with “no matching manifest for … in the manifest list entries”.',
        'Pick a tag that is built for this platform (the message lists what the index holds), or run the job on a runner of a platform the image offers (`runs-on: ubuntu-24.04-arm` for arm64).',
        'If the pull asks for another platform than the runner’s own (`docker pull --platform`, a multi-platform build), say so with the `platform` input, e.g. `platform: linux/amd64,linux/arm64`.',
      ]
    case 'invalid-input':
      return [
        'Fix the input named in the message; the expected form is given there and in the README.',
      ]
  }
}

/** The verdict line's reason, short. */
export const VERDICT: Record<ResultCode, string> = {
  ok: 'pulls will succeed',
  'missing-credentials': 'credentials are missing',
  'invalid-credentials': 'the credentials were refused',
  'access-denied': 'the registry denied access',
  'image-not-found': 'an image was not found',
  'rate-limited': 'the registry is rate-limiting',
  'registry-error': 'the service is failing',
  'unexpected-response': 'something other than the registry answered',
  'dns-error': 'a host name does not resolve',
  'connection-failed': 'the connection failed',
  timeout: 'no answer in time',
  'tls-error': 'a certificate did not verify',
  'proxy-error': 'the proxy failed',
  'proxy-auth-required': 'the proxy wants credentials',
  'no-matching-platform': 'an image is not built for this platform',
  'invalid-input': 'an input is invalid',
}
