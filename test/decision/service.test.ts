// The decision service through the real app: both decision routes decide through
// it, every decision is recorded with the request it was made on — a batch item's
// own request, also when the credential failed — and one rule hides a 5xx's
// details for a whole request and for a batch item alike.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createDecisionService } from '../../src/decision/index.js'
import { HIDDEN_MESSAGE, publicError } from '../../src/decision/public-error.js'
import { PolicyEvaluationError, PolicyNotLoadedError, SqlDialectUnknownError } from '../../src/errors.js'
import { startCallers } from '../helpers/callers.js'
import { buildLoggingApp, readEvents } from '../decision-log/app.js'

const callers = await startCallers()
t.teardown(() => callers.close())

const JCJOB = '/cmictest/jc-rest-api/rest/1/jcjob'
const SCMAST = '/cmictest/pm-rest-api/rest/1/scmast/88'

t.test('a batch whose credential failed records each item with its own request', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-decision-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const path = join(dir, 'decisions.log')
  const app = await buildLoggingApp({ authn: callers.authn, decisionLogs: { file: { path } } })
  const items = [
    { id: 'a', request: { method: 'GET', path: JCJOB, query: { limit: '5' } } },
    { id: 'b', request: { method: 'DELETE', path: SCMAST }, resource: { ScmstCompCode: '01', ScmstJobCode: '23-410' } }
  ]
  const res = await app.inject({
    method: 'POST',
    url: '/v1/decide/batch',
    headers: { authorization: callers.header('payroll, wrong secret (basic)') },
    payload: { items }
  })
  t.equal(res.statusCode, 200)
  const results = res.json().results as Array<Record<string, any>>
  t.same(results.map((r) => [r.id, r.status]), [['a', 401], ['b', 401]])
  await app.close()
  const events = await readEvents(path)
  t.equal(events.length, 2, 'one event per item')
  t.same(events.map((e) => e.decision_id), results.map((r) => r.decision_id))
  t.same(events[0]?.input, { action: 'retrieve', endpoint: { module: 'jc', resource: 'jcjob' }, request: { method: 'GET', path: JCJOB, query: { limit: '5' } } })
  t.same(events[1]?.input, {
    action: 'delete',
    endpoint: { module: 'pm', resource: 'scmast' },
    request: { method: 'DELETE', path: SCMAST },
    resource: { ScmstCompCode: '01', ScmstJobCode: '23-410' }
  })
  t.same(events.map((e) => e.custom.policy_evaluated), [false, false])
})

t.test('the service: no policy is a 503, and the policy is read before authenticating', async (t) => {
  const calls: string[] = []
  const service = createDecisionService({
    currentPolicy: () => { calls.push('policy'); return undefined },
    authenticate: async () => { calls.push('authn'); return { ok: false, code: 'credential_missing', message: 'x' } as never },
    record: () => { calls.push('record') }
  })
  const request = { headers: {}, log: { error () {}, info () {} } } as never
  await t.rejects(service.decide(request, { request: { method: 'GET', path: JCJOB } }), { code: 'POLICY_NOT_LOADED', statusCode: 503 })
  await t.rejects(service.decideBatch(request, [{ request: { method: 'GET', path: JCJOB } }]), { code: 'POLICY_NOT_LOADED' })
  t.same(calls, ['policy', 'policy'], 'nothing authenticated, nothing recorded')
  await t.rejects(service.decide(request, { request: { method: 'GET', path: '/not/api' } }), { code: 'PATH_NOT_API', statusCode: 400 })
  t.same(calls, ['policy', 'policy'], 'a malformed request is refused before anything else')
})

t.test('one rule for what an error says', async (t) => {
  const internal = new PolicyEvaluationError('opa_abort at /srv/policies/x.rego:12')
  t.same(publicError(internal), { status: 500, body: { code: 'POLICY_EVALUATION_FAILED', message: HIDDEN_MESSAGE }, serverError: true }, 'a 5xx hides its details')
  t.same(publicError(new PolicyNotLoadedError()), { status: 503, body: { code: 'POLICY_NOT_LOADED', message: 'no policy is loaded yet' }, serverError: true }, 'fixed public text stays')
  t.match(publicError(new SqlDialectUnknownError('"x"', 'a, b')), { status: 400, body: { code: 'SQL_DIALECT_UNKNOWN', message: /"x"/ }, serverError: false }, 'a client error keeps its message')
  t.same(publicError('a bare string'), { status: 500, body: { code: 'INTERNAL_ERROR', message: HIDDEN_MESSAGE }, serverError: true }, 'whatever was thrown is a hidden 500')
  t.same(publicError({ statusCode: 200, message: 'odd' }), { status: 500, body: { code: 'INTERNAL_ERROR', message: HIDDEN_MESSAGE }, serverError: true }, 'never a 2xx for an error')
})
