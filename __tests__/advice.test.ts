/**
 * Which advice a failure gets: chosen by the registry's operator (Red Hat, Docker Hub, quay.io,
 * GHCR, anyone else) and by the evidence (how it failed, where, and the warnings that explain it).
 */
import { adviceContext, firstStep, howToFix } from '../src/advice.js'
import { familyOf, sentence } from '../src/evidence.js'
import type { Finding, Report } from '../src/report.js'
import {
  CDN,
  PROXY,
  RH,
  SERVICE_ACCOUNT_WARNING,
  check,
  failedImage,
  failing,
  net,
  passing,
  skippedImage,
  throughProxy,
  variants,
} from './support/reports.js'

/** The steps and the first step of a report, with the inputs' warnings. */
function advise(report: Report, warnings: string[] = []): { first: string; steps: string[] } {
  const ctx = adviceContext(report, warnings)
  return { first: firstStep(report.result, ctx), steps: howToFix(report.result, ctx) }
}

const variant = (prefix: string): Report =>
  variants().find((v) => v.name.startsWith(prefix))!.report

/** A run on `registry` whose token service (at `tokenHost`) refused with `finding`. */
function refusedToken(registry: string, tokenHost: string, finding: Finding): Report {
  const base = passing(1)
  return failing({
    ...base,
    registry,
    auth: { ...base.auth, realm: `https://${tokenHost}/token` },
    checks: [
      check('ping', { host: registry, registry }),
      check('token', { host: tokenHost, request: 'GET /token', status: 401, registry }, finding),
      check('registry', { host: registry, outcome: 'skipped', status: undefined, registry }),
    ],
    images: [skippedImage(0, { registry })],
  })
}

/** A run on `registry` that refused its one image with `finding`. */
function refusedImage(registry: string, finding: Finding, credentials = true): Report {
  const base = passing(1)
  return failing({
    ...base,
    registry,
    auth: { ...base.auth, credentials: credentials ? 'given' : 'anonymous', realm: undefined },
    checks: [
      check('ping', { host: registry, registry }),
      check('registry', { host: registry, registry }),
    ],
    images: [failedImage(0, finding, { registry, status: 401 })],
  })
}

describe('who runs the registry', () => {
  test.each([
    ['registry.redhat.io', 'redhat'],
    ['registry.access.redhat.com', 'redhat'],
    ['sso.redhat.com', 'redhat'],
    ['registry-1.docker.io', 'dockerhub'],
    ['auth.docker.io', 'dockerhub'],
    ['quay.io', 'quay'],
    ['cdn01.quay.io:443', 'quay'],
    ['ghcr.io', 'ghcr'],
    ['registry.corp.example:5000', 'other'],
    ['127.0.0.1:5000', 'other'],
  ])('%s: %s', (host, family) => {
    expect(familyOf(host)).toBe(family)
  })
})

describe('invalid-credentials, per registry', () => {
  const refused = (registry: string, tokenHost: string): Report =>
    refusedToken(registry, tokenHost, {
      code: 'invalid-credentials',
      detail: `the token service at ${tokenHost} refused the credentials (HTTP 401)`,
    })

  test('Red Hat: the service account name with its |, the Customer Portal, where to regenerate', () => {
    const { first, steps } = advise(refused(RH, RH))
    expect(first).toContain('`12345678|name`')
    expect(first).toContain('Customer Portal')
    expect(steps.join('\n')).toContain('https://access.redhat.com/terms-based-registry/')
  })

  test('Docker Hub: the Docker ID and a personal access token; no Red Hat words', () => {
    const { first, steps } = advise(refused('registry-1.docker.io', 'auth.docker.io'))
    expect(first).toMatch(/Docker ID .*personal access token/)
    expect(`${first}\n${steps.join('\n')}`).not.toMatch(/Customer Portal|service account|redhat/i)
  })

  test('quay.io: a robot account; GHCR: read:packages', () => {
    expect(advise(refused('quay.io', 'quay.io')).first).toContain('robot account')
    expect(advise(refused('ghcr.io', 'ghcr.io')).first).toContain('read:packages')
  })

  test('a private registry: its own name, nothing about Red Hat, Docker Hub or quay.io', () => {
    const { first, steps } = advise(refused('registry.corp.example', 'auth.corp.example'))
    const all = `${first}\n${steps.join('\n')}`
    expect(first).toContain('registry.corp.example')
    expect(all).not.toMatch(/Customer Portal|Docker Hub|quay\.io|GITHUB_TOKEN/)
  })

  test('a registry served on a loopback address with Red Hat’s realm is advised as Red Hat', () => {
    const r = refused('127.0.0.1:5000', '127.0.0.1:5000')
    r.auth.realm = 'https://127.0.0.1:5000/auth/realms/rhcc/protocol/redhat-docker-v2/auth'
    expect(advise(r).first).toContain('`12345678|name`')
  })

  test('a username without its | leads the fix; without warnings no step mentions them', () => {
    const r = refused(RH, RH)
    const warned = advise(r, [SERVICE_ACCOUNT_WARNING]).steps
    expect(warned[0]).toMatch(/^Write the username with its `\|`/)
    expect(warned.length).toBe(advise(r).steps.length + 1)
    expect(advise(r).steps.join('\n')).not.toMatch(/warning/i)
  })

  test('white space in the secret leads the fix', () => {
    const steps = advise(refused(RH, RH), [
      'The password input has white space at its start or end. It was trimmed.',
    ]).steps
    expect(steps[0]).toMatch(/^Fix the secret the warning above names/)
  })

  test('a warning about something else is not made the cause', () => {
    const steps = advise(refused(RH, RH), [
      'HTTPS_PROXY and https_proxy differ; HTTPS_PROXY is used.',
    ]).steps
    expect(steps.join('\n')).not.toMatch(/warning/i)
  })
})

describe('access-denied, per registry', () => {
  const denied = (registry: string): Report =>
    refusedImage(registry, {
      code: 'access-denied',
      detail: `${registry} refused the image ${registry}/acme/app:latest (HTTP 401) although the token service accepted the credentials`,
    })

  test('Docker Hub and quay.io: a missing repository looks the same', () => {
    for (const registry of ['registry-1.docker.io', 'quay.io']) {
      const { first, steps } = advise(denied(registry))
      expect(first).toContain('on Docker Hub and quay.io a missing repository looks the same')
      expect(steps.join('\n')).toContain('a repository that does not exist is refused the same way')
    }
  })

  test('Red Hat and a private registry: no word about Docker Hub and quay.io', () => {
    for (const registry of [RH, 'registry.corp.example']) {
      const { first, steps } = advise(denied(registry))
      expect(`${first}\n${steps.join('\n')}`).not.toMatch(/Docker Hub|quay\.io/)
    }
    expect(advise(denied(RH)).first).toContain('subscription')
  })

  test('GHCR: the package’s Actions access', () => {
    expect(advise(denied('ghcr.io')).steps.join('\n')).toContain('Manage Actions access')
  })

  test('registry.access.redhat.com: pull from registry.redhat.io instead', () => {
    const r = refusedImage(
      'registry.access.redhat.com',
      {
        code: 'access-denied',
        detail:
          'registry.access.redhat.com refused the image … (HTTP 403) although it asks for no credentials',
      },
      false,
    )
    expect(advise(r).first).toContain('registry: registry.redhat.io')
    expect(advise(r).steps.join('\n')).toContain('Pull the image from registry.redhat.io instead')
  })

  test('an image on another registry, asked anonymously: a second step for that registry', () => {
    const v = variant('100 images')
    // The image-not-found on Red Hat decides; the quay.io row is advised when it is the first.
    const quayOnly = failing({ ...v, images: v.images.filter((i) => i.registry === 'quay.io') })
    expect(advise(quayOnly).first).toBe(
      'add a second preflight step with `registry: quay.io` and that registry’s credentials',
    )
  })
})

describe('the network, by evidence', () => {
  test('a proxy whose own name does not resolve: check its host name, not CONNECT', () => {
    const { first, steps } = advise(variant('proxy-error: the proxy’s name'))
    expect(first).toBe(`check the proxy’s host name: ${PROXY} does not resolve on the runner`)
    expect(`${first}\n${steps.join('\n')}`).not.toMatch(/allow CONNECT/)
  })

  test('a tunnel refused: allow CONNECT to that host:port, and CONNECT is explained', () => {
    const { first, steps } = advise(variant('proxy-error: the tunnel'))
    expect(first).toMatch(/^allow CONNECT to `sso\.redhat\.com:443` on the proxy http:\/\/proxy/)
    expect(first).toContain('the request by which a proxy opens a tunnel')
    expect(steps[0]).toContain('with HTTP 403')
  })

  test('Docker Hub’s rate limit: log in when anonymous; wait or a bigger plan when logged in', () => {
    const limited = variant('rate-limited on Docker Hub')
    expect(advise(limited).first).toMatch(/^wait for Docker Hub’s limit to reset/)
    const anonymous = { ...limited, auth: { ...limited.auth, credentials: 'anonymous' as const } }
    expect(advise(anonymous).first).toMatch(/^log in to Docker Hub \(anonymous pulls are limited/)
  })

  test('a proxy that asks for a login: credentials in its URL', () => {
    expect(advise(variant('proxy-auth-required')).first).toMatch(
      /proxy’s credentials in the proxy URL/,
    )
  })

  test('a 2 s timeout: raise timeout first; a 30 s one: a firewall that drops packets', () => {
    expect(advise(variant('timeout of 2 s')).first).toMatch(/^raise `timeout` \(it is 2 s/)
    const slow = refusedToken(RH, RH, net.timeout('token service', RH, 30))
    expect(advise(slow).first).toMatch(/^a firewall that drops packets/)
  })

  test('an HTML page from the token service: curl -v targets the token service', () => {
    const { steps } = advise(variant('unexpected-response: an HTML page'))
    expect(steps.join('\n')).toContain(
      '`curl -v https://sso.redhat.com/auth/realms/rhcc/protocol/redhat-docker-v2/auth`',
    )
  })

  test('a realm over plain http is the registry’s configuration, not a captive portal', () => {
    const { first, steps } = advise(variant('unexpected-response: a realm'))
    expect(first).toContain('`auth-url`')
    expect(`${first}\n${steps.join('\n')}`).not.toMatch(/captive portal/)
  })

  test('TLS: the CA for this step and for docker pull after it', () => {
    const { first, steps } = advise(variant('tls-error'))
    expect(first).toContain('NODE_EXTRA_CA_CERTS')
    const all = steps.join('\n')
    expect(all).toContain('update-ca-certificates')
    expect(all).toContain('/etc/docker/certs.d/<host>/ca.crt')
    expect(all).toContain('/etc/containers/certs.d/<host>/ca.crt')
  })

  test('a blob host that does not resolve is named as host:port, with the registry that sends there', () => {
    const { first, steps } = advise(variant('dns-error at the blob host'))
    expect(first).toContain(CDN)
    expect(steps[0]).toContain(`\`${CDN}\` (the blob host ${RH} redirects layer downloads to)`)
  })

  test('a firewall: every host the pull needs, the failed one first', () => {
    const r = failing({
      ...throughProxy(passing(1)),
      proxy: { source: 'none', schemeAssumed: false, noProxy: [] },
      checks: [check('ping', { status: undefined }, net.refused('registry', RH))],
    })
    expect(advise(r).first).toBe(
      'a firewall is likely in the way: allow HTTPS to `registry.redhat.io`',
    )
  })
})

describe('host names are never re-cased', () => {
  test('a sentence that starts with a host keeps it as written', () => {
    expect(sentence('registry.redhat.io refused the image')).toBe(
      'registry.redhat.io refused the image.',
    )
    expect(sentence('quay.io refused it')).toBe('quay.io refused it.')
    expect(sentence('the token service refused')).toBe('The token service refused.')
  })

  test('no step of any variant starts with a re-cased host', () => {
    for (const v of variants()) {
      for (const step of advise(v.report, v.warnings).steps) {
        expect(step).not.toMatch(/^(Registry|Quay|Sso|Auth|Ghcr|Cdn\d*)\.[a-z]/)
      }
    }
  })
})
