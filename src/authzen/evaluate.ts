// One AuthZEN evaluation against the active policy, and the batch semantics of
// the Access Evaluations API. The model turns the request into an ERP decision
// request (decided by the decision service, which also writes the decision log)
// or a policy input (entities), or a reason to deny; the AuthZEN answer is
// `{ decision }`, with `context.reasons` only when the PEP asked for them.
import type { Principal } from '../contract/policy.js'
import type { Decision } from '../contract/wire.js'
import type { ParsedRequest } from '../decision/index.js'
import type { DecisionPolicy } from '../engine/policy.js'
import type { Model, ModelReason, Query } from './models.js'
import type { Semantic } from './schema.js'

/** What one evaluation found: the decision and why. */
export interface Evaluation {
  decision: boolean
  reasons: ModelReason[]
}

/** An evaluation in wire shape: `{ decision }`, `context` only when there is something to say. */
export interface EvaluationAnswer {
  decision: boolean
  context?: Record<string, unknown>
}

const dataCache = new WeakMap<DecisionPolicy, unknown>()

/** The policy's data document, parsed once per loaded policy. */
export function policyData (policy: DecisionPolicy): unknown {
  if (!dataCache.has(policy)) dataCache.set(policy, JSON.parse(policy.dataJson.toString('utf8')))
  return dataCache.get(policy)
}

/** How an evaluation reaches a policy. */
export interface Evaluator {
  policy: DecisionPolicy
  model: Model
  /** An ERP decision through the decision service (policy → evaluate → decision log), for the given principal. */
  decideErp: (parsed: ParsedRequest, principal: Principal) => Promise<Decision>
}

/** Evaluates one request. Throws what the engine throws (a 5xx): never an allow. */
export async function evaluate (ev: Evaluator, query: Query): Promise<Evaluation> {
  const prepared = ev.model.prepare(query, policyData(ev.policy))
  if (!prepared.ok) return { decision: false, reasons: [prepared.reason] }
  if ('erp' in prepared) {
    let decision: Decision
    try {
      decision = await ev.decideErp(prepared.erp.parsed, prepared.erp.principal)
    } catch (err) {
      // A question the decision service refuses as a client's mistake (an
      // endpoint the policy does not know, a string it cannot read) is a deny
      // with that reason; an engine failure stays a failure.
      const e = err as { statusCode?: unknown, code?: unknown, message?: unknown }
      if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 && typeof e.code === 'string') {
        return { decision: false, reasons: [{ code: e.code.toLowerCase(), message: String(e.message) }] }
      }
      throw err
    }
    return { decision: decision.allow, reasons: decision.reasons.map((r) => ({ code: r.code, message: r.message })) }
  }
  // The entities model hands the policy the AuthZEN request itself, which the
  // decision service's ERP contract does not describe: evaluated here, through
  // the same checked engine path (a result without the contract's shape is an
  // engine failure), and not written to the decision log.
  const result = await ev.policy.decide(prepared.input as Parameters<DecisionPolicy['decide']>[0])
  return { decision: ev.model.decision(result), reasons: result.reasons.map((r) => ({ code: r.code, message: r.message })) }
}

export function answer (evaluation: Evaluation, includeReasons: boolean): EvaluationAnswer {
  if (!includeReasons) return { decision: evaluation.decision }
  return {
    decision: evaluation.decision,
    context: { reasons: evaluation.reasons.map((r) => ({ id: r.code, reason_admin: { en: r.message } })) }
  }
}

/** A batch item that could not be evaluated: closed, with its error in context. */
export function failedItem (status: number, error: { code: string, message: string }): EvaluationAnswer {
  return { decision: false, context: { error: { status, code: error.code, message: error.message } } }
}

/** Whether a semantic stops after this answer (it is then the last one returned). */
export function stopsAfter (semantic: Semantic, decision: boolean): boolean {
  return (semantic === 'deny_on_first_deny' && !decision) || (semantic === 'permit_on_first_permit' && decision)
}
