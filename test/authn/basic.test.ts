// HTTP Basic for service accounts: hashed secrets from a YAML file, one code
// for unknown user and wrong secret, the same hash for both, rate limiting.
import t, { type Test } from 'tap'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { parseBasicCredential } from '../../src/authn/basic.js'
import { resolveAuthnConfig } from '../../src/authn/config.js'
import {
  createSecretStore, digestSecret, hashSecret, loadPepper, parseSecrets, SecretsError, type SecretRecord
} from '../../src/authn/secrets.js'
import { basic, buildApp } from './fixtures/app.js'

t.setTimeout(120_000)

const PEPPER = 'pepper-for-tests-0123456789abcdef'
const PAYROLL = 'ACME||SVC_PAYROLL'
const PAYROLL_SECRET = 'k7Qf:2vX9-payroll-machine-secret-8d1e'
const HR = 'ACME||SVC_HR'
const HR_SECRET = 'correct horse battery staple'

async function secretsFile (t: Test): Promise<string> {
  const dir = t.testdir()
  const path = join(dir, 'secrets.yaml')
  const records: Record<string, SecretRecord> = {
    [PAYROLL]: await hashSecret(PAYROLL_SECRET, 'hmac-sha256', PEPPER),
    [HR]: await hashSecret(HR_SECRET, 'scrypt')
  }
  await writeFile(path, stringify(records))
  return path
}

t.test('service accounts authenticate with hashed secrets from the file', async (t) => {
  const app = await buildApp({ basic: { secretsFile: await secretsFile(t) } }, { env: { VERDICT_BASIC_PEPPER: PEPPER } })
  t.teardown(() => app.close())

  t.same(await app.authenticate(basic(PAYROLL, PAYROLL_SECRET)), {
    ok: true,
    principal: { method: 'basic', idp: 'basic', subject: PAYROLL, erp_user: PAYROLL, roles: [], scopes: [] }
  }, 'hmac-sha256 record; the secret itself contains a colon')
  t.match(await app.authenticate(basic(HR, HR_SECRET)), { ok: true, principal: { subject: HR } }, 'scrypt record')
  t.match(await app.authenticate({ headers: { authorization: `basic ${Buffer.from(`${HR}:${HR_SECRET}`).toString('base64')}` } }),
    { ok: true }, 'the scheme name is case-insensitive')

  t.match(await app.authenticate(basic(PAYROLL, 'wrong')), { ok: false, code: 'basic_invalid_credentials' }, 'wrong secret')
  t.match(await app.authenticate(basic(HR, '')), { ok: false, code: 'basic_invalid_credentials' }, 'empty secret')
  t.match(await app.authenticate(basic('ACME||NOBODY', PAYROLL_SECRET)), { ok: false, code: 'basic_invalid_credentials' }, 'unknown user: same code')
  t.equal(app.authnCounters.basicAccepted, 3)
  t.equal(app.authnCounters.basicRejected, 3)
})

t.test('malformed Basic credentials', async (t) => {
  const app = await buildApp({})
  t.teardown(() => app.close())
  const b64 = (s: string): string => Buffer.from(s).toString('base64')
  const variants: Array<[string, string]> = [
    ['no credential', 'Basic'],
    ['empty credential', 'Basic   '],
    ['not base64', 'Basic !!!not-base64!!!'],
    ['base64 without padding', 'Basic YWJjZA'],
    ['no colon', `Basic ${b64('ACME||SVC_PAYROLL')}`],
    ['empty username', `Basic ${b64(':secret')}`],
    ['username with a control character', `Basic ${b64('ACME||SVC\n:secret')}`],
    ['username over 256 characters', `Basic ${b64(`${'U'.repeat(257)}:secret`)}`],
    ['credential over 2 KiB', `Basic ${b64(`user:${'s'.repeat(2000)}`)}`]
  ]
  for (const [name, authorization] of variants) {
    const result = await app.authenticate({ headers: { authorization } })
    t.match(result, { ok: false, code: 'basic_malformed' }, name)
  }
})

t.test('the username ends at the first colon', async (t) => {
  t.match(parseBasicCredential(Buffer.from('ACME||SVC:a:b:c').toString('base64')), { ok: true, username: 'ACME||SVC', secret: 'a:b:c' })
})

t.test('failures bring a growing delay for that account from that client, never a lockout', async (t) => {
  // A clock that moves only when the test says so: the waits are exact.
  const start = Date.now()
  let offsetMs = 0
  const app = await buildApp(
    { basic: { secretsFile: await secretsFile(t), rateLimit: { maxFailures: 3, maxFailuresPerAddress: 100, windowSec: 600, delaySec: 1, maxDelaySec: 4 } } },
    { env: { VERDICT_BASIC_PEPPER: PEPPER }, now: () => start + offsetMs })
  t.teardown(() => app.close())
  const attacker = '192.0.2.66'
  const service = '192.0.2.10'

  for (let i = 0; i < 3; i++) {
    t.match(await app.authenticate(basic(PAYROLL, `guess-${i}`, attacker)), { code: 'basic_invalid_credentials' }, `guess ${i} is checked`)
  }
  t.match(await app.authenticate(basic(PAYROLL, 'guess-3', attacker)), { ok: false, code: 'basic_rate_limited' }, 'the 4th attempt must wait')
  t.match(await app.authenticate(basic(PAYROLL, PAYROLL_SECRET, attacker)), { ok: false, code: 'basic_rate_limited' }, 'even with the right secret, from the failing client')
  t.match(await app.authenticate(basic(PAYROLL, PAYROLL_SECRET, service)), { ok: true }, 'the account is not locked: another client gets in')
  t.equal(app.authnCounters.basicRateLimited, 2)

  offsetMs = 1000
  t.match(await app.authenticate(basic(PAYROLL, 'guess-4', attacker)), { code: 'basic_invalid_credentials' }, 'after 1 s one more guess is checked')
  offsetMs = 2500
  t.match(await app.authenticate(basic(PAYROLL, 'guess-5', attacker)), { code: 'basic_rate_limited' }, 'the next wait is 2 s')
  offsetMs = 3000
  t.match(await app.authenticate(basic(PAYROLL, 'guess-5', attacker)), { code: 'basic_invalid_credentials' })
  offsetMs = 6000
  t.match(await app.authenticate(basic(PAYROLL, 'guess-6', attacker)), { code: 'basic_rate_limited' }, 'then 4 s')
  offsetMs = 7000
  t.match(await app.authenticate(basic(PAYROLL, PAYROLL_SECRET, attacker)), { ok: true }, 'the right secret works (cached: the service proved it)')
  t.match(await app.authenticate(basic(PAYROLL, 'typo', attacker)), { code: 'basic_invalid_credentials' }, 'the 4 s wait is over: one more guess is checked')
  t.match(await app.authenticate(basic(PAYROLL, 'typo-2', attacker)), { code: 'basic_rate_limited' },
    'the cache hit did not forget the failures: the wait grows on')
})

t.test('100 wrong secrets from one client behind a trusted proxy throttle only that client', async (t) => {
  const gateway = '10.1.2.3'
  const app = await buildApp(
    // Waits of a minute, so a slow machine cannot let the throttled client through mid-test.
    { trustedProxies: ['10.0.0.0/8'], basic: { secretsFile: await secretsFile(t), rateLimit: { delaySec: 60 } } },
    { env: { VERDICT_BASIC_PEPPER: PEPPER } })
  t.teardown(() => app.close())
  const via = (username: string, secret: string, client: string, peer = gateway): Parameters<typeof app.authenticate>[0] =>
    ({ ...basic(username, secret, peer), headers: { ...basic(username, secret, peer).headers, 'x-forwarded-for': `${client}, 10.9.9.9` } })

  const outcomes = new Map<string, number>()
  for (let i = 0; i < 100; i++) {
    const r = await app.authenticate(via(PAYROLL, `wrong-${i}`, '203.0.113.9'))
    const code = r.ok ? 'ok' : r.code
    outcomes.set(code, (outcomes.get(code) ?? 0) + 1)
  }
  t.same(Object.fromEntries(outcomes), { basic_invalid_credentials: 5, basic_rate_limited: 95 },
    'five guesses were checked, the other 95 refused unchecked')

  let accepted = 0
  for (let i = 0; i < 251; i++) {
    const r = await app.authenticate(via(PAYROLL, PAYROLL_SECRET, `198.51.100.${i % 250}`))
    if (r.ok) accepted++
  }
  t.equal(accepted, 251, 'all 251 valid requests from other clients behind the same gateway succeed')
  t.match(await app.authenticate(via(PAYROLL, 'wrong-100', '203.0.113.9')), { ok: false, code: 'basic_rate_limited' },
    'the throttled client is still refused, with a clear code')
  // The right secret is in the verified-credential cache by now: a hit is not
  // a guess, so it is accepted even from the throttled client (basic.ts says why).
  t.match(await app.authenticate(via(PAYROLL, PAYROLL_SECRET, '203.0.113.9')), { ok: true },
    'the already verified right secret is accepted from the throttled client')
  t.match(await app.authenticate(via(PAYROLL, 'wrong-101', '203.0.113.9')), { ok: false, code: 'basic_rate_limited' },
    'without resetting its failures')

  // X-Forwarded-For from a peer that is not a trusted proxy is not believed:
  // a new forged address per attempt does not buy new guesses.
  const codes: string[] = []
  for (let i = 0; i < 8; i++) {
    const r = await app.authenticate(via(HR, `wrong-${i}`, `198.18.0.${i}`, '192.0.2.200'))
    codes.push(r.ok ? 'ok' : r.code)
  }
  t.same(codes.slice(5), ['basic_rate_limited', 'basic_rate_limited', 'basic_rate_limited'], 'the peer itself is throttled after 5')
})

t.test('failures spread over many accounts throttle the client address', async (t) => {
  const app = await buildApp(
    { basic: { secretsFile: await secretsFile(t), rateLimit: { maxFailures: 5, maxFailuresPerAddress: 8, delaySec: 60 } } },
    { env: { VERDICT_BASIC_PEPPER: PEPPER } })
  t.teardown(() => app.close())
  for (let i = 0; i < 8; i++) await app.authenticate(basic(`ACME||GHOST_${i}`, 'x', '10.0.0.1'))
  t.match(await app.authenticate(basic(HR, HR_SECRET, '10.0.0.1')), { ok: false, code: 'basic_rate_limited' }, 'address 10.0.0.1 must wait')
  t.match(await app.authenticate(basic(HR, HR_SECRET, '10.0.0.3')), { ok: true }, 'another address need not')
})

t.test('an unknown user runs the same hash as a known one', async (t) => {
  const records = new Map<string, SecretRecord>([[HR, await hashSecret(HR_SECRET, 'scrypt')]])
  const store = createSecretStore(records, undefined)
  const hashed: SecretRecord[] = []
  const digest: typeof digestSecret = async (secret, record, pepper) => {
    hashed.push(record)
    return await digestSecret(secret, record, pepper)
  }
  const app = await buildApp({}, { secrets: store, digest })
  t.teardown(() => app.close())

  t.match(await app.authenticate(basic('ACME||NOBODY', 'guess')), { code: 'basic_invalid_credentials' })
  t.equal(hashed.length, 1, 'the hash ran once for the unknown user')
  t.equal(hashed[0], store.dummy, 'against the dummy record')
  t.equal(store.dummy.scheme, 'scrypt', 'which mirrors the costliest scheme in the file')
  const dummy = store.dummy as Extract<SecretRecord, { scheme: 'scrypt' }>
  const real = records.get(HR) as Extract<SecretRecord, { scheme: 'scrypt' }>
  t.match(dummy, { N: real.N, r: real.r, p: real.p }, 'with the same cost parameters')

  await app.authenticate(basic(HR, 'guess'))
  t.equal(hashed[1], records.get(HR), 'a known user is hashed with its own record')
})

t.test('secrets file and pepper handling', async (t) => {
  t.throws(() => parseSecrets('u: { scheme: md5, hash: abc }'), SecretsError, 'unknown scheme refused')
  t.throws(() => parseSecrets('u: { scheme: scrypt, salt: AA==, hash: AA==, N: 2, r: 8, p: 1 }'), SecretsError, 'N out of bounds')
  t.throws(() => parseSecrets('- not a map'), SecretsError)
  t.same([...parseSecrets('').keys()], [], 'an empty file has no accounts')
  const err = t.throws(() => parseSecrets('u: { scheme: hmac-sha256, hash: "not base64!" }')) as Error
  t.notMatch(err.message, 'not base64!', 'errors name the place, never the value')

  const hmacOnly = new Map<string, SecretRecord>([['u', { scheme: 'hmac-sha256', hash: 'AA==' }]])
  t.throws(() => createSecretStore(hmacOnly, undefined), SecretsError, 'hmac records need a pepper')
  t.equal(createSecretStore(hmacOnly, Buffer.from(PEPPER)).dummy.scheme, 'hmac-sha256')
  await t.rejects(hashSecret('s', 'hmac-sha256', 'short'), SecretsError, 'a short pepper is refused')

  const basicConfig = resolveAuthnConfig({}).basic
  t.equal((await loadPepper(basicConfig, { VERDICT_BASIC_PEPPER: PEPPER }))?.toString(), PEPPER, 'pepper from the default env variable')
  t.equal(await loadPepper(basicConfig, {}), undefined, 'no pepper configured')
  await t.rejects(loadPepper(basicConfig, { VERDICT_BASIC_PEPPER: 'short' }), SecretsError)
  const pepperFile = join(t.testdir(), 'pepper')
  await writeFile(pepperFile, `${PEPPER}\n`)
  t.equal((await loadPepper({ ...basicConfig, pepperFile }, {}))?.toString(), PEPPER, 'pepper from a file, newline trimmed')

  await t.rejects(buildApp({ basic: { secretsFile: join(t.testdir(), 'missing.yaml') } }), 'a missing secrets file fails at start-up')
})
