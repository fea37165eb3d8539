// Client-credentials tokens in the claim shapes each identity provider really
// issues (see STACK-NOTES), signed by the test JWKS server, normalized into
// the Principal of docs/POLICY-CONTRACT.md.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { startJwksServer, type JwksServer } from '../helpers/jwks-server.js'
import type { IssuerConfigInput } from '../../src/authn/config.js'
import { AUDIENCE, bearer, buildApp, lifetime } from './fixtures/app.js'

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'
const OTHER_TENANT = 'f8cdef31-a31e-4b4a-93e4-5f571e91255a'
const ENTRA_V1 = `https://sts.windows.net/${TENANT}/`
const ENTRA_V2 = `https://login.microsoftonline.com/${TENANT}/v2.0`
const OKTA = 'https://acme.okta.com/oauth2/aus1a2b3c4d5e6f7g8h9'
const AUTH0 = 'https://acme.eu.auth0.com/'
const GOOGLE_SA = 'verdict-sync@acme-prod.iam.gserviceaccount.com'

function issuers (idp: JwksServer): IssuerConfigInput[] {
  const keys = { jwksUri: idp.jwksUri }
  return [
    { name: 'entra-v1', profile: 'entra-v1', issuer: ENTRA_V1, audience: AUDIENCE, tenant: TENANT, erpUserClaim: 'cmicuser', ...keys },
    { name: 'entra', profile: 'entra-v2', issuer: ENTRA_V2, audience: [AUDIENCE, 'api://verdict-staging'], tenant: TENANT, ...keys },
    { name: 'okta', profile: 'okta', issuer: OKTA, audience: AUDIENCE, ...keys },
    { name: 'google', profile: 'google', issuer: 'https://accounts.google.com', audience: AUDIENCE, allowedClients: [GOOGLE_SA, '100000000000000000002'], ...keys },
    { name: 'auth0', profile: 'auth0', issuer: AUTH0, audience: AUDIENCE, ...keys },
    { name: 'oidc', profile: 'oidc', issuer: idp.issuer, audience: AUDIENCE, discovery: idp.discoveryUrl, allowedClients: ['svc-a', 'svc-b'] }
  ]
}

const entraV1 = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  aud: AUDIENCE,
  iss: ENTRA_V1,
  ...lifetime(),
  aio: 'E2ZgYDhh',
  appid: '6f1c2a3b-0000-4000-8000-000000000001',
  appidacr: '1',
  idp: ENTRA_V1,
  idtyp: 'app',
  oid: '0a1b2c3d-0000-4000-8000-0000000000aa',
  rh: '0.AAAA',
  roles: ['Verdict.Read', 'Verdict.Write'],
  sub: '0a1b2c3d-0000-4000-8000-0000000000aa',
  tid: TENANT,
  uti: 'abc',
  ver: '1.0',
  cmicuser: 'ACME||SVC_PROCORE',
  ...extra
})

const entraV2 = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  aud: AUDIENCE,
  iss: ENTRA_V2,
  ...lifetime(),
  azp: '6f1c2a3b-0000-4000-8000-000000000002',
  azpacr: '1',
  idtyp: 'app',
  oid: '0a1b2c3d-0000-4000-8000-0000000000bb',
  roles: ['Verdict.Read'],
  sub: '0a1b2c3d-0000-4000-8000-0000000000bb',
  tid: TENANT,
  ver: '2.0',
  ...extra
})

t.test('each profile normalizes its claims', async (t) => {
  const idp = await startJwksServer()
  t.teardown(() => idp.close())
  const app = await buildApp({ issuers: issuers(idp) })
  t.teardown(() => app.close())
  // Entra puts x5t beside kid in the header.
  const entraHeader = { header: { typ: 'JWT', x5t: idp.keys[0]!.kid } }

  const cases: Array<{ name: string, token: string, principal: Record<string, unknown> }> = [
    {
      name: 'Entra ID v1 (appid, tenant, ERP user claim)',
      token: idp.sign(entraV1(), entraHeader),
      principal: { method: 'jwt', idp: 'entra-v1', issuer: ENTRA_V1, subject: '6f1c2a3b-0000-4000-8000-000000000001', client_id: '6f1c2a3b-0000-4000-8000-000000000001', tenant: TENANT, erp_user: 'ACME||SVC_PROCORE', roles: ['Verdict.Read', 'Verdict.Write'], scopes: [] }
    },
    {
      name: 'Entra ID v1 without the optional idtyp claim and without scp',
      token: idp.sign(entraV1({ idtyp: undefined }), entraHeader),
      principal: { idp: 'entra-v1', client_id: '6f1c2a3b-0000-4000-8000-000000000001' }
    },
    {
      name: 'Entra ID v2 (azp), second configured audience',
      token: idp.sign(entraV2({ aud: 'api://verdict-staging' }), entraHeader),
      principal: { method: 'jwt', idp: 'entra', issuer: ENTRA_V2, subject: '6f1c2a3b-0000-4000-8000-000000000002', client_id: '6f1c2a3b-0000-4000-8000-000000000002', tenant: TENANT, roles: ['Verdict.Read'], scopes: [] }
    },
    {
      name: 'Okta custom authorization server (cid, scp array)',
      token: idp.sign({ ver: 1, jti: 'AT.x', iss: OKTA, aud: AUDIENCE, ...lifetime(), cid: '0oa1b2c3d4', scp: ['erp.read', 'erp.write'], sub: '0oa1b2c3d4' }),
      principal: { method: 'jwt', idp: 'okta', issuer: OKTA, subject: '0oa1b2c3d4', client_id: '0oa1b2c3d4', roles: [], scopes: ['erp.read', 'erp.write'] }
    },
    {
      name: 'Google ID token of an allowed service account (email)',
      token: idp.sign({ iss: 'https://accounts.google.com', aud: AUDIENCE, azp: '100000000000000000001', sub: '100000000000000000001', email: GOOGLE_SA, email_verified: true, ...lifetime() }),
      principal: { method: 'jwt', idp: 'google', issuer: 'https://accounts.google.com', subject: '100000000000000000001', client_id: GOOGLE_SA, roles: [], scopes: [] }
    },
    {
      name: 'Google ID token with the scheme-less issuer, allowed by sub',
      token: idp.sign({ iss: 'accounts.google.com', aud: AUDIENCE, sub: '100000000000000000002', ...lifetime() }),
      principal: { idp: 'google', issuer: 'accounts.google.com', subject: '100000000000000000002', client_id: '100000000000000000002' }
    },
    {
      name: 'Auth0 (azp, sub {client}@clients, gty)',
      token: idp.sign({ iss: AUTH0, sub: 'Xy12AbCd@clients', aud: AUDIENCE, ...lifetime(), azp: 'Xy12AbCd', gty: 'client-credentials', scope: 'read:jobs write:jobs' }),
      principal: { method: 'jwt', idp: 'auth0', issuer: AUTH0, subject: 'Xy12AbCd', client_id: 'Xy12AbCd', roles: [], scopes: ['read:jobs', 'write:jobs'] }
    },
    {
      name: 'plain OIDC (client_id, scope string)',
      token: idp.sign({ iss: idp.issuer, aud: AUDIENCE, ...lifetime(), client_id: 'svc-a', sub: 'svc-a', scope: 'erp.read', jti: randomUUID() }, { header: { typ: 'at+jwt' } }),
      principal: { method: 'jwt', idp: 'oidc', issuer: idp.issuer, subject: 'svc-a', client_id: 'svc-a', roles: [], scopes: ['erp.read'] }
    },
    {
      name: 'plain OIDC falling back to azp',
      token: idp.sign({ iss: idp.issuer, aud: AUDIENCE, ...lifetime(), azp: 'svc-b', roles: ['reader', 7] }),
      principal: { client_id: 'svc-b', roles: ['reader'], scopes: [] }
    }
  ]

  for (const c of cases) {
    const result = await app.authenticate(bearer(c.token))
    t.match(result, { ok: true, principal: c.principal }, c.name)
    if (result.ok && 'method' in c.principal) t.same(result.principal, c.principal, `${c.name}: exactly these fields`)
  }
})

t.test('profile checks refuse the wrong caller', async (t) => {
  const idp = await startJwksServer()
  t.teardown(() => idp.close())
  const app = await buildApp({ issuers: issuers(idp) })
  t.teardown(() => app.close())

  const cases: Array<{ name: string, claims: Record<string, unknown>, code: string }> = [
    { name: 'Entra token of another tenant under our issuer', claims: entraV2({ tid: OTHER_TENANT }), code: 'tenant_mismatch' },
    { name: 'Entra token without tid', claims: entraV1({ tid: undefined }), code: 'tenant_mismatch' },
    { name: 'Entra issuer of another tenant', claims: entraV2({ iss: `https://login.microsoftonline.com/${OTHER_TENANT}/v2.0`, tid: OTHER_TENANT }), code: 'issuer_untrusted' },
    { name: 'Entra user token (idtyp user)', claims: entraV2({ idtyp: 'user', scp: 'User.Read' }), code: 'token_not_client_credentials' },
    { name: 'Entra user token without idtyp (scp present)', claims: entraV1({ idtyp: undefined, scp: 'user_impersonation' }), code: 'token_not_client_credentials' },
    { name: 'Entra v2 token without azp', claims: entraV2({ azp: undefined }), code: 'client_id_missing' },
    { name: 'Okta user token (sub is a user)', claims: { iss: OKTA, aud: AUDIENCE, ...lifetime(), cid: '0oa1', sub: 'jane@acme.com', scp: ['openid'] }, code: 'token_not_client_credentials' },
    { name: 'Okta token without cid', claims: { iss: OKTA, aud: AUDIENCE, ...lifetime(), sub: '0oa1' }, code: 'client_id_missing' },
    { name: 'Google caller not in allowedClients', claims: { iss: 'https://accounts.google.com', aud: AUDIENCE, sub: '199999999999999999999', email: 'someone@gmail.com', email_verified: true, ...lifetime() }, code: 'client_not_allowed' },
    { name: 'Google allowed email that Google has not verified', claims: { iss: 'https://accounts.google.com', aud: AUDIENCE, sub: '199999999999999999999', email: GOOGLE_SA, email_verified: false, ...lifetime() }, code: 'email_not_verified' },
    { name: 'Google allowed email without email_verified', claims: { iss: 'https://accounts.google.com', aud: AUDIENCE, sub: '199999999999999999999', email: GOOGLE_SA, ...lifetime() }, code: 'email_not_verified' },
    { name: 'Google allowed email with email_verified "false" (a string)', claims: { iss: 'https://accounts.google.com', aud: AUDIENCE, sub: '199999999999999999999', email: GOOGLE_SA, email_verified: 'false', ...lifetime() }, code: 'email_not_verified' },
    { name: 'Google allowed email with email_verified "true" (a string, not the boolean)', claims: { iss: 'https://accounts.google.com', aud: AUDIENCE, sub: '199999999999999999999', email: GOOGLE_SA, email_verified: 'true', ...lifetime() }, code: 'email_not_verified' },
    { name: 'Google token without sub', claims: { iss: 'https://accounts.google.com', aud: AUDIENCE, email: GOOGLE_SA, ...lifetime() }, code: 'client_id_missing' },
    { name: 'Auth0 user token (no gty)', claims: { iss: AUTH0, sub: 'auth0|123', aud: AUDIENCE, ...lifetime(), azp: 'Xy12AbCd', scope: 'openid' }, code: 'token_not_client_credentials' },
    { name: 'Auth0 token without azp', claims: { iss: AUTH0, sub: 'x@clients', aud: AUDIENCE, ...lifetime(), gty: 'client-credentials' }, code: 'client_id_missing' },
    { name: 'OIDC client outside allowedClients', claims: { iss: idp.issuer, aud: AUDIENCE, ...lifetime(), client_id: 'svc-z' }, code: 'client_not_allowed' },
    { name: 'OIDC token naming no client', claims: { iss: idp.issuer, aud: AUDIENCE, ...lifetime() }, code: 'client_id_missing' }
  ]
  for (const c of cases) {
    t.match(await app.authenticate(bearer(idp.sign(c.claims))), { ok: false, code: c.code }, c.name)
  }
})

t.test('a verified token is cached until it expires', async (t) => {
  const idp = await startJwksServer()
  t.teardown(() => idp.close())
  let offsetMs = 0
  const app = await buildApp({ issuers: issuers(idp) }, { now: () => Date.now() + offsetMs })
  t.teardown(() => app.close())

  const token = idp.sign(entraV2({ exp: Math.floor(Date.now() / 1000) + 120 }))
  const first = await app.authenticate(bearer(token))
  const fetches = idp.requests.jwks
  const second = await app.authenticate(bearer(token))
  t.ok(first.ok && second.ok)
  t.equal(app.authnCounters.jwtVerifications, 1, 'the signature was verified once')
  t.equal(app.authnCounters.jwtCacheHits, 1)
  t.equal(idp.requests.jwks, fetches, 'no key lookup on the second call')
  if (second.ok) t.ok(Object.isFrozen(second.principal), 'the cached principal cannot be changed by a caller')

  // Past exp the cached result is gone; the token itself then fails (within
  // fast-jwt's own clock, which the offset does not move, it is still valid).
  offsetMs = 121_000
  await app.authenticate(bearer(token))
  t.equal(app.authnCounters.jwtVerifications, 2, 'after exp the token is verified again')
})

t.test('erp_user is taken only from a usable string claim', async (t) => {
  const idp = await startJwksServer()
  t.teardown(() => idp.close())
  const app = await buildApp({ issuers: issuers(idp) })
  t.teardown(() => app.close())
  for (const cmicuser of [42, '', 'x'.repeat(300)]) {
    const result = await app.authenticate(bearer(idp.sign(entraV1({ cmicuser }))))
    t.ok(result.ok && !('erp_user' in result.principal), `cmicuser ${JSON.stringify(cmicuser).slice(0, 12)} → omitted`)
  }
})
