/**
 * What to do about a failure: the first step (the tail of the one-sentence `message`) and the
 * full fix (the summary's "How to fix" and the step log). Chosen by the result code, by who runs
 * the registry that failed (Red Hat, Docker Hub, quay.io, GHCR, anyone else), and by the evidence
 * the report holds: the host that failed, how it failed, and the warnings that explain it (which
 * come first, since they are the likely cause).
 */
import type { Hop, ResultCode } from './codes.js'
import {
  DEFAULT_TIMEOUT_S,
  RED_HAT_REALM,
  decisiveFailure,
  familyOf,
  oddAnswer,
  proxyFailure,
  timeoutSeconds,
  type Family,
  type ProxyFailure,
} from './evidence.js'
import type { Finding, Report } from './report.js'

export interface AdviceContext {
  /** The registry the `registry` input names. */
  registry: string
  /** Host of the configured registry's token service, when one is known. */
  tokenHost?: string
  /** The host whose hop failed (a blob host as `host:port`). */
  failedHost?: string
  /** The hop that failed. */
  failedHop?: Hop
  /** The registry whose pull failed (the configured one, or another an image lives on). */
  failedRegistry?: string
  /** Who runs that registry. */
  family: Family
  /** The failure that decided the verdict. */
  finding?: Finding
  /** The request that failed (`GET /v2/`), without its query. */
  failedRequest?: string
  /** The proxy in use (no credentials), when one is. */
  proxy?: string
  /** Hosts whose requests go through the proxy. */
  proxied: string[]
  /** Whether the layer path was followed to its blob host (else it is only named as a risk). */
  layersChecked: boolean
  /** Whether credentials were given for the configured registry. */
  credentialsGiven: boolean
  /** The warnings of the run: the inputs' (the summary and the log add them) and the report's. */
  warnings: string[]
}

/**
 * The facts the advice needs, read from a report (the message and the summary use the same).
 * `warnings` are the inputs' warnings, which the core does not see: the summary and the log pass
 * them, so that a warning that explains the failure leads the fix there.
 */
export function adviceContext(
  report: Omit<Report, 'message'>,
  warnings: readonly string[] = [],
): AdviceContext {
  const decisive = decisiveFailure(report)
  const failedRegistry = decisive?.registry ?? report.registry
  return {
    registry: report.registry,
    tokenHost: report.checks.find((c) => c.id === 'token')?.host,
    failedHost: report.failedHost ?? decisive?.host,
    failedHop: report.failedHop ?? decisive?.hop,
    failedRegistry,
    family:
      failedRegistry === report.registry && RED_HAT_REALM.test(report.auth.realm ?? '')
        ? 'redhat'
        : familyOf(failedRegistry),
    finding: decisive?.finding,
    failedRequest: decisive?.check?.request,
    proxy: report.proxy.url,
    proxied: report.routes.filter((r) => r.via === 'proxy').map((r) => r.host),
    layersChecked: report.checks.some((c) => c.id === 'blob' && c.outcome !== 'skipped'),
    credentialsGiven: report.auth.credentials === 'given',
    warnings: [...warnings, ...report.notes],
  }
}

const CODE_OF = (text: string): string => `\`${text}\``
const SERVICE_ACCOUNTS = 'https://access.redhat.com/terms-based-registry/'
const RED_HAT_CDN = 'cdn.quay.io, cdn01.quay.io … cdn06.quay.io'
/** Red Hat's anonymous registry, where some repositories refuse until terms are accepted. */
const ACCESS_REGISTRY = 'registry.access.redhat.com'
const TERMS_STEP =
  'set registry: registry.redhat.io with a service account’s credentials and pull the image from there (some images on registry.access.redhat.com require accepting terms)'
const FORKS =
  'runs from forks and by Dependabot get no secrets: use Dependabot secrets, or `pull_request_target` with care'
const STATUS_PAGE: Record<Family, string | undefined> = {
  redhat: 'https://status.redhat.com',
  dockerhub: 'https://www.dockerstatus.com',
  quay: 'https://status.quay.io',
  ghcr: 'https://www.githubstatus.com',
  other: undefined,
}

/** Where the credentials of each operator's registry come from, and how they are written. */
const CREDENTIALS: Record<Family, string> = {
  redhat:
    'For Red Hat, use a Registry Service Account (' +
    SERVICE_ACCOUNTS +
    '): its user name is written `12345678|name`, with the `|`, and its password is the long token that starts with `eyJ`.',
  dockerhub:
    'For Docker Hub, the user name is the Docker ID (not the e-mail address) and the password a personal access token with read access (https://app.docker.com/settings/personal-access-tokens).',
  quay: 'For quay.io, use a robot account: its user name is written `organisation+name` and its password is the robot’s token (Account settings → Robot accounts).',
  ghcr: 'For ghcr.io, the user name is a GitHub user and the password a token that may read packages: `${{ secrets.GITHUB_TOKEN }}` with `permissions: packages: read`, or a personal access token with `read:packages`.',
  other: 'Give the user name and password (or token) of an account that can pull these images.',
}

function otherRegistryStep(host: string): string {
  return `add a second preflight step with \`registry: ${host}\` and that registry’s credentials`
}

function quoteHosts(hosts: (string | undefined)[]): string {
  const unique = hosts.filter((h, i, all): h is string => !!h && all.indexOf(h) === i)
  return unique.map(CODE_OF).join(' and ')
}

/** The host that failed, the registry and the token service, each once. */
function hostsToAllow(ctx: AdviceContext): string {
  return quoteHosts([ctx.failedHost, ctx.failedRegistry ?? ctx.registry, ctx.tokenHost])
}

/** The failed host as a sentence names it: a blob host says whose redirect led there. */
function failedPlace(ctx: AdviceContext): string {
  const host = ctx.failedHost ?? ctx.registry
  if (ctx.failedHop === 'blob-host' && ctx.failedRegistry)
    return `${CODE_OF(host)} (the blob host ${ctx.failedRegistry} redirects layer downloads to)`
  return CODE_OF(host)
}

/** The tunnels the proxy refused, as its CONNECT targets (`host:port`), else the failed host. */
function connectTargets(ctx: AdviceContext, p: ProxyFailure | undefined): string {
  const refused = p?.kind === 'refused' && p.target ? p.target : undefined
  const host = refused ?? ctx.failedHost ?? ctx.registry
  return CODE_OF(/:\d+$/.test(host) ? host : `${host}:443`)
}

/** A URL to ask with `curl -v`: the request that failed, at the host that failed. */
function curlTarget(ctx: AdviceContext): string {
  const host = ctx.failedHost ?? ctx.registry
  const path =
    ctx.failedRequest && !ctx.failedRequest.includes('…')
      ? ctx.failedRequest.replace(/^[A-Z]+ /, '')
      : ctx.failedHop === 'blob-host'
        ? '/'
        : '/v2/'
  return `curl -v https://${host}${path}`
}

/** The warnings that explain a failure of this kind: the likely cause, so they lead the fix. */
export function explainingWarnings(code: ResultCode, warnings: readonly string[]): string[] {
  const about = (pattern: RegExp): string[] => warnings.filter((w) => pattern.test(w))
  switch (code) {
    case 'invalid-credentials':
      return about(/username|password|service account|secret|clock/i)
    case 'missing-credentials':
      return about(
        /username|password|auth file|auth-file|DOCKER_CONFIG|REGISTRY_AUTH_FILE|podman|docker/i,
      )
    case 'access-denied':
      return about(/clock|username|service account/i)
    case 'unexpected-response':
      return about(/auth-url/i)
    case 'proxy-error':
    case 'proxy-auth-required':
    case 'dns-error':
    case 'connection-failed':
    case 'timeout':
      return about(/proxy/i)
    case 'tls-error':
      return about(/clock|proxy/i)
    case 'no-matching-platform':
      return about(/platform|linux\//i)
    default:
      return []
  }
}

/** The first thing to do, as the tail of the one-sentence `message`. */
export function firstStep(code: ResultCode, ctx: AdviceContext): string {
  return plan(code, ctx).first
}

/**
 * The "How to fix" steps, as Markdown sentences: the warnings that explain the failure first,
 * then the fix for this code, this registry's operator and this evidence.
 */
export function howToFix(code: ResultCode, ctx: AdviceContext): string[] {
  if (code === 'ok') return []
  const leading = explainingWarnings(code, ctx.warnings).map(warningStep)
  const { steps } = plan(code, ctx)
  return [...leading, ...steps]
}

/** A warning turned into the step that removes its cause. */
function warningStep(warning: string): string {
  if (/Service Account.*no '\|'/i.test(warning))
    return `Write the username with its \`|\`: a Registry Service Account’s name is \`12345678|name\`, exactly as ${SERVICE_ACCOUNTS} shows it. The warning above says it has none, which the token service refuses.`
  if (/white space|newline|invisible/i.test(warning))
    return 'Fix the secret the warning above names: re-copy it without the white space or invisible characters it holds.'
  if (/clock/i.test(warning))
    return 'Fix the runner’s clock (the warning above gives the skew): tokens are refused when the clock is off.'
  return 'Fix what the warning above says first: it is the likely cause.'
}

interface Plan {
  /** A fragment, for `message`: "<what failed>: <first>." */
  first: string
  /** Full sentences, in Markdown, the first of them the same fix as `first`. */
  steps: string[]
}

function plan(code: ResultCode, ctx: AdviceContext): Plan {
  const family = ctx.family
  const host = ctx.failedHost ?? ctx.registry
  const detail = ctx.finding?.detail ?? ''
  const redHatCdn =
    familyOf(ctx.registry) === 'redhat' && !ctx.layersChecked
      ? [
          `Image layers come from Red Hat’s CDN (${RED_HAT_CDN}): a firewall that allows only ${ctx.registry} passes this check and still fails the pull of layers.`,
        ]
      : []
  switch (code) {
    case 'ok':
      return { first: 'nothing to do', steps: [] }

    case 'missing-credentials': {
      const helper = /credential helper (docker-credential-\S+)/.exec(detail)?.[1]
      if (helper) {
        return {
          first: `make \`${helper}\` answer on the runner: install it, or log in with it before this step`,
          steps: [
            `The credential helper \`${helper}\` that the auth file names gave no credentials: install it on the runner and log in with it before this step, or remove \`credsStore\`/\`credHelpers\` from the auth file.`,
            'Or give the `username` and `password` inputs, from secrets.',
          ],
        }
      }
      if (/are in |none are in/.test(detail)) {
        const registry = ctx.failedRegistry ?? ctx.registry
        return {
          first: `log in to ${registry} before this step (docker/login-action, or podman login) so that the auth file holds its credentials`,
          steps: [
            `The auth file holds no credentials for ${CODE_OF(registry)}: log in to it before this step (\`docker/login-action\`, \`docker login\` or \`podman login\`), with the same tool the pull uses.`,
            CREDENTIALS[familyOf(registry)],
          ],
        }
      }
      return {
        first:
          'check that the secrets behind `username` and `password` exist and reach this workflow (runs from forks and by Dependabot get no secrets)',
        steps: [
          'Check that the secrets named in `with: username:` and `with: password:` exist in the repository or organisation settings, spelled exactly as in the workflow.',
          `Workflows triggered from a fork, or by Dependabot, receive no secrets: ${FORKS.replace(/^runs from forks and by Dependabot get no secrets: /, '')}.`,
          CREDENTIALS[family],
        ],
      }
    }

    case 'invalid-credentials': {
      const registry = ctx.failedRegistry ?? ctx.registry
      const fix: Record<Family, { first: string; steps: string[] }> = {
        redhat: {
          first:
            're-check the service account name (written `12345678|name`, with the `|`) and its token, or the Customer Portal login, and regenerate the token if in doubt',
          steps: [
            'Check the username: a Registry Service Account’s name is written `12345678|name`, with the `|`, and its password is the long token that starts with `eyJ` (a Customer Portal login works too).',
            `If in doubt, regenerate the token at ${SERVICE_ACCOUNTS} and update the secret.`,
          ],
        },
        dockerhub: {
          first:
            're-check the Docker ID (not the e-mail address) and use a personal access token as the password',
          steps: [
            'Check the username: Docker Hub wants the Docker ID, not the e-mail address; the password should be a personal access token with read access (https://app.docker.com/settings/personal-access-tokens).',
            'If in doubt, create a new token and update the secret.',
          ],
        },
        quay: {
          first: 're-check the robot account name (`organisation+name`) and its token',
          steps: [
            'Check the username: a quay.io robot account is written `organisation+name`, and its password is the robot’s token (Account settings → Robot accounts).',
            'If in doubt, regenerate the robot’s token and update the secret.',
          ],
        },
        ghcr: {
          first:
            're-check the GitHub user name, and that the token may read packages (`read:packages`, or GITHUB_TOKEN with `packages: read`)',
          steps: [
            'Check the credentials: the username is a GitHub user, the password `${{ secrets.GITHUB_TOKEN }}` (with `permissions: packages: read`) or a personal access token with `read:packages`.',
            'A personal access token expires: if in doubt, create a new one and update the secret.',
          ],
        },
        other: {
          first: `re-check the user name and password for ${registry}, and regenerate the token if in doubt`,
          steps: [
            `Check the user name and password (or token) for ${CODE_OF(registry)}: one of them is wrong, or the token was revoked or has expired.`,
            'If in doubt, regenerate the token or password and update the secret.',
          ],
        },
      }
      return fix[family]
    }

    case 'access-denied': {
      if (host === ACCESS_REGISTRY) {
        return {
          first: TERMS_STEP,
          steps: [
            `${ACCESS_REGISTRY} needs no login, but some of its images are served only to accounts that accepted their terms.`,
            `Pull the image from registry.redhat.io instead, with a Registry Service Account (${SERVICE_ACCOUNTS}): ${TERMS_STEP}.`,
          ],
        }
      }
      if (ctx.failedHop === 'blob-host') {
        return {
          first: `let the download from ${CODE_OF(host)} through unchanged: the blob host refused the registry’s signed redirect (a proxy that rewrites it, or a skewed clock)`,
          steps: [
            `The blob host ${failedPlace(ctx)} refused the layer download. Its URL is signed and expires: a proxy or firewall that rewrites or strips its query, or a runner clock that is off, makes it fail.`,
            `Allow ${CODE_OF(host)} unchanged (no TLS inspection, no URL rewriting) and check the runner’s clock.`,
          ],
        }
      }
      const registry = ctx.failedRegistry ?? ctx.registry
      if (registry !== ctx.registry && /credentials are only sent to|anonymous/.test(detail)) {
        return {
          first: otherRegistryStep(registry),
          steps: [
            `The image on ${CODE_OF(registry)} was checked anonymously: credentials go only to ${CODE_OF(ctx.registry)} and its token service.`,
            `If the image is private, ${otherRegistryStep(registry)}; if it is public, check its name (a missing repository is often refused the same way).`,
          ],
        }
      }
      const missingLooksSame = family === 'dockerhub' || family === 'quay'
      const first = {
        redhat:
          'check that the account’s organisation has a subscription that includes the image, and that its terms were accepted',
        dockerhub:
          'check the repository name and that the account may pull it (on Docker Hub and quay.io a missing repository looks the same)',
        quay: 'check the repository name and that the account may pull it (on Docker Hub and quay.io a missing repository looks the same)',
        ghcr: 'check the package name, and that the package lets this account or repository read it (Package settings → Manage Actions access)',
        other: `check that the account may pull the repository on ${registry}`,
      }[family]
      const refusedImage = /although it asks for no credentials/.test(detail)
        ? `${CODE_OF(registry)} refuses this image to every request, though it asks for no credentials: check the name, or whether the image needs an account.`
        : ctx.credentialsGiven
          ? 'The credentials are valid, but the registry refused this image for this account.'
          : 'The registry refused this image to an anonymous request: give credentials that may pull it.'
      return {
        first,
        steps: [
          refusedImage,
          {
            redhat: `Check that the account’s organisation has a subscription that includes the image, and that its terms were accepted at ${SERVICE_ACCOUNTS}.`,
            dockerhub:
              'Check that the account has pull access to the repository (a private repository needs a member of its organisation or team).',
            quay: 'Check that the robot account or user has read permission on the repository.',
            ghcr: 'Check the package’s settings: under Manage Actions access, add this repository with the Read role; a private package also needs the token to belong to a user who may read it.',
            other: 'Check that the account has pull access to the repository.',
          }[family],
          ...(missingLooksSame
            ? [
                'On Docker Hub and quay.io, a repository that does not exist is refused the same way: check its name.',
              ]
            : []),
        ],
      }
    }

    case 'image-not-found': {
      if (/config blob/.test(detail)) {
        return {
          first:
            'the registry holds the manifest but not its layers: push the image again, or pick another tag',
          steps: [
            `${CODE_OF(host)} serves the image’s manifest but not the blob it names: the image is broken on the registry. Push it again, or pick another tag or digest.`,
          ],
        }
      }
      return {
        first: 'check the repository name and the tag or digest',
        steps: [
          'Check the repository name, and that the tag or digest exists (tags are case-sensitive).',
          {
            redhat: 'Browse https://catalog.redhat.com to find the exact repository and tag.',
            dockerhub:
              'On Docker Hub, official images live under `library/` (`nginx` is `library/nginx`); browse https://hub.docker.com for the exact name and tags.',
            quay: 'Browse the repository on https://quay.io for its tags.',
            ghcr: 'The package’s page on GitHub lists its tags; the name is `ghcr.io/owner/package`, in lower case.',
            other: 'List the tags in the registry’s web interface.',
          }[family],
        ],
      }
    }

    case 'rate-limited':
      if (family === 'dockerhub' && ctx.credentialsGiven && ctx.registry === ctx.failedRegistry) {
        return {
          first:
            'wait for Docker Hub’s limit to reset, or use an account on a plan with a higher pull limit',
          steps: [
            'Docker Hub limits pulls over a window of hours, per account when logged in: this account has used its pulls.',
            'Wait for the window to reset (the Details give what the registry said is left), spread the pulls over accounts or runs, or use a plan with a higher limit.',
          ],
        }
      }
      if (family === 'dockerhub') {
        return {
          first:
            'log in to Docker Hub (anonymous pulls are limited per IP address, and a runner shares its address) or wait for the limit to reset',
          steps: [
            'Docker Hub limits pulls over a window of hours; anonymous pulls count per IP address, which a hosted runner shares with others.',
            'Give Docker Hub credentials (`username` and `password`, a personal access token), or wait for the window to reset (the Details give what the registry said is left).',
          ],
        }
      }
      return {
        first: `wait and retry later: ${host} is limiting requests`,
        steps: [
          `${CODE_OF(host)} is limiting requests: wait for the limit to reset (the message gives the Retry-After the server asked for, if any), then retry.`,
          'Fewer images per run, or credentials with a higher limit, keep under it.',
        ],
      }

    case 'registry-error': {
      const page = STATUS_PAGE[family]
      return {
        first: 'the service is failing, not your setup: retry later',
        steps: [
          `${CODE_OF(host)} answered with a server error after the retries${page ? `: check ${page}` : ''} and retry later.`,
          'Raise `retries` if the failures are brief.',
        ],
      }
    }

    case 'unexpected-response':
      return oddAnswerPlan(ctx)

    case 'dns-error': {
      const direct = ctx.proxy && !ctx.proxied.includes(host.replace(/:443$/, ''))
      return {
        first: direct
          ? `${host} is not sent through the proxy (no_proxy), so the runner must resolve it: remove it from no_proxy, or fix the runner’s DNS`
          : `check DNS on the runner for ${host}, or that the proxy is set (https_proxy or the proxy input)`,
        steps: [
          `The runner cannot resolve ${failedPlace(ctx)}: check the name for typos and the runner’s DNS settings.`,
          direct
            ? 'It goes direct, not through the proxy, because of `no_proxy` (the Details say which entry): remove that entry if only the proxy resolves outside names.'
            : 'On networks where only the proxy resolves outside names, set `https_proxy` or the `proxy` input.',
          ...redHatCdn,
        ],
      }
    }

    case 'connection-failed':
      return {
        first: `a firewall is likely in the way: allow HTTPS to ${hostsToAllow(ctx)}`,
        steps: [
          `Nothing accepted the connection to ${failedPlace(ctx)}. Allow outbound HTTPS (port 443, or the port given) to ${hostsToAllow(ctx)} in the firewall or security group (the Hosts to allow list has them all).`,
          'If the network requires a proxy, set `https_proxy` or the `proxy` input.',
          ...redHatCdn,
        ],
      }

    case 'timeout': {
      const seconds = timeoutSeconds(ctx.finding)
      if (seconds !== undefined && seconds < DEFAULT_TIMEOUT_S) {
        return {
          first: `raise \`timeout\` (it is ${seconds} s; the default is ${DEFAULT_TIMEOUT_S} s): ${host} may be slow rather than blocked`,
          steps: [
            `${CODE_OF(host)} did not answer within the \`timeout\` of ${seconds} s, shorter than the default ${DEFAULT_TIMEOUT_S} s: a slow answer is cut there. Raise \`timeout\` (and \`retries\` for brief stalls).`,
            `If it still times out, a firewall drops the packets: allow ${hostsToAllow(ctx)}, or set the proxy the network requires.`,
            ...redHatCdn,
          ],
        }
      }
      return {
        first: `a firewall that drops packets, or a proxy that must be configured: allow ${hostsToAllow(ctx)} or set the proxy`,
        steps: [
          `Nothing answered from ${failedPlace(ctx)} within the timeout: a firewall that drops packets is the usual cause. Allow ${hostsToAllow(ctx)}.`,
          'If the network requires a proxy, set `https_proxy` or the `proxy` input.',
          ...redHatCdn,
        ],
      }
    }

    case 'tls-error':
      return tlsPlan(ctx)

    case 'proxy-error':
      return proxyPlan(ctx, redHatCdn)

    case 'proxy-auth-required': {
      const hasCredentials = /\*\*\*@/.test(ctx.proxy ?? '')
      return hasCredentials
        ? {
            first:
              'check the user name and password in the proxy URL: the proxy refused them (percent-encode special characters)',
            steps: [
              `The proxy ${ctx.proxy ?? ''} answered 407 to the credentials in its URL: check the user name and password, and percent-encode characters such as \`@\`, \`:\` and \`%\`.`,
            ],
          }
        : {
            first:
              'give the proxy’s credentials in the proxy URL (http://user:password@host:port, from a secret)',
            steps: [
              'The proxy answered 407 (it wants a login): give its credentials in the URL, `http://user:password@proxy:port`, built from a secret (percent-encode special characters).',
            ],
          }
    }

    case 'no-matching-platform':
      return {
        first:
          'pick a multi-platform tag, set the platform input to what the pull will ask for, or run on a runner of a platform the image offers',
        steps: [
          'The image’s index lists the platforms it was built for, and the one the pull will ask for is not among them: `docker pull` fails with “no matching manifest for … in the manifest list entries”.',
          'Pick a tag that is built for this platform (the message lists what the index holds), or run the job on a runner of a platform the image offers (`runs-on: ubuntu-24.04-arm` for arm64).',
          'If the pull asks for another platform than the runner’s own (`docker pull --platform`, a multi-platform build), say so with the `platform` input, e.g. `platform: linux/amd64,linux/arm64`.',
        ],
      }

    case 'invalid-input':
      return {
        first: 'fix the step’s inputs in the workflow file',
        steps: [
          'Fix the input named above in the workflow file; the expected form is given there and in the README. Nothing was sent to any registry.',
        ],
      }
  }
}

function oddAnswerPlan(ctx: AdviceContext): Plan {
  const host = ctx.failedHost ?? ctx.registry
  const role =
    ctx.failedHop === 'token-service'
      ? 'token service'
      : ctx.failedHop === 'blob-host'
        ? 'blob host'
        : 'registry'
  const curl = `\`${curlTarget(ctx)}\``
  switch (oddAnswer(ctx.finding)) {
    case 'html':
      return {
        first: `something other than the ${role} answered (a captive portal, transparent proxy or firewall page): check what the runner gets from ${host}`,
        steps: [
          `An HTML page answered where the ${role} ${CODE_OF(host)} was expected: a captive portal, a transparent proxy or a firewall’s block page is the usual cause.`,
          `See what the runner reaches with ${curl}.`,
          ...(ctx.failedHop === 'token-service'
            ? ['If you set `auth-url`, check that it is the registry’s token endpoint.']
            : []),
        ],
      }
    case 'realm-plain-http':
      return {
        first:
          'the registry announced its token service over plain http, where credentials are never sent: set `auth-url` to its https endpoint, or have the registry fixed',
        steps: [
          'The registry’s challenge names a token realm over plain http; credentials are never sent there. A registry behind a TLS-terminating proxy that does not know it is served over https announces such a realm.',
          'Set `auth-url` to the https address of the token service, or have the registry’s operator fix its configured realm.',
        ],
      }
    case 'realm-link-local':
      return {
        first:
          'the registry named a link-local address as its token service: set `auth-url` to the real token endpoint, or have the registry fixed',
        steps: [
          'The registry’s challenge names a token realm at a link-local address (169.254.0.0/16, fe80::/10), where cloud metadata services live and no token service does; credentials are never sent there.',
          'Set `auth-url` to the real token endpoint, or have the registry’s operator fix its configured realm.',
        ],
      }
    case 'realm-not-url':
    case 'challenge':
      return {
        first:
          'the registry’s 401 names no usable token service: set `auth-url` to its token endpoint',
        steps: [
          'A registry’s 401 says where to get a token: `WWW-Authenticate: Bearer realm="https://…",service="…"`. This one’s cannot be used.',
          'Set `auth-url` to the registry’s token endpoint (its documentation names it).',
        ],
      }
    case 'redirect':
      return {
        first:
          'a redirect broke the rules a pull follows (https only, at most 5, never to a link-local address): check the registry’s or proxy’s redirects',
        steps: [
          `A redirect from ${CODE_OF(host)} was not followed: pulls follow at most 5 redirects, over https only, and never to a link-local address.`,
          `See where it leads with ${curl}.`,
        ],
      }
    case 'not-http':
      return {
        first: `the answer from ${host} was not valid HTTP: check what listens there`,
        steps: [
          `The answer from ${CODE_OF(host)} was not valid HTTP (the \`HPE_…\` code is the reason Node’s HTTP parser gave: a header too large or malformed, a broken status line): a middlebox, or something other than an HTTP server on that port.`,
          `See what the runner gets with ${curl}.`,
        ],
      }
    case 'bad-token':
      return {
        first: `the token service ${host} answered without a token this action can use: check \`auth-url\`, or that this is the registry’s token endpoint`,
        steps: [
          `The token service ${CODE_OF(host)} answered, but not with a token that can be used (none, malformed JSON, or one that cannot be sent in a header).`,
          `If you set \`auth-url\`, check that it is the registry’s token endpoint; see the answer with ${curl}.`,
        ],
      }
    case 'other':
      return {
        first: `${host} gave an answer no registry gives: check what the runner reaches there`,
        steps: [
          `${CODE_OF(host)} gave an answer no ${role} gives: a proxy, a firewall page or another service may be answering in its place.`,
          `See what the runner reaches with ${curl}.`,
        ],
      }
  }
}

function tlsPlan(ctx: AdviceContext): Plan {
  const host = ctx.failedHost ?? ctx.registry
  const detail = ctx.finding?.detail ?? ''
  if (/expired|not yet valid/i.test(detail)) {
    return {
      first: `check the runner’s clock, or ask the operator of ${host} to renew its certificate`,
      steps: [
        `The certificate of ${CODE_OF(host)} is outside its validity dates: check that the runner’s clock is right (a certificate “not yet valid” points at a skewed clock), or ask the operator to renew it.`,
      ],
    }
  }
  const pull = [
    'Make the pull trust the same CA, since `docker pull` does not read `NODE_EXTRA_CA_CERTS`: on the runner, `sudo cp ca.pem /usr/local/share/ca-certificates/proxy-ca.crt && sudo update-ca-certificates && sudo systemctl restart docker`, or for one registry `/etc/docker/certs.d/<host>/ca.crt` (podman, skopeo and buildah: `/etc/containers/certs.d/<host>/ca.crt`).',
  ]
  if (/altname|HOSTNAME_MISMATCH|does not match/i.test(detail)) {
    return {
      first: `${host} presented a certificate for another name: check that its name resolves to the right server, or that no proxy answers in its place`,
      steps: [
        `${CODE_OF(host)} presented a certificate for another name: a DNS entry, a hosts file or a transparent proxy sends the connection elsewhere.`,
        'If a TLS-inspecting proxy answers in its place, give its CA certificate to this step with `env: NODE_EXTRA_CA_CERTS: /path/to/ca.pem`.',
        ...pull,
      ],
    }
  }
  return {
    first:
      'a TLS-intercepting proxy is likely: give its CA certificate with NODE_EXTRA_CA_CERTS, and add it to the trust store docker uses',
    steps: [
      `The certificate of ${CODE_OF(host)} was signed by a CA the runner does not trust${/through the proxy/.test(detail) ? ', inside the proxy’s tunnel: the proxy inspects TLS' : ''}. Give that CA’s certificate to this step with \`env: NODE_EXTRA_CA_CERTS: /path/to/ca.pem\`.`,
      ...pull,
    ],
  }
}

function proxyPlan(ctx: AdviceContext, redHatCdn: string[]): Plan {
  const p = proxyFailure(ctx.finding)
  const proxy = ctx.proxy ?? 'the proxy'
  switch (p?.kind) {
    case 'dns':
      return {
        first: `check the proxy’s host name: ${proxy} does not resolve on the runner`,
        steps: [
          `The proxy’s own name does not resolve on the runner: check ${CODE_OF(proxy)} for typos, and that the runner’s DNS knows it (the Details say where the proxy was set).`,
        ],
      }
    case 'unreachable':
      return {
        first: `check the proxy’s address and port: nothing accepts connections at ${proxy}`,
        steps: [
          `Nothing accepted a connection at the proxy ${CODE_OF(proxy)}: check its host and port, and that it runs and can be reached from the runner.`,
        ],
      }
    case 'timeout':
      return {
        first: `check that ${proxy} is an HTTP proxy: it did not answer the CONNECT (the request that opens a tunnel) in time`,
        steps: [
          `The proxy ${CODE_OF(proxy)} accepted the connection but did not answer the CONNECT in time (CONNECT is the request by which a proxy opens a tunnel to a host): check that this is the proxy’s HTTP port, or raise \`timeout\`.`,
        ],
      }
    default: {
      const targets = connectTargets(ctx, p)
      return {
        first: `allow CONNECT to ${targets} on the proxy${ctx.proxy ? ` ${ctx.proxy}` : ''} (the request by which a proxy opens a tunnel to a host)`,
        steps: [
          `The proxy refused to open a tunnel (a CONNECT request) to ${targets}${p?.kind === 'refused' && p.status ? ` with HTTP ${p.status}` : ''}: its allow-list lacks that host.`,
          `Ask for CONNECT to ${targets} to be allowed on the proxy, with the other hosts the pulls need (the Hosts to allow list).`,
          ...redHatCdn,
        ],
      }
    }
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
