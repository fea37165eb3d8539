// The plugin surface: the Authorization header decides the method, nothing
// throws, and a route can answer 401 with the reason code.
import t from 'tap'
import { FAILURES } from '../../src/authn/failures.js'
import { createSecretStore, type digestSecret } from '../../src/authn/secrets.js'
import Fastify from 'fastify'
import authn from '../../src/authn/index.js'
import { buildApp } from './fixtures/app.js'

t.test('the Authorization header picks the method', async (t) => {
  const app = await buildApp({})
  t.teardown(() => app.close())
  const cases: Array<[string, Record<string, string | string[]>, string]> = [
    ['no header', {}, 'credential_missing'],
    ['blank header', { authorization: '   ' }, 'credential_missing'],
    ['Digest', { authorization: 'Digest username="x"' }, 'scheme_unsupported'],
    ['Negotiate', { authorization: 'Negotiate YIIx' }, 'scheme_unsupported'],
    ['a bare token without scheme', { authorization: 'eyJhbGciOiJSUzI1NiJ9.e30.sig' }, 'scheme_unsupported'],
    ['lowercase bearer is still bearer', { authorization: 'bearer not-a-jwt' }, 'token_malformed'],
    ['the first of repeated headers counts', { authorization: ['Basic', 'Bearer x.y.z'] }, 'basic_malformed']
  ]
  for (const [name, headers, code] of cases) {
    t.same(await app.authenticate({ headers }), { ok: false, code, message: FAILURES[code as keyof typeof FAILURES] }, name)
  }
})

t.test('a route answers 401 with the reason; an internal error is a denial, not a throw', async (t) => {
  const failingDigest: typeof digestSecret = async () => { throw new Error('scrypt exploded') }
  const app = Fastify()
  await app.register(authn, { config: {}, secrets: createSecretStore(new Map(), undefined), digest: failingDigest })
  t.teardown(() => app.close())
  app.get('/whoami', async (request, reply) => {
    const result = await app.authenticate(request)
    return result.ok ? result.principal : reply.code(401).send({ code: result.code, message: result.message })
  })

  const missing = await app.inject({ method: 'GET', url: '/whoami' })
  t.equal(missing.statusCode, 401)
  t.same(missing.json(), { code: 'credential_missing', message: FAILURES.credential_missing })

  const broken = await app.inject({ method: 'GET', url: '/whoami', headers: { authorization: `Basic ${Buffer.from('u:p').toString('base64')}` } })
  t.equal(broken.statusCode, 401, 'fail closed')
  t.equal(broken.json().code, 'authn_error')
})

t.test('counters are readable from the instance', async (t) => {
  const app = await buildApp({})
  t.teardown(() => app.close())
  await app.authenticate({ headers: { authorization: 'Bearer a.b' } })
  t.match(app.authnCounters, { jwtRejected: 1, jwtAccepted: 0, jwksFetches: 0 })
  t.notOk(app.hasDecorator('jwt'), '@fastify/jwt stays encapsulated: the app may register its own')
})

t.test('refusals are counted by reason, Basic throttling too', async (t) => {
  const app = await buildApp({ basic: { rateLimit: { maxFailures: 1, delaySec: 60 } } }, { secrets: createSecretStore(new Map(), undefined) })
  t.teardown(() => app.close())
  const wrong = { headers: { authorization: `Basic ${Buffer.from('ACME||X:nope').toString('base64')}` }, ip: '192.0.2.1' }
  await app.authenticate(wrong)
  await app.authenticate(wrong)
  await app.authenticate(wrong)
  await app.authenticate({ headers: { authorization: 'Bearer a.b.c d' } })
  await app.authenticate({ headers: {} })
  const { rejectsByReason, basicRejected, basicRateLimited } = app.authnCounters
  t.match(rejectsByReason, { basic_invalid_credentials: 1, basic_rate_limited: 2, token_whitespace: 1, credential_missing: 1, token_malformed: 0 })
  t.same(Object.keys(rejectsByReason).sort(), Object.keys(FAILURES).sort(), 'every reason has a counter, from zero')
  t.equal(basicRejected, 1)
  t.equal(basicRateLimited, 2)
})
