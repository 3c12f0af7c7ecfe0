/**
 * The command line, read into the action's inputs by name. Nothing is validated here but the
 * shape of the command line itself: every value goes, as text, to the same parseInputs the action
 * uses. No error quotes a value given on the command line (it may be a password); only flag names
 * the program knows, and the name of an unknown flag without its value, are quoted back.
 */
import { quote } from '../text.js'

export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

export interface Flag {
  long: string
  short?: string
  /** The action's input the value goes to; flags without one are the command line's own. */
  input?: string
  /** What the value looks like, in --help; absent for a flag that takes no value. */
  value?: string
  /** Each use adds a line to the input (images) instead of replacing it. */
  repeatable?: boolean
  help: string
}

/** Every flag, in the order --help lists them. */
export const FLAGS: readonly Flag[] = [
  {
    long: 'registry',
    input: 'registry',
    value: 'HOST[:PORT]',
    help: 'The registry the credentials belong to (default registry.redhat.io).',
  },
  {
    long: 'username',
    short: 'u',
    input: 'username',
    value: 'NAME',
    help: "Customer Portal login, or a Registry Service Account's name ('12345678|name').",
  },
  {
    long: 'password-stdin',
    help: 'Read the password from stdin (one trailing newline is dropped), as docker login does.',
  },
  {
    long: 'password',
    short: 'p',
    input: 'password',
    value: 'SECRET',
    help: 'The password on the command line: it lands in shell history and ps. Prefer --password-stdin or REGISTRY_PASSWORD.',
  },
  {
    long: 'image',
    input: 'images',
    value: 'REF',
    repeatable: true,
    help: 'An image the pulls will ask for (ubi9/ubi:latest, quay.io/org/app@sha256:…). Repeatable.',
  },
  {
    long: 'images',
    input: 'images',
    value: 'LIST',
    repeatable: true,
    help: 'Images, comma- or newline-separated, as the action takes them.',
  },
  {
    long: 'auth-file',
    input: 'auth-file',
    value: 'FILE',
    help: "The action's auth-file input: credentials from a containers auth.json or docker config.json.",
  },
  {
    long: 'platform',
    input: 'platform',
    value: 'OS/ARCH[,…]',
    help: "Platforms every image must offer; 'any' skips the check (default: this machine's).",
  },
  {
    long: 'layers',
    input: 'layers',
    value: 'auto|true|false',
    help: 'Follow one image per registry to its layers, as a pull does (default auto).',
  },
  {
    long: 'auth-url',
    input: 'auth-url',
    value: 'URL',
    help: "Token endpoint override (default: the realm of the registry's challenge).",
  },
  {
    long: 'proxy',
    input: 'proxy',
    value: 'URL',
    help: 'Proxy URL, http://[user:pass@]host:port (default HTTPS_PROXY, https_proxy; NO_PROXY applies).',
  },
  {
    long: 'timeout',
    input: 'timeout',
    value: 'SECONDS',
    help: 'Seconds for one attempt of one request (default 10).',
  },
  {
    long: 'retries',
    input: 'retries',
    value: 'N',
    help: 'Extra tries for transient failures (default 2).',
  },
  {
    long: 'json',
    help: "Print the report as JSON (the action's `report` output) instead of the text.",
  },
  {
    long: 'summary',
    value: 'FILE',
    help: 'Also write the Markdown summary (as the job summary) to FILE.',
  },
  {
    long: 'quiet',
    short: 'q',
    help: 'No text report on stdout: the exit status says it (--json and --summary still write theirs; warnings and errors still go to stderr).',
  },
  { long: 'help', short: 'h', help: 'Show this help.' },
  { long: 'version', short: 'V', help: 'Show the version.' },
]

export interface CliArgs {
  /** The raw text of each input given on the command line, by the action's input name. */
  inputs: Map<string, string>
  passwordStdin: boolean
  /** The password was given with --password or -p. */
  passwordOnCommandLine: boolean
  json: boolean
  summaryFile?: string
  quiet: boolean
  help: boolean
  version: boolean
}

const byLong = new Map(FLAGS.map((f) => [f.long, f]))
const byShort = new Map(FLAGS.filter((f) => f.short).map((f) => [f.short!, f]))

/** The flag an argument names exactly (`--json`, `-q`), if it is one this program knows. */
function knownFlag(arg: string): Flag | undefined {
  if (arg.startsWith('--')) return byLong.get(arg.slice(2).split('=')[0])
  if (/^-[A-Za-z]$/.test(arg)) return byShort.get(arg.slice(1))
  return undefined
}

/**
 * Reads argv (without node and the script). A flag's value is the next argument, `--flag=value`,
 * or for a short flag `-uNAME`; the next argument is taken whatever it starts with (a password
 * may start with `-`), unless it is one of this program's own flags, which means the value was
 * left out. A flag given twice keeps its last value, but --image and --images add up.
 */
export function parseArgs(argv: readonly string[]): CliArgs {
  const args: CliArgs = {
    inputs: new Map(),
    passwordStdin: false,
    passwordOnCommandLine: false,
    json: false,
    quiet: false,
    help: false,
    version: false,
  }
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]
    let flag: Flag | undefined
    let inline: string | undefined
    let name: string
    if (arg.startsWith('--') && arg.length > 2) {
      const equals = arg.indexOf('=')
      name = equals < 0 ? arg : arg.slice(0, equals)
      if (equals >= 0) inline = arg.slice(equals + 1)
      flag = byLong.get(name.slice(2))
    } else if (/^-[A-Za-z]/.test(arg)) {
      name = arg.slice(0, 2)
      flag = byShort.get(arg[1])
      if (arg.length > 2) {
        if (flag && !flag.value) throw new UsageError(`${name} takes no value.`)
        inline = arg.slice(2)
      }
    } else {
      // A stray value (or `--`, `-`): never quoted back, since it may be a secret.
      throw new UsageError(
        `unexpected argument ${i + 1}: every value follows its flag, e.g. --image ubi9/ubi:latest.`,
      )
    }
    if (!flag) throw new UsageError(`unknown flag ${quote(name, 40)}.`)

    let value: string | undefined
    if (flag.value) {
      if (inline !== undefined) value = inline
      else {
        const next = argv[i + 1]
        if (next === undefined || knownFlag(next)) {
          throw new UsageError(`--${flag.long} needs a value (${flag.value}).`)
        }
        value = next
        i += 1
      }
    } else if (inline !== undefined) {
      throw new UsageError(`--${flag.long} takes no value.`)
    }

    if (flag.input && value !== undefined) {
      const before = args.inputs.get(flag.input)
      args.inputs.set(
        flag.input,
        flag.repeatable && before !== undefined ? `${before}\n${value}` : value,
      )
      if (flag.long === 'password') args.passwordOnCommandLine = true
      continue
    }
    switch (flag.long) {
      case 'password-stdin':
        args.passwordStdin = true
        break
      case 'json':
        args.json = true
        break
      case 'summary':
        args.summaryFile = value
        break
      case 'quiet':
        args.quiet = true
        break
      case 'help':
        args.help = true
        break
      case 'version':
        args.version = true
        break
    }
  }
  if (args.passwordStdin && args.passwordOnCommandLine) {
    throw new UsageError('--password and --password-stdin are incompatible.')
  }
  return args
}
