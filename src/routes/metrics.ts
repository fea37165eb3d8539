// GET /metrics — the Prometheus text exposition of `fastify.metrics`' registry.
import type { FastifyPluginAsync } from 'fastify'

const metricsRoute: FastifyPluginAsync = async (fastify) => {
  fastify.get('/metrics', async (_request, reply) => {
    const registry = fastify.metrics.registry
    reply.type(registry.contentType)
    return await registry.metrics()
  })
}

export default metricsRoute
