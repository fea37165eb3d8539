// Small pieces checked directly: error-code mapping, bounded caches.
import t from 'tap'
import { reasonForVerifyError } from '../../src/authn/jwt.js'
import { FailureLimiter } from '../../src/authn/rate-limit.js'
import { VerifiedTokenCache } from '../../src/authn/token-cache.js'
import type { Principal } from '../../src/authn/principal.js'

t.test('fast-jwt errors map to reason codes', async (t) => {
  const cases: Array<[unknown, string]> = [
    [{ code: 'FAST_JWT_EXPIRED', message: 'The token has expired at …' }, 'token_expired'],
    [{ code: 'FAST_JWT_INACTIVE', message: 'The token will be active at …' }, 'token_not_yet_valid'],
    [{ code: 'FAST_JWT_INVALID_SIGNATURE' }, 'signature_invalid'],
    [{ code: 'FAST_JWT_MISSING_SIGNATURE' }, 'signature_invalid'],
    [{ code: 'FAST_JWT_INVALID_KEY' }, 'signature_invalid'],
    [{ code: 'FAST_JWT_INVALID_ALGORITHM' }, 'algorithm_not_allowed'],
    [{ code: 'FAST_JWT_INVALID_CRIT_HEADER' }, 'token_header_forbidden'],
    [{ code: 'FAST_JWT_INVALID_CLAIM_VALUE', message: 'The aud claim value is not allowed.' }, 'audience_mismatch'],
    [{ code: 'FAST_JWT_INVALID_CLAIM_VALUE', message: 'None of aud claim values are allowed.' }, 'audience_mismatch'],
    [{ code: 'FAST_JWT_INVALID_CLAIM_TYPE', message: 'The aud claim must be a string or an array of strings.' }, 'audience_mismatch'],
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

t.test('the failure limiter is bounded and windows expire', async (t) => {
  const limiter = new FailureLimiter(2, 1000, 2)
  limiter.recordFailure('a', 0)
  limiter.recordFailure('a', 1)
  t.ok(limiter.isBlocked('a', 2))
  t.notOk(limiter.isBlocked('a', 1000), 'the window ended')
  limiter.recordFailure('a', 1000)
  limiter.recordFailure('b', 1000)
  limiter.recordFailure('c', 1000)
  limiter.recordFailure('a', 1001)
  t.notOk(limiter.isBlocked('a', 1002), 'a was evicted when c arrived, so it starts over')
  limiter.forgiveOne('b', 1002)
  limiter.recordFailure('b', 1002)
  t.notOk(limiter.isBlocked('b', 1003), 'one forgiven failure is taken back')
})
