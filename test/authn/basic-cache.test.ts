// The verified-credential cache of HTTP Basic: a right secret is hashed once
// per TTL, a wrong one every time; the cache is bounded, keyed so it holds no
// secret, emptied when the secrets file changes; a hit is accepted without
// counting as a guess, and without erasing the guesses counted.
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { stringify } from 'yaml'
import { VerifiedBasicCache } from '../../src/authn/basic-cache.js'
import { ExpiringCache } from '../../src/authn/expiring-cache.js'
import { createSecretStore, digestSecret, hashSecret, type SecretRecord } from '../../src/authn/secrets.js'
import { statBeforeRead, watchSecretsFile } from '../../src/authn/secrets-watch.js'
import { build } from '../helpers/build.js'
import { basic, buildApp } from './fixtures/app.js'

t.setTimeout(120_000)

const PEPPER = 'pepper-for-tests-0123456789abcdef'
const PAYROLL = 'ACME||SVC_PAYROLL'
const PAYROLL_SECRET = 'k7Qf:2vX9-payroll-machine-secret-8d1e'
const HR = 'ACME||SVC_HRWRITER'
const HR_SECRET = 'hr-writer-machine-secret-5c2a9b'

/** An app whose hashes are counted, on a clock the test moves. */
async function countingApp (t: Test, cache: Record<string, number> = {}, rateLimit: Record<string, number> = {}) {
  const records = new Map<string, SecretRecord>([
    [PAYROLL, await hashSecret(PAYROLL_SECRET, 'hmac-sha256', PEPPER)],
    [HR, await hashSecret(HR_SECRET, 'hmac-sha256', PEPPER)]
  ])
  let hashes = 0
  const digest: typeof digestSecret = async (secret, record, pepper) => {
    hashes++
    return await digestSecret(secret, record, pepper)
  }
  const clock = { ms: Date.now() }
  const app = await buildApp({ basic: { cache, rateLimit } }, { secrets: createSecretStore(records, Buffer.from(PEPPER)), digest, now: () => clock.ms })
  t.teardown(() => app.close())
  return { app, clock, hashes: () => hashes }
}

t.test('a verified credential is hashed once, then answered from the cache', async (t) => {
  const { app, hashes } = await countingApp(t)
  for (let i = 0; i < 5; i++) t.match(await app.authenticate(basic(PAYROLL, PAYROLL_SECRET)), { ok: true, principal: { subject: PAYROLL } })
  t.equal(hashes(), 1, 'one hash for five requests')
  t.match(app.authnCounters, { basicCacheHits: 4, basicCacheMisses: 1, basicAccepted: 5 })
})

t.test('a wrong secret after a cached right one is refused, and failures are never cached', async (t) => {
  const { app, hashes } = await countingApp(t)
  t.match(await app.authenticate(basic(PAYROLL, PAYROLL_SECRET)), { ok: true })
  t.match(await app.authenticate(basic(PAYROLL, 'wrong')), { ok: false, code: 'basic_invalid_credentials' })
  t.match(await app.authenticate(basic(PAYROLL, 'wrong')), { ok: false, code: 'basic_invalid_credentials' })
  t.match(await app.authenticate(basic(PAYROLL, `${PAYROLL_SECRET}x`)), { ok: false, code: 'basic_invalid_credentials' }, 'a longer secret')
  t.match(await app.authenticate(basic('ACME||NOBODY', PAYROLL_SECRET)), { ok: false, code: 'basic_invalid_credentials' }, "another username with the cached user's secret")
  t.equal(hashes(), 5, 'every failure was hashed again')
  t.match(await app.authenticate(basic(PAYROLL, PAYROLL_SECRET)), { ok: true }, 'the right secret still works')
  t.equal(hashes(), 5, 'from the cache')
})

t.test('an entry expires after ttlMs', async (t) => {
  const { app, clock, hashes } = await countingApp(t, { ttlMs: 5000 })
  await app.authenticate(basic(PAYROLL, PAYROLL_SECRET))
  clock.ms += 4999
  await app.authenticate(basic(PAYROLL, PAYROLL_SECRET))
  t.equal(hashes(), 1, 'fresh just before the TTL')
  clock.ms += 1
  t.match(await app.authenticate(basic(PAYROLL, PAYROLL_SECRET)), { ok: true })
  t.equal(hashes(), 2, 'hashed again at the TTL')
})

t.test('the cache is bounded: the least recently used credential goes first', async (t) => {
  const { app, hashes } = await countingApp(t, { maxEntries: 1 })
  await app.authenticate(basic(PAYROLL, PAYROLL_SECRET))
  await app.authenticate(basic(HR, HR_SECRET))
  await app.authenticate(basic(PAYROLL, PAYROLL_SECRET))
  t.equal(hashes(), 3, 'with room for one, the first was evicted by the second')

  const off = await countingApp(t, { maxEntries: 0 })
  await off.app.authenticate(basic(PAYROLL, PAYROLL_SECRET))
  await off.app.authenticate(basic(PAYROLL, PAYROLL_SECRET))
  t.equal(off.hashes(), 2, 'maxEntries 0 turns the cache off')

  const cache = new ExpiringCache<string>(2)
  cache.set('a', 'A', 100)
  cache.set('b', 'B', 100)
  t.equal(cache.get('a', 0), 'A', 'a read makes "a" the most recently used')
  cache.set('c', 'C', 100)
  t.same([cache.size, cache.get('b', 0), cache.get('a', 0), cache.get('c', 0)], [2, undefined, 'A', 'C'], '"b" was evicted, not "a"')
  for (let i = 0; i < 1000; i++) cache.set(`k${i}`, 'v', 100)
  t.equal(cache.size, 2, 'never above maxEntries')
})

t.test('the cache key is a keyed hash of the credential, different in every process', async (t) => {
  const encoded = Buffer.from(`${PAYROLL}:${PAYROLL_SECRET}`).toString('base64')
  const one = new VerifiedBasicCache({ maxEntries: 10, ttlMs: 1000 })
  const two = new VerifiedBasicCache({ maxEntries: 10, ttlMs: 1000 })
  const key = one.keyOf(encoded)
  t.equal(key, one.keyOf(encoded), 'stable within a process')
  t.not(key, two.keyOf(encoded), 'another key in another cache')
  t.notMatch(key, PAYROLL_SECRET)
  t.notMatch(key, encoded)
  const { createHash } = await import('node:crypto')
  for (const guessable of [encoded, PAYROLL_SECRET, `${PAYROLL}:${PAYROLL_SECRET}`]) {
    for (const alg of ['sha256', 'sha1', 'md5']) {
      for (const form of ['base64url', 'base64', 'hex'] as const) {
        t.not(key, createHash(alg).update(guessable).digest(form), `not a plain ${alg} of the credential`)
      }
    }
  }
})

// A cached success is accepted even from a client being throttled for that
// account. The throttle exists to stop guessing; a cache hit is not a guess:
// the entry exists only because this exact header (keyed HMAC, per-process
// key) was verified under the current secrets, so the caller already holds
// the right secret and learns nothing. Refusing it would only lock out the
// legitimate callers sharing an address (NAT, gateway) with a guesser, which
// is the lockout-by-name the throttle is designed not to allow. The hit must
// not erase the failures either, or each legitimate request would buy the
// guesser behind the same address a fresh allowance.
t.test('a cached success is accepted from a throttled client, and leaves its failures counted', async (t) => {
  const { app, hashes } = await countingApp(t, {}, { maxFailures: 2, delaySec: 60 })
  const shared = '192.0.2.66'
  t.match(await app.authenticate(basic(PAYROLL, PAYROLL_SECRET, shared)), { ok: true }, 'cached from this client')
  t.match(await app.authenticate(basic(PAYROLL, 'guess-1', shared)), { ok: false, code: 'basic_invalid_credentials' })
  t.match(await app.authenticate(basic(PAYROLL, 'guess-2', shared)), { ok: false, code: 'basic_invalid_credentials' })
  t.match(await app.authenticate(basic(PAYROLL, 'guess-3', shared)), { ok: false, code: 'basic_rate_limited' }, 'the client is throttled')
  t.match(await app.authenticate(basic(PAYROLL, PAYROLL_SECRET, shared)), { ok: true, principal: { subject: PAYROLL } },
    'the cached right secret is accepted: a cache hit is not a guess')
  t.equal(hashes(), 3, 'from the cache, not hashed')
  t.match(await app.authenticate(basic(PAYROLL, 'guess-4', shared)), { ok: false, code: 'basic_rate_limited' },
    'and the hit did not reset the failures: the next guess still waits')
  t.match(await app.authenticate(basic(PAYROLL, `${PAYROLL_SECRET}x`, shared)), { ok: false, code: 'basic_rate_limited' },
    'a near miss of the cached header is a guess like any other')
  t.match(await app.authenticate(basic(PAYROLL, PAYROLL_SECRET, '192.0.2.10')), { ok: true }, 'another client is not affected')
})

// Over real HTTP, with a real secrets file replaced as an operator (or a
// Kubernetes Secret volume) replaces it.
async function writeSecrets (path: string, records: Record<string, SecretRecord>): Promise<void> {
  await writeFile(`${path}.tmp`, stringify(records))
  await rename(`${path}.tmp`, path)
}

t.test('a secrets file change is seen at once: removed accounts and changed secrets stop working', async (t) => {
  const dir = t.testdir()
  const secretsFile = join(dir, 'secrets.yaml')
  const pepperFile = join(dir, 'pepper')
  await writeFile(pepperFile, PEPPER)
  await writeSecrets(secretsFile, {
    [PAYROLL]: await hashSecret(PAYROLL_SECRET, 'hmac-sha256', PEPPER),
    [HR]: await hashSecret(HR_SECRET, 'hmac-sha256', PEPPER)
  })
  const app = await build(t, { authn: { basic: { secretsFile, pepperFile, secretsCheckIntervalMs: 50, cache: { ttlMs: 600_000 } } } })
  const origin = await app.listen({ host: '127.0.0.1', port: 0 })
  const decide = async (username: string, secret: string): Promise<number> => {
    const res = await fetch(`${origin}/v1/decide`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${username}:${secret}`).toString('base64')}` },
      body: JSON.stringify({ request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob' } })
    })
    return ((await res.json()) as { status: number }).status
  }
  const reloads = async (): Promise<number> => {
    const text = await (await fetch(`${origin}/metrics`)).text()
    return Number(/^verdict_basic_secrets_reloads_total (\d+)/m.exec(text)?.[1] ?? NaN)
  }
  const reloaded = async (after: number): Promise<void> => {
    const deadline = Date.now() + 10_000
    while (await reloads() <= after) {
      if (Date.now() > deadline) throw new Error('the secrets file was not reloaded within 10 s')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  t.not(await decide(PAYROLL, PAYROLL_SECRET), 401, 'payroll is in')
  t.not(await decide(HR, HR_SECRET), 401, 'hr is in')
  t.not(await decide(PAYROLL, PAYROLL_SECRET), 401, 'payroll again (cached)')
  t.ok(app.authnCounters.basicCacheHits >= 1, 'the cache answered')

  const before = await reloads()
  const NEW_SECRET = 'rotated-payroll-secret-77f3e1'
  await writeSecrets(secretsFile, { [PAYROLL]: await hashSecret(NEW_SECRET, 'hmac-sha256', PEPPER) })
  await reloaded(before)
  t.equal(await decide(PAYROLL, PAYROLL_SECRET), 401, 'the old secret is refused on the first request after the reload')
  t.equal(await decide(HR, HR_SECRET), 401, 'the removed account is refused')
  t.not(await decide(PAYROLL, NEW_SECRET), 401, 'the new secret works')

  const broken = await reloads()
  await writeFile(secretsFile, 'not: [valid')
  await reloaded(broken)
  t.equal(await decide(PAYROLL, NEW_SECRET), 401, 'an invalid file leaves no account valid, cached or not')
  t.equal(app.authnCounters.secretsReloadFailures, 1)

  const fixed = await reloads()
  await writeSecrets(secretsFile, { [PAYROLL]: await hashSecret(NEW_SECRET, 'hmac-sha256', PEPPER) })
  await reloaded(fixed)
  t.not(await decide(PAYROLL, NEW_SECRET), 401, 'a fixed file is taken again')
  t.match(await readFile(secretsFile, 'utf8'), PAYROLL)
})

t.test('a file changed between its first read and the start of watching is reloaded at once', async (t) => {
  const path = join(t.testdir(), 'secrets.yaml')
  await writeFile(path, 'a: 1\n')
  const loaded = await statBeforeRead(path)
  await writeSecrets(path, {})
  // An interval far longer than the test: only the start-up comparison can call reload.
  const reloaded = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => { resolve(false) }, 5000)
    const watch = watchSecretsFile(path, 60_000, async () => { clearTimeout(timer); resolve(true) }, loaded)
    t.teardown(() => { watch.close() })
  })
  t.ok(reloaded, 'reloaded without waiting for the next change')

  let unchanged = 0
  const quiet = watchSecretsFile(path, 60_000, async () => { unchanged++ }, await statBeforeRead(path))
  t.teardown(() => { quiet.close() })
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(unchanged, 0, 'an unchanged file is not read again')
})
