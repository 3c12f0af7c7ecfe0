/**
 * What every hop of a run shares: the configuration, the one HTTP layer and the limiter in front
 * of it, the secrets met so far, and the record of which hosts were used and how they were reached.
 * The hop modules (endpoint, tokens, images, blobs) sit above this one and never import each
 * other's callers; the sequencer (preflight.ts) sits on top.
 */
import { Transport, hostPort, type Exchange, type HttpRequest } from '../http.js'
import type { Platform } from '../platform.js'
import type { ProxySettings, Route } from '../proxy.js'
import type { ImageRef } from '../reference.js'
import type { Finding } from '../report.js'
import { Scrubber } from '../text.js'
import type { AuthFiles, HelperAnswer, Resolved } from './credentials.js'
import { resolveCredentials } from './credentials.js'
import type { RefusalContext } from './findings.js'
import { Limiter } from './limiter.js'

export interface Credentials {
  username: string
  password: string
}

/**
 * Which platforms every image must offer: `any` skips the check; otherwise a list, from the
 * `platform` input (`explicit`, checked on every registry) or the host's own (checked where the
 * layer path is).
 */
export type PlatformPolicy =
  { kind: 'any' } | { kind: 'list'; platforms: Platform[]; explicit: boolean; source: string }

/** `auto`: the layer path everywhere but Docker Hub, where a manifest GET counts as a pull. */
export type LayersMode = 'auto' | 'true' | 'false'

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
  platforms: PlatformPolicy
  layers: LayersMode
  /** The files a puller reads credentials from (the `auth-file` input), when given. */
  authFiles?: AuthFiles
  /**
   * Registries to check besides the configured one and the images': with an auth file and no
   * images, every registry the file names.
   */
  extraRegistries?: string[]
  /** Hosts an auth file names that are not registries (cloud.openshift.com): never sent anything. */
  skippedRegistries?: string[]
}

export interface PreflightDeps {
  /** Called with every secret the core derives (Basic header, tokens) the moment it exists. */
  onSecret: (value: string) => void
  debug: (message: string) => void
  sleep: (ms: number) => Promise<void>
  now: () => number
  userAgent: string
  /** How many requests may be in flight at once (tokens, manifests and blobs together). */
  concurrency: number
}

/** What to present to a registry for a repository, or why there is nothing to present. */
export interface Auth {
  header?: string
  finding?: Finding
  status?: number
}

/** What a request to the registry carried. */
export type Presented = 'token' | 'basic' | 'nothing'

export function presented(header: string | undefined): Presented {
  return header?.startsWith('Bearer ') ? 'token' : header ? 'basic' : 'nothing'
}

export interface SendOptions {
  /** Retries for this request; the configured number unless given. */
  retries?: number
  /** The secrets an answer carries, masked before the first line about that answer is written. */
  secretsIn?: (body: Buffer) => string[]
  /**
   * A request sent ahead of knowing it is needed (the early token request): its hosts count as
   * used only once `adopt()` says so.
   */
  speculative?: boolean
  /** Ahead of the queue: the layer path's hops, which the end of the run waits for. */
  urgent?: boolean
}

export type RouteRecord = { host: string; via: Route['via']; reason: string }

export class RunContext {
  readonly transport: Transport
  readonly deps: PreflightDeps
  readonly started: number
  /** Things worth knowing that do not fail the run; shown as warnings. */
  readonly notes: string[] = []
  /** What was left unchecked and why; shown with the details, not as a warning. */
  readonly info: string[] = []
  readonly routes: RouteRecord[] = []
  private readonly hostsUsed: string[] = []
  /** Each credential helper is asked once per server, whichever registry run asks first. */
  private readonly helperAnswers = new Map<string, Promise<HelperAnswer>>()
  private readonly limiter: Limiter
  /** Every secret of the run, cut from whatever a server sent before the report holds it. */
  readonly scrubber = new Scrubber()
  private maxSkewMs = 0

  constructor(
    readonly config: PreflightConfig,
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
    this.limiter = new Limiter(deps.concurrency)
    this.transport = new Transport({
      timeoutMs: config.timeoutMs,
      retries: config.retries,
      proxy: config.proxy,
      userAgent: deps.userAgent,
      sleep: deps.sleep,
      now: deps.now,
      debug: deps.debug,
    })
  }

  /** Every `host:port` the pulls need, in the order first used. */
  get hosts(): string[] {
    return [...this.hostsUsed]
  }

  get clockSkewMs(): number {
    return this.maxSkewMs
  }

  /** One request through the limiter and the transport, logged, its hosts recorded. */
  async send(request: HttpRequest, options: SendOptions = {}): Promise<Exchange> {
    if (!options.speculative) this.use(request.url)
    const exchange = await this.limiter.run(
      () => this.transport.send(request, options.retries ?? this.config.retries),
      options.urgent,
    )
    if (exchange.answer && options.secretsIn)
      for (const secret of options.secretsIn(exchange.answer.body)) this.deps.onSecret(secret)
    if (!options.speculative) this.adopt(exchange)
    const outcome = exchange.answer ? `HTTP ${exchange.answer.status}` : exchange.error?.kind
    const where =
      exchange.url.host === request.url.host ? '' : ` (last answer from ${exchange.url.host})`
    this.deps.debug(
      `${request.method} ${request.url.host}${request.url.pathname}: ${outcome}${where} in ${exchange.ms} ms (${exchange.attempts} attempt${exchange.attempts === 1 ? '' : 's'})`,
    )
    if (exchange.answer) this.noteSkew(dateHeader(exchange.answer.headers.date))
    return exchange
  }

  helperAnswer(
    helper: string,
    server: string,
    ask: () => Promise<HelperAnswer>,
  ): Promise<HelperAnswer> {
    const key = `${helper}\n${server}`
    let answer = this.helperAnswers.get(key)
    if (!answer) {
      answer = ask()
      this.helperAnswers.set(key, answer)
    }
    return answer
  }

  /** Counts the hosts of an exchange as used (a speculative one, once it turns out to be needed). */
  adopt(exchange: Exchange): void {
    for (const url of exchange.hops) this.use(url)
  }

  noteSkew(serverTime: Date | undefined): void {
    if (!serverTime) return
    const skew = Math.abs(this.deps.now() - serverTime.getTime())
    if (skew > this.maxSkewMs) this.maxSkewMs = skew
  }

  close(): void {
    this.transport.close()
  }

  private use(url: URL): void {
    const target = hostPort(url)
    if (this.hostsUsed.includes(target)) return
    this.hostsUsed.push(target)
    const route = this.transport.route(url)
    if (!this.routes.some((r) => r.host === url.host))
      this.routes.push({ host: url.host, via: route.via, reason: route.reason })
  }
}

/** The secrets a run starts with: the password, and the proxy's password, as given and decoded. */
function configSecrets(config: PreflightConfig): string[] {
  const secrets: string[] = []
  if (config.credentials) secrets.push(config.credentials.password)
  for (const file of config.authFiles?.files ?? [])
    for (const entry of file.entries.values()) {
      if (entry.password) secrets.push(entry.password)
      if (entry.identityToken) secrets.push(entry.identityToken)
    }
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

export function dateHeader(value: string | string[] | undefined): Date | undefined {
  const text = Array.isArray(value) ? value[0] : value
  const date = text ? new Date(text) : undefined
  return date && !Number.isNaN(date.getTime()) ? date : undefined
}

/** What the report says about how the configured registry wants credentials. */
export interface AuthFacts {
  scheme: 'bearer' | 'basic' | 'none' | 'unknown'
  credentials: 'given' | 'anonymous' | 'incomplete'
  realm?: string
  realmSource?: 'challenge' | 'auth-url' | 'known'
  discoveredRealm?: string
}

/**
 * One registry's part of a run: its name, the credentials it gets (only the configured registry
 * gets any), what to check there, and the tokens fetched for its repositories.
 */
export class RegistryScope {
  /** Tokens per repository, fetched once and shared by all its tags. */
  readonly tokens = new Map<string, Promise<Auth>>()
  /** The statuses the outputs report, for the configured registry. */
  readonly facts: {
    ssoStatus?: number
    registryStatus?: number
    tokenExpiresIn?: number
    auth: AuthFacts
  }
  /** Follow an image to its config blob, through the registry's redirect. */
  readonly layers: boolean
  /** The platforms every image must offer here; undefined when not checked here. */
  readonly platforms?: Platform[]
  /** Credentials per repository ('' for the registry itself), resolved by prepare(). */
  private readonly resolved = new Map<string, Resolved>()

  constructor(
    readonly ctx: RunContext,
    readonly registry: string,
    readonly dockerHub: boolean,
  ) {
    const { config } = ctx
    this.facts = {
      auth: {
        scheme: 'unknown',
        credentials:
          this.isPrimary && config.credentials
            ? 'given'
            : this.isPrimary && config.missing
              ? 'incomplete'
              : 'anonymous',
      },
    }
    const policy = config.platforms
    const explicit = policy.kind === 'list' && policy.explicit
    // On Docker Hub a manifest GET counts as a pull; once an explicit platform has paid for one,
    // following the image to its layers costs no more (blob downloads are not counted).
    this.layers = config.layers === 'true' || (config.layers === 'auto' && (!dockerHub || explicit))
    if (policy.kind === 'list' && (explicit || this.layers)) this.platforms = policy.platforms
  }

  /** Resolves the credentials of the registry and of each repository before any request. */
  async prepare(repositories: string[]): Promise<void> {
    const keys = ['', ...new Set(repositories)]
    const found = await Promise.all(
      keys.map((repo) => resolveCredentials(this.ctx, this.registry, repo || undefined)),
    )
    for (const [n, key] of keys.entries()) this.resolved.set(key, found[n])
    const own = this.credentials(repositories[0])
    if (own.basic || own.identityToken) this.facts.auth.credentials = 'given'
  }

  /** The credentials for a repository: its own scoped entry, else the registry's. */
  credentials(repository?: string): Resolved {
    return (
      (repository !== undefined ? this.resolved.get(repository) : undefined) ??
      this.resolved.get('') ?? { source: { kind: 'none' } }
    )
  }

  /** The registry the `registry` input names: the outputs' statuses are its. */
  get isPrimary(): boolean {
    return this.registry === this.ctx.config.registry
  }

  /** Whether any credentials go to this registry (from the inputs or an auth file). */
  get hasCredentials(): boolean {
    return [...this.resolved.values()].some((r) => r.basic || r.identityToken)
  }

  /** A manifest GET is needed to read an index's platforms or to follow an image to its layers. */
  get readsManifests(): boolean {
    return this.layers || this.platforms !== undefined
  }

  get refusalContext(): RefusalContext {
    return {
      primary: this.ctx.config.registry,
      credentialsGiven: this.hasCredentials || (this.isPrimary && !!this.ctx.config.credentials),
      authFiles: this.ctx.config.authFiles?.searched,
    }
  }
}
