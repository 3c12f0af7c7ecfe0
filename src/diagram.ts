/**
 * The network path as a diagram, drawn from the requests that decided each hop: the runner, the
 * proxy (one node, an edge per tunnel, a refused tunnel marked on its edge), each registry's
 * token service, its `/v2/`, its images and its layer path. Each node carries the request that
 * decided it, its answer, and when it failed the reason in a few words. A node is marked passed
 * only when that request passed, failed only when it failed there, and grey when it was never
 * reached. The model is data (tests read it); `mermaid()` writes it.
 */
import {
  atProxy,
  doorFailure,
  proxyFailure,
  shortReason,
  shortRequest,
  tokenFailure,
} from './evidence.js'
import { mermaidText } from './markdown.js'
import type { Check, Finding, ImageCheck, Report } from './report.js'

export type NodeState = 'passed' | 'failed' | 'skipped' | 'neutral'

export interface PathNode {
  id: string
  kind: 'runner' | 'proxy' | 'token' | 'registry' | 'images' | 'layers' | 'blob'
  title: string
  host?: string
  /** The request that decided the node, as `GET /v2/`. */
  request?: string
  /** Its answer: a status, or a word. */
  answer?: string
  state: NodeState
  /** Why it failed or was not reached, in a few words. */
  reason?: string
}

export interface PathEdge {
  from: string
  to: string
  label?: string
  /** A tunnel the proxy refused, or a hop that failed on the way. */
  failed?: boolean
  /** A redirect, not a request the runner chose. */
  dotted?: boolean
}

export interface PathModel {
  nodes: PathNode[]
  edges: PathEdge[]
}

/** Failing images drawn one by one up to this many; more are one node. */
const IMAGE_NODES = 3

export function pathModel(report: Report): PathModel {
  const nodes: PathNode[] = [{ id: 'runner', kind: 'runner', title: 'Runner', state: 'neutral' }]
  const edges: PathEdge[] = []
  const routeOf = (host: string): 'proxy' | 'direct' | undefined =>
    report.routes.find((r) => r.host === host || r.host === host.replace(/:443$/, ''))?.via
  const usesProxy = !!report.proxy.url && report.routes.some((r) => r.via === 'proxy')

  // The proxy: failed when it failed itself (unreachable, silent, 407); a refused tunnel is its
  // edge's. Passed when it opened a tunnel or answered a CONNECT.
  const proxyFindings: { finding: Finding; host: string }[] = []
  for (const c of report.checks)
    if (c.outcome === 'failed' && atProxy(c.finding))
      proxyFindings.push({ finding: c.finding!, host: c.host })
  for (const i of report.images)
    if (i.outcome === 'failed' && atProxy(i.finding))
      proxyFindings.push({ finding: i.finding!, host: i.registry })
  const ownFailure = proxyFindings.find((p) => proxyFailure(p.finding)?.kind !== 'refused')
  const refusedHosts = new Set(
    proxyFindings
      .filter((p) => proxyFailure(p.finding)?.kind === 'refused')
      .map((p) => p.host.replace(/:443$/, '')),
  )
  if (usesProxy) {
    const answered =
      refusedHosts.size > 0 ||
      report.checks.some((c) => c.via === 'proxy' && c.status !== undefined) ||
      report.images.some((i) => i.status !== undefined && routeOf(i.registry) === 'proxy')
    nodes.push({
      id: 'proxy',
      kind: 'proxy',
      title: 'Proxy',
      host: report.proxy.url,
      request: 'CONNECT',
      state: ownFailure ? 'failed' : answered ? 'passed' : 'skipped',
      answer: ownFailure ? undefined : answered ? 'answered' : undefined,
      reason: ownFailure ? shortReason(ownFailure.finding) : answered ? undefined : 'not reached',
    })
    edges.push({ from: 'runner', to: 'proxy' })
  }
  /** The edge from the runner (or the proxy) to a node at `host`. */
  const reach = (id: string, host: string): void => {
    const proxied = usesProxy && routeOf(host) === 'proxy'
    const refused = proxied && refusedHosts.has(host.replace(/:443$/, ''))
    const finding = refused
      ? proxyFindings.find(
          (p) =>
            p.host.replace(/:443$/, '') === host.replace(/:443$/, '') &&
            proxyFailure(p.finding)?.kind === 'refused',
        )?.finding
      : undefined
    edges.push({
      from: proxied ? 'proxy' : 'runner',
      to: id,
      ...(finding ? { label: `❌ ${shortReason(finding)}`, failed: true } : {}),
    })
  }

  for (const [n, registry] of registriesOf(report).entries()) {
    const g = `r${n}`
    const checks = report.checks.filter((c) => c.registry === registry)
    const images = report.images.filter((i) => i.registry === registry)

    const token = checks.find((c) => c.id === 'token')
    if (token) {
      nodes.push(checkNode(`${g}_token`, 'token', 'Token service', token))
      reach(`${g}_token`, token.host)
    }

    nodes.push(registryNode(`${g}_registry`, registry, checks, images))
    reach(`${g}_registry`, registry)

    for (const node of imageNodes(g, images)) {
      nodes.push(node)
      edges.push({ from: `${g}_registry`, to: node.id })
    }

    for (const [b, blob] of checks.filter((c) => c.id === 'blob').entries()) {
      const id = `${g}_blob${b}`
      if (blob.hop === 'blob-host') {
        nodes.push(checkNode(id, 'blob', 'Blob host (layers)', blob))
        reach(id, blob.host)
        edges.push({ from: `${g}_registry`, to: id, label: 'redirects layers', dotted: true })
      } else {
        nodes.push(checkNode(id, 'layers', 'Layers', blob))
        edges.push({ from: `${g}_registry`, to: id })
      }
    }
  }
  return { nodes, edges }
}

/** The registries in play: the configured one first, then each other in the order first met. */
function registriesOf(report: Report): string[] {
  const list = [report.registry]
  for (const r of [
    ...report.registries.map((v) => v.registry),
    ...report.images.map((i) => i.registry),
  ])
    if (!list.includes(r)) list.push(r)
  return list
}

/** A node for one check: its request, its answer, its outcome. */
function checkNode(id: string, kind: PathNode['kind'], title: string, c: Check): PathNode {
  const node: PathNode = {
    id,
    kind,
    title,
    host: c.host,
    request: shortRequest(c.request),
    state: 'skipped',
  }
  if (c.outcome === 'skipped') return { ...node, reason: 'not reached' }
  if (c.outcome === 'failed' && (c.atProxy || atProxy(c.finding)))
    return { ...node, reason: 'not reached: the proxy failed' }
  const answer = c.status !== undefined ? String(c.status) : undefined
  if (c.outcome === 'passed') return { ...node, state: 'passed', answer }
  return { ...node, state: 'failed', answer, reason: shortReason(c.finding!) }
}

/**
 * The registry's node: its `/v2/` with the token (or credentials) when that was asked, else its
 * first `/v2/`. A registry checked only through its images (another registry, asked anonymously)
 * is marked by whether its `/v2/` answered, which its images' rows tell.
 */
function registryNode(
  id: string,
  registry: string,
  checks: Check[],
  images: ImageCheck[],
): PathNode {
  const ping = checks.find((c) => c.id === 'ping')
  const auth = checks.find((c) => c.id === 'registry')
  const base: PathNode = {
    id,
    kind: 'registry',
    title: 'Registry',
    host: registry,
    request: 'GET /v2/',
    state: 'skipped',
  }
  if (ping) {
    if (ping.outcome === 'failed' || !auth) return checkNode(id, 'registry', 'Registry', ping)
    const node = checkNode(id, 'registry', 'Registry', auth)
    const asked = ping.status === 401 ? 'GET /v2/ with token' : 'GET /v2/'
    if (auth.outcome === 'skipped')
      return { ...node, request: asked, answer: undefined, reason: 'not asked: no token' }
    return { ...node, request: asked }
  }
  // Asked quietly: a failed door is in every image's row, with no answer and no time of its own.
  const door = images.find(doorFailure)
  if (door) {
    if (atProxy(door.finding)) return { ...base, reason: 'not reached: the proxy failed' }
    return { ...base, state: 'failed', reason: shortReason(door.finding!) }
  }
  if (images.some((i) => i.outcome !== 'skipped'))
    return { ...base, state: 'passed', answer: 'answered' }
  return { ...base, reason: 'not reached' }
}

/** A registry's images: each failing one up to a few, then the rest in one node per outcome. */
function imageNodes(g: string, images: ImageCheck[]): PathNode[] {
  if (!images.length) return []
  const failed = images.filter(
    (i) => i.outcome === 'failed' && !doorFailure(i) && !atProxy(i.finding),
  )
  const passed = images.filter((i) => i.outcome === 'passed')
  const unreached = images.filter((i) => !failed.includes(i) && !passed.includes(i))
  const request = (i: ImageCheck): string =>
    tokenFailure(i) ? 'token for its repository' : 'manifest'
  const nodes: PathNode[] = []
  if (failed.length <= IMAGE_NODES) {
    for (const [n, i] of failed.entries()) {
      nodes.push({
        id: `${g}_img${n}`,
        kind: 'images',
        title: 'Image',
        host: i.name.slice(i.registry.length + 1),
        request: request(i),
        answer: i.status !== undefined ? String(i.status) : undefined,
        state: 'failed',
        reason: shortReason(i.finding!),
      })
    }
  } else {
    const first = failed[0]
    const same = failed.every((i) => i.finding?.code === first.finding?.code)
    nodes.push({
      id: `${g}_imgs_failed`,
      kind: 'images',
      title: `${failed.length} of ${images.length} images`,
      request: request(first),
      state: 'failed',
      reason: same ? shortReason(first.finding!) : `${shortReason(first.finding!)} and more`,
    })
  }
  if (passed.length) {
    const count = passed.length === images.length ? images.length : passed.length
    nodes.push({
      id: `${g}_imgs_passed`,
      kind: 'images',
      title:
        failed.length || unreached.length
          ? `${count} other ${count === 1 ? 'image' : 'images'}`
          : count === 1
            ? 'Image'
            : `${count} images`,
      host: count === 1 ? passed[0].name.slice(passed[0].registry.length + 1) : undefined,
      request: 'manifest',
      answer:
        passed.every((i) => i.status === passed[0].status) && passed[0].status !== undefined
          ? String(passed[0].status)
          : undefined,
      state: 'passed',
    })
  }
  if (unreached.length) {
    nodes.push({
      id: `${g}_imgs_skipped`,
      kind: 'images',
      title: `${unreached.length} ${unreached.length === 1 ? 'image' : 'images'}`,
      request: 'manifest',
      state: 'skipped',
      reason: 'not checked',
    })
  }
  return nodes
}

const MARK: Record<NodeState, string> = {
  passed: '✅',
  failed: '❌',
  skipped: '⏭️',
  neutral: '',
}

/** A node's label lines: title, host, the request and its answer, then the mark and the reason. */
export function nodeLines(node: PathNode): string[] {
  const lines = [node.title]
  if (node.host) lines.push(node.host)
  if (node.request) lines.push(node.answer ? `${node.request} → ${node.answer}` : node.request)
  const mark = [MARK[node.state], node.reason].filter(Boolean).join(' ')
  if (mark) lines.push(mark)
  return lines
}

/** The model as a Mermaid flowchart, in a fenced block. */
export function mermaid(model: PathModel): string[] {
  const lines = ['```mermaid', 'flowchart LR']
  for (const node of model.nodes) {
    const label = nodeLines(node)
      .map((l) => mermaidText(l))
      .join('<br/>')
    const [open, close] = node.kind === 'runner' ? ['([', '])'] : ['[', ']']
    lines.push(`  ${node.id}${open}"${label}"${close}`)
  }
  const failedEdges: number[] = []
  for (const [n, edge] of model.edges.entries()) {
    const arrow = edge.dotted ? '-.->' : '-->'
    const label = edge.label ? `|"${mermaidText(edge.label)}"|` : ''
    lines.push(`  ${edge.from} ${arrow}${label} ${edge.to}`)
    if (edge.failed) failedEdges.push(n)
  }
  for (const node of model.nodes) lines.push(`  class ${node.id} ${node.state}`)
  if (failedEdges.length)
    lines.push(`  linkStyle ${failedEdges.join(',')} stroke:#cf222e,stroke-width:2px,color:#cf222e`)
  lines.push(
    '  classDef passed fill:#dafbe1,stroke:#1a7f37,color:#1f2328',
    '  classDef failed fill:#ffebe9,stroke:#cf222e,color:#1f2328',
    '  classDef skipped fill:#f6f8fa,stroke:#8c959f,color:#57606a',
    '  classDef neutral fill:#ffffff,stroke:#57606a,color:#1f2328',
    '```',
  )
  return lines
}
