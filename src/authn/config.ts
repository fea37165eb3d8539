// The `authn` section of the service config: trusted issuers and Basic
// service accounts. The schema describes what an operator writes (defaults
// filled by TypeBox); resolveAuthnConfig() adds the rules a schema cannot say
// (one key source per issuer, per-profile requirements) and per-profile
// algorithm defaults, and returns the fully resolved AuthnConfig.
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { trustedProxyProblems } from './client-address.js'
import { ClientCertificateConfigSchema, type ClientCertificateConfig } from './client-cert.js'
import type { BasicCacheConfig } from './basic-cache.js'
import type { ThrottleConfig } from './rate-limit.js'

export const PROFILES = ['entra-v1', 'entra-v2', 'okta', 'google', 'auth0', 'oidc'] as const
export type ProfileName = typeof PROFILES[number]

// Asymmetric only: HMAC algorithms are never accepted, so a public key can
// never be used as an HMAC secret (algorithm confusion).
export const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'] as const
export type Algorithm = typeof ALGORITHMS[number]

export const DEFAULT_ALGORITHMS: Record<ProfileName, Algorithm[]> = {
  'entra-v1': ['RS256'],
  'entra-v2': ['RS256'],
  okta: ['RS256'],
  google: ['RS256'],
  auth0: ['RS256'],
  oidc: ['RS256', 'ES256']
}

export const AUTHN_DEFAULTS = {
  clockToleranceSec: 30,
  fetchTimeoutMs: 3000,
  keyRefreshSec: 300,
  keyRefreshMinSec: 60,
  keyRefreshMaxSec: 3600,
  unknownKidMinIntervalSec: 5,
  pepperEnv: 'VERDICT_BASIC_PEPPER',
  maxTokenBytes: 8192,
  rateLimit: { maxFailures: 5, maxFailuresPerAddress: 100, windowSec: 900, delaySec: 1, maxDelaySec: 60 },
  cache: { maxEntries: 10_000, ttlMs: 60_000 },
  secretsCheckIntervalMs: 1000
} as const

const NonEmpty = Type.String({ minLength: 1, maxLength: 2048 })

export const IssuerConfigSchema = Type.Object({
  name: Type.String({
    minLength: 1,
    maxLength: 64,
    pattern: '^[A-Za-z0-9_.-]+$',
    description: "the identity provider's name in decisions (`principal.idp`) and in the policy's client mapping (`data.erp.accounts.clients`)"
  }),
  profile: Type.Union(PROFILES.map((p) => Type.Literal(p)), { description: 'which claims name the caller and what is checked (see the profiles below)' }),
  issuer: Type.String({ minLength: 1, maxLength: 2048, description: 'the exact `iss` value tokens carry (matched as a string)' }),
  audience: Type.Union([NonEmpty, Type.Array(NonEmpty, { minItems: 1 })], { description: 'accepted `aud` value(s)' }),
  discovery: Type.Optional(Type.String({
    minLength: 1,
    maxLength: 2048,
    description: "URL of the issuer's `.well-known/openid-configuration`; set exactly one of `discovery` and `jwksUri`. Keys are fetched only from here, never from a URL found in a token. `https` (plain `http` only on loopback)"
  })),
  jwksUri: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: "URL of the issuer's JWKS (or use `discovery`)" })),
  algorithms: Type.Optional(Type.Array(Type.Union(ALGORITHMS.map((a) => Type.Literal(a))), {
    minItems: 1,
    uniqueItems: true,
    description: 'allowed signature algorithms (RS/PS/ES families only); default RS256, plus ES256 for `oidc`'
  })),
  erpUserClaim: Type.Optional(Type.String({
    minLength: 1,
    maxLength: 128,
    description: "a claim naming the ERP user (CMiC's `cmicuser`); otherwise the client id is mapped to an account in policy data"
  })),
  allowedClients: Type.Optional(Type.Array(NonEmpty, {
    description: 'callers accepted from this issuer (client ids; for `google` the `sub` or `email`); required for Google, whose ID tokens anyone can mint'
  })),
  tenant: Type.Optional(Type.String({
    minLength: 1,
    maxLength: 128,
    description: "Entra tenant id, which must equal the token's `tid`; required for Entra: keys are shared across tenants, so `tid` is the tenant boundary"
  })),
  clockToleranceSec: Type.Optional(Type.Integer({ minimum: 0, maximum: 300, default: AUTHN_DEFAULTS.clockToleranceSec, description: 'skew allowed on `exp`, `nbf` and `iat`' })),
  fetchTimeoutMs: Type.Optional(Type.Integer({
    minimum: 50,
    maximum: 60000,
    default: AUTHN_DEFAULTS.fetchTimeoutMs,
    description: "one fetch of the issuer's keys (discovery and JWKS together) must finish within this; a token waiting on a slower IdP is answered `jwks_unavailable` by then"
  })),
  keyRefreshSec: Type.Optional(Type.Integer({
    minimum: 1,
    maximum: 86400,
    default: AUTHN_DEFAULTS.keyRefreshSec,
    description: "the issuer's keys are fetched at start and refreshed in the background this often (when the JWKS answer has no `Cache-Control: max-age`), so a rotated key is known before it is used"
  })),
  keyRefreshMinSec: Type.Optional(Type.Integer({
    minimum: 1,
    maximum: 86400,
    default: AUTHN_DEFAULTS.keyRefreshMinSec,
    description: 'a JWKS `Cache-Control: max-age` replaces `keyRefreshSec`, but never below this (`no-store`/`no-cache` are ignored)'
  })),
  keyRefreshMaxSec: Type.Optional(Type.Integer({
    minimum: 1,
    maximum: 86400,
    default: AUTHN_DEFAULTS.keyRefreshMaxSec,
    description: 'and never above this'
  })),
  unknownKidMinIntervalSec: Type.Optional(Type.Integer({
    minimum: 1,
    maximum: 3600,
    default: AUTHN_DEFAULTS.unknownKidMinIntervalSec,
    description: 'a token naming a `kid` that is not published refetches the keys only if the last fetch started at least this long ago. One fetch is in flight per issuer and every waiting request shares it, so a spray of unknown kids costs the IdP at most one request per interval, and a newly published key waits at most this long'
  }))
}, { additionalProperties: false, description: 'one trusted OAuth 2.0 issuer' })

export const BasicConfigSchema = Type.Object({
  secretsFile: Type.Optional(Type.String({
    minLength: 1,
    maxLength: 2048,
    description: 'YAML map of username → hashed secret (`{scheme: hmac-sha256, hash}` or `{scheme: scrypt, salt, hash, N, r, p}`), kept apart from policy data'
  })),
  pepperEnv: Type.Optional(Type.String({ minLength: 1, default: AUTHN_DEFAULTS.pepperEnv, description: 'environment variable holding the HMAC pepper (at least 16 bytes)' })),
  pepperFile: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'file holding the HMAC pepper; wins over `pepperEnv` when set' })),
  secretsCheckIntervalMs: Type.Optional(Type.Integer({
    minimum: 50,
    maximum: 60_000,
    default: AUTHN_DEFAULTS.secretsCheckIntervalMs,
    description: 'how often the secrets file is looked at for changes (it may be replaced by a rename, as a Kubernetes Secret volume does). On any change it is read again, with the pepper, and the credential cache is emptied: a removed account or a changed secret is refused from then on. A file that cannot be read or is invalid leaves no Basic account valid until it is fixed'
  })),
  cache: Type.Optional(Type.Object({
    maxEntries: Type.Optional(Type.Integer({
      minimum: 0,
      maximum: 1_000_000,
      default: AUTHN_DEFAULTS.cache.maxEntries,
      description: 'verified credentials remembered (least recently used forgotten first); 0 turns the cache off'
    })),
    ttlMs: Type.Optional(Type.Integer({
      minimum: 1000,
      maximum: 3_600_000,
      default: AUTHN_DEFAULTS.cache.ttlMs,
      description: 'a verified credential is trusted this long without hashing it again'
    }))
  }, {
    additionalProperties: false,
    default: {},
    description: 'successful Basic checks are remembered briefly, so HMAC or scrypt runs once per credential per `ttlMs` instead of on every request. Keyed by an HMAC of the credential with a per-process random key (the cache holds no secret); failures are never remembered and are throttled as usual; emptied whenever the secrets file changes'
  })),
  rateLimit: Type.Optional(Type.Object({
    maxFailures: Type.Optional(Type.Integer({
      minimum: 1,
      default: AUTHN_DEFAULTS.rateLimit.maxFailures,
      description: 'failures of one account from one client address before that pair must wait (`basic_rate_limited`); other clients of the account are not affected'
    })),
    maxFailuresPerAddress: Type.Optional(Type.Integer({
      minimum: 1,
      default: AUTHN_DEFAULTS.rateLimit.maxFailuresPerAddress,
      description: 'failures of any accounts from one client address before that address must wait'
    })),
    windowSec: Type.Optional(Type.Integer({
      minimum: 1,
      default: AUTHN_DEFAULTS.rateLimit.windowSec,
      description: "failures are forgotten this long after the last one; a success forgets the pair's failures"
    })),
    delaySec: Type.Optional(Type.Integer({
      minimum: 1,
      maximum: 3600,
      default: AUTHN_DEFAULTS.rateLimit.delaySec,
      description: 'the first wait once a limit is reached; each further failure doubles it. Attempts during a wait are refused unchecked and do not count'
    })),
    maxDelaySec: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400, default: AUTHN_DEFAULTS.rateLimit.maxDelaySec, description: 'the longest wait' }))
  }, {
    additionalProperties: false,
    default: {},
    description: 'failed attempts are throttled with a growing delay per (account, client address) and per client address, never by locking the account; with several workers the counts live in the cluster primary'
  }))
}, { additionalProperties: false, description: 'HTTP Basic for service accounts' })

export const AuthnConfigSchema = Type.Object({
  issuers: Type.Optional(Type.Array(IssuerConfigSchema, { default: [], description: 'trusted OAuth 2.0 issuers (client-credentials JWTs)' })),
  trustedProxies: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
    default: [],
    maxItems: 256,
    description: "addresses or CIDR ranges (`10.0.0.0/8`, `2001:db8::/32`) of proxies whose `X-Forwarded-For` names a Basic caller's client address, walked from the right over trusted hops only. None by default: the header is ignored and the connection's peer is the client. Behind a gateway, list it, or every caller shares the gateway's address and its throttle"
  })),
  basic: Type.Optional(Type.Object(BasicConfigSchema.properties, { additionalProperties: false, default: {}, description: BasicConfigSchema.description })),
  maxTokenBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 65536, default: AUTHN_DEFAULTS.maxTokenBytes, description: 'larger bearer tokens are refused unread (`token_too_large`)' })),
  clientCertificate: Type.Optional(ClientCertificateConfigSchema)
}, { additionalProperties: false, description: 'the authentication layer: trusted issuers and Basic service accounts' })

/** What an operator writes in the `authn` section. */
export type AuthnConfigInput = Static<typeof AuthnConfigSchema>
export type IssuerConfigInput = Static<typeof IssuerConfigSchema>

/** One trusted issuer, every default applied. */
export interface IssuerConfig {
  name: string
  profile: ProfileName
  issuer: string
  audience: string[]
  discovery?: string
  jwksUri?: string
  algorithms: Algorithm[]
  erpUserClaim?: string
  allowedClients?: string[]
  tenant?: string
  clockToleranceSec: number
  fetchTimeoutMs: number
  keyRefreshSec: number
  keyRefreshMinSec: number
  keyRefreshMaxSec: number
  unknownKidMinIntervalSec: number
}

export interface BasicConfig {
  secretsFile?: string
  pepperEnv: string
  pepperFile?: string
  rateLimit: ThrottleConfig
  cache: BasicCacheConfig
  secretsCheckIntervalMs: number
}

export interface AuthnConfig {
  issuers: IssuerConfig[]
  trustedProxies: string[]
  basic: BasicConfig
  maxTokenBytes: number
  clientCertificate?: ClientCertificateConfig
}

export class AuthnConfigError extends Error {
  constructor (readonly problems: string[]) {
    super(`invalid authn config: ${problems.join('; ')}`)
    this.name = 'AuthnConfigError'
  }
}

const WELL_KNOWN = '/.well-known/openid-configuration'
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

// Keys fetched over plain HTTP could be swapped in transit; allow it only on
// loopback (tests, local development).
function checkKeyUrl (label: string, raw: string, problems: string[]): void {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    problems.push(`${label} is not a URL`)
    return
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    problems.push(`${label} must use https (http only on loopback)`)
  }
  if (url.username !== '' || url.password !== '' || url.hash !== '') {
    problems.push(`${label} must not carry credentials or a fragment`)
  }
}

function checkIssuer (issuer: IssuerConfig, at: string, problems: string[]): void {
  const hasDiscovery = issuer.discovery !== undefined
  if (hasDiscovery === (issuer.jwksUri !== undefined)) {
    problems.push(`${at}: set exactly one of discovery or jwksUri`)
  }
  if (issuer.discovery !== undefined) {
    checkKeyUrl(`${at}.discovery`, issuer.discovery, problems)
    if (!issuer.discovery.endsWith(WELL_KNOWN)) problems.push(`${at}.discovery must end with ${WELL_KNOWN}`)
  }
  if (issuer.jwksUri !== undefined) checkKeyUrl(`${at}.jwksUri`, issuer.jwksUri, problems)
  if (issuer.keyRefreshMinSec > issuer.keyRefreshMaxSec) problems.push(`${at}: keyRefreshMinSec must not exceed keyRefreshMaxSec`)

  switch (issuer.profile) {
    case 'entra-v1':
    case 'entra-v2':
      // Entra signing keys are shared by every tenant: the tenant check is
      // the only thing that keeps another tenant's tokens out.
      if (issuer.tenant === undefined) problems.push(`${at}: entra profiles require tenant`)
      else if (!issuer.issuer.includes(`/${issuer.tenant}/`)) problems.push(`${at}: issuer must contain the tenant id`)
      break
    case 'google':
      // Anyone can mint a Google ID token for any audience.
      if (issuer.allowedClients === undefined || issuer.allowedClients.length === 0) {
        problems.push(`${at}: google requires a non-empty allowedClients`)
      }
      break
    case 'okta':
      // Only custom authorization servers (/oauth2/{id}) issue tokens meant
      // for third-party APIs; org authorization server tokens are refused.
      if (!issuer.issuer.includes('/oauth2/')) problems.push(`${at}: okta issuer must be a custom authorization server (/oauth2/{id})`)
      break
    default:
      break
  }
}

/**
 * Validates the `authn` section and returns it with every default applied.
 * Throws AuthnConfigError listing all problems. Idempotent.
 */
export function resolveAuthnConfig (input: unknown): AuthnConfig {
  const withDefaults = Value.Default(AuthnConfigSchema, Value.Clone(input ?? {}))
  if (!Value.Check(AuthnConfigSchema, withDefaults)) {
    const problems = [...Value.Errors(AuthnConfigSchema, withDefaults)].map((e) => `${e.path || '/'}: ${e.message}`)
    throw new AuthnConfigError(problems)
  }
  const raw = withDefaults
  const problems: string[] = []
  const issuers: IssuerConfig[] = (raw.issuers ?? []).map((i) => {
    const resolved: IssuerConfig = {
      name: i.name,
      profile: i.profile,
      issuer: i.issuer,
      audience: Array.isArray(i.audience) ? i.audience : [i.audience],
      algorithms: i.algorithms ?? DEFAULT_ALGORITHMS[i.profile],
      clockToleranceSec: i.clockToleranceSec ?? AUTHN_DEFAULTS.clockToleranceSec,
      fetchTimeoutMs: i.fetchTimeoutMs ?? AUTHN_DEFAULTS.fetchTimeoutMs,
      keyRefreshSec: i.keyRefreshSec ?? AUTHN_DEFAULTS.keyRefreshSec,
      keyRefreshMinSec: i.keyRefreshMinSec ?? AUTHN_DEFAULTS.keyRefreshMinSec,
      keyRefreshMaxSec: i.keyRefreshMaxSec ?? AUTHN_DEFAULTS.keyRefreshMaxSec,
      unknownKidMinIntervalSec: i.unknownKidMinIntervalSec ?? AUTHN_DEFAULTS.unknownKidMinIntervalSec
    }
    if (i.discovery !== undefined) resolved.discovery = i.discovery
    if (i.jwksUri !== undefined) resolved.jwksUri = i.jwksUri
    if (i.erpUserClaim !== undefined) resolved.erpUserClaim = i.erpUserClaim
    if (i.allowedClients !== undefined) resolved.allowedClients = i.allowedClients
    if (i.tenant !== undefined) resolved.tenant = i.tenant
    return resolved
  })
  issuers.forEach((issuer, n) => checkIssuer(issuer, `issuers[${n}]`, problems))
  const names = issuers.map((i) => i.name)
  const isses = issuers.map((i) => i.issuer)
  if (new Set(names).size !== names.length) problems.push('issuer names must be unique')
  if (new Set(isses).size !== isses.length) problems.push('issuer values must be unique')
  const trustedProxies = raw.trustedProxies ?? []
  problems.push(...trustedProxyProblems(trustedProxies))
  if (problems.length > 0) throw new AuthnConfigError(problems)

  const basicInput = raw.basic ?? {}
  const rate = basicInput.rateLimit ?? {}
  const basic: BasicConfig = {
    pepperEnv: basicInput.pepperEnv ?? AUTHN_DEFAULTS.pepperEnv,
    rateLimit: {
      maxFailures: rate.maxFailures ?? AUTHN_DEFAULTS.rateLimit.maxFailures,
      maxFailuresPerAddress: rate.maxFailuresPerAddress ?? AUTHN_DEFAULTS.rateLimit.maxFailuresPerAddress,
      windowSec: rate.windowSec ?? AUTHN_DEFAULTS.rateLimit.windowSec,
      delaySec: rate.delaySec ?? AUTHN_DEFAULTS.rateLimit.delaySec,
      maxDelaySec: rate.maxDelaySec ?? AUTHN_DEFAULTS.rateLimit.maxDelaySec
    },
    cache: {
      maxEntries: basicInput.cache?.maxEntries ?? AUTHN_DEFAULTS.cache.maxEntries,
      ttlMs: basicInput.cache?.ttlMs ?? AUTHN_DEFAULTS.cache.ttlMs
    },
    secretsCheckIntervalMs: basicInput.secretsCheckIntervalMs ?? AUTHN_DEFAULTS.secretsCheckIntervalMs
  }
  if (basicInput.secretsFile !== undefined) basic.secretsFile = basicInput.secretsFile
  if (basicInput.pepperFile !== undefined) basic.pepperFile = basicInput.pepperFile

  const resolved: AuthnConfig = { issuers, trustedProxies, basic, maxTokenBytes: raw.maxTokenBytes ?? AUTHN_DEFAULTS.maxTokenBytes }
  if (raw.clientCertificate !== undefined) resolved.clientCertificate = raw.clientCertificate
  return resolved
}
