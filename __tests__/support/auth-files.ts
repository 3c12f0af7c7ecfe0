/**
 * What the auth-file tests set up around the action: auth files as docker, podman and skopeo write
 * them (by hand, or by a real `skopeo login`), credential helpers (`docker-credential-<name>`
 * scripts on PATH that log how they were asked), and skopeo reading the same file as the referee.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { skopeo } from '../../scripts/lib/distribution.mjs'

/** An `auths` entry as `docker login` writes it: base64 of `user:password`. */
export function authEntry(user: string, password: string): { auth: string } {
  return { auth: Buffer.from(`${user}:${password}`).toString('base64') }
}

/**
 * Every form an account's secret could leak in: the password as it is and URL-encoded, and the
 * file's `auth` value (which is also the Basic header's base64).
 */
export function secretForms(user: string, password: string): string[] {
  return [password, encodeURIComponent(password), authEntry(user, password).auth]
}

/** Writes `json` to `path` (making its directory), as an auth file; returns the path. */
export async function writeAuthFile(path: string, json: unknown): Promise<string> {
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, typeof json === 'string' ? json : JSON.stringify(json, null, 2))
  return path
}

/** What a credential helper does once it has read the server name from stdin. */
export type HelperBehaviour =
  | { kind: 'answer'; username: string; secret: string }
  | { kind: 'fail'; stdout: string; status: number }
  | { kind: 'print'; stdout: string }
  | { kind: 'hang' }

export interface CredentialHelper {
  /** The directory that holds it: prepend it to PATH. */
  dir: string
  /** The program's name: `docker-credential-<name>`. */
  program: string
  /** How it was called so far: its arguments and what it read on stdin, one entry per call. */
  calls: () => Promise<{ args: string; stdin: string }[]>
}

/** A shell single-quoted word; the paths and texts here never hold a quote themselves. */
function quoted(text: string): string {
  if (text.includes("'")) throw new Error(`cannot single-quote ${text}`)
  return `'${text}'`
}

/**
 * Writes `docker-credential-<name>` into `dir` (a directory of its own): a /bin/sh script that
 * reads the server name from stdin, logs its arguments and that name, then behaves as asked. A
 * helper that hangs `exec`s sleep, so that the action's SIGKILL ends it for good.
 */
export async function writeCredentialHelper(
  dir: string,
  name: string,
  behaviour: HelperBehaviour,
): Promise<CredentialHelper> {
  await mkdir(dir, { recursive: true })
  const program = `docker-credential-${name}`
  const log = join(dir, `${program}.calls`)
  const heredoc = (text: string): string => `cat <<'HELPER_OUTPUT'\n${text}\nHELPER_OUTPUT`
  const act = {
    answer: () =>
      behaviour.kind === 'answer'
        ? heredoc(
            JSON.stringify({
              ServerURL: '',
              Username: behaviour.username,
              Secret: behaviour.secret,
            }),
          )
        : '',
    fail: () =>
      behaviour.kind === 'fail' ? `${heredoc(behaviour.stdout)}\nexit ${behaviour.status}` : '',
    print: () => (behaviour.kind === 'print' ? heredoc(behaviour.stdout) : ''),
    hang: () => 'exec sleep 30',
  }[behaviour.kind]()
  const script = [
    '#!/bin/sh',
    'server=$(cat)',
    `printf '%s\\t%s\\n' "$*" "$server" >> ${quoted(log)}`,
    act,
    '',
  ].join('\n')
  const path = join(dir, program)
  await writeFile(path, script)
  await chmod(path, 0o755)
  return {
    dir,
    program,
    calls: async () => {
      const text = await readFile(log, 'utf8').catch(() => '')
      return text
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [args, stdin = ''] = line.split('\t')
          return { args, stdin }
        })
    },
  }
}

type SkopeoResult = Awaited<ReturnType<typeof skopeo>>

/**
 * `skopeo login --authfile <file>`: writes the file as podman and skopeo do (they check the
 * credentials first, so a wrong password is never written). `target` is `host:port` or
 * `host:port/namespace/repo` (a repository-scoped entry). The password goes on the command line:
 * fine for a loopback peer's test account, and skopeo() gives the child no stdin.
 */
export function skopeoLogin(options: {
  authfile: string
  target: string
  user: string
  password: string
  certDir: string
  home: string
}): Promise<SkopeoResult> {
  const { authfile, target, user, password, certDir, home } = options
  return skopeo(
    ['login', '--authfile', authfile, '--cert-dir', certDir, '-u', user, '-p', password, target],
    { home },
  )
}

/**
 * The referee: `skopeo inspect --no-tags --authfile <file>`, reading the credentials a pull would
 * use (`env`: a PATH that holds a credential helper, say). No tag list: a pull reads none, and not
 * every peer serves one.
 */
export function skopeoInspectWith(options: {
  authfile: string
  reference: string
  certDir: string
  home: string
  env?: Record<string, string>
}): Promise<SkopeoResult> {
  const { authfile, reference, certDir, home, env } = options
  return skopeo(
    [
      'inspect',
      '--no-tags',
      '--retry-times',
      '0',
      '--authfile',
      authfile,
      '--cert-dir',
      certDir,
      `docker://${reference}`,
    ],
    { home, env },
  )
}
