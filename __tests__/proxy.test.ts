import {
  InvalidProxy,
  isLinkLocal,
  isLoopback,
  noProxyMatches,
  redactProxy,
  resolveProxySettings,
  routeFor,
  type ProxySettings,
} from '../src/proxy.js'

const REGISTRY = new URL('https://registry.redhat.io/v2/')

function settings(env: NodeJS.ProcessEnv, input = ''): ProxySettings {
  return resolveProxySettings(input, env)
}

describe('resolveProxySettings', () => {
  test('no input and no environment: no proxy', () => {
    const s = settings({})
    expect(s.url).toBeUndefined()
    expect(s.source).toBe('none')
    expect(s.schemeAssumed).toBe(false)
    expect(s.noProxy).toEqual([])
    expect(s.noProxySource).toBeUndefined()
  })

  test('the input wins over the environment', () => {
    const s = settings(
      { https_proxy: 'http://env-lower:1', HTTPS_PROXY: 'http://env-upper:2' },
      'http://from-input:3128',
    )
    expect(s.source).toBe('input')
    expect(s.url?.hostname).toBe('from-input')
  })

  test('a blank input falls back to the environment', () => {
    const s = settings({ HTTPS_PROXY: 'http://env-upper:2' }, '   ')
    expect(s.source).toBe('HTTPS_PROXY')
    expect(s.url?.hostname).toBe('env-upper')
  })

  // Go's order: docker, podman and skopeo, whose pulls the verdict predicts, are Go programs.
  test('HTTPS_PROXY wins over https_proxy', () => {
    const s = settings({ https_proxy: 'http://lower:1', HTTPS_PROXY: 'http://upper:2' })
    expect(s.source).toBe('HTTPS_PROXY')
    expect(s.url?.hostname).toBe('upper')
  })

  test('https_proxy is used when HTTPS_PROXY is unset', () => {
    const s = settings({ https_proxy: 'http://lower:1' })
    expect(s.source).toBe('https_proxy')
    expect(s.url?.port).toBe('1')
  })

  test('a value without a scheme (proxy.corp:3128) means http:// and says so', () => {
    const s = settings({}, 'proxy.corp:3128')
    expect(s.schemeAssumed).toBe(true)
    expect(s.url?.href).toBe('http://proxy.corp:3128/')
    expect(s.url?.protocol).toBe('http:')
  })

  test('a value with a scheme is not marked schemeAssumed', () => {
    const s = settings({}, 'https://proxy.corp:8443')
    expect(s.schemeAssumed).toBe(false)
    expect(s.url?.protocol).toBe('https:')
  })

  test.each([
    ['a socks5 proxy', 'socks5://x'],
    ['a socks5 proxy with credentials', 'socks5://user:Pr0xyS3cret@x:1080'],
    ['garbage with spaces', 'not a proxy at all'],
    ['a port with no host', 'http://:3128'],
    ['an unclosed IPv6 bracket', 'http://[fd00::1:3128'],
  ])('%s throws InvalidProxy whose message does not contain the value', (_shape, value) => {
    let caught: unknown
    try {
      settings({}, value)
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(InvalidProxy)
    const message = (caught as Error).message
    expect(message).not.toContain(value)
    expect(message).not.toContain('Pr0xyS3cret')
  })

  test('credentials stay in url but redactProxy prints none', () => {
    const s = settings({}, 'http://user:p%40ss@proxy:3128')
    expect(s.url?.username).toBe('user')
    expect(s.url?.password).toBe('p%40ss')
    const shown = redactProxy(s.url as URL)
    expect(shown).toBe('http://proxy:3128')
    expect(shown).not.toContain('user')
    expect(shown).not.toContain('p%40ss')
    expect(shown).not.toContain('p@ss')
  })

  test('redactProxy of a proxy without a port prints no port', () => {
    expect(redactProxy(new URL('https://u:pw@proxy.corp'))).toBe('https://proxy.corp')
  })

  test('no_proxy is split on commas and white space and lower-cased', () => {
    const s = settings({ no_proxy: ' Example.com, .corp.local ,10.0.0.0/8\tfd00::/8 ' })
    expect(s.noProxy).toEqual(['example.com', '.corp.local', '10.0.0.0/8', 'fd00::/8'])
    expect(s.noProxySource).toBe('no_proxy')
  })

  test('NO_PROXY is used when no_proxy is unset', () => {
    const s = settings({ NO_PROXY: 'internal.example' })
    expect(s.noProxy).toEqual(['internal.example'])
    expect(s.noProxySource).toBe('NO_PROXY')
  })

  test('NO_PROXY wins over no_proxy', () => {
    const s = settings({ no_proxy: 'lower.example', NO_PROXY: 'upper.example' })
    expect(s.noProxy).toEqual(['upper.example'])
    expect(s.noProxySource).toBe('NO_PROXY')
  })

  test('no_proxy is read even when no proxy is configured', () => {
    const s = settings({ no_proxy: 'example.com' })
    expect(s.source).toBe('none')
    expect(s.noProxy).toEqual(['example.com'])
  })
})

describe('noProxyMatches', () => {
  test('* matches every host', () => {
    expect(noProxyMatches('*', 'registry.redhat.io', '443')).toBe(true)
    expect(noProxyMatches('*', '10.1.2.3', '443')).toBe(true)
  })

  test('example.com matches itself and its subdomains, not look-alikes', () => {
    expect(noProxyMatches('example.com', 'example.com', '443')).toBe(true)
    expect(noProxyMatches('example.com', 'reg.example.com', '443')).toBe(true)
    expect(noProxyMatches('example.com', 'a.b.example.com', '443')).toBe(true)
    expect(noProxyMatches('example.com', 'notexample.com', '443')).toBe(false)
    expect(noProxyMatches('example.com', 'example.com.evil.net', '443')).toBe(false)
  })

  test('.example.com matches the domain and its subdomains', () => {
    expect(noProxyMatches('.example.com', 'reg.example.com', '443')).toBe(true)
    expect(noProxyMatches('.example.com', 'example.com', '443')).toBe(true)
    expect(noProxyMatches('.example.com', 'notexample.com', '443')).toBe(false)
  })

  test('*.example.com matches the domain and its subdomains', () => {
    expect(noProxyMatches('*.example.com', 'reg.example.com', '443')).toBe(true)
    expect(noProxyMatches('*.example.com', 'example.com', '443')).toBe(true)
    expect(noProxyMatches('*.example.com', 'notexample.com', '443')).toBe(false)
  })

  test('host:port matches only that port', () => {
    expect(noProxyMatches('registry.local:5000', 'registry.local', '5000')).toBe(true)
    expect(noProxyMatches('registry.local:5000', 'registry.local', '443')).toBe(false)
  })

  test('the host is compared case-insensitively', () => {
    expect(noProxyMatches('example.com', 'REG.Example.COM', '443')).toBe(true)
  })

  test('an IPv4 CIDR (10.0.0.0/8) matches addresses inside it only', () => {
    expect(noProxyMatches('10.0.0.0/8', '10.20.30.40', '443')).toBe(true)
    expect(noProxyMatches('10.0.0.0/8', '11.0.0.1', '443')).toBe(false)
    expect(noProxyMatches('10.0.0.0/8', 'ten.example', '443')).toBe(false)
  })

  test('an IPv6 CIDR (fd00::/8) matches addresses inside it only, brackets or not', () => {
    expect(noProxyMatches('fd00::/8', 'fd12:3456::1', '443')).toBe(true)
    expect(noProxyMatches('fd00::/8', '[fd12:3456::1]', '443')).toBe(true)
    expect(noProxyMatches('fd00::/8', 'fe80::1', '443')).toBe(false)
    expect(noProxyMatches('fd00::/8', '10.0.0.1', '443')).toBe(false)
  })

  test('a CIDR with a bad prefix length matches nothing', () => {
    expect(noProxyMatches('10.0.0.0/33', '10.0.0.1', '443')).toBe(false)
    expect(noProxyMatches('10.0.0.0/x', '10.0.0.1', '443')).toBe(false)
  })

  test('an exact IPv4 address matches only itself, never as a suffix', () => {
    expect(noProxyMatches('10.1.2.3', '10.1.2.3', '443')).toBe(true)
    expect(noProxyMatches('10.1.2.3', '10.1.2.4', '443')).toBe(false)
    expect(noProxyMatches('2.3', '10.1.2.3', '443')).toBe(false)
  })

  test('an exact IPv6 address matches itself, bracketed or not, and with a port', () => {
    expect(noProxyMatches('fd00::5', '[fd00::5]', '443')).toBe(true)
    expect(noProxyMatches('[fd00::5]', 'fd00::5', '443')).toBe(true)
    expect(noProxyMatches('[fd00::5]:443', '[fd00::5]', '443')).toBe(true)
    expect(noProxyMatches('[fd00::5]:443', '[fd00::5]', '8443')).toBe(false)
  })
})

describe('routeFor', () => {
  const proxied = (env: NodeJS.ProcessEnv): ProxySettings =>
    settings({ https_proxy: 'http://proxy.corp:3128', ...env })

  test('without a proxy every request is direct', () => {
    expect(routeFor(REGISTRY, settings({}))).toEqual({
      via: 'direct',
      reason: 'no proxy is configured',
    })
  })

  test('with a proxy and no matching no_proxy the request goes through the proxy, naming its source', () => {
    const route = routeFor(REGISTRY, proxied({}))
    expect(route.via).toBe('proxy')
    expect(route.reason).toContain('https_proxy')
  })

  test('a proxy from the input is named as the input', () => {
    const route = routeFor(REGISTRY, settings({}, 'http://proxy.corp:3128'))
    expect(route).toEqual({ via: 'proxy', reason: 'proxy from the proxy input' })
  })

  test('the reason names the matching no_proxy entry', () => {
    const route = routeFor(REGISTRY, proxied({ no_proxy: 'other.example, .redhat.io' }))
    expect(route.via).toBe('direct')
    expect(route.reason).toContain("'.redhat.io'")
    expect(route.reason).toContain('no_proxy')
  })

  test('the reason names NO_PROXY when that is where the entry came from', () => {
    const route = routeFor(REGISTRY, proxied({ NO_PROXY: 'registry.redhat.io' }))
    expect(route.via).toBe('direct')
    expect(route.reason).toBe("NO_PROXY entry 'registry.redhat.io'")
  })

  test('host:port uses 443 as the default port of an https URL', () => {
    expect(routeFor(REGISTRY, proxied({ no_proxy: 'registry.redhat.io:443' })).via).toBe('direct')
    expect(routeFor(REGISTRY, proxied({ no_proxy: 'registry.redhat.io:80' })).via).toBe('proxy')
  })

  test('host:port uses 80 as the default port of an http URL', () => {
    const url = new URL('http://mirror.local/v2/')
    expect(routeFor(url, proxied({ no_proxy: 'mirror.local:80' })).via).toBe('direct')
  })

  test('an explicit port in the URL is compared with the entry', () => {
    const url = new URL('https://registry.local:5000/v2/')
    expect(routeFor(url, proxied({ no_proxy: 'registry.local:5000' })).via).toBe('direct')
    expect(routeFor(url, proxied({ no_proxy: 'registry.local:443' })).via).toBe('proxy')
  })

  test('an IPv6 URL inside a no_proxy CIDR is direct', () => {
    const url = new URL('https://[fd00::10]:5000/v2/')
    const route = routeFor(url, proxied({ no_proxy: 'fd00::/8' }))
    expect(route).toEqual({ via: 'direct', reason: "no_proxy entry 'fd00::/8'" })
  })

  test('an IPv4 URL inside a no_proxy CIDR is direct', () => {
    const url = new URL('https://10.9.8.7/v2/')
    expect(routeFor(url, proxied({ no_proxy: '10.0.0.0/8' })).via).toBe('direct')
  })

  test.each([
    ['127.0.0.1', 'https://127.0.0.1:5000/v2/'],
    ['localhost', 'http://localhost:8080/auth'],
    ['[::1]', 'https://[::1]:5000/v2/'],
  ])('loopback %s is always direct, with the reason the report shows', (_host, href) => {
    expect(routeFor(new URL(href), proxied({}))).toEqual({
      via: 'direct',
      reason: 'loopback is never proxied',
    })
  })
})

describe('isLoopback', () => {
  test.each(['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', 'app.localhost', '::1', '[::1]'])(
    '%s is loopback',
    (host) => {
      expect(isLoopback(host)).toBe(true)
    },
  )

  test.each(['10.0.0.1', 'registry.redhat.io', '::2', 'localhost.example.com'])(
    '%s is not loopback',
    (host) => {
      expect(isLoopback(host)).toBe(false)
    },
  )

  test('a DNS name that merely starts with 127. is not loopback', () => {
    expect(isLoopback('127.attacker.example')).toBe(false)
    expect(isLoopback(new URL('http://127.attacker.example/auth').hostname)).toBe(false)
  })
})

describe('isLinkLocal', () => {
  test('169.254.169.254 (the cloud metadata address) is link-local', () => {
    expect(isLinkLocal('169.254.169.254')).toBe(true)
  })

  test('fe80::1 is link-local, bracketed or not', () => {
    expect(isLinkLocal('fe80::1')).toBe(true)
    expect(isLinkLocal('[fe80::1]')).toBe(true)
    expect(isLinkLocal('FEBF::1')).toBe(true)
  })

  test('10.0.0.1, fec0::1 and a host name are not link-local', () => {
    expect(isLinkLocal('10.0.0.1')).toBe(false)
    expect(isLinkLocal('fec0::1')).toBe(false)
    expect(isLinkLocal('169.254.example.com')).toBe(false)
  })

  test('the IPv4-mapped form ::ffff:169.254.169.254 is link-local as written', () => {
    expect(isLinkLocal('::ffff:169.254.169.254')).toBe(true)
  })

  test('the IPv4-mapped metadata address as a URL hostname is link-local', () => {
    const hostname = new URL('https://[::ffff:169.254.169.254]/').hostname
    expect(hostname).toBe('[::ffff:a9fe:a9fe]')
    expect(isLinkLocal(hostname)).toBe(true)
  })
})
