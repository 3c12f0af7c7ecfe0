// node scripts/screenshots.mjs: the README's pictures of the job summary, taken from real runs. It
// starts the demo's loopback imitation of registry.redhat.io (scripts/demo.mjs), runs the built
// action against it with a service account's right secret and then with a wrong one, renders each
// job summary as GitHub does (scripts/lib/render-summary.mjs: GFM with alerts, GitHub's stylesheet,
// Mermaid) in Debian's headless chromium, and writes PNGs cropped to the summary:
//   docs/summary-passing.png   the run that passed (folded as GitHub shows it, the network path opened)
//   docs/summary-failing.png   the run that failed (the alert, what failed, the network path)
// Run `npm run build` first. Needs chromium (bash scripts/install-test-peers.sh).
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startFakeRedHat } from './lib/fake-registry.mjs'
import { haveChromium, openRenderer } from './lib/render-summary.mjs'
import { ACTION_PATH, runAction } from './lib/run-action.mjs'
import { makeCertificates } from './lib/tls.mjs'

const DOCS = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs')
const USERNAME = '12345678|demo-pipeline'
// Made up on each run, shaped like a service-account secret: nothing real is ever used.
const SECRET = `eyJ${randomBytes(24).toString('base64url')}`
const WRONG_SECRET = `eyJ${randomBytes(24).toString('base64url')}`
const IMAGES = ['ubi9/ubi:latest', 'rhel9/postgresql-15:latest']
/** The README's pictures must stay small. */
const MAX_BYTES = 200 * 1024

async function main() {
  if (!existsSync(ACTION_PATH)) {
    console.error(`${ACTION_PATH} does not exist: run npm run build first.`)
    return 1
  }
  if (!haveChromium()) {
    console.error('chromium is not installed: run bash scripts/install-test-peers.sh')
    return 1
  }
  await mkdir(DOCS, { recursive: true })
  const dir = await mkdtemp(join(tmpdir(), 'registry-auth-preflight-screenshots-'))
  /** @type {import('./lib/fake-registry.mjs').FakeRedHat | undefined} */
  let registry
  /** @type {Awaited<ReturnType<typeof openRenderer>> | undefined} */
  let renderer
  try {
    const tls = await makeCertificates(dir)
    registry = await startFakeRedHat({
      tls,
      users: { [USERNAME]: SECRET },
      images: { 'ubi9/ubi': ['latest', '9.4'], 'rhel9/postgresql-15': ['latest'] },
    })
    renderer = await openRenderer()
    const runs = [
      // The passing run with its network path opened, to show the diagram of a run that passed.
      ['summary-passing.png', SECRET, 'ok', ['Network path']],
      ['summary-failing.png', WRONG_SECRET, 'invalid-credentials', []],
    ]
    for (const [file, password, expected, open] of runs) {
      const result = await runAction({
        inputs: {
          registry: registry.host,
          username: USERNAME,
          password,
          images: IMAGES.join('\n'),
        },
        env: { NODE_EXTRA_CA_CERTS: tls.caPath },
      })
      if (result.outputs.result !== expected) {
        console.error(`expected ${expected}, the run said ${result.outputs.result}`)
        return 1
      }
      const rendered = await renderer.render(result.summary)
      if (rendered.errors.length) {
        console.error(`Mermaid could not draw the diagram: ${rendered.errors.join('; ')}`)
        return 1
      }
      const path = join(DOCS, file)
      await renderer.screenshot(path, { open })
      const { size } = await stat(path)
      console.log(`${path}: ${Math.round(size / 1024)} KiB (${expected})`)
      if (size > MAX_BYTES) {
        console.error(`${file} is larger than ${MAX_BYTES / 1024} KiB`)
        return 1
      }
    }
    return 0
  } finally {
    await renderer?.close()
    await registry?.close()
    await rm(dir, { recursive: true, force: true })
  }
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error) => {
    console.error('The screenshots could not be taken:', error)
    process.exitCode = 1
  },
)
