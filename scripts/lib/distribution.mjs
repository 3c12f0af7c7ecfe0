// A real registry for the end-to-end tests: Debian's docker-registry (the distribution registry
// 2.8), on 127.0.0.1 with TLS and `auth: token`, and in front of it a token service (node:https)
// that imitates Red Hat SSO: its URL shape (/auth/realms/<realm>/protocol/redhat-docker-v2/auth),
// its JSON bodies ({token, access_token, expires_in, issued_at}; a 401 with
// {"errors":[{"code":"UNAUTHORIZED",…}]}), and JWTs the registry verifies for real: ES256, signed
// with the test CA's key, the CA's certificate in the `x5c` header, the registry trusting that CA
// (`rootcertbundle`). Set-up pushes small images into it with skopeo, from OCI layouts made here.
//
// Also the referee: skopeo inspect (the manifest) and skopeo copy (the whole pull, layers
// included) against the same registry, with the same credentials and CA.
//
// The layer path: a registry process can be started with distribution's `redirect` storage
// middleware, which answers every blob GET and HEAD with 307 to <baseurl's scheme and host> + the
// blob's storage path; startCdn() serves the storage directory at those paths (blob-cdn.mjs).
//
// Every process runs under squid.mjs's watchdog (it dies with close(), with the test process, and
// after a few minutes in any case); every server listens on 127.0.0.1 only.
import { execFile } from 'node:child_process'
import { X509Certificate, createPrivateKey, randomBytes, randomUUID, sign } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { existsSync, writeFileSync } from 'node:fs'
import https from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startBlobCdn } from './blob-cdn.mjs'
import { LOOPBACK, closer, listen } from './loopback.mjs'
import { buildImage, writeImageLayout } from './oci-images.mjs'
import { freePort, requireProgram, spawnPeer, waitForPort } from './squid.mjs'
import { makeCertificates } from './tls.mjs'
import { basicUser, requestedScopes } from './token-protocol.mjs'

/** The token service's paths, as Red Hat SSO's: one realm per registry family. */
export const realmPath = (/** @type {string} */ realm) =>
  `/auth/realms/${realm}/protocol/redhat-docker-v2/auth`
/** The service registry.redhat.io announces, and so the one this registry announces. */
export const SERVICE = 'docker-registry'
/**
 * Red Hat's partner realm (registry.connect.redhat.com): the same accounts, but its tokens are for
 * its own registry, whatever service is asked for.
 */
export const PARTNER_REALM = 'rhc4tp'
export const PARTNER_SERVICE = 'registry.connect.redhat.com'
const ISSUER = 'registry-auth-preflight test SSO'
const TOKEN_LIFETIME_S = 300

const JSON_TYPE = 'application/json'
const BAD_LOGIN = JSON.stringify({
  errors: [{ code: 'UNAUTHORIZED', message: 'Invalid username or password' }],
})

/**
 * @typedef {import('./tls.mjs').Certificates} Certificates
 *
 * @typedef {object} Account
 * @property {string} password
 * @property {'*' | string[]} [entitlements] repositories it may pull; `*` for all; none by default
 *   (the token is still granted, with an empty access list, as Red Hat SSO does)
 * @property {boolean} [push] may push to the repositories it is entitled to
 *
 * @typedef {object} ResourceActions
 * @property {string} type
 * @property {string} name
 * @property {string[]} actions
 *
 * @typedef {object} Issued a token the service issued (the tests check that none leaks)
 * @property {string} token
 * @property {string} user
 * @property {string} realm
 * @property {string} audience
 * @property {ResourceActions[]} access
 *
 * @typedef {object} TokenService
 * @property {number} port
 * @property {string} host `127.0.0.1:<port>`
 * @property {string} url `https://127.0.0.1:<port>`
 * @property {(realm?: string, host?: string) => string} realm the URL of a realm (default `rhcc`),
 *   optionally under another host name (one only a proxy resolves, say)
 * @property {Issued[]} issued every token issued, in order
 * @property {{ url: string, host: string | undefined, user: string | undefined }[]} requests
 *   every request (path and query, the Host header, the Basic user name if any)
 * @property {() => Promise<void>} close
 */

// ─── the token service ─────────────────────────────────────────────────────────────────────────

/** @param {Buffer | string} data */
const base64url = (data) => Buffer.from(data).toString('base64url')

/**
 * The Red Hat SSO imitation. Realms: `rhcc` issues tokens for the service asked for (as the token
 * spec has it); `rhc4tp` (the partner registry's) for PARTNER_SERVICE whatever is asked.
 * @param {{ tls: Certificates, signingKey: string, signingCert: string, users: Record<string, Account> }} options
 *   signingKey and signingCert: PEM of the key that signs the JWTs and of its certificate (the
 *   registry must trust that certificate through its rootcertbundle)
 * @returns {Promise<TokenService>}
 */
export async function startTokenService({ tls, signingKey, signingCert, users }) {
  const key = createPrivateKey(signingKey)
  if (key.asymmetricKeyType !== 'ec')
    throw new Error('startTokenService: the signing key must be EC P-256 (ES256)')
  const x5c = [new X509Certificate(signingCert).raw.toString('base64')]
  const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'ES256', x5c }))
  /** @type {Record<string, string | undefined>} realm → fixed audience (undefined: as asked) */
  const realms = { rhcc: undefined, [PARTNER_REALM]: PARTNER_SERVICE }
  /** @type {Issued[]} */
  const issued = []
  /** @type {TokenService['requests']} */
  const requests = []

  /**
   * @param {string} user
   * @param {string} audience
   * @param {ResourceActions[]} access
   */
  const jwt = (user, audience, access) => {
    const now = Math.floor(Date.now() / 1000)
    const claims = base64url(
      JSON.stringify({
        iss: ISSUER,
        sub: user,
        aud: audience,
        exp: now + TOKEN_LIFETIME_S,
        nbf: now - 5,
        iat: now,
        jti: randomUUID(),
        access,
      }),
    )
    const input = `${header}.${claims}`
    // JWS wants the raw r‖s (IEEE P1363), not DER, for ECDSA signatures.
    const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
    return `${input}.${base64url(signature)}`
  }

  /** @type {import('node:http').RequestListener} */
  const listener = (req, res) => {
    req.resume()
    const url = new URL(`http://${LOOPBACK}${req.url ?? '/'}`)
    const user = basicUser(req.headers.authorization, (name) =>
      Object.hasOwn(users, name) ? users[name].password : undefined,
    )
    requests.push({ url: req.url ?? '', host: req.headers.host, user: user ?? undefined })
    /** @param {number} status @param {string} body @param {Record<string, string>} [extra] */
    const reply = (status, body, extra = {}) => {
      res.writeHead(status, {
        'Content-Type': JSON_TYPE,
        'Content-Length': String(Buffer.byteLength(body)),
        ...extra,
      })
      res.end(body)
    }
    const realm = /^\/auth\/realms\/([^/]+)\/protocol\/redhat-docker-v2\/auth$/.exec(
      url.pathname,
    )?.[1]
    if (realm === undefined || !Object.hasOwn(realms, realm))
      return reply(404, JSON.stringify({ error: 'Realm does not exist' }))
    if (req.method !== 'GET')
      return reply(405, JSON.stringify({ errors: [{ code: 'UNSUPPORTED', message: 'GET only' }] }))
    if (typeof user !== 'string') return reply(401, BAD_LOGIN)

    const account = users[user]
    const entitled = (/** @type {string} */ repo) =>
      account.entitlements === '*' || (account.entitlements ?? []).includes(repo)
    /** @type {ResourceActions[]} */
    const access = requestedScopes(url.searchParams).flatMap((scope) => {
      if (scope.type !== 'repository' || !entitled(scope.name)) return []
      const actions = scope.actions.filter((a) => a === 'pull' || (a === 'push' && account.push))
      return actions.length ? [{ type: 'repository', name: scope.name, actions }] : []
    })
    const audience = realms[realm] ?? url.searchParams.get('service') ?? ''
    const token = jwt(user, audience, access)
    issued.push({ token, user, realm, audience, access })
    return reply(
      200,
      JSON.stringify({
        token,
        access_token: token,
        expires_in: TOKEN_LIFETIME_S,
        issued_at: new Date().toISOString(),
      }),
    )
  }

  const server = https.createServer({ cert: tls.cert, key: tls.key }, listener)
  const close = closer(server, undefined, 'token service')
  const port = await listen(server)

  const host = `${LOOPBACK}:${port}`
  return {
    port,
    host,
    url: `https://${host}`,
    realm: (name = 'rhcc', hostName = LOOPBACK) => `https://${hostName}:${port}${realmPath(name)}`,
    issued,
    requests,
    close,
  }
}

// ─── the registry ──────────────────────────────────────────────────────────────────────────────

/**
 * @typedef {object} RegistryProcess
 * @property {number} port
 * @property {string} host `127.0.0.1:<port>`
 * @property {string} realm the realm it announces
 * @property {string | undefined} redirect the redirect middleware's baseurl, if it has one
 * @property {() => string} output what docker-registry logged (the last 64 KiB)
 * @property {() => RegistryRequest[]} requests the requests it answered, as its log has them (the
 *   last 64 KiB of it: start a registry of its own for a test that counts them)
 * @property {() => Promise<void>} close
 */

/**
 * @typedef {object} RegistryRequest one "response completed" line of docker-registry's log
 * @property {string} method
 * @property {string} uri path and query
 * @property {number} status
 */

/**
 * The requests a docker-registry log reports as answered. Its lines are logrus text: key=value,
 * the value quoted only when it holds spaces or quotes.
 * @param {string} log
 * @returns {RegistryRequest[]}
 */
export function answeredRequests(log) {
  return log
    .split('\n')
    .filter((line) => line.includes('msg="response completed"'))
    .map((line) => {
      /** @param {string} key */
      const field = (key) =>
        new RegExp(`\\s${key.replace(/\./g, '\\.')}=(?:"((?:[^"\\\\]|\\\\.)*)"|(\\S+))`).exec(line)
      /** @param {string} key */
      const value = (key) => {
        const m = field(key)
        return m ? (m[1] ?? m[2]) : ''
      }
      return {
        method: value('http.request.method'),
        uri: value('http.request.uri'),
        status: Number(value('http.response.status')),
      }
    })
}

/**
 * docker-registry's configuration: TLS, filesystem storage, token auth, and with `redirect` the
 * redirect storage middleware. JSON is YAML.
 * @param {{ port: number, storage: string, tls: Certificates, realm: string, rootCertBundle: string, redirect?: string }} c
 */
function registryConfig({ port, storage, tls, realm, rootCertBundle, redirect }) {
  return JSON.stringify(
    {
      // Distribution 2.8 keeps only the baseurl's scheme and host (with its port): a path or a
      // query in it is dropped. Blob GETs and HEADs alike are then answered 307 to
      // <scheme>://<host>/docker/registry/v2/blobs/sha256/<2>/<hex>/data.
      ...(redirect
        ? { middleware: { storage: [{ name: 'redirect', options: { baseurl: redirect } }] } }
        : {}),
      version: 0.1,
      log: { level: 'info', formatter: 'text', accesslog: { disabled: true } },
      storage: {
        filesystem: { rootdirectory: storage },
        maintenance: { uploadpurging: { enabled: false } },
      },
      http: {
        addr: `${LOOPBACK}:${port}`,
        secret: randomBytes(16).toString('hex'),
        tls: { certificate: tls.certPath, key: tls.keyPath },
      },
      auth: { token: { realm, service: SERVICE, issuer: ISSUER, rootcertbundle: rootCertBundle } },
      health: { storagedriver: { enabled: false } },
    },
    null,
    2,
  )
}

/**
 * Starts `docker-registry serve <config>` on 127.0.0.1 and a free port.
 * @param {{ dir: string, storage: string, tls: Certificates, realm: string, rootCertBundle: string, lifetimeS?: number, redirect?: string }} options
 *   dir: where its configuration goes; storage: its root directory (two registries may share one);
 *   redirect: a baseurl (`https://cdn.example:8443/`) for the redirect storage middleware: blobs
 *   are then never served by the registry itself, but answered 307 to that host
 * @returns {Promise<RegistryProcess>}
 */
export async function startRegistry({
  dir,
  storage,
  tls,
  realm,
  rootCertBundle,
  lifetimeS,
  redirect,
}) {
  const program = requireProgram('docker-registry')
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort()
    const config = join(dir, `registry-${port}.yml`)
    await writeFile(config, registryConfig({ port, storage, tls, realm, rootCertBundle, redirect }))
    const peer = spawnPeer(program, ['serve', config], {
      name: 'docker-registry',
      cwd: dir,
      lifetimeS,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
    })
    try {
      await waitForPort(port, peer, 'docker-registry')
    } catch (error) {
      await peer.stop()
      if (attempt < 3 && /address already in use/i.test(String(error))) continue
      throw error
    }
    const host = `${LOOPBACK}:${port}`
    return {
      port,
      host,
      realm,
      redirect,
      output: peer.output,
      requests: () => answeredRequests(peer.output()),
      close: peer.stop,
    }
  }
}

// ─── images ────────────────────────────────────────────────────────────────────────────────────

/**
 * @typedef {object} OciImage
 * @property {string} layout the OCI layout directory
 * @property {string} tag the tag it holds
 * @property {string} digest the manifest's digest, which the registry serves it under
 * @property {import('./oci-images.mjs').BuiltImage} image all of it: manifests, configs, layers
 */

/**
 * Writes an OCI image layout with one small image: a config blob (linux/amd64) and one layer (a
 * tar.gz with a single file), every digest computed here.
 * @param {string} dir an empty directory
 * @param {string} name what the image's one file says (makes each image distinct)
 * @param {string} tag
 * @returns {Promise<OciImage>}
 */
export async function writeOciLayout(dir, name, tag) {
  return writeIndexLayout(dir, name, tag, ['linux/amd64'], false)
}

/**
 * Writes an OCI image layout with an index over one small image per platform (each its own config
 * and layer), or with a single manifest when `index` is false (one platform only).
 * @param {string} dir an empty directory
 * @param {string} name what the images' one file says
 * @param {string} tag
 * @param {string[]} platforms `os/arch[/variant]`: `linux/amd64`, `linux/arm64/v8`
 * @param {boolean} [index] default true
 * @returns {Promise<OciImage>}
 */
export async function writeIndexLayout(dir, name, tag, platforms, index = true) {
  const image = buildImage(name, { platforms, index, format: 'oci' })
  await writeImageLayout(dir, image, tag)
  return { layout: dir, tag, digest: image.top.digest, image }
}

// ─── skopeo ────────────────────────────────────────────────────────────────────────────────────

/**
 * @typedef {object} SkopeoResult
 * @property {boolean} ok exit status 0
 * @property {number | string | null} code exit status (or the error code when it could not run)
 * @property {string} stdout
 * @property {string} stderr
 */

/**
 * The command that runs `program` where no DNS query can leave the machine: as root, in a mount
 * namespace of its own whose resolv.conf names 127.0.0.1, where nothing answers. Test names
 * (`*.test`) then fail to resolve at once, as they would anywhere, and real ones are never
 * asked for. Without root (or unshare) the program runs as it is.
 * @param {string} program
 * @param {string[]} args
 * @param {string} dir a directory for the resolv.conf
 * @returns {[string, string[]]}
 */
function offline(program, args, dir) {
  const unshare = ['/usr/bin/unshare', '/bin/unshare'].find((p) => existsSync(p))
  if (process.getuid?.() !== 0 || !unshare) return [program, args]
  const resolv = join(dir, 'resolv.conf')
  writeFileSync(resolv, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n')
  const script = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'
  return [unshare, ['--mount', 'sh', '-c', script, resolv, program, ...args]]
}

/**
 * Runs skopeo (asynchronously: the test process hosts servers that must keep answering) with an
 * environment of its own: a fresh HOME, so no auth.json or containers.conf of the developer's is
 * read, plus `env` (HTTPS_PROXY, NO_PROXY for the proxy cases).
 * @param {string[]} args
 * @param {{ env?: Record<string, string>, home: string, timeoutMs?: number }} options
 * @returns {Promise<SkopeoResult>}
 */
export function skopeo(args, { env = {}, home, timeoutMs = 30_000 }) {
  const program = requireProgram('skopeo')
  const [file, argv] = offline(program, args, home)
  return new Promise((resolve) => {
    execFile(
      file,
      argv,
      {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...env },
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 4 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (/** @type {{ code?: number | string }} */ (error).code ?? null) : 0
        resolve({ ok: !error, code, stdout, stderr: stderr || (error ? String(error) : '') })
      },
    )
  })
}

/**
 * What a real client says about an image: `skopeo inspect --creds user:pass --cert-dir <dir>
 * docker://<ref>`. The result's digest is the one skopeo read, when it succeeded.
 * @param {{ reference: string, creds?: string, certDir: string, home: string, env?: Record<string, string> }} options
 *   reference: `host:port/repo:tag`
 * @returns {Promise<SkopeoResult & { digest?: string }>}
 */
export async function skopeoInspect({ reference, creds, certDir, home, env }) {
  const args = [
    'inspect',
    '--retry-times',
    '0',
    ...(creds === undefined ? ['--no-creds'] : ['--creds', creds]),
    '--cert-dir',
    certDir,
    `docker://${reference}`,
  ]
  const result = await skopeo(args, { home, env })
  let digest
  if (result.ok) {
    try {
      digest = /** @type {{ Digest?: string }} */ (JSON.parse(result.stdout)).Digest
    } catch {
      digest = undefined
    }
  }
  return { ...result, digest }
}

/**
 * @typedef {object} CopyOptions
 * @property {string} reference `host:port/repo:tag`
 * @property {string} [creds] `user:password`; none: `--src-no-creds`
 * @property {string} certDir
 * @property {string} home
 * @property {Record<string, string>} [env]
 * @property {string} [arch] `--override-arch` (`arm64`)
 * @property {string} [variant] `--override-variant` (`v8`)
 * @property {string} [os] `--override-os`
 * @property {boolean} [all] `--all`: every platform of an index
 * @property {number} [timeoutMs] `--command-timeout`, and the kill timer a little after it
 */

/**
 * What a real pull says about an image, layers included: `skopeo copy docker://<ref> dir:<tmp>`
 * reads the manifest (for an index, the one for the platform asked for), then every blob, following
 * the registry's redirects as a pull does. The directory is removed afterwards.
 * @param {CopyOptions} options
 * @returns {Promise<SkopeoResult>}
 */
export async function skopeoCopy({
  reference,
  creds,
  certDir,
  home,
  env,
  arch,
  variant,
  os,
  all = false,
  timeoutMs = 20_000,
}) {
  const target = await mkdtemp(join(tmpdir(), 'skopeo-copy-'))
  try {
    const args = [
      ...(arch ? ['--override-arch', arch] : []),
      ...(variant ? ['--override-variant', variant] : []),
      ...(os ? ['--override-os', os] : []),
      '--command-timeout',
      `${Math.round(timeoutMs / 1000)}s`,
      '--insecure-policy',
      'copy',
      '--quiet',
      '--retry-times',
      '0',
      ...(creds === undefined ? ['--src-no-creds'] : ['--src-creds', creds]),
      '--src-cert-dir',
      certDir,
      ...(all ? ['--all'] : []),
      `docker://${reference}`,
      `dir:${join(target, 'image')}`,
    ]
    return await skopeo(args, { home, env, timeoutMs: timeoutMs + 5_000 })
  } finally {
    await rm(target, { recursive: true, force: true })
  }
}

// ─── all of it ─────────────────────────────────────────────────────────────────────────────────

/**
 * @typedef {object} DistributionOptions
 * @property {Record<string, Account>} users the token service's accounts (the set-up account is
 *   added to them)
 * @property {Record<string, string[]>} [images] repository → tags to push, each a single linux/amd64
 *   manifest (default: `ubi9/ubi` and `rhel9/postgresql-15`, tag `latest`)
 * @property {Record<string, string[]>} [indexes] `repo:tag` → platforms (`linux/arm64/v8`): images
 *   pushed as an OCI index over one image per platform
 * @property {string[]} [names] extra DNS names for the certificates (names only a proxy resolves)
 * @property {number} [lifetimeS] the watchdog's limit for the registry processes
 *
 * @typedef {object} Distribution
 * @property {string} dir the temp dir (certificates, storage, configurations)
 * @property {Certificates} tls the test CA and the server certificate (registry and token service)
 * @property {string} storage the registries' storage rootdirectory (what a blob CDN serves)
 * @property {string} certDir a directory holding only `ca.crt`, for skopeo's --cert-dir
 * @property {string} home an empty HOME for skopeo
 * @property {TokenService} tokens the token service
 * @property {RegistryProcess} registry the registry, announcing the `rhcc` realm
 * @property {Record<string, string>} digests `repo:tag` → digest of what was pushed (of the index,
 *   for `indexes`)
 * @property {Record<string, import('./oci-images.mjs').BuiltImage>} pushed `repo:tag` → the image
 *   pushed (its platforms' manifests and config digests, for tests that follow a blob)
 * @property {{ user: string, password: string }} setup the account that pushed the images
 * @property {(realm?: string, options?: { redirect?: string }) => Promise<RegistryProcess>} startRegistry
 *   another registry process on the same storage that announces a realm of the token service
 *   (default `rhcc`), with the redirect middleware when `redirect` is given (closed by close())
 * @property {(options?: { tls?: Certificates | null, mode?: import('./blob-cdn.mjs').CdnMode }) => Promise<import('./blob-cdn.mjs').BlobCdn>} startCdn
 *   a blob CDN over the storage, with this TLS (default) or another certificate, or plain http
 *   (`tls: null`) (closed by close())
 * @property {(options: { reference: string, creds?: string, env?: Record<string, string> }) => Promise<SkopeoResult & { digest?: string }>} inspect
 *   skopeo inspect with this CA
 * @property {(options: Omit<CopyOptions, 'certDir' | 'home'>) => Promise<SkopeoResult>} copy
 *   skopeo copy (the whole pull) with this CA
 * @property {() => Promise<void>} close stops the registries and the token service, removes dir
 */

/**
 * The whole peer: certificates, token service, registry, and the images pushed into it.
 * @param {DistributionOptions} options
 * @returns {Promise<Distribution>}
 */
export async function startDistribution(options) {
  requireProgram('docker-registry')
  requireProgram('skopeo')
  requireProgram('openssl')
  const dir = await mkdtemp(join(tmpdir(), 'distribution-'))
  /** @type {{ close: () => Promise<void> }[]} */
  const owned = []
  const closeAll = async () => {
    await Promise.all(owned.splice(0).map((o) => o.close()))
    await rm(dir, { recursive: true, force: true })
  }
  try {
    const tls = await makeCertificates(dir, { names: options.names ?? [] })
    const certDir = join(dir, 'certs.d')
    const home = join(dir, 'home')
    const storage = join(dir, 'storage')
    await Promise.all([certDir, home, storage].map((d) => mkdir(d)))
    await copyFile(tls.caPath, join(certDir, 'ca.crt'))

    const setup = { user: `setup-${randomBytes(4).toString('hex')}`, password: randomUUID() }
    const images = options.images ?? { 'ubi9/ubi': ['latest'], 'rhel9/postgresql-15': ['latest'] }
    const tokens = await startTokenService({
      tls,
      // The CA's own key signs the tokens, and the registry trusts the CA: x5c holds the CA.
      signingKey: await readFile(join(dir, 'ca.key'), 'utf8'),
      signingCert: tls.ca,
      users: {
        ...options.users,
        [setup.user]: { password: setup.password, entitlements: '*', push: true },
      },
    })
    owned.push(tokens)

    /** @param {string} [realm] @param {{ redirect?: string }} [more] */
    const launch = async (realm = 'rhcc', { redirect } = {}) => {
      const registry = await startRegistry({
        dir,
        storage,
        tls,
        realm: tokens.realm(realm),
        rootCertBundle: tls.caPath,
        lifetimeS: options.lifetimeS,
        redirect,
      })
      owned.push(registry)
      return registry
    }
    const registry = await launch('rhcc')

    /** @type {Record<string, string>} */
    const digests = {}
    /** @type {Distribution['pushed']} */
    const pushed = {}
    /** @type {[string, string, string[], boolean][]} repo, tag, platforms, as an index */
    const pushes = [
      ...Object.entries(images).flatMap(([repo, tags]) =>
        tags.map(
          (tag) =>
            /** @type {[string, string, string[], boolean]} */ ([
              repo,
              tag,
              ['linux/amd64'],
              false,
            ]),
        ),
      ),
      ...Object.entries(options.indexes ?? {}).map(([name, platforms]) => {
        const colon = name.lastIndexOf(':')
        if (colon < 0) throw new Error(`startDistribution: indexes key '${name}' is not repo:tag`)
        return /** @type {[string, string, string[], boolean]} */ ([
          name.slice(0, colon),
          name.slice(colon + 1),
          platforms,
          true,
        ])
      }),
    ]
    await Promise.all(
      pushes.map(async ([repo, tag, platforms, index]) => {
        const layout = join(dir, 'layouts', `${repo}:${tag}`.replace(/[/:]/g, '_'))
        await mkdir(layout, { recursive: true })
        const image = await writeIndexLayout(layout, `${repo}:${tag}`, tag, platforms, index)
        const copied = await skopeo(
          [
            '--insecure-policy',
            'copy',
            '--quiet',
            '--all',
            '--retry-times',
            '0',
            '--dest-creds',
            `${setup.user}:${setup.password}`,
            '--dest-cert-dir',
            certDir,
            `oci:${layout}:${tag}`,
            `docker://${registry.host}/${repo}:${tag}`,
          ],
          { home },
        )
        if (!copied.ok)
          throw new Error(
            `skopeo copy to ${registry.host}/${repo}:${tag} failed: ${copied.stderr}\nregistry log:\n${registry.output().slice(-3000)}`,
          )
        digests[`${repo}:${tag}`] = image.digest
        pushed[`${repo}:${tag}`] = image.image
      }),
    )

    /** @type {Distribution['startCdn']} */
    const startCdn = async ({ tls: cdnTls = tls, mode } = {}) => {
      const cdn = await startBlobCdn({ root: storage, tls: cdnTls, mode })
      owned.push(cdn)
      return cdn
    }

    return {
      dir,
      tls,
      storage,
      certDir,
      home,
      tokens,
      registry,
      digests,
      pushed,
      setup,
      startRegistry: launch,
      startCdn,
      inspect: ({ reference, creds, env }) =>
        skopeoInspect({ reference, creds, env, certDir, home }),
      copy: (copyOptions) => skopeoCopy({ ...copyOptions, certDir, home }),
      close: closeAll,
    }
  } catch (error) {
    await closeAll()
    throw error
  }
}
