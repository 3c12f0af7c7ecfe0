/**
 * Which proxy a request takes, decided the way curl and Go decide it rather than the way
 * @actions/http-client does: a value without a scheme means `http://` (the client ignores it),
 * and `no_proxy` also takes `*.domain` and CIDR ranges (the client does not).
 */
import { isIP } from 'node:net'

export type ProxySource = 'input' | 'https_proxy' | 'HTTPS_PROXY' | 'none'

export interface ProxySettings {
  /** The proxy, credentials included (never print it: use `redactProxy`). */
  url?: URL
  source: ProxySource
  /** The value had no scheme and `http://` was assumed. */
  schemeAssumed: boolean
  noProxy: string[]
  noProxySource?: 'no_proxy' | 'NO_PROXY'
}

export interface Route {
  via: 'direct' | 'proxy'
  reason: string
}

export class InvalidProxy extends Error {}

/**
 * Which proxy setting applies: the `proxy` input, else `HTTPS_PROXY`, else `https_proxy`. Upper
 * case first, as Go reads them: the tools that pull (docker, podman, skopeo) are Go. The route, the
 * mask and every message about the proxy use this one answer.
 */
export function chooseProxy(
  input: string,
  env: NodeJS.ProcessEnv,
): { source: ProxySource; value: string } {
  if (input.trim()) return { source: 'input', value: input.trim() }
  for (const name of ['HTTPS_PROXY', 'https_proxy'] as const) {
    const value = env[name]?.trim()
    if (value) return { source: name, value }
  }
  return { source: 'none', value: '' }
}

/** Reads the proxy from the `proxy` input, else from the environment, and `no_proxy` either way. */
export function resolveProxySettings(input: string, env: NodeJS.ProcessEnv): ProxySettings {
  const { source, value } = chooseProxy(input, env)

  const noProxyRaw = env.NO_PROXY ?? env.no_proxy
  const noProxySource =
    env.NO_PROXY !== undefined ? 'NO_PROXY' : env.no_proxy !== undefined ? 'no_proxy' : undefined
  const noProxy = (noProxyRaw ?? '')
    .split(/[\s,]+/)
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean)

  if (source === 'none') return { source, schemeAssumed: false, noProxy, noProxySource }
  const schemeAssumed = !/^[a-z][a-z0-9+.-]*:\/\//i.test(value)
  let url: URL
  try {
    url = new URL(schemeAssumed ? `http://${value}` : value)
  } catch {
    throw new InvalidProxy(`expected a URL such as http://proxy.example.com:3128`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidProxy(`the scheme ${url.protocol}// is not supported; use http:// or https://`)
  }
  if (!url.hostname) throw new InvalidProxy('the proxy URL has no host')
  try {
    decodeURIComponent(url.username)
    decodeURIComponent(url.password)
  } catch {
    throw new InvalidProxy(
      'its user name or password is not percent-encoded correctly (a % must start %XX)',
    )
  }
  return { url, source, schemeAssumed, noProxy, noProxySource }
}

/** `http://host:port` of the proxy, without its credentials: the only form that may be printed. */
export function redactProxy(url: URL): string {
  const port = url.port ? `:${url.port}` : ''
  return `${url.protocol}//${url.hostname}${port}`
}

export function isLoopback(hostname: string): boolean {
  const host = stripBrackets(hostname).toLowerCase()
  if (isIP(host) === 4) return host.startsWith('127.')
  if (isIP(host) === 6) return host === '::1' || /^::ffff:(127\.|7f[0-9a-f]{2}:)/.test(host)
  return host === 'localhost' || host.endsWith('.localhost')
}

/** 169.254.0.0/16 and fe80::/10: cloud metadata services live there, and no registry does. */
export function isLinkLocal(hostname: string): boolean {
  const host = stripBrackets(hostname).toLowerCase()
  if (isIP(host) === 4) return host.startsWith('169.254.')
  // URL parsing writes an IPv4-mapped address in hex (`::ffff:a9fe:a9fe`).
  if (isIP(host) === 6)
    return /^fe[89ab][0-9a-f]:/.test(host) || /^::ffff:(169\.254\.|a9fe:)/.test(host)
  return false
}

export function stripBrackets(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname
}

export function routeFor(url: URL, settings: ProxySettings): Route {
  if (!settings.url) return { via: 'direct', reason: 'no proxy is configured' }
  if (isLoopback(url.hostname)) return { via: 'direct', reason: 'loopback is never proxied' }
  const port = url.port || (url.protocol === 'https:' ? '443' : '80')
  const entry = settings.noProxy.find((e) => noProxyMatches(e, url.hostname, port))
  if (entry !== undefined) {
    return { via: 'direct', reason: `${settings.noProxySource ?? 'no_proxy'} entry '${entry}'` }
  }
  const from = settings.source === 'input' ? 'the proxy input' : settings.source
  return { via: 'proxy', reason: `proxy from ${from}` }
}

/** One `no_proxy` entry against a host: `*`, `host`, `.suffix`, `*.suffix`, `host:port`, IP, CIDR. */
export function noProxyMatches(entry: string, hostname: string, port: string): boolean {
  const host = stripBrackets(hostname).toLowerCase()
  if (entry === '*') return true
  if (entry.includes('/')) return cidrContains(entry, host)
  if (entry.includes('%')) return false // an IPv6 zone id names no host we could reach

  let pattern = entry
  let entryPort: string | undefined
  const portMatch = /^(.*[^:]):(\d+)$/.exec(pattern)
  if (portMatch && !(isIP(pattern) === 6)) [, pattern, entryPort] = portMatch
  pattern = stripBrackets(pattern)
  if (entryPort !== undefined && entryPort !== port) return false
  if (pattern.startsWith('*.')) pattern = pattern.slice(1)
  if (pattern.startsWith('.')) return host === pattern.slice(1) || host.endsWith(pattern)
  return host === pattern || (isIP(host) === 0 && host.endsWith(`.${pattern}`))
}

function cidrContains(cidr: string, host: string): boolean {
  const [base, bitsText] = cidr.split('/')
  if (base.includes('%') || host.includes('%')) return false
  const bits = Number(bitsText)
  const family = isIP(base)
  if (family === 0 || family !== isIP(host) || !Number.isInteger(bits)) return false
  const a = ipToBigInt(base, family)
  const b = ipToBigInt(host, family)
  const width = family === 4 ? 32 : 128
  if (bits < 0 || bits > width) return false
  const shift = BigInt(width - bits)
  return a >> shift === b >> shift
}

function ipToBigInt(ip: string, family: number): bigint {
  if (family === 4) {
    return ip.split('.').reduce((acc, part) => (acc << 8n) + BigInt(Number(part)), 0n)
  }
  // Expand `::` and an embedded IPv4 tail into eight 16-bit groups.
  let text = ip
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (v4) {
    const n = ipToBigInt(v4[1], 4)
    text = text.slice(0, -v4[1].length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined]
  const headGroups = head ? head.split(':') : []
  const tailGroups = tail ? tail.split(':') : []
  const missing = 8 - headGroups.length - tailGroups.length
  const groups = [
    ...headGroups,
    ...Array<string>(tail === undefined ? 0 : missing).fill('0'),
    ...tailGroups,
  ]
  return groups.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g || '0', 16)), 0n)
}
