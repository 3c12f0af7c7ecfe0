// A job summary rendered as GitHub shows it, in headless Chromium: GitHub-flavoured Markdown (marked,
// with GitHub's alerts through marked-alert), GitHub's own Markdown stylesheet (github-markdown-css),
// and each ```mermaid block drawn by Mermaid. Used by the rendering tests (__tests__/render.test.ts)
// and by scripts/screenshots.mjs. The browser is Debian's chromium (scripts/install-test-peers.sh):
// playwright-core drives it and never downloads one.
/* global document -- the functions given to page.evaluate() run in the page */
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Marked } from 'marked'
import markedAlert from 'marked-alert'
import { chromium } from 'playwright-core'

const require = createRequire(import.meta.url)
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
const MERMAID_JS = require.resolve('mermaid/dist/mermaid.min.js')
const MARKDOWN_CSS = require.resolve('github-markdown-css/github-markdown-light.css')

/** Whether the browser is installed (the tests say how to install it when it is not). */
export const haveChromium = () => existsSync(CHROMIUM)

const marked = new Marked({ gfm: true }).use(markedAlert())

/**
 * The summary's Markdown as HTML, the way GitHub turns it into a page: GFM with alerts, raw HTML
 * (`<details>`) kept. Mermaid blocks stay `<pre><code class="language-mermaid">` for the page.
 * @param {string} markdown
 */
export function markdownToHtml(markdown) {
  return /** @type {string} */ (marked.parse(markdown, { async: false }))
}

/** The page every summary is rendered in: GitHub's Markdown styles, at a job summary's width. */
function pageHtml() {
  const css = readFileSync(MARKDOWN_CSS, 'utf8')
  return `<!doctype html><html><head><meta charset="utf-8"><style>${css}
body { margin: 0; background: #fff; }
.markdown-body { box-sizing: border-box; width: 980px; padding: 24px 32px; }
.markdown-body .mermaid-diagram { background: #fff; }
</style></head><body><article id="summary" class="markdown-body"></article></body></html>`
}

/**
 * @typedef {object} DiagramNode
 * @property {string} id the Mermaid node id
 * @property {string[]} classes its classes (`passed`, `failed`, `skipped`, `neutral`)
 * @property {string} text its label as shown
 *
 * @typedef {object} DiagramEdge
 * @property {string} label its label as shown
 * @property {string} style its inline style (a refused tunnel is drawn red)
 *
 * @typedef {object} Rendered
 * @property {string[]} errors what Mermaid said about each diagram it could not parse or draw
 * @property {number} diagrams how many diagrams were drawn
 * @property {DiagramNode[]} nodes the diagrams' nodes
 * @property {DiagramEdge[]} edges the diagrams' edge labels
 * @property {string} text the page's visible text outside code and diagrams
 * @property {string[]} codes the text of every inline code element
 * @property {{ href: string, text: string }[]} links every link
 * @property {number} images every <img>, and any other element that loads something
 * @property {string[]} elements the tag names in the rendered summary, once each
 * @property {string[]} alerts the variants of GitHub alerts shown
 */

/**
 * Starts the browser once; `render()` shows one summary after another in the same page.
 * @param {{ width?: number }} [options]
 */
export async function openRenderer(options = {}) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--font-render-hinting=none'],
  })
  const page = await browser.newPage({ viewport: { width: options.width ?? 1044, height: 900 } })
  // Nothing leaves the machine: a summary that made the browser fetch anything would be a defect.
  const fetched = /** @type {string[]} */ ([])
  await page.route('**/*', (route) => {
    fetched.push(route.request().url())
    return route.abort()
  })
  await page.setContent(pageHtml())
  await page.addScriptTag({ content: readFileSync(MERMAID_JS, 'utf8') })
  await page.evaluate(() => {
    // @ts-expect-error mermaid is the page's global
    globalThis.mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' })
  })
  let count = 0

  return {
    page,
    /** URLs the page tried to load since it opened (each was refused). */
    fetched,
    /**
     * Renders a summary and reads back what a person would see.
     * @param {string} markdown
     * @returns {Promise<Rendered>}
     */
    async render(markdown) {
      const html = markdownToHtml(markdown)
      count += 1
      return page.evaluate(
        async ({ html, count }) => {
          const root = /** @type {HTMLElement} */ (document.getElementById('summary'))
          root.innerHTML = html
          const errors = []
          let diagrams = 0
          const blocks = [...root.querySelectorAll('pre > code.language-mermaid')]
          for (const [n, code] of blocks.entries()) {
            const text = code.textContent ?? ''
            try {
              // @ts-expect-error mermaid is the page's global
              await globalThis.mermaid.parse(text)
              // @ts-expect-error mermaid is the page's global
              const { svg } = await globalThis.mermaid.render(`diagram-${count}-${n}`, text)
              const div = document.createElement('div')
              div.className = 'mermaid-diagram'
              div.innerHTML = svg
              code.parentElement?.replaceWith(div)
              diagrams += 1
            } catch (err) {
              errors.push(String(err instanceof Error ? err.message : err))
            }
          }
          // Mermaid leaves its scratch elements behind on errors.
          for (const stray of document.querySelectorAll('body > [id^="ddiagram-"]')) stray.remove()
          const nodes = [...root.querySelectorAll('svg g.node')].map((g) => ({
            id: (g.id.match(/flowchart-(.+)-\d+$/) ?? ['', g.id])[1],
            classes: [...g.classList],
            text: (g.textContent ?? '').replace(/\s+/g, ' ').trim(),
          }))
          const edges = [...root.querySelectorAll('svg .edgeLabel')]
            .map((label) => (label.textContent ?? '').replace(/\s+/g, ' ').trim())
            .filter(Boolean)
            .map((label) => ({ label, style: '' }))
          for (const path of root.querySelectorAll(
            'svg path.flowchart-link, svg .edgePaths path',
          )) {
            const style = path.getAttribute('style') ?? ''
            if (style.includes('stroke:#cf222e')) edges.push({ label: '', style })
          }
          // The visible text outside code, diagrams and the alert's icon.
          const clone = /** @type {HTMLElement} */ (root.cloneNode(true))
          for (const el of clone.querySelectorAll('code, pre, svg, .mermaid-diagram')) el.remove()
          // <details> hides its content from innerText when closed: textContent reads it all.
          const text = clone.textContent ?? ''
          return {
            errors,
            diagrams,
            nodes,
            edges,
            text,
            codes: [...root.querySelectorAll(':not(pre) > code')].map((c) => c.textContent ?? ''),
            links: [...root.querySelectorAll('a')].map((a) => ({
              href: a.getAttribute('href') ?? '',
              text: a.textContent ?? '',
            })),
            images: root.querySelectorAll('img, iframe, object, embed, video, audio, image, link')
              .length,
            elements: [
              ...new Set(
                [...root.querySelectorAll('*')]
                  .filter((el) => !el.closest('svg'))
                  .map((el) => el.tagName.toLowerCase()),
              ),
            ],
            alerts: [...root.querySelectorAll('.markdown-alert')].map(
              (a) => [...a.classList].find((c) => c.startsWith('markdown-alert-'))?.slice(15) ?? '',
            ),
          }
        },
        { html, count },
      )
    },
    /**
     * A PNG of the summary, cropped to it; `open` names the folded sections to open first (by the
     * start of their <summary>), as a reader would click them.
     * @param {string} path
     * @param {{ open?: string[] }} [options]
     */
    async screenshot(path, options = {}) {
      await page.evaluate((titles) => {
        for (const d of document.querySelectorAll('#summary details')) {
          const title = d.querySelector('summary')?.textContent ?? ''
          if (titles.some((t) => title.startsWith(t))) d.setAttribute('open', '')
        }
      }, options.open ?? [])
      await page.locator('#summary').screenshot({ path, animations: 'disabled' })
    },
    close: () => browser.close(),
  }
}
