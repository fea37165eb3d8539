// The app with a decision-log configuration (the builder is test/helpers/build.ts),
// plus small helpers the decision-log tests share.
import { readFile } from 'node:fs/promises'
import type { FastifyInstance } from 'fastify'
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
