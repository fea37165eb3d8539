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
    const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
    for (const method of methods(route).filter((m) => m !== 'HEAD')) {
      const op = doc.paths?.[path]?.[method.toLowerCase()]
      t.ok(op, `${method} ${route.url} is in the document`)
      t.ok(op?.tags?.length > 0, `${method} ${route.url} has tags`)
      t.ok(op?.responses && Object.keys(op.responses).length > 0, `${method} ${route.url} documents its responses`)
    }
  }
  for (const url of ['/v1/decide', '/health', '/metrics', '/docs/json']) t.ok(doc.paths[url], url)
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
