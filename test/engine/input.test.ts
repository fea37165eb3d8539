// What each method and path becomes, and which are refused: not an API path,
// not canonical (a second spelling), or not served (env, version, endpoint).
import t from 'tap'
import { actionOf, checkEndpointKnown, checkWellFormed, endpointOf, illFormedStringAt, knownEndpoints, nonCanonical } from '../../src/engine/input.js'
import { decideOnce as decide } from '../../src/decision/decide.js'
import type { ParsedRequest } from '../../src/engine/decide.js'
import type { DecisionPolicy } from '../../src/engine/policy.js'
import type { Endpoint } from '../../src/engine/result.js'

t.test('methods map to CMiC actions', async (t) => {
  const table: Array<[string, string]> = [
    ['POST', 'create'], ['GET', 'retrieve'], ['HEAD', 'retrieve'],
    ['PUT', 'update'], ['PATCH', 'update'], ['DELETE', 'delete']
  ]
  for (const [method, action] of table) t.equal(actionOf(method), action, method)
  for (const bad of ['OPTIONS', 'TRACE', 'get', 'CONNECT', '', 'constructor', '__proto__']) {
    t.throws(() => actionOf(bad), { code: 'METHOD_UNKNOWN', statusCode: 400 }, `refuses ${JSON.stringify(bad)}`)
  }
})

t.test('API paths parse into endpoints', async (t) => {
  const table: Array<[string, object]> = [
    ['/cmictest/jc-rest-api/rest/1/jcjob', { env: 'cmictest', module: 'jc', version: '1', resource: 'jcjob' }],
    ['/cmicprod/pm-rest-api/rest/1/scmast/00123', { env: 'cmicprod', module: 'pm', version: '1', resource: 'scmast', id: '00123' }],
    ['/cmictest/hcm-rest-api/rest/1/pyemployee/A_B~C-1.2', { env: 'cmictest', module: 'hcm', resource: 'pyemployee', id: 'A_B~C-1.2' }]
  ]
  for (const [path, expected] of table) t.match(endpointOf(path), expected, path)
  t.notOk('id' in endpointOf('/cmictest/jc-rest-api/rest/1/jcjob'), 'no id segment, no id')
  const vocabulary = { envs: ['acmeprod'], versions: ['latest'] }
  t.match(endpointOf('/acmeprod/sys-rest-api/rest/latest/jcjobsecgrpuser', vocabulary), { env: 'acmeprod', version: 'latest', resource: 'jcjobsecgrpuser' }, 'configured env and version')
})

t.test('an env or version that is not served is PATH_UNKNOWN', async (t) => {
  t.throws(() => endpointOf('/cmicdev/jc-rest-api/rest/1/jcjob'), { code: 'PATH_UNKNOWN', statusCode: 400, message: /environment "cmicdev".*cmictest, cmicprod/ })
  t.throws(() => endpointOf('/cmictest/jc-rest-api/rest/2/jcjob'), { code: 'PATH_UNKNOWN', message: /API version "2"/ })
  t.throws(() => endpointOf('/cmictest/jc-rest-api/rest/1/jcjob', { envs: ['acmeprod'], versions: ['1'] }), { code: 'PATH_UNKNOWN' }, 'the configured list replaces the default')
})

t.test('paths outside the API are PATH_NOT_API', async (t) => {
  const bad = [
    '', '/admin/users', '/etc/passwd', '/cmictest/jc-rest-api/rest/1',
    '/cmictest/jc-api/rest/1/jcjob', '/cmictest/jc-rest-api/1/jcjob',
    '/cmictest/jc-rest-api/rest/1/jcjob/a/b', '/cmictest/JC-rest-api/rest/1/jcjob',
    '/cmictest/jc-rest-api/rest/1/jcjob/' + 'x'.repeat(129)
  ]
  for (const path of bad) t.throws(() => endpointOf(path), { code: 'PATH_NOT_API', statusCode: 400 }, path)
})

t.test('paths with a second spelling are PATH_NOT_CANONICAL, whatever they decode to', async (t) => {
  const base = '/cmictest/hcm-rest-api/rest/1/pyemptimesheet'
  const bad: Array<[string, RegExp]> = [
    // the example: allowed as pyemptimesheet, served as jcjob by a backend that decodes %5c
    [`${base}/..%5c..%5c..%5cjc-rest-api%5crest%5c1%5cjcjob`, /percent-encoded and decodes to a separator/],
    [`${base}/%252e%252e%252f`, /decodes to a separator/], // twice encoded
    [`${base}/%25252e%25252e`, /decodes to a separator/], // three times
    [`${base}/%2e%2e`, /decodes to a separator/],
    [`${base}/%2F`, /decodes to a separator/],
    [`${base}/a%3fb`, /decodes to a separator/], [`${base}/a%23b`, /decodes to a separator/],
    [`${base}/a%00`, /decodes to a separator/],
    [`${base}/A%20B`, /percent-encoded/], ['/cmictest/jc-rest-api/rest/1/jc%6aob', /percent-encoded/],
    [`${base}/..;`, /;/], [`${base}/x;jsessionid=1`, /;/],
    [`${base}/..\\..\\jc-rest-api`, /backslash/],
    [`${base}/．．／jcjob`, /non-ASCII character \(U\+FF0E\)/], [`${base}／jcjob`, /U\+FF0F/],
    ['/cmictest/ｊｃ-rest-api/rest/1/jcjob', /non-ASCII/], [`${base}/\u0441`, /non-ASCII/], // Cyrillic es
    [`${base}/\ud800`, /non-ASCII/],
    [`${base}?limit=10`, /`\?`/], [`${base}#x`, /`#`/],
    [`${base}/a\u0000`, /control character/], [`${base}/a\tb`, /control character/], [`${base}/a\u007f`, /control character/],
    [`${base}/a b`, /" "/],
    ['/cmictest/jc-rest-api/rest/1/../sys-rest-api/jcjobsecgrpuser', /dot-segment/],
    ['/cmictest/jc-rest-api/rest/../1/jcjob', /dot-segment/], ['/cmictest/jc-rest-api/rest/./jcjob', /dot-segment/],
    [`${base}/..`, /dot-segment/], [`${base}/.`, /dot-segment/],
    [`${base}/...`, /starts or ends with a dot/], [`${base}/x.`, /starts or ends with a dot/], [`${base}/.x`, /starts or ends with a dot/],
    [`${base}/`, /empty segment/], ['//jc-rest-api/rest/1/jcjob', /empty segment/], ['/cmictest//jc-rest-api/rest/1/jcjob', /empty segment/],
    ['https://evil/cmictest/jc-rest-api/rest/1/jcjob', /":"/], ['jcjob', /./]
  ]
  for (const [path, why] of bad) {
    if (path === 'jcjob') {
      t.throws(() => endpointOf(path), { code: 'PATH_NOT_API' }, 'a relative path is not an API path')
      continue
    }
    t.throws(() => endpointOf(path), { code: 'PATH_NOT_CANONICAL', statusCode: 400, message: why }, JSON.stringify(path))
  }
  t.equal(nonCanonical(base), undefined, 'the canonical path itself is fine')
})

t.test('the endpoints the policy data names', async (t) => {
  const data = {
    erp: {
      objects: { jcjob: { module: 'jc' }, odd: { description: 'no module' } },
      api: { roles: { R: { endpoints: { 'pm/scmast': ['retrieve'] } }, Broken: 'x' }, bypass: { 'sys/currency': ['retrieve'] } }
    }
  }
  const known = knownEndpoints(data)
  t.same([...known ?? []].sort(), ['jc/jcjob', 'pm/scmast', 'sys/currency'])
  t.equal(knownEndpoints({ other: {} }), undefined, 'no erp data: no list (the policy decides alone)')
  t.same([...knownEndpoints({ erp: {} }) ?? ['x']], [], 'erp data without endpoints: an empty list (every endpoint unknown)')
  const endpoint = (module: string, resource: string): Endpoint => ({ env: 'cmictest', module, version: '1', resource })
  t.doesNotThrow(() => checkEndpointKnown(known, endpoint('jc', 'jcjob')))
  t.throws(() => checkEndpointKnown(known, endpoint('hcm', 'jcjob')), { code: 'PATH_UNKNOWN', statusCode: 400, message: /"hcm\/jcjob"/ }, 'a known resource under another module')
  t.throws(() => checkEndpointKnown(known, endpoint('jc', 'JCJOB')), { code: 'PATH_UNKNOWN' }, 'endpoints are case-sensitive')
  t.doesNotThrow(() => checkEndpointKnown(undefined, endpoint('gl', 'glaccount')), 'no list: not checked here')
})

t.test('strings that are not well-formed Unicode are found wherever they are', async (t) => {
  t.equal(illFormedStringAt({ a: ['x', { b: 'ok \ud83d\ude00' }] }), undefined, 'a surrogate pair is fine')
  t.equal(illFormedStringAt({ a: ['x', { b: 'bad \ud800' }] }), '/a/1/b')
  t.equal(illFormedStringAt({ q: { '\udc00': 'x' } }), '/q/\\udc00', 'in a key (escaped in the pointer)')
  t.equal(illFormedStringAt('\ud800'), '/')
  t.equal(illFormedStringAt({ 'a/b~': '\udfff' }), '/a~1b~0')
  t.throws(() => checkWellFormed({ resource: { company: '0\ud8001' } }, 'the request'), { code: 'STRING_NOT_WELL_FORMED', statusCode: 400, message: /^the request\/resource\/company holds a string/ })
  t.doesNotThrow(() => checkWellFormed({ resource: { company: '\u0000\ufffe\uffff' } }, 'the request'), 'other odd but well-formed strings pass (the engine reads them)')
})

t.test('the engine refuses what it cannot read before evaluating', async (t) => {
  // A policy that fails the test if it is ever asked: these requests must not reach it.
  const policy: DecisionPolicy = {
    revision: 'r1',
    digest: 'sha256:0',
    entrypoint: 'verdict/decision',
    dataJson: Buffer.from('{}'),
    endpoints: new Set(['jc/jcjob']),
    evaluate: () => { throw new Error('evaluated') },
    decide: () => { throw new Error('evaluated') },
    close: async () => {}
  }
  const parsed = (body: ParsedRequest['body'], resource = 'jcjob'): ParsedRequest => ({ body, action: 'retrieve', endpoint: { env: 'cmictest', module: 'jc', version: '1', resource } })
  const request = { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob' }
  const principal = { method: 'jwt', idp: 'local', subject: 'app', erp_user: 'ACME||JSMITH\ud800', roles: [], scopes: [] } as const
  const outcome = await decide(policy, { ok: true, principal: { ...principal, roles: [] as string[], scopes: [] as string[] } }, parsed({ request }))
  t.match(outcome.decision, { allow: false, status: 401, principal: null, reasons: [{ layer: 'authentication', code: 'token_invalid' }] }, 'a claim the engine cannot read: a 401 decision')
  t.equal(outcome.input, undefined, 'no policy input was built')
  const basic = { method: 'basic' as const, idp: 'basic', subject: 'x\udc00', roles: ['\udc00'], scopes: [] as string[] }
  t.match((await decide(policy, { ok: true, principal: basic }, parsed({ request }))).decision.reasons, [{ code: 'basic_malformed' }])
  await t.rejects(decide(policy, { ok: false, code: 'credential_missing', message: 'm' }, parsed({ request: { ...request, query: { q: '\ud800' } } })), { code: 'STRING_NOT_WELL_FORMED' }, 'a body string: 400 even before the credential')
  const wellFormed = { ...basic, subject: 'ACME||SVC_PAYROLL', roles: [] }
  await t.rejects(decide(policy, { ok: true, principal: wellFormed }, parsed({ request }, 'apvoucher')), { code: 'PATH_UNKNOWN' }, 'an endpoint the data does not name')
})

t.test('a path the API grammar accepts is canonical (endpointOf checks the segments only to word a refusal)', async (t) => {
  let seed = 7
  const random = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31 }
  const pieces = ['/', '.', '..', 'a', 'Z9', '_', '-', '~', '%2e', '\\', ';', 'jc', '-rest-api', '/rest/', '1', 'jcjob', '', '//']
  const vocabulary = { envs: ['cmicprod', 'x'], versions: ['1'] }
  let accepted = 0
  for (let i = 0; i < 20_000; i++) {
    let path = random() < 0.5 ? '/cmicprod/jc-rest-api/rest/1/jcjob' : '/x/jc-rest-api/rest/1/a'
    const extra = Math.floor(random() * 4)
    for (let k = 0; k < extra; k++) path += pieces[Math.floor(random() * pieces.length)]
    try { endpointOf(path, vocabulary) } catch { continue }
    accepted++
    if (nonCanonical(path) !== undefined) t.fail(`accepted a path that is not canonical: ${path}`)
  }
  t.ok(accepted > 100, `${accepted} accepted paths checked`)
})
