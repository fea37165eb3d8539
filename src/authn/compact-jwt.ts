// The strict reading of a bearer token's form, before any key is fetched or any
// signature checked. Only one shape is accepted: a compact JWS of three
// base64url segments whose header and payload are JSON objects with unique
// member names and well-formed strings. Everything else is refused with the
// reason that names the trick (JWE, nested JWT, duplicate members that two
// parsers could read differently, whitespace that another component could
// strip), so a refusal in the log says what was tried.
import { failure, type AuthnFailure } from './failures.js'

export interface CompactJwt {
  header: Record<string, unknown>
  payload: Record<string, unknown>
  /** the third segment (base64url), possibly empty */
  signature: string
}

export type CompactJwtResult = { ok: true, jwt: CompactJwt } | AuthnFailure

const BASE64URL = /^[A-Za-z0-9_-]*$/
const WHITESPACE_OR_CONTROL = /[\s\p{Cc}]/u
const COMPACT_JWT_TEXT = /^\s*"?[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)?"?\s*$/
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Whether a JSON text (already known to parse) names a member twice in any
 * object. JSON.parse keeps the last one silently; other parsers keep the
 * first, so a token with two `iss` could be read as two different tokens.
 * Member names are compared after unescaping ("\u0069ss" is "iss").
 */
export function hasDuplicateMember (text: string): boolean {
  const stack: Array<Set<string> | null> = []
  let expectName = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '"') {
      let end = i + 1
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1
      const names = stack.at(-1)
      if (names instanceof Set && expectName) {
        const name = JSON.parse(text.slice(i, end + 1)) as string
        if (names.has(name)) return true
        names.add(name)
        expectName = false
      }
      i = end
    } else if (c === '{') {
      stack.push(new Set())
      expectName = true
    } else if (c === '[') {
      stack.push(null)
      expectName = false
    } else if (c === '}' || c === ']') {
      stack.pop()
      expectName = false
    } else if (c === ',') {
      expectName = stack.at(-1) instanceof Set
    }
  }
  return false
}

/** Whether any string (member names included) holds a lone UTF-16 surrogate. */
export function hasIllFormedString (value: unknown): boolean {
  if (typeof value === 'string') return LONE_SURROGATE.test(value)
  if (Array.isArray(value)) return value.some(hasIllFormedString)
  if (isObject(value)) return Object.entries(value).some(([k, v]) => LONE_SURROGATE.test(k) || hasIllFormedString(v))
  return false
}

type Part = { ok: true, value: Record<string, unknown> } | AuthnFailure

function readPart (segment: string, invalid: 'token_header_invalid' | 'token_payload_invalid'): Part {
  const text = Buffer.from(segment, 'base64url').toString('utf8')
  if (invalid === 'token_payload_invalid' && COMPACT_JWT_TEXT.test(text)) return failure('token_nested')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return failure(invalid)
  }
  if (!isObject(value)) return failure(invalid)
  if (hasDuplicateMember(text)) return failure('token_duplicate_member')
  return { ok: true, value }
}

/** Splits and decodes a bearer token; nothing here is verified yet. */
export function parseCompactJwt (token: string): CompactJwtResult {
  if (WHITESPACE_OR_CONTROL.test(token)) return failure('token_whitespace')
  const segments = token.split('.')
  // Five segments is the JWE compact form: an encrypted token we cannot and
  // must not treat as signed.
  if (segments.length === 5 && segments.every((s) => BASE64URL.test(s))) return failure('token_encrypted')
  if (segments.length !== 3) return failure('token_malformed')
  const [headerSegment, payloadSegment, signature] = segments as [string, string, string]
  if (headerSegment === '' || payloadSegment === '' || !segments.every((s) => BASE64URL.test(s))) return failure('token_malformed')

  const header = readPart(headerSegment, 'token_header_invalid')
  if (!header.ok) return header
  if ('enc' in header.value) return failure('token_encrypted')
  // RFC 7519 §5.2: cty "JWT" announces a nested JWT. We accept only the
  // token itself, never one wrapped in another.
  if (typeof header.value.cty === 'string' && header.value.cty.toUpperCase() === 'JWT') return failure('token_nested')

  const payload = readPart(payloadSegment, 'token_payload_invalid')
  if (!payload.ok) return payload
  if (hasIllFormedString(header.value) || hasIllFormedString(payload.value)) return failure('claim_string_invalid')
  return { ok: true, jwt: { header: header.value, payload: payload.value, signature } }
}
