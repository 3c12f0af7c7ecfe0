/**
 * Parsing of `WWW-Authenticate` (RFC 9110 §11.6.1): one header may carry several challenges
 * (`Basic realm="quay.io", Bearer realm="…"`), parameter values may be quoted strings holding
 * commas and backslash escapes, and a server may send the header several times.
 * The parser never throws: what it cannot read is dropped, and `malformed` says so.
 */
export interface Challenge {
  /** Lower-cased auth scheme: `bearer`, `basic`, … */
  scheme: string
  /** Parameters with lower-cased names. */
  params: Record<string, string>
}

export interface ParsedChallenges {
  challenges: Challenge[]
  malformed: boolean
}

const TOKEN_CHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/
const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** token68 (RFC 9110 §11.2): base64 and friends. */
const TOKEN68_CHAR = /[0-9A-Za-z\-._~+/]/

export function parseChallenges(headerValues: readonly string[]): ParsedChallenges {
  const challenges: Challenge[] = []
  let malformed = false
  for (const value of headerValues) {
    const parsed = parseOne(value)
    challenges.push(...parsed.challenges)
    malformed ||= parsed.malformed
  }
  return { challenges, malformed }
}

/** The Bearer challenge, if the server sent one with a realm. */
export function bearerChallenge(parsed: ParsedChallenges): Challenge | undefined {
  return parsed.challenges.find((c) => c.scheme === 'bearer' && c.params.realm)
}

function parseOne(input: string): ParsedChallenges {
  const challenges: Challenge[] = []
  let malformed = false
  let i = 0
  const n = input.length

  const skipSpace = (): void => {
    while (i < n && (input[i] === ' ' || input[i] === '\t')) i++
  }
  const readToken = (): string => {
    const start = i
    while (i < n && TOKEN_CHAR.test(input[i])) i++
    return input.slice(start, i)
  }
  const readQuoted = (): string | undefined => {
    // input[i] is the opening quote
    i++
    let out = ''
    while (i < n) {
      const c = input[i]
      if (c === '\\' && i + 1 < n) {
        out += input[i + 1]
        i += 2
      } else if (c === '"') {
        i++
        return out
      } else {
        out += c
        i++
      }
    }
    return undefined // unterminated
  }
  const skipToComma = (): void => {
    while (i < n && input[i] !== ',') i++
  }

  let current: Challenge | undefined
  while (i < n) {
    skipSpace()
    if (i >= n) break
    if (input[i] === ',') {
      i++
      continue
    }
    const start = i
    const word = readToken()
    if (!word) {
      malformed = true
      i = start + 1
      skipToComma()
      continue
    }
    skipSpace()
    if (input[i] === '=' && current) {
      // An auth-param of the current challenge, unless this is a token68 ("abc==").
      i++
      skipSpace()
      let value: string | undefined
      if (input[i] === '"') {
        value = readQuoted()
        if (value === undefined) {
          malformed = true
          break
        }
      } else {
        value = readToken()
        if (value === '' && i < n && input[i] !== ',') {
          malformed = true
          skipToComma()
          continue
        }
      }
      const name = word.toLowerCase()
      if (!(name in current.params)) current.params[name] = value
      continue
    }
    // A new challenge: `scheme` followed by a space (and params), a comma or the end.
    current = { scheme: word.toLowerCase(), params: {} }
    challenges.push(current)
    // A token68 after the scheme (`Negotiate abc==`) carries no parameter we use: skip it.
    // It is told from a first parameter (`Bearer realm=…`) by what follows its `=` signs.
    const save = i
    const start68 = i
    while (i < n && TOKEN68_CHAR.test(input[i])) i++
    if (i > start68) {
      const word68 = input.slice(start68, i)
      skipSpace()
      let equals = 0
      while (i < n && input[i] === '=') {
        i++
        equals++
      }
      skipSpace()
      // `name = value` is a parameter (white space around `=` is allowed); `abc==` is not.
      const param = equals === 1 && i < n && input[i] !== ',' && TOKEN_RE.test(word68)
      if (param) i = save
    }
  }
  if (challenges.length === 0 && input.trim() !== '') malformed = true
  return { challenges, malformed }
}
