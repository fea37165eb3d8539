// One decision: authentication's answer plus the policy's, in the response shape
// of docs/ARCHITECTURE.md. A caller whose credential failed is answered here with status 401
// and never reaches the policy; everyone else gets exactly what the policy said.
// When the request asks for SQL, the row filter is also rendered in that dialect
// with the column mapping the policy named for the object.
import { randomUUID } from 'node:crypto'
import { FAILURES } from '../authn/failures.js'
import type { AuthnResult, Principal } from '../authn/principal.js'
import { SqlRenderError } from '../errors.js'
import { renderSql, type RenderedSql, type SqlDialect, type SqlMapping } from '../rows/sql.js'
import type { Rows } from '../rows/ucast.js'
import { checkEndpointKnown, checkWellFormed, illFormedStringAt } from './input.js'
import type { DecisionPolicy } from './policy.js'
import type { Action, Endpoint, PolicyInput, Reason } from './result.js'

export interface DecisionRequest {
  request: { method: string, path: string, query?: Record<string, string> }
  resource?: Record<string, unknown>
  sql?: SqlDialect
}

/** The row scope as answered: the policy's rows, plus SQL when it was asked for. */
export type DecisionRows = Rows & { sql?: RenderedSql }

export interface Decision {
  decision_id: string
  allow: boolean
  status: 200 | 401 | 403
  principal: { id: string, kind: string, idp: string } | null
  action: Action
  endpoint: { module: string, resource: string }
  reasons: Reason[]
  rows: DecisionRows
  policy: { revision: string, digest: string }
}

export interface ParsedRequest {
  body: DecisionRequest
  action: Action
  endpoint: Endpoint
}

/** A decision, the policy input it was made on and how long the evaluation took (both absent when authentication failed). */
export interface DecisionOutcome {
  decision: Decision
  input?: PolicyInput
  /** nanoseconds spent in the policy evaluation (OPA's timer_rego_query_eval_ns) */
  evalNs?: number
}

export function decide (policy: DecisionPolicy, authn: AuthnResult, parsed: ParsedRequest): DecisionOutcome {
  // Strings the policy engine cannot read are the caller's mistake (400), not
  // an evaluation failure; checked before the credential, like the path.
  checkWellFormed(parsed.body, 'the decision request')
  const decisionId = randomUUID()
  const action = parsed.action
  const endpoint = { module: parsed.endpoint.module, resource: parsed.endpoint.resource }
  const policyId = { revision: policy.revision, digest: policy.digest }
  const refusal = (reason: { code: string, message: string }): DecisionOutcome => ({
    decision: {
      decision_id: decisionId,
      allow: false,
      status: 401,
      principal: null,
      action,
      endpoint,
      reasons: [{ layer: 'authentication', code: reason.code, message: reason.message }],
      rows: withSql({ kind: 'none' }, parsed.body.sql, null),
      policy: policyId
    }
  })
  if (!authn.ok) return refusal(authn)
  const claimsFlaw = illFormedPrincipal(authn.principal)
  if (claimsFlaw !== undefined) return refusal(claimsFlaw)
  // After the credential, so the endpoint list is not told to anonymous callers.
  checkEndpointKnown(policy.endpoints, parsed.endpoint)
  const input = policyInput(authn.principal, parsed)
  const started = process.hrtime.bigint()
  const result = policy.evaluate(input)
  const evalNs = Number(process.hrtime.bigint() - started)
  const decision: Decision = {
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
    rows: withSql(result.rows, parsed.body.sql, result.sqlMapping),
    policy: policyId
  }
  return { decision, input, evalNs }
}

// `all` and `none` need no columns (1=1, 1=0); a conditional filter on an object
// whose policy data declares no SQL mapping cannot be rendered, which is a policy
// defect (500) rather than a decision without the filter the caller asked for.
const NO_COLUMNS: SqlMapping = { table: '', columns: {} }

function withSql (rows: Rows, dialect: SqlDialect | undefined, mapping: SqlMapping | null): DecisionRows {
  if (dialect === undefined) return rows
  if (mapping === null && rows.kind === 'conditional') {
    throw new SqlRenderError('the object declares no SQL mapping (sql in data.erp.objects)')
  }
  return { ...rows, sql: renderSql(rows, dialect, mapping ?? NO_COLUMNS) }
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

// A verified credential whose claims hold a string the policy engine cannot
// read (a lone UTF-16 surrogate in a JSON token payload) is refused like an
// invalid token: a 401 decision, never an evaluation failure.
function illFormedPrincipal (principal: Principal): { code: string, message: string } | undefined {
  if (illFormedStringAt(principal) === undefined) return undefined
  const code = principal.method === 'basic' ? 'basic_malformed' : 'token_invalid'
  return { code, message: FAILURES[code] }
}

function fallbackId (p: Principal): string {
  return p.erp_user ?? p.client_id ?? p.subject
}
