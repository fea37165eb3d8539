// POST /v1/decide — the calling service forwards its caller's Authorization header
// and describes the request; Verdict answers allow/deny, the status to answer with,
// reasons per layer and a row filter. HTTP 200 whenever a decision was made.
import type { FastifyPluginAsync } from 'fastify'
import { decide } from '../engine/decide.js'
import { actionOf, endpointOf } from '../engine/input.js'
import { PolicyNotLoadedError } from '../errors.js'
import { DecisionRequestSchema, type DecisionRequestBody } from './decide-schema.js'

export interface DecideRouteOptions { bodyLimit: number }

const decideRoute: FastifyPluginAsync<DecideRouteOptions> = async (fastify, opts) => {
  const routeOptions = { bodyLimit: opts.bodyLimit, schema: { body: DecisionRequestSchema } }
  fastify.post<{ Body: DecisionRequestBody }>('/v1/decide', routeOptions, async (request) => {
    const body = request.body
    const parsed = { body, action: actionOf(body.request.method), endpoint: endpointOf(body.request.path) }
    const policy = fastify.policy.current()
    if (!policy) throw new PolicyNotLoadedError()
    const authn = await fastify.authenticate(request)
    const decision = decide(policy, authn, parsed)
    request.log.info({
      decision_id: decision.decision_id,
      allow: decision.allow,
      status: decision.status,
      principal: decision.principal?.id,
      action: decision.action,
      endpoint: `${decision.endpoint.module}/${decision.endpoint.resource}`,
      reasons: decision.reasons.map((r) => r.code)
    }, 'decision')
    return decision
  })
}

export default decideRoute
