import type { AuthnFailure } from './failures.js'

// The normalized caller identity: `input.principal` in docs/POLICY-CONTRACT.md.
// Optional fields are omitted when unknown, never set to null or undefined,
// because the Rego side tests presence.
export interface Principal {
  method: 'jwt' | 'basic' | 'mtls'
  /** configured issuer name, "basic", or the client-certificate idp (authn.clientCertificate.idp) */
  idp: string
  /** exact `iss` (jwt only) */
  issuer?: string
  /** client id (jwt), username (basic) or certificate identity (mtls) */
  subject: string
  /** appid / azp / cid / client_id (jwt), certificate identity (mtls) */
  client_id?: string
  /** Entra tenant id (entra only) */
  tenant?: string
  /** ERP user from the issuer's configured claim, or the Basic username */
  erp_user?: string
  roles: string[]
  scopes: string[]
}

export type AuthnResult = { ok: true, principal: Principal } | AuthnFailure

/** Builds a Principal, dropping optional fields whose value is undefined. */
export function makePrincipal (fields: Principal): Principal {
  const principal: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) principal[key] = value
  }
  return principal as unknown as Principal
}
