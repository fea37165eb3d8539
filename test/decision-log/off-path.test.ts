// Decision logging off the request path: record() notes the decision and
// returns; the event is built, redacted and encoded on a later turn of the
// event loop, once per decision for every sink, and written in batches. What
// waits is bounded, and closing encodes and writes it.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import t from 'tap'
import { parseConfig } from '../../src/config.js'
import type { Decision, DecisionRequest } from '../../src/contract/wire.js'
import { createDecisionLog } from '../../src/decision-log/index.js'
import { PendingBatch } from '../../src/decision-log/pending.js'
import { BoundedQueue } from '../../src/decision-log/queue.js'
import { FileSink } from '../../src/decision-log/sinks/file.js'
import { refusedDecision } from './app.js'

const log = { info () {}, warn () {}, error () {} } as unknown as FastifyBaseLogger
const request = { raw: {}, log, ip: '10.0.0.7', id: 'req-1' } as unknown as FastifyRequest
const asked = { request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob', query: { access_token: 'leak-me-not' } } } as unknown as DecisionRequest
const nextTurn = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

function decision (id: string, onRowsRead?: () => void): Decision {
  const d = refusedDecision(id)
  // `rows` is read only to build the event: the getter tells when that happens.
  Object.defineProperty(d, 'rows', { enumerable: true, get () { onRowsRead?.(); return { kind: 'none' } } })
  return d
}

async function tempDir (t: { teardown: (fn: () => unknown) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-offpath-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

t.test('record() returns before the event is built; it is built once, on a later turn, for every sink', async (t) => {
  const out = new PassThrough()
  let text = ''
  out.on('data', (c: Buffer) => { text += c.toString() })
  const path = join(await tempDir(t), 'decisions.log')
  const config = parseConfig({ policy: { dir: '/x' }, decisionLogs: { console: true, file: { path } } }).decisionLogs
  const dl = createDecisionLog({ config, path: 'verdict/decision', log, stdout: out })
  let built = 0
  let answered = false
  const builtBeforeAnswer: boolean[] = []
  dl.record(request, { decision: decision('d-1', () => { built++; builtBeforeAnswer.push(!answered) }), request: asked })
  answered = true // the route answers right after record() returns
  t.equal(built, 0, 'nothing built inside record()')
  t.equal(dl.stats().file?.buffered, 1, 'but the decision is counted as waiting')
  await nextTurn()
  t.equal(built, 1, 'built once on the next turn, for both sinks')
  t.same(builtBeforeAnswer, [false])
  await dl.close()
  const fileLine = (await readFile(path, 'utf8')).trim()
  t.equal(text.trim(), fileLine, 'the console and the file got the same line')
  const event = JSON.parse(fileLine) as Record<string, any>
  t.equal(event.decision_id, 'd-1')
  t.notMatch(fileLine, 'leak-me-not', 'redacted before it was encoded')
  t.same(event.erased, ['/input/request/query/access_token'])
})

t.test('the time and request facts are those of the decision, not of the encoding', async (t) => {
  const out = new PassThrough()
  let text = ''
  out.on('data', (c: Buffer) => { text += c.toString() })
  const config = parseConfig({ policy: { dir: '/x' }, decisionLogs: { console: true } }).decisionLogs
  const dl = createDecisionLog({ config, path: 'verdict/decision', log, stdout: out })
  const before = Date.now()
  const mutable = { raw: {}, log, ip: '10.0.0.8', id: 'req-2' }
  dl.record(mutable as unknown as FastifyRequest, { decision: decision('d-2'), request: asked })
  const after = Date.now()
  mutable.ip = '192.0.2.1'
  mutable.id = 'req-recycled'
  await new Promise((resolve) => setTimeout(resolve, 30))
  await dl.close()
  const event = JSON.parse(text) as Record<string, any>
  t.equal(event.requested_by, '10.0.0.8')
  t.equal(event.custom.request_id, 'req-2')
  const at = Date.parse(event.timestamp)
  t.ok(at >= before && at <= after, 'timestamped when recorded')
})

t.test('the file sink writes many events per write', async (t) => {
  const path = join(await tempDir(t), 'decisions.log')
  const batches: number[] = []
  class CountingFileSink extends FileSink {
    protected override async writeBatch (lines: string[]): Promise<void> {
      batches.push(lines.length)
      await super.writeBatch(lines)
    }
  }
  const sink = new CountingFileSink(new BoundedQueue({ maxEvents: 10_000, maxBytes: 1 << 26 }), log, { path, maxBytes: 1 << 26, maxFiles: 1 })
  for (let i = 0; i < 300; i++) sink.enqueue(JSON.stringify({ decision_id: `d-${i}` }))
  await sink.close(5000)
  t.same(batches, [300], 'one turn of decisions, one write')
  t.equal((await readFile(path, 'utf8')).split('\n').filter(Boolean).length, 300)
})

t.test('what waits to be encoded is bounded: the oldest are dropped and counted for every sink', async (t) => {
  const seen: number[][] = []
  const batch = new PendingBatch<number>(3, (items) => { seen.push(items) })
  for (let i = 1; i <= 5; i++) batch.add(i)
  t.equal(batch.dropped, 2)
  await nextTurn()
  t.same(seen, [[3, 4, 5]], 'the newest three, in one batch')

  const out = new PassThrough()
  out.resume()
  const config = parseConfig({ policy: { dir: '/x' }, decisionLogs: { console: true, bufferMaxEvents: 2 } }).decisionLogs
  const dl = createDecisionLog({ config, path: 'verdict/decision', log, stdout: out })
  for (let i = 0; i < 5; i++) dl.record(request, { decision: decision(`d-${i}`), request: asked })
  t.equal(dl.stats().console?.dropped, 3, 'counted at once, before any encoding')
  await dl.close()
  t.equal(dl.stats().console?.written, 2)
})

t.test('closing encodes and writes what waits; a decision recorded while closing is not left behind', async (t) => {
  const path = join(await tempDir(t), 'decisions.log')
  const config = parseConfig({ policy: { dir: '/x' }, decisionLogs: { file: { path } } }).decisionLogs
  const dl = createDecisionLog({ config, path: 'verdict/decision', log })
  dl.record(request, { decision: decision('d-before-close'), request: asked })
  const closing = dl.close()
  dl.record(request, { decision: decision('d-while-closing'), request: asked })
  await closing
  await dl.close()
  const ids = (await readFile(path, 'utf8')).split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { decision_id: string }).decision_id)
  t.same(ids, ['d-before-close', 'd-while-closing'])
})
