// The app with a decision-log configuration (the builder is test/helpers/build.ts),
// plus small helpers the decision-log tests share.
import { readFile } from 'node:fs/promises'
import type { FastifyInstance } from 'fastify'
import type { Decision } from '../../src/contract/wire.js'
import { build } from '../helpers/build.js'

export async function buildLoggingApp (opts: { authn?: Record<string, unknown>, decisionLogs: Record<string, unknown> }): Promise<FastifyInstance> {
  return await build(undefined, opts)
}

/** The events of a JSON-lines file. */
export async function readEvents (path: string): Promise<Array<Record<string, any>>> {
  const text = await readFile(path, 'utf8')
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, any>)
}

export const jcjobList = { request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob', query: { limit: '100' } } }

/** A 401 decision (no credential) for tests that record decisions without the app. */
export function refusedDecision (id = 'd-1', extra: Record<string, unknown> = {}): Decision {
  return {
    decision_id: id,
    allow: false,
    status: 401,
    principal: null,
    action: 'retrieve',
    endpoint: { module: 'jc', resource: 'jcjob' },
    reasons: [{ layer: 'authentication', code: 'credential_missing', message: 'no credential' }],
    rows: { kind: 'none' },
    policy: { revision: 'r1', digest: 'sha256:abc' },
    ...extra
  } as Decision
}
