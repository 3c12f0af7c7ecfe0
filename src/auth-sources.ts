/**
 * Where the `auth-file` input points: a path, or the files an engine reads. docker reads
 * `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. podman, buildah and skopeo read
 * `$REGISTRY_AUTH_FILE` alone when it is set, else `$XDG_RUNTIME_DIR/containers/auth.json`, then
 * `$XDG_CONFIG_HOME/containers/auth.json` (`~/.config/…`), then Docker's file, the first that has
 * an entry winning. Missing files of an engine are skipped (that engine has no login there);
 * a path given by hand must exist.
 */
import { readFileSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import {
  AUTH_FILE_LIMIT,
  AuthFileError,
  lookupAuth,
  parseAuthFile,
  registriesIn,
  type AuthFileData,
  type AuthLookup,
} from './authfile.js'
import type { AuthFiles } from './core/credentials.js'

export class AuthSourceError extends Error {}

export type Engine = 'docker' | 'podman'

/** The paths an engine reads, in order. */
export function enginePaths(engine: Engine, env: NodeJS.ProcessEnv): string[] {
  const home = env.HOME || homedir()
  const docker = join(env.DOCKER_CONFIG || join(home, '.docker'), 'config.json')
  if (engine === 'docker') return [docker]
  if (env.REGISTRY_AUTH_FILE) return [env.REGISTRY_AUTH_FILE]
  const paths: string[] = []
  if (env.XDG_RUNTIME_DIR) paths.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'))
  paths.push(join(env.XDG_CONFIG_HOME || join(home, '.config'), 'containers', 'auth.json'))
  paths.push(docker)
  return paths
}

/** Reads the files `auth-file` names; every secret goes to `onSecret` as it is read. */
export function readAuthFiles(
  value: string,
  env: NodeJS.ProcessEnv,
  onSecret: (secret: string) => void,
): AuthFiles {
  const engine = value === 'docker' || value === 'podman' ? value : undefined
  const searched = engine ? enginePaths(engine, env) : [value]
  const files: AuthFileData[] = []
  for (const path of searched) {
    const file = readOne(path, !engine, onSecret)
    if (file) files.push(file)
  }
  return { engine: engine ?? 'path', files, searched }
}

function readOne(
  path: string,
  mustExist: boolean,
  onSecret: (secret: string) => void,
): AuthFileData | undefined {
  let size: number
  try {
    const stat = statSync(path)
    if (!stat.isFile()) throw new AuthSourceError(`${path} is not a file`)
    size = stat.size
  } catch (err) {
    if (err instanceof AuthSourceError) throw err
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' && !mustExist) return undefined
    throw new AuthSourceError(
      code === 'ENOENT' ? `${path} does not exist` : `${path} cannot be read (${code ?? 'error'})`,
    )
  }
  if (size > AUTH_FILE_LIMIT)
    throw new AuthSourceError(`${path} is over 1 MiB, which no auth file is`)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new AuthSourceError(
      `${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    )
  }
  try {
    return parseAuthFile(text, path, onSecret)
  } catch (err) {
    if (err instanceof AuthFileError) throw new AuthSourceError(`${path}: ${err.message}`)
    throw err
  }
}

/** Every registry the files name, first file first. */
export function registriesOf(auth: AuthFiles): string[] {
  const all: string[] = []
  for (const file of auth.files)
    for (const registry of registriesIn(file)) if (!all.includes(registry)) all.push(registry)
  return all
}

/**
 * The bug users hunt for: one engine logged in and the other, which pulls, did not. For each
 * registry, the credentials docker would use and those podman would use, compared; where they
 * differ, a warning naming both files. Secrets are compared, never shown.
 */
export function engineMismatches(
  engine: Engine,
  env: NodeJS.ProcessEnv,
  registries: { registry: string; repository?: string }[],
  mine: AuthFiles,
  onSecret: (secret: string) => void,
): string[] {
  const other: Engine = engine === 'docker' ? 'podman' : 'docker'
  let theirs: AuthFiles
  try {
    // Only compared, but read all the same: its secrets are masked like any other.
    theirs = readAuthFiles(other, env, onSecret)
  } catch {
    // The other engine's files are only compared; one that cannot be read is not this run's problem.
    return []
  }
  const warnings: string[] = []
  for (const { registry, repository } of registries) {
    const a = lookupAuth(mine.files, registry, repository)
    const b = lookupAuth(theirs.files, registry, repository)
    if (sameCredentials(a, b)) continue
    const where = (files: AuthFiles, found: AuthLookup | undefined): string =>
      found
        ? found.kind === 'entry'
          ? `an entry (${found.key}) in ${found.file}`
          : `the credential helper docker-credential-${found.helper} (${found.file})`
        : `no entry in ${files.searched.join(' or ')}`
    warnings.push(
      `${registry}: ${engine} has ${where(mine, a)}, but ${other} has ${where(theirs, b)}. A step that pulls with ${other} (or a tool that reads its files) will not present the credentials checked here: log in with the engine that pulls.`,
    )
  }
  return warnings
}

function sameCredentials(a: AuthLookup | undefined, b: AuthLookup | undefined): boolean {
  if (!a || !b) return !a && !b
  if (a.kind === 'helper' || b.kind === 'helper')
    return a.kind === b.kind && a.kind === 'helper' && b.kind === 'helper' && a.helper === b.helper
  return (
    a.entry.username === b.entry.username &&
    a.entry.password === b.entry.password &&
    a.entry.identityToken === b.entry.identityToken
  )
}
