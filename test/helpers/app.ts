// Kept for the tests that use these names: the builder is test/helpers/build.ts.
import type { FastifyInstance } from 'fastify'
import { build, type TestAppOptions } from './build.js'

export { POLICY_DIR, testConfig, type TestAppOptions } from './build.js'

export async function buildApp (opts: TestAppOptions = {}): Promise<FastifyInstance> {
  return await build(undefined, opts)
}
