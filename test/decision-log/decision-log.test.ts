// Decision-log events through the real app: one OPA-shaped event per decision,
// the policy input exactly as evaluated, no credential anywhere, masking and
// erasure from configuration, and the console sink's JSON lines.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { VERSION } from '../../src/decision-log/index.js'
import { startCallers, type CallerName } from '../helpers/callers.js'
import { buildLoggingApp, jcjobList, readEvents } from './app.js'

const callers = await startCallers()
t.teardown(() => callers.close())

async function tempLog (t: { teardown: (fn: () => unknown) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-dlog-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return join(dir, 'decisions.log')
}

const scBody = {
  request: { method: 'GET', path: '/cmictest/pm-rest-api/rest/1/scmast/88' },
  resource: { ScmstCompCode: '01', ScmstJobCode: '23-410' }
}

t.test('one event per decision in OPA decision-log shape', async (t) => {
  const path = await tempLog(t)
  const app = await buildLoggingApp({ authn: callers.authn, decisionLogs: { file: { path }, labels: { env: 'test', region: 'eu' } } })
  const cases: Array<[CallerName, object]> = [
    ['power bi (entra)', jcjobList],
    ['procore (local)', scBody],
    ['payroll (basic)', jcjobList],
    ['payroll, wrong secret (basic)', scBody],
    ['none', jcjobList]
  ]
  const answers: Array<Record<string, any>> = []
  for (const [caller, body] of cases) {
    const headers = caller === 'none' ? {} : { authorization: callers.header(caller) }
    const res = await app.inject({ method: 'POST', url: '/v1/decide', headers, payload: body })
    t.equal(res.statusCode, 200)
    answers.push(res.json())
  }
  await app.close()

  const events = await readEvents(path)
  t.equal(events.length, cases.length, 'one event per decision')
  events.forEach((event, i) => {
    const answer = answers[i] as Record<string, any>
    const [caller, body] = cases[i] as [CallerName, Record<string, any>]
    t.test(`${caller}: ${String(answer.status)}`, async (t) => {
      t.equal(event.decision_id, answer.decision_id, 'the decision id the caller got')
      t.same(event.labels, { env: 'test', region: 'eu', id: app.decisionLog.instanceId, version: VERSION })
      t.same(event.bundles, { verdict: { revision: answer.policy.revision, digest: answer.policy.digest } })
      t.equal(event.path, 'verdict/decision')
      t.same(event.result, { allow: answer.allow, status: answer.status, principal: answer.principal, reasons: answer.reasons, rows: answer.rows })
      t.equal(new Date(event.timestamp).toISOString(), event.timestamp, 'RFC 3339 timestamp (UTC, ms)')
      t.ok(Number.isInteger(event.metrics.timer_server_handler_ns) && event.metrics.timer_server_handler_ns > 0, 'handler timer in ns')
      if (event.custom.policy_evaluated) {
        t.ok(Number.isInteger(event.metrics.timer_rego_query_eval_ns) && event.metrics.timer_rego_query_eval_ns > 0, 'evaluation timer in ns')
        t.ok(event.metrics.timer_rego_query_eval_ns < event.metrics.timer_server_handler_ns, 'the evaluation is part of the request')
      } else {
        t.notOk('timer_rego_query_eval_ns' in event.metrics, 'no evaluation timer when the policy was not evaluated')
      }
      t.equal(event.requested_by, '127.0.0.1')
      t.match(event.custom, { request_id: /^req-/ })
      t.notOk('erased' in event || 'masked' in event, 'nothing configured, nothing listed')
      if (answer.status === 401) {
        t.equal(event.custom.policy_evaluated, false, 'says the policy was not evaluated')
        t.same(event.input, { action: 'retrieve', endpoint: answer.endpoint, request: body.request, ...(body.resource ? { resource: body.resource } : {}) },
          'the request part only: no principal')
      } else {
        t.equal(event.custom.policy_evaluated, true)
        t.same(Object.keys(event.input).sort(), ['action', 'endpoint', 'principal', 'request', ...(body.resource ? ['resource'] : [])].sort())
        t.same(event.input.request, body.request)
        t.same(event.input.resource, body.resource)
        t.match(event.input.endpoint, { env: 'cmictest', module: answer.endpoint.module, resource: answer.endpoint.resource, version: '1' })
        t.match(event.input.principal, { method: caller.includes('basic') ? 'basic' : 'jwt', subject: String, roles: Array, scopes: Array })
      }
    })
  })
})

t.test('credentials never enter an event (real Basic and JWT callers)', async (t) => {
  const path = await tempLog(t)
  const app = await buildLoggingApp({ authn: callers.authn, decisionLogs: { file: { path } } })
  const names: CallerName[] = ['payroll (basic)', 'hr writer (basic)', 'payroll, wrong secret (basic)', 'power bi (entra)',
    'procore (local)', 'security admin (local)', 'unknown erp user (local)', 'payroll named by a token (local)']
  const secretBits: string[] = []
  for (const name of names) {
    const header = callers.header(name)
    const credential = header.slice(header.indexOf(' ') + 1)
    secretBits.push(header, credential)
    if (header.startsWith('Basic ')) {
      const decoded = Buffer.from(credential, 'base64').toString('utf8')
      secretBits.push(decoded.slice(decoded.indexOf(':') + 1))
    } else {
      secretBits.push(...credential.split('.').slice(1)) // JWT payload and signature
    }
    const body = { request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob', query: { limit: '5', access_token: credential, password: 'hunter2-query' } } }
    const res = await app.inject({ method: 'POST', url: '/v1/decide', headers: { authorization: header }, payload: body })
    t.equal(res.statusCode, 200)
  }
  secretBits.push('hunter2-query')
  await app.close()
  const text = await readFile(path, 'utf8')
  const events = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>)
  t.equal(events.length, names.length)
  for (const bit of secretBits) t.notOk(text.includes(bit), `absent: ${bit.slice(0, 12)}…`)
  t.notOk(/authorization|bearer|basic /i.test(text), 'no Authorization header or scheme')
  for (const event of events) {
    t.same(event.erased, ['/input/request/query/access_token', '/input/request/query/password'], 'the scrubbed query parameters are listed')
    t.same(event.input.request.query, { limit: '5' })
  }
})

t.test('configured masking and erasure; the answer itself is untouched', async (t) => {
  const path = await tempLog(t)
  const app = await buildLoggingApp({
    authn: callers.authn,
    decisionLogs: {
      file: { path },
      mask: ['/input/resource/ScmstJobCode', '/result/rows/filter', '/input/resource/VouJobCode'],
      erase: ['/input/principal/roles', '/input/request/query']
    }
  })
  const res = await app.inject({ method: 'POST', url: '/v1/decide', headers: { authorization: callers.header('power bi (entra)') }, payload: jcjobList })
  const list = res.json()
  t.equal(list.rows.kind, 'conditional')
  t.ok(list.rows.filter, 'the response keeps its filter')
  const one = (await app.inject({ method: 'POST', url: '/v1/decide', headers: { authorization: callers.header('procore (local)') }, payload: scBody })).json()
  await app.close()

  const [listEvent, oneEvent] = await readEvents(path) as [Record<string, any>, Record<string, any>]
  t.equal(listEvent.result.rows.filter, '**MASKED**')
  t.equal(listEvent.result.rows.kind, 'conditional')
  t.notOk('roles' in listEvent.input.principal)
  t.notOk('query' in listEvent.input.request)
  t.same(listEvent.masked, ['/result/rows/filter'], 'only paths that existed are listed')
  t.same(listEvent.erased, ['/input/principal/roles', '/input/request/query'])

  t.equal(oneEvent.input.resource.ScmstJobCode, '**MASKED**')
  t.equal(oneEvent.input.resource.ScmstCompCode, '01')
  t.same(oneEvent.erased, ['/input/principal/roles'])
  t.same(oneEvent.masked, ['/input/resource/ScmstJobCode', ...(one.rows.filter ? ['/result/rows/filter'] : [])])
})

t.test('the console sink writes one JSON event per line to standard output', async (t) => {
  const app = await buildLoggingApp({ authn: callers.authn, decisionLogs: { console: true } })
  const captured: string[] = []
  const write = process.stdout.write.bind(process.stdout)
  // Capture only decision-log lines; tap's own output goes through.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = chunk.toString()
    if (text.startsWith('{"decision_id"')) { captured.push(text); return true }
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest)
  }) as typeof process.stdout.write
  t.teardown(() => { process.stdout.write = write })
  const ids: string[] = []
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({ method: 'POST', url: '/v1/decide', headers: { authorization: callers.header('payroll (basic)') }, payload: jcjobList })
    ids.push(res.json().decision_id)
  }
  await app.close()
  process.stdout.write = write
  const lines = captured.join('').split('\n').filter(Boolean)
  t.same(lines.map((l) => (JSON.parse(l) as { decision_id: string }).decision_id), ids)
  t.match(app.decisionLog.stats(), { console: { written: 3, dropped: 0 } })
})

t.test('no sink configured: decisions are still answered and counted, no events built', async (t) => {
  const app = await buildLoggingApp({ authn: callers.authn, decisionLogs: {} })
  const res = await app.inject({ method: 'POST', url: '/v1/decide', headers: { authorization: callers.header('payroll (basic)') }, payload: jcjobList })
  t.equal(res.statusCode, 200)
  t.same(app.decisionLog.stats(), {})
  t.match((await app.inject('/metrics')).body, /verdict_decisions_total\{result="deny",status="403",layer="api"\} 1/)
  await app.close()
})

t.test('decision-log configuration is validated', async (t) => {
  const { parseConfig } = await import('../../src/config.js')
  const base = { policy: { dir: '/x' } }
  t.throws(() => parseConfig({ ...base, decisionLogs: { mask: ['input/x'] } }), { code: 'CONFIG_INVALID' }, 'pointers start with /input or /result')
  t.throws(() => parseConfig({ ...base, decisionLogs: { mask: ['/principal/x'] } }), { code: 'CONFIG_INVALID' })
  t.throws(() => parseConfig({ ...base, decisionLogs: { http: { url: 'ftp://x' } } }), { code: 'CONFIG_INVALID' })
  t.throws(() => parseConfig({ ...base, decisionLogs: { file: { path: 'x', maxByte: 10 } } }), { code: 'CONFIG_INVALID' }, 'unknown keys are errors')
  const c = parseConfig({ ...base, decisionLogs: { file: { path: 'd.log' }, http: { url: 'http://127.0.0.1:9/logs' } } })
  t.match(c.decisionLogs, { console: false, bufferMaxEvents: 10000, file: { maxBytes: 104857600, maxFiles: 5 }, http: { maxBatchEvents: 500, timeoutMs: 10000 } })
})
