/**
 * What an end-to-end test file sets up before its first run of the built action: a temporary
 * folder with the test CA in it, the servers it starts (closed for it), a test account, the
 * imitation of registry.redhat.io that knows that account, a way to run the action as that account
 * trusting the CA, and the check that no secret of the account, of any token the imitation issued,
 * or of the file's own list leaked. One copy of these, so that every file runs the action, and looks
 * for leaks, the same way.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startFakeRedHat } from '../../scripts/lib/fake-registry.mjs'
import { makeCertificates, type Certificates } from '../../scripts/lib/tls.mjs'
import { Servers, basic, expectNoSecrets, runDebug, type Run } from './e2e.js'

export type FakeRedHat = Awaited<ReturnType<typeof startFakeRedHat>>
export type FakeRedHatOptions = Parameters<typeof startFakeRedHat>[0]
/** Fault injection: called before the imitation's own routes; returns true when it answered. */
export type FakeHandler = NonNullable<FakeRedHatOptions['handler']>

/** A user name and password, as a workflow gives them to the action. */
export interface Account {
  user: string
  password: string
}

/**
 * The forms an account's password takes once the action has it: as given, URL-encoded (a query or
 * a form body), and inside the Basic header's base64.
 */
export function accountSecrets({ user, password }: Account): string[] {
  return [password, encodeURIComponent(password), basic(user, password)]
}

export interface HarnessOptions {
  /** Names the temporary folder (`preflight-<name>-…`). */
  name: string
  account: Account
  /** The imitation's repositories and their tags. */
  images?: Record<string, string[]>
  /** Host names the test certificate holds besides 127.0.0.1 and localhost. */
  names?: string[]
  /** Inputs of every run, on top of the account, `retries: 0` and `timeout: 5`. */
  inputs?: Record<string, string>
  /** Secrets no run may show besides the account's and the issued tokens (a proxy's password). */
  secrets?: string[]
  /** How long a run may take before the harness kills it. */
  timeoutMs?: number
  /**
   * When the servers are closed: after each test, or once at the end, for files whose tests run
   * side by side (test.concurrent) or share one run between tests.
   */
  closeServers: 'after-each' | 'after-all'
}

export interface Harness {
  /** The temporary folder, removed after the file's last test. */
  readonly dir: string
  readonly tls: Certificates
  readonly servers: Servers
  readonly account: Account
  /** The imitation of registry.redhat.io, knowing the account and the images; kept for closing. */
  fakeRedHat(options?: Partial<FakeRedHatOptions>): Promise<FakeRedHat>
  /** Runs dist/index.js as the account, with step debug logging on, trusting the test CA. */
  act(inputs?: Record<string, string>, env?: Record<string, string | undefined>): Promise<Run>
  /**
   * No secret in what the run wrote: the account's, every token an imitation of this harness
   * issued so far, the file's `secrets`, and `more`.
   */
  expectNoLeak(run: Run, more?: string[]): void
}

/** Sets up the harness of a test file: call it at the top of the file (it registers hooks). */
export function e2eHarness(options: HarnessOptions): Harness {
  const { name, account, images = {}, names, secrets = [], timeoutMs, closeServers } = options
  const servers = new Servers()
  const fakes: FakeRedHat[] = []
  let dir: string | undefined
  let tls: Certificates | undefined

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), `preflight-${name}-`))
    tls = await makeCertificates(dir, { names })
  })
  if (closeServers === 'after-each') afterEach(() => servers.closeAll())
  afterAll(async () => {
    await servers.closeAll()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`e2eHarness: ${what} exists from beforeAll on`)
    return value
  }

  return {
    get dir() {
      return ready(dir, 'dir')
    },
    get tls() {
      return ready(tls, 'tls')
    },
    servers,
    account,
    async fakeRedHat(more = {}) {
      const fake = await startFakeRedHat({
        tls: ready(tls, 'tls'),
        users: { [account.user]: account.password },
        images,
        ...more,
      })
      fakes.push(fake)
      return servers.add(fake)
    },
    act(inputs = {}, env = {}) {
      return runDebug({
        inputs: {
          username: account.user,
          password: account.password,
          retries: '0',
          timeout: '5',
          ...options.inputs,
          ...inputs,
        },
        env,
        caPath: ready(tls, 'tls').caPath,
        timeoutMs,
      })
    },
    expectNoLeak(run, more = []) {
      const tokens = fakes.flatMap((fake) => fake.issuedTokens)
      // An empty value (no password given) is no secret, and every text would "contain" it.
      const all = [...accountSecrets(account), ...tokens, ...secrets, ...more].filter(Boolean)
      expectNoSecrets(run, all)
    },
  }
}
