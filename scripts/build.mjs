// npm run build: bundles src/index.ts into dist/ with ncc, as CommonJS.
//
// The sources are ESM (@actions/core and @actions/http-client are ESM only), but the bundle is a
// single file that loads nothing but Node's built-ins, so its module format is ours to choose. The
// ncc CLI would make it ESM (it follows package.json's "type"), and Node starts an ESM entry point
// through its ESM loader, which costs about 15 ms of every run on this machine (`npm run bench`,
// start-up) before any of the action's code runs. A CommonJS entry point does not pay it.
//
// Usage: node scripts/build.mjs [entry] [out-dir]   (defaults: src/index.ts dist)
// Like `ncc build`, it reads the tsconfig.json of the working directory (its `paths` leave undici
// out, see src/undici-left-out.ts), replaces the .js files of the output directory, and writes the
// licences of the bundled packages to licenses.txt. No source map: its loader costs start-up. No
// build cache (see below).
import ncc from '@vercel/ncc'
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'

const [entry = 'src/index.ts', out = 'dist'] = process.argv.slice(2)
const outDir = resolve(out)

const { code, assets } = await ncc(resolve(entry), {
  esm: false,
  // ncc's build cache is keyed by the entry's path and ncc's version, not by `esm`: a cache left by
  // an ESM build of the same path (the ncc CLI's default) gives ESM externals inside a CommonJS
  // bundle. Every build starts clean, so that a fresh clone builds the same dist/ as this one.
  cache: false,
  sourceMap: false,
  license: 'licenses.txt',
  quiet: true,
})

await mkdir(outDir, { recursive: true })
// A file left from an earlier build must not look like part of this one.
for (const name of await readdir(outDir)) {
  if (/\.(c|m)?js$/.test(name)) await rm(join(outDir, name))
}
await writeFile(join(outDir, 'index.js'), code)
for (const [name, asset] of Object.entries(assets)) {
  await mkdir(dirname(join(outDir, name)), { recursive: true })
  await writeFile(join(outDir, name), asset.source)
}
// The project's package.json says "type": "module"; this one, nearer to index.js, tells Node
// that the bundle is CommonJS.
await writeFile(join(outDir, 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`)

const kib = (bytes) => `${Math.round(bytes / 1024)} KiB`
console.log(
  `${relative(process.cwd(), join(outDir, 'index.js'))}: ${kib(Buffer.byteLength(code))}, CommonJS` +
    `; ${Object.keys(assets).join(', ') || 'no assets'}`,
)
