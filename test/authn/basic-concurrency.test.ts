// Concurrent HTTP Basic requests from one client address (a gateway, a
// connection pool): the right secret sent N times at once is one attempt, not
// N pending failures, so it is never refused as rate limited; N different
// wrong secrets at once are still N guesses, of which only maxFailures are
// checked. Real HTTP on a loopback port, every request from 127.0.0.1; scrypt
// records, so each check really runs for a while in the thread pool and the
// requests overlap.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { stringify } from 'yaml'
import { BasicAuthenticator } from '../../src/authn/basic.js'
import { resolveAuthnConfig } from '../../src/authn/config.js'
import { createCounters } from '../../src/authn/counters.js'
import { localThrottleStore } from '../../src/authn/rate-limit.js'
import { createSecretStore, digestSecret, hashSecret } from '../../src/authn/secrets.js'
import { build } from '../helpers/build.js'

t.setTimeout(180_000)

const PEPPER = 'pepper-for-tests-0123456789abcdef'
const PAYROLL = 'ACME||SVC_PAYROLL'
const PAYROLL_SECRET = 'k7Qf:2vX9-payroll-machine-secret-8d1e'
const N = 32
const MAX_FAILURES = 5

const header = (secret: string, username = PAYROLL): string => `Basic ${Buffer.from(`${username}:${secret}`).toString('base64')}`

/** A real app on a loopback port; `decide` answers the decision's status and first reason code. */
async function serve (t: Test, cache: Record<string, number> = {}) {
  const dir = t.testdir()
  const secretsFile = join(dir, 'secrets.yaml')
  const pepperFile = join(dir, 'pepper')
  await writeFile(pepperFile, PEPPER)
  await writeFile(secretsFile, stringify({ [PAYROLL]: await hashSecret(PAYROLL_SECRET, 'scrypt', PEPPER) }))
  const app = await build(t, {
    authn: { basic: { secretsFile, pepperFile, cache, rateLimit: { maxFailures: MAX_FAILURES, delaySec: 60, maxDelaySec: 60 } } }
  })
  const origin = await app.listen({ host: '127.0.0.1', port: 0 })
  const decide = async (authorization: string): Promise<string> => {
    const res = await fetch(`${origin}/v1/decide`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: JSON.stringify({ request: { method: 'GET', path: '/cmictest/hcm-rest-api/rest/1/pyemployee' } })
    })
    const decision = await res.json() as { status: number, reasons: Array<{ code: string }> }
    // 401 carries the reason; anything else means the credential was accepted.
    return decision.status === 401 ? decision.reasons[0]?.code ?? 'none' : 'accepted'
  }
  const burst = async (authorizations: string[]): Promise<string[]> => await Promise.all(authorizations.map(decide))
  return { app, decide, burst }
}

const count = (codes: string[], code: string): number => codes.filter((c) => c === code).length

t.test('32 concurrent requests with the right secret from one address all get in: cold cache, then warm', async (t) => {
  const { app, burst } = await serve(t)
  const cold = await burst(Array(N).fill(header(PAYROLL_SECRET)))
  t.same(cold, Array(N).fill('accepted'), 'cold cache: every request accepted')
  t.equal(app.authnCounters.basicCacheMisses, 1, 'the identical headers shared one check (one hash)')
  t.equal(app.authnCounters.basicRateLimited, 0)

  // Cold requests that arrived after the one check had answered were already
  // cache hits (how many depends on the machine's timing): count the warm ones alone.
  const hitsBefore = app.authnCounters.basicCacheHits
  const warm = await burst(Array(N).fill(header(PAYROLL_SECRET)))
  t.same(warm, Array(N).fill('accepted'), 'warm cache: every request accepted')
  t.equal(app.authnCounters.basicCacheHits - hitsBefore, N, 'all answered from the cache')
})

t.test('with the cache off, 32 concurrent right requests all get in', async (t) => {
  const { app, burst } = await serve(t, { maxEntries: 0 })
  const codes = await burst(Array(N).fill(header(PAYROLL_SECRET)))
  t.same(codes, Array(N).fill('accepted'))
  t.equal(app.authnCounters.basicRateLimited, 0)
  t.ok(app.authnCounters.basicCacheMisses < N, `requests arriving during a check joined it (${app.authnCounters.basicCacheMisses} checks for ${N})`)
})

t.test('32 concurrent different wrong secrets from one address: maxFailures checked, the rest refused unchecked', async (t) => {
  const { app, burst, decide } = await serve(t)
  const codes = await burst(Array.from({ length: N }, (_, i) => header(`wrong-${i}`)))
  t.equal(count(codes, 'basic_invalid_credentials'), MAX_FAILURES, 'parallel guesses count at once')
  t.equal(count(codes, 'basic_rate_limited'), N - MAX_FAILURES)
  t.equal(app.authnCounters.basicCacheMisses, MAX_FAILURES, 'only the checked ones were hashed')
  t.equal(await decide(header(PAYROLL_SECRET)), 'basic_rate_limited', 'an uncached right secret waits too: it would be a check')
})

t.test('32 concurrent copies of one wrong secret are one guess', async (t) => {
  const { app, burst } = await serve(t)
  const codes = await burst(Array(N).fill(header('the-same-wrong-guess')))
  t.same(codes, Array(N).fill('basic_invalid_credentials'), 'each answered with the one outcome')
  t.equal(app.authnCounters.basicCacheMisses, 1, 'one hash')
  const next = await burst(Array.from({ length: MAX_FAILURES }, (_, i) => header(`other-${i}`)))
  t.equal(count(next, 'basic_invalid_credentials'), MAX_FAILURES - 1, 'the joined copies counted as one failure, no more and no less')
})

t.test('a mix: a guesser and a pool with the right secret behind one address', async (t) => {
  const { app, burst, decide } = await serve(t)
  t.equal(await decide(header(PAYROLL_SECRET)), 'accepted', 'the pool has connected before (warm cache)')
  const mixed = Array.from({ length: N }, (_, i) => i % 2 === 0 ? header(PAYROLL_SECRET) : header(`guess-${i}`))
  const codes = await burst(mixed)
  const right = codes.filter((_, i) => i % 2 === 0)
  const wrong = codes.filter((_, i) => i % 2 === 1)
  t.same(right, Array(N / 2).fill('accepted'), 'every right request accepted, while the address is throttled')
  t.equal(count(wrong, 'basic_invalid_credentials'), MAX_FAILURES, 'the guesses: maxFailures checked')
  t.equal(count(wrong, 'basic_rate_limited'), N / 2 - MAX_FAILURES, 'the rest refused unchecked')
  t.equal(await decide(header('guess-after')), 'basic_rate_limited',
    'the accepted cached requests did not reset the failures: the guesser still waits')
  t.equal(await decide(header(PAYROLL_SECRET)), 'accepted')
  t.ok(app.authnCounters.basicCacheHits >= N / 2)
})

t.test('a request that joined a check sees a secrets reload made meanwhile', async (t) => {
  const config = resolveAuthnConfig({ basic: { cache: { maxEntries: 0 } } })
  const before = createSecretStore(new Map([[PAYROLL, await hashSecret(PAYROLL_SECRET, 'hmac-sha256', PEPPER)]]), Buffer.from(PEPPER))
  const after = createSecretStore(new Map([[PAYROLL, await hashSecret('rotated', 'hmac-sha256', PEPPER)]]), Buffer.from(PEPPER))
  // The hash waits for the test, so the reload lands while both requests are pending.
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  let hashes = 0
  const digest: typeof digestSecret = async (secret, record, pepper) => {
    hashes++
    await gate
    return await digestSecret(secret, record, pepper)
  }
  const basic = new BasicAuthenticator(config.basic, { store: before, counters: createCounters(), throttle: localThrottleStore(config.basic.rateLimit), digest })
  const encoded = Buffer.from(`${PAYROLL}:${PAYROLL_SECRET}`).toString('base64')
  const first = basic.authenticate(encoded, '192.0.2.1')
  const joined = basic.authenticate(encoded, '192.0.2.1')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(hashes, 1, 'the second request joined the first check')
  basic.replaceStore(after)
  release()
  t.match(await first, { ok: false, code: 'basic_invalid_credentials' }, 'the first is answered by the new secrets')
  t.match(await joined, { ok: false, code: 'basic_invalid_credentials' }, 'and so is the one that joined it')
  t.match(await basic.authenticate(Buffer.from(`${PAYROLL}:rotated`).toString('base64'), '192.0.2.1'), { ok: true }, 'the new secret works')
})

t.test('a reload between a check\'s answer and the requests waiting on it sends them back to the new secrets', async (t) => {
  const config = resolveAuthnConfig({ basic: { cache: { maxEntries: 0 } } })
  const before = createSecretStore(new Map([[PAYROLL, await hashSecret(PAYROLL_SECRET, 'hmac-sha256', PEPPER)]]), Buffer.from(PEPPER))
  const after = createSecretStore(new Map([[PAYROLL, await hashSecret('rotated', 'hmac-sha256', PEPPER)]]), Buffer.from(PEPPER))
  const local = localThrottleStore(config.basic.rateLimit)
  let reloadOnSuccess = true
  // The only point after the check has decided and before the waiting
  // requests resume is the throttle's success report: reload there, once.
  const throttle = {
    begin: local.begin,
    succeeded: (account: string, client: string) => {
      local.succeeded(account, client)
      if (reloadOnSuccess) { reloadOnSuccess = false; basic.replaceStore(after) }
    }
  }
  const basic: BasicAuthenticator = new BasicAuthenticator(config.basic, { store: before, counters: createCounters(), throttle })
  const encoded = Buffer.from(`${PAYROLL}:${PAYROLL_SECRET}`).toString('base64')
  const results = await Promise.all([basic.authenticate(encoded, '192.0.2.1'), basic.authenticate(encoded, '192.0.2.1')])
  t.notOk(reloadOnSuccess, 'the old secret was verified under the old secrets, then the secrets were replaced')
  t.match(results, [{ ok: false, code: 'basic_invalid_credentials' }, { ok: false, code: 'basic_invalid_credentials' }],
    'neither the check that began it nor the request that joined it is answered by the replaced secrets')
})

t.test('requests from another address do not join: each address has its own throttle', async (t) => {
  const config = resolveAuthnConfig({ basic: { rateLimit: { maxFailures: 1, delaySec: 60 } } })
  const store = createSecretStore(new Map([[PAYROLL, await hashSecret(PAYROLL_SECRET, 'hmac-sha256', PEPPER)]]), Buffer.from(PEPPER))
  const basic = new BasicAuthenticator(config.basic, { store, counters: createCounters(), throttle: localThrottleStore(config.basic.rateLimit) })
  const encode = (secret: string): string => Buffer.from(`${PAYROLL}:${secret}`).toString('base64')
  await basic.authenticate(encode('guess'), '192.0.2.66')
  const [throttled, other] = await Promise.all([basic.authenticate(encode(PAYROLL_SECRET), '192.0.2.66'), basic.authenticate(encode(PAYROLL_SECRET), '192.0.2.10')])
  t.match(throttled, { ok: false, code: 'basic_rate_limited' }, 'the throttled address waits (nothing cached yet)')
  t.match(other, { ok: true }, 'the same header from another address is checked on its own and accepted')
})
