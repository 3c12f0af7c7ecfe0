// Small container images built in memory, every digest a real sha256 of the bytes it names: a
// config blob and one gzipped layer per platform, a manifest per platform, and (for a multi-platform
// image) an index over them, in the OCI or the Docker schema 2 media types. The loopback registry
// imitations serve them (registries.mjs), and distribution.mjs writes them as OCI layouts that
// skopeo pushes into the real registry. Deterministic: the same name and platforms give the same
// bytes, so a test can compute any digest in advance.
import { createHash } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

export const MEDIA_TYPES = {
  oci: {
    index: 'application/vnd.oci.image.index.v1+json',
    manifest: 'application/vnd.oci.image.manifest.v1+json',
    config: 'application/vnd.oci.image.config.v1+json',
    layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  },
  docker: {
    index: 'application/vnd.docker.distribution.manifest.list.v2+json',
    manifest: 'application/vnd.docker.distribution.manifest.v2+json',
    config: 'application/vnd.docker.container.image.v1+json',
    layer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  },
}

/**
 * @typedef {'oci' | 'docker'} Format
 *
 * @typedef {object} Platform as an index's `platform` field holds it
 * @property {string} os
 * @property {string} architecture
 * @property {string} [variant]
 *
 * @typedef {object} Content a blob or a manifest: its bytes and how to name them
 * @property {string} digest `sha256:<hex>` of data
 * @property {number} size
 * @property {string} mediaType
 * @property {Buffer} data
 *
 * @typedef {Content & { platform: Platform, config: Content, layers: Content[] }} PlatformManifest
 *
 * @typedef {object} BuiltImage
 * @property {Content} top what a tag names: the index, or the one manifest of a single-platform image
 * @property {boolean} isIndex
 * @property {PlatformManifest[]} manifests one per platform, in the order asked for
 * @property {Map<string, Content>} manifestsByDigest the index and every manifest
 * @property {Map<string, Content>} blobsByDigest every config and layer
 *
 * @typedef {object} ImageOptions
 * @property {string[]} [platforms] `os/arch[/variant]`, default `['linux/amd64']`
 * @property {boolean} [index] an index even for one platform (default: an index exactly when
 *   there are several platforms)
 * @property {Format} [format] media types, default `oci`
 */

/** @param {Buffer | string} data */
export const sha256 = (data) => createHash('sha256').update(data).digest('hex')

/**
 * `linux/arm64/v8` → { os: 'linux', architecture: 'arm64', variant: 'v8' }.
 * @param {string} text
 * @returns {Platform}
 */
export function parsePlatform(text) {
  const [os, architecture, variant, extra] = text.split('/')
  if (!os || !architecture || extra !== undefined)
    throw new Error(`parsePlatform: '${text}' is not os/arch[/variant]`)
  return variant ? { os, architecture, variant } : { os, architecture }
}

/** @param {Platform} p */
export const platformText = (p) => [p.os, p.architecture, p.variant].filter(Boolean).join('/')

/**
 * A tar archive holding one small file (ustar, as `tar` writes it).
 * @param {string} name
 * @param {string} content
 */
export function tarOf(name, content) {
  const data = Buffer.from(content)
  const header = Buffer.alloc(512)
  /** @param {string} text @param {number} offset @param {number} length */
  const put = (text, offset, length) => header.write(text.slice(0, length), offset, 'ascii')
  /** @param {number} n @param {number} width */
  const octal = (n, width) => `${n.toString(8).padStart(width - 1, '0')}\0`
  put(name, 0, 100)
  put(octal(0o644, 8), 100, 8)
  put(octal(0, 8), 108, 8)
  put(octal(0, 8), 116, 8)
  put(octal(data.length, 12), 124, 12)
  put(octal(0, 12), 136, 12)
  put('        ', 148, 8) // the checksum field counts as spaces while summing
  put('0', 156, 1)
  put('ustar\0', 257, 6)
  put('00', 263, 2)
  const sum = header.reduce((total, byte) => total + byte, 0)
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8)
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512)
  return Buffer.concat([header, data, padding, Buffer.alloc(1024)])
}

/**
 * @param {Buffer} data
 * @param {string} mediaType
 * @returns {Content}
 */
const content = (data, mediaType) => ({
  digest: `sha256:${sha256(data)}`,
  size: data.length,
  mediaType,
  data,
})

/** @param {Content} c */
const descriptor = (c) => ({ mediaType: c.mediaType, digest: c.digest, size: c.size })

/**
 * One platform's image: a config that names the platform and one layer holding `etc/image-name`.
 * @param {string} name what the image's one file says
 * @param {Platform} platform
 * @param {Format} format
 * @returns {PlatformManifest}
 */
function platformManifest(name, platform, format) {
  const types = MEDIA_TYPES[format]
  const tar = tarOf('etc/image-name', `${name} ${platformText(platform)}\n`)
  const layer = content(gzipSync(tar, { level: 9 }), types.layer)
  const config = content(
    Buffer.from(
      JSON.stringify({
        architecture: platform.architecture,
        os: platform.os,
        ...(platform.variant ? { variant: platform.variant } : {}),
        config: { Labels: { name } },
        rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(tar)}`] },
        history: [{ created_by: 'scripts/lib/oci-images.mjs' }],
      }),
    ),
    types.config,
  )
  const manifest = content(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: types.manifest,
        config: descriptor(config),
        layers: [descriptor(layer)],
      }),
    ),
    types.manifest,
  )
  return { ...manifest, platform, config, layers: [layer] }
}

/**
 * Builds an image in memory; see the typedefs above.
 * @param {string} name what the image's file says (makes each image distinct: use `repo:tag`)
 * @param {ImageOptions} [options]
 * @returns {BuiltImage}
 */
export function buildImage(name, options = {}) {
  const { platforms = ['linux/amd64'], format = 'oci' } = options
  if (platforms.length === 0) throw new Error('buildImage: no platform')
  const isIndex = options.index ?? platforms.length > 1
  if (!isIndex && platforms.length > 1)
    throw new Error('buildImage: several platforms need an index')
  const manifests = platforms.map((p) => platformManifest(name, parsePlatform(p), format))
  /** @type {Content} */
  let top = manifests[0]
  if (isIndex) {
    const type = MEDIA_TYPES[format].index
    top = content(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: type,
          manifests: manifests.map((m) => ({ ...descriptor(m), platform: m.platform })),
        }),
      ),
      type,
    )
  }
  const manifestsByDigest = new Map(
    [top, ...manifests].map((m) => [m.digest, { ...descriptor(m), data: m.data }]),
  )
  const blobsByDigest = new Map(
    manifests.flatMap((m) => [m.config, ...m.layers]).map((b) => [b.digest, b]),
  )
  return { top, isIndex, manifests, manifestsByDigest, blobsByDigest }
}

/**
 * Writes an image as an OCI image layout whose index.json names it by `tag`: what `skopeo copy
 * --all oci:<dir>:<tag> docker://…` pushes (the image should be in the `oci` format).
 * @param {string} dir an empty directory (created if absent)
 * @param {BuiltImage} image
 * @param {string} tag
 */
export async function writeImageLayout(dir, image, tag) {
  const blobs = join(dir, 'blobs', 'sha256')
  await mkdir(blobs, { recursive: true })
  const all = [...image.manifestsByDigest.values(), ...image.blobsByDigest.values()]
  await Promise.all(
    all.map((c) => writeFile(join(blobs, c.digest.slice('sha256:'.length)), c.data)),
  )
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          ...descriptor(image.top),
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  )
}
