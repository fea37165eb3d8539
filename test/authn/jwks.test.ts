// Key fetching: only from configured addresses, refetch on unknown kid gated
// by a cooldown, outages and hangs answered as jwks_unavailable in time.
import t from 'tap'
import { generateKey, startJwksServer } from '../helpers/jwks-server.js'
import { keySourceOf } from '../../src/authn/jwks.js'
import { resolveAuthnConfig } from '../../src/authn/config.js'
import { AUDIENCE, bearer, buildApp, lifetime, oidcIssuer } from './fixtures/app.js'

const claimsFor = (issuer: string): Record<string, unknown> => ({ iss: issuer, aud: AUDIENCE, client_id: 'svc', ...lifetime() })

t.test('get-jwks is given the configured base, never the token iss', async (t) => {
  const [withDiscovery, withJwksUri] = resolveAuthnConfig({
    issuers: [
      { name: 'a', profile: 'oidc', issuer: 'https://sts.windows.net/t1/', audience: 'x', discovery: 'https://login.microsoftonline.com/t1/.well-known/openid-configuration' },
      { name: 'b', profile: 'okta', issuer: 'https://acme.okta.com/oauth2/aus1', audience: 'x', jwksUri: 'https://acme.okta.com/oauth2/aus1/v1/keys?client=1' }
    ]
  }).issuers
  t.same(keySourceOf(withDiscovery!), { domain: 'https://login.microsoftonline.com/t1/' })
  t.same(keySourceOf(withJwksUri!), { domain: 'https://acme.okta.com/', jwksPath: 'oauth2/aus1/v1/keys?client=1' })
})

t.test('unknown kids cause at most one refetch per cooldown', async (t) => {
  const idp = await startJwksServer()
  t.teardown(() => idp.close())
  let offsetMs = 0
  const app = await buildApp({ issuers: [oidcIssuer(idp.issuer, idp.discoveryUrl, { unknownKidCooldownSec: 60 })] },
    { now: () => Date.now() + offsetMs })
  t.teardown(() => app.close())

  const claims = claimsFor(idp.issuer)
  t.ok((await app.authenticate(bearer(idp.sign(claims)))).ok, 'known key works')
  const before = idp.requests.jwks

  for (let i = 0; i < 5; i++) {
    const stranger = generateKey('RS256', `unknown-${i}`)
    t.match(await app.authenticate(bearer(idp.sign(claims, { key: stranger }))), { ok: false, code: 'key_not_found' }, `unknown kid ${i}`)
  }
  // A published kid under another algorithm is just as unknown.
  for (let i = 0; i < 3; i++) {
    const ec = generateKey('ES256')
    t.match(await app.authenticate(bearer(idp.sign(claims, { key: ec, kid: idp.keys[0]!.kid }))), { ok: false, code: 'key_not_found' })
  }
  t.equal(idp.requests.jwks - before, 1, 'exactly one extra JWKS fetch within the cooldown')
  t.equal(app.authnCounters.jwksRefetchesSuppressed, 7)
  t.ok((await app.authenticate(bearer(idp.sign({ ...claims, jti: 'again' })))).ok, 'the known key still works during the cooldown')

  offsetMs = 61_000
  const rotated = generateKey('RS256', 'rotated')
  idp.setKeys([idp.keys[0]!, rotated])
  t.ok((await app.authenticate(bearer(idp.sign(claims, { key: rotated })))).ok, 'after the cooldown a new kid is fetched and accepted')
  t.equal(idp.requests.jwks - before, 2)
})

t.test('key rotation: a new kid is fetched at once when no cooldown is running', async (t) => {
  const idp = await startJwksServer({ keys: [generateKey('ES256')] })
  t.teardown(() => idp.close())
  const app = await buildApp({ issuers: [{ name: 'test', profile: 'oidc', issuer: idp.issuer, audience: AUDIENCE, jwksUri: idp.jwksUri }] })
  t.teardown(() => app.close())
  const claims = claimsFor(idp.issuer)
  t.ok((await app.authenticate(bearer(idp.sign(claims)))).ok, 'ES256 key via jwksUri')
  const next = idp.rotate('ES256')
  t.ok((await app.authenticate(bearer(idp.sign(claims, { key: next })))).ok, 'rotated key accepted')
  t.equal(idp.requests.discovery, 0, 'jwksUri mode never asks for discovery')
})

t.test('a hanging JWKS server is a quick jwks_unavailable, then recovers', async (t) => {
  const idp = await startJwksServer()
  t.teardown(() => idp.close())
  const app = await buildApp({ issuers: [oidcIssuer(idp.issuer, idp.discoveryUrl, { fetchTimeoutMs: 300, unknownKidCooldownSec: 0 })] })
  t.teardown(() => app.close())
  const token = idp.sign(claimsFor(idp.issuer))

  idp.setHanging(true)
  const started = Date.now()
  t.match(await app.authenticate(bearer(token)), { ok: false, code: 'jwks_unavailable' })
  const elapsed = Date.now() - started
  t.ok(elapsed < 1500, `answered within the timeout (took ${elapsed} ms)`)
  t.equal(app.authnCounters.jwksFailures, 1)

  idp.setHanging(false)
  // The abandoned fetch fails as soon as the held response is dropped.
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.ok((await app.authenticate(bearer(token))).ok, 'works again once the server answers')
})

t.test('an erroring JWKS server is jwks_unavailable and the cooldown repeats that code', async (t) => {
  const idp = await startJwksServer()
  t.teardown(() => idp.close())
  const app = await buildApp({ issuers: [oidcIssuer(idp.issuer, idp.discoveryUrl)] })
  t.teardown(() => app.close())
  idp.setFailStatus(503)
  const token = idp.sign(claimsFor(idp.issuer))
  t.match(await app.authenticate(bearer(token)), { ok: false, code: 'jwks_unavailable' })
  const fetched = idp.requests.total
  t.match(await app.authenticate(bearer(token)), { ok: false, code: 'jwks_unavailable' }, 'still unavailable')
  t.equal(idp.requests.total, fetched, 'but without hammering the IdP')
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

t.test('an encryption key is not a signing key', async (t) => {
  const key = generateKey('RS256')
  key.publicJwk.use = 'enc'
  const idp = await startJwksServer({ keys: [key] })
  t.teardown(() => idp.close())
  const app = await buildApp({ issuers: [oidcIssuer(idp.issuer, idp.discoveryUrl)] })
  t.teardown(() => app.close())
  t.match(await app.authenticate(bearer(idp.sign(claimsFor(idp.issuer)))), { ok: false, code: 'key_not_found' })
})
