// Bearer tokens from several trusted issuers. The checks run cheapest and
// most attacker-controlled first, so nothing is fetched or verified for a
// token whose form, issuer, header or algorithm is refused:
//   size → compact form (compact-jwt.ts) → key-pointing headers → crit →
//   algorithm family → iss → algorithm allowed for the issuer → kid →
//   claim types → signature present → key (configured JWKS only) →
//   signature, iss, aud, exp/nbf (fast-jwt) → iat → claim profile.
// Every refusal has its own reason code (failures.ts), so the log and the
// decision say which attack was tried.
import type { Algorithm, AuthnConfig, IssuerConfig } from './config.js'
import { parseCompactJwt } from './compact-jwt.js'
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

/** The @fastify/jwt operation used: `fastify.jwt.verify`. */
export interface JwtCodec {
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
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/
// The JWS algorithm names of RFC 7518 and RFC 8037, case-sensitive as registered.
const REGISTERED_ALGORITHMS = new Set(['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512',
  'PS256', 'PS384', 'PS512', 'EdDSA', 'none'])
// Google signs ID tokens with either form of its issuer.
const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com']

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Maps a fast-jwt TokenError (codes FAST_JWT_*) to a reason code. */
export function reasonForVerifyError (err: unknown): FailureCode {
  const { code, message } = (isObject(err) ? err : {}) as { code?: unknown, message?: unknown }
  const text = typeof message === 'string' ? message : ''
  switch (code) {
    case 'FAST_JWT_EXPIRED': return 'token_expired'
    case 'FAST_JWT_INACTIVE': return 'token_not_yet_valid'
    case 'FAST_JWT_MISSING_SIGNATURE': return 'signature_missing'
    // INVALID_KEY: the key does not fit the algorithm the token claims (e.g. ES256 with an RSA key).
    case 'FAST_JWT_INVALID_KEY': return 'key_algorithm_mismatch'
    case 'FAST_JWT_INVALID_SIGNATURE': return 'signature_invalid'
    case 'FAST_JWT_INVALID_ALGORITHM': return 'algorithm_not_allowed'
    case 'FAST_JWT_INVALID_CRIT_HEADER': return 'token_crit_unsupported'
    case 'FAST_JWT_INVALID_CLAIM_TYPE': return 'claim_type_invalid'
    // fast-jwt uses one code for every claim value; iss was matched before, so the
    // message tells audience from the rest.
    case 'FAST_JWT_INVALID_CLAIM_VALUE':
    case 'FAST_JWT_MISSING_REQUIRED_CLAIM':
      return /\baud\b/.test(text) ? 'audience_mismatch' : 'token_invalid'
    default: return 'token_invalid'
  }
}

/** What the header's alg says, before any issuer is known. */
function algorithmFamily (alg: unknown): FailureCode | undefined {
  if (typeof alg !== 'string') return 'algorithm_unknown'
  // "none", "None", "NONE": unsecured in any spelling, signature or not.
  if (alg.toLowerCase() === 'none') return 'algorithm_none'
  // HS256 keyed with a public key is the classic algorithm confusion.
  if (/^hs\d+$/i.test(alg)) return 'algorithm_symmetric'
  if (!REGISTERED_ALGORITHMS.has(alg)) return 'algorithm_unknown'
  return undefined
}

const isTime = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value)

/** Types of the registered claims, so a string exp is never read as "no exp". */
function claimTypes (payload: Claims): FailureCode | undefined {
  for (const name of ['exp', 'nbf', 'iat'] as const) {
    if (name in payload && !isTime(payload[name])) return 'claim_type_invalid'
  }
  if (!('exp' in payload)) return 'expiry_missing'
  if (!('aud' in payload)) return 'audience_missing'
  const aud = payload.aud
  const audOk = (typeof aud === 'string' && aud !== '') ||
    (Array.isArray(aud) && aud.length > 0 && aud.every((a) => typeof a === 'string' && a !== ''))
  if (!audOk) return 'claim_type_invalid'
  return undefined
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

  /** Starts fetching every issuer's keys in the background. */
  start (): void {
    for (const keys of this.keys.values()) keys.start()
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

    const parsed = parseCompactJwt(token)
    if (!parsed.ok) return parsed
    const { header, payload, signature } = parsed.jwt

    if (FORBIDDEN_HEADERS.some((name) => name in header)) return failure('token_header_forbidden')
    // No critical extension is understood here, so any crit must be refused (RFC 7515 §4.1.11).
    if ('crit' in header) return failure('token_crit_unsupported')
    const family = algorithmFamily(header.alg)
    if (family !== undefined) return failure(family)

    if (!('iss' in payload)) return failure('issuer_missing')
    if (typeof payload.iss !== 'string') return failure('issuer_not_string')
    const issuer = this.byIss.get(payload.iss)
    if (issuer === undefined) return failure('issuer_untrusted')

    const alg = header.alg as string
    if (!(issuer.algorithms as string[]).includes(alg)) return failure('algorithm_not_allowed')

    if (!('kid' in header)) return failure('kid_missing')
    const kid = header.kid
    if (typeof kid !== 'string' || kid.length > MAX_KID_LENGTH || !PRINTABLE_ASCII.test(kid)) return failure('kid_invalid')

    const claimProblem = claimTypes(payload)
    if (claimProblem !== undefined) return failure(claimProblem)
    // Nothing to verify: refuse before asking the IdP for keys.
    if (signature === '') return failure('signature_missing')

    const keys = this.keys.get(issuer.name) as IssuerKeys
    const key = await keys.lookup(kid, alg)
    if (!key.ok) return key

    const verification = this.verify(token, issuer, payload.iss, alg, key.pem)
    if (!verification.ok) return verification
    const verified = verification.claims
    // fast-jwt does not look at iat; a token from the future was made by a
    // clock (or a forger) we should not trust.
    if (typeof verified.iat === 'number' && verified.iat * 1000 > this.now() + issuer.clockToleranceSec * 1000) {
      return failure('token_issued_in_future')
    }

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
