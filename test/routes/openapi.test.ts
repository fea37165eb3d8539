// GET /docs/json: an OpenAPI 3 document that lists every route the app
// registers, and documentation that matches what the routes really answer —
// without ever changing what they answer.
import Fastify, { type RouteOptions } from 'fastify'
import t from 'tap'
import verdictApp from '../../src/app.js'
import { testConfig } from '../helpers/app.js'
import { startCallers, type CallerName } from '../helpers/callers.js'

const callers = await startCallers()
t.teardown(() => callers.close())

const routes: RouteOptions[] = []
const app = Fastify({ logger: false })
app.addHook('onRoute', (route) => { routes.push(route) })
await app.register(verdictApp, { config: testConfig({ authn: callers.authn }) })
await app.ready()
t.teardown(() => app.close())

const res = await app.inject({ method: 'GET', url: '/docs/json' })
const doc = res.json()

t.test('an OpenAPI 3 document', async (t) => {
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /application\/json/)
  t.match(doc, { openapi: /^3\./, info: { title: 'Verdict', version: /^\d+\.\d+\.\d+/ } })
})

t.test('every route is documented, with a summary or tags and responses', async (t) => {
  const methods = (r: RouteOptions): string[] => (Array.isArray(r.method) ? r.method : [r.method]).map(String)
  const documented = routes.filter((r) => !methods(r).every((m) => m === 'HEAD'))
  t.ok(documented.length >= 4, 'decide, health, metrics, docs at least')
  for (const route of documented) {
    const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\/\*$/, '/{originalPath}')
    for (const method of methods(route).filter((m) => m !== 'HEAD')) {
      const op = doc.paths?.[path]?.[method.toLowerCase()]
      t.ok(op, `${method} ${route.url} is in the document`)
      t.ok(op?.tags?.length > 0, `${method} ${route.url} has tags`)
      t.ok(op?.responses && Object.keys(op.responses).length > 0, `${method} ${route.url} documents its responses`)
    }
  }
  for (const url of ['/v1/decide', '/health', '/metrics', '/docs/json', '/v1/forward-auth', '/v1/forward-auth/{originalPath}']) t.ok(doc.paths[url], url)
})

t.test('every operation has its own operationId, and security says who may call it', async (t) => {
  const ids: string[] = []
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    for (const [method, op] of Object.entries(item)) {
      t.match(op.operationId, /^[a-z][A-Za-z0-9]+$/, `${method} ${path}: operationId`)
      ids.push(op.operationId)
    }
  }
  t.equal(new Set(ids).size, ids.length, 'operationIds are unique')
  t.same(doc.security, [{ bearerJwt: [] }, { basic: [] }], 'the caller\'s credential by default')
  t.match(doc.components.securitySchemes, { bearerJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, basic: { type: 'http', scheme: 'basic' } })
  t.match(doc.paths['/v1/decide'].post.description, /Authorization.*forwarded unchanged/, 'the forwarded Authorization is documented')
  for (const path of ['/health', '/ready', '/metrics', '/docs/json']) t.same(doc.paths[path].get.security, [], `${path} is public`)
  t.match(doc.servers, [{ url: /^http:\/\// }])
})

t.test('rows and filters are typed: the UCAST condition is a named, recursive schema', async (t) => {
  const condition = doc.components.schemas.Condition
  t.ok(condition, 'components.schemas.Condition')
  t.match(JSON.stringify(condition), /"\$ref":"#\/components\/schemas\/Condition"/, 'a compound condition holds conditions')
  const rows = doc.paths['/v1/decide'].post.responses['200'].content['application/json'].schema.properties.rows
  t.same(rows.anyOf.map((v: any) => v.properties.kind.enum[0]), ['all', 'none', 'conditional'])
  t.same(rows.anyOf[2].properties.filter, { $ref: '#/components/schemas/Condition' })
  const batchBody = doc.paths['/v1/decide/batch'].post.requestBody.content['application/json'].schema
  t.match(batchBody, { properties: { items: { type: 'array', minItems: 1, maxItems: 100, items: { properties: { request: { type: 'object' } } } } } }, 'batch items documented as decision requests')
  const fa = doc.paths['/v1/forward-auth'].get
  t.same(Object.keys(fa.responses['200'].headers).sort(), ['x-verdict-decision-id', 'x-verdict-filter', 'x-verdict-principal', 'x-verdict-rows'])
  t.ok(fa.responses['401'].headers['www-authenticate'], 'the 401 challenge')
})

t.test('POST /v1/decide: the documented request and response match the real ones', async (t) => {
  const op = doc.paths['/v1/decide'].post
  t.match(op.requestBody.content['application/json'].schema, { type: 'object', required: ['request'] })
  const documented = op.responses['200'].content['application/json'].schema
  const fields = Object.keys(documented.properties).sort()
  t.same(op.responses['400'].content['application/json'].schema.required.sort(), ['code', 'message'])
  const cases: Array<[CallerName, object]> = [
    ['power bi (entra)', { request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob' } }],
    ['payroll (basic)', { request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob' } }],
    ['payroll, wrong secret (basic)', { request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob' } }]
  ]
  for (const [caller, body] of cases) {
    const r = await app.inject({ method: 'POST', url: '/v1/decide', headers: { authorization: callers.header(caller) }, payload: body })
    const answer = r.json()
    t.same(Object.keys(answer).sort(), fields, `${caller}: every field documented, none stripped`)
    const rowsFields = new Set<string>(documented.properties.rows.anyOf.flatMap((v: { properties: object }) => Object.keys(v.properties)))
    t.same(Object.keys(answer.rows).filter((k) => !rowsFields.has(k)), [], 'rows fields documented')
    if (answer.rows.kind === 'conditional') t.ok(answer.rows.filter.type, 'the filter reaches the caller whole')
  }
  const bad = await app.inject({ method: 'POST', url: '/v1/decide', payload: { nope: 1 } })
  t.same(Object.keys(bad.json()).sort(), ['code', 'message'], 'errors are what the document says')
})
