/**
 * The command line as the action's inputs: an InputReader over the flags, with action.yml's
 * defaults for the inputs not given, as the runner sets them. parseInputs reads it exactly as it
 * reads the runner's, so every check, default, warning and error is the action's own.
 */
import type { Readable } from 'node:stream'
import type { InputReader } from '../inputs.js'
import type { CliArgs } from './args.js'

/**
 * action.yml's `default:` of every input (`__tests__/cli.test.ts` holds them equal), and
 * `auth-file`, which the CLI maps already.
 */
export const ACTION_DEFAULTS: ReadonlyMap<string, string> = new Map([
  ['username', ''],
  ['password', ''],
  ['registry', 'registry.redhat.io'],
  ['images', ''],
  ['auth-file', ''],
  ['auth-url', ''],
  ['proxy', ''],
  ['platform', ''],
  ['layers', 'auto'],
  ['timeout', '10'],
  ['retries', '2'],
  ['fail-on-error', 'true'],
  ['summary', 'true'],
])

/** The variable a password may come in, when no flag gives one. */
export const PASSWORD_VARIABLE = 'REGISTRY_PASSWORD'

/**
 * The inputs as given: the flags' values, the password from stdin (--password-stdin), the
 * command line (--password) or REGISTRY_PASSWORD, in that order; '' for an input nobody set and
 * action.yml has no default for.
 */
export function inputReader(
  args: CliArgs,
  env: NodeJS.ProcessEnv,
  stdinPassword?: string,
): InputReader {
  const values = new Map(args.inputs)
  if (stdinPassword !== undefined) values.set('password', stdinPassword)
  else if (!values.has('password') && env[PASSWORD_VARIABLE] !== undefined) {
    values.set('password', env[PASSWORD_VARIABLE])
  }
  return (name) => values.get(name) ?? ACTION_DEFAULTS.get(name) ?? ''
}

/** More than parseInputs takes as a password, so that a pasted file ends as its error. */
const STDIN_LIMIT = 64 * 1024

/**
 * The password from stdin, as `docker login --password-stdin` reads it: all of it, less one
 * trailing `\n` and then one `\r`. Reading stops past STDIN_LIMIT characters (parseInputs then
 * says it is too long) rather than holding whatever was piped in.
 */
export async function readPasswordFrom(stdin: Readable): Promise<string> {
  let text = ''
  stdin.setEncoding('utf8')
  for await (const chunk of stdin) {
    text += chunk as string
    if (text.length > STDIN_LIMIT) {
      stdin.destroy()
      break
    }
  }
  return text.replace(/\n$/, '').replace(/\r$/, '')
}
