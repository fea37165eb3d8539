// GET /health — ready (200) only while a policy is loaded; 503 while starting or
// when no policy could be loaded, with the reason. A degraded state (a newer
// policy failed, the last good one still serves) is 200 with the error shown.
import type { FastifyPluginAsync } from 'fastify'

const healthRoute: FastifyPluginAsync = async (fastify) => {
  fastify.get('/health', async (_request, reply) => {
    const policy = fastify.policy.status()
    const serving = policy.state === 'ready' || policy.state === 'degraded'
    reply.code(serving ? 200 : 503)
    return { status: policy.state, policy }
  })
}

export default healthRoute
