// Bad bearer tokens: each must come back ok:false with its OWN reason code,
// never a thrown error, and the message must not echo the token.
import t from 'tap'
import { generateKey, craftToken, hmacSignature, rs256Signature, startJwksServer, tamperPayload } from '../helpers/jwks-server.js'
import { AUDIENCE, bearer, buildApp, lifetime, nowSec, oidcIssuer } from './fixtures/app.js'

t.test('bad bearer tokens are refused with their own code', async (t) => {
  const idp = await startJwksServer()
  const attacker = await startJwksServer()
  t.teardown(() => Promise.all([idp.close(), attacker.close()]))
  const app = await buildApp({ issuers: [oidcIssuer(idp.issuer, idp.discoveryUrl, { algorithms: ['RS256', 'ES256'] })] })
  t.teardown(() => app.close())

  const key = idp.keys[0]!
  const good = { iss: idp.issuer, aud: AUDIENCE, client_id: 'svc', ...lifetime() }
  const rogueKey = generateKey('RS256', key.kid)
  const rs384 = generateKey('RS384')
  const ecKey = generateKey('ES256')

  // Warm the key cache so the table below measures the token, not the fetch.
  t.ok((await app.authenticate(bearer(idp.sign(good)))).ok, 'a good token passes')
  const jwksFetchesBefore = idp.requests.jwks

  const cases: Array<{ name: string, token: string, code: string }> = [
    { name: 'expired', token: idp.sign({ ...good, iat: nowSec() - 7200, nbf: nowSec() - 7200, exp: nowSec() - 3600 }), code: 'token_expired' },
    { name: 'expired beyond the 30 s tolerance', token: idp.sign({ ...good, exp: nowSec() - 45 }), code: 'token_expired' },
    { name: 'not yet valid', token: idp.sign({ ...good, nbf: nowSec() + 3600, exp: nowSec() + 7200 }), code: 'token_not_yet_valid' },
    { name: 'wrong audience', token: idp.sign({ ...good, aud: 'api://someone-else' }), code: 'audience_mismatch' },
    { name: 'one of several audiences is not enough if none match', token: idp.sign({ ...good, aud: ['a', 'b'] }), code: 'audience_mismatch' },
    { name: 'no audience at all', token: idp.sign({ iss: idp.issuer, client_id: 'svc', ...lifetime() }), code: 'audience_missing' },
    { name: 'no exp', token: idp.sign({ iss: idp.issuer, aud: AUDIENCE, client_id: 'svc', iat: nowSec() }), code: 'expiry_missing' },
    { name: 'exp not a number', token: craftToken({ alg: 'RS256', kid: key.kid }, { ...good, exp: 'tomorrow' }, rs256Signature(key)), code: 'claim_type_invalid' },
    { name: 'untrusted issuer', token: idp.sign({ ...good, iss: 'https://evil.example' }), code: 'issuer_untrusted' },
    { name: 'issuer differs by a trailing slash', token: idp.sign({ ...good, iss: `${idp.issuer}/` }), code: 'issuer_untrusted' },
    { name: 'no issuer', token: idp.sign({ aud: AUDIENCE, ...lifetime() }), code: 'issuer_missing' },
    { name: 'alg none', token: craftToken({ alg: 'none', typ: 'JWT', kid: key.kid }, good), code: 'algorithm_none' },
    { name: 'HS256 keyed with the issuer public key PEM', token: craftToken({ alg: 'HS256', kid: key.kid }, good, hmacSignature(key.publicPem)), code: 'algorithm_symmetric' },
    { name: 'an asymmetric algorithm the issuer does not use', token: idp.sign(good, { key: rs384 }), code: 'algorithm_not_allowed' },
    { name: 'no kid', token: idp.sign(good, { noKid: true }), code: 'kid_missing' },
    { name: 'kid over 256 characters', token: idp.sign(good, { kid: 'k'.repeat(257) }), code: 'kid_invalid' },
    { name: 'ES256 header naming the RSA key', token: idp.sign(good, { key: ecKey, kid: key.kid }), code: 'key_algorithm_mismatch' },
    { name: 'tampered payload', token: tamperPayload(idp.sign(good), { client_id: 'admin' }), code: 'signature_invalid' },
    { name: 'signed by another key under a published kid', token: idp.sign(good, { key: rogueKey }), code: 'signature_invalid' },
    { name: 'signature stripped', token: idp.sign(good).replace(/\.[^.]+$/, '.'), code: 'signature_missing' },
    { name: 'crit header', token: idp.sign(good, { header: { crit: ['exp'], exp: 1 } }), code: 'token_crit_unsupported' },
    { name: 'not a JWT', token: 'not-a-jwt', code: 'token_malformed' },
    { name: 'two segments', token: 'eyJhbGciOiJSUzI1NiJ9.e30', code: 'token_malformed' },
    { name: 'header not JSON', token: `${Buffer.from('{oops').toString('base64url')}.e30.sig`, code: 'token_header_invalid' },
    { name: 'payload is a JSON array', token: craftToken({ alg: 'RS256', kid: key.kid }, [] as unknown as Record<string, unknown>), code: 'token_payload_invalid' },
    { name: 'token over 8 KiB', token: idp.sign({ ...good, pad: 'x'.repeat(9000) }), code: 'token_too_large' }
  ]

  for (const c of cases) {
    const result = await app.authenticate(bearer(c.token))
    t.match(result, { ok: false, code: c.code }, c.name)
    if (!result.ok) t.notOk(result.message.includes(c.token.slice(0, 20)), `${c.name}: message does not echo the token`)
  }
  // Only the ES256-header case names a key (alg, kid) never seen: one fetch, no more.
  t.ok(idp.requests.jwks <= jwksFetchesBefore + 1, 'at most one extra JWKS fetch for the whole table')
})

t.test('key-pointing headers are refused before any fetch', async (t) => {
  const idp = await startJwksServer()
  const attacker = await startJwksServer()
  t.teardown(() => Promise.all([idp.close(), attacker.close()]))
  const app = await buildApp({ issuers: [oidcIssuer(idp.issuer, idp.discoveryUrl)] })
  t.teardown(() => app.close())

  const attackerKey = attacker.keys[0]!
  const claims = { iss: idp.issuer, aud: AUDIENCE, client_id: 'svc', ...lifetime() }
  const headers: Array<[string, Record<string, unknown>]> = [
    ['jku', { jku: attacker.jwksUri }],
    ['x5u', { x5u: `${attacker.url}/cert.pem` }],
    ['jwk', { jwk: attackerKey.publicJwk }],
    ['x5c', { x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'] }]
  ]
  for (const [name, header] of headers) {
    const token = attacker.sign(claims, { header })
    t.match(await app.authenticate(bearer(token)), { ok: false, code: 'token_header_forbidden' }, name)
  }
  t.equal(attacker.requests.total, 0, 'the server named in the token got zero requests')
  t.equal(idp.requests.total, 0, 'nor was the trusted issuer asked for keys')
})

t.test('empty bearer credential is malformed', async (t) => {
  const app = await buildApp({})
  t.teardown(() => app.close())
  t.match(await app.authenticate({ headers: { authorization: 'Bearer ' } }), { ok: false, code: 'token_malformed' })
  t.match(await app.authenticate({ headers: { authorization: 'Bearer' } }), { ok: false, code: 'token_malformed' })
})
