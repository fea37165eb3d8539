// The token attack matrix, through POST /v1/decide of the real app: every
// attack is a decision with status 401 and ITS OWN reason code (two different
// attacks never share a code, no attack falls through to a generic one), never
// an allow, never a 5xx, never the token echoed back. Keys are generated at
// test time and published by real JWKS servers on loopback; each token is
// otherwise valid (signed by the issuer's own key where a signature matters),
// so the refusal is owed to the attack alone.
import t from 'tap'
import { craftToken, generateKey, hmacSignature, rs256Signature, startJwksServer, tamperPayload, type TestKey } from '../helpers/jwks-server.js'
import { buildApp } from '../helpers/app.js'

t.setTimeout(120_000)
const AUDIENCE = 'api://verdict'
const TENANT = '4c6b7a1e-2f0d-4e8a-9b3c-5d1e7f9a0b2c'
const ENTRA_ISSUER = `https://login.microsoftonline.com/${TENANT}/v2.0`
const GOOGLE_ISSUER = 'https://accounts.google.com'
const GOOGLE_CALLER = 'erp-sync@acme-prod.iam.gserviceaccount.com'

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64url')
/** A token from raw JSON texts, for what JSON.stringify cannot write (duplicate members, lone surrogates). */
function rawToken (headerJson: string, payloadJson: string, sign?: (input: string) => string): string {
  const input = `${b64(headerJson)}.${b64(payloadJson)}`
  return `${input}.${sign !== undefined ? sign(input) : ''}`
}

interface Attack {
  /** the kind of attack; each kind has one code of its own */
  attack: string
  variant: string
  token: string
  code: string
}

t.test('token attack matrix: each attack is a 401 with its own code', async (t) => {
  const local = await startJwksServer()
  const entra = await startJwksServer({ issuer: ENTRA_ISSUER })
  const google = await startJwksServer({ issuer: GOOGLE_ISSUER })
  const down = await startJwksServer()
  const elsewhere = await startJwksServer()
  down.setFailStatus(503)
  const app = await buildApp({
    authn: {
      issuers: [
        { name: 'local', profile: 'oidc', issuer: local.issuer, audience: AUDIENCE, discovery: local.discoveryUrl, erpUserClaim: 'cmicuser' },
        { name: 'entra', profile: 'entra-v2', issuer: ENTRA_ISSUER, tenant: TENANT, audience: AUDIENCE, jwksUri: entra.jwksUri },
        { name: 'google', profile: 'google', issuer: GOOGLE_ISSUER, audience: AUDIENCE, jwksUri: google.jwksUri, allowedClients: [GOOGLE_CALLER] },
        { name: 'down', profile: 'oidc', issuer: down.issuer, audience: AUDIENCE, jwksUri: down.jwksUri }
      ]
    }
  })
  t.teardown(async () => {
    await app.close()
    await Promise.all([local.close(), entra.close(), google.close(), down.close(), elsewhere.close()])
  })

  const now = Math.floor(Date.now() / 1000)
  const life = { iat: now, nbf: now, exp: now + 600 }
  const key = local.keys[0]!
  const claims = { iss: local.issuer, aud: AUDIENCE, client_id: 'procore-sync', sub: 'procore-sync', ...life }
  const good = local.sign(claims)
  // fast-jwt's signer refuses odd claim types, so plain cases are signed by hand (same key, same RS256).
  const sign = (payload: Record<string, unknown>, opts?: Parameters<typeof local.sign>[1]): string =>
    opts === undefined ? craftToken({ alg: 'RS256', typ: 'JWT', kid: key.kid }, payload, rs256Signature(key)) : local.sign(payload, opts)
  const signedRaw = (headerJson: string, payloadJson: string, by: TestKey = key): string => rawToken(headerJson, payloadJson, rs256Signature(by))
  const payloadJson = JSON.stringify(claims).slice(1, -1)
  const header = `"alg":"RS256","kid":"${key.kid}"`
  const entraClaims = { iss: ENTRA_ISSUER, aud: AUDIENCE, tid: TENANT, azp: 'powerbi-app', idtyp: 'app', roles: ['Verdict.Decide'], ...life }
  const googleClaims = { iss: GOOGLE_ISSUER, aud: AUDIENCE, sub: '1170000000000000001', email: GOOGLE_CALLER, email_verified: true, ...life }
  const [head, body, signature] = good.split('.') as [string, string, string]
  const pem = key.publicPem

  const cases: Attack[] = [
    // The token's form
    { attack: 'oversized token', variant: 'over 8 KiB', token: sign({ ...claims, pad: 'x'.repeat(9000) }), code: 'token_too_large' },
    { attack: 'whitespace in the token', variant: 'a space inside', token: `${head}.${body} .${signature}`, code: 'token_whitespace' },
    { attack: 'whitespace in the token', variant: 'a newline inside', token: `${head}.\n${body}.${signature}`, code: 'token_whitespace' },
    { attack: 'whitespace in the token', variant: 'a tab inside', token: `${head}\t.${body}.${signature}`, code: 'token_whitespace' },
    { attack: 'whitespace in the token', variant: 'two tokens', token: `${good} ${good}`, code: 'token_whitespace' },
    { attack: 'not a compact JWS', variant: 'one segment', token: 'not-a-jwt', code: 'token_malformed' },
    { attack: 'not a compact JWS', variant: 'two segments', token: `${head}.${body}`, code: 'token_malformed' },
    { attack: 'not a compact JWS', variant: 'four segments', token: `${good}.${signature}`, code: 'token_malformed' },
    { attack: 'not a compact JWS', variant: 'base64 padding', token: `${head}.${body}=.${signature}`, code: 'token_malformed' },
    { attack: 'not a compact JWS', variant: 'standard base64 alphabet (+)', token: `${head}.${body}.+${signature.slice(1)}`, code: 'token_malformed' },
    { attack: 'not a compact JWS', variant: 'empty header segment', token: `.${body}.${signature}`, code: 'token_malformed' },
    { attack: 'encrypted token (JWE)', variant: 'five segments', token: `${b64('{"alg":"RSA-OAEP","enc":"A256GCM"}')}.AAAA.BBBB.CCCC.DDDD`, code: 'token_encrypted' },
    { attack: 'encrypted token (JWE)', variant: 'enc in a three-part header', token: signedRaw(`{${header},"enc":"A256GCM"}`, `{${payloadJson}}`), code: 'token_encrypted' },
    { attack: 'header not an object', variant: 'not JSON', token: `${b64('{oops')}.${body}.${signature}`, code: 'token_header_invalid' },
    { attack: 'header not an object', variant: 'a JSON array', token: `${b64('["RS256"]')}.${body}.${signature}`, code: 'token_header_invalid' },
    { attack: 'payload not an object', variant: 'a JSON array', token: signedRaw(`{${header}}`, `[${JSON.stringify(claims)}]`), code: 'token_payload_invalid' },
    { attack: 'payload not an object', variant: 'not JSON', token: signedRaw(`{${header}}`, '{"iss":'), code: 'token_payload_invalid' },
    { attack: 'payload not an object', variant: 'a JSON number', token: signedRaw(`{${header}}`, '42'), code: 'token_payload_invalid' },
    { attack: 'duplicate JSON members', variant: 'two iss in the payload', token: signedRaw(`{${header}}`, `{"iss":"https://evil.example",${payloadJson}}`), code: 'token_duplicate_member' },
    { attack: 'duplicate JSON members', variant: 'two alg in the header', token: signedRaw(`{"alg":"none",${header}}`, `{${payloadJson}}`), code: 'token_duplicate_member' },
    { attack: 'duplicate JSON members', variant: 'escaped name (\\u0069ss)', token: signedRaw(`{${header}}`, `{"\\u0069ss":"https://evil.example",${payloadJson}}`), code: 'token_duplicate_member' },
    { attack: 'nested JWT', variant: 'cty JWT', token: sign(claims, { header: { cty: 'JWT' } }), code: 'token_nested' },
    { attack: 'nested JWT', variant: 'a JWT as the payload', token: rawToken(`{"alg":"RS256","kid":"${key.kid}","cty":"jwt"}`, good, rs256Signature(key)), code: 'token_nested' },
    { attack: 'nested JWT', variant: 'a JWT as the payload, no cty', token: rawToken(`{${header}}`, good, rs256Signature(key)), code: 'token_nested' },
    { attack: 'key-pointing header', variant: 'jku', token: sign(claims, { header: { jku: elsewhere.jwksUri } }), code: 'token_header_forbidden' },
    { attack: 'key-pointing header', variant: 'x5u', token: sign(claims, { header: { x5u: `${elsewhere.url}/cert.pem` } }), code: 'token_header_forbidden' },
    { attack: 'key-pointing header', variant: 'embedded jwk', token: sign(claims, { header: { jwk: elsewhere.keys[0]!.publicJwk } }), code: 'token_header_forbidden' },
    { attack: 'key-pointing header', variant: 'x5c chain', token: sign(claims, { header: { x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'] } }), code: 'token_header_forbidden' },
    { attack: 'critical extension', variant: 'crit exp', token: sign(claims, { header: { crit: ['exp'], exp: 1 } }), code: 'token_crit_unsupported' },
    { attack: 'critical extension', variant: 'crit b64 (unencoded payload)', token: sign(claims, { header: { crit: ['b64'], b64: false } }), code: 'token_crit_unsupported' },
    { attack: 'ill-formed string in a claim', variant: 'lone surrogate in cmicuser', token: signedRaw(`{${header}}`, `{${payloadJson},"cmicuser":"ACME||\\ud800"}`), code: 'claim_string_invalid' },
    { attack: 'ill-formed string in a claim', variant: 'lone low surrogate in sub', token: signedRaw(`{${header}}`, JSON.stringify({ ...claims, sub: undefined }).replace(/}$/, ',"sub":"\\udc00x"}')), code: 'claim_string_invalid' },

    // Issuer
    { attack: 'no issuer', variant: 'iss absent', token: sign({ aud: AUDIENCE, client_id: 'procore-sync', ...life }), code: 'issuer_missing' },
    { attack: 'issuer not a string', variant: 'array iss', token: sign({ ...claims, iss: [local.issuer] }), code: 'issuer_not_string' },
    { attack: 'issuer not a string', variant: 'numeric iss', token: sign({ ...claims, iss: 1 }), code: 'issuer_not_string' },
    { attack: 'untrusted issuer', variant: 'another issuer', token: sign({ ...claims, iss: 'https://login.evil.example/' }), code: 'issuer_untrusted' },
    { attack: 'untrusted issuer', variant: 'trailing slash added', token: sign({ ...claims, iss: `${local.issuer}/` }), code: 'issuer_untrusted' },
    { attack: 'untrusted issuer', variant: 'different case', token: sign({ ...claims, iss: local.issuer.toUpperCase() }), code: 'issuer_untrusted' },

    // Algorithm
    { attack: 'alg none', variant: 'unsigned', token: craftToken({ alg: 'none', kid: key.kid }, claims), code: 'algorithm_none' },
    { attack: 'alg none', variant: 'none with a signature', token: craftToken({ alg: 'none', kid: key.kid }, claims, rs256Signature(key)), code: 'algorithm_none' },
    { attack: 'alg none', variant: 'NONE', token: craftToken({ alg: 'NONE', kid: key.kid }, claims), code: 'algorithm_none' },
    { attack: 'alg none', variant: 'None', token: craftToken({ alg: 'None', kid: key.kid }, claims), code: 'algorithm_none' },
    { attack: 'HMAC algorithm confusion', variant: 'HS256 keyed with the public key PEM', token: craftToken({ alg: 'HS256', kid: key.kid }, claims, hmacSignature(pem)), code: 'algorithm_symmetric' },
    { attack: 'HMAC algorithm confusion', variant: 'HS512', token: craftToken({ alg: 'HS512', kid: key.kid }, claims, hmacSignature(pem)), code: 'algorithm_symmetric' },
    { attack: 'HMAC algorithm confusion', variant: 'hs256 in lower case', token: craftToken({ alg: 'hs256', kid: key.kid }, claims, hmacSignature(pem)), code: 'algorithm_symmetric' },
    { attack: 'unregistered algorithm name', variant: 'rs256 (case variant)', token: craftToken({ alg: 'rs256', kid: key.kid }, claims, rs256Signature(key)), code: 'algorithm_unknown' },
    { attack: 'unregistered algorithm name', variant: 'Rs256 (case variant)', token: craftToken({ alg: 'Rs256', kid: key.kid }, claims, rs256Signature(key)), code: 'algorithm_unknown' },
    { attack: 'unregistered algorithm name', variant: 'alg absent', token: craftToken({ kid: key.kid }, claims, rs256Signature(key)), code: 'algorithm_unknown' },
    { attack: 'unregistered algorithm name', variant: 'alg a number', token: craftToken({ alg: 256, kid: key.kid }, claims, rs256Signature(key)), code: 'algorithm_unknown' },
    { attack: 'algorithm the issuer does not use', variant: 'RS384', token: sign(claims, { key: generateKey('RS384') }), code: 'algorithm_not_allowed' },
    { attack: 'algorithm the issuer does not use', variant: 'PS256 under the published kid', token: craftToken({ alg: 'PS256', kid: key.kid }, claims, rs256Signature(key)), code: 'algorithm_not_allowed' },

    // Key
    { attack: 'no key id', variant: 'kid absent', token: sign(claims, { noKid: true }), code: 'kid_missing' },
    { attack: 'unusable key id', variant: 'huge kid (4000 characters)', token: sign(claims, { kid: 'k'.repeat(4000) }), code: 'kid_invalid' },
    { attack: 'unusable key id', variant: 'kid a number', token: craftToken({ alg: 'RS256', kid: 7 }, claims, rs256Signature(key)), code: 'kid_invalid' },
    { attack: 'unusable key id', variant: 'kid with a control character', token: sign(claims, { kid: `${key.kid}\u0000` }), code: 'kid_invalid' },
    { attack: 'unusable key id', variant: 'empty kid', token: craftToken({ alg: 'RS256', kid: '' }, claims, rs256Signature(key)), code: 'kid_invalid' },
    { attack: 'unpublished key', variant: 'signed by a key the issuer never published', token: sign(claims, { key: generateKey('RS256') }), code: 'key_not_found' },
    { attack: 'key/algorithm confusion', variant: 'ES256 header naming the RSA key', token: craftToken({ alg: 'ES256', kid: key.kid }, claims, rs256Signature(key)), code: 'key_algorithm_mismatch' },
    { attack: 'keys cannot be fetched', variant: "issuer's JWKS answers 503", token: down.sign({ ...claims, iss: down.issuer }), code: 'jwks_unavailable' },

    // Signature
    { attack: 'signature stripped', variant: 'empty third segment', token: `${head}.${body}.`, code: 'signature_missing' },
    { attack: 'bad signature', variant: 'tampered payload', token: tamperPayload(good, { cmicuser: 'ACME||SECADMIN' }), code: 'signature_invalid' },
    { attack: 'bad signature', variant: 'another key under the published kid', token: sign(claims, { key: generateKey('RS256', key.kid) }), code: 'signature_invalid' },
    { attack: 'bad signature', variant: "another token's signature", token: `${head}.${body}.${sign({ ...claims, jti: 'other' }).split('.')[2] ?? ''}`, code: 'signature_invalid' },

    // Claims
    { attack: 'registered claim of the wrong type', variant: 'exp as a string', token: sign({ ...claims, exp: 'tomorrow' }), code: 'claim_type_invalid' },
    { attack: 'registered claim of the wrong type', variant: 'exp as a numeric string', token: sign({ ...claims, exp: String(now + 600) }), code: 'claim_type_invalid' },
    { attack: 'registered claim of the wrong type', variant: 'nbf as a string', token: sign({ ...claims, nbf: 'now' }), code: 'claim_type_invalid' },
    { attack: 'registered claim of the wrong type', variant: 'iat as a string', token: sign({ ...claims, iat: 'now' }), code: 'claim_type_invalid' },
    { attack: 'registered claim of the wrong type', variant: 'aud a number', token: sign({ ...claims, aud: 5 }), code: 'claim_type_invalid' },
    { attack: 'no expiry', variant: 'exp absent', token: sign({ iss: local.issuer, aud: AUDIENCE, client_id: 'procore-sync', iat: now }), code: 'expiry_missing' },
    { attack: 'expired', variant: 'an hour ago', token: sign({ ...claims, iat: now - 7200, nbf: now - 7200, exp: now - 3600 }), code: 'token_expired' },
    { attack: 'expired', variant: 'just beyond the 30 s tolerance', token: sign({ ...claims, exp: now - 45 }), code: 'token_expired' },
    { attack: 'not yet valid', variant: 'nbf in an hour', token: sign({ ...claims, nbf: now + 3600, exp: now + 7200 }), code: 'token_not_yet_valid' },
    { attack: 'not yet valid', variant: 'far-future nbf (year 3000)', token: sign({ ...claims, nbf: 32503680000, exp: 32503683600 }), code: 'token_not_yet_valid' },
    { attack: 'issued in the future', variant: 'iat in an hour', token: sign({ ...claims, iat: now + 3600 }), code: 'token_issued_in_future' },
    { attack: 'issued in the future', variant: 'iat in the year 3000', token: sign({ ...claims, iat: 32503680000 }), code: 'token_issued_in_future' },
    { attack: 'no audience', variant: 'aud absent', token: sign({ iss: local.issuer, client_id: 'procore-sync', ...life }), code: 'audience_missing' },
    { attack: 'wrong audience', variant: 'another API', token: sign({ ...claims, aud: 'api://someone-else' }), code: 'audience_mismatch' },
    { attack: 'wrong audience', variant: 'several, none ours', token: sign({ ...claims, aud: ['api://a', 'api://b'] }), code: 'audience_mismatch' },

    // The identity provider's profile
    { attack: 'another tenant', variant: 'Entra token of another tenant', token: entra.sign({ ...entraClaims, tid: '00000000-0000-0000-0000-000000000000' }), code: 'tenant_mismatch' },
    { attack: 'not a client-credentials token', variant: 'Entra user token (idtyp user)', token: entra.sign({ ...entraClaims, idtyp: 'user' }), code: 'token_not_client_credentials' },
    { attack: 'not a client-credentials token', variant: 'Entra delegated token (scp, no idtyp)', token: entra.sign({ ...entraClaims, idtyp: undefined, scp: 'user.read' }), code: 'token_not_client_credentials' },
    { attack: 'caller not named', variant: 'Entra token without azp', token: entra.sign({ ...entraClaims, azp: undefined }), code: 'client_id_missing' },
    { attack: 'caller not named', variant: 'OIDC token without client_id, azp or sub', token: sign({ iss: local.issuer, aud: AUDIENCE, ...life }), code: 'client_id_missing' },
    { attack: 'caller not allowed', variant: 'Google token of an unlisted caller', token: google.sign({ ...googleClaims, email: 'someone@gmail.com' }), code: 'client_not_allowed' },
    { attack: 'email not verified', variant: 'Google email_verified missing', token: google.sign({ ...googleClaims, email_verified: undefined }), code: 'email_not_verified' },
    { attack: 'email not verified', variant: 'Google email_verified "false"', token: google.sign({ ...googleClaims, email_verified: 'false' }), code: 'email_not_verified' },
    { attack: 'email not verified', variant: 'Google email_verified "true" (a string)', token: google.sign({ ...googleClaims, email_verified: 'true' }), code: 'email_not_verified' },
    { attack: 'email not verified', variant: 'Google email_verified false', token: google.sign({ ...googleClaims, email_verified: false }), code: 'email_not_verified' }
  ]

  const decide = async (authorization: string): Promise<{ status: number, body: string, json: Record<string, unknown> }> => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/decide',
      headers: { authorization },
      payload: { request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob' } }
    })
    return { status: res.statusCode, body: res.body, json: res.json() }
  }

  // The issuers work: a good token of each passes authentication (what the
  // policy then decides is not this test's business).
  for (const [name, token] of [['local', good], ['entra', entra.sign(entraClaims)], ['google', google.sign(googleClaims)]] as const) {
    const { json } = await decide(`Bearer ${token}`)
    t.not(json.status, 401, `a good ${name} token is authenticated`)
  }
  const localFetches = local.requests.total

  t.ok(cases.length >= 40, `${cases.length} attack cases`)
  const codeOfAttack = new Map<string, string>()
  for (const c of cases) {
    const { status, body, json } = await decide(`Bearer ${c.token}`)
    t.equal(status, 200, `${c.attack} (${c.variant}): a decision, not an error`)
    t.match(json, { allow: false, status: 401, principal: null }, `${c.attack} (${c.variant}): a 401 decision`)
    t.same((json.reasons as Array<{ layer: string, code: string }>).map((r) => `${r.layer}:${r.code}`), [`authentication:${c.code}`],
      `${c.attack} (${c.variant}): ${c.code}`)
    if (c.token.length > 30) t.notOk(body.includes(c.token.slice(-30)), `${c.attack} (${c.variant}): the token is not echoed`)
    const known = codeOfAttack.get(c.attack)
    t.ok(known === undefined || known === c.code, `${c.attack}: one code for all its variants`)
    codeOfAttack.set(c.attack, c.code)
  }

  const codes = [...codeOfAttack.values()]
  t.equal(new Set(codes).size, codes.length, `${codeOfAttack.size} kinds of attack, ${new Set(codes).size} codes: no two attacks share a code`)
  t.notOk(codes.includes('token_invalid') || codes.includes('authn_error'), 'no attack falls through to a generic code')
  t.equal(elsewhere.requests.total, 0, 'no key was fetched from an address found in a token')
  t.ok(local.requests.total - localFetches <= 1, `the whole matrix cost the issuer at most one key fetch (saw ${local.requests.total - localFetches})`)
})

t.test('a hanging JWKS: the first decision is a 401 within the 3 s fetch timeout', async (t) => {
  const hanging = await startJwksServer()
  t.teardown(() => hanging.close())
  hanging.setHanging(true)
  // The default fetchTimeoutMs (3000). The keys are asked for as the app
  // starts; the first token waits on that same fetch.
  const app = await buildApp({ authn: { issuers: [{ name: 'slow', profile: 'oidc', issuer: hanging.issuer, audience: AUDIENCE, jwksUri: hanging.jwksUri }] } })
  t.teardown(() => app.close())
  const now = Math.floor(Date.now() / 1000)
  const token = hanging.sign({ iss: hanging.issuer, aud: AUDIENCE, client_id: 'svc', iat: now, exp: now + 600 })
  const started = Date.now()
  const res = await app.inject({
    method: 'POST',
    url: '/v1/decide',
    headers: { authorization: `Bearer ${token}` },
    payload: { request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob' } }
  })
  const elapsed = Date.now() - started
  t.equal(res.statusCode, 200, 'a decision, not an error')
  t.match(res.json(), { allow: false, status: 401, reasons: [{ layer: 'authentication', code: 'jwks_unavailable' }] })
  t.ok(elapsed <= 3500, `answered within the timeout, give or take timer lag (took ${elapsed} ms)`)
  t.equal(hanging.requests.total, 1, 'one request reached the hanging IdP')
})
