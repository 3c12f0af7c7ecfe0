// A real forward proxy for the end-to-end tests: Debian's squid, started in the foreground with a
// configuration of its own on 127.0.0.1 and a free port. It resolves only the names it is given
// (its hosts_file; its DNS server is a port on loopback where nothing answers), as on a network where
// the proxy is mandatory; it can refuse CONNECT to given hosts (an ACL: 403) and require Basic
// credentials (basic_ncsa_auth with an htpasswd file made here: 407 without them). No cache; the
// configuration, the logs and the pid file live in a temp dir that close() removes.
//
// Also the process watchdog the other real peers share (spawnPeer): a peer dies with close(), when
// the test process dies (its stdin, a pipe from us, reaches end of file), and in any case after a
// few minutes (coreutils timeout), so that no run, however it ends, leaves a squid behind.
import { execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { chown, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const LOOPBACK = '127.0.0.1'
const INSTALL_HINT = 'run scripts/install-test-peers.sh'
/** How long a peer may live at most, whatever happens to the test run. */
export const PEER_LIFETIME_S = 300
const START_TIMEOUT_MS = 15_000
const STOP_TIMEOUT_MS = 5_000
const OUTPUT_CAP = 64 * 1024
const SHM_DIR = '/dev/shm'

const run = promisify(execFile)

// ─── finding programs ──────────────────────────────────────────────────────────────────────────

/**
 * The path of a program the tests need, looked up in PATH and in the sbin directories (a user's
 * PATH often lacks /usr/sbin, where Debian puts squid). Throws "missing X: run …" when absent.
 * @param {string} name
 * @param {string} [what] the name to print, when it differs from the program's
 * @returns {string}
 */
export function requireProgram(name, what = name) {
  const dirs = [
    ...(process.env.PATH ?? '').split(':').filter(Boolean),
    '/usr/local/sbin',
    '/usr/local/bin',
    '/usr/sbin',
    '/usr/bin',
    '/sbin',
    '/bin',
  ]
  const found = name.startsWith('/') ? [name] : dirs.map((dir) => join(dir, name))
  const path = found.find((candidate) => existsSync(candidate))
  if (!path) throw new Error(`missing ${what}: ${INSTALL_HINT}`)
  return path
}

// ─── the watchdog ──────────────────────────────────────────────────────────────────────────────

/**
 * The shell between `timeout` and the peer. It starts the peer with stdin from /dev/null, then
 * waits for end of file on its own stdin (a pipe whose other end only the test process holds).
 * close() writes the signal to stop with (TERM, INT or KILL) and ends the pipe; when the test
 * process dies instead, the kernel closes the pipe and the peer gets TERM, so that it can clean up
 * after itself. SIGKILL follows 3 s later if it is still there. fd 3 keeps the pipe: an
 * asynchronous list's stdin is /dev/null in a shell without job control.
 */
const WRAPPER = `
exec 3<&0
"$@" </dev/null &
peer=$!
trap 'kill -s TERM "$peer" 2>/dev/null' TERM INT HUP
{ signal=TERM
  while read -r line <&3; do
    case "$line" in TERM|INT|KILL) signal=$line ;; esac
  done
  kill -s "$signal" "$peer" 2>/dev/null; sleep 3; kill -s KILL "$peer" 2>/dev/null; } \
  >/dev/null 2>&1 &
watcher=$!
wait "$peer"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"
`

/**
 * @typedef {object} PeerOptions
 * @property {string} name for messages (`squid`, `docker-registry`)
 * @property {string} [cwd]
 * @property {Record<string, string>} [env] the peer's whole environment (default: PATH and HOME)
 * @property {'TERM' | 'INT' | 'KILL'} [stopSignal] what stop() sends; default TERM (a dying test
 *   process, or the lifetime running out, always sends TERM)
 * @property {number} [lifetimeS] killed after this long whatever happens; default PEER_LIFETIME_S
 *
 * @typedef {object} Peer
 * @property {number} pid of the watchdog (`timeout`), the leader of the peer's process group
 * @property {() => string} output what the peer wrote on stdout and stderr (the last 64 KiB)
 * @property {() => { code: number | null, signal: NodeJS.Signals | null } | undefined} exited
 *   how it ended, once it has
 * @property {Promise<void>} done resolves when the process group leader is gone
 * @property {() => Promise<void>} stop ends it (stop signal, then SIGKILL to the whole group)
 */

/**
 * Starts a long-running program under the watchdog described above.
 * @param {string} program absolute path
 * @param {string[]} args
 * @param {PeerOptions} options
 * @returns {Peer}
 */
export function spawnPeer(program, args, options) {
  const timeout = requireProgram('timeout', 'timeout (coreutils)')
  const sh = requireProgram('sh')
  const lifetime = options.lifetimeS ?? PEER_LIFETIME_S
  const child = spawn(
    timeout,
    // timeout -k 10 <lifetime> sh -c WRAPPER peer <program> <args…>: after the lifetime, TERM to
    // the whole process group (timeout leads one of its own), and KILL 10 s later.
    ['-k', '10', String(lifetime), sh, '-c', WRAPPER, 'peer', program, ...args],
    {
      cwd: options.cwd,
      env: options.env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir() },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: false,
    },
  )
  let output = ''
  const collect = (/** @type {string} */ chunk) => {
    output = (output + chunk).slice(-OUTPUT_CAP)
  }
  child.stdout.setEncoding('utf8').on('data', collect)
  child.stderr.setEncoding('utf8').on('data', collect)
  child.stdin.on('error', () => {}) // the wrapper may be gone first; that is fine
  /** @type {{ code: number | null, signal: NodeJS.Signals | null } | undefined} */
  let exited
  const done = new Promise((resolve) => {
    child.once('error', (error) => {
      collect(`\n${options.name}: ${String(error)}\n`)
      exited ??= { code: null, signal: null }
      resolve(undefined)
    })
    child.once('exit', (code, signal) => {
      exited = { code, signal }
      // A grandchild that outlives the peer for a moment (a helper) must not keep our pipes, and
      // with them the test process, alive.
      setTimeout(() => {
        child.stdout.destroy()
        child.stderr.destroy()
      }, 100).unref()
      resolve(undefined)
    })
  }).then(() => undefined)

  /** @type {Promise<void> | undefined} */
  let stopping
  const stop = () => {
    stopping ??= (async () => {
      if (exited) return
      child.stdin.end(`${options.stopSignal ?? 'TERM'}\n`)
      const timer = new Promise((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS).unref())
      await Promise.race([done, timer])
      if (!exited && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL') // the group timeout leads: wrapper and peer too
        } catch {
          child.kill('SIGKILL')
        }
        await done
      }
    })()
    return stopping
  }
  return {
    pid: child.pid ?? -1,
    output: () => output,
    exited: () => exited,
    done,
    stop,
  }
}

/**
 * Waits until something accepts TCP connections on 127.0.0.1:port, or the peer exits, or
 * timeoutMs passes; throws with the peer's output in the last two cases.
 * @param {number} port
 * @param {Peer} peer
 * @param {string} name
 * @param {() => Promise<string>} [diagnostics] more text for the error (a log file)
 * @param {number} [timeoutMs]
 */
export async function waitForPort(port, peer, name, diagnostics, timeoutMs = START_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (peer.exited()) {
      const extra = diagnostics ? await diagnostics().catch(() => '') : ''
      throw new Error(
        `${name} exited at start (${JSON.stringify(peer.exited())}):\n${peer.output()}\n${extra}`.trim(),
      )
    }
    if (await canConnect(port)) return
    if (Date.now() > deadline) {
      await peer.stop()
      const extra = diagnostics ? await diagnostics().catch(() => '') : ''
      throw new Error(
        `${name} did not listen on ${LOOPBACK}:${port} within ${timeoutMs} ms:\n${peer.output()}\n${extra}`.trim(),
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** @param {number} port */
function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, LOOPBACK)
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/**
 * A port on 127.0.0.1 that was free a moment ago: bind to port 0, read the port, close.
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, LOOPBACK, () => {
      const { port } = /** @type {net.AddressInfo} */ (server.address())
      server.close(() => resolve(port))
    })
  })
}

// ─── squid ─────────────────────────────────────────────────────────────────────────────────────

/**
 * @typedef {object} SquidOptions
 * @property {Record<string, string> | string[]} [hosts] the only names the proxy resolves: a list of
 *   names (all 127.0.0.1) or name → address; addresses must be loopback
 * @property {string[]} [deny] host names it refuses CONNECT to (squid's ERR_ACCESS_DENIED, 403)
 * @property {{ user: string, password: string }} [credentials] require Basic proxy credentials
 *   (407 without them or with others)
 * @property {number} [lifetimeS] the watchdog's limit; default PEER_LIFETIME_S
 *
 * @typedef {object} SquidLogEntry one line of the access log
 * @property {string} method `CONNECT` for a tunnel
 * @property {string} target `host:port` for a CONNECT
 * @property {number} status what squid answered (0 when the client left before an answer)
 * @property {string} code squid's result code, such as `TCP_TUNNEL` or `TCP_DENIED`
 * @property {string} user the proxy user name, `-` when none was authenticated
 *
 * @typedef {object} Squid
 * @property {number} port
 * @property {string} host `127.0.0.1:<port>`
 * @property {string} url `http://127.0.0.1:<port>`
 * @property {string} dir its temp dir (configuration and logs)
 * @property {(options?: { settleMs?: number, timeoutMs?: number }) => Promise<SquidLogEntry[]>} log
 *   the access log so far, read once it has been quiet for settleMs (squid writes a tunnel's line
 *   when the tunnel closes, a moment after the client is gone)
 * @property {() => Promise<void>} close stops squid and removes its temp dir
 */

/** A DNS name as squid's configuration may hold it (no spaces, no quoting to escape). */
const DNS_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i

/** @param {string} address */
const isLoopback = (address) =>
  (net.isIPv4(address) && address.startsWith('127.')) || address === '::1'

/**
 * An apr1 (Apache MD5) hash for squid's basic_ncsa_auth, made by `openssl passwd` with the password
 * on stdin (never in a command line another user could read).
 * @param {string} password
 * @returns {Promise<string>}
 */
async function apr1(password) {
  const openssl = requireProgram('openssl')
  return new Promise((resolve, reject) => {
    const child = spawn(openssl, ['passwd', '-apr1', '-stdin'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk) => (err += chunk))
    child.once('error', reject)
    child.once('close', (code) => {
      if (code === 0 && out.trim().startsWith('$apr1$')) resolve(out.trim())
      else reject(new Error(`openssl passwd failed (${code}): ${err.trim()}`))
    })
    child.stdin.end(`${password}\n`)
  })
}

/**
 * The user squid switches to when started as root (it refuses to run as root): Debian's `proxy`.
 * @returns {Promise<{ name: string, uid: number, gid: number } | undefined>}
 */
async function effectiveUser() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined
  const passwd = await readFile('/etc/passwd', 'utf8')
  for (const name of ['proxy', 'nobody']) {
    const line = passwd.split('\n').find((l) => l.startsWith(`${name}:`))
    if (line) {
      const [, , uid, gid] = line.split(':')
      return { name, uid: Number(uid), gid: Number(gid) }
    }
  }
  throw new Error('squid runs as root only with an unprivileged user to switch to: found none')
}

/**
 * @param {{ port: number, dir: string, user?: string, helper?: string, deny: string[] }} c
 * @returns {string}
 */
function squidConfig({ port, dir, user, helper, deny }) {
  const lines = [
    '# Written by scripts/lib/squid.mjs for one test run.',
    `http_port ${LOOPBACK}:${port}`,
    `pid_filename ${join(dir, 'squid.pid')}`,
    `cache_log ${join(dir, 'cache.log')}`,
    `coredump_dir ${dir}`,
    'logformat tests %ts.%03tu %rm %ru %>Hs %Ss %un',
    `access_log stdio:${join(dir, 'access.log')} tests`,
    'buffered_logs off',
    ...(user ? [`cache_effective_user ${user}`] : []),
    // No cache at all: nothing on disk, nothing kept in memory.
    'cache deny all',
    'cache_mem 0 MB',
    'max_filedescriptors 1024',
    'visible_hostname squid.test',
    'pinger_enable off',
    'netdb_filename none',
    'shutdown_lifetime 0 seconds',
    // Names come from the hosts file only; the nameserver is a loopback port where nothing answers,
    // so any other name fails (ERR_DNS_FAIL, 503) after dns_timeout.
    `hosts_file ${join(dir, 'hosts')}`,
    `dns_nameservers ${LOOPBACK}`,
    'dns_timeout 3 seconds',
    'dns_retransmit_interval 1 seconds',
    'acl CONNECT method CONNECT',
  ]
  if (deny.length) {
    lines.push(`acl denied_hosts dstdomain ${deny.join(' ')}`)
    lines.push('http_access deny CONNECT denied_hosts')
  }
  if (helper) {
    lines.push(
      `auth_param basic program ${helper} ${join(dir, 'htpasswd')}`,
      'auth_param basic children 2 startup=1 idle=1',
      'auth_param basic realm test proxy',
      'auth_param basic credentialsttl 1 minute',
      'acl authenticated proxy_auth REQUIRED',
      'http_access deny !authenticated',
    )
  }
  // CONNECT to any port (no SSL_ports rule): the tests' servers use high ports. Only loopback can
  // reach this port anyway.
  lines.push('http_access allow all', '')
  return lines.join('\n')
}

/** @param {string} line @returns {SquidLogEntry | undefined} */
function parseLogLine(line) {
  const [, method, target, status, code, user] = line.trim().split(/\s+/)
  // A connection that sent nothing (such as the start-up probe) is logged with method `-`.
  if (!method || method === '-' || !target) return undefined
  return { method, target, status: Number(status), code: code.split('/')[0], user }
}

/**
 * Starts squid; see the typedefs above for the options and the handle.
 * @param {SquidOptions} [options]
 * @returns {Promise<Squid>}
 */
export async function startSquid(options = {}) {
  const squid = requireProgram('squid')
  const helper = options.credentials
    ? requireProgram('/usr/lib/squid/basic_ncsa_auth', 'basic_ncsa_auth (package squid)')
    : undefined
  requireProgram('openssl')

  const hosts = Array.isArray(options.hosts)
    ? Object.fromEntries(options.hosts.map((name) => [name, LOOPBACK]))
    : (options.hosts ?? {})
  const deny = options.deny ?? []
  for (const name of [...Object.keys(hosts), ...deny]) {
    if (!DNS_NAME.test(name)) throw new Error(`startSquid: '${name}' is not a DNS name`)
  }
  for (const [name, address] of Object.entries(hosts)) {
    if (!isLoopback(address))
      throw new Error(`startSquid: ${name} → ${address} is not a loopback address`)
  }

  const dir = await mkdtemp(join(tmpdir(), 'squid-'))
  // A service name of its own: squid names its shared memory segments after it (in /dev/shm), so
  // instances running side by side, or another user's, never meet.
  const service = `preflight${randomBytes(6).toString('hex')}`
  const cleanUp = async () => {
    await rm(dir, { recursive: true, force: true })
    const segments = await readdir(SHM_DIR).catch(() => /** @type {string[]} */ ([]))
    await Promise.all(
      segments
        .filter((name) => name.startsWith(`${service}-`))
        .map((name) => rm(join(SHM_DIR, name), { force: true })),
    )
  }
  /** @type {Peer | undefined} */
  let peer
  try {
    const user = await effectiveUser()
    await writeFile(
      join(dir, 'hosts'),
      Object.entries(hosts)
        .map(([name, address]) => `${address} ${name}\n`)
        .join(''),
    )
    if (options.credentials) {
      const { user: name, password } = options.credentials
      if (!/^[^:\s]+$/.test(name)) throw new Error(`startSquid: bad proxy user name '${name}'`)
      await writeFile(join(dir, 'htpasswd'), `${name}:${await apr1(password)}\n`, { mode: 0o600 })
    }
    const log = join(dir, 'access.log')
    await writeFile(log, '')

    // A free port can be taken between our check and squid's bind: try a few.
    for (let attempt = 1; ; attempt += 1) {
      const port = await freePort()
      await writeFile(
        join(dir, 'squid.conf'),
        squidConfig({ port, dir, user: user?.name, helper, deny }),
      )
      if (user) {
        // squid (and its helpers) run as that user: the directory and its files must be theirs.
        for (const file of ['', 'hosts', 'squid.conf', 'access.log', 'htpasswd']) {
          const path = join(dir, file)
          if (existsSync(path)) await chown(path, user.uid, user.gid)
        }
      }
      await run(squid, ['-n', service, '-k', 'parse', '-f', join(dir, 'squid.conf')]).catch(
        (error) => {
          const stderr = /** @type {{ stderr?: string }} */ (error).stderr ?? String(error)
          throw new Error(`squid rejected its configuration: ${stderr.trim()}`)
        },
      )
      // -N: no daemon, the process we started is squid itself; -d 1: its start-up errors on stderr.
      peer = spawnPeer(squid, ['-N', '-d', '1', '-n', service, '-f', join(dir, 'squid.conf')], {
        name: 'squid',
        cwd: dir,
        // No cache and unbuffered logs: nothing to lose, and a TERM takes squid a second or two.
        // (What a KILL leaves in /dev/shm, close() removes.)
        stopSignal: 'KILL',
        lifetimeS: options.lifetimeS,
      })
      const cacheLog = () => readFile(join(dir, 'cache.log'), 'utf8').then((t) => t.slice(-4000))
      try {
        await waitForPort(port, peer, 'squid', cacheLog)
      } catch (error) {
        await peer.stop()
        if (attempt < 3 && /Address already in use/.test(String(error))) continue
        throw error
      }

      const started = peer
      /** @type {Promise<void> | undefined} */
      let closing
      const host = `${LOOPBACK}:${port}`
      return {
        port,
        host,
        url: `http://${host}`,
        dir,
        async log({ settleMs = 250, timeoutMs = 3000 } = {}) {
          const deadline = Date.now() + timeoutMs
          let text = await readFile(log, 'utf8')
          for (;;) {
            await new Promise((resolve) => setTimeout(resolve, settleMs))
            const again = await readFile(log, 'utf8')
            if (again === text || Date.now() > deadline) {
              text = again
              break
            }
            text = again
          }
          return text
            .split('\n')
            .map(parseLogLine)
            .filter((e) => e !== undefined)
        },
        close() {
          closing ??= started.stop().then(cleanUp)
          return closing
        },
      }
    }
  } catch (error) {
    await peer?.stop()
    await cleanUp()
    throw error
  }
}
