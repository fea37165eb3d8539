// Every kind of malformed decision request gets a 4xx with { code, message } —
// never a decision, never an allow, never a 5xx, never a hang.
import t from 'tap'
import { buildApp } from '../helpers/app.js'

const valid = { request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob' } }
const json = { 'content-type': 'application/json' }

interface BadCase {
  name: string
  payload: string | Buffer
  headers?: Record<string, string>
  status: number
  code: string
  message?: RegExp
}

const cases: BadCase[] = [
  { name: 'invalid JSON', payload: '{"request": {', status: 400, code: 'INVALID_JSON' },
  { name: 'empty body', payload: '', status: 400, code: 'INVALID_JSON' },
  { name: 'JSON that is not an object', payload: '[1,2,3]', status: 400, code: 'REQUEST_INVALID' },
  { name: 'missing request', payload: JSON.stringify({ resource: { company: '01' } }), status: 400, code: 'REQUEST_INVALID', message: /request/ },
  { name: 'request without path', payload: JSON.stringify({ request: { method: 'GET' } }), status: 400, code: 'REQUEST_INVALID', message: /path/ },
  { name: 'method of the wrong type', payload: JSON.stringify({ request: { method: 1, path: valid.request.path } }), status: 400, code: 'REQUEST_INVALID' },
  { name: 'unknown method', payload: JSON.stringify({ request: { method: 'OPTIONS', path: valid.request.path } }), status: 400, code: 'METHOD_UNKNOWN' },
  { name: 'lower-case method', payload: JSON.stringify({ request: { method: 'get', path: valid.request.path } }), status: 400, code: 'METHOD_UNKNOWN' },
  { name: 'path outside the API', payload: JSON.stringify({ request: { method: 'GET', path: '/admin/users' } }), status: 400, code: 'PATH_NOT_API' },
  { name: 'path with a dot-segment', payload: JSON.stringify({ request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/../jcjob' } }), status: 400, code: 'PATH_NOT_CANONICAL', message: /dot-segment/ },
  { name: 'path with encoded backslashes (issue 9)', payload: JSON.stringify({ request: { method: 'GET', path: '/cmictest/hcm-rest-api/rest/1/pyemptimesheet/..%5c..%5c..%5cjc-rest-api%5crest%5c1%5cjcjob' } }), status: 400, code: 'PATH_NOT_CANONICAL', message: /decodes to a separator/ },
  { name: 'path with full-width dots and slash', payload: JSON.stringify({ request: { method: 'GET', path: '/cmictest/hcm-rest-api/rest/1/pyemptimesheet/．．／jcjob' } }), status: 400, code: 'PATH_NOT_CANONICAL', message: /U\+FF0E/ },
  { name: 'path with a lone surrogate', payload: '{"request":{"method":"GET","path":"/cmictest/jc-rest-api/rest/1/jcjob/\\ud800"}}', status: 400, code: 'PATH_NOT_CANONICAL' },
  { name: 'env that is not served', payload: JSON.stringify({ request: { method: 'GET', path: '/cmicdev/jc-rest-api/rest/1/jcjob' } }), status: 400, code: 'PATH_UNKNOWN', message: /cmicdev/ },
  { name: 'API version that is not served', payload: JSON.stringify({ request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/v2/jcjob' } }), status: 400, code: 'PATH_UNKNOWN', message: /v2/ },
  { name: 'lone surrogate in a query value', payload: '{"request":{"method":"GET","path":"/cmictest/jc-rest-api/rest/1/jcjob","query":{"q":"\\ud800"}}}', status: 400, code: 'STRING_NOT_WELL_FORMED', message: /\/request\/query\/q/ },
  { name: 'lone surrogate in a query key', payload: '{"request":{"method":"GET","path":"/cmictest/jc-rest-api/rest/1/jcjob","query":{"\\udc00":"x"}}}', status: 400, code: 'STRING_NOT_WELL_FORMED' },
  { name: 'lone surrogate in a resource value', payload: '{"request":{"method":"GET","path":"/cmictest/jc-rest-api/rest/1/jcjob/1"},"resource":{"JobCompCode":"0\\ud8001"}}', status: 400, code: 'STRING_NOT_WELL_FORMED', message: /resource\/JobCompCode/ },
  { name: 'body that is not UTF-8', payload: Buffer.concat([Buffer.from('{"request":{"method":"GET","path":"/cmictest/jc-rest-api/rest/1/jcjob"},"resource":{"company":"0'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}')]), status: 400, code: 'INVALID_JSON', message: /UTF-8/ },
  { name: 'unknown top-level property', payload: JSON.stringify({ ...valid, allow: true }), status: 400, code: 'REQUEST_INVALID', message: /allow|additional|Unexpected/i },
  { name: 'query value that is not a string', payload: JSON.stringify({ request: { ...valid.request, query: { limit: 100 } } }), status: 400, code: 'REQUEST_INVALID' },
  { name: 'resource with a nested object', payload: JSON.stringify({ ...valid, resource: { company: { $ne: '01' } } }), status: 400, code: 'REQUEST_INVALID' },
  { name: 'unknown SQL dialect', payload: JSON.stringify({ ...valid, sql: 'oracle' }), status: 400, code: 'SQL_DIALECT_UNKNOWN', message: /^sql dialect "oracle" is not one of postgresql, mysql, sqlite, sqlserver$/ },
  { name: 'SQL dialect in the wrong case', payload: JSON.stringify({ ...valid, sql: 'PostgreSQL' }), status: 400, code: 'SQL_DIALECT_UNKNOWN', message: /postgresql, mysql, sqlite, sqlserver/ },
  { name: 'empty SQL dialect', payload: JSON.stringify({ ...valid, sql: '' }), status: 400, code: 'SQL_DIALECT_UNKNOWN', message: /postgresql, mysql, sqlite, sqlserver/ },
  { name: 'SQL dialect that is not a string', payload: JSON.stringify({ ...valid, sql: ['postgresql'] }), status: 400, code: 'REQUEST_INVALID', message: /sql/ },
  { name: 'SQL dialect null', payload: JSON.stringify({ ...valid, sql: null }), status: 400, code: 'REQUEST_INVALID', message: /sql/ },
  { name: 'SQL dialect longer than any dialect', payload: JSON.stringify({ ...valid, sql: 'postgresql'.repeat(10) }), status: 400, code: 'REQUEST_INVALID', message: /sql/ },
  { name: '__proto__ key', payload: '{"request":{"method":"GET","path":"/cmictest/jc-rest-api/rest/1/jcjob"},"__proto__":{"allow":true}}', status: 400, code: 'INVALID_JSON' },
  { name: 'deeply nested JSON', payload: '{"request":' + '['.repeat(5000) + ']'.repeat(5000) + '}', status: 400, code: 'BODY_TOO_DEEP' },
  { name: 'a 1 MB body', payload: JSON.stringify({ ...valid, pad: 'x'.repeat(1024 * 1024) }), status: 413, code: 'BODY_TOO_LARGE' },
  { name: 'not JSON at all', payload: 'method=GET', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'JSON sent as text/plain', payload: JSON.stringify(valid), headers: { 'content-type': 'text/plain' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'JSON sent as text/plain; charset=utf-8', payload: JSON.stringify(valid), headers: { 'content-type': 'text/plain; charset=utf-8' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' }
]

t.test('malformed decision requests', async (t) => {
  const app = await buildApp()
  t.teardown(() => app.close())
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const res = await app.inject({ method: 'POST', url: '/v1/decide', headers: c.headers ?? json, payload: c.payload })
      t.equal(res.statusCode, c.status, 'status')
      const body = res.json()
      t.equal(body.code, c.code, 'code')
      t.type(body.message, 'string', 'message')
      if (c.message) t.match(body.message, c.message)
      t.notOk('allow' in body, 'no decision is made')
    })
  }

  t.test('unknown routes are a 404 with { code, message }', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/v1/nothing' })
    t.equal(res.statusCode, 404)
    t.same(Object.keys(res.json()).sort(), ['code', 'message'])
  })
})
