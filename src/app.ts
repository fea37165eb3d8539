// The Verdict app as a fastify plugin. It never listens: server.ts owns the
// process, and tests register this plugin on a fresh instance and use inject().
import type { FastifyInstance } from 'fastify'
import decisionLog from './audit/index.js'
import authn from './authn/index.js'
import type { Config } from './config.js'
import engine from './engine/index.js'
import { registerErrorHandling } from './http/errors.js'
import { registerJsonBodyParser } from './http/json-body.js'
import { registerSchemaValidation } from './http/validation.js'
import decideRoute from './routes/decide.js'
import healthRoute from './routes/health.js'

export interface AppOptions {
  config: Config
}

export default async function verdictApp (fastify: FastifyInstance, opts: AppOptions): Promise<void> {
  const { config } = opts
  registerJsonBodyParser(fastify)
  registerSchemaValidation(fastify)
  registerErrorHandling(fastify, config.server.bodyLimitBytes)

  await fastify.register(authn, { config: config.authn })
  await fastify.register(engine, { policy: config.policy })
  await fastify.register(decisionLog)

  await fastify.register(decideRoute, { bodyLimit: config.server.bodyLimitBytes })
  await fastify.register(healthRoute)
}
