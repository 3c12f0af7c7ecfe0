/**
 * Supply chain, offline: the runtime dependencies are the two the action needs (and what those
 * bring), pinned, without install scripts, under permissive licences that dist/licenses.txt
 * lists, and the bundle loads nothing but Node's own modules. The vulnerability audit needs the
 * registry's advisory service, so it is a separate script (scripts/audit.sh) that CI runs.
 * A dependency's source and the bundle are read by their syntax, not their layout: a release that
 * is only reformatted passes, one that loads or calls something new fails.
 */
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs'
import { isBuiltin } from 'node:module'
import { join } from 'node:path'
import {
  callersOf,
  importsOf,
  moduleLoads,
  parseJs,
  usesOf,
  type Source,
} from './support/js-source.js'

const ROOT = process.cwd()
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8')

interface LockEntry {
  version?: string
  license?: string
  dev?: boolean
  devOptional?: boolean
  optional?: boolean
  hasInstallScript?: boolean
  dependencies?: Record<string, string>
}

const pkg = JSON.parse(read('package.json')) as {
  dependencies?: Record<string, string>
  devDependencies?: Record<string, string>
}
const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, LockEntry> }

/** The packages that ship with the action: every lock entry that is not a dev dependency. */
function runtimePackages(): Map<string, LockEntry> {
  const out = new Map<string, LockEntry>()
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.dev || entry.devOptional) continue
    out.set(path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length), entry)
  }
  return out
}

/** dist/licenses.txt as ncc writes it: a package name, its licence id, its licence text, a blank line. */
function licenseEntries(): Map<string, string> {
  const lines = read('dist/licenses.txt').split(/\r?\n/)
  const names = new Set(runtimePackages().keys())
  const out = new Map<string, string>()
  lines.forEach((line, i) => {
    if (names.has(line) && (i === 0 || lines[i - 1].trim() === '')) out.set(line, lines[i + 1])
  })
  return out
}

const PERMISSIVE = new Set(['MIT', 'ISC', 'Apache-2.0', 'BSD-2-Clause', 'BSD-3-Clause', '0BSD'])

describe('runtime dependencies', () => {
  test('are exactly @actions/core and @actions/http-client', () => {
    expect(Object.keys(pkg.dependencies ?? {}).sort()).toEqual([
      '@actions/core',
      '@actions/http-client',
    ])
  })

  test('are pinned to exact versions, and the lock file agrees', () => {
    for (const [name, version] of Object.entries(pkg.dependencies ?? {})) {
      expect(version).toMatch(/^\d+\.\d+\.\d+$/)
      expect(lock.packages[`node_modules/${name}`]?.version).toBe(version)
    }
  })

  test('bring only @actions/exec, @actions/io, undici and tunnel with them', () => {
    expect([...runtimePackages().keys()].sort()).toEqual([
      '@actions/core',
      '@actions/exec',
      '@actions/http-client',
      '@actions/io',
      'tunnel',
      'undici',
    ])
  })

  test('run no install script and carry permissive licences', () => {
    for (const [name, entry] of runtimePackages()) {
      expect({ name, hasInstallScript: entry.hasInstallScript ?? false }).toEqual({
        name,
        hasInstallScript: false,
      })
      expect({ name, permissive: PERMISSIVE.has(entry.license ?? '') }).toEqual({
        name,
        permissive: true,
      })
    }
  })
})

describe('dist/', () => {
  test('licenses.txt names every package the bundle carries with its licence (all but undici)', () => {
    const entries = licenseEntries()
    for (const name of ['@actions/core', '@actions/http-client', 'tunnel']) {
      expect(entries.has(name)).toBe(true)
    }
    for (const [name, entry] of runtimePackages()) {
      if (name === 'undici') continue
      expect({ name, license: entries.get(name) }).toEqual({ name, license: entry.license })
    }
  })

  test('carries src/undici-left-out.ts in place of undici', () => {
    const bundle = read('dist/index.js')
    expect(bundle).toContain('undici is left out of this bundle')
    // Every undici error class has a code starting UND_ERR_: none of its code is in the bundle.
    expect(bundle).not.toMatch(/UND_ERR_/)
    expect(licenseEntries().has('undici')).toBe(false)
  })

  test('the bundle loads nothing but Node built-in modules (no node_modules at run time)', () => {
    // Every load, read from the syntax: a module named by anything but a string is "(computed)",
    // which is no built-in, so it fails here too.
    const loaded = new Set(moduleLoads(parseJs(read('dist/index.js'))))
    expect([...loaded].filter((name) => !isBuiltin(name))).toEqual([])
    // The reading found the loads it must: the network modules every check goes through. Which
    // other built-ins the bundle loads is the source's business, so the list is not pinned.
    for (const name of ['http', 'https', 'net', 'tls']) expect(loaded).toContain(name)
  })
})

/** How a module uses undici: the imports, where what they bind is used, who reaches it. */
function undiciUse(source: Source): { imports: string[]; uses: string[]; callers: string[] } {
  const { ways, names } = importsOf(source, 'undici')
  return {
    imports: ways,
    uses: usesOf(source, names),
    callers: callersOf(source, '_getProxyAgentDispatcher'),
  }
}

/** What @actions/http-client does with undici today: the premise of leaving undici out. */
const HTTP_CLIENT_UNDICI = {
  imports: ['import { ProxyAgent }'],
  uses: ['new ProxyAgent in _getProxyAgentDispatcher'],
  callers: ['getAgentDispatcher'],
}

describe('undici, left out of the bundle', () => {
  const httpClient = read('node_modules/@actions/http-client/lib/index.js')

  test('is used by @actions/http-client only to build a ProxyAgent for getAgentDispatcher', () => {
    // ProxyAgent is imported, and built once, inside _getProxyAgentDispatcher, which only
    // getAgentDispatcher calls; the action calls neither (below).
    expect(undiciUse(parseJs(httpClient))).toEqual(HTTP_CLIENT_UNDICI)
  })

  test('the bundle calls getAgentDispatcher nowhere, so the stand-in is never built', () => {
    const bundle = parseJs(read('dist/index.js'))
    expect(callersOf(bundle, 'getAgentDispatcher')).toEqual([])
    expect(callersOf(bundle, '_getProxyAgentDispatcher')).toEqual(['getAgentDispatcher'])
    // The stand-in is declared, and built only there.
    expect(usesOf(bundle, ['ProxyAgent'])).toEqual(['new ProxyAgent in _getProxyAgentDispatcher'])
  })

  test('the reading itself: a reformatted copy reads the same, a changed one does not', () => {
    const reformatted = httpClient
      .replace(/^(?: {4})+/gm, (indent) => '\t'.repeat(indent.length / 4))
      .replace(/\{ /g, '{')
      .replace(/ \}/g, '}')
      .replace(/'undici'/g, '"undici"')
    expect(reformatted).not.toMatch(/^ {4}\S/m) // what the tests matched on before is gone
    expect(undiciUse(parseJs(reformatted))).toEqual(HTTP_CLIENT_UNDICI)

    const changed: [string, Partial<typeof HTTP_CLIENT_UNDICI>][] = [
      [
        'export function elsewhere() { return new ProxyAgent({}) }',
        { uses: [...HTTP_CLIENT_UNDICI.uses, 'new ProxyAgent in elsewhere'] },
      ],
      [
        'export const Kept = ProxyAgent',
        { uses: [...HTTP_CLIENT_UNDICI.uses, 'ProxyAgent in (top level)'] },
      ],
      [
        'export function elsewhere(client) { return client._getProxyAgentDispatcher() }',
        { callers: [...HTTP_CLIENT_UNDICI.callers, 'elsewhere'] },
      ],
      [
        "export function elsewhere(client) { return client['_getProxyAgentDispatcher']() }",
        { callers: [...HTTP_CLIENT_UNDICI.callers, 'elsewhere'] },
      ],
      [
        "const { Agent } = require('undici')",
        { imports: [...HTTP_CLIENT_UNDICI.imports, 'require'] },
      ],
      [
        "import { Agent as A } from 'undici'",
        { imports: [...HTTP_CLIENT_UNDICI.imports, 'import { Agent as A }'] },
      ],
    ]
    for (const [line, difference] of changed) {
      expect({ line, use: undiciUse(parseJs(`${httpClient}\n${line}\n`)) }).toEqual({
        line,
        use: { ...HTTP_CLIENT_UNDICI, ...difference },
      })
    }
  })

  test('is imported by no other runtime package', () => {
    for (const name of runtimePackages().keys()) {
      if (name === 'undici' || name === '@actions/http-client') continue
      const dir = join(ROOT, 'node_modules', name)
      const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) =>
        /\.(c|m)?js$/.test(f),
      )
      for (const file of files) {
        const text = readFileSync(join(dir, file), 'utf8')
        expect({ file: `${name}/${file}`, undici: /['"]undici['"]/.test(text) }).toEqual({
          file: `${name}/${file}`,
          undici: false,
        })
      }
    }
  })

  test('is replaced, for ncc only, by a stand-in that says so when anything constructs it', async () => {
    const tsconfig = JSON.parse(read('tsconfig.json')) as {
      compilerOptions: { paths?: Record<string, string[]> }
    }
    expect(tsconfig.compilerOptions.paths).toEqual({ undici: ['./src/undici-left-out.ts'] })
    const { ProxyAgent } = await import('../src/undici-left-out.js')
    expect(() => new ProxyAgent()).toThrow(/undici is left out of this bundle/)
  })
})

describe('the audit', () => {
  test('scripts/audit.sh runs npm audit on the runtime dependencies at level high, and is executable', () => {
    const script = read('scripts/audit.sh')
    expect(script).toMatch(/npm audit --omit=dev --audit-level=high/)
    expect(script).toMatch(/process\.exit\(1\)/) // findings fail
    expect(() => accessSync(join(ROOT, 'scripts/audit.sh'), constants.X_OK)).not.toThrow()
  })
})
