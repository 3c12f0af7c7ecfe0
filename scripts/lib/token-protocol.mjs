// The token service's side of the protocol, as every loopback imitation reads a token request.

/**
 * The user a Basic header names, if its password is right: null when there is no header,
 * undefined when it is wrong or malformed. Split at the first colon, as the real services do
 * (`12345678|name:secret`, `myorg+robot:secret`).
 * @param {string | undefined} header
 * @param {(user: string) => string | undefined} passwordOf the user's password, if there is one
 * @returns {string | null | undefined}
 */
export function basicUser(header, passwordOf) {
  if (header === undefined) return null
  const match = /^Basic\s+(\S+)$/i.exec(header)
  if (!match) return undefined
  const decoded = Buffer.from(match[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return undefined
  const user = decoded.slice(0, colon)
  const password = passwordOf(user)
  return password !== undefined && password === decoded.slice(colon + 1) ? user : undefined
}

/**
 * A password lookup over a plain map; Object.hasOwn, so that a user called `constructor` does
 * not match Object.prototype's.
 * @param {Record<string, string>} users
 * @returns {(user: string) => string | undefined}
 */
export function passwordsIn(users) {
  return (user) => (Object.hasOwn(users, user) ? users[user] : undefined)
}

/**
 * The `scope` parameters of a token request: it may repeat, one value may hold several scopes
 * separated by spaces (token spec), and a repository name may hold `host:port`, so the name is
 * what lies between the first and the last colon.
 * @param {URLSearchParams} query
 * @returns {{ type: string, name: string, actions: string[] }[]}
 */
export function requestedScopes(query) {
  return query
    .getAll('scope')
    .flatMap((value) => value.split(' '))
    .flatMap((scope) => {
      const first = scope.indexOf(':')
      const last = scope.lastIndexOf(':')
      if (first < 0 || last === first) return []
      const actions = scope.slice(last + 1).split(',')
      return [{ type: scope.slice(0, first), name: scope.slice(first + 1, last), actions }]
    })
}

/**
 * The repositories a token request asks to pull.
 * @param {URLSearchParams} query
 * @returns {string[]}
 */
export function pullScopes(query) {
  return requestedScopes(query)
    .filter((s) => s.type === 'repository' && s.actions.includes('pull'))
    .map((s) => s.name)
}
