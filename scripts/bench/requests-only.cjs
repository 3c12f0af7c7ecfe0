// The happy path's floor for `npm run bench`: the four requests the action makes for one image on
// registry.redhat.io, in the same two waves, through the same CONNECT proxy, with node:https and
// nothing else (no input parsing, no report, no summary). Its wall time is what Node itself costs
// for this work on this machine; the action's time above it is the action's own.
//
// Run as the action is run (CommonJS, as dist/index.js is, so that it starts the same way): it
// reads INPUT_USERNAME, INPUT_PASSWORD, INPUT_IMAGES (the first image) and HTTPS_PROXY, and writes
// `result=ok` to GITHUB_OUTPUT when the four answers are the ones a pull-ready run gets.
'use strict'
const { appendFileSync } = require('node:fs')
const http = require('node:http')
const https = require('node:https')
const tls = require('node:tls')

const REGISTRY = 'registry.redhat.io'
const REALM = '/auth/realms/rhcc/protocol/redhat-docker-v2/auth'
const env = process.env
const proxy = new URL(env.HTTPS_PROXY ?? env.https_proxy ?? '')
const [repository, tag] = (env.INPUT_IMAGES ?? '').trim().split('\n')[0].split(':')

/** Keep-alive connections through the proxy: CONNECT, then TLS inside the tunnel. */
class TunnelAgent extends https.Agent {
  createConnection(options, callback) {
    const connect = http.request({
      host: proxy.hostname,
      port: proxy.port,
      method: 'CONNECT',
      path: `${options.host}:${options.port}`,
      agent: false,
    })
    connect.once('connect', (_, socket) =>
      callback(null, tls.connect({ ...options, socket, servername: options.host })),
    )
    connect.once('error', callback)
    connect.end()
  }
}
const agent = new TunnelAgent({ keepAlive: true })

const MANIFESTS = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ')

function request(method, path, authorization, accept) {
  return new Promise((resolve, reject) => {
    const headers = { ...(authorization ? { authorization } : {}), ...(accept ? { accept } : {}) }
    const req = https.request({ host: REGISTRY, method, path, headers, agent }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

async function main() {
  const basic = `Basic ${Buffer.from(`${env.INPUT_USERNAME}:${env.INPUT_PASSWORD}`).toString('base64')}`
  const scope = `repository:${repository}:pull`
  const [token, challenge] = await Promise.all([
    request('GET', `${REALM}?service=docker-registry&scope=${encodeURIComponent(scope)}`, basic),
    request('GET', '/v2/'),
  ])
  const bearer = `Bearer ${JSON.parse(token.body).token}`
  const [registry, manifest] = await Promise.all([
    request('GET', '/v2/', bearer),
    request('HEAD', `/v2/${repository}/manifests/${tag}`, bearer, MANIFESTS),
  ])
  const statuses = [challenge, token, registry, manifest].map((answer) => answer.status)
  const ok = statuses.join() === '401,200,200,200'
  appendFileSync(env.GITHUB_OUTPUT, `result=${ok ? 'ok' : statuses.join('/')}\n`)
}

main().then(
  () => agent.destroy(),
  (error) => {
    appendFileSync(env.GITHUB_OUTPUT, `result=error ${error.code ?? error.message}\n`)
    agent.destroy()
  },
)
