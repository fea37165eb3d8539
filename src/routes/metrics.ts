// GET /metrics — the Prometheus text exposition of `fastify.metrics`' registry;
// in a worker of several, the aggregate of all workers (src/metrics/cluster.ts).
// A worker that cannot get the aggregate answers 503 rather than its own
// numbers alone, which would look like a complete scrape and undercount.
import type { FastifyPluginAsync } from 'fastify'
import { MetricsUnavailableError } from '../errors.js'
import { clusterMetrics, isClusterWorker } from '../metrics/cluster.js'

const metricsRoute: FastifyPluginAsync = async (fastify) => {
  fastify.get('/metrics', async (request, reply) => {
    const registry = fastify.metrics.registry
    reply.type(registry.contentType)
    if (!isClusterWorker()) return await registry.metrics()
    try {
      return await clusterMetrics()
    } catch (err) {
      request.log.error({ err: { message: (err as Error).message } }, 'metrics aggregation failed')
      throw new MetricsUnavailableError()
    }
  })
}

export default metricsRoute
