// The `authzen` section of the service config: whether the AuthZEN Authorization
// API 1.0 doors are open, which policy model answers them, and which policy
// enforcement points (PEPs) may call them. Off by default: a PEP may name any
// subject, so the doors open only when an operator says who the PEPs are.
import { Type, type Static } from '@sinclair/typebox'

export const AUTHZEN_DEFAULTS = {
  model: 'cmic',
  subjectIdp: 'authzen',
  env: 'authzen',
  pageSize: 50,
  maxPageSize: 1000
} as const

const Name = Type.String({ minLength: 1, maxLength: 128 })

export const AuthzenConfigSchema = Type.Object({
  enabled: Type.Boolean({ default: false }),
  /**
   * How an AuthZEN request becomes a policy input: `cmic` maps accounts,
   * endpoints and business records onto the ERP policy (verdict/decision);
   * `entities` hands {subject, action, resource, context} to the policy as is
   * (the interop scenarios in examples/authzen).
   */
  model: Type.Union([Type.Literal('cmic'), Type.Literal('entities')], { default: AUTHZEN_DEFAULTS.model }),
  /** The PDP identifier published in /.well-known/authzen-configuration (https URL); by default the request's own origin. */
  policyDecisionPoint: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, pattern: '^https?://[^/?#]+(/[^?#]*)?$' })),
  /** YAML file of API-key name → { scheme: hmac-sha256, hash } (hashed with the Basic pepper). */
  apiKeysFile: Type.Optional(Type.String({ minLength: 1 })),
  /** PEPs that authenticate with a client-credentials JWT of a configured issuer. */
  clients: Type.Array(Type.Object({
    /** the issuer's name in authn.issuers */
    idp: Name,
    /** the token's client id (appid / azp / cid / client_id) */
    clientId: Name
  }, { additionalProperties: false }), { default: [], maxItems: 256 }),
  /**
   * cmic model: the identity-provider name an AuthZEN subject is treated as
   * authenticated by. An account answers only if its `idps` list names it (or it
   * lists none), so each account opts in to being asked about.
   */
  subjectIdp: Type.String({ minLength: 1, maxLength: 64, default: AUTHZEN_DEFAULTS.subjectIdp }),
  /** cmic model: the {env} segment of the REST path the policy sees. */
  env: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', default: AUTHZEN_DEFAULTS.env }),
  /** Search results per page when the request sets no page.limit. */
  pageSize: Type.Integer({ minimum: 1, maximum: AUTHZEN_DEFAULTS.maxPageSize, default: AUTHZEN_DEFAULTS.pageSize })
}, { additionalProperties: false, default: {} })

export type AuthzenConfig = Static<typeof AuthzenConfigSchema>

/** The rules a schema cannot say; each problem starts with its config path. */
export function authzenConfigProblems (config: AuthzenConfig): string[] {
  const problems: string[] = []
  if (config.enabled && config.apiKeysFile === undefined && config.clients.length === 0) {
    problems.push('/authzen: enabled, but no PEP can authenticate (set apiKeysFile or clients)')
  }
  return problems
}
