/**
 * Running the core (preflight()) in-process against scripted servers (nock): a config with the
 * test's overrides, deps that record every secret, debug line and sleep, and the check that none
 * of the secrets reached the report or the debug log.
 */
import { preflight, type PreflightConfig, type PreflightDeps } from '../../src/preflight.js'
import { parseImageRef } from '../../src/reference.js'
import type { Report } from '../../src/report.js'

export interface CoreRun {
  report: Report
  secrets: string[]
  debug: string[]
  sleeps: number[]
}

/** Runs the core with `overrides` on top of a config for `registry` that takes these credentials. */
export async function runCore(
  base: Omit<PreflightConfig, 'images'>,
  images: string[] = [],
): Promise<CoreRun> {
  const secrets: string[] = []
  const debug: string[] = []
  const sleeps: number[] = []
  const config: PreflightConfig = {
    ...base,
    images: images.map((i) => parseImageRef(i, base.registry)),
  }
  const deps: PreflightDeps = {
    onSecret: (s) => secrets.push(s),
    debug: (m) => debug.push(m),
    sleep: async (ms) => void sleeps.push(ms),
    now: () => Date.now(),
    userAgent: 'test',
    concurrency: 4,
  }
  const report = await preflight(config, deps)
  return { report, secrets, debug, sleeps }
}

/** No secret in the report (every output and the summary are made from it) or the debug log. */
export function expectNoLeakIn(run: CoreRun, secrets: string[]): void {
  const text = JSON.stringify(run.report) + run.debug.join('\n')
  for (const secret of secrets) expect(text).not.toContain(secret)
}
