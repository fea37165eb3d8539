// Bearer tokens from several trusted issuers. The checks run cheapest and
// most attacker-controlled first, so nothing is fetched or verified for a
// token that names an untrusted issuer, a forbidden header or algorithm:
//   size → decode → forbidden headers → crit → issuer (exact iss) →
//   algorithm → kid → key (configured JWKS only) → signature, iss, aud,
//   exp/nbf → claim profile.
// Signature and claim checks are @fastify/jwt's verify (fast-jwt) with
// per-issuer options; its TokenError codes are mapped to our reason codes.
import type { Algorithm, AuthnConfig, IssuerConfig } from './config.js'
import type { AuthnCounters } from './counters.js'
import { failure, type AuthnFailure, type FailureCode } from './failures.js'
import { IssuerKeys } from './jwks.js'
import { makePrincipal, type AuthnResult, type Principal } from './principal.js'
import { readErpUser, readIdentity, type Claims } from './profiles.js'
import { VerifiedTokenCache } from './token-cache.js'

/** Options passed per call to the verifier (a subset of fast-jwt's VerifierOptions). */
export interface JwtVerifyOptions {
  key: string
  algorithms: Algorithm[]
  allowedIss: string
  allowedAud: string[]
  clockTolerance: number
  requiredClaims: string[]
  complete: false
  cache: false
}

/** The two @fastify/jwt operations used: `fastify.jwt.decode` / `fastify.jwt.verify`. */
export interface JwtCodec {
  decode: (token: string) => unknown
  verify: (token: string, options: JwtVerifyOptions) => unknown
}

export interface JwtAuthenticatorDeps {
  codec: JwtCodec
  counters: AuthnCounters
  now?: () => number
}

// Headers that would point us at keys chosen by the token's author.
const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const
const MAX_KID_LENGTH = 256
// Google signs ID tokens with either form of its issuer.
const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com']

interface Decoded {
  header: Record<string, unknown>
  payload: Claims
}

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function decodeUnverified (codec: JwtCodec, token: string): Decoded | undefined {
  try {
    const decoded = codec.decode(token)
    if (!isObject(decoded) || !isObject(decoded.header) || !isObject(decoded.payload)) return undefined
    return { header: decoded.header, payload: decoded.payload }
  } catch {
    return undefined
  }
}

/** Maps a fast-jwt TokenError (codes FAST_JWT_*) to a reason code. */
export function reasonForVerifyError (err: unknown): FailureCode {
  const { code, message } = (isObject(err) ? err : {}) as { code?: unknown, message?: unknown }
  const text = typeof message === 'string' ? message : ''
  switch (code) {
    case 'FAST_JWT_EXPIRED': return 'token_expired'
    case 'FAST_JWT_INACTIVE': return 'token_not_yet_valid'
    // INVALID_KEY: the key does not fit the algorithm the token claims (e.g. ES256 with an RSA key).
    case 'FAST_JWT_INVALID_SIGNATURE':
    case 'FAST_JWT_MISSING_SIGNATURE':
    case 'FAST_JWT_INVALID_KEY':
      return 'signature_invalid'
    case 'FAST_JWT_INVALID_ALGORITHM': return 'algorithm_not_allowed'
    case 'FAST_JWT_INVALID_CRIT_HEADER': return 'token_header_forbidden'
    // fast-jwt uses one code for every claim; iss was matched before, so the
    // message tells audience from the rest.
    case 'FAST_JWT_INVALID_CLAIM_VALUE':
    case 'FAST_JWT_INVALID_CLAIM_TYPE':
    case 'FAST_JWT_MISSING_REQUIRED_CLAIM':
      return /\baud\b/.test(text) ? 'audience_mismatch' : 'token_invalid'
    default: return 'token_invalid'
  }
}

function deepFreeze (principal: Principal): Principal {
  Object.freeze(principal.roles)
  Object.freeze(principal.scopes)
  return Object.freeze(principal)
}

export class JwtAuthenticator {
  private readonly byIss = new Map<string, IssuerConfig>()
  private readonly keys = new Map<string, IssuerKeys>()
  private readonly cache = new VerifiedTokenCache()
  private readonly now: () => number

  constructor (private readonly config: AuthnConfig, private readonly deps: JwtAuthenticatorDeps) {
    this.now = deps.now ?? Date.now
    for (const issuer of config.issuers) {
      this.byIss.set(issuer.issuer, issuer)
      if (issuer.profile === 'google' && GOOGLE_ISSUERS.includes(issuer.issuer)) {
        for (const alias of GOOGLE_ISSUERS) if (!this.byIss.has(alias)) this.byIss.set(alias, issuer)
      }
      this.keys.set(issuer.name, new IssuerKeys(issuer, deps.counters, this.now))
    }
  }

  async authenticate (token: string): Promise<AuthnResult> {
    const result = await this.check(token)
    if (result.ok) this.deps.counters.jwtAccepted++
    else this.deps.counters.jwtRejected++
    return result
  }

  private async check (token: string): Promise<AuthnResult> {
    if (Buffer.byteLength(token, 'utf8') > this.config.maxTokenBytes) return failure('token_too_large')

    const cacheKey = VerifiedTokenCache.keyOf(token)
    const cached = this.cache.get(cacheKey, this.now())
    if (cached !== undefined) {
      this.deps.counters.jwtCacheHits++
      return { ok: true, principal: cached }
    }

    const decoded = decodeUnverified(this.deps.codec, token)
    if (decoded === undefined) return failure('token_malformed')
    const { header, payload } = decoded

    if (FORBIDDEN_HEADERS.some((name) => name in header)) return failure('token_header_forbidden')
    // No critical extension is understood here, so any crit must be refused (RFC 7515 §4.1.11).
    if ('crit' in header) return failure('token_header_forbidden')

    const issuer = typeof payload.iss === 'string' ? this.byIss.get(payload.iss) : undefined
    if (issuer === undefined) return failure('issuer_untrusted')

    const alg = header.alg
    if (typeof alg !== 'string' || !(issuer.algorithms as string[]).includes(alg)) return failure('algorithm_not_allowed')

    const kid = header.kid
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) return failure('kid_invalid')

    const keys = this.keys.get(issuer.name) as IssuerKeys
    const key = await keys.lookup(kid, alg)
    if (!key.ok) return key

    const verification = this.verify(token, issuer, payload.iss as string, alg, key.pem)
    if (!verification.ok) return verification
    const verified = verification.claims

    const identity = readIdentity(issuer, verified)
    if (!identity.ok) return identity
    const { subject, client_id: clientId, tenant, roles, scopes } = identity.identity
    const principal = deepFreeze(makePrincipal({
      method: 'jwt',
      idp: issuer.name,
      issuer: verified.iss as string,
      subject,
      client_id: clientId,
      tenant,
      erp_user: readErpUser(issuer, verified),
      roles,
      scopes
    }))
    this.cache.set(cacheKey, principal, (verified.exp as number) * 1000)
    return { ok: true, principal }
  }

  private verify (token: string, issuer: IssuerConfig, iss: string, alg: string, pem: string): { ok: true, claims: Claims } | AuthnFailure {
    this.deps.counters.jwtVerifications++
    try {
      const claims = this.deps.codec.verify(token, {
        key: pem,
        // Only the header's algorithm, already checked against the issuer's
        // list: fast-jwt then also refuses a key that does not fit it.
        algorithms: [alg as Algorithm],
        allowedIss: iss,
        allowedAud: issuer.audience,
        // fast-jwt counts clock tolerance in milliseconds.
        clockTolerance: issuer.clockToleranceSec * 1000,
        // A claim fast-jwt is told to check but that is absent is skipped
        // unless it is required: without this, a token with no aud passes.
        requiredClaims: ['exp', 'iss', 'aud'],
        complete: false,
        cache: false
      })
      if (!isObject(claims) || typeof claims.exp !== 'number') return failure('token_invalid')
      return { ok: true, claims }
    } catch (err) {
      return failure(reasonForVerifyError(err))
    }
  }

  async close (): Promise<void> {
    await Promise.all([...this.keys.values()].map((k) => k.close()))
  }
}
