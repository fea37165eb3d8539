// Claim profiles: where each identity provider puts the caller's client id,
// roles, scopes and tenant in a client-credentials token, and the checks that
// only make sense for that provider. Runs on claims whose signature, issuer,
// audience and lifetime were already verified.
import type { IssuerConfig } from './config.js'
import { failure, type AuthnFailure } from './failures.js'

export type Claims = Record<string, unknown>

/** The part of the Principal a profile decides. */
export interface ClaimIdentity {
  subject: string
  client_id: string
  tenant?: string
  roles: string[]
  scopes: string[]
}

export type ProfileOutcome = { ok: true, identity: ClaimIdentity } | AuthnFailure

const MAX_LIST = 256

function str (value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined
}

function strings (value: unknown): string[] {
  if (!Array.isArray(value)) return []
  return value.filter((v): v is string => typeof v === 'string' && v.length > 0).slice(0, MAX_LIST)
}

/** `scope` is space-separated by RFC 8693/9068; some IdPs send an array. */
function scopeList (value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter((s) => s.length > 0).slice(0, MAX_LIST)
  return strings(value)
}

function identity (subject: string, clientId: string, roles: string[], scopes: string[], tenant?: string): ProfileOutcome {
  const id: ClaimIdentity = { subject, client_id: clientId, roles, scopes }
  if (tenant !== undefined) id.tenant = tenant
  return { ok: true, identity: id }
}

function entra (issuer: IssuerConfig, claims: Claims): ProfileOutcome {
  const tid = str(claims.tid)
  if (tid === undefined || tid !== issuer.tenant) return failure('tenant_mismatch')
  // App-only tokens carry idtyp "app" when the optional claim is configured;
  // without it, a user (delegated) token is recognised by its scp claim.
  if (claims.idtyp !== undefined ? claims.idtyp !== 'app' : claims.scp !== undefined) {
    return failure('token_not_client_credentials')
  }
  const clientId = str(issuer.profile === 'entra-v1' ? claims.appid : claims.azp)
  if (clientId === undefined) return failure('client_id_missing')
  return identity(clientId, clientId, strings(claims.roles), [], tid)
}

function okta (claims: Claims): ProfileOutcome {
  const cid = str(claims.cid)
  if (cid === undefined) return failure('client_id_missing')
  // In a client-credentials token Okta sets sub to the client id; anything
  // else is a user's token.
  if (claims.sub !== cid) return failure('token_not_client_credentials')
  return identity(cid, cid, [], scopeList(claims.scp))
}

function google (issuer: IssuerConfig, claims: Claims): ProfileOutcome {
  const sub = str(claims.sub)
  if (sub === undefined) return failure('client_id_missing')
  // An email Google has not verified names nobody: only the JSON boolean true
  // counts (not a missing claim, not the string "true" or "false").
  const email = claims.email_verified === true ? str(claims.email) : undefined
  const allowed = issuer.allowedClients ?? []
  if (!allowed.includes(sub) && (email === undefined || !allowed.includes(email))) {
    const unverified = str(claims.email)
    return failure(unverified !== undefined && allowed.includes(unverified) ? 'email_not_verified' : 'client_not_allowed')
  }
  return identity(sub, email ?? sub, [], [])
}

function auth0 (claims: Claims): ProfileOutcome {
  const azp = str(claims.azp)
  if (azp === undefined) return failure('client_id_missing')
  if (claims.gty !== 'client-credentials' || claims.sub !== `${azp}@clients`) {
    return failure('token_not_client_credentials')
  }
  return identity(azp, azp, [], scopeList(claims.scope))
}

function oidc (claims: Claims): ProfileOutcome {
  const clientId = str(claims.client_id) ?? str(claims.azp) ?? str(claims.sub)
  if (clientId === undefined) return failure('client_id_missing')
  return identity(clientId, clientId, strings(claims.roles), scopeList(claims.scope ?? claims.scp))
}

function byProfile (issuer: IssuerConfig, claims: Claims): ProfileOutcome {
  switch (issuer.profile) {
    case 'entra-v1':
    case 'entra-v2':
      return entra(issuer, claims)
    case 'okta':
      return okta(claims)
    case 'google':
      return google(issuer, claims)
    case 'auth0':
      return auth0(claims)
    case 'oidc':
      return oidc(claims)
  }
}

/** Reads the caller's identity from verified claims, per the issuer's profile. */
export function readIdentity (issuer: IssuerConfig, claims: Claims): ProfileOutcome {
  const outcome = byProfile(issuer, claims)
  if (!outcome.ok) return outcome
  // Google's allowlist is applied above against sub or email; for the others
  // allowedClients, when set, narrows the issuer to the listed client ids.
  if (issuer.profile !== 'google' && issuer.allowedClients !== undefined &&
      !issuer.allowedClients.includes(outcome.identity.client_id)) {
    return failure('client_not_allowed')
  }
  return outcome
}

/** The ERP user named in the issuer's configured claim, if it holds a usable string. */
export function readErpUser (issuer: IssuerConfig, claims: Claims): string | undefined {
  if (issuer.erpUserClaim === undefined) return undefined
  const value = str(claims[issuer.erpUserClaim])
  return value !== undefined && value.length <= 256 ? value : undefined
}
