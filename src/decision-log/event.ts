// One decision-log event in OPA's decision-log event shape
// (https://www.openpolicyagent.org/docs/management-decision-logs), so tools that
// read OPA's logs read Verdict's. Verdict-specific facts go where OPA leaves room:
// the policy digest next to the bundle revision, and `custom` for whether the
// policy was evaluated at all and the request id of the service log.
//
// This is a contract: `verdict replay` and any log receiver read these fields.
import type { Decision } from '../contract/wire.js'
import type { PolicyInput } from '../contract/policy.js'
import { redact, type RedactionRules } from './redact.js'

export const BUNDLE_NAME = 'verdict'

export interface DecisionLogEvent {
  decision_id: string
  labels: Record<string, string> & { id: string, version: string }
  bundles: Record<string, { revision: string, digest: string }>
  /** the policy entrypoint queried, e.g. "verdict/decision" */
  path: string
  /**
   * The policy input exactly as evaluated. When authentication failed there is
   * none: then `input` holds only the request (action, endpoint, request,
   * resource) and `custom.policy_evaluated` is false.
   */
  input: unknown
  /** the policy result `{ allow, status, principal, reasons, rows }`; for an authentication failure the 401 decision */
  result: unknown
  requested_by?: string
  /** RFC 3339, UTC, with milliseconds */
  timestamp: string
  metrics: Record<string, number>
  erased?: string[]
  masked?: string[]
  custom: { policy_evaluated: boolean, request_id?: string }
}

export interface EventContext {
  labels: DecisionLogEvent['labels']
  path: string
  rules: RedactionRules
}

export interface EventFacts {
  decision: Decision
  /** the policy input, when the policy was evaluated */
  input?: PolicyInput
  /** the request part, used when there is no policy input */
  request?: unknown
  requestedBy?: string
  requestId?: string
  handlerNs?: number
  /** nanoseconds in the policy evaluation */
  evalNs?: number
  now?: Date
}

/** The request part of a decision whose credential failed: no principal, nothing else. */
export function unevaluatedInput (decision: Decision, body: unknown): Record<string, unknown> {
  const input: Record<string, unknown> = { action: decision.action, endpoint: decision.endpoint }
  const b = body as { request?: unknown, resource?: unknown } | null
  if (b !== null && typeof b === 'object' && b.request !== null && typeof b.request === 'object') {
    const r = b.request as Record<string, unknown>
    // Only the documented request fields: whatever else a body carries stays out.
    input.request = { method: r.method, path: r.path, ...(r.query !== undefined ? { query: r.query } : {}) }
    if (b.resource !== undefined) input.resource = b.resource
  }
  return input
}

export function buildEvent (ctx: EventContext, facts: EventFacts): DecisionLogEvent {
  const { decision } = facts
  const evaluated = facts.input !== undefined
  const rawInput = facts.input ?? unevaluatedInput(decision, facts.request)
  const rawResult = {
    allow: decision.allow,
    status: decision.status,
    principal: decision.principal,
    reasons: decision.reasons,
    rows: decision.rows
  }
  const r = redact(rawInput, rawResult, ctx.rules)
  const event: DecisionLogEvent = {
    decision_id: decision.decision_id,
    labels: ctx.labels,
    bundles: { [BUNDLE_NAME]: { revision: decision.policy.revision, digest: decision.policy.digest } },
    path: ctx.path,
    input: r.input,
    result: r.result,
    timestamp: (facts.now ?? new Date()).toISOString(),
    metrics: eventMetrics(facts),
    custom: { policy_evaluated: evaluated }
  }
  if (facts.requestedBy !== undefined) event.requested_by = facts.requestedBy
  if (r.erased.length > 0) event.erased = r.erased
  if (r.masked.length > 0) event.masked = r.masked
  if (facts.requestId !== undefined) event.custom.request_id = facts.requestId
  return event
}

// OPA's timer names: the evaluation alone, and the whole request as the handler saw it.
function eventMetrics (facts: EventFacts): Record<string, number> {
  const metrics: Record<string, number> = {}
  if (facts.evalNs !== undefined) metrics.timer_rego_query_eval_ns = facts.evalNs
  if (facts.handlerNs !== undefined) metrics.timer_server_handler_ns = facts.handlerNs
  return metrics
}
