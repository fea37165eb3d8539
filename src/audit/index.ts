// The decision log as a shared service: every decision (and every batch item)
// goes through `fastify.decisionLog.record()`, so routes never format log events
// themselves. Today it writes a summary line to the request logger; the OPA-shaped
// decision-log events and their sinks hang off this one place.
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Decision } from '../engine/decide.js'
import type { PolicyInput } from '../engine/result.js'

export interface DecisionLog {
  /** Records one decision; `input` is the policy input when the policy was evaluated. */
  record (request: FastifyRequest, decision: Decision, input?: PolicyInput): void
}

declare module 'fastify' {
  interface FastifyInstance {
    decisionLog: DecisionLog
  }
}

export function createDecisionLog (): DecisionLog {
  return {
    record (request, decision) {
      request.log.info({
        decision_id: decision.decision_id,
        allow: decision.allow,
        status: decision.status,
        principal: decision.principal?.id,
        action: decision.action,
        endpoint: `${decision.endpoint.module}/${decision.endpoint.resource}`,
        reasons: decision.reasons.map((r) => r.code)
      }, 'decision')
    }
  }
}

export default fp(async (fastify) => {
  fastify.decorate('decisionLog', createDecisionLog())
}, { name: 'decision-log' })
