// Records a decision log the way production does: the real Verdict app with the
// real file sink, real credentials (test/helpers/callers.ts), real POST /v1/decide
// requests; closing the app flushes the sink. Used by the replay tests.
import Fastify from 'fastify'
import verdictApp from '../../src/app.js'
import { parseConfig } from '../../src/config.js'
import type { CallerName, Callers } from './callers.js'

export interface LoggedRequest {
  caller: CallerName
  method: string
  /** module/resource[/id] */
  endpoint: string
  resource?: Record<string, unknown>
  /** the status the decision must have, so the log holds what the test thinks it holds */
  status: 200 | 401 | 403
}

export async function recordDecisionLog (opts: {
  policyDir: string
  path: string
  callers: Callers
  requests: LoggedRequest[]
  mask?: string[]
}): Promise<void> {
  const config = parseConfig({
    server: { logLevel: 'silent' },
    policy: { dir: opts.policyDir },
    authn: opts.callers.authn,
    decisionLogs: { file: { path: opts.path }, mask: opts.mask ?? [] }
  })
  const app = Fastify({ logger: false })
  await app.register(verdictApp, { config })
  await app.ready()
  try {
    for (const r of opts.requests) {
      const [module, resource, id] = r.endpoint.split('/')
      const path = `/cmictest/${module ?? ''}-rest-api/rest/1/${resource ?? ''}${id !== undefined ? `/${id}` : ''}`
      const res = await app.inject({
        method: 'POST',
        url: '/v1/decide',
        headers: { authorization: opts.callers.header(r.caller), 'content-type': 'application/json' },
        payload: { request: { method: r.method, path }, ...(r.resource ? { resource: r.resource } : {}) }
      })
      const status = (res.json() as { status?: number }).status
      if (res.statusCode !== 200 || status !== r.status) {
        throw new Error(`${r.caller} ${r.method} ${r.endpoint}: expected a decision with status ${r.status}, got HTTP ${res.statusCode} ${res.body}`)
      }
    }
  } finally {
    await app.close()
  }
}
