// Builds the Verdict app for tests, the way server.ts does but without listening:
// tests talk to it with inject(), or start it on a loopback port for real HTTP.
import Fastify, { type FastifyInstance } from 'fastify'
import verdictApp from '../../src/app.js'
import { parseConfig, type Config } from '../../src/config.js'

export const POLICY_DIR = new URL('../../policies', import.meta.url).pathname

export interface TestAppOptions {
  authn?: Record<string, unknown>
  policy?: Record<string, unknown>
  server?: Record<string, unknown>
  status?: Record<string, unknown>
}

export function testConfig (opts: TestAppOptions = {}): Config {
  return parseConfig({
    server: { logLevel: 'silent', ...opts.server },
    policy: opts.policy ?? { dir: POLICY_DIR },
    authn: opts.authn ?? {},
    ...(opts.status !== undefined ? { status: opts.status } : {})
  })
}

export async function buildApp (opts: TestAppOptions = {}): Promise<FastifyInstance> {
  const config = testConfig(opts)
  const app = Fastify({ logger: false, bodyLimit: config.server.bodyLimitBytes })
  await app.register(verdictApp, { config })
  await app.ready()
  return app
}
