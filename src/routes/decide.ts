// POST /v1/decide — the calling service forwards its caller's Authorization header
// and describes the request; Verdict answers allow/deny, the status to answer with,
// reasons per layer and a row filter (and, when asked, that filter as SQL). HTTP 200
// whenever a decision was made. The decision service does the deciding.
import type { FastifyPluginAsync } from 'fastify'
import { DecisionRequestSchema, type DecisionRequest } from '../contract/wire.js'

export interface DecideRouteOptions { bodyLimit: number }

const decideRoute: FastifyPluginAsync<DecideRouteOptions> = async (fastify, opts) => {
  const routeOptions = { bodyLimit: opts.bodyLimit, schema: { body: DecisionRequestSchema } }
  fastify.post<{ Body: DecisionRequest }>('/v1/decide', routeOptions, async (request) => {
    return await fastify.decision.decide(request, request.body)
  })
}

export default decideRoute
