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

export const AuthzenConfigSchema = Type.Object({
  enabled: Type.Boolean({ default: false, description: 'open the AuthZEN Authorization API 1.0 routes (`/access/v1/…`, `/.well-known/authzen-configuration`)' }),
  model: Type.Union([Type.Literal('cmic'), Type.Literal('entities')], {
    default: AUTHZEN_DEFAULTS.model,
    description: 'how a request becomes a policy input: `cmic` maps accounts, endpoints and business records onto the ERP policy; `entities` hands `{subject, action, resource, context}` to the policy as is (the interop scenarios in examples/authzen)'
  }),
  policyDecisionPoint: Type.Optional(Type.String({
    minLength: 1,
    maxLength: 2048,
    pattern: '^https?://[^/?#]+(/[^?#]*)?$',
    description: 'the PDP identifier the metadata publishes (an https URL); when unset, the origin the request was sent to'
  })),
  apiKeysFile: Type.Optional(Type.String({
    minLength: 1,
    description: 'YAML file of PEP API keys: `name: { scheme: hmac-sha256, hash: <base64> }`, hashed with the Basic pepper (`authn.basic`)'
  })),
  clients: Type.Array(Type.Object({
    idp: Type.String({ minLength: 1, maxLength: 128, description: 'the issuer\'s `name` in `authn.issuers`' }),
    clientId: Type.String({ minLength: 1, maxLength: 128, description: 'the token\'s client id (appid / azp / cid / client_id)' })
  }, { additionalProperties: false, description: 'a PEP that authenticates with a client-credentials JWT: the issuer name in `authn.issuers` and the token\'s client id' }), {
    default: [],
    maxItems: 256,
    description: 'PEPs that authenticate with a client-credentials JWT; any other valid token is refused (403)'
  }),
  subjectIdp: Type.String({
    minLength: 1,
    maxLength: 64,
    default: AUTHZEN_DEFAULTS.subjectIdp,
    description: 'cmic model: the identity-provider name an AuthZEN subject counts as authenticated by; an account is answered only when its `idps` list names it (or lists none)'
  }),
  env: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', default: AUTHZEN_DEFAULTS.env, description: 'cmic model: the `{env}` segment of the REST path the policy sees' }),
  pageSize: Type.Integer({ minimum: 1, maximum: AUTHZEN_DEFAULTS.maxPageSize, default: AUTHZEN_DEFAULTS.pageSize, description: 'search results per page when the request sets no `page.limit`' })
}, { additionalProperties: false, default: {}, description: 'the AuthZEN Authorization API 1.0 (off by default): who the PEPs are and how their questions reach the policy' })

export type AuthzenConfig = Static<typeof AuthzenConfigSchema>

/** The rules a schema cannot say; each problem starts with its config path. */
export function authzenConfigProblems (config: AuthzenConfig): string[] {
  const problems: string[] = []
  if (config.enabled && config.apiKeysFile === undefined && config.clients.length === 0) {
    problems.push('/authzen: enabled, but no PEP can authenticate (set apiKeysFile or clients)')
  }
  return problems
}
