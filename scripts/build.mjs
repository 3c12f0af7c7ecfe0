// npm run build: bundles src/index.ts (the action) into dist/index.js and src/cli/index.ts (the
// command line) into dist/cli.js with ncc, as CommonJS.
//
// The sources are ESM (@actions/core and @actions/http-client are ESM only), but each bundle is a
// single file that loads nothing but Node's built-ins, so its module format is ours to choose. The
// ncc CLI would make it ESM (it follows package.json's "type"), and Node starts an ESM entry point
// through its ESM loader, which costs about 15 ms of every run on this machine (`npm run bench`,
// start-up) before any of the action's code runs. A CommonJS entry point does not pay it.
//
// Usage: node scripts/build.mjs                     dist/index.js and dist/cli.js
//        node scripts/build.mjs entry [out-dir]     entry alone, as out-dir/index.js (default dist)
// Like `ncc build`, it reads the tsconfig.json of the working directory (its `paths` leave undici
// out, see src/undici-left-out.ts), replaces the .js files of the output directory, and writes the
// licences of the bundled packages to licenses.txt: the action's, which the command line's are
// part of (the build fails should the command line ever bundle a package the action does not). No
// source map: its loader costs start-up. No build cache (see below).
import ncc from '@vercel/ncc'
import { chmod, mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'

const [entry, out = 'dist'] = process.argv.slice(2)
const outDir = resolve(out)
/** @type {{ entry: string, file: string, mode?: number }[]} */
const bundles = entry
  ? [{ entry, file: 'index.js' }]
  : [
      { entry: 'src/index.ts', file: 'index.js' },
      // The `bin` of package.json: npm makes it executable on install; a checkout gets it as built.
      { entry: 'src/cli/index.ts', file: 'cli.js', mode: 0o755 },
    ]

/** @param {string} path */
async function bundle(path) {
  return ncc(resolve(path), {
    esm: false,
    // ncc's build cache is keyed by the entry's path and ncc's version, not by `esm`: a cache left
    // by an ESM build of the same path (the ncc CLI's default) gives ESM externals inside a CommonJS
    // bundle. Every build starts clean, so that a fresh clone builds the same dist/ as this one.
    cache: false,
    sourceMap: false,
    license: 'licenses.txt',
    quiet: true,
  })
}

const built = []
for (const b of bundles) built.push({ ...b, ...(await bundle(b.entry)) })

const licences = built.map((b) => b.assets['licenses.txt']?.source.toString() ?? '')
const listed = new Set(licences[0].split('\n'))
for (const [n, text] of licences.entries()) {
  if (text.split('\n').some((line) => !listed.has(line))) {
    throw new Error(
      `${built[n].file} bundles a package whose licence ${built[0].file}'s licenses.txt does not hold`,
    )
  }
}

await mkdir(outDir, { recursive: true })
// A file left from an earlier build must not look like part of this one.
for (const name of await readdir(outDir)) {
  if (/\.(c|m)?js$/.test(name)) await rm(join(outDir, name))
}
const kib = (/** @type {string} */ code) => `${Math.round(Buffer.byteLength(code) / 1024)} KiB`
for (const [n, { file, code, assets, mode }] of built.entries()) {
  await writeFile(join(outDir, file), code)
  if (mode !== undefined) await chmod(join(outDir, file), mode)
  // The first bundle's assets (licenses.txt) hold the others'.
  if (n === 0) {
    for (const [name, asset] of Object.entries(assets)) {
      await mkdir(dirname(join(outDir, name)), { recursive: true })
      await writeFile(join(outDir, name), asset.source)
    }
  }
  console.log(
    `${relative(process.cwd(), join(outDir, file))}: ${kib(code)}, CommonJS` +
      `; ${n === 0 ? Object.keys(assets).join(', ') || 'no assets' : 'its licences in the above'}`,
  )
}
// The project's package.json says "type": "module"; this one, nearer to the bundles, tells Node
// that they are CommonJS.
await writeFile(join(outDir, 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`)
