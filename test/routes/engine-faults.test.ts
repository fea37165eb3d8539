// What the calling service sees when the policy itself fails: an undefined result
// is a 403 deny said plainly; a malformed result or a runtime abort is a 500 whose
// details stay in the log. Never an allow.
import t from 'tap'
import { startCallers } from '../helpers/callers.js'
import { buildApp } from '../helpers/app.js'

t.test('engine faults through POST /v1/decide', async (t) => {
  const callers = await startCallers()
  const app = await buildApp({
    authn: callers.authn,
    policy: { dir: new URL('../fixtures/engine-faults', import.meta.url).pathname, entrypoint: 'fixture/decision' }
  })
  t.teardown(async () => { await app.close(); await callers.close() })

  const decide = (resource: string) => app.inject({
    method: 'POST',
    url: '/v1/decide',
    headers: { authorization: callers.header('payroll (basic)') },
    payload: { request: { method: 'GET', path: `/cmictest/jc-rest-api/rest/1/${resource}` } }
  })

  const undefinedResult = await decide('anything')
  t.equal(undefinedResult.statusCode, 200)
  t.match(undefinedResult.json(), {
    allow: false,
    status: 403,
    principal: { id: 'ACME||SVC_PAYROLL', kind: 'unknown', idp: 'basic' },
    reasons: [{ layer: 'policy', code: 'policy_undefined' }],
    rows: { kind: 'none' }
  })

  for (const resource of ['malformed', 'conflict']) {
    const res = await decide(resource)
    t.equal(res.statusCode, 500, `${resource}: 500`)
    t.same(res.json(), { code: 'POLICY_EVALUATION_FAILED', message: 'the decision could not be made; see the service log' },
      `${resource}: no internals, no decision`)
  }
})
