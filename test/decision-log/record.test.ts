// createDecisionLog on its own: recording never throws at a decision, even when
// an event cannot be built, and closing twice is one close.
import { PassThrough } from 'node:stream'
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import t from 'tap'
import { createDecisionLog } from '../../src/decision-log/index.js'
import { parseConfig } from '../../src/config.js'
import type { Decision, DecisionRequest } from '../../src/contract/wire.js'
import { refusedDecision } from './app.js'

const errors: unknown[] = []
const log = { info () {}, warn () {}, error (obj: unknown) { errors.push(obj) } } as unknown as FastifyBaseLogger
const request = { raw: {}, log, ip: '10.0.0.7', id: 'req-9' } as unknown as FastifyRequest
const asked = (body: unknown): DecisionRequest => body as DecisionRequest
const decision = (resource?: unknown): Decision => refusedDecision('d-1', resource !== undefined ? { extra: resource } : {})

t.test('an event that cannot be serialized is counted, not thrown', async (t) => {
  const out = new PassThrough()
  const config = parseConfig({ policy: { dir: '/x' }, decisionLogs: { console: true } }).decisionLogs
  const observed: unknown[] = []
  const dl = createDecisionLog({ config, path: 'verdict/decision', log, stdout: out, observe: (d, s) => observed.push([d.decision_id, s]) })
  // A BigInt cannot be written as JSON: the decision is still observed, the event is lost and counted.
  dl.record(request, { decision: decision(), request: asked({ request: { method: 'GET', path: '/p', query: { n: 1n } } }) })
  t.same(observed, [['d-1', undefined]], 'observed at once')
  t.equal(dl.eventFailures, 0, 'the event is built after the answer, on the next turn of the event loop')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(dl.eventFailures, 1)
  t.match(errors, [{ decision_id: 'd-1' }])
  t.same(observed, [['d-1', undefined]], 'counted for metrics; no arrival time known, no timing')
  let text = ''
  out.on('data', (c: Buffer) => { text += c.toString() })
  dl.record(request, { decision: decision(), request: asked({ request: { method: 'GET', path: '/p' } }) })
  await Promise.all([dl.close(), dl.close()])
  const event = JSON.parse(text) as Record<string, any>
  t.match(event, { decision_id: 'd-1', requested_by: '10.0.0.7', custom: { policy_evaluated: false, request_id: 'req-9' }, metrics: {} })
  t.same(event.input, { action: 'retrieve', endpoint: { module: 'jc', resource: 'jcjob' }, request: { method: 'GET', path: '/p' } })
})

t.test('the request handed over is what the event records, whatever the HTTP body was', async (t) => {
  const out = new PassThrough()
  let text = ''
  out.on('data', (c: Buffer) => { text += c.toString() })
  const config = parseConfig({ policy: { dir: '/x' }, decisionLogs: { console: true } }).decisionLogs
  const dl = createDecisionLog({ config, path: 'verdict/decision', log, stdout: out })
  // A batch: the HTTP body holds items; the decision service hands over the item.
  const batchRequest = { ...request, body: { items: [{ request: { method: 'GET', path: '/other' } }] } } as unknown as FastifyRequest
  dl.record(batchRequest, { decision: decision(), request: { request: { method: 'GET', path: '/p', query: { a: 'b' } }, resource: { company: '01' } } })
  await dl.close()
  t.same((JSON.parse(text) as Record<string, any>).input, {
    action: 'retrieve',
    endpoint: { module: 'jc', resource: 'jcjob' },
    request: { method: 'GET', path: '/p', query: { a: 'b' } },
    resource: { company: '01' }
  })
})
