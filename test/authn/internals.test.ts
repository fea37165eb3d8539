// Small pieces checked directly: error-code mapping, bounded caches.
import t from 'tap'
import { reasonForVerifyError } from '../../src/authn/jwt.js'
import { FailureThrottle } from '../../src/authn/rate-limit.js'
import { clientAddress, toBlockList, trustedProxyProblems } from '../../src/authn/client-address.js'
import { VerifiedTokenCache } from '../../src/authn/token-cache.js'
import type { Principal } from '../../src/authn/principal.js'

t.test('fast-jwt errors map to reason codes', async (t) => {
  const cases: Array<[unknown, string]> = [
    [{ code: 'FAST_JWT_EXPIRED', message: 'The token has expired at …' }, 'token_expired'],
    [{ code: 'FAST_JWT_INACTIVE', message: 'The token will be active at …' }, 'token_not_yet_valid'],
    [{ code: 'FAST_JWT_INVALID_SIGNATURE' }, 'signature_invalid'],
    [{ code: 'FAST_JWT_MISSING_SIGNATURE' }, 'signature_missing'],
    [{ code: 'FAST_JWT_INVALID_KEY' }, 'key_algorithm_mismatch'],
    [{ code: 'FAST_JWT_INVALID_ALGORITHM' }, 'algorithm_not_allowed'],
    [{ code: 'FAST_JWT_INVALID_CRIT_HEADER' }, 'token_crit_unsupported'],
    [{ code: 'FAST_JWT_INVALID_CLAIM_VALUE', message: 'The aud claim value is not allowed.' }, 'audience_mismatch'],
    [{ code: 'FAST_JWT_INVALID_CLAIM_VALUE', message: 'None of aud claim values are allowed.' }, 'audience_mismatch'],
    [{ code: 'FAST_JWT_INVALID_CLAIM_TYPE', message: 'The aud claim must be a string or an array of strings.' }, 'claim_type_invalid'],
    [{ code: 'FAST_JWT_MISSING_REQUIRED_CLAIM', message: 'The aud claim is required.' }, 'audience_mismatch'],
    [{ code: 'FAST_JWT_MISSING_REQUIRED_CLAIM', message: 'The exp claim is required.' }, 'token_invalid'],
    [{ code: 'FAST_JWT_INVALID_CLAIM_VALUE', message: 'The audience_x claim …' }, 'token_invalid'],
    [{ code: 'FAST_JWT_INVALID_CLAIM_VALUE' }, 'token_invalid'],
    [new Error('something else'), 'token_invalid'],
    ['a bare string', 'token_invalid'],
    [null, 'token_invalid']
  ]
  for (const [err, code] of cases) t.equal(reasonForVerifyError(err), code, JSON.stringify(err))
})

t.test('the verified-token cache is bounded and honours expiry', async (t) => {
  const principal = { method: 'jwt', idp: 'x', subject: 's', roles: [], scopes: [] } as Principal
  const cache = new VerifiedTokenCache(2)
  cache.set('a', principal, 1000)
  cache.set('b', principal, 1000)
  cache.set('c', principal, 1000)
  t.equal(cache.size, 2)
  t.equal(cache.get('a', 0), undefined, 'the oldest entry was evicted')
  t.equal(cache.get('c', 999), principal)
  t.equal(cache.get('c', 1000), undefined, 'gone at expiry')
  t.equal(cache.size, 1)
  t.not(VerifiedTokenCache.keyOf('token'), 'token', 'keys are digests, not tokens')
})

t.test('the failure throttle: growing delay, bounded memory, windows expire', async (t) => {
  const throttle = new FailureThrottle({ maxFailures: 2, maxFailuresPerAddress: 100, windowSec: 10, delaySec: 1, maxDelaySec: 4 }, 4)
  t.equal(throttle.begin('a', 'x', 0), 0)
  t.equal(throttle.begin('a', 'x', 0), 0)
  t.equal(throttle.begin('a', 'x', 0), 1000, 'after 2 failures, wait 1 s')
  t.equal(throttle.begin('a', 'y', 0), 0, 'another client need not wait')
  t.equal(throttle.begin('a', 'x', 1000), 0, 'after the wait, one more attempt')
  t.equal(throttle.begin('a', 'x', 1000), 2000, 'then 2 s')
  t.equal(throttle.begin('a', 'x', 3000), 0)
  t.equal(throttle.begin('a', 'x', 3000), 4000, 'then 4 s')
  t.equal(throttle.begin('a', 'x', 7000), 0)
  t.equal(throttle.begin('a', 'x', 7000), 4000, 'never more than maxDelaySec')
  t.equal(throttle.begin('a', 'x', 17_000), 0, 'forgotten windowSec after the last failure')
  throttle.succeeded('a', 'x', 17_000)
  t.equal(throttle.begin('a', 'x', 17_000), 0, 'a success forgets the pair')
  for (const c of ['c1', 'c2', 'c3', 'c4']) throttle.begin('b', c, 17_000)
  t.ok(throttle.size <= 4, `bounded (${throttle.size} entries)`)
})

t.test('client address: X-Forwarded-For only through trusted proxies', async (t) => {
  const trusted = toBlockList(['10.0.0.0/8', '2001:db8::/32', '192.168.1.1'])
  t.equal(clientAddress('10.0.0.5', undefined, trusted), '10.0.0.5', 'no header: the peer')
  t.equal(clientAddress('10.0.0.5', '203.0.113.1', trusted), '203.0.113.1', 'one trusted hop')
  t.equal(clientAddress('10.0.0.5', '198.51.100.7, 203.0.113.1, 192.168.1.1', trusted), '203.0.113.1',
    'walks back over trusted hops; what the client wrote (198.51.100.7) is never reached')
  t.equal(clientAddress('198.51.100.2', '203.0.113.1', trusted), '198.51.100.2', 'an untrusted peer: the header is ignored')
  t.equal(clientAddress('::ffff:10.0.0.5', ['203.0.113.1'], trusted), '203.0.113.1', 'IPv4-mapped peer, header as array')
  t.equal(clientAddress('10.0.0.5', 'garbage', trusted), '10.0.0.5', 'a non-address entry stops the walk at the proxy')
  t.equal(clientAddress('2001:db8::1', '2001:db9::7', trusted), '2001:db9::7', 'IPv6')
  t.equal(clientAddress('10.0.0.5', '203.0.113.1', toBlockList([])), '10.0.0.5', 'no trusted proxies: the header is ignored')
  t.same(trustedProxyProblems(['10.0.0.0/8', '::1']), [])
  t.equal(trustedProxyProblems(['10.0.0.0/33', 'gateway', '1.2.3.4/8/1']).length, 3, 'bad entries are named')
})
