// The Verdict app as buildApp() makes it, but registered without encapsulation
// so the test sees the services the routes use: `app.policy` (the very
// DecisionPolicy the routes evaluate) and `app.authenticate` (the principal
// authentication makes of a credential). The database tests decide thousands
// of single records with them directly, on the same policy the app answers with.
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import verdictApp from '../../src/app.js'
import { POLICY_DIR, testConfig, type TestAppOptions } from './app.js'

export async function buildAppWithInternals (opts: TestAppOptions = {}): Promise<FastifyInstance> {
  // No watcher: the policy must not change between the collection decision and
  // the single-record decisions it is compared with.
  const config = testConfig({ ...opts, policy: opts.policy ?? { dir: POLICY_DIR, watch: false } })
  const app = Fastify({ logger: false, bodyLimit: config.server.bodyLimitBytes })
  await app.register(fp(verdictApp), { config })
  await app.ready()
  return app
}
