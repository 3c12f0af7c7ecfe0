// Throwaway certificates for the loopback test servers, made with the openssl CLI so that no npm
// dependency is needed. EC P-256 keys keep each call to a few tens of milliseconds.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * @typedef {object} Certificates
 * @property {string} caPath   PEM file of the CA certificate (for NODE_EXTRA_CA_CERTS or curl --cacert)
 * @property {string} certPath PEM file of the server certificate
 * @property {string} keyPath  PEM file of the server key
 * @property {string} ca       PEM text of the CA certificate
 * @property {string} cert     PEM text of the server certificate
 * @property {string} key      PEM text of the server key
 */

// A few days: long enough for any test run, short enough that a leaked file is soon worthless.
const VALID_DAYS = '3'

/**
 * @typedef {object} CertificateOptions
 * @property {string[]} [names] extra DNS names for the server certificate's subjectAltName, on top
 *   of 127.0.0.1, ::1 and localhost (e.g. `registry.proxied.test`, or a wildcard `*.proxied.test`);
 *   none by default
 */

// A DNS name as a subjectAltName entry may hold it: letters, digits, hyphens and dots, with an
// optional leading `*.` label. Anything else (a comma, a newline) could rewrite the openssl config.
const DNS_NAME =
  /^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i

/**
 * Our own config, so that the system's openssl.cnf (its default extensions and policies) cannot
 * change what we make. `[req]` needs a distinguished_name section even though -subj fills it.
 * @param {readonly string[]} names extra DNS names for the server certificate
 * @returns {string}
 */
function opensslConfig(names) {
  const altNames = ['IP:127.0.0.1', 'IP:::1', 'DNS:localhost', ...names.map((n) => `DNS:${n}`)]
  return `
[req]
distinguished_name = dn
prompt = no

[dn]

[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = ${altNames.join(', ')}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`
}

/**
 * Runs openssl and, when it fails, throws an error that carries its stderr (execFile's own
 * message only names the command).
 * @param {string[]} args
 */
async function openssl(args) {
  try {
    await run('openssl', args)
  } catch (error) {
    const stderr = /** @type {{ stderr?: string }} */ (error).stderr ?? ''
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || String(error)}`, {
      cause: error,
    })
  }
}

/** @param {string} path */
async function newKey(path) {
  await openssl([
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-out',
    path,
  ])
}

/**
 * Makes a CA and a server certificate it signed, as files named `<prefix>ca.pem`,
 * `<prefix>server.pem` and `<prefix>server.key` in `dir`.
 * @param {string} dir
 * @param {string} prefix
 * @param {string} caName common name of the CA, to tell the CAs apart in error messages
 * @param {CertificateOptions} [options]
 * @returns {Promise<Certificates>}
 */
async function makeChain(dir, prefix, caName, { names = [] } = {}) {
  const bad = names.find((name) => !DNS_NAME.test(name))
  if (bad !== undefined) throw new Error(`makeCertificates: '${bad}' is not a DNS name`)
  const file = (/** @type {string} */ name) => join(dir, prefix + name)
  const config = file('openssl.cnf')
  const caKeyPath = file('ca.key')
  const caPath = file('ca.pem')
  const keyPath = file('server.key')
  const csrPath = file('server.csr')
  const certPath = file('server.pem')
  await writeFile(config, opensslConfig(names))

  // A random serial and a random tag in the CA's name: every CA is new, so a test can never
  // pass because a certificate from an earlier run happened to be trusted.
  const tag = randomBytes(4).toString('hex')
  await newKey(caKeyPath)
  await openssl([
    'req',
    '-config',
    config,
    '-new',
    '-x509',
    '-key',
    caKeyPath,
    '-subj',
    `/CN=${caName} ${tag}`,
    '-days',
    VALID_DAYS,
    '-extensions',
    'ca',
    '-out',
    caPath,
  ])

  await newKey(keyPath)
  await openssl([
    'req',
    '-config',
    config,
    '-new',
    '-key',
    keyPath,
    '-subj',
    '/CN=localhost',
    '-out',
    csrPath,
  ])
  await openssl([
    'x509',
    '-req',
    '-in',
    csrPath,
    '-CA',
    caPath,
    '-CAkey',
    caKeyPath,
    '-set_serial',
    `0x${randomBytes(8).toString('hex')}`,
    '-days',
    VALID_DAYS,
    '-extfile',
    config,
    '-extensions',
    'server',
    '-out',
    certPath,
  ])

  // Only the request and the config are scratch; the CA key stays, should a test want to sign more.
  await Promise.all([csrPath, config].map((p) => rm(p, { force: true })))
  const [ca, cert, key] = await Promise.all(
    [caPath, certPath, keyPath].map((p) => readFile(p, 'utf8')),
  )
  return { caPath, certPath, keyPath, ca, cert, key }
}

/**
 * A fresh CA and a server certificate for 127.0.0.1, ::1 and localhost signed by it, and for
 * `options.names` too.
 * @param {string} dir an existing directory to write the files into
 * @param {CertificateOptions} [options]
 * @returns {Promise<Certificates>}
 */
export async function makeCertificates(dir, options = {}) {
  return makeChain(dir, '', 'registry-auth-preflight test CA', options)
}

/**
 * The same as makeCertificates but from a second, unrelated CA: a server using these presents a
 * certificate that a client trusting only makeCertificates' CA must reject.
 * @param {string} dir an existing directory to write the files into
 * @param {CertificateOptions} [options]
 * @returns {Promise<Certificates>}
 */
export async function makeRogueCertificates(dir, options = {}) {
  return makeChain(dir, 'rogue-', 'registry-auth-preflight rogue CA', options)
}
