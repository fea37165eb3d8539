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
// With several workers (server.workers > 1) `policy` is the answering worker's,
// and `fleet` is every worker as the primary sees it: the revision each serves,
// whether they agree with the revision the fleet was switched to, whether a
// switch is running, and the last switch (its outcome and the skew between the
// first and the last worker's activation). Workers that disagree outside a
// switch, or a primary that does not answer, make the state `degraded`.
//
// GET /ready — for load balancers and orchestrators: 200 only when a policy is
// active, 503 otherwise. A degraded service is ready: it decides with the last
// good policy.
import type { FastifyPluginAsync } from 'fastify'
import type { FleetView } from '../fleet/protocol.js'
import type { PolicyState } from '../lifecycle/store.js'

type FleetHealth = Omit<FleetView, 'source'> | { error: string }

/** Why the fleet makes a serving worker degraded, if it does. */
function fleetProblem (fleet: FleetHealth): string | undefined {
  if ('error' in fleet) return `the fleet's state is unknown: ${fleet.error}`
  if (!fleet.agree && !fleet.switching) {
    const revisions = fleet.serving.map((s) => `worker ${s.worker}: ${s.revision ?? 'none'}`).join(', ')
    return `the workers do not all serve revision ${fleet.revision ?? 'none'} (${revisions})`
  }
  return undefined
}

const healthRoute: FastifyPluginAsync = async (fastify) => {
  fastify.get('/health', async (_request, reply) => {
    const policy = fastify.policy.status()
    const serving = policy.state === 'ready' || policy.state === 'degraded'
    reply.code(serving ? 200 : 503)
    let status: PolicyState = policy.state
    const body: Record<string, unknown> = { status, policy }
    if (fastify.policyFleet !== undefined) {
      let fleet: FleetHealth
      try {
        const { source: _source, ...view } = await fastify.policyFleet()
        fleet = view
      } catch (err) {
        fleet = { error: (err as Error).message }
      }
      body.fleet = fleet
      const problem = fleetProblem(fleet)
      if (problem !== undefined && serving) {
        status = 'degraded'
        body.reason = problem
      }
    }
    // A persisted bundle serves while the bundle service is unreachable: it may
    // be stale, so the service never reports itself fully ready on it.
    const persisted = fastify.policyPersistence().servingSince
    if (persisted !== undefined && serving) {
      status = 'degraded'
      body.policy = { ...policy, persisted: { savedAt: persisted, reason: 'the bundle service has not answered since the start; serving the last bundle persisted on disk' } }
    }
    body.status = status
    return body
  })

  fastify.get('/ready', async (_request, reply) => {
    const ready = fastify.policy.current() !== undefined
    reply.code(ready ? 200 : 503)
    return { ready }
  })
}

export default healthRoute
