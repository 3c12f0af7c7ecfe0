/** The result codes, in one place: the outputs, the summary and the advice all key on them. */
export const RESULT_CODES = [
  'ok',
  'missing-credentials',
  'invalid-credentials',
  'access-denied',
  'image-not-found',
  'rate-limited',
  'registry-error',
  'unexpected-response',
  'dns-error',
  'connection-failed',
  'timeout',
  'tls-error',
  'proxy-error',
  'proxy-auth-required',
  'no-matching-platform',
  'invalid-input',
] as const

export type ResultCode = (typeof RESULT_CODES)[number]

/**
 * Which host a request was for: the registry, its token service, or the blob host its layers are
 * redirected to. The proxy is a hop of its own when a request goes through one.
 */
export type Hop = 'registry' | 'token-service' | 'blob-host' | 'proxy'
