// The decision engine as a shared service: `fastify.policy` is the policy store.
// The first load runs while the app starts; if it fails the service still comes
// up, /health says why, and decisions answer 503 (never an allow) until a load
// succeeds. Afterwards the source is followed: a policy directory is watched and
// recompiled on change, and reconciled on an interval (its files digested and
// compared with the active policy's) so that a missed event cannot leave a stale
// policy looking healthy; a bundle URL is polled. A failed reload keeps the last
// good policy; /health reports `degraded` with the reason.
//
// A worker of a cluster (server.workers > 1) does none of that: the primary
// reads the source once and feeds every worker each new bundle, switching them
// together (src/fleet). Its store is the fed one, and `policyFleet` tells
// /health how the fleet stands.
import cluster from 'node:cluster'
import fp from 'fastify-plugin'
import { createFedStore } from '../fleet/worker.js'
import { FLEET_ENV, type FleetView } from '../fleet/protocol.js'
import type { PolicyConfig } from './config.js'
import { followSource, reportOutcomes, sourceSetup, type FollowOptions } from './follow.js'
import type { PersistedState } from './persist.js'
import { createPolicyStore, sourceKind, type PolicyStore } from './store.js'

declare module 'fastify' {
  interface FastifyInstance {
    policy: PolicyStore
    /** Whether the active policy is a persisted bundle served while the bundle service is unreachable. */
    policyPersistence: () => PersistedState
    /** In a cluster's worker: the fleet as the primary sees it; undefined in a single process. */
    policyFleet: (() => Promise<FleetView>) | undefined
  }
}

/** How long the start waits for the first load (fastify's plugin timeout is 10 s). */
const FIRST_LOAD_WAIT_MS = 8000

export interface EngineOptions extends FollowOptions {
  policy: PolicyConfig
}

/** True in a worker forked by Verdict's own primary (not any cluster worker: another supervisor's workers read their source themselves). */
export function isFedWorker (): boolean {
  return cluster.isWorker && process.env[FLEET_ENV] === '1' && typeof process.send === 'function'
}

/** Waits for `first`, but not past FIRST_LOAD_WAIT_MS. */
async function boundedWait (first: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([first, new Promise((resolve) => { timer = setTimeout(resolve, FIRST_LOAD_WAIT_MS) })])
  clearTimeout(timer)
}

export default fp<EngineOptions>(async (fastify, opts) => {
  const config = opts.policy
  if (isFedWorker()) {
    const store = createFedStore(sourceKind(config), config.entrypoint, config.evaluationDeadlineMs)
    fastify.decorate('policy', store)
    fastify.decorate('policyPersistence', () => store.persistence())
    fastify.decorate('policyFleet', async () => await store.fleetView())
    store.events.on('activated', (e) => fastify.log.info({ revision: e.revision, digest: e.digest, source: e.source }, 'policy activated (from the primary)'))
    store.events.on('failed', (e) => fastify.log.error({ err: e.error, source: e.source }, 'policy load failed; the last good policy stays active'))
    // The first bundle arrives once the primary hears HELLO, after the other plugins subscribed to the store's events.
    fastify.addHook('onReady', async () => { await boundedWait(store.start()) })
    fastify.addHook('onClose', async () => { await store.idle(); await store.close() })
    return
  }

  const setup = await sourceSetup(config)
  const store = createPolicyStore(config, setup.storeOptions)
  fastify.decorate('policy', store)
  fastify.decorate('policyPersistence', () => setup.persisting?.state() ?? {})
  fastify.decorate('policyFleet', undefined)
  reportOutcomes(store, config, setup, fastify.log)

  // The first load runs when the app is ready, so plugins registered after this
  // one (metrics) hear its 'activated' or 'failed' too. The start waits for it,
  // but not past FIRST_LOAD_WAIT_MS (within fastify's plugin timeout): a bundle
  // server that hangs must not stop the start; until it answers, decisions get 503.
  let following: ReturnType<typeof followSource> | undefined
  fastify.addHook('onReady', async () => {
    following = followSource(store, config, setup, fastify.log, opts)
    await boundedWait(following.ready)
  })

  fastify.addHook('onClose', async () => {
    following?.close()
    // A compile in flight finishes (it owns an OPA process and a temp dir).
    await store.idle()
    // The evaluation thread of the served policy (src/engine/isolate.ts).
    await store.current()?.close()
  })
}, { name: 'engine' })
