// The AuthZEN doors as the specification and Verdict's house rules define them,
// over real HTTP against the Todo scenario policy: PEP authentication (API key
// raw or as Bearer, client-credentials JWTs of listed clients only; otherwise 401
// with WWW-Authenticate, or 403 for a valid token of another client), 400s with
// { code, message } for every malformed request, unknown fields ignored,
// X-Request-ID echoed, reasons only when asked, batch defaults, semantics and
// per-item errors, search pagination and its tokens, and the PDP metadata.
import t from 'tap'
import { buildApp } from '../helpers/app.js'
import { startJwksServer } from '../helpers/jwks-server.js'
import { parseConfig } from '../../src/config.js'
import { scenarioDir, startAuthzen } from './harness.js'

const RICK = 'CiRmZDA2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs'
const MORTY = 'CiRmZDE2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs'
const JERRY = 'CiRmZDQ2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs'
const EVALUATION = '/access/v1/evaluation'
const EVALUATIONS = '/access/v1/evaluations'
const todo = (owner: string): Record<string, unknown> => ({ type: 'todo', id: `t-${owner}`, properties: { ownerID: owner } })
const ask = (subject: string, action: string, resource: Record<string, unknown> = todo('x')): Record<string, unknown> =>
  ({ subject: { type: 'user', id: subject }, action: { name: action }, resource })

const idp = await startJwksServer()
const AUDIENCE = 'api://verdict'
const now = Math.floor(Date.now() / 1000)
const token = (clientId: string, extra: Record<string, unknown> = {}): string => idp.sign({
  iss: idp.issuer, aud: AUDIENCE, client_id: clientId, sub: clientId, iat: now, nbf: now, exp: now + 600, ...extra
})
const pdp = await startAuthzen({
  policyDir: scenarioDir('todo'),
  entrypoint: 'authzen/decision',
  model: 'entities',
  authn: { issuers: [{ name: 'local', profile: 'oidc', issuer: idp.issuer, audience: AUDIENCE, jwksUri: idp.jwksUri }] },
  authzen: { clients: [{ idp: 'local', clientId: 'todo-backend' }], policyDecisionPoint: 'https://pdp.example.com', pageSize: 2 }
})
t.teardown(async () => {
  await pdp.close()
  await idp.close()
})

t.test('the PEP authenticates', async (t) => {
  const body = ask(RICK, 'can_read_todos')
  const none = await pdp.post(EVALUATION, body, { authorization: '' })
  t.equal(none.status, 401)
  t.equal(none.headers.get('www-authenticate'), 'Bearer realm="verdict-authzen"')
  t.same(none.json, { code: 'PEP_UNAUTHENTICATED', message: 'no Authorization header was sent' })
  const wrong = await pdp.post(EVALUATION, body, { authorization: pdp.apiKey + 'x' })
  t.equal(wrong.status, 401)
  t.equal(wrong.headers.get('www-authenticate'), 'Bearer realm="verdict-authzen"')
  t.equal(wrong.json.code, 'PEP_UNAUTHENTICATED')
  t.same((await pdp.post(EVALUATION, body, { authorization: `Bearer ${pdp.apiKey}` })).json, { decision: true }, 'the key as a bearer credential')
  t.same((await pdp.post(EVALUATION, body)).json, { decision: true }, 'the key as the raw Authorization value (interop PEPs)')
  t.equal((await pdp.post(EVALUATION, body, { authorization: `Basic ${Buffer.from('a:' + pdp.apiKey).toString('base64')}` })).status, 401, 'not as a Basic secret')

  t.same((await pdp.post(EVALUATION, body, { authorization: `Bearer ${token('todo-backend')}` })).json, { decision: true }, 'a JWT of a listed client')
  const other = await pdp.post(EVALUATION, body, { authorization: `Bearer ${token('some-app')}` })
  t.equal(other.status, 403, 'a valid JWT of a client that is not a PEP')
  t.equal(other.json.code, 'PEP_NOT_ALLOWED')
  const expired = await pdp.post(EVALUATION, body, { authorization: `Bearer ${token('todo-backend', { exp: now - 120, iat: now - 800, nbf: now - 800 })}` })
  t.equal(expired.status, 401)
  t.equal(expired.headers.get('www-authenticate'), 'Bearer realm="verdict-authzen"')
  // Nothing of an unauthenticated request is read: malformed JSON is still a 401.
  t.equal((await pdp.post(EVALUATION, '{', { authorization: 'nope' })).status, 401)
})

t.test('the metadata is public and names every endpoint', async (t) => {
  const res = await pdp.get('/.well-known/authzen-configuration', { authorization: '' })
  t.equal(res.status, 200)
  t.same(res.json, {
    policy_decision_point: 'https://pdp.example.com',
    access_evaluation_endpoint: 'https://pdp.example.com/access/v1/evaluation',
    access_evaluations_endpoint: 'https://pdp.example.com/access/v1/evaluations',
    search_subject_endpoint: 'https://pdp.example.com/access/v1/search/subject',
    search_resource_endpoint: 'https://pdp.example.com/access/v1/search/resource',
    search_action_endpoint: 'https://pdp.example.com/access/v1/search/action'
  })
})

t.test('malformed requests are 400 with { code, message }', async (t) => {
  const cases: Array<[string, unknown, Record<string, string>, string]> = [
    ['no subject', { action: { name: 'can_read_todos' }, resource: todo('x') }, {}, 'REQUEST_INVALID'],
    ['no action', { subject: { type: 'user', id: RICK }, resource: todo('x') }, {}, 'REQUEST_INVALID'],
    ['a subject without id', { ...ask(RICK, 'can_read_todos'), subject: { type: 'user' } }, {}, 'REQUEST_INVALID'],
    ['an id that is a number', { ...ask(RICK, 'can_read_todos'), resource: { type: 'todo', id: 7 } }, {}, 'REQUEST_INVALID'],
    ['properties that are not an object', { ...ask(RICK, 'can_read_todos'), resource: { type: 'todo', id: '1', properties: 'x' } }, {}, 'REQUEST_INVALID'],
    ['a context that is an array', { ...ask(RICK, 'can_read_todos'), context: [] }, {}, 'REQUEST_INVALID'],
    ['a JSON array', [ask(RICK, 'can_read_todos')], {}, 'REQUEST_INVALID'],
    ['malformed JSON', '{"subject": {', {}, 'INVALID_JSON'],
    ['an empty body', '', { 'content-type': 'application/json' }, 'INVALID_JSON'],
    ['text/plain', JSON.stringify(ask(RICK, 'can_read_todos')), { 'content-type': 'text/plain' }, 'REQUEST_NOT_JSON'],
    ['no content type', undefined, {}, 'REQUEST_NOT_JSON'],
    ['a lone surrogate', JSON.stringify(ask(RICK, 'can_read_todos')).replace('todo', 'to\\ud800do'), {}, 'REQUEST_INVALID']
  ]
  for (const [name, body, headers, code] of cases) {
    const res = await pdp.post(EVALUATION, body, { 'x-request-id': `bad-${code.toLowerCase()}`, ...headers })
    t.equal(res.status, 400, name)
    t.equal(res.json?.code, code, name)
    t.type(res.json?.message, 'string', name)
    t.equal(res.headers.get('x-request-id'), `bad-${code.toLowerCase()}`, `${name}: X-Request-ID echoed on an error`)
  }
})

t.test('unknown fields are ignored; X-Request-ID is echoed', async (t) => {
  const plain = await pdp.post(EVALUATION, ask(MORTY, 'can_update_todo', todo('morty@the-citadel.com')), { 'x-request-id': 'req-1' })
  t.equal(plain.text, '{"decision":true}')
  t.equal(plain.headers.get('x-request-id'), 'req-1')
  const extra = await pdp.post(EVALUATION, {
    ...ask(MORTY, 'can_update_todo', { ...todo('morty@the-citadel.com'), colour: 'red' }),
    subject: { type: 'user', id: MORTY, identity: 'x', properties: { department: 'x' } },
    action: { name: 'can_update_todo', weight: 3 },
    context: { time: '2026-01-01T00:00:00Z' },
    future_field: { anything: true }
  })
  t.equal(extra.text, '{"decision":true}')
  t.equal((await pdp.post(EVALUATION, ask(MORTY, 'can_update_todo', todo('rick@the-citadel.com')))).text, '{"decision":false}')
  t.equal((await pdp.post(EVALUATION, ask(MORTY, 'can_read_todos'), { 'x-request-id': 'x'.repeat(300) })).headers.get('x-request-id'), null, 'an overlong id is not echoed')
})

t.test('reasons only when asked', async (t) => {
  const res = await pdp.post(EVALUATION, { ...ask(JERRY, 'can_delete_todo', todo('jerry@the-smiths.com')), options: { include_reasons: true } })
  t.same(res.json, {
    decision: false,
    context: { reasons: [{ id: 'action_not_granted', reason_admin: { en: 'no role of user jerry@the-smiths.com grants can_delete_todo on this resource' } }] }
  })
  t.same((await pdp.post(EVALUATION, ask(JERRY, 'can_delete_todo', todo('jerry@the-smiths.com')))).json, { decision: false })
})

t.test('evaluations: defaults, overrides, per-item errors, semantics', async (t) => {
  const base = {
    subject: { type: 'user', id: MORTY },
    action: { name: 'can_update_todo' },
    evaluations: [
      { resource: todo('rick@the-citadel.com') },
      { resource: todo('morty@the-citadel.com') },
      { action: { name: 'can_create_todo' }, resource: todo('x') },
      { subject: { type: 'user', id: JERRY }, resource: todo('jerry@the-smiths.com') }
    ]
  }
  t.same((await pdp.post(EVALUATIONS, base)).json, { evaluations: [{ decision: false }, { decision: true }, { decision: true }, { decision: false }] })
  t.same((await pdp.post(EVALUATIONS, { ...base, options: { evaluations_semantic: 'execute_all' } })).json.evaluations.length, 4)
  t.same((await pdp.post(EVALUATIONS, { ...base, options: { evaluations_semantic: 'deny_on_first_deny' } })).json, { evaluations: [{ decision: false }] })
  t.same((await pdp.post(EVALUATIONS, { ...base, options: { evaluations_semantic: 'permit_on_first_permit' } })).json, { evaluations: [{ decision: false }, { decision: true }] })
  const bad = await pdp.post(EVALUATIONS, { ...base, options: { evaluations_semantic: 'some_of_them' } })
  t.equal(bad.status, 400)
  t.equal(bad.json.code, 'REQUEST_INVALID')

  // A broken item is closed with its error; the others are still evaluated.
  const mixed = await pdp.post(EVALUATIONS, {
    action: { name: 'can_read_todos' },
    evaluations: [
      { subject: { type: 'user', id: RICK }, resource: todo('x') },
      { subject: { type: 'user', id: RICK } },
      'not an object',
      { subject: { type: 'user', id: 7 }, resource: todo('x') },
      { subject: { type: 'user', id: JERRY }, resource: todo('x') }
    ]
  })
  t.equal(mixed.status, 200)
  const [ok, noResource, notObject, badId, last] = mixed.json.evaluations
  t.same(ok, { decision: true })
  t.same(noResource.decision, false)
  t.match(noResource.context.error, { status: 400, code: 'REQUEST_INVALID', message: /resource/ })
  t.match(notObject, { decision: false, context: { error: { status: 400, code: 'REQUEST_INVALID' } } })
  t.match(badId, { decision: false, context: { error: { status: 400, message: /subject\/id/ } } })
  t.same(last, { decision: true })
  const failFirst = await pdp.post(EVALUATIONS, { evaluations: [{ subject: { type: 'user', id: RICK } }, ask(RICK, 'can_read_todos')], options: { evaluations_semantic: 'deny_on_first_deny' } })
  t.equal(failFirst.json.evaluations.length, 1, 'a failing item is a deny for deny_on_first_deny')

  t.same((await pdp.post(EVALUATIONS, ask(RICK, 'can_read_todos'))).json, { decision: true }, 'no evaluations: a single evaluation')
  t.equal((await pdp.post(EVALUATIONS, { subject: { type: 'user', id: RICK } })).status, 400, 'no evaluations and an incomplete request')
  const tooMany = await pdp.post(EVALUATIONS, { ...ask(RICK, 'can_read_todos'), evaluations: Array.from({ length: 101 }, () => ({})) })
  t.equal(tooMany.status, 400)
  t.equal(tooMany.json.code, 'BATCH_TOO_LARGE')
  const reasons = await pdp.post(EVALUATIONS, { ...base, options: { include_reasons: true } })
  t.equal(reasons.json.evaluations[1].context.reasons[0].id, 'owner_grants_action')
})

t.test('search pages and their tokens', async (t) => {
  const search = { subject: { type: 'user' }, action: { name: 'can_read_todos' }, resource: { type: 'todo', id: 'todo-1' } }
  const all: string[] = []
  let page = await pdp.post('/access/v1/search/subject', search)
  t.same(page.json.page.count, 2, 'the configured page size')
  t.equal(page.json.page.total, 5)
  for (let i = 0; i < 5 && page.json.page.next_token !== ''; i++) {
    all.push(...page.json.results.map((r: { id: string }) => r.id))
    page = await pdp.post('/access/v1/search/subject', { ...search, page: { token: page.json.page.next_token } })
    t.equal(page.status, 200)
  }
  all.push(...page.json.results.map((r: { id: string }) => r.id))
  t.equal(all.length, 5)
  t.equal(new Set(all).size, 5, 'no subject twice across pages')
  t.same(all, [...all].sort(), 'in a stable order')
  const big = await pdp.post('/access/v1/search/subject', { ...search, page: { limit: 10 } })
  t.same(big.json.page, { next_token: '', count: 5, total: 5 })

  const first = await pdp.post('/access/v1/search/subject', search)
  const other = await pdp.post('/access/v1/search/subject', { ...search, action: { name: 'can_create_todo' }, page: { token: first.json.page.next_token } })
  t.equal(other.status, 400, 'a token of another search')
  t.equal(other.json.code, 'PAGE_TOKEN_INVALID')
  const forged = Buffer.from(JSON.stringify({ o: 99, q: 'x' })).toString('base64url')
  t.equal((await pdp.post('/access/v1/search/subject', { ...search, page: { token: forged } })).json.code, 'PAGE_TOKEN_INVALID')
  t.equal((await pdp.post('/access/v1/search/subject', { ...search, page: { token: '%%%' } })).json.code, 'PAGE_TOKEN_INVALID')
  t.equal((await pdp.post('/access/v1/search/subject', { ...search, page: { limit: 0 } })).status, 400)

  t.same((await pdp.post('/access/v1/search/action', { subject: { type: 'user', id: RICK }, resource: { type: 'todo', id: '1' } })).json,
    { results: [], page: { next_token: '', count: 0, total: 0 } }, 'no actions listed in the policy data: an empty answer')
})

t.test('the doors are closed unless enabled, and open only with a PEP', async (t) => {
  const app = await buildApp()
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'POST', url: EVALUATION, payload: ask(RICK, 'can_read_todos') })
  t.equal(res.statusCode, 404)
  t.throws(() => parseConfig({ policy: { dir: 'policies' }, authzen: { enabled: true } }), /no PEP can authenticate/)
})

t.test('the OpenAPI document lists the AuthZEN operations', async (t) => {
  const doc = (await pdp.get('/docs/json')).json
  const ops: Record<string, string> = {}
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, { operationId?: string, tags?: string[] }>>)) {
    for (const [method, op] of Object.entries(item)) if (op.tags?.includes('authzen')) ops[`${method.toUpperCase()} ${path}`] = op.operationId ?? ''
  }
  t.same(ops, {
    'POST /access/v1/evaluation': 'authzenEvaluation',
    'POST /access/v1/evaluations': 'authzenEvaluations',
    'POST /access/v1/search/subject': 'authzenSearchSubject',
    'POST /access/v1/search/resource': 'authzenSearchResource',
    'POST /access/v1/search/action': 'authzenSearchAction',
    'GET /.well-known/authzen-configuration': 'authzenMetadata'
  })
})
