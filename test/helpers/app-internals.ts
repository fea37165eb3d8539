// The app with its policy not watched, for the database tests, which decide
// thousands of single records with `app.policy` and `app.authenticate` directly:
// the policy must not change between the collection decision and the
// single-record decisions it is compared with. The builder is test/helpers/build.ts.
import type { FastifyInstance } from 'fastify'
import { build, POLICY_DIR, type TestAppOptions } from './build.js'

export async function buildAppWithInternals (opts: TestAppOptions = {}): Promise<FastifyInstance> {
  return await build(undefined, { ...opts, policy: opts.policy ?? { dir: POLICY_DIR, watch: false } })
}
