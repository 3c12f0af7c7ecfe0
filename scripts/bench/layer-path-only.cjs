// The layer path's floor for `npm run bench`: the fewest requests that give the answer the action
// gives for one image on registry.redhat.io with `layers: auto`, with node:https and nothing else
// (no input parsing, no authenticated GET /v2/, no report, no summary), through the same CONNECT
// proxy, in five waves:
//   1. GET /v2/ (the challenge) and the token request, side by side (the realm is known);
//   2. GET /v2/<repo>/manifests/<tag> with the token: the index;
//   3. GET /v2/<repo>/manifests/<digest> of this machine's platform: the image manifest;
//   4. GET /v2/<repo>/blobs/<config digest> with `Range: bytes=0-0`: the registry's redirect;
//   5. GET of the redirect's URL, on the blob host (cdn01.quay.io), without Authorization: a new
//      tunnel and a new TLS handshake, as for any new host.
// Its wall time is what Node itself costs for this work on this machine; the action's time above
// it is the action's own.
//
// Run as the action is run (CommonJS, as dist/index.js is, so that it starts the same way): it
// reads INPUT_USERNAME, INPUT_PASSWORD, INPUT_IMAGES (the first image), HTTPS_PROXY and, for the
// platform, RUNNER_ARCH or else this process's architecture, as the action does. It writes
// `result=ok` to GITHUB_OUTPUT when the six answers are the ones a pull-ready run gets, and
// `hosts=` the hosts it used.
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
const ARCH = { X64: 'amd64', ARM64: 'arm64', x64: 'amd64', arm64: 'arm64' }
const arch = ARCH[env.RUNNER_ARCH ?? process.arch] ?? process.arch

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
// One TLS context for every connection, as the action has.
const agent = new TunnelAgent({ keepAlive: true, secureContext: tls.createSecureContext() })

const MANIFESTS = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ')

function request(url, headers) {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { headers, agent }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }))
    })
    req.on('error', reject)
  })
}

async function main() {
  const basic = `Basic ${Buffer.from(`${env.INPUT_USERNAME}:${env.INPUT_PASSWORD}`).toString('base64')}`
  const scope = encodeURIComponent(`repository:${repository}:pull`)
  const base = `https://${REGISTRY}`
  const [challenge, token] = await Promise.all([
    request(`${base}/v2/`, {}),
    request(`${base}${REALM}?service=docker-registry&scope=${scope}`, { authorization: basic }),
  ])
  const authorization = `Bearer ${JSON.parse(token.body).token}`
  const index = await request(`${base}/v2/${repository}/manifests/${tag}`, {
    authorization,
    accept: MANIFESTS,
  })
  const entry = JSON.parse(index.body).manifests.find(
    (m) => m.platform.os === 'linux' && m.platform.architecture === arch,
  )
  const manifest = await request(`${base}/v2/${repository}/manifests/${entry.digest}`, {
    authorization,
    accept: MANIFESTS,
  })
  const config = JSON.parse(manifest.body).config.digest
  const range = 'bytes=0-0'
  const redirect = await request(`${base}/v2/${repository}/blobs/${config}`, {
    authorization,
    range,
  })
  const blobHost = new URL(redirect.headers.location)
  const blob = await request(blobHost, { range })
  const statuses = [challenge, token, index, manifest, redirect, blob].map((a) => a.status)
  const ok = statuses.join() === '401,200,200,200,302,206'
  appendFileSync(
    env.GITHUB_OUTPUT,
    `result=${ok ? 'ok' : statuses.join('/')}\nhosts=${REGISTRY}:443 ${blobHost.host}:443\n`,
  )
}

main().then(
  () => agent.destroy(),
  (error) => {
    appendFileSync(env.GITHUB_OUTPUT, `result=error ${error.code ?? error.message}\n`)
    agent.destroy()
  },
)
