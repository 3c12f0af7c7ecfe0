/**
 * Text made inert for the job summary. GitHub renders the summary as GitHub-flavoured Markdown:
 * whatever a server sent (an error message, a host it redirected to, a certificate's names) must
 * show as the characters it is, never as bold text, a link, an image, a mention or an HTML element.
 * Two forms: a code span for a value shown whole, and prose for our sentences around such values.
 */
import { oneLine } from './text.js'

/**
 * A value as inline code: the fence is one backtick longer than the longest run of backticks in
 * it, and a space pads a value that starts or ends with a backtick, so nothing ends the span early.
 * Inside a code span nothing is Markdown or HTML.
 */
export function codeSpan(text: string, max = 200): string {
  const value = oneLine(text, max)
  if (!value) return '` `'
  const longest = Math.max(0, ...(value.match(/`+/g) ?? []).map((run) => run.length))
  const fence = '`'.repeat(longest + 1)
  const pad = value.startsWith('`') || value.endsWith('`') ? ' ' : ''
  return `${fence}${pad}${value}${pad}${fence}`
}

/**
 * The characters Markdown, HTML or GitHub's math could read as syntax in the middle of a line,
 * backslash-escaped (CommonMark lets any ASCII punctuation be escaped): emphasis, code, links and
 * images (`[`, `]`), HTML and entities, strike-through, `$` math. `|` is left for the table writer,
 * which escapes it in cells. Our text never starts a line, so `#`, `-`, `+` and `1.` stay as they are.
 */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<>&~$]/g, (c) => `\\${c}`)
}

/**
 * Words a renderer would turn into something: URLs, host names, addresses, paths, `@` (a mention),
 * `:` (an emoji short code, a scheme), `_` and other markup characters. These go in code spans.
 */
const LIVE_WORD = /[/:@_\\`*[\]<>&~#|{}=^$]|[a-z0-9]\.[a-z]/i

/**
 * Our sentence with a server's words in it, as inert text: each word that could be read as a
 * link, a mention, an emoji or markup is a code span, the rest is escaped. One line, capped.
 */
export function prose(text: string, max = 600): string {
  return oneLine(text, max)
    .split(/( )/)
    .map((word) => (word === ' ' ? word : proseWord(word)))
    .join('')
}

function proseWord(word: string): string {
  const parts = /^([("'“‘]*)(.*?)([)"'”’,.;:!?]*)$/u.exec(word) ?? ['', '', word, '']
  const lead = parts[1]
  let [core, tail] = [parts[2], parts[3]]
  // A closing parenthesis the word opened, or the colon that closes `:name:`, is the word's own.
  const count = (text: string, c: string): number => text.split(c).length - 1
  while (tail.startsWith(')') && count(core, '(') > count(core, ')')) {
    core += ')'
    tail = tail.slice(1)
  }
  if (core.startsWith(':') && tail.startsWith(':')) {
    core += ':'
    tail = tail.slice(1)
  }
  if (core && LIVE_WORD.test(core) && !/^\d+(\.\d+)?$/.test(core)) {
    return `${escapeMarkdown(lead)}${codeSpan(core)}${escapeMarkdown(tail)}`
  }
  return escapeMarkdown(word)
}

/** A table row: each cell one line, its `|` escaped (GFM reads `\|` as `|`, in code spans too). */
export function row(cells: string[]): string {
  return `| ${cells.map((c) => c.replace(/\|/g, '\\|').replace(/\n/g, ' ')).join(' | ')} |`
}

/** Text for a Mermaid label: one line, short, quotes and markup characters as Mermaid entities. */
export function mermaidText(text: string, max = 60): string {
  return oneLine(text, max).replace(/["<>&#`|;]/g, (c) => `#${c.charCodeAt(0)};`)
}

/** Text for HTML (a `<summary>`): one line, `<`, `>`, `&` and quotes as entities. */
export function htmlText(text: string, max = 200): string {
  return oneLine(text, max).replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c] as string,
  )
}
