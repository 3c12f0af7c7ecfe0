import {
  DOCKER_HUB,
  InvalidReference,
  formatImageRef,
  isDockerHub,
  normalizeRegistry,
  parseImageRef,
} from '../src/reference.js'

const RH = 'registry.redhat.io'
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`

describe('parseImageRef', () => {
  test('a short name with a tag belongs to the default registry (ubi9/ubi:latest)', () => {
    expect(parseImageRef('ubi9/ubi:latest', RH)).toEqual({
      input: 'ubi9/ubi:latest',
      registry: RH,
      repository: 'ubi9/ubi',
      tag: 'latest',
      digest: undefined,
      reference: 'latest',
    })
  })

  test('a full name with a digest asks for the digest', () => {
    const ref = parseImageRef(`registry.redhat.io/rhel9/toolbox@${DIGEST}`, 'quay.io')
    expect(ref.registry).toBe(RH)
    expect(ref.repository).toBe('rhel9/toolbox')
    expect(ref.tag).toBeUndefined()
    expect(ref.digest).toBe(DIGEST)
    expect(ref.reference).toBe(DIGEST)
    expect(formatImageRef(ref)).toBe(`registry.redhat.io/rhel9/toolbox@${DIGEST}`)
  })

  test('a tag and a digest together: the digest is the reference, the tag is kept', () => {
    const ref = parseImageRef(`ubi9/ubi:9.4@${DIGEST}`, RH)
    expect(ref.tag).toBe('9.4')
    expect(ref.digest).toBe(DIGEST)
    expect(ref.reference).toBe(DIGEST)
    expect(formatImageRef(ref)).toBe(`registry.redhat.io/ubi9/ubi:9.4@${DIGEST}`)
  })

  test('no tag and no digest means latest', () => {
    const ref = parseImageRef('ubi9/ubi', RH)
    expect(ref.tag).toBe('latest')
    expect(ref.reference).toBe('latest')
  })

  test('localhost:5000/x is a registry with a port', () => {
    const ref = parseImageRef('localhost:5000/x', RH)
    expect(ref.registry).toBe('localhost:5000')
    expect(ref.repository).toBe('x')
    expect(ref.reference).toBe('latest')
  })

  test('localhost without a port is a registry too', () => {
    expect(parseImageRef('localhost/team/app:dev', RH)).toMatchObject({
      registry: 'localhost',
      repository: 'team/app',
      tag: 'dev',
    })
  })

  test('docker.io/nginx is Docker Hub: registry-1.docker.io and library/nginx', () => {
    const ref = parseImageRef('docker.io/nginx', RH)
    expect(ref.registry).toBe(DOCKER_HUB)
    expect(ref.registry).toBe('registry-1.docker.io')
    expect(ref.repository).toBe('library/nginx')
  })

  test('index.docker.io/library/nginx is Docker Hub with the same repository', () => {
    const ref = parseImageRef('index.docker.io/library/nginx', RH)
    expect(ref.registry).toBe('registry-1.docker.io')
    expect(ref.repository).toBe('library/nginx')
  })

  test('a two-part name on Docker Hub gets no library/ prefix', () => {
    expect(parseImageRef('docker.io/bitnami/redis:7', RH)).toMatchObject({
      registry: 'registry-1.docker.io',
      repository: 'bitnami/redis',
      tag: '7',
    })
  })

  test('nginx with the default registry normalized from docker.io (as parseInputs passes it)', () => {
    const ref = parseImageRef('nginx', normalizeRegistry('docker.io'))
    expect(ref.registry).toBe('registry-1.docker.io')
    expect(ref.repository).toBe('library/nginx')
  })

  test('nginx with a raw docker.io default registry goes to registry-1.docker.io as library/nginx', () => {
    const ref = parseImageRef('nginx', 'docker.io')
    expect(ref.registry).toBe('registry-1.docker.io')
    expect(ref.repository).toBe('library/nginx')
  })

  test('nginx with the default registry.redhat.io stays nginx on registry.redhat.io', () => {
    const ref = parseImageRef('nginx', RH)
    expect(ref.registry).toBe(RH)
    expect(ref.repository).toBe('nginx')
  })

  test('quay.io/org/repo:v1.2', () => {
    expect(parseImageRef('quay.io/org/repo:v1.2', RH)).toMatchObject({
      registry: 'quay.io',
      repository: 'org/repo',
      tag: 'v1.2',
      reference: 'v1.2',
    })
  })

  test('an IPv6 registry with a port: [::1]:5000/a/b', () => {
    const ref = parseImageRef('[::1]:5000/a/b', RH)
    expect(ref.registry).toBe('[::1]:5000')
    expect(ref.repository).toBe('a/b')
    expect(ref.reference).toBe('latest')
  })

  test('a registry host written in upper case is lower-cased', () => {
    expect(parseImageRef('Quay.IO/org/repo', RH).registry).toBe('quay.io')
  })

  test('formatImageRef gives host/repo:tag', () => {
    expect(formatImageRef(parseImageRef('nginx:1.27', normalizeRegistry('docker.io')))).toBe(
      'registry-1.docker.io/library/nginx:1.27',
    )
  })

  test('a tag of exactly 128 characters is accepted', () => {
    const tag = 'a'.repeat(128)
    expect(parseImageRef(`ubi9/ubi:${tag}`, RH).tag).toBe(tag)
  })

  const invalid: [string, string][] = [
    ['an upper-case repository', 'UBI9/ubi'],
    ['a .. path component', 'a/../b'],
    ['a digest that is not sha256:<64 hex>', 'ubi9/ubi@sha256:abc'],
    ['a digest with an unknown algorithm', `ubi9/ubi@md5:${'0'.repeat(32)}`],
    ['an empty reference', ''],
    ['a tag with no repository (:tag)', ':tag'],
    ['a tag over 128 characters', `ubi9/ubi:${'a'.repeat(129)}`],
    ['a trailing slash', 'ubi9/ubi/'],
    ['a registry host and nothing else', 'quay.io/'],
    ['an empty path component', 'a//b'],
    ['a tag starting with a dot', 'ubi9/ubi:.bad'],
    ['a registry with an out-of-range port', 'host:99999/a'],
  ]
  test.each(invalid)('%s throws InvalidReference', (_shape, input) => {
    expect(() => parseImageRef(input, RH)).toThrow(InvalidReference)
  })
})

describe('normalizeRegistry', () => {
  test.each([
    ['a scheme', 'https://x'],
    ['a path', 'x/path'],
    ['a port over 65535', 'host:99999'],
    ['a port of 0', 'host:0'],
    ['a colon with no port', 'host:'],
    ['an empty string', ''],
    ['a label that starts and ends with a hyphen', '-bad-.example'],
  ])('rejects %s (%s)', (_shape, value) => {
    expect(() => normalizeRegistry(value)).toThrow(InvalidReference)
  })

  test('lower-cases a mixed-case host (Registry.RedHat.io)', () => {
    expect(normalizeRegistry('Registry.RedHat.io')).toBe('registry.redhat.io')
  })

  test('accepts an IPv4 address with a port (127.0.0.1:8443)', () => {
    expect(normalizeRegistry('127.0.0.1:8443')).toBe('127.0.0.1:8443')
  })

  test('accepts a bracketed IPv6 address with a port', () => {
    expect(normalizeRegistry('[::1]:5000')).toBe('[::1]:5000')
  })

  test("folds Docker Hub's aliases into registry-1.docker.io", () => {
    expect(normalizeRegistry('docker.io')).toBe('registry-1.docker.io')
    expect(normalizeRegistry('index.docker.io')).toBe('registry-1.docker.io')
    expect(normalizeRegistry('Docker.IO')).toBe('registry-1.docker.io')
  })
})

describe('isDockerHub', () => {
  test('registry-1.docker.io is Docker Hub', () => {
    expect(isDockerHub('registry-1.docker.io')).toBe(true)
  })

  test('other registries are not', () => {
    expect(isDockerHub('registry.redhat.io')).toBe(false)
    expect(isDockerHub('quay.io')).toBe(false)
  })
})
