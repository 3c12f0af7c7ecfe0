/**
 * The `auth-file` input, end to end: the built action (dist/index.js), run as the runner runs it
 * with step debug logging on, reading the credentials a puller would use — a Docker config.json
 * written by a real `skopeo login`, podman's REGISTRY_AUTH_FILE, an OpenShift pull secret, a
 * credential helper on PATH, an identity token — against real peers: Debian's docker-registry 2.8
 * behind a token service whose JWTs it verifies (distribution.mjs), the loopback imitations of
 * registry.redhat.io, registry.connect.redhat.com and quay.io reached by their real names through
 * a CONNECT proxy (registries.mjs), and a fake registry whose challenge names an OAuth2 endpoint
 * that trades refresh tokens (refresh-realm.mjs). skopeo, reading the same file, is the referee
 * for the docker-registry cases: `skopeo inspect --authfile` must agree with pull-ready.
 *
 * Each test asserts what a user sees (exit status, outputs, the summary, report.registries), what
 * reached the servers, and that no secret leaked: every password as given and URL-encoded, every
 * `auth` value (base64 of user:password, which is also the Basic header), every identity token,
 * every credential helper's Secret, every token a service issued.
 */
import { randomBytes } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startConnectProxy } from '../scripts/lib/connect-proxy.mjs'
import { startDistribution } from '../scripts/lib/distribution.mjs'
import { startFakeRedHat } from '../scripts/lib/fake-registry.mjs'
import { startRefreshRealm } from '../scripts/lib/refresh-realm.mjs'
import {
  IMITATED_HOSTS,
  RHC4TP_TOKEN_PATH,
  RHCC_TOKEN_PATH,
  startQuay,
  startRedHatConnect,
  startRedHatRegistry,
} from '../scripts/lib/registries.mjs'
import { makeCertificates, type Certificates } from '../scripts/lib/tls.mjs'
import {
  authEntry,
  secretForms,
  skopeoInspectWith,
  skopeoLogin,
  writeAuthFile,
  writeCredentialHelper,
  type HelperBehaviour,
} from './support/auth-files.js'
import {
  Servers,
  expectNoSecrets,
  expectOutputs,
  howToFix,
  masked,
  parseReport,
  runDebug,
  verdict,
  visibleStdout,
  type Run,
} from './support/e2e.js'

type Distribution = Awaited<ReturnType<typeof startDistribution>>
type Credentials =
  | { from: 'none' }
  | { from: 'inputs' }
  | { from: 'file'; file: string; key: string }
  | { from: 'helper'; file: string; helper: string }
type RegistryVerdict = {
  registry: string
  pullReady: boolean
  result: string
  detail?: string
  credentials: Credentials
}
type Report = {
  registry: string
  registries: RegistryVerdict[]
  checks: { id: string; host: string; outcome: string; status?: number }[]
  images: { image: string; outcome: string; finding?: { code: string; detail: string } }[]
  hosts: string[]
  info: string[]
}

const report = parseReport<Report>
const unique = (): string => randomBytes(12).toString('base64url')

/** A service account entitled to everything in the docker-registry peer. */
const USER = '12345678|ci-pipeline'
const PASSWORD = `eyJhbGciOiJSUzUxMiJ9.${unique()}.sig+/=`
/** An account whose secret is rotated after its login was written. */
const ROTATED_USER = '23456789|rotated'
const ROTATED_PASSWORD = `eyJhbGciOiJSUzUxMiJ9.${unique()}.old+/=`
const NEW_PASSWORD = `eyJhbGciOiJSUzUxMiJ9.${unique()}.new+/=`
/** An organisation with no subscription: its tokens come with an empty access list. */
const NO_SUB_USER = '87654321|no-subscription'
const NO_SUB_PASSWORD = `eyJhbGciOiJSUzUxMiJ9.${unique()}.nosub+/=`
/** A credential helper's account on the docker-registry peer, and its secret. */
const HELPER_USER = '34567890|from-helper'
const HELPER_SECRET = `helper-secret-${unique()}`
/** A credential a file holds for comparison only (docker's stale login, say). */
const STALE_PASSWORD = `stale-${unique()}`
const ACCOUNTS = {
  [USER]: { password: PASSWORD, entitlements: '*' as const },
  [ROTATED_USER]: { password: ROTATED_PASSWORD, entitlements: '*' as const },
  [NO_SUB_USER]: { password: NO_SUB_PASSWORD },
  [HELPER_USER]: { password: HELPER_SECRET, entitlements: '*' as const },
}

const UBI = 'ubi9/ubi:latest'
const POSTGRES = 'rhel9/postgresql-15:latest'

/** A pull secret's accounts, as console.redhat.com hands them out. */
const RH_USER = '11009103|uhc-pool-0a1b2c3d'
const RH_PASSWORD = `eyJhbGciOiJSUzUxMiJ9.${unique()}.rh+/=`
const RH_STALE_PASSWORD = `eyJhbGciOiJSUzUxMiJ9.${unique()}.rhstale+/=`
const QUAY_USER = 'openshift-release-dev+ocm_access_0a1b2c3d'
const QUAY_PASSWORD = `Q9ZK${unique()}X0V7`
const CLOUD_USER = 'openshift-release-dev+ocm_access_0a1b2c3d'
const CLOUD_PASSWORD = `cloud-${unique()}`

/** The fake registry's account that identity tokens stand for. */
const REFRESH_USER = 'relay'
const REFRESH_PASSWORD = `relay-${unique()}`
const IDENTITY_TOKEN = `idt-${unique()}${unique()}`
const HELPER_IDENTITY_TOKEN = `idt-helper-${unique()}${unique()}`
const EXPIRED_IDENTITY_TOKEN = `idt-expired-${unique()}${unique()}`

/** Every secret of every account above, in every form it could leak in. */
const SECRETS = [
  ...secretForms(USER, PASSWORD),
  ...secretForms(ROTATED_USER, ROTATED_PASSWORD),
  ...secretForms(ROTATED_USER, NEW_PASSWORD),
  ...secretForms(NO_SUB_USER, NO_SUB_PASSWORD),
  ...secretForms(USER, STALE_PASSWORD),
  ...secretForms(RH_USER, RH_PASSWORD),
  ...secretForms(RH_USER, RH_STALE_PASSWORD),
  ...secretForms(QUAY_USER, QUAY_PASSWORD),
  ...secretForms(CLOUD_USER, CLOUD_PASSWORD),
  ...secretForms(HELPER_USER, HELPER_SECRET),
  ...secretForms(REFRESH_USER, REFRESH_PASSWORD),
  IDENTITY_TOKEN,
  HELPER_IDENTITY_TOKEN,
  EXPIRED_IDENTITY_TOKEN,
]

let dir: string
/** An empty HOME for the action: no developer's ~/.docker or ~/.config/containers is read. */
let home: string
let dist: Distribution
/** The imitations' CA (and the fake's): a certificate naming every imitated host. */
let tls: Certificates
/** A directory holding only the imitations' CA, for skopeo's --cert-dir. */
let tlsCertDir: string
const servers = new Servers()
/** Every token any peer of this file issued: none may leak. */
const issuedElsewhere: string[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'preflight-auth-file-'))
  home = join(dir, 'home')
  tlsCertDir = join(dir, 'certs.d')
  await Promise.all([mkdir(home), mkdir(tlsCertDir)])
  const [d, t] = await Promise.allSettled([
    startDistribution({ users: ACCOUNTS }),
    makeCertificates(dir, { names: IMITATED_HOSTS }),
  ])
  if (d.status === 'fulfilled') dist = d.value
  if (t.status === 'fulfilled') tls = t.value
  for (const result of [d, t]) if (result.status === 'rejected') throw result.reason
  await copyFile(tls.caPath, join(tlsCertDir, 'ca.crt'))
}, 60_000)

afterEach(async () => {
  await servers.closeAll()
})

afterAll(async () => {
  await dist?.close()
  await rm(dir, { recursive: true, force: true })
}, 30_000)

/** Runs dist/index.js with an empty HOME, trusting `caPath` (the docker-registry peer's CA by default). */
function act(
  inputs: Record<string, string>,
  env: Record<string, string | undefined> = {},
  caPath = dist.tls.caPath,
): Promise<Run> {
  return runDebug({
    inputs: { retries: '0', timeout: '5', ...inputs },
    env: { HOME: home, ...env },
    caPath,
  })
}

/** No secret of any account, no token any peer issued, nor `extra`, in what the run wrote. */
function expectNoLeak(run: Run, extra: string[] = []): void {
  const tokens = [...dist.tokens.issued.map((i) => i.token), ...issuedElsewhere]
  expectNoSecrets(run, [...SECRETS, ...tokens, ...extra])
}

/**
 * The secrets were registered with the runner's mask before the action wrote anything else: the
 * runner masks only the lines after an `::add-mask::`.
 */
function expectMaskedFirst(run: Run, secrets: string[]): void {
  expect(masked(run)).toEqual(expect.arrayContaining(secrets))
  const lines = run.stdout.split('\n')
  const firstOther = lines.findIndex((line) => line !== '' && !line.startsWith('::add-mask::'))
  const maskedBefore = new Set(
    lines
      .slice(0, firstOther < 0 ? lines.length : firstOther)
      .map((line) => line.slice('::add-mask::'.length)),
  )
  for (const secret of secrets) expect(maskedBefore.has(secret)).toBe(true)
}

/** The warnings the action wrote (`::warning::` workflow commands), without the command. */
function warnings(run: Run): string[] {
  return visibleStdout(run)
    .split('\n')
    .filter((line) => line.startsWith('::warning'))
    .map((line) => line.slice(line.indexOf('::', 2) + 2))
}

/** A fresh directory under the test's temp dir. */
let dirs = 0
async function freshDir(name: string): Promise<string> {
  dirs += 1
  const path = join(dir, `${name}-${dirs}`)
  await mkdir(path, { recursive: true })
  return path
}

// ─── the docker-registry peer, skopeo login and skopeo inspect ────────────────────────────────

/** `skopeo login --authfile <file>` for each login, against the docker-registry peer. */
async function loginsTo(
  file: string,
  logins: { target: string; user: string; password: string }[],
): Promise<void> {
  for (const login of logins) {
    const result = await skopeoLogin({
      authfile: file,
      certDir: dist.certDir,
      home: dist.home,
      ...login,
    })
    if (!result.ok) throw new Error(`skopeo login ${login.target} failed: ${result.stderr}`)
  }
}

/** A DOCKER_CONFIG directory whose config.json skopeo login wrote. */
async function dockerConfigWith(
  logins: { target: string; user: string; password: string }[],
): Promise<{ dir: string; file: string }> {
  const configDir = await freshDir('docker-config')
  const file = join(configDir, 'config.json')
  await loginsTo(file, logins)
  return { dir: configDir, file }
}

/** What skopeo said, per case, for the report. */
const refereeLog: string[] = []

/**
 * The referee: `skopeo inspect --authfile <the same file>` for each image, trusting the same CA.
 * The action's pull-ready must be true exactly when skopeo reads every image, and failed-images
 * must list exactly those skopeo cannot read.
 */
async function expectRefereeAgrees(
  run: Run,
  authfile: string,
  images: string[],
  peer: { registry?: string; certDir?: string; env?: Record<string, string> } = {},
): Promise<void> {
  const { registry = dist.registry.host, certDir = dist.certDir, env } = peer
  const verdicts = await Promise.all(
    images.map(async (image) => ({
      image,
      ...(await skopeoInspectWith({
        authfile,
        reference: `${registry}/${image}`,
        certDir,
        home: dist.home,
        env,
      })),
    })),
  )
  const said = verdicts
    .map((v) => `  ${v.image}: ${v.ok ? 'ok' : `failed: ${v.stderr.trim()}`}`)
    .join('\n')
  refereeLog.push(`${expect.getState().currentTestName}:\n${said}`)
  const skopeoReady = verdicts.every((v) => v.ok)
  const skopeoFailed = verdicts.filter((v) => !v.ok).map((v) => v.image)
  const actionFailed = (run.outputs['failed-images'] ?? '').split('\n').filter(Boolean)
  if (
    skopeoReady !== (run.outputs['pull-ready'] === 'true') ||
    skopeoFailed.join('\n') !== actionFailed.join('\n')
  ) {
    throw new Error(
      [
        `the action and skopeo disagree about ${authfile}:`,
        `  the action: pull-ready=${run.outputs['pull-ready']}, result=${run.outputs.result}, failed-images=[${actionFailed.join(', ')}]`,
        `  ${run.outputs.message}`,
        `skopeo inspect --authfile (pull-ready would be ${skopeoReady}):`,
        said,
      ].join('\n'),
    )
  }
}

// SHOW_REFEREE=1 prints what skopeo said in each case.
afterAll(() => {
  if (process.env.SHOW_REFEREE) console.log(refereeLog.join('\n'))
})

/** The token service's requests while `body` ran. */
async function tokenRequestsDuring<T>(
  body: () => Promise<T>,
): Promise<[T, Distribution['tokens']['requests']]> {
  const before = dist.tokens.requests.length
  const result = await body()
  return [result, dist.tokens.requests.slice(before)]
}

describe('a Docker config.json that skopeo login wrote, checked against docker-registry 2.8', () => {
  test('the login is good: ok, the file and key it came from in report.registries, and skopeo agrees', async () => {
    const host = dist.registry.host
    const config = await dockerConfigWith([{ target: host, user: USER, password: PASSWORD }])
    const [run, requests] = await tokenRequestsDuring(() =>
      act({ 'auth-file': 'docker', registry: host, images: UBI }, { DOCKER_CONFIG: config.dir }),
    )
    expectOutputs(
      run,
      { result: 'ok', 'pull-ready': 'true', 'sso-status': '200', 'registry-status': '200' },
      0,
    )
    expect(verdict(run)).toBe('## ✅ Pulls will succeed')
    expect(report(run).registries).toEqual([
      {
        registry: host,
        pullReady: true,
        result: 'ok',
        credentials: { from: 'file', file: config.file, key: host },
      },
    ])
    // The file's account, and only it, reached the token service.
    expect(requests.length).toBeGreaterThan(0)
    expect(requests.map((r) => r.user)).toEqual(requests.map(() => USER))
    // The `auth` value and the password it decodes to are masked before anything else is written.
    expectMaskedFirst(run, [authEntry(USER, PASSWORD).auth, PASSWORD])
    // podman would read the same file (it falls back to Docker's): no engine mismatch.
    expect(warnings(run)).toEqual([])
    expect(run.summary).not.toContain('### Warnings')
    expectNoLeak(run)
    await expectRefereeAgrees(run, config.file, [UBI])
  })

  test('the secret was rotated after the login: invalid-credentials, and skopeo is refused too', async () => {
    const host = dist.registry.host
    const config = await dockerConfigWith([
      { target: host, user: ROTATED_USER, password: ROTATED_PASSWORD },
    ])
    // skopeo login checks the credentials before it writes them: rotate the secret afterwards.
    ACCOUNTS[ROTATED_USER].password = NEW_PASSWORD
    const [run, requests] = await tokenRequestsDuring(() =>
      act({ 'auth-file': 'docker', registry: host, images: UBI }, { DOCKER_CONFIG: config.dir }),
    )
    expectOutputs(
      run,
      {
        result: 'invalid-credentials',
        'pull-ready': 'false',
        'sso-status': '401',
        'registry-status': '',
        'failed-images': UBI,
      },
      1,
    )
    expect(verdict(run)).toBe('## ❌ Pulls will fail: the credentials were refused')
    expect(report(run).registries).toEqual([
      {
        registry: host,
        pullReady: false,
        result: 'invalid-credentials',
        detail: `the token service at ${dist.tokens.host} refused the credentials (HTTP 401)`,
        credentials: { from: 'file', file: config.file, key: host },
      },
    ])
    // Credentials arrived (a Basic header), and they were not the account's.
    expect(requests.length).toBeGreaterThan(0)
    expect(requests.every((r) => r.user === undefined)).toBe(true)
    expectMaskedFirst(run, [authEntry(ROTATED_USER, ROTATED_PASSWORD).auth, ROTATED_PASSWORD])
    expectNoLeak(run)
    await expectRefereeAgrees(run, config.file, [UBI])
  })

  test('no entry for the registry (the login was to localhost:<port>): missing-credentials naming the file', async () => {
    const host = dist.registry.host
    const other = `localhost:${dist.registry.port}`
    const config = await dockerConfigWith([{ target: other, user: USER, password: PASSWORD }])
    const [run, requests] = await tokenRequestsDuring(() =>
      act({ 'auth-file': 'docker', registry: host, images: UBI }, { DOCKER_CONFIG: config.dir }),
    )
    expectOutputs(
      run,
      {
        result: 'missing-credentials',
        'pull-ready': 'false',
        'sso-status': '401',
        'failed-images': UBI,
      },
      1,
    )
    expect(verdict(run)).toBe('## ❌ Pulls will fail: credentials are missing')
    expect(run.outputs.message).toContain(config.file)
    expect(report(run).registries).toEqual([
      {
        registry: host,
        pullReady: false,
        result: 'missing-credentials',
        detail: expect.stringContaining(`no credentials for ${host} are in ${config.file}`),
        credentials: { from: 'none' },
      },
    ])
    // Asked anonymously: the entry for localhost was not sent to 127.0.0.1.
    expect(requests.length).toBeGreaterThan(0)
    expect(requests.every((r) => r.user === undefined)).toBe(true)
    expectNoLeak(run)
    await expectRefereeAgrees(run, config.file, [UBI])
  })

  test('a repository-scoped entry (host:port/ubi9/ubi) is used for that repository, the host entry for the others', async () => {
    const host = dist.registry.host
    const scoped = `${host}/ubi9/ubi`
    const config = await dockerConfigWith([
      { target: scoped, user: USER, password: PASSWORD },
      { target: host, user: NO_SUB_USER, password: NO_SUB_PASSWORD },
    ])
    const before = dist.tokens.issued.length
    const run = await act(
      { 'auth-file': 'docker', registry: host, images: `${UBI}\n${POSTGRES}` },
      { DOCKER_CONFIG: config.dir },
    )
    const issued = dist.tokens.issued.slice(before)
    expectOutputs(
      run,
      { result: 'access-denied', 'pull-ready': 'false', 'failed-images': POSTGRES },
      1,
    )
    expect(report(run).images.map((i) => [i.image, i.outcome])).toEqual([
      [UBI, 'passed'],
      [POSTGRES, 'failed'],
    ])
    expect(report(run).registries).toEqual([
      expect.objectContaining({
        registry: host,
        pullReady: false,
        result: 'access-denied',
        credentials: { from: 'file', file: config.file, key: scoped },
      }),
    ])
    // Each repository's token was asked for with its own entry's account.
    const asked = (repo: string): string[] =>
      issued.filter((i) => i.access.some((a) => a.name === repo)).map((i) => i.user)
    expect(asked('ubi9/ubi')).toEqual(asked('ubi9/ubi').map(() => USER))
    expect(asked('ubi9/ubi').length).toBeGreaterThan(0)
    expect(issued.some((i) => i.user === NO_SUB_USER)).toBe(true)
    expect(issued.filter((i) => i.user === NO_SUB_USER).every((i) => i.access.length === 0)).toBe(
      true,
    )
    expectMaskedFirst(run, [PASSWORD, NO_SUB_PASSWORD])
    expectNoLeak(run)
    await expectRefereeAgrees(run, config.file, [UBI, POSTGRES])
  })
})

describe('the file beside the other inputs', () => {
  test('username and password win over the file for `registry`', async () => {
    const host = dist.registry.host
    const file = await writeAuthFile(join(await freshDir('inputs-win'), 'config.json'), {
      auths: { [host]: authEntry(USER, STALE_PASSWORD) },
    })
    const [run, requests] = await tokenRequestsDuring(() =>
      act({
        'auth-file': file,
        registry: host,
        images: UBI,
        username: USER,
        password: PASSWORD,
      }),
    )
    expectOutputs(run, { result: 'ok', 'pull-ready': 'true', 'sso-status': '200' }, 0)
    expect(report(run).registries).toEqual([
      { registry: host, pullReady: true, result: 'ok', credentials: { from: 'inputs' } },
    ])
    expect(requests.length).toBeGreaterThan(0)
    expect(requests.map((r) => r.user)).toEqual(requests.map(() => USER))
    // The file's stale secret was read, so it was masked, though never sent.
    expect(masked(run)).toEqual(expect.arrayContaining([STALE_PASSWORD]))
    expectNoLeak(run)
  })

  test('no images and no registry: the registries the file names are checked (not registry.redhat.io)', async () => {
    const host = dist.registry.host
    const config = await dockerConfigWith([{ target: host, user: USER, password: PASSWORD }])
    const run = await act({ 'auth-file': config.file })
    expectOutputs(run, { result: 'ok', 'pull-ready': 'true', 'sso-status': '200' }, 0)
    expect(report(run).registry).toBe(host)
    expect(report(run).registries).toEqual([
      {
        registry: host,
        pullReady: true,
        result: 'ok',
        credentials: { from: 'file', file: config.file, key: host },
      },
    ])
    expect(report(run).hosts).toEqual([host, dist.tokens.host])
    expectNoLeak(run)
  })
})

describe('auth-file: podman', () => {
  test('REGISTRY_AUTH_FILE holds the login and Docker’s file does not: ok, and a warning names both engines and files', async () => {
    const host = dist.registry.host
    const base = await freshDir('podman')
    const authJson = join(base, 'auth.json')
    await loginsTo(authJson, [{ target: host, user: USER, password: PASSWORD }])
    const dockerConfig = join(base, 'docker')
    await mkdir(dockerConfig)
    const dockerFile = join(dockerConfig, 'config.json')
    const env = { REGISTRY_AUTH_FILE: authJson, DOCKER_CONFIG: dockerConfig }

    const run = await act({ 'auth-file': 'podman', registry: host, images: UBI }, env)
    expectOutputs(run, { result: 'ok', 'pull-ready': 'true', 'sso-status': '200' }, 0)
    expect(report(run).registries).toEqual([
      {
        registry: host,
        pullReady: true,
        result: 'ok',
        credentials: { from: 'file', file: authJson, key: host },
      },
    ])
    const expected = `${host}: podman has an entry (${host}) in ${authJson}, but docker has no entry in ${dockerFile}.`
    expect(warnings(run)).toEqual([expect.stringContaining(expected)])
    expect(run.summary.replace(/`/g, '')).toContain('### Warnings')
    // The summary shows host names and paths as code: compare its text without the backticks.
    expect(run.summary.replace(/`/g, '')).toContain(expected)
    expectNoLeak(run)
    await expectRefereeAgrees(run, authJson, [UBI])

    // Docker's file holds another login for the same registry: still podman's is checked, and
    // the warning says docker has other credentials (never which).
    await writeAuthFile(dockerFile, { auths: { [host]: authEntry(USER, STALE_PASSWORD) } })
    const stale = await act({ 'auth-file': 'podman', registry: host, images: UBI }, env)
    expectOutputs(stale, { result: 'ok', 'pull-ready': 'true' }, 0)
    const otherCredentials = `${host}: podman has an entry (${host}) in ${authJson}, but docker has an entry (${host}) in ${dockerFile}.`
    expect(warnings(stale)).toEqual([expect.stringContaining(otherCredentials)])
    expect(stale.summary.replace(/`/g, '')).toContain(otherCredentials)
    expectNoLeak(stale)
  })
})

// ─── an OpenShift pull secret, against the imitations ──────────────────────────────────────────

describe('an OpenShift pull secret', () => {
  /** The three registries a pull secret names, each answering as the real one, and the proxy. */
  async function imitations() {
    const redHat = servers.add(
      await startRedHatRegistry({
        tls,
        users: { [RH_USER]: RH_PASSWORD },
        repos: { 'ubi9/ubi': { tags: ['latest'] } },
      }),
    )
    const connect = servers.add(
      await startRedHatConnect({ tls, users: { [RH_USER]: RH_PASSWORD } }),
    )
    const quay = servers.add(
      await startQuay({
        tls,
        users: { [QUAY_USER]: QUAY_PASSWORD },
        repos: {
          'openshift-release-dev/ocp-release': { tags: ['4.16.0-x86_64'], users: [QUAY_USER] },
        },
      }),
    )
    const hosts = { ...redHat.hosts, ...connect.hosts, ...quay.hosts }
    const proxy = servers.add(await startConnectProxy({ hosts }))
    return { redHat, connect, quay, proxy }
  }

  /** A pull secret as console.redhat.com writes it: four entries, keys in alphabetical order. */
  async function pullSecret(connectPassword: string): Promise<string> {
    return writeAuthFile(join(await freshDir('pull-secret'), 'pull-secret.json'), {
      auths: {
        'cloud.openshift.com': {
          ...authEntry(CLOUD_USER, CLOUD_PASSWORD),
          email: 'ci@example.com',
        },
        'quay.io': { ...authEntry(QUAY_USER, QUAY_PASSWORD), email: 'ci@example.com' },
        'registry.connect.redhat.com': {
          ...authEntry(RH_USER, connectPassword),
          email: 'ci@example.com',
        },
        'registry.redhat.io': { ...authEntry(RH_USER, RH_PASSWORD), email: 'ci@example.com' },
      },
    })
  }

  test('no images, one stale entry: a verdict per registry, the stale one’s invalid-credentials, nothing sent to cloud.openshift.com', async () => {
    const { redHat, connect, quay, proxy } = await imitations()
    const file = await pullSecret(RH_STALE_PASSWORD)
    const run = await act({ 'auth-file': file, proxy: proxy.url }, {}, tls.caPath)
    issuedElsewhere.push(...redHat.issuedTokens, ...connect.issuedTokens, ...quay.issuedTokens)

    expectOutputs(
      run,
      {
        result: 'invalid-credentials',
        'pull-ready': 'false',
        // The outputs' statuses are the configured registry's (registry.redhat.io, the default).
        'sso-status': '200',
        'registry-status': '200',
      },
      1,
    )
    expect(verdict(run)).toBe('## ❌ Pulls will fail: the credentials were refused')
    expect(run.outputs.message).toContain('registry.connect.redhat.com')
    const from = (key: string): Credentials => ({ from: 'file', file, key })
    expect(report(run).registries).toEqual([
      {
        registry: 'registry.redhat.io',
        pullReady: true,
        result: 'ok',
        credentials: from('registry.redhat.io'),
      },
      { registry: 'quay.io', pullReady: true, result: 'ok', credentials: from('quay.io') },
      {
        registry: 'registry.connect.redhat.com',
        pullReady: false,
        result: 'invalid-credentials',
        detail:
          'the token service at registry.connect.redhat.com refused the credentials (HTTP 401)',
        credentials: from('registry.connect.redhat.com'),
      },
    ])
    // Each registry's token service got that registry's entry, and only it.
    const basicOf = (user: string, password: string): string =>
      `Basic ${authEntry(user, password).auth}`
    const tokenRequests = (imitation: typeof redHat, host: string, path: string) =>
      imitation.servers[host].requests.filter((r) => r.url.startsWith(path))
    const rh = tokenRequests(redHat, 'registry.redhat.io', RHCC_TOKEN_PATH)
    const partner = tokenRequests(connect, 'registry.connect.redhat.com', RHC4TP_TOKEN_PATH)
    const quayTokens = tokenRequests(quay, 'quay.io', '/v2/auth')
    for (const [requests, header] of [
      [rh, basicOf(RH_USER, RH_PASSWORD)],
      [partner, basicOf(RH_USER, RH_STALE_PASSWORD)],
      [quayTokens, basicOf(QUAY_USER, QUAY_PASSWORD)],
    ] as const) {
      expect(requests.length).toBeGreaterThan(0)
      expect(requests.map((r) => r.headers.authorization)).toEqual(requests.map(() => header))
    }
    // cloud.openshift.com: named, never asked (the proxy is the only way out, and it was not
    // asked for it), and said so.
    expect(proxy.connects.map((c) => c.target)).not.toContain('cloud.openshift.com:443')
    expect(new Set(proxy.connects.map((c) => c.target))).toEqual(
      new Set(['registry.redhat.io:443', 'quay.io:443', 'registry.connect.redhat.com:443']),
    )
    expect(report(run).hosts.some((h) => h.startsWith('cloud.openshift.com'))).toBe(false)
    const notChecked = expect.stringContaining(
      'cloud.openshift.com was not checked, and nothing was sent to it',
    )
    expect(report(run).info).toEqual(expect.arrayContaining([notChecked]))
    expect(run.summary.replace(/`/g, '')).toContain(
      'cloud.openshift.com was not checked, and nothing was sent to it',
    )
    // Every entry's secrets were masked as the file was read, the unused one's too.
    expectMaskedFirst(run, [
      authEntry(CLOUD_USER, CLOUD_PASSWORD).auth,
      CLOUD_PASSWORD,
      QUAY_PASSWORD,
      RH_PASSWORD,
      RH_STALE_PASSWORD,
    ])
    expectNoLeak(run)
  })

  test('with images: only their registries are checked, each with its own entry', async () => {
    const { redHat, connect, quay, proxy } = await imitations()
    const file = await pullSecret(RH_STALE_PASSWORD)
    const images = [
      'registry.redhat.io/ubi9/ubi:latest',
      'quay.io/openshift-release-dev/ocp-release:4.16.0-x86_64',
    ]
    const run = await act(
      { 'auth-file': file, proxy: proxy.url, images: images.join('\n') },
      {},
      tls.caPath,
    )
    issuedElsewhere.push(...redHat.issuedTokens, ...connect.issuedTokens, ...quay.issuedTokens)
    expectOutputs(run, { result: 'ok', 'pull-ready': 'true', 'failed-images': '' }, 0)
    expect(report(run).registries.map((r) => [r.registry, r.result, r.credentials])).toEqual([
      ['registry.redhat.io', 'ok', { from: 'file', file, key: 'registry.redhat.io' }],
      ['quay.io', 'ok', { from: 'file', file, key: 'quay.io' }],
    ])
    // The stale entry's registry is not in play: nothing was sent to it.
    expect(connect.requests).toEqual([])
    expect(proxy.connects.map((c) => c.target)).not.toContain('registry.connect.redhat.com:443')
    expectNoLeak(run)
  })
})

// ─── credential helpers ────────────────────────────────────────────────────────────────────────

describe('a credential helper on PATH', () => {
  /** A config that names the helper `test` for the peer (credHelpers) or for all (credsStore). */
  async function helperSetup(behaviour: HelperBehaviour, via: 'credHelpers' | 'credsStore') {
    const base = await freshDir('helper')
    const helper = await writeCredentialHelper(join(base, 'bin'), 'test', behaviour)
    const config =
      via === 'credHelpers'
        ? { auths: {}, credHelpers: { [dist.registry.host]: 'test' } }
        : { auths: {}, credsStore: 'test' }
    const file = await writeAuthFile(join(base, 'config.json'), config)
    const env = { PATH: `${helper.dir}:${process.env.PATH ?? '/usr/bin:/bin'}` }
    return { helper, file, env }
  }

  test('it answers {"Username","Secret"}: ok; asked once, for the registry’s host:port on stdin', async () => {
    const host = dist.registry.host
    const { helper, file, env } = await helperSetup(
      { kind: 'answer', username: HELPER_USER, secret: HELPER_SECRET },
      'credHelpers',
    )
    const [run, requests] = await tokenRequestsDuring(() =>
      act({ 'auth-file': file, registry: host, images: `${UBI}\n${POSTGRES}` }, env),
    )
    expectOutputs(run, { result: 'ok', 'pull-ready': 'true', 'sso-status': '200' }, 0)
    expect(report(run).registries).toEqual([
      {
        registry: host,
        pullReady: true,
        result: 'ok',
        credentials: { from: 'helper', file, helper: 'test' },
      },
    ])
    expect(await helper.calls()).toEqual([{ args: 'get', stdin: host }])
    expect(requests.length).toBeGreaterThan(0)
    expect(requests.map((r) => r.user)).toEqual(requests.map(() => HELPER_USER))
    expect(masked(run)).toContain(HELPER_SECRET)
    expectNoLeak(run)
    // skopeo runs the same helper (on the same PATH) for the same file.
    await expectRefereeAgrees(run, file, [UBI, POSTGRES], { env })
  })

  test.each<[string, HelperBehaviour, 'credHelpers' | 'credsStore', string]>([
    [
      'exits 1',
      { kind: 'fail', stdout: `credentials not found in native keychain ${unique()}`, status: 1 },
      'credHelpers',
      'it exited with status 1',
    ],
    [
      'prints something that is not JSON',
      { kind: 'print', stdout: `Secret=${HELPER_SECRET}` },
      'credsStore',
      'its output is not JSON',
    ],
    [
      'prints JSON without a Secret',
      { kind: 'print', stdout: JSON.stringify({ Username: HELPER_USER }) },
      'credHelpers',
      'its output is not {"Username": …, "Secret": …}',
    ],
    ['hangs past timeout: 1', { kind: 'hang' }, 'credsStore', 'it did not answer within 1 s'],
  ])(
    'it %s: missing-credentials naming docker-credential-test, and no token asked for',
    async (_what, behaviour, via, problem) => {
      const host = dist.registry.host
      const { helper, file, env } = await helperSetup(behaviour, via)
      const [run, requests] = await tokenRequestsDuring(() =>
        act({ 'auth-file': file, registry: host, images: UBI, timeout: '1' }, env),
      )
      expectOutputs(
        run,
        { result: 'missing-credentials', 'pull-ready': 'false', 'failed-images': UBI },
        1,
      )
      expect(verdict(run)).toBe('## ❌ Pulls will fail: credentials are missing')
      expect(run.outputs.message).toContain(
        `The credential helper docker-credential-test (named in ${file}) gave no credentials for ${host}: ${problem}: `,
      )
      expect(report(run).registries).toEqual([
        expect.objectContaining({
          registry: host,
          pullReady: false,
          result: 'missing-credentials',
          credentials: { from: 'helper', file, helper: 'test' },
        }),
      ])
      expect(await helper.calls()).toEqual([{ args: 'get', stdin: host }])
      // Without the credentials the puller would have, the token service is not asked at all.
      expect(requests).toEqual([])
      // A helper that hangs is given up on after the timeout, not waited for.
      expect(run.durationMs).toBeLessThan(5_000)
      expectNoLeak(
        run,
        behaviour.kind === 'fail' || behaviour.kind === 'print' ? [behaviour.stdout] : [],
      )
    },
  )

  // Fails on src as it stands: firstStep() and howToFix() for missing-credentials always speak of
  // the username and password inputs, whatever the credentials were to come from.
  test('the advice for a helper that failed points at the helper, not at the username and password inputs', async () => {
    const host = dist.registry.host
    const { file, env } = await helperSetup(
      { kind: 'fail', stdout: 'credentials not found in native keychain', status: 1 },
      'credHelpers',
    )
    const run = await act({ 'auth-file': file, registry: host, images: UBI }, env)
    expectOutputs(run, { result: 'missing-credentials', 'pull-ready': 'false' }, 1)
    // No username or password was given: the credentials were to come from the helper.
    expect(run.outputs.message).not.toContain('`username` and `password`')
    expect(howToFix(run)).not.toContain('`with: username:`')
    expect(howToFix(run)).toContain('docker-credential-test')
    expectNoLeak(run)
  })

  test('it is not on PATH: missing-credentials naming the program', async () => {
    const host = dist.registry.host
    const file = await writeAuthFile(join(await freshDir('no-helper'), 'config.json'), {
      auths: {},
      credsStore: 'absent',
    })
    const run = await act({ 'auth-file': file, registry: host, images: UBI })
    expectOutputs(run, { result: 'missing-credentials', 'pull-ready': 'false' }, 1)
    expect(run.outputs.message).toContain(
      `The credential helper docker-credential-absent (named in ${file}) gave no credentials for ${host}: docker-credential-absent is not on PATH: `,
    )
    expectNoLeak(run)
  })
})

// ─── identity tokens ───────────────────────────────────────────────────────────────────────────

describe('an identity token (OAuth2 refresh token)', () => {
  /**
   * A fake registry whose challenge names an OAuth2 endpoint; the endpoint trades known refresh
   * tokens for the fake's own tokens.
   */
  async function refreshPeers(refreshTokens: string[]) {
    let realm = ''
    const fake = servers.add(
      await startFakeRedHat({
        tls,
        users: { [REFRESH_USER]: REFRESH_PASSWORD },
        images: { 'ubi9/ubi': ['latest'] },
        // /v2/ without a token it issued: a challenge naming the refresh endpoint.
        handler: (req, res, { url, registry }) => {
          if (url.pathname !== '/v2/') return false
          const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1]
          if (token !== undefined && registry.issuedTokens.includes(token)) return false
          const body = JSON.stringify({
            errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }],
          })
          res.writeHead(401, {
            'Content-Type': 'application/json',
            'Docker-Distribution-Api-Version': 'registry/2.0',
            'WWW-Authenticate': `Bearer realm="${realm}",service="docker-registry"`,
            'Content-Length': String(Buffer.byteLength(body)),
          })
          res.end(body)
          return true
        },
      }),
    )
    const oauth = servers.add(
      await startRefreshRealm({
        tls,
        upstream: fake.realm,
        refreshTokens: Object.fromEntries(
          refreshTokens.map((t) => [t, { user: REFRESH_USER, password: REFRESH_PASSWORD }]),
        ),
      }),
    )
    realm = oauth.realm
    return { fake, oauth }
  }

  /** The identity token arrived as RFC 6749's refresh grant, and nowhere else. */
  function expectRefreshGrant(
    peers: Awaited<ReturnType<typeof refreshPeers>>,
    token: string,
  ): void {
    const { fake, oauth } = peers
    expect(oauth.requests.length).toBeGreaterThan(0)
    for (const request of oauth.requests) {
      expect(request).toMatchObject({
        method: 'POST',
        contentType: expect.stringMatching(/^application\/x-www-form-urlencoded/),
        authorization: false,
      })
      expect(request.form).toMatchObject({
        grant_type: ['refresh_token'],
        refresh_token: [token],
        service: ['docker-registry'],
      })
    }
    expect(oauth.requests.some((r) => r.form.scope?.includes('repository:ubi9/ubi:pull'))).toBe(
      true,
    )
    // The registry never saw the identity token: only the tokens traded for it.
    for (const request of fake.requests)
      expect(JSON.stringify(request.headers)).not.toContain(token)
  }

  test.each<[string, boolean]>([
    ['an entry with only an identitytoken', false],
    // Fails on src as it stands: decodeAuth() refuses an `auth` whose password is empty, so the
    // whole file is invalid-input, though docker and skopeo both use this entry.
    ['an entry as docker login writes it (auth: base64 of "user:", and the identitytoken)', true],
  ])('%s: traded with POST grant_type=refresh_token, ok', async (_what, dockerForm) => {
    // docker login keeps the user name beside an identity token: `auth` is base64 of "user:".
    const entryOf = (token: string, user: string): Record<string, string> =>
      dockerForm
        ? { auth: Buffer.from(`${user}:`).toString('base64'), identitytoken: token }
        : { identitytoken: token }
    const peers = await refreshPeers([IDENTITY_TOKEN])
    const { fake } = peers
    const file = await writeAuthFile(join(await freshDir('identity'), 'config.json'), {
      auths: { [fake.host]: entryOf(IDENTITY_TOKEN, '00000000-0000-0000-0000-000000000000') },
    })
    const run = await act({ 'auth-file': file, registry: fake.host, images: UBI }, {}, tls.caPath)
    issuedElsewhere.push(...fake.issuedTokens)
    // The message first, so that a failure says why.
    expect({ result: run.outputs.result, message: run.outputs.message }).toEqual({
      result: 'ok',
      message: expect.stringMatching(/^Pulls from .* will succeed/),
    })
    expectOutputs(
      run,
      { result: 'ok', 'pull-ready': 'true', 'sso-status': '200', 'registry-status': '200' },
      0,
    )
    expect(report(run).registries).toEqual([
      {
        registry: fake.host,
        pullReady: true,
        result: 'ok',
        credentials: { from: 'file', file, key: fake.host },
      },
    ])
    expectRefreshGrant(peers, IDENTITY_TOKEN)
    expectMaskedFirst(run, [IDENTITY_TOKEN])
    expectNoLeak(run)
    // containers/image (skopeo, podman) uses an identitytoken only beside an `auth` it can split
    // at a colon, as docker writes it; docker uses one alone too. So skopeo referees that form only.
    if (dockerForm)
      await expectRefereeAgrees(run, file, [UBI], { registry: fake.host, certDir: tlsCertDir })
  })

  test('a credential helper that answers Username <token>: its Secret is traded as an identity token', async () => {
    const peers = await refreshPeers([HELPER_IDENTITY_TOKEN])
    const { fake } = peers
    const base = await freshDir('helper-token')
    const helper = await writeCredentialHelper(join(base, 'bin'), 'test', {
      kind: 'answer',
      username: '<token>',
      secret: HELPER_IDENTITY_TOKEN,
    })
    const file = await writeAuthFile(join(base, 'config.json'), {
      credHelpers: { [fake.host]: 'test' },
    })
    const env = { PATH: `${helper.dir}:${process.env.PATH ?? '/usr/bin:/bin'}` }
    const run = await act({ 'auth-file': file, registry: fake.host, images: UBI }, env, tls.caPath)
    issuedElsewhere.push(...fake.issuedTokens)
    expectOutputs(run, { result: 'ok', 'pull-ready': 'true' }, 0)
    expect(report(run).registries[0].credentials).toEqual({ from: 'helper', file, helper: 'test' })
    expect(await helper.calls()).toEqual([{ args: 'get', stdin: fake.host }])
    expectRefreshGrant(peers, HELPER_IDENTITY_TOKEN)
    expect(masked(run)).toContain(HELPER_IDENTITY_TOKEN)
    expectNoLeak(run)
    await expectRefereeAgrees(run, file, [UBI], { registry: fake.host, certDir: tlsCertDir, env })
  })

  test('an identity token the service no longer accepts (401, as distribution’s token server answers): invalid-credentials', async () => {
    const peers = await refreshPeers([])
    const { fake } = peers
    const file = await writeAuthFile(join(await freshDir('identity-expired'), 'config.json'), {
      auths: { [fake.host]: { identitytoken: EXPIRED_IDENTITY_TOKEN } },
    })
    const run = await act({ 'auth-file': file, registry: fake.host, images: UBI }, {}, tls.caPath)
    expectRefreshGrant(peers, EXPIRED_IDENTITY_TOKEN)
    expect(peers.oauth.requests.every((r) => r.status === 401)).toBe(true)
    expectOutputs(
      run,
      { result: 'invalid-credentials', 'pull-ready': 'false', 'sso-status': '401' },
      1,
    )
    expect(report(run).registries).toEqual([
      expect.objectContaining({
        registry: fake.host,
        result: 'invalid-credentials',
        credentials: { from: 'file', file, key: fake.host },
      }),
    ])
    expectNoLeak(run)
    // No referee here: skopeo would not use an identitytoken without an `auth` beside it (see above).
  })
})

// ─── files that cannot be used ─────────────────────────────────────────────────────────────────

describe('an auth file that cannot be used: invalid-input, nothing sent, nothing of it shown', () => {
  /** A secret-looking string each bad file holds. */
  const BURIED = `buried-${unique()}`
  const BURIED_AUTH = Buffer.from(`${BURIED}-no-colon`).toString('base64')

  test.each<[string, (path: string) => Promise<void>, string]>([
    ['a path that does not exist', async () => {}, ' does not exist'],
    [
      'a file that is not JSON',
      async (path) => {
        await writeFile(path, `{"auths": {"registry.example:5000": {"auth": "${BURIED}"`)
      },
      ': it is not JSON',
    ],
    [
      'a file over 1 MiB',
      async (path) => {
        const json = JSON.stringify({ auths: { 'registry.example:5000': { auth: BURIED } } })
        await writeFile(path, json + ' '.repeat(1024 * 1024))
      },
      ' is over 1 MiB, which no auth file is',
    ],
    [
      'an auth that is not base64 of user:password',
      async (path) => {
        await writeFile(
          path,
          JSON.stringify({ auths: { 'registry.example:5000': { auth: BURIED_AUTH } } }),
        )
      },
      ': its entry for registry.example:5000 has an "auth" that is not base64 of user:password',
    ],
    [
      'an "auths" that is not an object',
      async (path) => {
        await writeFile(path, JSON.stringify({ auths: [BURIED] }))
      },
      ': its "auths" is not an object',
    ],
  ])('%s', async (_what, write, wrong) => {
    const fake = servers.add(await startFakeRedHat({ tls, users: {} }))
    const path = join(await freshDir('bad'), 'config.json')
    await write(path)
    const run = await act({ 'auth-file': path, registry: fake.host, images: UBI }, {}, tls.caPath)
    expectOutputs(run, { result: 'invalid-input', 'pull-ready': 'false' }, 1)
    expect(run.outputs.message).toBe(`Invalid auth-file: ${path}${wrong}.`)
    expect(verdict(run)).toMatch(/^## ❌ Not checked: an input is invalid/)
    expect(run.summary.replace(/`/g, '')).toContain(`Invalid auth-file: ${path}`)
    expect(report(run).hosts).toEqual([])
    expect(fake.requests).toEqual([])
    expectNoLeak(run, [BURIED, BURIED_AUTH, `${BURIED}-no-colon`])
  })
})
