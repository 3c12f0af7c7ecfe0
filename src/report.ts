/** The typed report the core returns: everything the outputs, summary and annotations show. */
import type { Hop, ResultCode } from './codes.js'
import type { ProxySource, Route } from './proxy.js'

export type Outcome = 'passed' | 'failed' | 'skipped'

/** A failure, as data: which code, and a sentence fragment that says what happened. */
export interface Finding {
  code: ResultCode
  /** What happened, safe to print (no secret can be in it). */
  detail: string
}

export interface Check {
  /** `blob`: the layer path, one per registry, from one image to its config blob. */
  id: 'ping' | 'token' | 'registry' | 'blob'
  /** The registry whose pull this check is part of (its token service or blob host included). */
  registry: string
  title: string
  hop: Hop
  /** The host that answered or failed: for a blob host, `host:port`. */
  host: string
  /** `GET /v2/`, with the path only: queries and headers stay out of the report. */
  request: string
  outcome: Outcome
  status?: number
  ms?: number
  attempts?: number
  finding?: Finding
  via?: Route['via']
  /** The failure happened at the proxy, not at `host`. */
  atProxy?: boolean
}

/** Docker Hub's `ratelimit-*` headers: what a user gating a pipeline wants to know. */
export interface RateLimit {
  limit?: number
  remaining?: number
  /** The window the limit counts over (`;w=21600` is six hours). */
  windowSeconds?: number
  /** Who the pulls are counted for (`docker-ratelimit-source`: an IP address or an account). */
  source?: string
}

export interface ImageCheck {
  /** As written in the `images` input. */
  image: string
  /** host/repository:tag@digest */
  name: string
  registry: string
  repository: string
  reference: string
  /** Checked without credentials: on another registry, or with none given. */
  anonymous: boolean
  outcome: Outcome
  status?: number
  ms?: number
  digest?: string
  /** What the manifest GET found (a HEAD does not say). */
  kind?: 'index' | 'manifest'
  /** The platforms an index holds, as it writes them. */
  platforms?: string[]
  /** The platform an index's entry was matched for. */
  platform?: string
  finding?: Finding
  /** The registry's own words when it refused the image. */
  registryMessage?: string
  rateLimit?: RateLimit
}

export interface Report {
  registry: string
  pullReady: boolean
  result: ResultCode
  message: string
  /** The hop that decided `result` and its host, when something failed. */
  failedHop?: Hop
  failedHost?: string
  checks: Check[]
  images: ImageCheck[]
  /** One verdict per registry in play, the configured one first. */
  registries: RegistryVerdict[]
  /** The auth files looked at (the `auth-file` input), when credentials were to come from them. */
  authFiles?: string[]
  ssoStatus?: number
  registryStatus?: number
  tokenExpiresIn?: number
  auth: {
    /** How the registry wants to be spoken to, as its /v2/ said. */
    scheme: 'bearer' | 'basic' | 'none' | 'unknown'
    credentials: 'given' | 'anonymous' | 'incomplete'
    realm?: string
    realmSource?: 'challenge' | 'auth-url' | 'known'
    discoveredRealm?: string
  }
  proxy: {
    url?: string
    source: ProxySource
    schemeAssumed: boolean
    noProxy: string[]
    noProxySource?: string
  }
  /** The platforms every image must offer, and where that came from; `any` when not checked. */
  platforms: 'any' | { wanted: string[]; source: string }
  /** Every `host:port` the pulls need, in the order first used: what an allow-list must hold. */
  hosts: string[]
  routes: { host: string; via: Route['via']; reason: string }[]
  /** Things worth knowing that do not fail the run (auth-url differs, clock skew, …). */
  notes: string[]
  /** What was not checked, and why (the layer path on Docker Hub, …). */
  info: string[]
  durationMs: number
}

/** A registry's own verdict, and where the credentials it was given came from. */
export interface RegistryVerdict {
  registry: string
  pullReady: boolean
  result: ResultCode
  /** What failed first there, when something did. */
  detail?: string
  credentials:
    | { from: 'none' }
    | { from: 'inputs' }
    | { from: 'file'; file: string; key: string }
    | { from: 'helper'; file: string; helper: string }
}

/** The report of a run that stopped at its inputs: nothing was sent anywhere. */
export function invalidInputReport(message: string, registry: string): Report {
  return {
    registry,
    pullReady: false,
    result: 'invalid-input',
    message,
    checks: [],
    images: [],
    registries: [],
    auth: { scheme: 'unknown', credentials: 'anonymous' },
    proxy: { source: 'none', schemeAssumed: false, noProxy: [] },
    platforms: 'any',
    hosts: [],
    routes: [],
    notes: [],
    info: [],
    durationMs: 0,
  }
}
