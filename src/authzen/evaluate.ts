// One AuthZEN evaluation against the active policy, and the batch semantics of
// the Access Evaluations API. The model turns the request into a policy input
// (or a reason to deny); the policy decides; the AuthZEN answer is
// `{ decision }`, with `context.reasons` only when the PEP asked for them.
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

/** Evaluates one request. Throws what the engine throws (a 5xx): never an allow. */
export function evaluate (policy: DecisionPolicy, model: Model, query: Query): Evaluation {
  const prepared = model.prepare(query, policyData(policy))
  if (!prepared.ok) return { decision: false, reasons: [prepared.reason] }
  // The engine's evaluate() is typed for the ERP input; the entities model hands
  // the policy the AuthZEN request instead. Both run the same checked path: the
  // result must have the contract's shape or it is an engine failure.
  const result = policy.evaluate(prepared.input as Parameters<DecisionPolicy['evaluate']>[0])
  return { decision: model.decision(result), reasons: result.reasons.map((r) => ({ code: r.code, message: r.message })) }
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
