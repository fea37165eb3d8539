// The decision engine as a shared service: `fastify.policy` is the policy store.
// The first load runs while the app starts; if it fails the service still comes
// up, /health says why, and decisions answer 503 (never an allow) until a load
// succeeds.
import fp from 'fastify-plugin'
import { createPolicyStore, type PolicySource, type PolicyStore } from './store.js'

declare module 'fastify' {
  interface FastifyInstance {
    policy: PolicyStore
  }
}

export interface EngineOptions {
  policy: PolicySource
}

export default fp<EngineOptions>(async (fastify, opts) => {
  const store = createPolicyStore(opts.policy)
  fastify.decorate('policy', store)
  try {
    const loaded = await store.load()
    fastify.log.info({ revision: loaded.revision, digest: loaded.digest }, 'policy loaded')
  } catch (err) {
    fastify.log.error({ err }, 'policy failed to load; decisions answer 503 until a good policy loads')
  }
}, { name: 'engine' })
