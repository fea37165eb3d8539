// The HTTP sink against real receivers on loopback: OPA's upload format, every
// event delivered at least once through failures, a hanging receiver that never
// slows a decision, a bounded buffer that drops its oldest, and closing that
// keeps its deadline.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { startCallers } from '../helpers/callers.js'
import { metricValue } from '../helpers/prometheus.js'
import { buildLoggingApp, jcjobList } from './app.js'
import { startReceiver } from './receiver.js'

const callers = await startCallers()
t.teardown(() => callers.close())

async function decide (app: FastifyInstance, count: number): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < count; i++) {
    const res = await app.inject({ method: 'POST', url: '/v1/decide', headers: { authorization: callers.header('payroll (basic)') }, payload: jcjobList })
    if (res.statusCode !== 200) throw new Error(`decision failed: ${res.statusCode} ${res.body}`)
    ids.push((res.json() as { decision_id: string }).decision_id)
  }
  return ids
}

t.test('a receiver that answers 500, 500, then 200 ends up with every event', async (t) => {
  const receiver = await startReceiver()
  t.teardown(() => receiver.close())
  receiver.script([500, 500])
  const app = await buildLoggingApp({
    authn: callers.authn,
    decisionLogs: { http: { url: receiver.url, maxBatchEvents: 4, flushIntervalMs: 20, minRetryDelayMs: 5, maxRetryDelayMs: 40 } }
  })
  t.teardown(() => app.close())
  const ids = await decide(app, 10)
  // 10 events in batches of at most 4: three batches delivered, plus the two refusals.
  await receiver.waitForUploads(5)
  while (receiver.accepted().length < ids.length || app.decisionLog.stats().http?.written !== ids.length) {
    await new Promise((resolve) => setTimeout(resolve, 10))
  }

  const [first, second] = receiver.uploads
  t.equal(first?.status, 500)
  t.equal(second?.status, 500)
  t.same(second?.events, first?.events, 'a refused batch is retried with the same events')
  for (const upload of receiver.uploads) {
    t.equal(upload.headers['content-encoding'], 'gzip')
    t.equal(upload.headers['content-type'], 'application/json')
    t.ok(upload.events.length >= 1 && upload.events.length <= 4, 'batches respect maxBatchEvents')
  }
  const received = receiver.uploads.flatMap((u) => u.events)
  t.same(new Set(received.map((e) => e.decision_id)), new Set(ids), 'every event arrived (at least once)')
  const byId = new Map<unknown, string>()
  for (const event of received) {
    const seen = byId.get(event.decision_id)
    if (seen !== undefined) t.equal(JSON.stringify(event), seen, 'a duplicate is the same event, same decision_id')
    byId.set(event.decision_id, JSON.stringify(event))
  }
  t.same(receiver.accepted().map((e) => e.decision_id), ids, 'accepted exactly once each, in decision order')
  t.ok(received.every((e) => e.path === 'verdict/decision' && typeof e.timestamp === 'string'), 'OPA-shaped events')

  const metrics = (await app.inject('/metrics')).body
  t.equal(metricValue(metrics, 'verdict_decision_log_failures_total{sink="http"}'), 2, 'two failed uploads counted')
  t.equal(metricValue(metrics, 'verdict_decision_log_written_total{sink="http"}'), 10)
  t.equal(metricValue(metrics, 'verdict_decision_log_dropped_total{sink="http"}'), 0)
})

t.test('a receiver that hangs does not slow decisions; the full buffer drops its oldest', async (t) => {
  const receiver = await startReceiver()
  t.teardown(() => receiver.close())
  receiver.setHanging(true)
  const app = await buildLoggingApp({
    authn: callers.authn,
    decisionLogs: {
      bufferMaxEvents: 20,
      http: { url: receiver.url, maxBatchEvents: 5, flushIntervalMs: 60_000, timeoutMs: 100, minRetryDelayMs: 5, maxRetryDelayMs: 20 }
    }
  })
  t.teardown(() => app.close())

  const ids = await decide(app, 5) // a full batch: its upload starts and hangs
  await receiver.waitForUploads(1)
  ids.push(...await decide(app, 55))
  t.equal(ids.length, 60, 'every decision was answered while the upload hung')
  t.equal(receiver.uploads.length, 0, 'and no upload got through meanwhile')
  t.ok(receiver.held >= 1, 'the receiver held the upload')
  await new Promise((resolve) => setImmediate(resolve)) // the last answered decisions are encoded on the next turn
  const stats = app.decisionLog.stats().http
  t.equal(stats?.buffered, 25, 'the buffer (20) plus the batch in flight (5)')
  t.equal(stats?.dropped, 35, 'the rest were dropped')
  t.equal(stats?.written, 0)

  const metrics = (await app.inject('/metrics')).body
  t.equal(metricValue(metrics, 'verdict_decision_log_dropped_total{sink="http"}'), 35)
  t.equal(metricValue(metrics, 'verdict_decision_log_buffered{sink="http"}'), 25)
  // The stuck upload times out (timeoutMs) and is retried: each timeout is a failure.
  while ((app.decisionLog.stats().http?.failures ?? 0) < 2) await new Promise((resolve) => setTimeout(resolve, 10))
  t.equal(receiver.uploads.length, 0, 'still nothing answered')
  const failures = app.decisionLog.stats().http?.failures ?? 0
  t.ok((metricValue((await app.inject('/metrics')).body, 'verdict_decision_log_failures_total{sink="http"}') ?? 0) >= failures,
    'timed-out uploads count as failures')

  receiver.setHanging(false)
  while (receiver.accepted().length < 25) await new Promise((resolve) => setTimeout(resolve, 10))
  t.same(receiver.accepted().map((e) => e.decision_id), [...ids.slice(0, 5), ...ids.slice(40)],
    'the batch in flight, then the newest 20: the oldest waiting events were the ones dropped')
})

t.test('closing with a hanging receiver keeps its deadline and counts what was not sent', async (t) => {
  const receiver = await startReceiver()
  t.teardown(() => receiver.close())
  receiver.setHanging(true)
  const app = await buildLoggingApp({
    authn: callers.authn,
    decisionLogs: { closeTimeoutMs: 200, http: { url: receiver.url, maxBatchEvents: 100, flushIntervalMs: 60_000, timeoutMs: 60_000 } }
  })
  await decide(app, 3)
  t.equal(receiver.held, 0, 'nothing sent yet: the batch is not full and the interval is long')
  await app.close() // resolves although the receiver never answers
  t.equal(receiver.held, 1, 'closing tried to upload what was buffered')
  t.match(app.decisionLog.stats().http, { written: 0, dropped: 3, buffered: 0 })
})

t.test('an unreachable receiver: failures are counted, decisions go on', async (t) => {
  const receiver = await startReceiver()
  const url = receiver.url
  await receiver.close() // nothing listens there any more
  const app = await buildLoggingApp({
    authn: callers.authn,
    decisionLogs: { closeTimeoutMs: 100, http: { url, maxBatchEvents: 1, minRetryDelayMs: 5, maxRetryDelayMs: 10 } }
  })
  await decide(app, 2)
  while ((app.decisionLog.stats().http?.failures ?? 0) < 2) await new Promise((resolve) => setTimeout(resolve, 5))
  await app.close()
  t.match(app.decisionLog.stats().http, { written: 0, dropped: 2 })
})

t.test('the receiver gets the bearer token from bearerTokenFile; no event carries it', async (t) => {
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const { randomBytes } = await import('node:crypto')
  const dir = await mkdtemp(join(tmpdir(), 'verdict-log-token-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const token = randomBytes(24).toString('base64url')
  const tokenFile = join(dir, 'token')
  await writeFile(tokenFile, token + '\n', { mode: 0o600 })

  const receiver = await startReceiver()
  t.teardown(() => receiver.close())
  const app = await buildLoggingApp({
    authn: callers.authn,
    decisionLogs: { http: { url: receiver.url, bearerTokenFile: tokenFile, maxBatchEvents: 2, flushIntervalMs: 20 } }
  })
  const ids = await decide(app, 2)
  await receiver.waitForUploads(1)
  await app.close()
  t.ok(receiver.uploads.length >= 1)
  for (const upload of receiver.uploads) t.equal(upload.headers.authorization, `Bearer ${token}`, 'every upload carries the token (trailing newline trimmed)')
  const received = receiver.uploads.flatMap((u) => u.events)
  t.same(received.map((e) => e.decision_id), ids)
  t.notOk(JSON.stringify(received).includes(token), 'the token is in no event')

  const bad: Array<[string, string | undefined]> = [
    ['a file that does not exist', undefined],
    ['an empty file', ''],
    ['two lines', 'a\nb']
  ]
  for (const [what, content] of bad) {
    const file = join(dir, what.replace(/ /g, '-'))
    if (content !== undefined) await writeFile(file, content)
    await t.rejects(buildLoggingApp({ decisionLogs: { http: { url: receiver.url, bearerTokenFile: file } } }),
      { code: 'CONFIG_INVALID', message: /\/decisionLogs\/http\/bearerTokenFile/ }, `${what} stops the start with the config path`)
  }
})
