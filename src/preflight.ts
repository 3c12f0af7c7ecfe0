/**
 * The procedure a support engineer walks through by hand, as one function: reach the
 * registry's /v2/ and read its challenge, ask the token service for a token, present it to
 * /v2/, then ask for each image's manifest. Plain config in, typed report out; nothing here
 * knows about the Actions runner.
 */
import { bearerChallenge, parseChallenges } from './challenge.js'
import type { Hop, ResultCode } from './codes.js'
import { adviceContext, firstStep } from './advice.js'
import { Transport, firstHeader, type Answer, type Exchange, type TransportError } from './http.js'
import { isLinkLocal, isLoopback, redactProxy, type ProxySettings } from './proxy.js'
import { formatImageRef, type ImageRef } from './reference.js'
import { Scrubber } from './text.js'
import type { Check, Finding, ImageCheck, RateLimit, Report } from './report.js'
import {
  parseErrorBody,
  parseJson,
  parseTokenResponse,
  pullScope,
  tokenSecrets,
  tokenUrl,
  type Token,
} from './token.js'

export interface Credentials {
  username: string
  password: string
}

export interface PreflightConfig {
  /** host[:port] the credentials belong to. */
  registry: string
  /** Absent when both username and password are empty: access is tried anonymously. */
  credentials?: Credentials
  /** Set when exactly one of username and password is empty. */
  missing?: 'username' | 'password'
  images: ImageRef[]
  authUrl?: URL
  proxy: ProxySettings
  timeoutMs: number
  retries: number
}

export interface PreflightDeps {
  /** Called with every secret the core derives (Basic header, tokens) the moment it exists. */
  onSecret: (value: string) => void
  debug: (message: string) => void
  sleep: (ms: number) => Promise<void>
  now: () => number
  userAgent: string
  /** How many requests may be in flight at once (tokens and image checks together). */
  concurrency: number
}

/**
 * Token services known in advance. Their token request goes out together with the first `GET /v2/`
 * (a round trip saved for the home case) and is kept when the challenge names the same realm and
 * service; when /v2/ cannot be reached, it still tells whether the token service can.
 */
export const KNOWN_REALMS: Record<string, { realm: string; service: string }> = {
  'registry.redhat.io': {
    realm: 'https://registry.redhat.io/auth/realms/rhcc/protocol/redhat-docker-v2/auth',
    service: 'docker-registry',
  },
}

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ')

const CLOCK_SKEW_LIMIT_MS = 30_000

type Auth = { header?: string; finding?: Finding; status?: number }
/** What a request to the registry carried. */
type Presented = 'token' | 'basic' | 'nothing'

interface Endpoint {
  /** How the registry wants to be spoken to. */
  scheme: 'bearer' | 'basic' | 'none'
  realm?: URL
  service?: string
}

export async function preflight(config: PreflightConfig, deps: PreflightDeps): Promise<Report> {
  const run = new Preflight(config, deps)
  try {
    return await run.run()
  } finally {
    run.close()
  }
}

class Preflight {
  private readonly transport: Transport
  private readonly started: number
  private readonly checks: Check[] = []
  private readonly notes: string[] = []
  private readonly hosts = new Set<string>()
  private readonly report: Partial<Report> = {}
  private readonly basicHeader?: string
  /** Tokens per registry host and repository, fetched once and shared by all tags. */
  private readonly tokens = new Map<string, Promise<Auth>>()
  /** /v2/ pings of registries other than the configured one. */
  private readonly foreign = new Map<string, Promise<Endpoint | Finding>>()
  /** Every request takes a place here, for its attempts and their waits. */
  private readonly inFlight: Limiter
  /** Every secret of the run, cut from whatever a server sent before the report holds it. */
  private readonly scrubber = new Scrubber()
  private readonly deps: PreflightDeps
  private maxSkewMs = 0

  constructor(
    private readonly config: PreflightConfig,
    deps: PreflightDeps,
  ) {
    this.deps = {
      ...deps,
      onSecret: (value) => {
        this.scrubber.add(value)
        deps.onSecret(value)
      },
    }
    for (const secret of configSecrets(config)) this.scrubber.add(secret)
    this.started = deps.now()
    this.inFlight = new Limiter(deps.concurrency)
    this.transport = new Transport({
      timeoutMs: config.timeoutMs,
      retries: config.retries,
      proxy: config.proxy,
      userAgent: deps.userAgent,
      sleep: deps.sleep,
      now: deps.now,
      debug: deps.debug,
    })
    if (config.credentials) {
      const { username, password } = config.credentials
      const encoded = Buffer.from(`${username}:${password}`).toString('base64')
      this.deps.onSecret(encoded)
      this.basicHeader = `Basic ${encoded}`
    }
  }

  close(): void {
    this.transport.close()
  }

  async run(): Promise<Report> {
    const { registry } = this.config
    this.report.auth = {
      scheme: 'unknown',
      credentials: this.config.credentials
        ? 'given'
        : this.config.missing
          ? 'incomplete'
          : 'anonymous',
    }

    const firstRepo = this.config.images.find((i) => i.registry === registry)?.repository
    // 1. Reach /v2/ and read the challenge; a known token service is asked at the same time.
    const early = this.earlyToken(firstRepo)
    const ping = await this.ping()
    // 2. The token service, at the announced realm, the auth-url override, or the known realm.
    const endpoint = this.chooseRealm(ping.endpoint, ping.check.status !== undefined)
    const adopted =
      early && endpoint && sameTokenService(early.endpoint, endpoint) ? early.exchange : undefined
    // Not the token service this registry names (or none at all): no retries on its behalf.
    if (early && !adopted) early.abandon.abort()
    let auth: Auth | undefined
    if (endpoint?.scheme === 'bearer') {
      auth = await this.tokenCheck(endpoint, firstRepo, adopted)
    } else if (endpoint?.scheme === 'basic') {
      auth = this.basicAuth()
    } else if (endpoint?.scheme === 'none') {
      auth = {}
      this.report.registryStatus = ping.check.status
    }
    const authorized = ping.check.outcome === 'passed' && auth !== undefined && !auth.finding

    // 3. /v2/ with the token, and 4. each image, side by side.
    const registryCheck =
      authorized && endpoint?.scheme !== 'none'
        ? this.registryCheck(auth?.header)
        : Promise.resolve(undefined)
    const [, imageChecks] = await Promise.all([
      registryCheck,
      this.probeImages(endpoint, authorized),
    ])

    if (this.checks.every((c) => c.id !== 'registry') && endpoint?.scheme !== 'none') {
      const check: Check = {
        id: 'registry',
        title: this.registryTitle(),
        hop: 'registry',
        host: registry,
        request: 'GET /v2/',
        outcome: 'skipped',
      }
      // A registry that takes Basic itself, and no credentials to give it, fails here.
      if (endpoint?.scheme === 'basic' && auth?.finding) fail(check, auth.finding)
      this.checks.push(check)
    }
    if (this.maxSkewMs > CLOCK_SKEW_LIMIT_MS) {
      this.notes.push(
        `The runner's clock differs from the servers' by about ${Math.round(this.maxSkewMs / 1000)} s: a skewed clock makes freshly issued tokens fail. Check the runner's time synchronisation.`,
      )
    }
    return this.finish(imageChecks)
  }

  private async ping(): Promise<{ check: Check; endpoint?: Endpoint }> {
    const { check, answer } = await this.getV2('ping', 'Reach the registry')
    if (!answer) return { check }
    const endpoint = readEndpoint(answer)
    if ('code' in endpoint) {
      // A 429 or 5xx was already judged, with what the retries learned.
      if (check.outcome !== 'failed') fail(check, endpoint)
      return { check }
    }
    this.report.auth = { ...this.report.auth!, scheme: endpoint.scheme }
    return { check, endpoint }
  }

  /** `GET /v2/` of the configured registry, recorded as the check `id`. */
  private async getV2(
    id: 'ping' | 'registry',
    title: string,
    authorization?: string,
  ): Promise<{ check: Check; answer?: Answer; exchange: Exchange }> {
    const { registry } = this.config
    const url = new URL(`https://${registry}/v2/`)
    const exchange = await this.send({ method: 'GET', url, authorization })
    const check = this.checkFrom(id, title, 'registry', registry, 'GET /v2/', exchange)
    this.checks.push(check)
    return { check, answer: exchange.answer, exchange }
  }

  /** Picks the token realm: auth-url wins; else the challenge's; else, if /v2/ was not reached, the known one. */
  private chooseRealm(endpoint: Endpoint | undefined, answered: boolean): Endpoint | undefined {
    const { authUrl, registry } = this.config
    const auth = this.report.auth!
    if (endpoint?.realm) auth.discoveredRealm = safeHref(endpoint.realm)
    if (authUrl) {
      if (endpoint?.realm && safeHref(endpoint.realm) !== safeHref(authUrl)) {
        this.notes.push(
          `auth-url (${safeHref(authUrl)}) differs from the realm the registry announces (${safeHref(endpoint.realm)}); the auth-url was used.` +
            (authUrl.hostname === 'sso.redhat.com'
              ? ' sso.redhat.com is Red Hat’s older realm, still in many scripts and firewall rules; a pull uses the announced one, so the firewall must allow its host.'
              : ''),
        )
      }
      if (endpoint && endpoint.scheme !== 'bearer') return endpoint
      auth.realm = safeHref(authUrl)
      auth.realmSource = 'auth-url'
      return {
        scheme: 'bearer',
        realm: authUrl,
        service: endpoint?.service ?? KNOWN_REALMS[registry]?.service,
      }
    }
    if (endpoint) {
      if (endpoint.realm) {
        auth.realm = safeHref(endpoint.realm)
        auth.realmSource = 'challenge'
      }
      return endpoint
    }
    const known = KNOWN_REALMS[registry]
    if (!known || answered) return undefined
    auth.realm = known.realm
    auth.realmSource = 'known'
    return { scheme: 'bearer', realm: new URL(known.realm), service: known.service }
  }

  /**
   * The token request for a registry whose token service is known (KNOWN_REALMS), sent before the
   * challenge has named it. Nothing is judged or recorded here: tokenCheck() adopts the answer only
   * if the challenge names the same realm and service (or /v2/ gave no answer at all).
   */
  private earlyToken(
    repository: string | undefined,
  ): { endpoint: Endpoint; exchange: Promise<Exchange>; abandon: AbortController } | undefined {
    const known = KNOWN_REALMS[this.config.registry]
    if (!known || this.config.authUrl || this.config.missing) return undefined
    const endpoint: Endpoint = {
      scheme: 'bearer',
      realm: new URL(known.realm),
      service: known.service,
    }
    const abandon = new AbortController()
    const exchange = this.requestToken(endpoint, repository, this.basicHeader, abandon.signal)
    return { endpoint, exchange, abandon }
  }

  /** The token request that proves (or disproves) the credentials: the `sso-status` check. */
  private tokenCheck(
    endpoint: Endpoint,
    repository: string | undefined,
    sent?: Promise<Exchange>,
  ): Promise<Auth> {
    const realm = endpoint.realm!
    const check: Check = {
      id: 'token',
      title: this.config.credentials
        ? 'Token service accepts the credentials'
        : 'Token service grants anonymous access',
      hop: 'token-service',
      host: realm.host,
      request: `GET ${realm.pathname}`,
      outcome: 'skipped',
    }
    this.checks.push(check)
    if (this.config.missing) {
      const finding: Finding = {
        code: 'missing-credentials',
        detail: `${this.config.registry} needs credentials, but the ${this.config.missing} input is empty`,
      }
      fail(check, finding)
      return Promise.resolve({ finding })
    }
    const auth = this.fetchToken(
      this.config.registry,
      endpoint,
      repository,
      this.basicHeader,
      check,
      sent,
    )
    // The images of this repository share this token rather than asking again.
    if (repository) this.tokens.set(`${this.config.registry}/${repository}`, auth)
    return auth
  }

  private registryTitle(): string {
    return this.config.credentials
      ? 'Registry accepts the credentials'
      : 'Registry accepts anonymous access'
  }

  private basicAuth(): Auth {
    if (this.basicHeader) return { header: this.basicHeader }
    const what = this.config.missing
      ? `the ${this.config.missing} input is empty`
      : 'none were given'
    return {
      finding: {
        code: 'missing-credentials',
        detail: `${this.config.registry} needs credentials, but ${what}`,
      },
    }
  }

  /**
   * Asks the token service for a pull token (or judges the answer to a request already `sent` to
   * it). `check`, when given, receives the outcome (the token check row); otherwise the outcome
   * comes back only as a finding for an image row.
   */
  private async fetchToken(
    registry: string,
    endpoint: Endpoint,
    repository: string | undefined,
    authorization: string | undefined,
    check?: Check,
    sent?: Promise<Exchange>,
  ): Promise<Auth> {
    const realm = endpoint.realm!
    const anonymous = authorization === undefined
    const refusal = realmRefusal(realm)
    if (refusal) {
      const finding: Finding = { code: 'unexpected-response', detail: refusal }
      if (check) fail(check, finding)
      return { finding }
    }
    const exchange = await (sent ?? this.requestToken(endpoint, repository, authorization))
    if (check)
      Object.assign(
        check,
        this.checkFrom(check.id, check.title, 'token-service', realm.host, check.request, exchange),
      )
    if (check && exchange.answer) this.report.ssoStatus = exchange.answer.status
    const answer = exchange.answer
    let finding: Finding | undefined
    let token: Token | undefined
    if (!answer) {
      finding = networkFinding(exchange.error!, 'token service', realm.host)
    } else if (answer.status === 200) {
      const parsed = parseTokenResponse(answer.body)
      if (parsed.ok) token = parsed.token
      else finding = { code: 'unexpected-response', detail: `${parsed.reason} (${realm.host})` }
    } else if (answer.status === 401 || answer.status === 403) {
      if (answer.status === 403 && looksLikeHtml(answer) && !parseErrorBody(answer.body)) {
        finding = htmlFinding('token service', realm.host, answer.status)
      } else if (anonymous && registry !== this.config.registry) {
        finding = {
          code: 'access-denied',
          detail: `the token service at ${realm.host} refused anonymous access to ${repository ?? registry} (HTTP ${answer.status}); credentials are only sent to ${this.config.registry}`,
        }
      } else if (anonymous) {
        finding = {
          code: 'missing-credentials',
          detail: `the token service at ${realm.host} refused anonymous access (HTTP ${answer.status}) and no credentials were given`,
        }
      } else {
        finding = {
          code: 'invalid-credentials',
          detail: `the token service at ${realm.host} refused the credentials (HTTP ${answer.status})`,
        }
      }
    } else {
      finding = statusFinding(answer, 'token service', realm.host, exchange.retryNote) ?? {
        code: 'unexpected-response',
        detail: `the token service at ${realm.host} answered HTTP ${answer.status} at ${realm.pathname}; check auth-url, or that this is the registry's token endpoint`,
      }
    }

    if (token) {
      this.noteSkew(token.issuedAt)
      if (check) this.report.tokenExpiresIn = token.expiresIn
      this.deps.debug(
        `token for ${registry}${repository ? ` (${repository})` : ''}: expires in ${token.expiresIn} s`,
      )
      return { header: `Bearer ${token.token}`, status: answer?.status }
    }
    if (check && finding) fail(check, finding)
    return { finding, status: answer?.status }
  }

  /** `GET <realm>?service=…&scope=repository:<repository>:pull`; the token is masked at once. */
  private requestToken(
    endpoint: Endpoint,
    repository: string | undefined,
    authorization: string | undefined,
    signal?: AbortSignal,
  ): Promise<Exchange> {
    const scopes = repository ? [pullScope(repository)] : []
    return this.send(
      {
        method: 'GET',
        url: tokenUrl(endpoint.realm!, endpoint.service, scopes),
        authorization,
        accept: 'application/json',
        signal,
      },
      undefined,
      (answer) => tokenSecrets(answer.body),
    )
  }

  private async registryCheck(authorization: string | undefined): Promise<void> {
    const { registry } = this.config
    const { check, answer, exchange } = await this.getV2(
      'registry',
      this.registryTitle(),
      authorization,
    )
    if (!answer) return
    this.report.registryStatus = answer.status
    if (answer.status === 200) {
      if (!isRegistryAnswer(answer)) fail(check, htmlFinding('registry', registry, answer.status))
      return
    }
    const finding = this.refusalFinding(
      answer,
      registry,
      undefined,
      authorization?.startsWith('Bearer ') ? 'token' : 'basic',
    ) ??
      statusFinding(answer, 'registry', registry, exchange.retryNote) ?? {
        code: 'unexpected-response',
        detail: `${registry} answered HTTP ${answer.status} to GET /v2/`,
      }
    fail(check, finding)
  }

  /**
   * 401/403 from the registry, read with what was presented: no credentials where they were
   * needed is `missing-credentials`; anything else the registry refused is `access-denied`.
   */
  private refusalFinding(
    answer: Answer,
    registry: string,
    image: string | undefined,
    presented: Presented,
  ): Finding | undefined {
    if (answer.status !== 401 && answer.status !== 403) return undefined
    if (looksLikeHtml(answer) && !isRegistryAnswer(answer))
      return htmlFinding('registry', registry, answer.status)
    const what = image ? `the image ${image}` : 'the token'
    const status = `HTTP ${answer.status}`
    if (registry !== this.config.registry) {
      return {
        code: 'access-denied',
        detail: `${registry} refused ${what} to an anonymous request (${status}); credentials are only sent to ${this.config.registry}`,
      }
    }
    if (presented === 'nothing') {
      return {
        code: 'access-denied',
        detail: `${registry} refused ${what} (${status}) although it asks for no credentials`,
      }
    }
    if (!this.config.credentials) {
      return {
        code: 'missing-credentials',
        detail: `${registry} refused ${image ? what : 'anonymous access'} (${status}) and no credentials were given`,
      }
    }
    if (presented === 'basic' && !image && answer.status === 401) {
      // A registry that takes Basic is its own token service: a 401 on /v2/ refuses the login.
      return {
        code: 'invalid-credentials',
        detail: `${registry} refused the credentials on GET /v2/ (${status})`,
      }
    }
    const accepted =
      presented === 'token'
        ? 'the token service accepted the credentials'
        : 'it accepted the credentials on /v2/'
    return {
      code: 'access-denied',
      detail: `${registry} refused ${what} (${status}) although ${accepted}`,
    }
  }

  private async probeImages(
    endpoint: Endpoint | undefined,
    primaryAuthorized: boolean,
  ): Promise<ImageCheck[]> {
    if (primaryAuthorized && endpoint?.scheme === 'bearer') {
      // Every repository's token is asked for first, so that the tokens queue for places ahead
      // of the manifest checks, which join the queue only once their token is in. A place never
      // waits a round trip for a token and then another for its manifest, and while few tokens
      // are in, the tokens have every place (bench: 100 images, one wave fewer than two groups
      // of fixed size). tokenFor() shares each repository's request with the images that need it.
      for (const image of this.config.images) {
        if (image.registry === this.config.registry) void this.tokenFor(image, endpoint)
      }
    }
    return Promise.all(
      this.config.images.map((image) => {
        if (image.registry === this.config.registry) {
          if (!primaryAuthorized || !endpoint)
            return Promise.resolve(skippedImage(image, !this.config.credentials))
          return this.probeImage(image, endpoint)
        }
        return this.probeForeignImage(image)
      }),
    )
  }

  private async probeForeignImage(image: ImageRef): Promise<ImageCheck> {
    let ping = this.foreign.get(image.registry)
    if (!ping) {
      ping = this.pingForeign(image.registry)
      this.foreign.set(image.registry, ping)
    }
    const endpoint = await ping
    if ('code' in endpoint)
      return { ...imageBase(image, true), outcome: 'failed', finding: endpoint }
    return this.probeImage(image, endpoint)
  }

  private async pingForeign(registry: string): Promise<Endpoint | Finding> {
    const exchange = await this.send({ method: 'GET', url: new URL(`https://${registry}/v2/`) })
    if (!exchange.answer) return networkFinding(exchange.error!, 'registry', registry)
    return readEndpoint(exchange.answer)
  }

  private async probeImage(image: ImageRef, endpoint: Endpoint): Promise<ImageCheck> {
    const primary = image.registry === this.config.registry
    const anonymous = !primary || !this.config.credentials
    const row: ImageCheck = { ...imageBase(image, anonymous), outcome: 'skipped' }
    const started = this.deps.now()
    const auth = await this.authFor(image, endpoint)
    if (auth.finding)
      return { ...row, outcome: 'failed', finding: auth.finding, ms: this.deps.now() - started }

    const url = new URL(
      `https://${image.registry}/v2/${image.repository}/manifests/${image.reference}`,
    )
    let header = auth.header
    let exchange = await this.send({
      method: 'HEAD',
      url,
      authorization: header,
      accept: MANIFEST_ACCEPT,
    })
    // A registry whose /v2/ is open may still want a token for a repository: get one and ask again.
    const upgrade =
      !header && exchange.answer?.status === 401 ? challengedEndpoint(exchange.answer) : undefined
    if (upgrade) {
      const token = await this.tokenFor(image, upgrade)
      if (token.finding)
        return { ...row, outcome: 'failed', finding: token.finding, ms: this.deps.now() - started }
      header = token.header
      exchange = await this.send({
        method: 'HEAD',
        url,
        authorization: header,
        accept: MANIFEST_ACCEPT,
      })
    }
    row.ms = this.deps.now() - started
    const answer = exchange.answer
    if (!answer)
      return {
        ...row,
        outcome: 'failed',
        finding: networkFinding(exchange.error!, 'registry', image.registry),
      }
    row.status = answer.status
    row.rateLimit = rateLimitOf(answer)
    const name = formatImageRef(image)
    if (answer.status === 200) {
      if (looksLikeHtml(answer) && !isRegistryAnswer(answer)) {
        return { ...row, outcome: 'failed', finding: htmlFinding('registry', image.registry, 200) }
      }
      return {
        ...row,
        outcome: 'passed',
        digest: firstHeader(answer.headers['docker-content-digest']),
      }
    }
    const presented: Presented = header?.startsWith('Bearer ')
      ? 'token'
      : header
        ? 'basic'
        : 'nothing'
    let finding = this.refusalFinding(answer, image.registry, name, presented)
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
    row.outcome = 'failed'
    row.finding = finding
    if (finding.code !== 'unexpected-response' && finding.code !== 'rate-limited') {
      row.registryMessage = await this.registryMessage(url, header)
    }
    return row
  }

  /** A HEAD has no body: one capped GET reads the registry's own words for a refused image. */
  private async registryMessage(
    url: URL,
    authorization: string | undefined,
  ): Promise<string | undefined> {
    const exchange = await this.send(
      { method: 'GET', url, authorization, accept: MANIFEST_ACCEPT },
      0,
    )
    const errors = exchange.answer ? parseErrorBody(exchange.answer.body) : undefined
    const text = errors
      ?.map((e) => e.message || e.code)
      .filter(Boolean)
      .join('; ')
    return text || undefined
  }

  /** The Authorization for an image: the token for its repository, fetched once per repository. */
  private authFor(image: ImageRef, endpoint: Endpoint): Promise<Auth> {
    const primary = image.registry === this.config.registry
    if (endpoint.scheme === 'none') return Promise.resolve({})
    if (endpoint.scheme === 'basic') {
      if (primary) return Promise.resolve(this.basicAuth())
      return Promise.resolve({})
    }
    return this.tokenFor(image, endpoint)
  }

  /** The token for an image's repository, fetched once per repository and shared by its tags. */
  private tokenFor(image: ImageRef, endpoint: Endpoint): Promise<Auth> {
    const primary = image.registry === this.config.registry
    const key = `${image.registry}/${image.repository}`
    let auth = this.tokens.get(key)
    if (!auth) {
      auth = this.fetchToken(
        image.registry,
        endpoint,
        image.repository,
        primary ? this.basicHeader : undefined,
      )
      this.tokens.set(key, auth)
    }
    return auth
  }

  /**
   * One request through the transport, logged. `secretsIn` names the secrets an answer carries,
   * so they are masked before the first line about that answer is written.
   */
  private async send(
    request: Parameters<Transport['send']>[0],
    retries?: number,
    secretsIn?: (answer: Answer) => string[],
  ): Promise<Exchange> {
    const url = request.url
    if (!this.hosts.has(url.host)) {
      this.hosts.add(url.host)
      const route = this.transport.route(url)
      ;(this.report.routes ??= []).push({ host: url.host, via: route.via, reason: route.reason })
    }
    const exchange = await this.inFlight.run(() => this.transport.send(request, retries))
    if (exchange.answer && secretsIn)
      for (const secret of secretsIn(exchange.answer)) this.deps.onSecret(secret)
    this.deps.debug(
      `${request.method} ${url.host}${url.pathname}: ${exchange.answer ? `HTTP ${exchange.answer.status}` : exchange.error?.kind} in ${exchange.ms} ms (${exchange.attempts} attempt${exchange.attempts === 1 ? '' : 's'})`,
    )
    if (exchange.answer) this.noteSkew(dateHeader(exchange.answer))
    return exchange
  }

  private checkFrom(
    id: Check['id'],
    title: string,
    hop: Hop,
    host: string,
    request: string,
    exchange: Exchange,
  ): Check {
    const check: Check = {
      id,
      title,
      hop,
      host,
      request,
      outcome: 'passed',
      status: exchange.answer?.status,
      ms: exchange.ms,
      attempts: exchange.attempts,
      via: exchange.route.via,
    }
    if (exchange.error) {
      fail(
        check,
        networkFinding(exchange.error, hop === 'registry' ? 'registry' : 'token service', host),
      )
      check.atProxy = exchange.error.kind.startsWith('proxy-')
    } else if (exchange.answer) {
      const generic = statusFinding(
        exchange.answer,
        hop === 'registry' ? 'registry' : 'token service',
        host,
        exchange.retryNote,
      )
      if (generic) fail(check, generic)
    }
    return check
  }

  private noteSkew(serverTime: Date | undefined): void {
    if (!serverTime) return
    const skew = Math.abs(this.deps.now() - serverTime.getTime())
    if (skew > this.maxSkewMs) this.maxSkewMs = skew
  }

  private finish(images: ImageCheck[]): Report {
    const { registry } = this.config
    const ordered: { finding: Finding; hop: Hop; host: string }[] = []
    for (const c of this.checks) {
      if (c.outcome === 'failed' && c.finding)
        ordered.push({ finding: c.finding, hop: c.atProxy ? 'proxy' : c.hop, host: c.host })
    }
    for (const i of images) {
      if (i.outcome === 'failed' && i.finding)
        ordered.push({ finding: i.finding, hop: 'registry', host: i.registry })
    }
    // The checks table reads in the order of the procedure.
    const order = ['ping', 'token', 'registry']
    this.checks.sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id))

    // Server text (an error message, a certificate's names) may quote a secret back.
    const scrub = (finding: Finding | undefined): void => {
      if (finding) finding.detail = this.scrubber.serverText(finding.detail, DETAIL_LIMIT)
    }
    for (const c of this.checks) scrub(c.finding)
    for (const i of images) {
      scrub(i.finding)
      if (i.registryMessage) i.registryMessage = this.scrubber.serverText(i.registryMessage)
    }
    for (const [n, note] of this.notes.entries())
      this.notes[n] = this.scrubber.serverText(note, 2 * DETAIL_LIMIT)
    const auth = this.report.auth!
    // A realm is a server's text too.
    if (auth.realm) auth.realm = this.scrubber.serverText(auth.realm, DETAIL_LIMIT)
    if (auth.discoveredRealm)
      auth.discoveredRealm = this.scrubber.serverText(auth.discoveredRealm, DETAIL_LIMIT)
    const first = ordered[0]
    const proxyUrl = this.config.proxy.url ? redactProxy(this.config.proxy.url) : undefined
    const result: ResultCode = first?.finding.code ?? 'ok'
    const report: Omit<Report, 'message'> = {
      registry,
      pullReady: !first,
      result,
      failedHop: first?.hop,
      failedHost: first?.host,
      checks: this.checks,
      images,
      ssoStatus: this.report.ssoStatus,
      registryStatus: this.report.registryStatus,
      tokenExpiresIn: this.report.tokenExpiresIn,
      auth,
      proxy: {
        url: proxyUrl,
        source: this.config.proxy.source,
        schemeAssumed: this.config.proxy.schemeAssumed,
        noProxy: this.config.proxy.noProxy,
        noProxySource: this.config.proxy.noProxySource,
      },
      routes: this.report.routes ?? [],
      notes: this.notes,
      durationMs: this.deps.now() - this.started,
    }
    const message = first
      ? `${capitalize(first.finding.detail)}: ${firstStep(result, adviceContext(report))}.`
      : `Pulls from ${registry} will succeed: ${describeSuccess(this.checks, images)}.`
    return { ...report, message }
  }
}

/** Findings are our sentences around a host name or a server's words: longer than those alone. */
const DETAIL_LIMIT = 600

/** The secrets a run starts with: the password, and the proxy's password, as given and decoded. */
function configSecrets(config: PreflightConfig): string[] {
  const secrets: string[] = []
  if (config.credentials) secrets.push(config.credentials.password)
  const proxy = config.proxy.url
  if (proxy?.password) {
    secrets.push(proxy.password)
    try {
      secrets.push(decodeURIComponent(proxy.password))
    } catch {
      // Percent-encoding is checked when the proxy is read; the raw form is registered anyway.
    }
  }
  return secrets
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
      ? `all ${images.length} image${images.length === 1 ? '' : 's'} can be pulled`
      : 'no images were listed to check',
  )
  return parts.join(', ')
}

/** Whether two endpoints name the same token service: the same realm and the same service. */
function sameTokenService(a: Endpoint, b: Endpoint): boolean {
  return (
    a.realm !== undefined &&
    b.realm !== undefined &&
    safeHref(a.realm) === safeHref(b.realm) &&
    a.service === b.service
  )
}

/** What /v2/ says about how to authenticate, or why its answer is not a registry's. */
function readEndpoint(answer: Answer): Endpoint | Finding {
  const host = answer.url.host
  if (answer.status === 200) {
    if (!isRegistryAnswer(answer)) return htmlFinding('registry', host, 200)
    return { scheme: 'none' }
  }
  if (answer.status === 401) {
    const parsed = parseChallenges(answer.headersDistinct['www-authenticate'] ?? [])
    const bearer = bearerChallenge(parsed)
    if (bearer) {
      let realm: URL
      try {
        realm = new URL(bearer.params.realm)
      } catch {
        return {
          code: 'unexpected-response',
          detail: `${host} announced a token realm that is not a URL`,
        }
      }
      return { scheme: 'bearer', realm, service: bearer.params.service }
    }
    if (parsed.challenges.some((c) => c.scheme === 'basic')) return { scheme: 'basic' }
    if (looksLikeHtml(answer) && !isRegistryAnswer(answer))
      return htmlFinding('registry', host, 401)
    return {
      code: 'unexpected-response',
      detail: parsed.malformed
        ? `${host} answered 401 with a WWW-Authenticate header that cannot be parsed (expected Bearer realm="…",service="…")`
        : `${host} answered 401 without a challenge this action can read (WWW-Authenticate: Bearer realm=…)`,
    }
  }
  return (
    statusFinding(answer, 'registry', host, undefined) ?? {
      code: 'unexpected-response',
      detail: `${host} answered HTTP ${answer.status} to GET /v2/, which a registry does not`,
    }
  )
}

/** The Bearer challenge of a 401, as an endpoint to get a token from. */
function challengedEndpoint(answer: Answer): Endpoint | undefined {
  const endpoint = readEndpoint(answer)
  return 'scheme' in endpoint && endpoint.scheme === 'bearer' ? endpoint : undefined
}

/** Statuses that mean the same wherever they come from: 429, 5xx, and HTML where JSON was due. */
function statusFinding(
  answer: Answer,
  role: string,
  host: string,
  retryNote: string | undefined,
): Finding | undefined {
  const status = answer.status
  const tail = retryNote ? `; ${retryNote}` : ''
  if (status === 429)
    return {
      code: 'rate-limited',
      detail: `the ${role} ${host} is rate-limiting requests (HTTP 429)${tail}`,
    }
  if (status === 511) return htmlFinding(role, host, status)
  if (status >= 500)
    return { code: 'registry-error', detail: `the ${role} ${host} answered HTTP ${status}${tail}` }
  if (status >= 200 && status < 300) return undefined
  if (looksLikeHtml(answer) && !isRegistryAnswer(answer) && ![401, 403].includes(status)) {
    return htmlFinding(role, host, status)
  }
  return undefined
}

function htmlFinding(role: string, host: string, status: number): Finding {
  return {
    code: 'unexpected-response',
    detail: `an HTML page (HTTP ${status}) answered where the ${role} ${host} was expected`,
  }
}

function networkFinding(error: TransportError, role: string, host: string): Finding {
  const where = `the ${role} ${host}`
  switch (error.kind) {
    case 'dns':
      return { code: 'dns-error', detail: `${where} could not be found: ${error.detail}` }
    case 'refused':
      return {
        code: 'connection-failed',
        detail: `${where} refused the connection (${error.detail})`,
      }
    case 'reset':
      return {
        code: 'connection-failed',
        detail: `the connection to ${where} was cut (${error.detail})`,
      }
    case 'unreachable':
      return { code: 'connection-failed', detail: `${where} is unreachable (${error.detail})` }
    case 'timeout':
      return { code: 'timeout', detail: `${where} did not answer: ${error.detail}` }
    case 'tls':
      return {
        code: 'tls-error',
        detail: `the certificate of ${where} did not verify${error.throughProxy ? ' through the proxy' : ''}: ${error.detail}`,
      }
    case 'proxy-unreachable':
    case 'proxy-timeout':
    case 'proxy-refused':
      return { code: 'proxy-error', detail: `on the way to ${where}, ${error.detail}` }
    case 'proxy-auth':
      return { code: 'proxy-auth-required', detail: `on the way to ${where}, ${error.detail}` }
    case 'bad-answer':
      return { code: 'unexpected-response', detail: `${where} sent ${error.detail}` }
    case 'policy':
      return {
        code: 'unexpected-response',
        detail: `a request to ${where} was stopped: ${error.detail}`,
      }
  }
}

/** A realm that credentials must not be sent to, whatever the registry says. */
function realmRefusal(realm: URL): string | undefined {
  if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && isLoopback(realm.hostname))) {
    return `the token realm ${safeHref(realm)} is not https, and credentials are never sent over plain http`
  }
  if (isLinkLocal(realm.hostname)) {
    return `the token realm ${safeHref(realm)} points at a link-local address, where no token service lives`
  }
  return undefined
}

function looksLikeHtml(answer: Answer): boolean {
  const type = firstHeader(answer.headers['content-type'])?.toLowerCase() ?? ''
  if (type.includes('html')) return true
  return /^\s*<(!doctype|html)/i.test(answer.body.subarray(0, 256).toString('utf8'))
}

/** A registry says who it is in a header, or answers in JSON. */
function isRegistryAnswer(answer: Answer): boolean {
  if (answer.headers['docker-distribution-api-version']) return true
  if (answer.body.length === 0) return !looksLikeHtml(answer)
  return parseJson(answer.body) !== undefined
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

function dateHeader(answer: Answer): Date | undefined {
  const value = firstHeader(answer.headers.date)
  const date = value ? new Date(value) : undefined
  return date && !Number.isNaN(date.getTime()) ? date : undefined
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

function skippedImage(image: ImageRef, anonymous: boolean): ImageCheck {
  return { ...imageBase(image, anonymous), outcome: 'skipped' }
}

function fail(check: Check, finding: Finding): void {
  check.outcome = 'failed'
  check.finding = finding
}

function safeHref(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

/** Runs at most `size` tasks at once; the others wait for a place, first come, first served. */
class Limiter {
  private running = 0
  private readonly queue: (() => void)[] = []

  constructor(private readonly size: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running < this.size) this.running++
    // The task that finishes hands its place straight to the first in the queue.
    else await new Promise<void>((resolve) => this.queue.push(resolve))
    try {
      return await task()
    } finally {
      const next = this.queue.shift()
      if (next) next()
      else this.running--
    }
  }
}
