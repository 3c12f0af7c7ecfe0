/**
 * Supply chain, offline: the runtime dependencies are the two the action needs (and what those
 * bring), pinned, without install scripts, under permissive licences that dist/licenses.txt
 * lists, and the bundle loads nothing but Node's own modules. The vulnerability audit needs the
 * registry's advisory service, so it is a separate script (scripts/audit.sh) that CI runs.
 */
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs'
import { isBuiltin } from 'node:module'
import { join } from 'node:path'

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
    const bundle = read('dist/index.js')
    const loaded = [
      ...bundle.matchAll(/createRequire\(import\.meta\.url\)\("([^"]+)"\)/g),
      ...bundle.matchAll(/^import\s[^'"]*?from\s+["']([^"']+)["']/gm),
      ...bundle.matchAll(/\brequire\(["']([^"'./][^"']*)["']\)/g),
    ].map((m) => m[1])
    expect(loaded.length).toBeGreaterThan(0)
    expect([...new Set(loaded)].filter((name) => !isBuiltin(name))).toEqual([])
  })
})

describe('undici, left out of the bundle', () => {
  const httpClient = read('node_modules/@actions/http-client/lib/index.js')

  test('is used by @actions/http-client only to build a ProxyAgent for getAgentDispatcher', () => {
    expect(
      [...httpClient.matchAll(/^import[^;]*from\s+['"]undici['"]/gm)].map((m) => m[0]),
    ).toEqual(["import { ProxyAgent } from 'undici'"])
    // ProxyAgent is named at its import and at one `new`, inside _getProxyAgentDispatcher, which
    // only getAgentDispatcher calls; the action calls neither.
    expect(httpClient.match(/\bProxyAgent\b/g)).toHaveLength(2)
    const method = httpClient.slice(httpClient.indexOf('    _getProxyAgentDispatcher('))
    expect(method.slice(0, method.indexOf('\n    }\n'))).toContain('new ProxyAgent(')
    expect(httpClient.match(/_getProxyAgentDispatcher\(/g)).toHaveLength(2)
    expect(httpClient.slice(httpClient.indexOf('    getAgentDispatcher('))).toMatch(
      /^ {4}getAgentDispatcher\([^]*?this\._getProxyAgentDispatcher\(/,
    )
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
