// The client against the real app listening on loopback (real HTTP, real
// credentials, real policy), and against real loopback servers that misbehave:
// one that never answers, one that stalls after the headers, one that answers
// what is not a decision, and a port nobody listens on. Every failure is a
// VerdictClientError with its own code (and the HTTP status when there was one);
// none of them ever comes back as a decision, let alone an allow.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import t from 'tap'
import { applyRows } from '../../packages/client/src/kysely.js'
import { createVerdictClient, isBatchItemError, VerdictClientError, type Decision, type VerdictClient } from '../../packages/client/src/index.js'
import type { Decision as EngineDecision } from '../../src/engine/decide.js'
import { buildApp } from '../helpers/app.js'
import { startCallers } from '../helpers/callers.js'

const JCJOB = '/cmictest/jc-rest-api/rest/1/jcjob'
const TIMESHEETS = '/cmictest/hcm-rest-api/rest/1/pyemptimesheet'

const callers = await startCallers()
t.teardown(() => callers.close())
const app = await buildApp({ authn: callers.authn })
t.teardown(() => app.close())
const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' })
const client = createVerdictClient({ baseUrl, timeoutMs: 5000 })

/** A real loopback HTTP server with the given behaviour. */
async function startServer (handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string, server: Server, close: () => Promise<void> }> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

async function rejection (promise: Promise<unknown>): Promise<VerdictClientError> {
  try {
    const value = await promise
    throw new Error(`expected a VerdictClientError, got ${JSON.stringify(value)}`)
  } catch (err) {
    if (!(err instanceof VerdictClientError)) throw err
    return err
  }
}

t.test('the client\'s Decision type is what the engine answers', async (t) => {
  // Checked by the compiler: the client declares its types on its own (it must
  // not load server code), so a drift from the engine's type fails the build.
  const fits: EngineDecision extends Decision ? true : false = true
  t.equal(fits, true)
})

t.test('decide: allow, with the row filter and its SQL', async (t) => {
  const d = await client.decide(callers.header('power bi (entra)'), { request: { method: 'GET', path: JCJOB }, sql: 'postgresql' })
  t.equal(d.allow, true)
  t.equal(d.status, 200)
  t.match(d.principal, { id: 'ACME||SVC_POWERBI', idp: 'entra' })
  t.equal(d.rows.kind, 'conditional')
  t.match(d.rows.sql, { dialect: 'postgresql', where: /"job_comp_code" = \$1/ })
  t.ok(d.rows.sql?.params.includes('01'), 'values travel in params')
  t.match(d.decision_id, /^[0-9a-f-]{36}$/)
})

t.test('decide, then the Kysely helper on the decision (the docs/API.md flow)', async (t) => {
  const raw = new Database(':memory:')
  raw.exec('CREATE TABLE jcjob (id INTEGER PRIMARY KEY, job_comp_code TEXT, job_code TEXT)')
  const jobs: Array<[string, string]> = [['01', '23-410'], ['01', '24-101'], ['02', '23-812'], ['02', '23-410'], ['03', '23-812']]
  jobs.forEach(([c, j], i) => raw.prepare('INSERT INTO jcjob VALUES (?, ?, ?)').run(i + 1, c, j))
  const db = new Kysely<{ jcjob: { id: number, job_comp_code: string, job_code: string } }>({ dialect: new SqliteDialect({ database: raw }) })
  t.teardown(() => db.destroy())
  const decision = await client.decide(callers.header('power bi (entra)'), { request: { method: 'GET', path: JCJOB } })
  t.equal(decision.allow, true)
  const rows = await applyRows(db.selectFrom('jcjob').select(['job_comp_code', 'job_code']).orderBy('id'), decision.rows, {
    columns: { JobCompCode: 'job_comp_code', JobCode: 'job_code' }
  }).execute()
  // HEALTHCARE in 01, WATER in 02: 23-410 of 02 and anything of 03 stay out.
  t.same(rows, [{ job_comp_code: '01', job_code: '23-410' }, { job_comp_code: '02', job_code: '23-812' }])
})

t.test('decide: a deny and a failed credential are decisions, not errors', async (t) => {
  const denied = await client.decide(callers.header('payroll (basic)'), { request: { method: 'GET', path: JCJOB } })
  t.match(denied, { allow: false, status: 403, rows: { kind: 'none' } })
  const record = await client.decide(callers.header('procore (local)'), { request: { method: 'GET', path: `${JCJOB}/24-101` }, resource: { company: '01', job: '24-101' } })
  t.match(record, { allow: false, status: 403, reasons: [{ layer: 'api' }, { layer: 'application', code: 'job_not_in_groups' }] })
  const anonymous = await client.decide(undefined, { request: { method: 'GET', path: JCJOB } })
  t.match(anonymous, { allow: false, status: 401, principal: null, reasons: [{ layer: 'authentication', code: 'credential_missing' }] })
  const empty = await client.decide('', { request: { method: 'GET', path: JCJOB } })
  t.equal(empty.status, 401, 'an empty header is no credential')
  const wrong = await client.decide(callers.header('payroll, wrong secret (basic)'), { request: { method: 'GET', path: TIMESHEETS } })
  t.match(wrong, { allow: false, status: 401 })
})

t.test('decide: each kind of bad request is a typed error with the server\'s code and status', async (t) => {
  const auth = callers.header('power bi (entra)')
  const cases: Array<{ name: string, body: unknown, code: string, status: number }> = [
    { name: 'not an API path', body: { request: { method: 'GET', path: '/etc/passwd' } }, code: 'PATH_NOT_API', status: 400 },
    { name: 'unknown method', body: { request: { method: 'TRACE', path: JCJOB } }, code: 'METHOD_UNKNOWN', status: 400 },
    { name: 'unknown SQL dialect', body: { request: { method: 'GET', path: JCJOB }, sql: 'oracle' }, code: 'SQL_DIALECT_UNKNOWN', status: 400 },
    { name: 'unknown field', body: { request: { method: 'GET', path: JCJOB }, extra: 1 }, code: 'REQUEST_INVALID', status: 400 },
    { name: 'no request', body: {}, code: 'REQUEST_INVALID', status: 400 }
  ]
  for (const c of cases) {
    const err = await rejection(client.decide(auth, c.body as never))
    t.equal(err.code, c.code, `${c.name}: code`)
    t.equal(err.status, c.status, `${c.name}: status`)
    t.ok(err.message.length > 0, `${c.name}: message`)
    t.equal(err.name, 'VerdictClientError')
  }
})

t.test('a wrong base path is a 404 error', async (t) => {
  const err = await rejection(createVerdictClient({ baseUrl: baseUrl + '/verdict/' }).decide(undefined, { request: { method: 'GET', path: JCJOB } }))
  t.match(err, { code: 'NOT_FOUND', status: 404 })
})

t.test('a Verdict without a policy answers 503: an error, never a decision', async (t) => {
  // A policy directory whose Rego does not compile: the app starts, decisions answer 503.
  const dir = await mkdtemp(join(tmpdir(), 'verdict-broken-policy-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeFile(join(dir, 'broken.rego'), 'package verdict\n\ndecision := {\n')
  const broken = await buildApp({ authn: callers.authn, policy: { dir } })
  t.teardown(() => broken.close())
  const url = await broken.listen({ port: 0, host: '127.0.0.1' })
  const err = await rejection(createVerdictClient({ baseUrl: url }).decide(callers.header('power bi (entra)'), { request: { method: 'GET', path: JCJOB } }))
  t.match(err, { code: 'POLICY_NOT_LOADED', status: 503 })
})

t.test('a server that never answers times out', async (t) => {
  let requests = 0
  const hanging = await startServer(() => { requests++ }) // reads the request, never responds
  t.teardown(hanging.close)
  const slow = createVerdictClient({ baseUrl: hanging.url, timeoutMs: 300 })
  const err = await rejection(slow.decide(callers.header('power bi (entra)'), { request: { method: 'GET', path: JCJOB } }))
  t.equal(err.code, 'TIMEOUT')
  t.equal(err.status, undefined, 'no HTTP status: there was no answer')
  t.match(err.message, /300 ms/)
  t.equal(requests, 1, 'the request did reach the server')
  const batchErr = await rejection(slow.decideBatch(undefined, [{ request: { method: 'GET', path: JCJOB } }]))
  t.equal(batchErr.code, 'TIMEOUT')
})

t.test('a server that stalls after the headers times out', async (t) => {
  const stalling = await startServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.write('{"allow": tr') // and nothing more
  })
  t.teardown(stalling.close)
  const err = await rejection(createVerdictClient({ baseUrl: stalling.url, timeoutMs: 300 }).decide(undefined, { request: { method: 'GET', path: JCJOB } }))
  t.equal(err.code, 'TIMEOUT')
})

t.test('nobody listening is a network error', async (t) => {
  const gone = await startServer(() => {})
  await gone.close()
  const err = await rejection(createVerdictClient({ baseUrl: gone.url }).decide(undefined, { request: { method: 'GET', path: JCJOB } }))
  t.equal(err.code, 'NETWORK_ERROR')
  t.equal(err.status, undefined)
  t.match(err.message, /ECONNREFUSED/)
})

t.test('an answer that is not a decision is an error, never an allow', async (t) => {
  const answers: Array<{ name: string, status: number, body: string, code: string }> = [
    { name: '200 that is not JSON', status: 200, body: 'allow', code: 'RESPONSE_INVALID' },
    { name: 'allow without status', status: 200, body: JSON.stringify({ allow: true }), code: 'RESPONSE_INVALID' },
    { name: 'allow with status 403', status: 200, body: JSON.stringify({ decision_id: 'x', allow: true, status: 403, reasons: [], rows: { kind: 'all' } }), code: 'RESPONSE_INVALID' },
    { name: 'allow as a string', status: 200, body: JSON.stringify({ decision_id: 'x', allow: 'true', status: 200, reasons: [], rows: { kind: 'all' } }), code: 'RESPONSE_INVALID' },
    { name: 'no decision_id', status: 200, body: JSON.stringify({ allow: true, status: 200, reasons: [], rows: { kind: 'all' } }), code: 'RESPONSE_INVALID' },
    { name: 'no reasons', status: 200, body: JSON.stringify({ decision_id: 'x', allow: true, status: 200, rows: { kind: 'all' } }), code: 'RESPONSE_INVALID' },
    { name: 'rows of an unknown kind', status: 200, body: JSON.stringify({ decision_id: 'x', allow: true, status: 200, reasons: [], rows: { kind: 'some' } }), code: 'RESPONSE_INVALID' },
    { name: 'JSON null', status: 200, body: 'null', code: 'RESPONSE_INVALID' },
    { name: '500 with an HTML page', status: 500, body: '<html>oops</html>', code: 'HTTP_500' },
    { name: '502 from a proxy with a JSON error', status: 502, body: JSON.stringify({ code: 'BAD_GATEWAY', message: 'upstream down' }), code: 'BAD_GATEWAY' },
    { name: '204 without a body', status: 204, body: '', code: 'HTTP_204' }
  ]
  let next = answers[0]
  const liar = await startServer((req, res) => {
    req.resume()
    res.writeHead(next?.status ?? 500, { 'content-type': 'application/json' })
    res.end(next?.status === 204 ? undefined : next?.body)
  })
  t.teardown(liar.close)
  const c = createVerdictClient({ baseUrl: liar.url })
  for (const a of answers) {
    next = a
    const err = await rejection(c.decide(undefined, { request: { method: 'GET', path: JCJOB } }))
    t.equal(err.code, a.code, a.name)
    t.equal(err.status, a.status, `${a.name}: status`)
  }
  next = { name: 'batch of the wrong length', status: 200, body: JSON.stringify({ results: [] }), code: '' }
  t.match(await rejection(c.decideBatch(undefined, [{ request: { method: 'GET', path: JCJOB } }])), { code: 'RESPONSE_INVALID' })
  next = { name: 'batch without results', status: 200, body: JSON.stringify({}), code: '' }
  t.match(await rejection(c.decideBatch(undefined, [])), { code: 'RESPONSE_INVALID' })
  next = { name: 'batch with a malformed decision', status: 200, body: JSON.stringify({ results: [{ allow: true }] }), code: '' }
  t.match(await rejection(c.decideBatch(undefined, [{ request: { method: 'GET', path: JCJOB } }])), { code: 'RESPONSE_INVALID', message: /result 0/ })
  next = { name: 'batch with a malformed error', status: 200, body: JSON.stringify({ results: [{ error: 'no' }] }), code: '' }
  t.match(await rejection(c.decideBatch(undefined, [{ request: { method: 'GET', path: JCJOB } }])), { code: 'RESPONSE_INVALID' })
})

t.test('the request the client sends', async (t) => {
  const seen: Array<{ url: string | undefined, method: string | undefined, headers: IncomingMessage['headers'], body: string }> = []
  const recorder = await startServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => { body += chunk })
    req.on('end', () => {
      seen.push({ url: req.url, method: req.method, headers: req.headers, body })
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(req.url === '/prefix/v1/decide/batch'
        ? { results: [{ error: { code: 'REQUEST_INVALID', message: 'bad item' }, id: 'a' }] }
        : { decision_id: 'd', allow: false, status: 403, principal: null, action: 'retrieve', endpoint: { module: 'jc', resource: 'jcjob' }, reasons: [], rows: { kind: 'none' }, policy: { revision: 'r', digest: 'd' } }))
    })
  })
  t.teardown(recorder.close)
  let fetched = 0
  const counting: typeof fetch = async (input, init) => { fetched++; return await fetch(input, init) }
  const c = createVerdictClient({ baseUrl: recorder.url + '/prefix/', fetch: counting })
  await c.decide('Bearer abc', { request: { method: 'GET', path: JCJOB }, resource: { company: '01' } })
  const results = await c.decideBatch('Basic xyz', [{ id: 'a', request: { method: 'GET', path: 'bad' } }])
  t.equal(fetched, 2, 'the fetch option is used')
  t.match(seen[0], { url: '/prefix/v1/decide', method: 'POST', headers: { authorization: 'Bearer abc', 'content-type': 'application/json' } })
  t.same(JSON.parse(seen[0]?.body ?? ''), { request: { method: 'GET', path: JCJOB }, resource: { company: '01' } })
  t.match(seen[1], { url: '/prefix/v1/decide/batch', headers: { authorization: 'Basic xyz' } })
  t.same(JSON.parse(seen[1]?.body ?? ''), { items: [{ id: 'a', request: { method: 'GET', path: 'bad' } }] })
  t.ok(results[0] !== undefined && isBatchItemError(results[0]), 'an item error is typed as one')
  await c.decide(undefined, { request: { method: 'GET', path: JCJOB } })
  t.equal(seen[2]?.headers.authorization, undefined, 'no credential, no Authorization header')
})

t.test('bad client configuration and usage fail at once', async (t) => {
  const bad: Array<{ name: string, make: () => VerdictClient }> = [
    { name: 'not a URL', make: () => createVerdictClient({ baseUrl: 'verdict.internal' }) },
    { name: 'no URL at all', make: () => createVerdictClient(undefined as never) },
    { name: 'not http', make: () => createVerdictClient({ baseUrl: 'file:///etc' }) },
    { name: 'credentials in the URL', make: () => createVerdictClient({ baseUrl: 'http://u:p@127.0.0.1' }) },
    { name: 'a query in the URL', make: () => createVerdictClient({ baseUrl: 'http://127.0.0.1/?x=1' }) },
    { name: 'timeout 0', make: () => createVerdictClient({ baseUrl, timeoutMs: 0 }) },
    { name: 'timeout not an integer', make: () => createVerdictClient({ baseUrl, timeoutMs: 1.5 }) }
  ]
  for (const b of bad) t.throws(b.make, { name: 'VerdictClientError', code: 'CLIENT_CONFIG_INVALID' }, b.name)
  t.match(await rejection(client.decideBatch(undefined, 'items' as never)), { code: 'CLIENT_USAGE' })
})

t.test('decideBatch: in order, one credential, errors per item', async (t) => {
  const items = [
    { id: 'jobs', request: { method: 'GET', path: JCJOB }, sql: 'sqlite' as const },
    { id: 'broken', request: { method: 'GET', path: '/not/an/api' } },
    { id: 'record', request: { method: 'GET', path: `${JCJOB}/24-101` }, resource: { company: '01', job: '24-101' } },
    { request: { method: 'GET', path: '/cmictest/ap-rest-api/rest/1/apvoucher' } }
  ]
  const results = await client.decideBatch(callers.header('power bi (entra)'), items)
  t.equal(results.length, 4)
  const [jobs, broken, record, vouchers] = results
  t.ok(jobs !== undefined && !isBatchItemError(jobs) && jobs.allow && jobs.rows.sql?.dialect === 'sqlite', 'a collection with SQL')
  t.match(broken, { error: { code: 'PATH_NOT_API' }, id: 'broken' })
  t.ok(record !== undefined && !isBatchItemError(record) && !record.allow && record.status === 403, 'a denied record')
  t.ok(vouchers !== undefined && !isBatchItemError(vouchers) && vouchers.allow, 'a fourth decision')
  const ids = results.filter((r) => !isBatchItemError(r)).map((r) => (r as { decision_id: string }).decision_id)
  t.equal(new Set(ids).size, 3, 'each decision has its own decision_id')

  const tooMany = Array.from({ length: 101 }, () => ({ request: { method: 'GET', path: JCJOB } }))
  t.match(await rejection(client.decideBatch(callers.header('power bi (entra)'), tooMany)), { status: 400 })
  const hundred = await client.decideBatch(callers.header('power bi (entra)'), tooMany.slice(0, 100))
  t.equal(hundred.length, 100, '100 items are fine')
  t.match(await rejection(client.decideBatch(callers.header('power bi (entra)'), [])), { status: 400 }, 'an empty batch is a 400')
  const numbered = await client.decideBatch(callers.header('power bi (entra)'), [{ id: 7, request: { method: 'GET', path: JCJOB } }])
  t.match(numbered, [{ id: 7, allow: true }], 'a numeric id is echoed on the decision')
})
