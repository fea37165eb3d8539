// The decision table: real credentials (Basic secrets and JWTs made at test time,
// keys served by a real JWKS server) against the example policies in policies/,
// through POST /v1/decide. Every role, a deny from each layer, Basic and JWT
// callers, collections with their exact row filters, and single records.
import t from 'tap'
import { buildApp } from '../helpers/app.js'
import { startCallers } from '../helpers/callers.js'
import { cases } from './cases.js'

t.test('decision table', async (t) => {
  const callers = await startCallers()
  const app = await buildApp({ authn: callers.authn })
  t.teardown(async () => { await app.close(); await callers.close() })

  t.ok(cases.length >= 40, `${cases.length} cases`)
  for (const c of cases) {
    const [module, resource, id] = c.endpoint.split('/') as [string, string, string?]
    const name = `${c.caller} ${c.method} ${c.endpoint}${c.resource ? ' ' + JSON.stringify(c.resource) : ''}`
    t.test(name, async (t) => {
      const headers: Record<string, string> = { 'content-type': 'application/json' }
      if (c.caller !== 'none') headers.authorization = callers.header(c.caller)
      const res = await app.inject({
        method: 'POST',
        url: '/v1/decide',
        headers,
        payload: {
          request: { method: c.method, path: `/cmictest/${module}-rest-api/rest/1/${resource}${id ? '/' + id : ''}` },
          ...(c.resource ? { resource: c.resource } : {})
        }
      })
      t.equal(res.statusCode, 200, 'a decision was made')
      const d = res.json()
      t.equal(d.status, c.status, 'status')
      t.equal(d.allow, c.status === 200, 'allow agrees with status')
      t.same(d.reasons.map((r: { layer: string, code: string }) => `${r.layer}:${r.code}`), c.reasons, 'reasons')
      for (const r of d.reasons) t.ok(r.message.length > 10, `reason ${r.code} explains itself`)
      t.same(d.endpoint, { module, resource }, 'endpoint')
      t.match(d.decision_id, /^[0-9a-f-]{36}$/, 'decision_id')
      t.match(d.policy, { revision: /\w+/, digest: /^sha256:[0-9a-f]{64}$/ }, 'policy identity')
      if (c.principal !== undefined) t.same(d.principal, c.principal, 'principal')
      if (c.status !== 200) t.same(d.rows, { kind: 'none' }, 'a deny shows no rows')
      if (c.rows === 'all' || c.rows === 'none') t.same(d.rows, { kind: c.rows }, 'rows')
      else if (c.rows !== undefined) t.same(d.rows, { kind: 'conditional', filter: c.rows }, 'row filter')
    })
  }
})
