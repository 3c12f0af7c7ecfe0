/**
 * The credentials a registry gets, and where they came from: the `username` and `password` inputs
 * (the configured registry only, and they win), else the auth file's entry for the repository,
 * else what its credential helper says (`docker-credential-<name> get`, the server on stdin,
 * within the timeout, never through a shell), else none.
 */
import { spawn } from 'node:child_process'
import { lookupAuth, type AuthFileData } from '../authfile.js'
import type { Finding } from '../report.js'
import type { RunContext } from './context.js'

/** Where a registry's credentials came from, as the report says it. */
export type CredentialSource =
  | { kind: 'inputs' }
  | { kind: 'file'; file: string; key: string }
  | { kind: 'helper'; file: string; helper: string }
  | { kind: 'none'; searched?: string[] }

export interface Resolved {
  /** `Basic …` for the token service (or a registry that takes Basic itself). */
  basic?: string
  /** An OAuth refresh token (`identitytoken`) to trade at the token service instead. */
  identityToken?: string
  source: CredentialSource
  /** Credentials that should exist and could not be had (a helper that failed). */
  finding?: Finding
}

/** The credential files of a run: which files, read in order, and every path looked at. */
export interface AuthFiles {
  /** What the `auth-file` input said: a path, or the engine whose files are read. */
  engine: 'docker' | 'podman' | 'path'
  files: AuthFileData[]
  /** Every path looked at, whether it exists or not: what "no entry" is said against. */
  searched: string[]
}

/** The most a helper may print: a JSON object with a user name and a secret. */
const HELPER_OUTPUT_LIMIT = 64 * 1024

export async function resolveCredentials(
  ctx: RunContext,
  registry: string,
  repository: string | undefined,
): Promise<Resolved> {
  const { config } = ctx
  if (registry === config.registry && config.credentials) {
    return {
      basic: basic(ctx, config.credentials.username, config.credentials.password),
      source: { kind: 'inputs' },
    }
  }
  const auth = config.authFiles
  const found = auth && lookupAuth(auth.files, registry, repository)
  if (!found) return { source: { kind: 'none', searched: auth?.searched } }
  if (found.kind === 'entry') {
    const { entry } = found
    const source: CredentialSource = { kind: 'file', file: found.file, key: found.key }
    // docker and skopeo use the identity token when an entry has one.
    if (entry.identityToken !== undefined) return { identityToken: entry.identityToken, source }
    return { basic: basic(ctx, entry.username!, entry.password!), source }
  }
  const source: CredentialSource = { kind: 'helper', file: found.file, helper: found.helper }
  const answer = await ctx.helperAnswer(found.helper, found.server, () =>
    askHelper(found.helper, found.server, config.timeoutMs, ctx.deps.onSecret),
  )
  if ('problem' in answer) {
    return {
      source,
      finding: {
        code: 'missing-credentials',
        detail: `the credential helper docker-credential-${found.helper} (named in ${found.file}) gave no credentials for ${registry}: ${answer.problem}`,
      },
    }
  }
  // Docker's convention: a helper that stores an identity token says so with the user `<token>`.
  if (answer.username === '<token>') return { identityToken: answer.secret, source }
  return { basic: basic(ctx, answer.username, answer.secret), source }
}

function basic(ctx: RunContext, username: string, password: string): string {
  const encoded = Buffer.from(`${username}:${password}`).toString('base64')
  ctx.deps.onSecret(encoded)
  return `Basic ${encoded}`
}

export type HelperAnswer = { username: string; secret: string } | { problem: string }

/**
 * Runs `docker-credential-<helper> get` with the server on stdin. What it prints is a secret:
 * it is never logged, and a problem is described by its kind, never by its output.
 */
export function askHelper(
  helper: string,
  server: string,
  timeoutMs: number,
  onSecret: (secret: string) => void,
): Promise<HelperAnswer> {
  const program = `docker-credential-${helper}`
  return new Promise((resolve) => {
    let settled = false
    const done = (answer: HelperAnswer): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(answer)
    }
    const child = spawn(program, ['get'], { stdio: ['pipe', 'pipe', 'ignore'], shell: false })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      done({ problem: `it did not answer within ${Math.round(timeoutMs / 100) / 10} s` })
    }, timeoutMs)
    const chunks: Buffer[] = []
    let size = 0
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > HELPER_OUTPUT_LIMIT) {
        child.kill('SIGKILL')
        done({ problem: 'it printed more than a credential' })
        return
      }
      chunks.push(chunk)
    })
    child.on('error', (err: NodeJS.ErrnoException) => {
      done({
        problem:
          err.code === 'ENOENT'
            ? `${program} is not on PATH`
            : `${program} could not be run (${err.code ?? 'error'})`,
      })
    })
    child.stdin.on('error', () => {}) // a helper that exits without reading: judged by its exit
    child.on('close', (code) => {
      if (code !== 0) return done({ problem: `it exited with status ${code ?? 'unknown'}` })
      let json: unknown
      try {
        json = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch {
        return done({ problem: 'its output is not JSON' })
      }
      const record = json as Record<string, unknown> | null
      // Masked the moment it is read, before its shape is judged.
      if (typeof record?.Secret === 'string' && record.Secret) onSecret(record.Secret)
      if (
        typeof record !== 'object' ||
        record === null ||
        typeof record.Username !== 'string' ||
        typeof record.Secret !== 'string' ||
        !record.Secret
      ) {
        return done({ problem: 'its output is not {"Username": …, "Secret": …}' })
      }
      done({ username: record.Username, secret: record.Secret })
    })
    child.stdin.end(server)
  })
}
