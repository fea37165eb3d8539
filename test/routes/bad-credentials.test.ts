// Every kind of bad credential, through POST /v1/decide: a decision with status
// 401 and its own reason code — never an allow, never a 5xx, never the credential
// echoed back. Keys are generated at test time and served by a real JWKS server;
// the "elsewhere" server stands for an attacker's key URL and must see no request.
import t from 'tap'
import { craftToken, generateKey, hmacSignature, startJwksServer, tamperPayload } from '../helpers/jwks-server.js'
import { buildApp } from '../helpers/app.js'
import { startCallers } from '../helpers/callers.js'

const AUDIENCE = 'api://verdict'

t.test('bad credentials are 401 decisions with their own reason', async (t) => {
  const callers = await startCallers()
  const idp = await startJwksServer()
  const elsewhere = await startJwksServer()
  const app = await buildApp({
    authn: {
      ...callers.authn,
      issuers: [{ name: 'local', profile: 'oidc', issuer: idp.issuer, audience: AUDIENCE, jwksUri: idp.jwksUri, erpUserClaim: 'cmicuser' }]
    }
  })
  t.teardown(async () => { await app.close(); await idp.close(); await elsewhere.close(); await callers.close() })

  const now = Math.floor(Date.now() / 1000)
  const claims = { iss: idp.issuer, aud: AUDIENCE, client_id: 'procore-sync', sub: 'procore-sync', iat: now, nbf: now, exp: now + 600 }
  const key = idp.keys[0]!
  const good = idp.sign(claims)
  const basic = (raw: string): string => 'Basic ' + Buffer.from(raw).toString('base64')

  const cases: Array<[string, string, string]> = [
    ['expired', 'Bearer ' + idp.sign({ ...claims, iat: now - 7200, nbf: now - 7200, exp: now - 3600 }), 'token_expired'],
    ['not yet valid', 'Bearer ' + idp.sign({ ...claims, nbf: now + 3600, exp: now + 7200 }), 'token_not_yet_valid'],
    ['wrong audience', 'Bearer ' + idp.sign({ ...claims, aud: 'api://someone-else' }), 'audience_mismatch'],
    ['wrong issuer', 'Bearer ' + idp.sign({ ...claims, iss: 'https://login.evil.example/' }), 'issuer_untrusted'],
    ['alg none', 'Bearer ' + craftToken({ alg: 'none', typ: 'JWT', kid: key.kid }, claims), 'algorithm_none'],
    ['HS256 signed with the issuer public key', 'Bearer ' + craftToken({ alg: 'HS256', typ: 'JWT', kid: key.kid }, claims, hmacSignature(key.publicPem)), 'algorithm_symmetric'],
    ['unknown kid', 'Bearer ' + idp.sign(claims, { key: generateKey('RS256') }), 'key_not_found'],
    ['tampered payload', 'Bearer ' + tamperPayload(good, { cmicuser: 'ACME||SECADMIN' }), 'signature_invalid'],
    ['jku header pointing elsewhere', 'Bearer ' + idp.sign(claims, { header: { jku: elsewhere.jwksUri } }), 'token_header_forbidden'],
    ['x5u header pointing elsewhere', 'Bearer ' + idp.sign(claims, { header: { x5u: `${elsewhere.url}/cert.pem` } }), 'token_header_forbidden'],
    ['embedded jwk header', 'Bearer ' + idp.sign(claims, { header: { jwk: generateKey('RS256').publicJwk } }), 'token_header_forbidden'],
    ['token over 8 KiB', 'Bearer ' + idp.sign({ ...claims, padding: 'x'.repeat(9000) }), 'token_too_large'],
    ['not a JWT', 'Bearer not.a.jwt', 'token_header_invalid'],
    ['Basic that is not base64', 'Basic %%%not-base64%%%', 'basic_malformed'],
    ['Basic without a colon', basic('ACME||SVC_PAYROLL'), 'basic_malformed'],
    ['Basic with an empty user', basic(':secret'), 'basic_malformed'],
    ['wrong Basic secret', basic('ACME||SVC_HRWRITER:wrong-secret'), 'basic_invalid_credentials'],
    ['unknown Basic user', basic('ACME||NOBODY:whatever'), 'basic_invalid_credentials'],
    ['unsupported scheme', 'Digest username="x"', 'scheme_unsupported'],
    ['no credential', '', 'credential_missing']
  ]

  const seenBefore = idp.requests.jwks
  for (const [name, authorization, code] of cases) {
    t.test(name, async (t) => {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/decide',
        headers: authorization === '' ? {} : { authorization },
        payload: { request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob' } }
      })
      t.equal(res.statusCode, 200, 'a decision, not an error')
      const d = res.json()
      t.match(d, { allow: false, status: 401, principal: null, rows: { kind: 'none' } })
      t.same(d.reasons.map((r: { layer: string, code: string }) => `${r.layer}:${r.code}`), [`authentication:${code}`])
      const credential = authorization.split(' ')[1]
      if (credential && credential.length > 8) t.notOk(res.body.includes(credential), 'the credential is not echoed')
    })
  }

  t.test('the good token still works after all of that', async (t) => {
    const d = (await app.inject({
      method: 'POST',
      url: '/v1/decide',
      headers: { authorization: 'Bearer ' + good },
      payload: { request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob' } }
    })).json()
    t.match(d, { allow: true, status: 200, principal: { id: 'ACME||SVC_PROCORE' } })
  })

  // Queued after the cases above, so it counts what they caused.
  t.test('what the key servers saw', async (t) => {
    t.equal(elsewhere.requests.total, 0, 'no key was fetched from a URL found in a token')
    const fetches = idp.requests.jwks - seenBefore
    // The keys are fetched when the app starts; an unknown kid may refetch once.
    t.ok(fetches <= 1, `at most one refetch for the unknown kid (saw ${fetches})`)
  })
})
