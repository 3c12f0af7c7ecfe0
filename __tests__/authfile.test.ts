/** Auth files read as docker and containers/image read them: keys, lookups, secrets, bad files. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AuthSourceError, enginePaths, readAuthFiles } from '../src/auth-sources.js'
import { AuthFileError, lookupAuth, normalizeAuthKey, parseAuthFile } from '../src/authfile.js'

const b64 = (text: string): string => Buffer.from(text).toString('base64')
const parse = (json: unknown, secrets: string[] = []) =>
  parseAuthFile(JSON.stringify(json), '/auth.json', (s) => secrets.push(s))

describe('keys', () => {
  test.each([
    ['quay.io', 'quay.io'],
    ['Quay.IO', 'quay.io'],
    ['https://index.docker.io/v1/', 'docker.io'],
    ['index.docker.io', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['https://registry.example.com', 'registry.example.com'],
    ['registry.example.com:5000/', 'registry.example.com:5000'],
    ['quay.io/org/repo', 'quay.io/org/repo'],
  ])('%s is looked up as %s', (key, normal) => {
    expect(normalizeAuthKey(key)).toBe(normal)
  })
})

describe('lookups', () => {
  const file = parse({
    auths: {
      'quay.io': { auth: b64('robot:host-wide') },
      'quay.io/org': { auth: b64('robot:org-wide') },
      'quay.io/org/special': { auth: b64('robot:repo-only') },
      'https://index.docker.io/v1/': { auth: b64('hubuser:hub-pass') },
      'registry.redhat.io': { auth: b64('12345678|ci:eyJsecret') },
      'ghcr.io': {},
    },
    credHelpers: { 'gcr.io': 'gcloud' },
  })

  test.each([
    ['quay.io', 'org/special', 'repo-only', 'quay.io/org/special'],
    ['quay.io', 'org/other', 'org-wide', 'quay.io/org'],
    ['quay.io', 'elsewhere/x', 'host-wide', 'quay.io'],
    ['quay.io', undefined, 'host-wide', 'quay.io'],
    ['registry-1.docker.io', 'library/nginx', 'hub-pass', 'https://index.docker.io/v1/'],
    ['registry.redhat.io', 'ubi9/ubi', 'eyJsecret', 'registry.redhat.io'],
  ])('%s %s: the most specific key (%s)', (registry, repository, password, key) => {
    const found = lookupAuth([file], registry, repository)
    expect(found).toMatchObject({ kind: 'entry', key, entry: { password } })
  })

  test('a user name with | and a password with : are read whole', () => {
    const found = lookupAuth([parse({ auths: { r: { auth: b64('1|a:b:c') } } })], 'r', undefined)
    expect(found).toMatchObject({ entry: { username: '1|a', password: 'b:c' } })
  })

  test('an empty entry (a credsStore keeps the secret) is no entry; a helper named for the host wins', () => {
    expect(lookupAuth([file], 'ghcr.io', 'x/y')).toBeUndefined()
    expect(lookupAuth([file], 'gcr.io', 'p/i')).toEqual({
      kind: 'helper',
      file: '/auth.json',
      helper: 'gcloud',
      server: 'gcr.io',
    })
  })

  test('credsStore answers for every registry without an entry, Docker Hub by its legacy URL', () => {
    const store = parse({ auths: { 'docker.io': {} }, credsStore: 'desktop' })
    expect(lookupAuth([store], 'registry-1.docker.io', 'library/nginx')).toMatchObject({
      kind: 'helper',
      helper: 'desktop',
      server: 'https://index.docker.io/v1/',
    })
  })

  test('files are read in order; the first with something wins', () => {
    const first = parse({ auths: { 'quay.io': { auth: b64('a:first') } } })
    const second = parse({ auths: { 'quay.io': { auth: b64('a:second') } } })
    expect(lookupAuth([first, second], 'quay.io', 'x')).toMatchObject({
      entry: { password: 'first' },
    })
  })
})

describe('secrets are handed over as soon as the file is parsed', () => {
  test('the auth value, its password and an identity token, also from a file that is then refused', () => {
    const secrets: string[] = []
    expect(() =>
      parse(
        {
          auths: {
            a: { auth: b64('u:pass-one'), identitytoken: 'refresh-token-value' },
            b: { auth: 'not base64 at all!' },
          },
        },
        secrets,
      ),
    ).toThrow(AuthFileError)
    expect(secrets).toEqual(
      expect.arrayContaining([
        b64('u:pass-one'),
        'pass-one',
        'refresh-token-value',
        'not base64 at all!',
      ]),
    )
  })

  test.each([
    ['not JSON', '{"auths": {', /it is not JSON/],
    ['an array', '[]', /not a JSON object/],
    ['auths not an object', '{"auths": "x"}', /"auths" is not an object/],
    [
      'an auth without a colon',
      JSON.stringify({ auths: { h: { auth: b64('nocolon') } } }),
      /not base64 of user:password/,
    ],
    [
      'a helper that is a path',
      JSON.stringify({ credHelpers: { h: '../../bin/sh' } }),
      /not a helper name/,
    ],
  ])('%s: refused, saying what is wrong and never what it holds', (_, text, reason) => {
    let message = ''
    try {
      parseAuthFile(text, '/f.json', () => {})
    } catch (err) {
      message = (err as Error).message
    }
    expect(message).toMatch(reason)
    expect(message).not.toContain('nocolon')
  })
})

describe('which files an engine reads', () => {
  const env = { HOME: '/home/u' }
  test.each([
    ['docker', env, ['/home/u/.docker/config.json']],
    ['docker', { ...env, DOCKER_CONFIG: '/cfg' }, ['/cfg/config.json']],
    ['podman', { ...env, REGISTRY_AUTH_FILE: '/run/auth.json' }, ['/run/auth.json']],
    [
      'podman',
      { ...env, XDG_RUNTIME_DIR: '/run/user/1000' },
      [
        '/run/user/1000/containers/auth.json',
        '/home/u/.config/containers/auth.json',
        '/home/u/.docker/config.json',
      ],
    ],
  ] as const)('%s with %j', (engine, e, paths) => {
    expect(enginePaths(engine, e)).toEqual(paths)
  })

  test('an engine with no files has no login; a path given by hand must exist; big files are refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'authfile-'))
    try {
      expect(readAuthFiles('docker', { HOME: dir }, () => {}).files).toEqual([])
      expect(() => readAuthFiles(join(dir, 'nope.json'), {}, () => {})).toThrow(/does not exist/)
      const big = join(dir, 'big.json')
      await writeFile(big, `{"auths":{},"pad":"${'x'.repeat(1024 * 1024)}"}`)
      expect(() => readAuthFiles(big, {}, () => {})).toThrow(AuthSourceError)
      expect(() => readAuthFiles(big, {}, () => {})).toThrow(/over 1 MiB/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
