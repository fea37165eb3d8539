// POST /v1/decide — the calling service forwards its caller's Authorization header
// and describes the request; Verdict answers allow/deny, the status to answer with,
// reasons per layer and a row filter (and, when asked, that filter as SQL). HTTP 200
// whenever a decision was made.
import type { FastifyPluginAsync } from 'fastify'
import { decide } from '../engine/decide.js'
import type { PathVocabulary } from '../engine/input.js'
import { PolicyNotLoadedError } from '../errors.js'
import { parseDecisionRequest } from './decide-request.js'
import { DecisionRequestSchema, type DecisionRequestBody } from './decide-schema.js'

export interface DecideRouteOptions { bodyLimit: number, paths?: PathVocabulary }

const decideRoute: FastifyPluginAsync<DecideRouteOptions> = async (fastify, opts) => {
  const routeOptions = { bodyLimit: opts.bodyLimit, schema: { body: DecisionRequestSchema } }
  fastify.post<{ Body: DecisionRequestBody }>('/v1/decide', routeOptions, async (request) => {
    const parsed = parseDecisionRequest(request.body, opts.paths)
    const policy = fastify.policy.current()
    if (!policy) throw new PolicyNotLoadedError()
    const authn = await fastify.authenticate(request)
    const outcome = decide(policy, authn, parsed)
    fastify.decisionLog.record(request, outcome)
    return outcome.decision
  })
}

export default decideRoute
