// End to end over real HTTP: a real OIDC provider (oidc-provider) on loopback
// issues client-credentials tokens from its real token endpoint; Verdict listens
// on a loopback port, finds the issuer's keys through discovery and its JWKS, and
// decides with the example policies compiled to WebAssembly. A second, untrusted
// provider's token is refused.
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { buildApp } from '../helpers/app.js'
import { startOidcProvider } from '../helpers/oidc-provider.js'

const AUDIENCE = 'api://verdict'
const secret = (): string => randomBytes(24).toString('base64url')

t.test('decisions for tokens from a real OIDC provider', async (t) => {
  const procore = { clientId: 'procore-sync', clientSecret: secret(), scope: 'erp' }
  const powerbi = { clientId: 'powerbi-reader', clientSecret: secret(), scope: 'erp', claims: { cmicuser: 'ACME||SVC_POWERBI' } }
  const idp = await startOidcProvider({ audience: AUDIENCE, clients: [procore, powerbi] })
  const rogue = { clientId: 'procore-sync', clientSecret: secret(), scope: 'erp', claims: { cmicuser: 'ACME||SECADMIN' } }
  const untrusted = await startOidcProvider({ audience: AUDIENCE, clients: [rogue] })
  t.teardown(async () => { await idp.close(); await untrusted.close() })

  const app = await buildApp({
    authn: {
      issuers: [{ name: 'local', profile: 'oidc', issuer: idp.issuer, audience: AUDIENCE, discovery: idp.discoveryUrl, erpUserClaim: 'cmicuser' }]
    }
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const verdict = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

  const decide = async (token: string, body: object): Promise<Record<string, any>> => {
    const res = await fetch(`${verdict}/v1/decide`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body)
    })
    t.equal(res.status, 200, 'HTTP 200: a decision was made')
    return await res.json() as Record<string, any>
  }

  const procoreToken = await idp.tokenFor(procore.clientId, procore.clientSecret, 'erp')
  const powerbiToken = await idp.tokenFor(powerbi.clientId, powerbi.clientSecret, 'erp')

  t.test('an allowed retrieve', async (t) => {
    const d = await decide(procoreToken, {
      request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob/23-410' },
      resource: { company: '01', job: '23-410' }
    })
    t.match(d, { allow: true, status: 200, action: 'retrieve', endpoint: { module: 'jc', resource: 'jcjob' } })
    t.same(d.principal, { id: 'ACME||SVC_PROCORE', kind: 'service_account', idp: 'local' }, 'client id mapped to its ERP account')
    t.same(d.reasons.map((r: any) => r.code), ['role_grants_action', 'job_in_group'])
  })

  t.test('a denied create', async (t) => {
    const d = await decide(procoreToken, {
      request: { method: 'POST', path: '/cmictest/jc-rest-api/rest/1/jcjob' },
      resource: { company: '01', job: '23-410' }
    })
    t.match(d, { allow: false, status: 403, action: 'create' })
    t.same(d.reasons.map((r: any) => `${r.layer}:${r.code}`), ['api:action_not_granted'])
    t.same(d.rows, { kind: 'none' })
  })

  t.test('a filtered collection', async (t) => {
    const d = await decide(powerbiToken, {
      request: { method: 'GET', path: '/cmictest/pm-rest-api/rest/1/scmast', query: { limit: '500' } }
    })
    t.match(d, { allow: true, status: 200 })
    t.same(d.principal, { id: 'ACME||SVC_POWERBI', kind: 'service_account', idp: 'local' }, 'ERP user from the cmicuser claim')
    t.same(d.rows, {
      kind: 'conditional',
      filter: {
        type: 'compound',
        operator: 'or',
        value: [
          { type: 'compound', operator: 'and', value: [{ type: 'field', field: 'ScmstCompCode', operator: 'eq', value: '01' }, { type: 'field', field: 'ScmstJobCode', operator: 'in', value: ['23-410', '23-415', '23-502', '24-118'] }] },
          { type: 'compound', operator: 'and', value: [{ type: 'field', field: 'ScmstCompCode', operator: 'eq', value: '02' }, { type: 'field', field: 'ScmstJobCode', operator: 'in', value: ['23-812', '24-820'] }] }
        ]
      }
    })
  })

  t.test('401 for a token from an issuer that is not configured', async (t) => {
    const token = await untrusted.tokenFor(rogue.clientId, rogue.clientSecret, 'erp')
    const d = await decide(token, { request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob' } })
    t.match(d, { allow: false, status: 401, principal: null, rows: { kind: 'none' } })
    t.same(d.reasons, [{ layer: 'authentication', code: 'issuer_untrusted', message: 'the token issuer is not a trusted issuer' }])
  })

  t.test('health says which policy decides', async (t) => {
    const res = await fetch(`${verdict}/health`)
    t.equal(res.status, 200)
    t.match(await res.json(), { status: 'ready', policy: { revision: /\w+/, digest: /^sha256:/ } })
  })
})
