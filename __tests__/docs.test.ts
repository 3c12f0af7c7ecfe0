/**
 * The README's input and output tables and action.yml say the same: the same names in the same
 * order, the same defaults, nothing required that the README calls optional. They drifted apart
 * once; this keeps them together.
 */
import { readFileSync } from 'node:fs'

const read = (name: string): string => readFileSync(new URL(`../${name}`, import.meta.url), 'utf8')

interface Declared {
  name: string
  default?: string
  required?: string
}

/** The `inputs:` or `outputs:` block of action.yml: one key per entry, one-line scalars. */
function actionYml(section: 'inputs' | 'outputs'): Declared[] {
  const entries: Declared[] = []
  let inside = false
  for (const line of read('action.yml').split('\n')) {
    if (/^\S/.test(line)) {
      inside = line.startsWith(`${section}:`)
      continue
    }
    if (!inside) continue
    const entry = /^ {2}([\w-]+):\s*$/.exec(line)
    if (entry) entries.push({ name: entry[1] })
    const field = /^ {4}(default|required):\s*(.*)$/.exec(line)
    if (field && entries.length) {
      const value = field[2].trim().replace(/^'(.*)'$/, '$1')
      entries[entries.length - 1][field[1] as 'default' | 'required'] = value
    }
  }
  return entries
}

/** The rows of the README table under `## <heading>`: first cell, second cell. */
function readmeTable(heading: string): string[][] {
  const text = read('README.md')
  const start = text.indexOf(`\n## ${heading}\n`)
  expect(start).toBeGreaterThan(0)
  const rows: string[][] = []
  for (const line of text.slice(start).split('\n').slice(2)) {
    if (line.startsWith('## ')) break
    if (!line.startsWith('| `')) continue
    rows.push(
      line
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((cell) => cell.trim()),
    )
  }
  return rows
}

const unquote = (cell: string): string => cell.replace(/^`(.*)`$/, '$1').replace(/^''$/, '')

test('the Inputs table lists action.yml’s inputs, in its order, with its defaults', () => {
  const declared = actionYml('inputs')
  expect(declared.length).toBeGreaterThan(5)
  const rows = readmeTable('Inputs')
  expect(rows.map((r) => unquote(r[0]))).toEqual(declared.map((d) => d.name))
  for (const [n, d] of declared.entries()) {
    expect({ input: d.name, default: unquote(rows[n][1]) }).toEqual({
      input: d.name,
      default: d.default ?? '',
    })
    // Every input is optional: the README's table has no "required" column to say otherwise.
    expect({ input: d.name, required: d.required }).toEqual({ input: d.name, required: 'false' })
  }
})

test('the Outputs table lists action.yml’s outputs, in its order', () => {
  const declared = actionYml('outputs').map((d) => d.name)
  expect(declared).toContain('pull-ready')
  expect(readmeTable('Outputs').map((r) => unquote(r[0]))).toEqual(declared)
})

test('every output the action writes is declared', async () => {
  const { outputsOf } = await import('../src/outputs.js')
  const { invalidInputReport } = await import('../src/report.js')
  const written = Object.keys(outputsOf(invalidInputReport('x', 'r'))).sort()
  expect(written).toEqual(
    actionYml('outputs')
      .map((d) => d.name)
      .sort(),
  )
})
