// One evaluation: the policy input built from an authenticated principal and a
// parsed request, the policy's answer, and the decision in the wire shape
// (src/contract/wire.ts). Authentication and SQL rendering are not the engine's:
// the decision service (src/decision) answers a failed credential itself and
// renders the row filter as SQL when it was asked for.
import { randomUUID } from 'node:crypto'
import type { ApiRequest, Principal, Resource, SqlMapping } from '../contract/policy.js'
import type { SqlDialect } from '../contract/rows.js'
import type { Decision } from '../contract/wire.js'
import type { DecisionPolicy } from './policy.js'
import type { Action, Endpoint, PolicyInput } from './result.js'

export type { Decision } from '../contract/wire.js'

/** A decision request after parsing: the body (with a known SQL dialect), and the action and endpoint it names. */
export interface ParsedRequest {
  body: { request: ApiRequest, resource?: Resource, sql?: SqlDialect }
  action: Action
  endpoint: Endpoint
}

/** What the policy decided, the input it decided on, how long it took and the SQL mapping for the rows. */
export interface Evaluation {
  decision: Decision
  input: PolicyInput
  /** nanoseconds spent in the policy evaluation (OPA's timer_rego_query_eval_ns) */
  evalNs: number
  /** the object's SQL column mapping (policy data), never answered as is */
  sqlMapping: SqlMapping | null
}

/** The request path: `policy.decide` (bounded by the evaluation deadline when the policy is isolated). */
export async function evaluateDecision (policy: DecisionPolicy, principal: Principal, parsed: ParsedRequest): Promise<Evaluation> {
  const decisionId = randomUUID()
  const input = policyInput(principal, parsed)
  const started = process.hrtime.bigint()
  const result = await policy.decide(input)
  const evalNs = Number(process.hrtime.bigint() - started)
  const decision: Decision = {
    decision_id: decisionId,
    allow: result.allow,
    status: result.status,
    principal: {
      id: result.principal?.id ?? fallbackId(principal),
      kind: result.principal?.kind ?? 'unknown',
      idp: principal.idp
    },
    action: parsed.action,
    endpoint: { module: parsed.endpoint.module, resource: parsed.endpoint.resource },
    reasons: result.reasons,
    rows: result.rows,
    policy: { revision: policy.revision, digest: policy.digest }
  }
  return { decision, input, evalNs, sqlMapping: result.sqlMapping }
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
