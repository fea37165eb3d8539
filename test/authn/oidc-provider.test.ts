// End to end against a real OpenID provider on loopback: its token endpoint
// issues a client-credentials JWT, and the authenticator verifies it through
// discovery → JWKS exactly as in production.
import t from 'tap'
import { startOidcProvider } from '../helpers/oidc-provider.js'
import { AUDIENCE, bearer, buildApp } from './fixtures/app.js'

t.test('a token from oidc-provider authenticates through discovery', async (t) => {
  const idp = await startOidcProvider({
    audience: AUDIENCE,
    clients: [
      { clientId: 'procore-sync', clientSecret: 'procore-sync-secret-0123456789abcdef', scope: 'erp.read erp.write', claims: { cmicuser: 'ACME||SVC_PROCORE' } },
      { clientId: 'bi-reader', clientSecret: 'bi-reader-secret-0123456789abcdef', scope: 'erp.read' }
    ]
  })
  t.teardown(() => idp.close())

  const app = await buildApp({
    issuers: [{ name: 'local-idp', profile: 'oidc', issuer: idp.issuer, audience: AUDIENCE, discovery: idp.discoveryUrl, erpUserClaim: 'cmicuser' }]
  })
  t.teardown(() => app.close())

  const token = await idp.tokenFor('procore-sync', 'procore-sync-secret-0123456789abcdef', 'erp.read erp.write')
  const header = JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString()) as Record<string, unknown>
  t.equal(header.typ, 'at+jwt', 'oidc-provider issues RFC 9068 access tokens')

  t.same(await app.authenticate(bearer(token)), {
    ok: true,
    principal: {
      method: 'jwt',
      idp: 'local-idp',
      issuer: idp.issuer,
      subject: 'procore-sync',
      client_id: 'procore-sync',
      erp_user: 'ACME||SVC_PROCORE',
      roles: [],
      scopes: ['erp.read', 'erp.write']
    }
  })

  const other = await idp.tokenFor('bi-reader', 'bi-reader-secret-0123456789abcdef')
  const result = await app.authenticate(bearer(other))
  t.ok(result.ok)
  if (result.ok) {
    t.equal(result.principal.client_id, 'bi-reader')
    t.notOk('erp_user' in result.principal, 'no cmicuser claim → erp_user omitted, not null')
  }

  await t.rejects(idp.tokenFor('bi-reader', 'wrong-secret'), /401|invalid_client/, 'the real token endpoint checks the secret')
})
