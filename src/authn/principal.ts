import type { Principal } from '../contract/policy.js'
import type { AuthnFailure } from './failures.js'

// The normalized caller identity: `input.principal` of the policy contract
// (src/contract/policy.ts, docs/POLICY-CONTRACT.md). Optional fields are omitted
// when unknown, never set to null or undefined, because the Rego side tests presence.
export type { Principal }

export type AuthnResult = { ok: true, principal: Principal } | AuthnFailure

/** Builds a Principal, dropping optional fields whose value is undefined. */
export function makePrincipal (fields: Principal): Principal {
  const principal: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) principal[key] = value
  }
  return principal as unknown as Principal
}
