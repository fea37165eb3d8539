// The one test app builder (fastify/demo's `build(t)`): the Verdict app as
// server.ts builds it — the same config parsing, the same app plugin — but never
// listening; tests talk to it with inject(), or listen on a loopback port for real
// HTTP. It is registered without encapsulation so a test can also reach the
// services the routes use (`app.policy`, `app.authenticate`, `app.decisionLog`,
// `app.metrics`). Given a tap test, the app is closed at that test's teardown.
//
// test/helpers/app.ts (buildApp), test/helpers/app-internals.ts
// (buildAppWithInternals), test/engine/helpers.ts (buildAppWithStore) and
// test/decision-log/app.ts (buildLoggingApp) are thin names for this builder.
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import verdictApp from '../../src/app.js'
import { parseConfig, type Config } from '../../src/config.js'

export const POLICY_DIR = new URL('../../policies', import.meta.url).pathname

export interface TestAppOptions {
  authn?: Record<string, unknown>
  policy?: Record<string, unknown>
  server?: Record<string, unknown>
  decisionLogs?: Record<string, unknown>
  status?: Record<string, unknown>
  forwardAuth?: Record<string, unknown>
}

/** The config the test app runs with: the example policies, silent logs, no issuers, unless given. */
export function testConfig (opts: TestAppOptions = {}): Config {
  const raw: Record<string, unknown> = {
    server: { logLevel: 'silent', ...opts.server },
    policy: opts.policy ?? { dir: POLICY_DIR },
    authn: opts.authn ?? {}
  }
  if (opts.decisionLogs !== undefined) raw.decisionLogs = opts.decisionLogs
  if (opts.status !== undefined) raw.status = opts.status
  if (opts.forwardAuth !== undefined) raw.forwardAuth = opts.forwardAuth
  return parseConfig(raw)
}

interface Teardown { teardown: (fn: () => unknown) => void }

/** Builds the app, ready; closed at `t`'s teardown when a test is given. */
export async function build (t?: Teardown, opts: TestAppOptions = {}): Promise<FastifyInstance> {
  const config = testConfig(opts)
  const app = Fastify({ logger: false, bodyLimit: config.server.bodyLimitBytes })
  t?.teardown(async () => await app.close())
  await app.register(fp(verdictApp), { config })
  await app.ready()
  return app
}
