// Builds the Verdict app with a decision-log configuration (test/helpers/app.ts
// has no decisionLogs option), plus small helpers the decision-log tests share.
import { readFile } from 'node:fs/promises'
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import verdictApp from '../../src/app.js'
import { parseConfig } from '../../src/config.js'
import { POLICY_DIR } from '../helpers/app.js'

export async function buildLoggingApp (opts: { authn?: Record<string, unknown>, decisionLogs: Record<string, unknown> }): Promise<FastifyInstance> {
  const config = parseConfig({
    server: { logLevel: 'silent' },
    policy: { dir: POLICY_DIR },
    authn: opts.authn ?? {},
    decisionLogs: opts.decisionLogs
  })
  const app = Fastify({ logger: false })
  // Unencapsulated, so tests can read the app's services (decisionLog, metrics).
  await app.register(fp(verdictApp), { config })
  await app.ready()
  return app
}

/** The events of a JSON-lines file. */
export async function readEvents (path: string): Promise<Array<Record<string, any>>> {
  const text = await readFile(path, 'utf8')
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, any>)
}

export const jcjobList = { request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob', query: { limit: '100' } } }
