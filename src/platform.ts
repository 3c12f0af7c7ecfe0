/**
 * Platforms as a pull matches them: `os/architecture[/variant]`, normalised the way containerd
 * normalises them (`aarch64` and `arm64` are `arm64/v8`, `arm` is `arm/v7`, `x86_64` is `amd64`),
 * and matched by a matcher rather than by comparing strings, so that an index entry written
 * `linux/arm64` serves a runner that is `linux/arm64/v8`.
 */
export interface Platform {
  os: string
  architecture: string
  variant?: string
}

export class InvalidPlatform extends Error {}

const ARCH_ALIASES: Record<string, Platform['architecture']> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  amd64: 'amd64',
  aarch64: 'arm64',
  arm64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
  arm: 'arm',
  i386: '386',
  i686: '386',
  '386': '386',
}

/** The variant a name implies when none is written (containerd's defaults). */
const DEFAULT_VARIANT: Record<string, string> = { arm64: 'v8', arm: 'v7' }
const IMPLIED_VARIANT: Record<string, string> = { armhf: 'v7', armel: 'v6' }

/** The canonical form: lower case, aliases folded, the default variant filled in. */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase() === 'macos' ? 'darwin' : p.os.toLowerCase()
  const rawArch = p.architecture.toLowerCase()
  const architecture = ARCH_ALIASES[rawArch] ?? rawArch
  let variant: string | undefined =
    p.variant?.toLowerCase() || IMPLIED_VARIANT[rawArch] || DEFAULT_VARIANT[architecture]
  // amd64's v1 is plain amd64; arm64's 8 is v8.
  if (architecture === 'amd64' && variant === 'v1') variant = undefined
  if (architecture === 'arm64' && variant === '8') variant = 'v8'
  return variant ? { os, architecture, variant } : { os, architecture }
}

/** `os/arch[/variant]` as written. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/')
}

/** Reads `os/arch[/variant]`; throws InvalidPlatform. */
export function parsePlatform(text: string): Platform {
  const parts = text.trim().split('/')
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[A-Za-z0-9_.-]+$/.test(p))) {
    throw new InvalidPlatform('expected os/architecture[/variant], e.g. linux/amd64')
  }
  const [os, architecture, variant] = parts
  return normalizePlatform({ os, architecture, variant })
}

/**
 * Whether an image for `candidate` runs on `wanted`, as containerd's matcher for one platform
 * decides: the same OS and architecture, and a variant the wanted one can run (an arm/v7 machine
 * runs arm/v6 and arm/v5; an amd64/v3 machine runs v2 and plain amd64).
 */
export function platformMatches(wanted: Platform, candidate: Platform): boolean {
  const w = normalizePlatform(wanted)
  const c = normalizePlatform(candidate)
  if (w.os !== c.os || w.architecture !== c.architecture) return false
  if (w.variant === c.variant) return true
  const rank = (v: string | undefined): number => Number(/^v(\d+)$/.exec(v ?? 'v1')?.[1] ?? NaN)
  if (w.architecture === 'arm' || w.architecture === 'amd64') {
    return rank(c.variant) <= rank(w.variant)
  }
  return false
}

/** GitHub's RUNNER_ARCH values (X64, ARM64, ARM, X86) as platform architectures. */
const RUNNER_ARCH: Record<string, Pick<Platform, 'architecture' | 'variant'>> = {
  X64: { architecture: 'amd64' },
  ARM64: { architecture: 'arm64', variant: 'v8' },
  ARM: { architecture: 'arm', variant: 'v7' },
  X86: { architecture: '386' },
}

/** Node's process.arch values, for a run outside a GitHub runner. */
const NODE_ARCH: Record<string, Pick<Platform, 'architecture' | 'variant'>> = {
  x64: { architecture: 'amd64' },
  arm64: { architecture: 'arm64', variant: 'v8' },
  arm: { architecture: 'arm', variant: 'v7' },
  ia32: { architecture: '386' },
  ppc64: { architecture: 'ppc64le' },
  s390x: { architecture: 's390x' },
  riscv64: { architecture: 'riscv64' },
}

/**
 * The platform the machine that pulls next will ask for: the runner's (RUNNER_OS, RUNNER_ARCH),
 * else this process's. Containers on Linux and macOS runners are Linux containers; Windows
 * runners pull Windows images.
 */
export function hostPlatform(
  env: NodeJS.ProcessEnv,
  node: { platform: string; arch: string } = process,
): { platform: Platform; source: string } {
  const runnerArch = env.RUNNER_ARCH ? RUNNER_ARCH[env.RUNNER_ARCH.toUpperCase()] : undefined
  if (runnerArch) {
    const os = env.RUNNER_OS?.toLowerCase() === 'windows' ? 'windows' : 'linux'
    return {
      platform: { os, ...runnerArch },
      source: 'the runner (RUNNER_OS and RUNNER_ARCH)',
    }
  }
  const arch = NODE_ARCH[node.arch] ?? { architecture: node.arch }
  const os = node.platform === 'win32' ? 'windows' : 'linux'
  return { platform: { os, ...arch }, source: 'this machine' }
}
