// Signing keys under attack and under rotation, against a real JWKS server on
// loopback: one fetch in flight per issuer shared by every waiting request,
// background refresh (Cache-Control honoured within bounds), unknown kids
// refetching at most once per minimum interval, hanging and failing IdPs
// answered in time.
import t from 'tap'
import { craftToken, generateKey, rs256Signature, startJwksServer, type JwksServer } from '../helpers/jwks-server.js'
import { maxAgeSec, parseKeySet, refreshDelayMs } from '../../src/authn/jwks.js'
import { resolveAuthnConfig } from '../../src/authn/config.js'
import { AUDIENCE, bearer, buildApp, lifetime, oidcIssuer } from './fixtures/app.js'

t.setTimeout(120_000)
const claimsFor = (issuer: string): Record<string, unknown> => ({ iss: issuer, aud: AUDIENCE, client_id: 'svc', ...lifetime() })
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Waits until the server has answered `count` JWKS requests (the background fetch). */
async function jwksRequests (idp: JwksServer, count: number, withinMs = 4000): Promise<void> {
  const deadline = Date.now() + withinMs
  while (idp.requests.jwks < count && Date.now() < deadline) await sleep(20)
  if (idp.requests.jwks < count) throw new Error(`expected ${count} JWKS requests, saw ${idp.requests.jwks}`)
  await sleep(20)
}

t.test('keys are fetched at start, before the first token arrives', async (t) => {
  const idp = await startJwksServer()
  t.teardown(() => idp.close())
  const app = await buildApp({ issuers: [oidcIssuer(idp.issuer, idp.discoveryUrl)] })
  t.teardown(() => app.close())
  await jwksRequests(idp, 1)
  t.same(idp.requests, { discovery: 1, jwks: 1, other: 0, total: 2 }, 'discovery, then the JWKS it names')
  t.ok((await app.authenticate(bearer(idp.sign(claimsFor(idp.issuer))))).ok)
  t.equal(idp.requests.total, 2, 'the first token needed no fetch')
})

t.test('50 concurrent tokens with unknown kids cost the IdP one request', async (t) => {
  const idp = await startJwksServer({ keys: [generateKey('ES256')] })
  t.teardown(() => idp.close())
  let offsetMs = 0
  const app = await buildApp({ issuers: [oidcIssuer(idp.issuer, idp.discoveryUrl)] }, { now: () => Date.now() + offsetMs })
  t.teardown(() => app.close())
  await jwksRequests(idp, 1)
  const claims = claimsFor(idp.issuer)

  offsetMs = 6000 // past the 5 s minimum interval: an unknown kid may refetch once
  const strangers = Array.from({ length: 50 }, (_, i) => idp.sign(claims, { key: generateKey('ES256', `junk-${i}`) }))
  const before = { ...idp.requests }
  const results = await Promise.all(strangers.map((token) => app.authenticate(bearer(token))))
  t.ok(results.every((r) => !r.ok && r.code === 'key_not_found'), 'all 50 refused as key_not_found')
  t.equal(idp.requests.jwks - before.jwks, 1, 'one JWKS request for 50 unknown kids')
  t.equal(idp.requests.discovery - before.discovery, 0, 'and no discovery request')
  t.match(app.authnCounters, { jwksUnknownKidRefetches: 1, jwksFetchesJoined: 49 })

  // A sequential spray right after: nothing reaches the IdP.
  for (let i = 0; i < 50; i++) {
    const r = await app.authenticate(bearer(idp.sign({ ...claims, jti: `s${i}` }, { key: generateKey('ES256', `spray-${i}`) })))
    t.equal(r.ok ? 'ok' : r.code, 'key_not_found')
  }
  t.equal(idp.requests.total - before.total, 1, 'the spray within the interval asked the IdP nothing')
  t.equal(app.authnCounters.jwksRefetchesSuppressed, 50)
  t.ok((await app.authenticate(bearer(idp.sign(claims)))).ok, 'the published key keeps working throughout')
})

t.test('from a cold start, concurrent tokens share the first fetch', async (t) => {
  const idp = await startJwksServer()
  t.teardown(() => idp.close())
  const app = await buildApp({ issuers: [oidcIssuer(idp.issuer, idp.discoveryUrl)] })
  t.teardown(() => app.close())
  const claims = claimsFor(idp.issuer)
  const tokens = Array.from({ length: 50 }, (_, i) => idp.sign({ ...claims, jti: String(i) }))
  const results = await Promise.all(tokens.map((token) => app.authenticate(bearer(token))))
  t.ok(results.every((r) => r.ok), 'all 50 accepted')
  t.same(idp.requests, { discovery: 1, jwks: 1, other: 0, total: 2 }, 'one discovery and one JWKS request in all')
})

t.test('junk with a trusted iss and a new kid does not keep a new key out beyond the minimum interval', async (t) => {
  const idp = await startJwksServer()
  t.teardown(() => idp.close())
  let offsetMs = 0
  const app = await buildApp({ issuers: [oidcIssuer(idp.issuer, idp.discoveryUrl)] }, { now: () => Date.now() + offsetMs })
  t.teardown(() => app.close())
  await jwksRequests(idp, 1)
  const claims = claimsFor(idp.issuer)

  // What an attacker sends: the trusted iss, the kid the IdP is about to publish, a garbage signature.
  const next = generateKey('RS256', 'next-key')
  offsetMs = 10_000
  const junk = craftToken({ alg: 'RS256', kid: next.kid }, claims, () => 'AAAA')
  t.match(await app.authenticate(bearer(junk)), { ok: false, code: 'key_not_found' })
  t.equal(idp.requests.jwks, 2, 'the junk caused one refetch')

  idp.setKeys([idp.keys[0]!, next])
  offsetMs += 1000
  t.match(await app.authenticate(bearer(idp.sign(claims, { key: next }))), { ok: false, code: 'key_not_found' },
    'one second later the IdP is not asked again')
  offsetMs += 4100
  t.ok((await app.authenticate(bearer(idp.sign(claims, { key: next })))).ok,
    'once the 5 s minimum interval has passed, the new key is fetched and accepted (not after a 60 s cooldown)')
  t.equal(idp.requests.jwks, 3)
  t.match(await app.authenticate(bearer(junk)), { ok: false, code: 'signature_invalid' }, 'the junk itself never verifies')
})

t.test('a rotated key is known before it is used: background refresh', async (t) => {
  const idp = await startJwksServer({ keys: [generateKey('ES256')] })
  t.teardown(() => idp.close())
  const app = await buildApp({ issuers: [{ name: 'test', profile: 'oidc', issuer: idp.issuer, audience: AUDIENCE, jwksUri: idp.jwksUri, keyRefreshSec: 1 }] })
  t.teardown(() => app.close())
  await jwksRequests(idp, 1)
  const claims = claimsFor(idp.issuer)
  const old = idp.keys[0]!
  t.ok((await app.authenticate(bearer(idp.sign(claims)))).ok, 'ES256 key via jwksUri')

  const next = idp.rotate('ES256')
  await jwksRequests(idp, 2)
  const seen = idp.requests.total
  t.ok((await app.authenticate(bearer(idp.sign(claims, { key: next })))).ok, 'the rotated key is accepted')
  t.equal(idp.requests.total, seen, 'without a fetch on the request path')
  t.match(await app.authenticate(bearer(idp.sign({ ...claims, jti: 'x' }, { key: old }))), { ok: false, code: 'key_not_found' },
    'the retired key is gone after the refresh')
  t.equal(idp.requests.discovery, 0, 'jwksUri mode never asks for discovery')
})

t.test('Cache-Control max-age sets the refresh interval within bounds', async (t) => {
  const [issuer] = resolveAuthnConfig({
    issuers: [{ ...oidcIssuer('https://idp.example', 'https://idp.example/.well-known/openid-configuration'), keyRefreshSec: 300, keyRefreshMinSec: 60, keyRefreshMaxSec: 3600 }]
  }).issuers
  t.equal(refreshDelayMs(issuer!, null), 300_000, 'no header: keyRefreshSec')
  t.equal(refreshDelayMs(issuer!, 'public, max-age=900'), 900_000, 'max-age within bounds is honoured')
  t.equal(refreshDelayMs(issuer!, 'max-age=5'), 60_000, 'too short: raised to keyRefreshMinSec')
  t.equal(refreshDelayMs(issuer!, 'max-age=86400, must-revalidate'), 3_600_000, 'too long: cut to keyRefreshMaxSec')
  t.equal(refreshDelayMs(issuer!, 'no-store, max-age=900'), 300_000, 'no-store: keyRefreshSec')
  t.equal(maxAgeSec('s-maxage=10'), undefined, 's-maxage is not max-age')

  // And live: a max-age of 1 s (bounds allowing it) brings the next fetch within about a second.
  const idp = await startJwksServer()
  t.teardown(() => idp.close())
  idp.setCacheControl('max-age=1')
  const app = await buildApp({ issuers: [{ ...oidcIssuer(idp.issuer, idp.discoveryUrl), keyRefreshMinSec: 1 }] })
  t.teardown(() => app.close())
  await jwksRequests(idp, 1)
  await jwksRequests(idp, 2, 2500)
  t.pass('the max-age drove a second fetch')
})

t.test('a hanging JWKS server: the first answer comes within the timeout, later ones at once', async (t) => {
  const idp = await startJwksServer()
  t.teardown(() => idp.close())
  idp.setHanging(true)
  let offsetMs = 0
  // The default fetchTimeoutMs (3 s): the start-up fetch hangs from the beginning.
  const app = await buildApp({ issuers: [oidcIssuer(idp.issuer, idp.discoveryUrl)] }, { now: () => Date.now() + offsetMs })
  t.teardown(() => app.close())
  const token = idp.sign(claimsFor(idp.issuer))

  let started = Date.now()
  t.match(await app.authenticate(bearer(token)), { ok: false, code: 'jwks_unavailable' })
  const first = Date.now() - started
  t.ok(first <= 3500, `first answer within the 3 s timeout, give or take timer lag (took ${first} ms)`)
  started = Date.now()
  t.match(await app.authenticate(bearer(token)), { ok: false, code: 'jwks_unavailable' })
  t.ok(Date.now() - started < 100, 'the next answer does not wait again')
  t.equal(app.authnCounters.jwksFailures, 1)
  t.equal(idp.requests.total, 1, 'one request reached the hanging server')

  idp.setHanging(false)
  offsetMs = 6000
  t.ok((await app.authenticate(bearer(token))).ok, 'works again once the server answers')
})

t.test('a failing IdP: known keys keep working, for a bounded time', async (t) => {
  const idp = await startJwksServer()
  t.teardown(() => idp.close())
  let offsetMs = 0
  const app = await buildApp({ issuers: [oidcIssuer(idp.issuer, idp.discoveryUrl, { keyRefreshSec: 1 })] }, { now: () => Date.now() + offsetMs })
  t.teardown(() => app.close())
  await jwksRequests(idp, 1)
  const claims = claimsFor(idp.issuer)

  idp.setFailStatus(503)
  const failedBefore = idp.requests.total
  while (idp.requests.total === failedBefore) await sleep(20)
  await sleep(50)
  t.ok(app.authnCounters.jwksFailures >= 1, 'the background refresh failed')
  t.ok((await app.authenticate(bearer(idp.sign(claims)))).ok, 'the last good key still verifies')
  t.match(await app.authenticate(bearer(idp.sign(claims, { key: generateKey('RS256') }))), { ok: false, code: 'jwks_unavailable' },
    'an unknown kid while the IdP fails is jwks_unavailable, not key_not_found')

  offsetMs = 25 * 3600_000
  t.match(await app.authenticate(bearer(idp.sign({ ...claims, ...lifetimeAt(offsetMs) }))), { ok: false, code: 'jwks_unavailable' },
    'after 24 h without a successful refresh the old keys are no longer trusted')
})

function lifetimeAt (offsetMs: number): Record<string, number> {
  const now = Math.floor((Date.now() + offsetMs) / 1000)
  return { iat: now, nbf: now, exp: now + 600 }
}

t.test('an erroring JWKS server is jwks_unavailable, without hammering it', async (t) => {
  const idp = await startJwksServer()
  t.teardown(() => idp.close())
  idp.setFailStatus(503)
  const app = await buildApp({ issuers: [oidcIssuer(idp.issuer, idp.discoveryUrl)] })
  t.teardown(() => app.close())
  const token = idp.sign(claimsFor(idp.issuer))
  t.match(await app.authenticate(bearer(token)), { ok: false, code: 'jwks_unavailable' })
  const fetched = idp.requests.total
  for (let i = 0; i < 10; i++) t.match(await app.authenticate(bearer(token)), { ok: false, code: 'jwks_unavailable' })
  t.equal(idp.requests.total, fetched, 'ten more tokens, no more requests')
})

t.test('an unreachable JWKS address is jwks_unavailable', async (t) => {
  const idp = await startJwksServer()
  const { discoveryUrl, issuer } = idp
  const token = idp.sign(claimsFor(issuer))
  await idp.close()
  const app = await buildApp({ issuers: [oidcIssuer(issuer, discoveryUrl, { fetchTimeoutMs: 500 })] })
  t.teardown(() => app.close())
  t.match(await app.authenticate(bearer(token)), { ok: false, code: 'jwks_unavailable' })
})

t.test('which published keys can verify', async (t) => {
  const rsa = generateKey('RS256', 'rsa')
  const ec = generateKey('ES256', 'ec')
  const enc = generateKey('RS256', 'enc')
  enc.publicJwk.use = 'enc'
  const noKid = generateKey('RS256', 'x')
  delete noKid.publicJwk.kid
  const keys = parseKeySet({ keys: [rsa.publicJwk, ec.publicJwk, enc.publicJwk, noKid.publicJwk, { kty: 'oct', kid: 'h', k: 'c2VjcmV0' }, null] })
  t.same([...keys.keys()], ['rsa', 'ec'], 'encryption keys, keys without kid and symmetric keys are skipped')
  t.throws(() => parseKeySet({ nokeys: true }))

  const idp = await startJwksServer({ keys: [enc, rsa] })
  t.teardown(() => idp.close())
  const app = await buildApp({ issuers: [oidcIssuer(idp.issuer, idp.discoveryUrl)] })
  t.teardown(() => app.close())
  const claims = claimsFor(idp.issuer)
  t.match(await app.authenticate(bearer(idp.sign(claims, { key: enc }))), { ok: false, code: 'key_not_found' }, 'an encryption key is not a signing key')
  t.match(await app.authenticate(bearer(craftToken({ alg: 'ES256', kid: rsa.kid }, claims, rs256Signature(rsa)))),
    { ok: false, code: 'key_algorithm_mismatch' }, 'an RSA key never verifies an ES256 token')
})
