// POST /v1/decide — the calling service forwards its caller's Authorization header
// and describes the request; Verdict answers allow/deny, the status to answer with,
// reasons per layer and a row filter. HTTP 200 whenever a decision was made.
import type { FastifyPluginAsync } from 'fastify'
import { decide, policyInput } from '../engine/decide.js'
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
    fastify.decisionLog.record(request, decision, authn.ok ? policyInput(authn.principal, parsed) : undefined)
    return decision
  })
}

export default decideRoute
