// GET /health — the policy's state, for people and dashboards: 200 while a policy
// serves decisions (`ready`, or `degraded` when a newer policy failed to load and
// the last good one still serves, the error shown), 503 while `starting` or when
// no policy could be loaded (`failed`, with the reason). It names the active
// policy: revision, digest, source (dir, file, url), when it was loaded, and
// whether its bundle signature was verified. For a policy directory it compares
// files (`policy.sources`): the digest of those the active policy was compiled
// from, the digest of those on disk, when the disk was last read and when the
// two last agreed. Once they are seen to differ the state is `degraded`, with
// the reason, until the files on disk are active: never `ready` with a stale
// policy.
//
// GET /ready — for load balancers and orchestrators: 200 only when a policy is
// active, 503 otherwise. A degraded service is ready: it decides with the last
// good policy.
import type { FastifyPluginAsync } from 'fastify'

const healthRoute: FastifyPluginAsync = async (fastify) => {
  fastify.get('/health', async (_request, reply) => {
    const policy = fastify.policy.status()
    const serving = policy.state === 'ready' || policy.state === 'degraded'
    reply.code(serving ? 200 : 503)
    // A persisted bundle serves while the bundle service is unreachable: it may
    // be stale, so the service never reports itself fully ready on it.
    const persisted = fastify.policyPersistence().servingSince
    if (persisted !== undefined && serving) {
      return { status: 'degraded', policy: { ...policy, persisted: { savedAt: persisted, reason: 'the bundle service has not answered since the start; serving the last bundle persisted on disk' } } }
    }
    return { status: policy.state, policy }
  })

  fastify.get('/ready', async (_request, reply) => {
    const ready = fastify.policy.current() !== undefined
    reply.code(ready ? 200 : 503)
    return { ready }
  })
}

export default healthRoute
