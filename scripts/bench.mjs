// npm run bench: what the action costs, measured side by side with its floors and its peers, on
// loopback only. It prints one table (figure | value | target | ratio | result), every figure the
// median of several runs, and exits 0 even when a target is missed: it is a report, not a test. It
// exits 1 only when it cannot measure (no dist/, no skopeo, a peer that gives the wrong answer).
//
// 1. Start-up: dist/index.js ending on an input error, against `node -e 0` and against a bundle built
//    the same way (scripts/build.mjs) that only loads @actions/core and @actions/http-client
//    (scripts/bench/libraries-only.ts, built into a temp dir here).
// 2. Round trips of the manifest check (`layers: false`): the whole happy path with every response
//    delayed by DELAY_MS, for 1, 10 and 100 images (100 repositories, one tag each), against the
//    imitation of registry.redhat.io (the action's default registry) reached by its name through a
//    loopback CONNECT proxy; and, for one image, against a registry whose token service the
//    challenge must name first (127.0.0.1). Its floor: scripts/bench/requests-only.cjs.
// 3. The layer path (`layers: auto`, the default): the same, followed to the config blob through
//    the registry's redirect to its blob host (cdn01.quay.io), for 1 and 100 images; for one image
//    also with WIRE_RTT_MS round trips on the wire instead (scripts/bench/delay-relay.mjs), where a
//    tunnel and a TLS handshake cost round trips too. Its floor: scripts/bench/layer-path-only.cjs.
// 4. Peers on the same work: `skopeo inspect --raw` once per image, one process after another, as a
//    pipeline step checking N images would; and the KB's curl procedure (token, then /v2/) for one.
// 5. A black hole (accepts, never answers) as the registry, timeout 2 s, retries 0: time to verdict.
//
// `npm run bench -- --timeline` measures only the layer path, each run traced
// (scripts/bench/trace.cjs), and prints where its time goes: the phases of the action and of its
// floor, and every request and handshake of one run of each on a time axis; for one image in both
// latency models, and for two repositories at WIRE_RTT_MS round trips.
//
// The action and its floors run on the Node that action.yml names (runs.using), as a runner runs
// them, when scripts/install-runner-node.sh has put it in .peers/; else on this machine's Node, and
// the table says so. The servers, the proxy and the bench itself run on this machine's Node.
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import dc from 'node:diagnostics_channel'
import { existsSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { basename, delimiter, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { startDelayRelay } from './bench/delay-relay.mjs'
import { phasesOf, readTrace, timelineLines } from './bench/timeline.mjs'
import { startConnectProxy } from './lib/connect-proxy.mjs'
import { startBlackHole, startFakeRedHat } from './lib/fake-registry.mjs'
import { IMITATED_HOSTS, QUAY_CDN, RHCC_REALM, startRedHatRegistry } from './lib/registries.mjs'
import {
  ACTION_PATH,
  actionDefaults,
  inputVariable,
  parseFileCommands,
  runAction,
} from './lib/run-action.mjs'
import { makeCertificates } from './lib/tls.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const FLOOR_SOURCE = 'scripts/bench/libraries-only.ts'
/** The happy path's floor: the same requests for one image, by node:https alone. */
const REQUESTS_FLOOR = join(ROOT, 'scripts', 'bench', 'requests-only.cjs')
/** The layer path's floor: the fewest requests for the same answer, by node:https alone. */
const LAYERS_FLOOR = join(ROOT, 'scripts', 'bench', 'layer-path-only.cjs')
/** Preloaded for `--timeline`: marks every request, handshake and phase of a run. */
const TRACER = join(ROOT, 'scripts', 'bench', 'trace.cjs')

const DELAY_MS = 50
/** The other latency model of the layer path: round trips on the wire, handshakes included. */
const WIRE_RTT_MS = 20
const STARTUP_RUNS = 7
const HAPPY_RUNS = 7
const RUNS = 3
const IMAGE_COUNTS = [1, 10, 100]
const LAYER_COUNTS = [1, 100]
const BLACK_HOLE_TIMEOUT_S = 2

const TARGET = {
  startupVsLibraries: 1.15,
  oneImageRoundTrips: 5,
  layersVsFloor: 1.15,
  hundredVsOne: 3,
  skopeoSpeedup: 10,
  blackHoleMs: (BLACK_HOLE_TIMEOUT_S + 1) * 1000,
}

/**
 * The action's environment besides the inputs, as the runner starts it: `node dist/index.js` and no
 * preloaded module. (runAction preloads a DNS guard for the tests' reserved host names, which costs
 * a start-up of its own; the bench only uses loopback addresses.)
 * @param {string} caPath
 */
const actionEnv = (caPath) => ({ NODE_EXTRA_CA_CERTS: caPath, NODE_OPTIONS: undefined })

const USERNAME = '12345678|bench-pipeline'
// Made up on each run, shaped like a service-account secret: nothing real is ever used.
const SECRET = `eyJ${randomBytes(24).toString('base64url')}`
const SERVICE = 'docker-registry'

/**
 * @typedef {object} Row
 * @property {string} figure
 * @property {string} value
 * @property {string} [target]
 * @property {string} [ratio]
 * @property {boolean} [pass] undefined for a figure without a target
 *
 * @typedef {object} Timed
 * @property {number} ms wall time from spawn to the close of stdout and stderr
 * @property {number | null} code
 * @property {string} stdout
 * @property {string} stderr
 *
 * @typedef {object} HappyFigures medians of the happy path for one number of images
 * @property {number} wall wall time with the latency (every response delayed by DELAY_MS, or
 *   WIRE_RTT_MS on the wire)
 * @property {number} [undelayed] wall time against the same imitation with no delay
 * @property {number} inProcess the report's own durationMs (first request to verdict), delayed
 * @property {number} [inProcessUndelayed] the same with no delay
 * @property {number} requests requests the delayed servers received in one run
 * @property {number} connections connections (TLS handshakes) they accepted in one run
 * @property {number} [floor] wall time of the floor script, delayed (1 image): the same answer
 *   with node:https alone
 * @property {number} [floorRequests] requests the servers received from the floor in one run
 * @property {number} [floorConnections] connections they accepted from it
 * @property {number} [machine] wall time, delayed, of the action on this machine's Node when the
 *   runtime is another (1 image, home case only)
 */

/**
 * @typedef {object} Place a registry as the action and the peers reach it
 * @property {string} label
 * @property {string} registry the `registry` input, and the host in the peers' image references
 * @property {Record<string, string>} env proxy variables for the action and the peers alike
 * @property {string} realm its token endpoint (for the curl procedure)
 * @property {() => number} requests requests its servers received so far
 * @property {() => number} connections TLS connections its servers accepted so far
 * @property {() => Promise<void>} close
 */

/** A failure of the bench itself (not of a target): the figures would be meaningless. */
class BenchError extends Error {}

/** @param {string} message */
const progress = (message) => process.stderr.write(`bench: ${message}\n`)

/** @param {number[]} values */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** @param {number} ms */
const fmtMs = (ms) => `${Math.round(ms).toLocaleString('en-US')} ms`
/** @param {number} x */
const fmtX = (x) => `${x.toFixed(2)} ×`
/**
 * The preflight against the undelayed twin, in brackets, when it was measured.
 * @param {HappyFigures} f
 */
const atZero = (f) =>
  f.inProcessUndelayed === undefined ? '' : ` (${fmtMs(f.inProcessUndelayed)} at 0 ms)`

/**
 * The program's full path, or undefined when it is not on PATH.
 * @param {string} name
 */
function which(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const path = join(dir, name)
    if (dir && existsSync(path)) return path
  }
  return undefined
}

/**
 * @typedef {object} Runtime the Node that runs the action and its floors
 * @property {string} path
 * @property {string} version
 * @property {string} declared action.yml's runs.using (node24)
 * @property {boolean} declaredMissing the declared Node is not installed: this is the machine's
 */

/**
 * The Node a runner starts the action with: the one action.yml names, as installed in .peers/ by
 * scripts/install-runner-node.sh; this machine's Node when it is not there.
 * @returns {Promise<Runtime>}
 */
async function actionRuntime() {
  const yml = await readFile(join(ROOT, 'action.yml'), 'utf8')
  const declared = /^\s*using:\s*['"]?(node(\d+))/m.exec(yml)
  if (!declared) throw new BenchError('action.yml names no node runtime (runs.using)')
  const path = join(ROOT, '.peers', declared[1], 'bin', 'node')
  if (!existsSync(path)) {
    // Fetched here, the first time the bench runs, rather than by the tests' install command:
    // only the bench needs it (about 50 MB from the npm registry; no root). A failure is not
    // fatal: the bench then runs on this machine's Node and says so.
    progress(`${declared[1]} is not in .peers/: fetching it (bash scripts/install-runner-node.sh)`)
    try {
      await promisify(execFile)('bash', [join(ROOT, 'scripts', 'install-runner-node.sh')])
    } catch {
      progress(`fetching ${declared[1]} failed`)
    }
  }
  if (existsSync(path)) {
    const { stdout } = await promisify(execFile)(path, ['--version'])
    const version = stdout.trim()
    if (version.startsWith(`v${declared[2]}.`))
      return { path, version, declared: declared[1], declaredMissing: false }
  }
  return {
    path: process.execPath,
    version: process.version,
    declared: declared[1],
    declaredMissing: true,
  }
}

/**
 * Runs a program and times it, from spawn to the close of its output.
 * @param {string} file
 * @param {string[]} args
 * @param {{ env: Record<string, string>, cwd?: string }} options
 * @returns {Promise<Timed>}
 */
function timed(file, args, { env, cwd }) {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(file, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve({ ms: performance.now() - started, code, stdout, stderr }))
  })
}

/**
 * Connections accepted per local port, counted by Node's own `net.server.socket` channel: every
 * connection the fake registry accepts is one TLS handshake.
 */
function connectionCounter() {
  /** @type {Map<number, number>} */
  const counts = new Map()
  /** @param {unknown} message */
  const onSocket = (message) => {
    const port = /** @type {{ socket: import('node:net').Socket }} */ (message).socket.localPort
    if (port !== undefined) counts.set(port, (counts.get(port) ?? 0) + 1)
  }
  dc.subscribe('net.server.socket', onSocket)
  return {
    /** @param {number} port */
    of: (port) => counts.get(port) ?? 0,
    stop: () => dc.unsubscribe('net.server.socket', onSocket),
  }
}

const BUILD_SCRIPT = join(ROOT, 'scripts', 'build.mjs')

/**
 * Builds the libraries-only floor the way dist/ is built: scripts/build.mjs (ncc, CommonJS, no
 * source map) with the project's compiler options. It builds from a scratch directory holding a
 * copy of the source, a tsconfig.json that names that one file, and a link to node_modules, so that
 * a type error elsewhere in the project (ncc type-checks the whole tsconfig project) cannot stop the
 * bench.
 * @param {string} work
 * @returns {Promise<string>} the path of the floor's index.js
 */
async function buildFloor(work) {
  const source = join(work, 'floor-src')
  const out = join(work, 'floor')
  await mkdir(source)
  const entry = join(source, basename(FLOOR_SOURCE))
  await copyFile(join(ROOT, FLOOR_SOURCE), entry)
  await symlink(join(ROOT, 'node_modules'), join(source, 'node_modules'), 'dir')
  // The project's package type, for the sources: ESM, as src/ is.
  await writeFile(join(source, 'package.json'), JSON.stringify({ type: 'module', private: true }))
  const project = JSON.parse(await readFile(join(ROOT, 'tsconfig.json'), 'utf8'))
  // Without the project's `paths`: they swap undici out of dist/ (src/undici-left-out.ts), and the
  // floor is the two libraries as published, undici and all.
  const compilerOptions = { ...project.compilerOptions, rootDir: '.', types: ['node'] }
  delete compilerOptions.paths
  const tsconfig = {
    compilerOptions,
    files: [basename(FLOOR_SOURCE)],
  }
  await writeFile(join(source, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2))
  try {
    // From the scratch directory: ncc reads the tsconfig.json of its working directory for `paths`.
    await promisify(execFile)(process.execPath, [BUILD_SCRIPT, entry, out], { cwd: source })
  } catch (error) {
    const output = /** @type {{ stdout?: string, stderr?: string }} */ (error)
    const text = `${output.stderr ?? ''}${output.stdout ?? ''}`.replace(/^\s+at .*$/gm, '').trim()
    throw new BenchError(`cannot build ${FLOOR_SOURCE}: ${text || String(error)}`)
  }
  return join(out, 'index.js')
}

/**
 * 1. Start-up, interleaved so that the three commands share whatever the machine is doing.
 * @param {string} work
 * @param {string} floorPath
 * @param {string} node the Node that runs all three
 * @returns {Promise<{ node: number, floor: number, action: number }>}
 */
async function measureStartup(work, floorPath, node) {
  const workspace = join(work, 'startup-workspace')
  await mkdir(workspace, { recursive: true })
  const files = {
    GITHUB_OUTPUT: join(work, 'startup-output'),
    GITHUB_STEP_SUMMARY: join(work, 'startup-summary.md'),
  }
  // The runner's environment for the action and the floor alike: action.yml's defaults, and a
  // timeout that is no number, so that both end on an input error before any request.
  const inputs = { ...(await actionDefaults()), timeout: 'not-a-number' }
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? work,
    ...files,
    RUNNER_TEMP: work,
    GITHUB_WORKSPACE: workspace,
    ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [inputVariable(k), v])),
  }
  const commands = {
    node: ['-e', '0'],
    floor: [floorPath],
    action: [ACTION_PATH],
  }
  /** @type {Record<keyof typeof commands, number[]>} */
  const times = { node: [], floor: [], action: [] }
  // One unmeasured round first: it loads the files into the page cache.
  for (let round = 0; round <= STARTUP_RUNS; round++) {
    for (const [name, args] of /** @type {[keyof typeof commands, string[]][]} */ (
      Object.entries(commands)
    )) {
      await Promise.all(Object.values(files).map((file) => writeFile(file, '')))
      const run = await timed(node, args, { env, cwd: workspace })
      const expected = name === 'node' ? 0 : 1
      if (run.code !== expected)
        throw new BenchError(
          `start-up: ${name} exited with ${run.code}, not ${expected}: ${run.stdout}${run.stderr}`,
        )
      if (name === 'action') {
        const outputs = parseFileCommands(await readFile(files.GITHUB_OUTPUT, 'utf8'))
        if (outputs.result !== 'invalid-input')
          throw new BenchError(
            `start-up: the action ended on '${outputs.result}', not on an input error: ${run.stdout}`,
          )
      }
      if (round > 0) times[name].push(run.ms)
    }
  }
  return { node: median(times.node), floor: median(times.floor), action: median(times.action) }
}

/**
 * registry.redhat.io's imitation (registry and token service on one host, as today, and its blob
 * host cdn01.quay.io), reached by its names through a CONNECT proxy, as a runner behind a corporate
 * proxy reaches it. The latency is either `delayMs` on every answer (connections, tunnels and
 * handshakes cost nothing) or `wireRttMs` per round trip on the wire between the client and the
 * proxy (scripts/bench/delay-relay.mjs: the CONNECT, the TLS handshake and every request cost one
 * round trip each).
 * @param {import('./lib/tls.mjs').Certificates} tls
 * @param {Record<string, string>} users
 * @param {Record<string, { tags: string[] }>} repos
 * @param {{ delayMs?: number, wireRttMs?: number }} latency
 * @returns {Promise<Place>}
 */
async function startRedHat(tls, users, repos, { delayMs = 0, wireRttMs = 0 }) {
  const imitation = await startRedHatRegistry({ tls, users, repos, delayMs })
  const proxy = await startConnectProxy({ hosts: imitation.hosts })
  const relay = wireRttMs
    ? await startDelayRelay({ target: proxy.port, oneWayMs: wireRttMs / 2 })
    : undefined
  const proxyUrl = relay?.url ?? proxy.url
  const servers = Object.values(imitation.servers)
  return {
    label: `registry.redhat.io${relay ? `, ${wireRttMs} ms round trips` : delayMs ? `, ${delayMs} ms per response` : ''}`,
    registry: 'registry.redhat.io',
    env: { HTTPS_PROXY: proxyUrl, https_proxy: proxyUrl },
    realm: RHCC_REALM,
    requests: () => imitation.requests.length,
    connections: () => servers.reduce((sum, server) => sum + server.connections, 0),
    close: async () => {
      await relay?.close()
      await proxy.close()
      await imitation.close()
    },
  }
}

/**
 * @param {number} count
 * @returns {string[]} `repo:tag` for `count` distinct repositories
 */
const imageList = (count) =>
  Array.from({ length: count }, (_, i) => `bench/app-${String(i).padStart(3, '0')}:v${i}`)

/**
 * 2 and 3. The happy path against a delayed registry and, alternately, against an undelayed twin
 * (which shows how much of the time is CPU rather than latency). Besides the wall time it keeps the
 * report's own durationMs: the preflight from its first request to the verdict, every request in
 * it and the start-up not, so that the start-up's jitter on a busy machine does not blur it. With
 * `floor`, each round also runs that script for one image, right after the action, in the same
 * environment; with `machineNode`, the action for one image once more, on that Node (this
 * machine's, when the runtime is another).
 *
 * Every run is checked for what the row says it measures: with `layers: false`, no layer path;
 * with `layers: auto`, a layer path that passed at the blob host, past the registry's redirect.
 * @param {{ slow: Place, fast?: Place }} places the registry with its latency and, when given, an
 *   undelayed twin
 * @param {string} caPath
 * @param {number[]} counts numbers of images
 * @param {{ node: string, layers: 'false' | 'auto', floor?: string, machineNode?: string }} options
 *   `node` runs the action; `layers` is the action's input
 * @returns {Promise<Map<number, HappyFigures>>}
 */
async function measureHappyPath(
  { slow, fast },
  caPath,
  counts,
  { node, layers, floor, machineNode },
) {
  /** @type {Map<number, Record<keyof HappyFigures, number[]>>} */
  const samples = new Map(
    counts.map((n) => [
      n,
      {
        wall: [],
        undelayed: [],
        inProcess: [],
        inProcessUndelayed: [],
        requests: [],
        connections: [],
        floor: [],
        floorRequests: [],
        floorConnections: [],
        machine: [],
      },
    ]),
  )
  /**
   * The floor for one image: the same inputs and environment, nothing but its requests.
   * @param {Place} place
   * @param {string} script
   */
  const floorOnce = async (place, script) => {
    const requestsBefore = place.requests()
    const connectionsBefore = place.connections()
    const run = await runAction({
      node,
      script,
      inputs: { username: USERNAME, password: SECRET, images: imageList(1)[0] },
      env: { ...actionEnv(caPath), ...place.env },
    })
    if (run.outputs.result !== 'ok')
      throw new BenchError(
        `the floor ${basename(script)} (${place.label}): '${run.outputs.result}', not ok: ${run.stderr}`,
      )
    return {
      ms: run.durationMs,
      requests: place.requests() - requestsBefore,
      connections: place.connections() - connectionsBefore,
    }
  }
  /**
   * @param {Place} place
   * @param {number} n
   * @param {string} [on] the Node to run the action on, if not `node`
   */
  const once = async (place, n, on = node) => {
    const requestsBefore = place.requests()
    const connectionsBefore = place.connections()
    const run = await runAction({
      node: on,
      inputs: {
        registry: place.registry,
        username: USERNAME,
        password: SECRET,
        images: imageList(n).join('\n'),
        layers,
      },
      env: { ...actionEnv(caPath), ...place.env },
    })
    const report = run.outputs.report ? JSON.parse(run.outputs.report) : undefined
    if (run.outputs.result !== 'ok' || report?.images?.length !== n)
      throw new BenchError(
        `happy path (${place.label}) with ${n} image(s): result '${run.outputs.result}', not ok: ${run.outputs.message ?? run.stdout}`,
      )
    /** @type {{ id: string, hop: string, outcome: string }[]} */
    const checks = report.checks
    const blob = checks.find((c) => c.id === 'blob')
    if (layers === 'false' && blob)
      throw new BenchError(`happy path (${place.label}): layers: false, yet a layer path ran`)
    if (layers === 'auto' && (blob?.outcome !== 'passed' || blob.hop !== 'blob-host'))
      throw new BenchError(
        `layer path (${place.label}): no layer path that passed at the blob host (${JSON.stringify(blob)})`,
      )
    return {
      ms: run.durationMs,
      inProcess: Number(report.durationMs),
      requests: place.requests() - requestsBefore,
      connections: place.connections() - connectionsBefore,
    }
  }
  // One unmeasured round first, as for start-up: it loads the files into the page cache and warms
  // the bench's own servers and proxy, Node processes whose code is cold on their first requests.
  for (let round = -1; round < HAPPY_RUNS; round++) {
    for (const n of counts) {
      const delayed = await once(slow, n)
      const undelayed = fast ? await once(fast, n) : undefined
      const floorRun = floor && n === 1 ? await floorOnce(slow, floor) : undefined
      const machineMs = machineNode && n === 1 ? (await once(slow, 1, machineNode)).ms : undefined
      if (round < 0) continue
      const sample = /** @type {Record<keyof HappyFigures, number[]>} */ (samples.get(n))
      sample.wall.push(delayed.ms)
      sample.inProcess.push(delayed.inProcess)
      sample.requests.push(delayed.requests)
      sample.connections.push(delayed.connections)
      if (undelayed) {
        sample.undelayed.push(undelayed.ms)
        sample.inProcessUndelayed.push(undelayed.inProcess)
      }
      if (floorRun) {
        sample.floor.push(floorRun.ms)
        sample.floorRequests.push(floorRun.requests)
        sample.floorConnections.push(floorRun.connections)
      }
      if (machineMs !== undefined) sample.machine.push(machineMs)
    }
  }
  return new Map(
    [...samples].map(([n, s]) => [
      n,
      /** @type {HappyFigures} */ (
        Object.fromEntries(
          Object.entries(s)
            .filter(([, values]) => values.length)
            .map(([key, values]) => [key, median(values)]),
        )
      ),
    ]),
  )
}

/**
 * 3a. skopeo: one `skopeo inspect --raw` process per image, one after another.
 * @param {string} skopeo
 * @param {Place} place
 * @param {string} certDir
 * @param {Record<string, string>} env
 * @returns {Promise<Map<number, number>>}
 */
async function measureSkopeo(skopeo, place, certDir, env) {
  /** @type {Map<number, number[]>} */
  const samples = new Map(IMAGE_COUNTS.map((n) => [n, []]))
  for (let round = 0; round < RUNS; round++) {
    for (const n of IMAGE_COUNTS) {
      progress(`skopeo inspect × ${n}, run ${round + 1} of ${RUNS}`)
      const started = performance.now()
      for (const image of imageList(n)) {
        const run = await timed(
          skopeo,
          [
            'inspect',
            '--raw',
            '--cert-dir',
            certDir,
            '--creds',
            `${USERNAME}:${SECRET}`,
            `docker://${place.registry}/${image}`,
          ],
          { env: { ...env, ...place.env } },
        )
        if (run.code !== 0)
          throw new BenchError(`skopeo inspect ${image} failed (${run.code}): ${run.stderr.trim()}`)
      }
      samples.get(n)?.push(performance.now() - started)
    }
  }
  return new Map([...samples].map(([n, s]) => [n, median(s)]))
}

/**
 * 3b. The KB's procedure by hand: ask the token service for a token, then present it to /v2/.
 * @param {string} curl
 * @param {Place} place
 * @param {string} caPath
 * @param {Record<string, string>} peerEnv
 */
async function measureCurl(curl, place, caPath, peerEnv) {
  const env = { ...peerEnv, ...place.env }
  const [repository] = imageList(1)[0].split(':')
  const tokenUrl = `${place.realm}?service=${SERVICE}&scope=repository:${repository}:pull`
  /** @type {number[]} */
  const samples = []
  for (let round = 0; round < RUNS; round++) {
    const started = performance.now()
    const token = await timed(
      curl,
      ['-sS', '--fail', '--cacert', caPath, '-u', `${USERNAME}:${SECRET}`, tokenUrl],
      { env },
    )
    if (token.code !== 0) throw new BenchError(`curl: token request failed: ${token.stderr}`)
    const { token: value } = JSON.parse(token.stdout)
    const v2 = await timed(
      curl,
      [
        '-sS',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '--cacert',
        caPath,
        '-H',
        `Authorization: Bearer ${value}`,
        `https://${place.registry}/v2/`,
      ],
      { env },
    )
    if (v2.stdout !== '200') throw new BenchError(`curl: /v2/ with the token gave ${v2.stdout}`)
    samples.push(performance.now() - started)
  }
  return median(samples)
}

/**
 * 4. A registry that accepts the connection and never answers.
 * @param {string} caPath
 * @param {string} node
 */
async function measureBlackHole(caPath, node) {
  const hole = await startBlackHole()
  try {
    /** @type {number[]} */
    const samples = []
    for (let round = 0; round < RUNS; round++) {
      const run = await runAction({
        node,
        inputs: {
          registry: hole.host,
          username: USERNAME,
          password: SECRET,
          images: imageList(1).join('\n'),
          timeout: String(BLACK_HOLE_TIMEOUT_S),
          retries: '0',
        },
        env: actionEnv(caPath),
        timeoutMs: 60_000,
      })
      if (run.outputs.result !== 'timeout')
        throw new BenchError(`black hole: result '${run.outputs.result}', not timeout`)
      samples.push(run.durationMs)
    }
    return { ms: median(samples), connections: hole.connections / RUNS }
  } finally {
    await hole.close()
  }
}

/**
 * One Markdown table, padded so that it reads as well in a terminal as in the README.
 * @param {Row[]} rows
 */
function renderTable(rows) {
  const header = ['figure', 'value', 'target', 'ratio', 'result']
  const cells = rows.map((r) =>
    r.value === ''
      ? [r.figure, '', '', '', ''] // a section heading
      : [
          r.figure,
          r.value,
          r.target ?? '—',
          r.ratio ?? '—',
          r.pass === undefined ? '—' : r.pass ? 'pass' : '**MISSED**',
        ],
  )
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)))
  /** @param {string[]} line */
  const fmt = (line) => `| ${line.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`
  return [fmt(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...cells.map(fmt)]
    .join('\n')
    .replace(/\s+$/gm, '')
}

/**
 * `--timeline`: the layer path, every run traced (scripts/bench/trace.cjs preloaded): HAPPY_RUNS
 * runs, after an unmeasured round, of the action and, for one image, of its floor, alternately.
 * Prints the phases' medians side by side, and the run with the median wall time of each on a
 * time axis. Three cases: one image at 50 ms per response and at 20 ms round trips, and two
 * images of two repositories at 20 ms round trips, where the second repository's token request
 * goes out beside the first image's manifest (the action alone: no floor for two images).
 * @param {Runtime} runtime
 */
async function timeline(runtime) {
  const work = await mkdtemp(join(tmpdir(), 'registry-auth-preflight-timeline-'))
  /** @type {Place[]} */
  const places = []
  try {
    const tls = await makeCertificates(work, { names: IMITATED_HOSTS })
    const users = { [USERNAME]: SECRET }
    const cases = [
      { images: 1, latency: `${DELAY_MS} ms per response`, of: { delayMs: DELAY_MS } },
      { images: 1, latency: `${WIRE_RTT_MS} ms round trips`, of: { wireRttMs: WIRE_RTT_MS } },
      { images: 2, latency: `${WIRE_RTT_MS} ms round trips`, of: { wireRttMs: WIRE_RTT_MS } },
    ]
    /** @typedef {ReturnType<typeof phasesOf> & { wall: number }} Run */
    /** @type {string[]} */
    const out = []
    for (const [c, { images, latency, of }] of cases.entries()) {
      const list = imageList(images)
      const repos = Object.fromEntries(
        list.map((ref) => ref.split(':')).map(([r, t]) => [r, { tags: [t] }]),
      )
      const place = await startRedHat(tls, users, repos, of)
      places.push(place)
      const who = /** @type {('action' | 'floor')[]} */ (
        images === 1 ? ['action', 'floor'] : ['action']
      )
      const title = `Layer path, ${images === 1 ? '1 image' : `${images} images of ${images} repositories`}, ${latency}`
      progress(`timeline, ${title}: ${HAPPY_RUNS} traced runs of the ${who.join(' and of the ')}`)
      /** @type {Record<string, { run: Run, events: import('./bench/timeline.mjs').TraceEvent[] }[]>} */
      const runs = { action: [], floor: [] }
      for (let round = -1; round < HAPPY_RUNS; round++) {
        for (const w of who) {
          const traceFile = join(work, `trace-${c}-${w}-${round}`)
          const run = await runAction({
            node: runtime.path,
            script: w === 'floor' ? LAYERS_FLOOR : undefined,
            inputs: {
              username: USERNAME,
              password: SECRET,
              images: list.join('\n'),
              layers: 'auto',
            },
            env: {
              ...actionEnv(tls.caPath),
              ...place.env,
              NODE_OPTIONS: `--require=${TRACER}`,
              BENCH_TRACE_FILE: traceFile,
            },
          })
          if (run.outputs.result !== 'ok')
            throw new BenchError(`timeline: the ${w} ended on '${run.outputs.result}', not ok`)
          if (round < 0) continue
          const events = readTrace(await readFile(traceFile, 'utf8'))
          runs[w].push({ run: { ...phasesOf(events), wall: run.durationMs }, events })
        }
      }
      /** @param {string} w @param {(p: Run) => number} pick */
      const med = (w, pick) => median(runs[w].map((r) => pick(r.run)))
      const unit = of.delayMs ?? WIRE_RTT_MS
      /** @type {[string, (p: Run) => number, string][]} */
      const rows = [
        ['wall time (spawn → exit)', (p) => p.wall, 'ms'],
        ["Node's start (→ first JavaScript)", (p) => p.boot, 'ms'],
        ['start-up (first JavaScript → first socket)', (p) => p.startUp, 'ms'],
        ['requests (first socket → last byte)', (p) => p.requests, 'ms'],
        [`requests ÷ ${unit} ms`, (p) => p.requests / unit, ''],
        ['finish (last byte → exit)', (p) => p.finish, 'ms'],
        ['CPU time of the process', (p) => p.cpu, 'ms'],
      ]
      /** @param {number} x @param {string} u */
      const fmt = (x, u) => `${x.toFixed(1)}${u ? ` ${u}` : ''}`
      /** @param {string} w */
      const counts = (w) =>
        [med(w, (p) => p.requestCount), med(w, (p) => p.tunnels), med(w, (p) => p.handshakes)].join(
          ', ',
        )
      const both = who.length === 2
      out.push(
        `### ${title}`,
        '',
        `| median of ${HAPPY_RUNS} traced runs | ${who.join(' | ')}${both ? ' | action − floor' : ''} |`,
        `| --- | ${who.map(() => '---').join(' | ')}${both ? ' | ---' : ''} |`,
        ...rows.map(([name, pick, u]) => {
          const values = who.map((w) => med(w, pick))
          const d = values[0] - values[1]
          const difference = both ? ` | ${fmt(Math.abs(d) < 0.05 ? 0 : d, u)}` : ''
          return `| ${name} | ${values.map((v) => fmt(v, u)).join(' | ')}${difference} |`
        }),
        `| requests, CONNECTs, TLS handshakes | ${who.map(counts).join(' | ')}${both ? ' |' : ''} |`,
        '',
      )
      for (const w of who) {
        const sorted = [...runs[w]].sort((a, b) => a.run.wall - b.run.wall)
        const middle = sorted[Math.floor((sorted.length - 1) / 2)]
        out.push(
          `The ${w === 'action' ? 'action' : 'floor (scripts/bench/layer-path-only.cjs)'}, its run of median wall time (${middle.run.wall} ms); ms since the process's time origin:`,
          '',
          '```',
          ...timelineLines(middle.events),
          '```',
          '',
        )
      }
    }
    console.log(out.join('\n'))
  } finally {
    await Promise.all(places.map((place) => place.close()))
    await rm(work, { recursive: true, force: true })
  }
}

/** What to run when skopeo is missing. */
function skopeoInstallHint() {
  const script = 'scripts/install-test-peers.sh'
  const alternative = existsSync(join(ROOT, script)) ? ` (or: bash ${script})` : ''
  return `sudo apt-get update && sudo apt-get install -y skopeo${alternative}`
}

async function main() {
  if (!existsSync(ACTION_PATH))
    throw new BenchError(`${ACTION_PATH} does not exist: run npm run build first.`)
  if (!which('openssl'))
    throw new BenchError(
      'openssl is not on PATH (it makes the throwaway CA): apt-get install openssl',
    )
  const onlyTimeline = process.argv.includes('--timeline')
  const skopeo = which('skopeo')
  if (!skopeo && !onlyTimeline)
    throw new BenchError(
      `skopeo is not on PATH; the bench compares the action with it. Install it: ${skopeoInstallHint()}`,
    )
  const curl = which('curl')
  if (!curl && !onlyTimeline)
    throw new BenchError('curl is not on PATH. Install it: sudo apt-get install -y curl')

  const runtime = await actionRuntime()
  if (runtime.declaredMissing)
    progress(
      `action.yml runs the action on ${runtime.declared}, which is not in .peers/ (bash scripts/install-runner-node.sh installs it): the action runs on this machine's Node ${runtime.version} instead`,
    )
  else
    progress(
      `the action and its floors run on ${runtime.version}, action.yml's ${runtime.declared}`,
    )
  if (onlyTimeline) return timeline(runtime)
  if (!skopeo || !curl) return // checked above; this tells the type checker
  // This machine's Node too, for one figure, when the action's runtime is another.
  const machineNode = runtime.path === process.execPath ? undefined : process.execPath

  const work = await mkdtemp(join(tmpdir(), 'registry-auth-preflight-bench-'))
  const connections = connectionCounter()
  /** @type {Place[]} */
  const places = []
  const benchStarted = performance.now()
  const loadAtStart = loadavg()[0]
  try {
    progress(`building ${FLOOR_SOURCE} with scripts/build.mjs`)
    const floorPath = await buildFloor(work)

    progress(`start-up: ${STARTUP_RUNS} interleaved runs of each command`)
    const startup = await measureStartup(work, floorPath, runtime.path)

    const tls = await makeCertificates(work, { names: IMITATED_HOSTS })
    const certDir = join(work, 'skopeo-certs')
    await mkdir(certDir)
    await copyFile(tls.caPath, join(certDir, 'ca.crt'))
    const tags = imageList(Math.max(...IMAGE_COUNTS)).map((ref) => ref.split(':'))
    const users = { [USERNAME]: SECRET }

    const repos = Object.fromEntries(tags.map(([repo, tag]) => [repo, { tags: [tag] }]))
    /** @param {{ delayMs?: number, wireRttMs?: number }} latency */
    const redHat = async (latency) => {
      const place = await startRedHat(tls, users, repos, latency)
      places.push(place)
      return place
    }
    /**
     * The same software on 127.0.0.1:<port>, reached directly: a registry the action knows nothing
     * of, so the challenge must name its token service before the action can ask it.
     * @param {number} delayMs
     * @returns {Promise<Place>}
     */
    const anyRegistry = async (delayMs) => {
      const images = Object.fromEntries(tags.map(([repo, tag]) => [repo, [tag]]))
      const fake = await startFakeRedHat({ tls, users, images, delayMs })
      /** @type {Place} */
      const place = {
        label: 'a registry reached by address',
        registry: fake.host,
        env: {},
        realm: fake.realm,
        requests: () => fake.requests.length,
        connections: () => connections.of(fake.port),
        close: () => fake.close(),
      }
      places.push(place)
      return place
    }
    const home = { slow: await redHat({ delayMs: DELAY_MS }), fast: await redHat({}) }
    const other = { slow: await anyRegistry(DELAY_MS), fast: await anyRegistry(0) }
    const wire = { slow: await redHat({ wireRttMs: WIRE_RTT_MS }) }

    progress(
      `happy path, layers: false: ${IMAGE_COUNTS.join(', ')} images, ${HAPPY_RUNS} runs each at ${DELAY_MS} ms and at 0 ms per response`,
    )
    const happy = await measureHappyPath(home, tls.caPath, IMAGE_COUNTS, {
      node: runtime.path,
      layers: 'false',
      floor: REQUESTS_FLOOR,
      machineNode,
    })
    progress(`happy path, a registry reached by address: 1 image, ${HAPPY_RUNS} runs`)
    const discovered = /** @type {HappyFigures} */ (
      (await measureHappyPath(other, tls.caPath, [1], { node: runtime.path, layers: 'false' })).get(
        1,
      )
    )
    progress(
      `layer path, layers: auto: ${LAYER_COUNTS.join(' and ')} images, ${HAPPY_RUNS} runs each at ${DELAY_MS} ms and at 0 ms per response`,
    )
    const layered = await measureHappyPath(home, tls.caPath, LAYER_COUNTS, {
      node: runtime.path,
      layers: 'auto',
      floor: LAYERS_FLOOR,
    })
    progress(
      `layer path, layers: auto: 1 image, ${HAPPY_RUNS} runs at ${WIRE_RTT_MS} ms round trips`,
    )
    const wired = /** @type {HappyFigures} */ (
      (
        await measureHappyPath(wire, tls.caPath, [1], {
          node: runtime.path,
          layers: 'auto',
          floor: LAYERS_FLOOR,
        })
      ).get(1)
    )

    // Peers get a clean environment too: no developer's proxy or registry credentials.
    const peerEnv = { PATH: process.env.PATH ?? '', HOME: join(work, 'home') }
    await mkdir(peerEnv.HOME)
    const skopeoTimes = await measureSkopeo(skopeo, home.slow, certDir, peerEnv)
    progress(`curl procedure, ${RUNS} runs`)
    const curlMs = await measureCurl(curl, home.slow, tls.caPath, peerEnv)
    await Promise.all(places.splice(0).map((place) => place.close()))

    progress(`black hole: timeout ${BLACK_HOLE_TIMEOUT_S} s, retries 0, ${RUNS} runs`)
    const hole = await measureBlackHole(tls.caPath, runtime.path)

    const [actionSize, floorSize] = await Promise.all([stat(ACTION_PATH), stat(floorPath)])
    const skopeoVersion = (await timed(skopeo, ['--version'], { env: peerEnv })).stdout.trim()
    const curlVersion = (await timed(curl, ['--version'], { env: peerEnv })).stdout
      .split(' ')
      .slice(0, 2)
      .join(' ')

    /** @param {number} n */
    const figures = (n) => /** @type {HappyFigures} */ (happy.get(n))
    /** @param {number} n */
    const layers = (n) => /** @type {HappyFigures} */ (layered.get(n))
    /** @param {number} n */
    const preflight = (n) => figures(n).inProcess
    const [one, many] = [Math.min(...IMAGE_COUNTS), Math.max(...IMAGE_COUNTS)]
    /** @param {number} n */
    const nImages = (n) => `${n} image${n === 1 ? '' : 's'}`

    /** @type {Row[]} */
    const rows = [
      { figure: '**1. Start-up**, ending on an input error', value: '' },
      { figure: '`node -e 0`', value: fmtMs(startup.node) },
      {
        figure: 'libraries-only bundle',
        value: fmtMs(startup.floor),
        ratio: `${fmtX(startup.floor / startup.node)} node`,
      },
      {
        figure: '`dist/index.js`',
        value: fmtMs(startup.action),
        target: `≤ ${TARGET.startupVsLibraries} × libraries`,
        ratio: fmtX(startup.action / startup.floor),
        pass: startup.action <= TARGET.startupVsLibraries * startup.floor,
      },
      {
        figure: 'size of `dist/index.js`',
        value: `${Math.round(actionSize.size / 1024)} KiB`,
        ratio: `${fmtX(actionSize.size / floorSize.size)} libraries (${Math.round(floorSize.size / 1024)} KiB)`,
      },
      {
        figure: `**2. Happy path**, manifests only (\`layers: false\`), registry.redhat.io through a proxy, ${DELAY_MS} ms per response`,
        value: '',
      },
      ...IMAGE_COUNTS.flatMap((n) => {
        const f = figures(n)
        /** @type {Row[]} */
        const lines = [
          {
            figure: `${nImages(n)}: wall time`,
            value: fmtMs(f.wall),
            ratio: `${(f.wall / DELAY_MS).toFixed(1)} × ${DELAY_MS} ms`,
            ...(n === one
              ? {
                  target: `≤ ${TARGET.oneImageRoundTrips} × ${DELAY_MS} ms`,
                  pass: f.wall <= TARGET.oneImageRoundTrips * DELAY_MS,
                }
              : {}),
          },
          {
            figure: `${nImages(n)}: preflight`,
            value: `${fmtMs(f.inProcess)}${atZero(f)}`,
            ratio: `${(f.inProcess / DELAY_MS).toFixed(1)} × ${DELAY_MS} ms`,
          },
          {
            figure: `${nImages(n)}: requests, TLS connections`,
            value: `${f.requests}, ${f.connections}`,
          },
        ]
        if (f.machine !== undefined)
          lines.splice(1, 0, {
            figure: `${nImages(n)}: wall time on this machine's Node ${process.version}`,
            value: fmtMs(f.machine),
            ratio: `${(f.machine / DELAY_MS).toFixed(1)} × ${DELAY_MS} ms`,
          })
        if (f.floor !== undefined)
          lines.splice(1, 0, {
            figure: `${nImages(n)}: the same requests by \`node:https\` alone: wall time`,
            value: fmtMs(f.floor),
            ratio: `${(f.floor / DELAY_MS).toFixed(1)} × ${DELAY_MS} ms; the action ${fmtX(f.wall / f.floor)}`,
          })
        return lines
      }),
      {
        figure: `${many} vs ${one} image: wall time`,
        value: `${fmtMs(figures(many).wall)} / ${fmtMs(figures(one).wall)}`,
        target: `≤ ${TARGET.hundredVsOne} ×`,
        ratio: fmtX(figures(many).wall / figures(one).wall),
        pass: figures(many).wall <= TARGET.hundredVsOne * figures(one).wall,
      },
      {
        figure: `${many} vs ${one} image: preflight`,
        value: `${fmtMs(preflight(many))} / ${fmtMs(preflight(one))}`,
        ratio: fmtX(preflight(many) / preflight(one)),
      },
      {
        figure: '1 image, a registry reached by address: wall time',
        value: fmtMs(discovered.wall),
        ratio: `${(discovered.wall / DELAY_MS).toFixed(1)} × ${DELAY_MS} ms`,
      },
      {
        figure: '1 image, a registry reached by address: preflight',
        value: `${fmtMs(discovered.inProcess)}${atZero(discovered)}`,
        ratio: `${(discovered.inProcess / DELAY_MS).toFixed(1)} × ${DELAY_MS} ms`,
      },
      {
        figure: `**3. Layer path** (\`layers: auto\`, the default), registry.redhat.io and its blob host ${QUAY_CDN} through a proxy`,
        value: '',
      },
      ...[
        { f: layers(one), latency: `${DELAY_MS} ms per response`, unit: DELAY_MS },
        { f: wired, latency: `${WIRE_RTT_MS} ms round trips`, unit: WIRE_RTT_MS },
      ].flatMap(({ f, latency, unit }) => {
        const floorMs = /** @type {number} */ (f.floor)
        return /** @type {Row[]} */ ([
          {
            figure: `1 image, ${latency}: wall time`,
            value: fmtMs(f.wall),
            target: `≤ ${TARGET.layersVsFloor} × floor`,
            ratio: `${fmtX(f.wall / floorMs)} floor; ${(f.wall / unit).toFixed(1)} × ${unit} ms`,
            pass: f.wall <= TARGET.layersVsFloor * floorMs,
          },
          {
            figure: `1 image, ${latency}: the fewest requests by \`node:https\` alone (floor)`,
            value: fmtMs(floorMs),
            ratio: `${(floorMs / unit).toFixed(1)} × ${unit} ms`,
          },
          {
            figure: `1 image, ${latency}: preflight`,
            value: `${fmtMs(f.inProcess)}${atZero(f)}`,
            ratio: `${(f.inProcess / unit).toFixed(1)} × ${unit} ms`,
          },
          {
            figure: `1 image, ${latency}: requests, TLS connections`,
            value: `${f.requests}, ${f.connections} (floor: ${f.floorRequests}, ${f.floorConnections})`,
          },
        ])
      }),
      {
        figure: `${many} images, ${DELAY_MS} ms per response: wall time`,
        value: fmtMs(layers(many).wall),
        ratio: `${fmtX(layers(many).wall / layers(one).wall)} 1 image; ${fmtX(layers(many).wall / figures(many).wall)} \`layers: false\``,
      },
      {
        figure: `${many} images, ${DELAY_MS} ms per response: preflight`,
        value: `${fmtMs(layers(many).inProcess)}${atZero(layers(many))}`,
        ratio: `${(layers(many).inProcess / DELAY_MS).toFixed(1)} × ${DELAY_MS} ms`,
      },
      {
        figure: `${many} images: requests, TLS connections`,
        value: `${layers(many).requests}, ${layers(many).connections}`,
      },
      { figure: `**4. Peers**, same servers, ${DELAY_MS} ms per response`, value: '' },
      ...IMAGE_COUNTS.map((n) => {
        const ms = skopeoTimes.get(n) ?? NaN
        const speedup = ms / figures(n).wall
        return {
          figure: `\`skopeo inspect --raw\` × ${n}`,
          value: fmtMs(ms),
          ratio: `${fmtX(speedup)} the action`,
          ...(n === many
            ? {
                target: `≥ ${TARGET.skopeoSpeedup} × the action`,
                pass: speedup >= TARGET.skopeoSpeedup,
              }
            : {}),
        }
      }),
      {
        figure: 'curl: token, then `/v2/` (1 image)',
        value: fmtMs(curlMs),
        ratio: `${fmtX(curlMs / figures(one).wall)} the action`,
      },
      { figure: `**5. Black hole**, timeout ${BLACK_HOLE_TIMEOUT_S} s, retries 0`, value: '' },
      {
        figure: 'time to the verdict (`timeout`)',
        value: fmtMs(hole.ms),
        target: `≤ ${fmtMs(TARGET.blackHoleMs)}`,
        ratio: `${fmtX(hole.ms / TARGET.blackHoleMs)} target`,
        pass: hole.ms <= TARGET.blackHoleMs,
      },
    ]

    const missed = rows.filter((r) => r.pass === false)
    const cpu = cpus()
    const lines = [
      renderTable(rows),
      '',
      `Medians of ${STARTUP_RUNS} runs (start-up) and ${HAPPY_RUNS} (happy path and layer path), each after one unmeasured round, and ${RUNS} (the rest). ` +
        `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${skopeoVersion}, ${curlVersion}. ` +
        `The bench took ${Math.round((performance.now() - benchStarted) / 1000)} s; ` +
        `load average ${loadAtStart.toFixed(1)} at its start and ${loadavg()[0].toFixed(1)} at its end (a busy machine blurs the figures).`,
      runtime.declaredMissing
        ? `- Node: the action and its floors ran on this machine's Node ${runtime.version}, not on ${runtime.declared}, which action.yml names and a runner uses: it is not in .peers/ (bash scripts/install-runner-node.sh).`
        : `- Node: the action and its floors ran on ${runtime.version}, the ${runtime.declared} that action.yml names, as a runner runs them (.peers/, from scripts/install-runner-node.sh); the servers, the proxy and the bench on this machine's ${process.version}.`,
      ...(machineNode
        ? [
            `- On this machine's Node: the 1-image run once more per round, on ${process.version}, which runs the tests here but not the action on a runner. Node 20 parses its bundled root certificates on the main thread, before any JavaScript when NODE_EXTRA_CA_CERTS is set (as here, for the bench's CA), else at the first TLS connection; Node 24 does it on another thread.`,
          ]
        : []),
      `- Start-up: the libraries-only bundle is ${FLOOR_SOURCE}, built as dist/ is (scripts/build.mjs: ncc, CommonJS, no source map).`,
      '- Wall time: the child process, from spawn to exit, start-up included.',
      `- Preflight: the report's own durationMs, from the first request to the verdict, start-up excluded; ` +
        `in brackets the same against a twin of the fake that does not delay (run alternately), the part that is CPU, not latency. ` +
        `The targets are on the wall time, as the issue defines them; the preflight figures show where that time goes.`,
      '- Happy path: the imitation of registry.redhat.io (registry and token service on one host, as today), reached by its name through a loopback CONNECT proxy (HTTPS_PROXY), the action with its default registry and layers: false (a HEAD of each manifest); the last two rows run the same software on 127.0.0.1:<port>, a registry whose token service only its challenge names, so the token request must wait for it.',
      "- The same requests by node:https alone: scripts/bench/requests-only.cjs, run like the action and right after it in each round: the four requests of one image, in the same two waves, through the same proxy, and nothing else. What Node itself needs for this work here; the action's time above it is its own.",
      `- Layer path: layers: auto, the default, on the same imitation: the index (a GET), the platform's manifest, the config blob (Range: bytes=0-0), the registry's 302 to ${QUAY_CDN} and the blob there, through the same proxy (a new tunnel and a new TLS handshake). ` +
        `Its floor, scripts/bench/layer-path-only.cjs, run right after the action in each round, makes the fewest requests for the same answer: the challenge and the token side by side, then the index, the platform's manifest, the blob and its redirect; not the action's authenticated GET /v2/, which goes beside the index. ` +
        `${DELAY_MS} ms per response delays every answer and nothing else; ${WIRE_RTT_MS} ms round trips delays every byte on the wire between the client and the proxy by half that, each way (scripts/bench/delay-relay.mjs, servers undelayed), so that a CONNECT and a TLS handshake cost a round trip each, as on a network.`,
      "- TLS connections: connections the servers accepted in one run (the registry's and, on the layer path, the blob host's), each a TLS handshake.",
      `- skopeo runs once per image, one process after another, as a pipeline step checking N images would. ` +
        `--raw reads what the tag names (the index) and stops there: the work of the action with layers: false, the rows of section 2 it is compared with.`,
      '- curl: the two requests of the KB, one process each, with --cacert.',
      '',
      missed.length
        ? `MISSED ${missed.length} target${missed.length === 1 ? '' : 's'}: ${missed.map((r) => r.figure.replace(/[*`]/g, '')).join('; ')}.`
        : 'All targets met.',
    ]
    console.log(lines.join('\n'))
  } finally {
    connections.stop()
    await Promise.all(places.map((place) => place.close()))
    await rm(work, { recursive: true, force: true })
  }
}

main().then(
  () => {
    process.exitCode = 0
  },
  (error) => {
    if (error instanceof BenchError) console.error(`bench: ${error.message}`)
    else console.error('bench: the bench itself failed:', error)
    process.exitCode = 1
  },
)
