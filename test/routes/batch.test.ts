// POST /v1/decide/batch with real callers (Basic secrets and JWTs made at test
// time) against the example policies: malformed items get their own error while
// the others are decided, results keep the order of the items with distinct
// decision_ids, each decision equals what /v1/decide answers for the same item,
// the credential is checked once, and the batch bounds are 400s.
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import t from 'tap'
import verdictApp from '../../src/app.js'
import { buildApp, testConfig } from '../helpers/app.js'
import { startCallers, type CallerName, type Callers } from '../helpers/callers.js'

const BATCH = '/v1/decide/batch'
const path = (module: string, resource: string, id?: string): string => `/cmictest/${module}-rest-api/rest/1/${resource}${id ? '/' + id : ''}`
const JCJOB = path('jc', 'jcjob')
const fixture = (name: string): string => new URL(`../fixtures/${name}`, import.meta.url).pathname

interface Result {
  id?: string | number
  error?: { code: string, message: string }
  decision_id?: string
  status?: number
  allow?: boolean
  reasons?: Array<{ layer: string, code: string, message: string }>
  rows?: { kind: string, filter?: unknown, sql?: { dialect: string, where: string, params: unknown[] } }
  endpoint?: { module: string, resource: string }
}

// The app registered without encapsulation (as server.ts's plugin would be
// with fastify-plugin), so the test can read the authentication counters.
async function buildVisibleApp (callers: Callers): Promise<FastifyInstance> {
  const config = testConfig({ authn: callers.authn })
  const app = Fastify({ logger: false, bodyLimit: config.server.bodyLimitBytes })
  await app.register(fp(verdictApp, { name: 'verdict-under-test' }), { config })
  await app.ready()
  return app
}

function headersOf (callers: Callers, caller: CallerName): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (caller !== 'none') headers.authorization = callers.header(caller)
  return headers
}

t.test('batch decisions', async (t) => {
  const callers = await startCallers()
  const app = await buildVisibleApp(callers)
  t.teardown(async () => { await app.close(); await callers.close() })

  const batch = async (caller: CallerName, payload: unknown): Promise<{ statusCode: number, body: any }> => {
    const res = await app.inject({ method: 'POST', url: BATCH, headers: headersOf(callers, caller), payload: JSON.stringify(payload) })
    return { statusCode: res.statusCode, body: res.json() }
  }
  const single = async (caller: CallerName, payload: unknown): Promise<Result> => {
    const res = await app.inject({ method: 'POST', url: '/v1/decide', headers: headersOf(callers, caller), payload: JSON.stringify(payload) })
    t.equal(res.statusCode, 200, 'the single decision is made')
    return res.json()
  }

  t.test('malformed items get their own error; the others are decided, in order', async (t) => {
    interface ItemCase { name: string, item: unknown, error?: { code: string, message: RegExp }, id?: string | number, check?: (r: Result) => void }
    const items: ItemCase[] = [
      {
        name: 'collection with SQL',
        item: { id: 'bi-jobs', request: { method: 'GET', path: JCJOB }, sql: 'postgresql' },
        id: 'bi-jobs',
        check: (r) => {
          t.equal(r.status, 200)
          t.equal(r.rows?.kind, 'conditional')
          t.equal(r.rows?.sql?.dialect, 'postgresql')
          t.match(r.rows?.sql?.where, /"job_comp_code" = \$1/)
          t.same(r.rows?.sql?.params, ['01', '23-410', '23-415', '23-502', '24-118', '02', '23-812', '24-820'])
        }
      },
      { name: 'request without path', item: { id: 2, request: { method: 'GET' } }, id: 2, error: { code: 'REQUEST_INVALID', message: /^items\/1\/request\/path: / } },
      { name: 'unknown method', item: { request: { method: 'OPTIONS', path: JCJOB } }, error: { code: 'METHOD_UNKNOWN', message: /OPTIONS/ } },
      {
        name: 'single record outside the groups',
        item: { id: 'rec', request: { method: 'GET', path: path('jc', 'jcjob', '24-101') }, resource: { company: '01', job: '24-101' } },
        id: 'rec',
        check: (r) => {
          t.equal(r.status, 403)
          t.equal(r.allow, false)
          // the reason names the job and the caller's groups
          t.same(r.reasons?.[1], { layer: 'application', code: 'job_not_in_groups', message: "job 24-101 of company 01 is in none of the caller's job security groups (COMMERCIAL, HEALTHCARE)" })
          t.same(r.rows, { kind: 'none' })
        }
      },
      { name: 'path outside the API', item: { request: { method: 'GET', path: '/admin/users' } }, error: { code: 'PATH_NOT_API', message: /admin/ } },
      { name: 'unknown SQL dialect', item: { id: 'o', request: { method: 'GET', path: JCJOB }, sql: 'oracle' }, id: 'o', error: { code: 'SQL_DIALECT_UNKNOWN', message: /"oracle" is not one of postgresql, mysql, sqlite, sqlserver/ } },
      { name: 'item that is not an object', item: 42, error: { code: 'REQUEST_INVALID', message: /^items\/6: / } },
      { name: 'malformed id is not echoed', item: { id: { x: 1 }, request: { method: 'GET', path: JCJOB } }, error: { code: 'REQUEST_INVALID', message: /^items\/7\/id: / } },
      { name: 'unknown property', item: { request: { method: 'GET', path: JCJOB }, allow: true }, error: { code: 'REQUEST_INVALID', message: /^items\/8/ } },
      {
        name: 'single record in a group, as the object\'s own fields, with SQL',
        item: { request: { method: 'GET', path: path('pm', 'scmast', 'SC-1') }, resource: { ScmstCompCode: '02', ScmstJobCode: '23-812' }, sql: 'sqlserver' },
        check: (r) => {
          t.equal(r.status, 200)
          t.match(r.reasons?.[1], { code: 'job_in_group', message: /job 23-812 of company 02 is in the caller's job security group WATER/ })
          // A record's rows: its company and its own job, not the caller's whole filter.
          t.match(r.rows?.sql, { dialect: 'sqlserver', where: '([scmst_comp_code] = @p1 AND [scmst_job_code] IN (@p2))', params: ['02', '23-812'] })
        }
      },
      { name: 'query value that is not a string', item: { request: { method: 'GET', path: JCJOB, query: { limit: 5 } } }, error: { code: 'REQUEST_INVALID', message: /^items\/10\/request\/query\/limit: / } }
    ]
    const { statusCode, body } = await batch('power bi (entra)', { items: items.map((c) => c.item) })
    t.equal(statusCode, 200, 'the batch is answered')
    t.same(Object.keys(body), ['results'])
    const results = body.results as Result[]
    t.equal(results.length, items.length, 'one result per item')
    const decided = results.filter((r) => !('error' in r))
    t.equal(decided.length, items.filter((c) => !c.error).length, 'every well-formed item is decided')
    t.equal(new Set(decided.map((r) => r.decision_id)).size, decided.length, 'distinct decision_ids')
    for (const [i, c] of items.entries()) {
      const r = results[i] as Result
      t.test(`item ${i}: ${c.name}`, async (t) => {
        if (c.id !== undefined) t.equal(r.id, c.id, 'id echoed')
        else t.notOk('id' in r, 'no id')
        if (c.error) {
          t.same(Object.keys(r).filter((k) => k !== 'id'), ['error'], 'only an error')
          t.equal(r.error?.code, c.error.code, 'code')
          t.match(r.error?.message, c.error.message, 'message')
          return
        }
        t.notOk('error' in r)
        t.match(r.decision_id, /^[0-9a-f-]{36}$/)
        c.check?.(r)
        // the same item through /v1/decide gets the same decision
        const { id: _id, ...request } = c.item as Record<string, unknown>
        const alone = await single('power bi (entra)', request)
        const { decision_id: _a, id: _b, ...fromBatch } = r
        const { decision_id: _c, ...fromSingle } = alone
        t.same(fromBatch, fromSingle, 'same decision as /v1/decide')
      })
    }
  })

  t.test('100 items are decided in order with one authentication', async (t) => {
    const jobs = ['23-410', '23-415', '23-502', '24-101', '24-118', '24-205']
    const items = Array.from({ length: 100 }, (_, i) => {
      const job = jobs[i % jobs.length] as string
      return { id: i, request: { method: 'GET', path: path('jc', 'jcjob', job) }, resource: { company: '01', job }, sql: 'sqlite' }
    })
    const before = app.authnCounters.basicAccepted
    const { statusCode, body } = await batch('payroll (basic)', { items })
    t.equal(statusCode, 200)
    t.equal(app.authnCounters.basicAccepted, before + 1, 'the credential was checked once')
    const results = body.results as Result[]
    t.equal(results.length, 100)
    t.same(results.map((r) => r.id), items.map((i) => i.id), 'in the order of the items')
    t.equal(new Set(results.map((r) => r.decision_id)).size, 100, '100 distinct decision_ids')
    // Payroll may not retrieve jobs at all (its role grants timesheets): every item says so.
    for (const [i, r] of results.entries()) {
      t.equal(r.status, 403, `item ${i} status`)
      t.same(r.rows, { kind: 'none', sql: { dialect: 'sqlite', where: '1=0', params: [] } }, `item ${i} rows`)
    }
    // And a caller who may: each record's own answer, in place.
    const bi = await batch('power bi (entra)', { items })
    const expected = (job: string): number => ['23-410', '23-415', '23-502', '24-118'].includes(job) ? 200 : 403
    t.same((bi.body.results as Result[]).map((r) => r.status), items.map((i) => expected(i.resource.job)), 'each item decided on its own record')
  })

  t.test('101 items is a 400', async (t) => {
    const items = Array.from({ length: 101 }, () => ({ request: { method: 'GET', path: JCJOB } }))
    const { statusCode, body } = await batch('power bi (entra)', { items })
    t.equal(statusCode, 400)
    t.same(body, { code: 'BATCH_TOO_LARGE', message: 'a batch holds at most 100 items; this one has 101' })
  })

  t.test('a failed credential makes every item a 401 decision', async (t) => {
    for (const caller of ['payroll, wrong secret (basic)', 'none'] as CallerName[]) {
      const items = [
        { id: 'a', request: { method: 'GET', path: JCJOB }, sql: 'mysql' },
        { request: { method: 'GET', path: path('pm', 'scmast') } },
        { request: { method: 'GET', path: path('jc', 'jcjob', '23-410') }, resource: { company: '01', job: '23-410' } }
      ]
      const { statusCode, body } = await batch(caller, { items })
      t.equal(statusCode, 200, `${caller}: HTTP 200, like /v1/decide`)
      const results = body.results as Result[]
      t.equal(results.length, 3)
      const code = caller === 'none' ? 'credential_missing' : 'basic_invalid_credentials'
      for (const r of results) {
        t.equal(r.status, 401)
        t.equal(r.allow, false)
        t.match(r.reasons, [{ layer: 'authentication', code }])
      }
      t.same(results[0]?.rows, { kind: 'none', sql: { dialect: 'mysql', where: '1=0', params: [] } }, 'SQL of a 401 selects nothing')
      t.equal(new Set(results.map((r) => r.decision_id)).size, 3, 'distinct decision_ids')
    }
  })

  t.test('malformed batches are 400s with { code, message }', async (t) => {
    const cases: Array<{ name: string, payload: string, code: string, message: RegExp }> = [
      { name: 'empty items', payload: JSON.stringify({ items: [] }), code: 'BATCH_EMPTY', message: /1 to 100/ },
      { name: 'missing items', payload: JSON.stringify({}), code: 'REQUEST_INVALID', message: /items/ },
      { name: 'items not an array', payload: JSON.stringify({ items: { request: {} } }), code: 'REQUEST_INVALID', message: /items/ },
      { name: 'a single request instead of a batch', payload: JSON.stringify({ request: { method: 'GET', path: JCJOB } }), code: 'REQUEST_INVALID', message: /.+/ },
      { name: 'body that is an array', payload: JSON.stringify([{ request: { method: 'GET', path: JCJOB } }]), code: 'REQUEST_INVALID', message: /.+/ },
      { name: 'invalid JSON', payload: '{"items": [', code: 'INVALID_JSON', message: /.+/ }
    ]
    for (const c of cases) {
      const res = await app.inject({ method: 'POST', url: BATCH, headers: headersOf(callers, 'power bi (entra)'), payload: c.payload })
      t.equal(res.statusCode, 400, `${c.name}: status`)
      const body = res.json()
      t.equal(body.code, c.code, `${c.name}: code`)
      t.match(body.message, c.message, `${c.name}: message`)
      t.notOk('results' in body, `${c.name}: nothing decided`)
    }
  })

  t.test('the batch body limit is its own', async (t) => {
    // 100 items near the single-request limit fit (16 x 64 KiB = 1 MiB) ...
    const item = { request: { method: 'GET', path: JCJOB, query: { q: 'x'.repeat(4000) } } }
    const fits = { items: Array.from({ length: 100 }, () => item) }
    t.ok(JSON.stringify(fits).length > 64 * 1024, 'larger than a single request may be')
    const ok = await batch('power bi (entra)', fits)
    t.equal(ok.statusCode, 200)
    t.equal(ok.body.results.length, 100)
    // ... and a body over 1 MiB is a 413 naming the batch limit.
    const res = await app.inject({ method: 'POST', url: BATCH, headers: headersOf(callers, 'power bi (entra)'), payload: JSON.stringify({ items: [item], pad: 'x'.repeat(1024 * 1024) }) })
    t.equal(res.statusCode, 413)
    t.same(res.json(), { code: 'BODY_TOO_LARGE', message: `request body is larger than ${1024 * 1024} bytes` })
  })
})

t.test('batch without a loaded policy is a 503, not a list of decisions', async (t) => {
  const app = await buildApp({ policy: { dir: fixture('wasm-unsupported'), entrypoint: 'fixture/decision' } })
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'POST', url: BATCH, payload: { items: [{ request: { method: 'GET', path: JCJOB } }] } })
  t.equal(res.statusCode, 503)
  t.same(res.json(), { code: 'POLICY_NOT_LOADED', message: 'no policy is loaded yet' })
})

t.test('an engine failure on one item is that item\'s error; the others are decided', async (t) => {
  const callers = await startCallers()
  const app = await buildApp({ authn: callers.authn, policy: { dir: fixture('engine-faults'), entrypoint: 'fixture/decision' } })
  t.teardown(async () => { await app.close(); await callers.close() })
  const items = ['anything', 'malformed', 'conflict', 'other'].map((resource, id) => ({ id, request: { method: 'GET', path: path('jc', resource) } }))
  const res = await app.inject({ method: 'POST', url: BATCH, headers: headersOf(callers, 'payroll (basic)'), payload: { items } })
  t.equal(res.statusCode, 200)
  const results = res.json().results as Result[]
  t.match(results[0], { id: 0, allow: false, status: 403, reasons: [{ code: 'policy_undefined' }] }, 'undefined result: a deny')
  for (const i of [1, 2]) {
    t.same(results[i], { id: i, error: { code: 'POLICY_EVALUATION_FAILED', message: 'the decision could not be made; see the service log' } }, `item ${i}: no internals, no decision`)
  }
  t.match(results[3], { id: 3, allow: false, status: 403 }, 'the item after the failures is decided')
})
