/** Platforms read, normalised and matched as containerd does, and manifests read as a pull reads them. */
import { configPlatform, indexPlatforms, parseManifest } from '../src/manifest.js'
import {
  formatPlatform,
  hostPlatform,
  normalizePlatform,
  parsePlatform,
  platformMatches,
} from '../src/platform.js'

const p = (text: string) => parsePlatform(text)

describe('normalisation', () => {
  test.each([
    ['linux/arm64', 'linux/arm64/v8'],
    ['linux/aarch64', 'linux/arm64/v8'],
    ['linux/arm', 'linux/arm/v7'],
    ['linux/armhf', 'linux/arm/v7'],
    ['linux/armel', 'linux/arm/v6'],
    ['linux/x86_64', 'linux/amd64'],
    ['linux/amd64/v1', 'linux/amd64'],
    ['Linux/AMD64', 'linux/amd64'],
    ['linux/i386', 'linux/386'],
    ['windows/amd64', 'windows/amd64'],
  ])('%s is %s', (given, normal) => {
    expect(formatPlatform(p(given))).toBe(normal)
  })

  test.each(['linux', 'linux/amd64/v2/x', '', 'linux/<b>', 'linux//amd64'])(
    '%j is not a platform',
    (text) => {
      expect(() => parsePlatform(text)).toThrow(/expected os\/architecture/)
    },
  )
})

describe('matching', () => {
  test.each([
    ['linux/arm64/v8', 'linux/arm64', true],
    ['linux/arm64', 'linux/arm64/v8', true],
    ['linux/arm/v7', 'linux/arm/v6', true],
    ['linux/arm/v6', 'linux/arm/v7', false],
    ['linux/amd64/v3', 'linux/amd64', true],
    ['linux/amd64', 'linux/amd64/v3', false],
    ['linux/amd64', 'linux/arm64', false],
    ['linux/amd64', 'windows/amd64', false],
    ['linux/arm64/v8', 'linux/arm64/v9', false],
  ])('a %s machine runs %s: %s', (wanted, candidate, runs) => {
    expect(platformMatches(p(wanted), normalizePlatform(p(candidate)))).toBe(runs)
  })
})

describe("the machine's own platform", () => {
  test.each([
    [{ RUNNER_OS: 'Linux', RUNNER_ARCH: 'X64' }, 'linux/amd64'],
    [{ RUNNER_OS: 'Linux', RUNNER_ARCH: 'ARM64' }, 'linux/arm64/v8'],
    [{ RUNNER_OS: 'Linux', RUNNER_ARCH: 'ARM' }, 'linux/arm/v7'],
    [{ RUNNER_OS: 'Linux', RUNNER_ARCH: 'X86' }, 'linux/386'],
    [{ RUNNER_OS: 'macOS', RUNNER_ARCH: 'ARM64' }, 'linux/arm64/v8'],
    [{ RUNNER_OS: 'Windows', RUNNER_ARCH: 'X64' }, 'windows/amd64'],
  ])('the runner %j pulls %s', (env, platform) => {
    const own = hostPlatform(env, { platform: 'linux', arch: 's390x' })
    expect(formatPlatform(own.platform)).toBe(platform)
    expect(own.source).toMatch(/RUNNER_ARCH/)
  })

  test('outside a runner: this machine, from Node', () => {
    expect(formatPlatform(hostPlatform({}, { platform: 'linux', arch: 'arm64' }).platform)).toBe(
      'linux/arm64/v8',
    )
    expect(formatPlatform(hostPlatform({}, { platform: 'win32', arch: 'x64' }).platform)).toBe(
      'windows/amd64',
    )
  })
})

describe('manifests', () => {
  const digest = `sha256:${'a'.repeat(64)}`

  test('an index: its platforms, attestations left out, markup never read as a platform', () => {
    const parsed = parseManifest(
      Buffer.from(
        JSON.stringify({
          manifests: [
            { digest, platform: { os: 'linux', architecture: 'amd64' } },
            { digest, platform: { os: 'unknown', architecture: 'unknown' } },
            { digest, platform: { os: 'linux', architecture: '**bold**' } },
            { digest: '../../etc/passwd', platform: { os: 'linux', architecture: 'arm64' } },
          ],
        }),
      ),
      'application/vnd.oci.image.index.v1+json',
    )
    expect(parsed.kind).toBe('index')
    if (parsed.kind !== 'index') return
    // A descriptor whose digest could change the URL's path is dropped.
    expect(parsed.manifests).toHaveLength(3)
    expect(indexPlatforms(parsed.manifests).map((m) => formatPlatform(m.platform!))).toEqual([
      'linux/amd64',
    ])
  })

  test('an image manifest names its config blob', () => {
    const parsed = parseManifest(Buffer.from(JSON.stringify({ config: { digest } })), undefined)
    expect(parsed).toEqual({ kind: 'manifest', config: { digest } })
  })

  test.each([
    ['not JSON', '<html>', /not a JSON object/],
    ['a schema 1 manifest', JSON.stringify({ schemaVersion: 1, fsLayers: [] }), /schema 1/],
    [
      'an index without manifests',
      JSON.stringify({ mediaType: 'application/vnd.oci.image.index.v1+json' }),
      /no manifests/,
    ],
  ])('%s is unreadable', (_, body, reason) => {
    const parsed = parseManifest(Buffer.from(body), undefined)
    expect(parsed.kind).toBe('unreadable')
    if (parsed.kind === 'unreadable') expect(parsed.reason).toMatch(reason)
  })

  test('a config says its platform', () => {
    const config = { os: 'linux', architecture: 'arm', variant: 'v7', rootfs: {} }
    expect(configPlatform(Buffer.from(JSON.stringify(config)))).toEqual({
      os: 'linux',
      architecture: 'arm',
      variant: 'v7',
    })
    expect(configPlatform(Buffer.from('{}'))).toBeUndefined()
  })
})
