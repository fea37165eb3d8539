// The `authn` section of the service config: trusted issuers and Basic
// service accounts. The schema describes what an operator writes (defaults
// filled by TypeBox); resolveAuthnConfig() adds the rules a schema cannot say
// (one key source per issuer, per-profile requirements) and per-profile
// algorithm defaults, and returns the fully resolved AuthnConfig.
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { ClientCertificateConfigSchema, type ClientCertificateConfig } from './client-cert.js'

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
  fetchTimeoutMs: 5000,
  unknownKidCooldownSec: 60,
  pepperEnv: 'VERDICT_BASIC_PEPPER',
  maxTokenBytes: 8192,
  rateLimit: { maxFailures: 5, windowSec: 60, maxFailuresPerAddress: 100 }
} as const

const NonEmpty = Type.String({ minLength: 1, maxLength: 2048 })

export const IssuerConfigSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' }),
  profile: Type.Union(PROFILES.map((p) => Type.Literal(p))),
  /** the exact `iss` value tokens carry */
  issuer: NonEmpty,
  audience: Type.Union([NonEmpty, Type.Array(NonEmpty, { minItems: 1 })]),
  /** URL of the issuer's .well-known/openid-configuration (or use jwksUri) */
  discovery: Type.Optional(NonEmpty),
  /** URL of the issuer's JWKS (or use discovery) */
  jwksUri: Type.Optional(NonEmpty),
  algorithms: Type.Optional(Type.Array(Type.Union(ALGORITHMS.map((a) => Type.Literal(a))), { minItems: 1, uniqueItems: true })),
  /** claim naming the ERP user, e.g. "cmicuser" */
  erpUserClaim: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  /** callers allowed for this issuer (client ids; for google the sub or email) */
  allowedClients: Type.Optional(Type.Array(NonEmpty)),
  /** Entra tenant id; must equal the token's tid */
  tenant: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  clockToleranceSec: Type.Optional(Type.Integer({ minimum: 0, maximum: 300, default: AUTHN_DEFAULTS.clockToleranceSec })),
  fetchTimeoutMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 60000, default: AUTHN_DEFAULTS.fetchTimeoutMs })),
  unknownKidCooldownSec: Type.Optional(Type.Integer({ minimum: 0, maximum: 86400, default: AUTHN_DEFAULTS.unknownKidCooldownSec }))
}, { additionalProperties: false })

export const BasicConfigSchema = Type.Object({
  /** YAML file of username → hashed secret (kept apart from policy data) */
  secretsFile: Type.Optional(NonEmpty),
  /** environment variable holding the HMAC pepper */
  pepperEnv: Type.Optional(Type.String({ minLength: 1, default: AUTHN_DEFAULTS.pepperEnv })),
  /** file holding the HMAC pepper; wins over pepperEnv when set */
  pepperFile: Type.Optional(NonEmpty),
  rateLimit: Type.Optional(Type.Object({
    /** failures per username within the window before attempts are refused */
    maxFailures: Type.Optional(Type.Integer({ minimum: 1, default: AUTHN_DEFAULTS.rateLimit.maxFailures })),
    windowSec: Type.Optional(Type.Integer({ minimum: 1, default: AUTHN_DEFAULTS.rateLimit.windowSec })),
    // Higher than per-user on purpose: the remote address of a decision
    // request is usually the calling gateway, shared by every account behind it.
    maxFailuresPerAddress: Type.Optional(Type.Integer({ minimum: 1, default: AUTHN_DEFAULTS.rateLimit.maxFailuresPerAddress }))
  }, { additionalProperties: false, default: {} }))
}, { additionalProperties: false })

export const AuthnConfigSchema = Type.Object({
  issuers: Type.Optional(Type.Array(IssuerConfigSchema, { default: [] })),
  basic: Type.Optional(Type.Object(BasicConfigSchema.properties, { additionalProperties: false, default: {} })),
  maxTokenBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 65536, default: AUTHN_DEFAULTS.maxTokenBytes })),
  clientCertificate: Type.Optional(ClientCertificateConfigSchema)
}, { additionalProperties: false })

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
  unknownKidCooldownSec: number
}

export interface BasicConfig {
  secretsFile?: string
  pepperEnv: string
  pepperFile?: string
  rateLimit: { maxFailures: number, windowSec: number, maxFailuresPerAddress: number }
}

export interface AuthnConfig {
  issuers: IssuerConfig[]
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
      unknownKidCooldownSec: i.unknownKidCooldownSec ?? AUTHN_DEFAULTS.unknownKidCooldownSec
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
  if (problems.length > 0) throw new AuthnConfigError(problems)

  const basicInput = raw.basic ?? {}
  const rate = basicInput.rateLimit ?? {}
  const basic: BasicConfig = {
    pepperEnv: basicInput.pepperEnv ?? AUTHN_DEFAULTS.pepperEnv,
    rateLimit: {
      maxFailures: rate.maxFailures ?? AUTHN_DEFAULTS.rateLimit.maxFailures,
      windowSec: rate.windowSec ?? AUTHN_DEFAULTS.rateLimit.windowSec,
      maxFailuresPerAddress: rate.maxFailuresPerAddress ?? AUTHN_DEFAULTS.rateLimit.maxFailuresPerAddress
    }
  }
  if (basicInput.secretsFile !== undefined) basic.secretsFile = basicInput.secretsFile
  if (basicInput.pepperFile !== undefined) basic.pepperFile = basicInput.pepperFile

  const resolved: AuthnConfig = { issuers, basic, maxTokenBytes: raw.maxTokenBytes ?? AUTHN_DEFAULTS.maxTokenBytes }
  if (raw.clientCertificate !== undefined) resolved.clientCertificate = raw.clientCertificate
  return resolved
}
