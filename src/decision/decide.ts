// One decision, without I/O: authentication's answer plus the engine's, with the
// row filter rendered as SQL when the request asked for it. A caller whose
// credential failed is answered here with status 401 and never reaches the
// policy; everyone else gets exactly what the policy said.
import { FAILURES } from '../authn/failures.js'
import type { AuthnResult } from '../authn/principal.js'
import type { PolicyInput, Principal } from '../contract/policy.js'
import type { Rows, SqlDialect } from '../contract/rows.js'
import type { Decision, DecisionRequest } from '../contract/wire.js'
import { randomUUID } from 'node:crypto'
import { evaluateDecision, type ParsedRequest } from '../engine/decide.js'
import { checkEndpointKnown, checkWellFormed, illFormedStringAt } from '../engine/input.js'
import type { DecisionPolicy } from '../engine/policy.js'
import { SqlRenderError } from '../errors.js'
import { renderSql, type SqlMapping } from '../rows/sql.js'

/** A decision, the request it was made on, and (when the policy was evaluated) the input and how long it took. */
export interface DecisionOutcome {
  decision: Decision
  request: DecisionRequest
  input?: PolicyInput
  /** nanoseconds spent in the policy evaluation (OPA's timer_rego_query_eval_ns) */
  evalNs?: number
}

export async function decideOnce (policy: DecisionPolicy, authn: AuthnResult, parsed: ParsedRequest): Promise<DecisionOutcome> {
  // Strings the policy engine cannot read are the caller's mistake (400), not
  // an evaluation failure; checked before the credential, like the path.
  checkWellFormed(parsed.body, 'the decision request')
  if (!authn.ok) return refusal(policy, parsed, authn)
  const claimsFlaw = illFormedPrincipal(authn.principal)
  if (claimsFlaw !== undefined) return refusal(policy, parsed, claimsFlaw)
  // After the credential, so the endpoint list is not told to anonymous callers.
  checkEndpointKnown(policy.endpoints, parsed.endpoint)
  const { decision, input, evalNs, sqlMapping } = await evaluateDecision(policy, authn.principal, parsed)
  decision.rows = withSql(decision.rows, parsed.body.sql, sqlMapping)
  return { decision, request: parsed.body, input, evalNs }
}

/** The 401 decision: the credential failed, the policy is not asked. */
function refusal (policy: DecisionPolicy, parsed: ParsedRequest, reason: { code: string, message: string }): DecisionOutcome {
  const decision: Decision = {
    decision_id: randomUUID(),
    allow: false,
    status: 401,
    principal: null,
    action: parsed.action,
    endpoint: { module: parsed.endpoint.module, resource: parsed.endpoint.resource },
    reasons: [{ layer: 'authentication', code: reason.code, message: reason.message }],
    rows: withSql({ kind: 'none' }, parsed.body.sql, null),
    policy: { revision: policy.revision, digest: policy.digest }
  }
  return { decision, request: parsed.body }
}

// A verified credential whose claims hold a string the policy engine cannot
// read (a lone UTF-16 surrogate in a JSON token payload) is refused like an
// invalid token: a 401 decision, never an evaluation failure.
function illFormedPrincipal (principal: Principal): { code: string, message: string } | undefined {
  if (illFormedStringAt(principal) === undefined) return undefined
  const code = principal.method === 'basic' ? 'basic_malformed' : 'token_invalid'
  return { code, message: FAILURES[code] }
}

// `all` and `none` need no columns (1=1, 1=0); a conditional filter on an object
// whose policy data declares no SQL mapping cannot be rendered, which is a policy
// defect (500) rather than a decision without the filter the caller asked for.
const NO_COLUMNS: SqlMapping = { table: '', columns: {} }

function withSql (rows: Rows, dialect: SqlDialect | undefined, mapping: SqlMapping | null): Decision['rows'] {
  if (dialect === undefined) return rows
  if (mapping === null && rows.kind === 'conditional') {
    throw new SqlRenderError('the object declares no SQL mapping (sql in data.erp.objects)')
  }
  return { ...rows, sql: renderSql(rows, dialect, mapping ?? NO_COLUMNS) }
}
