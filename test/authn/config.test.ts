// The authn config section: defaults, per-profile rules, and errors that
// list every problem at once.
import t from 'tap'
import { AuthnConfigError, resolveAuthnConfig, type IssuerConfigInput } from '../../src/authn/config.js'

const base: IssuerConfigInput = { name: 'idp', profile: 'oidc', issuer: 'https://idp.example', audience: 'api://verdict', discovery: 'https://idp.example/.well-known/openid-configuration' }

function problemsOf (input: unknown): string[] {
  try {
    resolveAuthnConfig(input)
  } catch (err) {
    if (err instanceof AuthnConfigError) return err.problems
    throw err
  }
  return []
}

t.test('defaults', async (t) => {
  t.same(resolveAuthnConfig(undefined), {
    issuers: [],
    trustedProxies: [],
    basic: { pepperEnv: 'VERDICT_BASIC_PEPPER', rateLimit: { maxFailures: 5, maxFailuresPerAddress: 100, windowSec: 900, delaySec: 1, maxDelaySec: 60 }, cache: { maxEntries: 10_000, ttlMs: 60_000 }, secretsCheckIntervalMs: 1000 },
    maxTokenBytes: 8192
  })
  const [issuer] = resolveAuthnConfig({ issuers: [base] }).issuers
  t.same(issuer, { ...base, audience: ['api://verdict'], algorithms: ['RS256', 'ES256'], clockToleranceSec: 30, fetchTimeoutMs: 3000, keyRefreshSec: 300, keyRefreshMinSec: 60, keyRefreshMaxSec: 3600, unknownKidMinIntervalSec: 5 })
  t.same(resolveAuthnConfig({ issuers: [{ ...base, profile: 'auth0' }] }).issuers[0]?.algorithms, ['RS256'], 'per-profile algorithms')
  const resolved = resolveAuthnConfig({ issuers: [base], basic: { secretsFile: 's.yaml', pepperFile: 'p' } })
  t.same(resolveAuthnConfig(resolved), resolved, 'resolving twice changes nothing')
})

t.test('invalid configs are refused with every problem listed', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['both key sources', { issuers: [{ ...base, jwksUri: 'https://idp.example/jwks' }] }, /exactly one of discovery or jwksUri/],
    ['no key source', { issuers: [{ ...base, discovery: undefined }] }, /exactly one of discovery or jwksUri/],
    ['discovery not a well-known URL', { issuers: [{ ...base, discovery: 'https://idp.example/config' }] }, /must end with/],
    ['key URL not a URL', { issuers: [{ ...base, discovery: undefined, jwksUri: 'not a url' }] }, /is not a URL/],
    ['plain http off loopback', { issuers: [{ ...base, discovery: undefined, jwksUri: 'http://idp.example/jwks' }] }, /must use https/],
    ['credentials in a key URL', { issuers: [{ ...base, discovery: undefined, jwksUri: 'https://u:p@idp.example/jwks' }] }, /credentials/],
    ['google without allowedClients', { issuers: [{ ...base, profile: 'google', issuer: 'https://accounts.google.com' }] }, /google requires a non-empty allowedClients/],
    ['google with empty allowedClients', { issuers: [{ ...base, profile: 'google', allowedClients: [] }] }, /google requires/],
    ['entra without tenant', { issuers: [{ ...base, profile: 'entra-v2' }] }, /require tenant/],
    ['entra issuer of another tenant', { issuers: [{ ...base, profile: 'entra-v1', issuer: 'https://sts.windows.net/a/', tenant: 'b' }] }, /must contain the tenant/],
    ['okta org authorization server', { issuers: [{ ...base, profile: 'okta', issuer: 'https://acme.okta.com' }] }, /custom authorization server/],
    ['HMAC algorithm', { issuers: [{ ...base, algorithms: ['HS256'] }] }, /algorithms/],
    ['alg none', { issuers: [{ ...base, algorithms: ['none'] }] }, /algorithms/],
    ['unknown profile', { issuers: [{ ...base, profile: 'ldap' }] }, /profile/],
    ['unknown field', { issuers: [{ ...base, jku: 'x' }] }, /issuers\/0/],
    ['duplicate names', { issuers: [base, { ...base, issuer: 'https://other.example' }] }, /names must be unique/],
    ['duplicate issuers', { issuers: [base, { ...base, name: 'other' }] }, /issuer values must be unique/],
    ['tiny token limit', { maxTokenBytes: 10 }, /maxTokenBytes/]
  ]
  for (const [name, input, expected] of cases) {
    t.match(problemsOf(input).join('\n'), expected, name)
  }
  t.ok(problemsOf({ issuers: [{ ...base, discovery: undefined, jwksUri: 'http://127.0.0.1:8080/jwks' }] }).length === 0, 'http on loopback is fine')
})
