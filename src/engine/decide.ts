// One decision: authentication's answer plus the policy's, in the response shape
// of DESIGN.md. A caller whose credential failed is answered here with status 401
// and never reaches the policy; everyone else gets exactly what the policy said.
import { randomUUID } from 'node:crypto'
import type { AuthnResult, Principal } from '../authn/principal.js'
import type { Rows } from '../rows/ucast.js'
import type { DecisionPolicy } from './policy.js'
import type { Action, Endpoint, PolicyInput, Reason } from './result.js'

export interface DecisionRequest {
  request: { method: string, path: string, query?: Record<string, string> }
  resource?: Record<string, unknown>
}

export interface Decision {
  decision_id: string
  allow: boolean
  status: 200 | 401 | 403
  principal: { id: string, kind: string, idp: string } | null
  action: Action
  endpoint: { module: string, resource: string }
  reasons: Reason[]
  rows: Rows
  policy: { revision: string, digest: string }
}

export interface ParsedRequest {
  body: DecisionRequest
  action: Action
  endpoint: Endpoint
}

export function decide (policy: DecisionPolicy, authn: AuthnResult, parsed: ParsedRequest): Decision {
  const decisionId = randomUUID()
  const action = parsed.action
  const endpoint = { module: parsed.endpoint.module, resource: parsed.endpoint.resource }
  const policyId = { revision: policy.revision, digest: policy.digest }
  if (!authn.ok) {
    return {
      decision_id: decisionId,
      allow: false,
      status: 401,
      principal: null,
      action,
      endpoint,
      reasons: [{ layer: 'authentication', code: authn.code, message: authn.message }],
      rows: { kind: 'none' },
      policy: policyId
    }
  }
  const result = policy.evaluate(policyInput(authn.principal, parsed))
  return {
    decision_id: decisionId,
    allow: result.allow,
    status: result.status,
    principal: {
      id: result.principal?.id ?? fallbackId(authn.principal),
      kind: result.principal?.kind ?? 'unknown',
      idp: authn.principal.idp
    },
    action,
    endpoint,
    reasons: result.reasons,
    rows: result.rows,
    policy: policyId
  }
}

export function policyInput (principal: Principal, parsed: ParsedRequest): PolicyInput {
  const input: PolicyInput = {
    principal,
    action: parsed.action,
    request: parsed.body.request,
    endpoint: parsed.endpoint
  }
  if (parsed.body.resource !== undefined) input.resource = parsed.body.resource
  return input
}

function fallbackId (p: Principal): string {
  return p.erp_user ?? p.client_id ?? p.subject
}
