// The Verdict app as a fastify plugin. It never listens: server.ts owns the
// process, and tests register this plugin on a fresh instance and use inject().
import type { FastifyInstance } from 'fastify'
import swagger from '@fastify/swagger'
import decision from './decision/index.js'
import decisionLog from './decision-log/index.js'
import authn from './authn/index.js'
import authzen from './authzen/index.js'
import type { Config } from './config.js'
import engine from './lifecycle/index.js'
import { registerErrorHandling } from './http/errors.js'
import { registerJsonBodyParser } from './http/json-body.js'
import { registerSchemaValidation } from './http/validation.js'
import batchRoute, { batchBodyLimit } from './routes/batch.js'
import decideRoute from './routes/decide.js'
import explainRoute from './routes/explain.js'
import explorerRoute from './routes/explorer.js'
import forwardAuthRoute from './routes/forward-auth.js'
import healthRoute from './routes/health.js'
import metricsRoute from './routes/metrics.js'
import openapiRoute, { swaggerOptions } from './routes/openapi.js'
import metrics from './metrics/index.js'
import statusReporting from './status/index.js'

export interface AppOptions {
  config: Config
}

export default async function verdictApp (fastify: FastifyInstance, opts: AppOptions): Promise<void> {
  const { config } = opts
  registerJsonBodyParser(fastify)
  registerSchemaValidation(fastify)
  registerErrorHandling(fastify, config.server.bodyLimitBytes)
  // Before any route, so the OpenAPI document (GET /docs/json) sees every route.
  await fastify.register(swagger, swaggerOptions)

  await fastify.register(authn, { config: config.authn })
  await fastify.register(engine, { policy: config.policy })
  await fastify.register(metrics)
  await fastify.register(decisionLog, { config: config.decisionLogs, path: config.policy.entrypoint })
  if (config.status !== undefined) await fastify.register(statusReporting, { config: config.status })
  await fastify.register(decision, { paths: config.server.paths })

  await fastify.register(decideRoute, { bodyLimit: config.server.bodyLimitBytes })
  await fastify.register(batchRoute, { bodyLimit: batchBodyLimit(config.server) })
  await fastify.register(forwardAuthRoute, { ...config.forwardAuth, challenges: challenges(config) })
  await fastify.register(authzen, { config: config.authzen, authn: config.authn, bodyLimit: config.server.bodyLimitBytes, batchBodyLimit: batchBodyLimit(config.server) })
  // Off unless configured; parseConfig refuses enabled without admin roles or a policy dir.
  if (config.explain.enabled && config.policy.dir !== undefined) {
    await fastify.register(explainRoute, { config: config.explain, policyDir: config.policy.dir, bodyLimit: config.server.bodyLimitBytes })
    await fastify.register(explorerRoute, { config: config.explain })
  }
  await fastify.register(healthRoute)
  await fastify.register(metricsRoute)
  await fastify.register(openapiRoute)
}

/** The WWW-Authenticate challenges of a forward-auth 401: one per scheme the configuration accepts. */
function challenges (config: Config): string[] {
  const out: string[] = []
  if (config.authn.issuers !== undefined && config.authn.issuers.length > 0) out.push('Bearer realm="verdict"')
  if (config.authn.basic?.secretsFile !== undefined) out.push('Basic realm="verdict", charset="UTF-8"')
  return out.length > 0 ? out : ['Bearer realm="verdict"']
}
