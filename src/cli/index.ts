#!/usr/bin/env node
/**
 * The command line's entry point (dist/cli.js, the `registry-auth-preflight` bin). Exits once
 * stdout and stderr are written: a socket left behind by a peer that never answered must not keep
 * the process running.
 */
import { main } from './run.js'

/** Resolves once everything written to `stream` so far has been handed to the system. */
const flushed = (stream: NodeJS.WriteStream): Promise<void> =>
  new Promise((resolve) => stream.write('', () => resolve()))

// A reader that goes away (`| head`) is no failure of the check, and there is nowhere left to say
// so: the exit status still tells.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})

void main({
  argv: process.argv.slice(2),
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
}).then(async (code) => {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)])
  process.exit(code)
})
