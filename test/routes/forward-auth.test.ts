// /v1/forward-auth over real HTTP, in the request shapes nginx (X-Original-*),
// Traefik ForwardAuth (X-Forwarded-*) and Envoy ext_authz HTTP (original path
// appended to the prefix, original method) send. Every answer is held to
// /v1/decide's decision for the same request: 200 only when it allows (with the
// principal, the row scope and the filter in headers), 401 with WWW-Authenticate,
// 403 when denied or malformed, never a 2xx on an error.
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { headerSafe } from '../../src/routes/forward-auth.js'
import { build } from '../helpers/build.js'
import { startCallers, type CallerName } from '../helpers/callers.js'

const callers = await startCallers()
t.teardown(() => callers.close())
const app = await build(t, { authn: callers.authn })
await app.listen({ port: 0, host: '127.0.0.1' })
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

type Shape = 'nginx' | 'traefik' | 'envoy'
const SHAPES: Shape[] = ['nginx', 'traefik', 'envoy']

/** The gateway's check request for `method uri`, as that gateway sends it. */
async function ask (shape: Shape, method: string, uri: string, authorization: string, extra: Record<string, string> = {}, url = base): Promise<Response> {
  const headers: Record<string, string> = { ...extra }
  if (authorization !== '') headers.authorization = authorization
  if (shape === 'nginx') return await fetch(`${url}/v1/forward-auth`, { headers: { ...headers, 'x-original-method': method, 'x-original-uri': uri } })
  if (shape === 'traefik') {
    return await fetch(`${url}/v1/forward-auth`, {
      headers: { ...headers, 'x-forwarded-method': method, 'x-forwarded-uri': uri, 'x-forwarded-proto': 'https', 'x-forwarded-host': 'erp.example.com', 'x-forwarded-for': '10.1.2.3' }
    })
  }
  return await fetch(`${url}/v1/forward-auth${uri}`, { method, headers })
}

async function decide (caller: CallerName, method: string, path: string, query?: Record<string, string>): Promise<Record<string, any>> {
  const res = await fetch(`${base}/v1/decide`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(caller === 'none' ? {} : { authorization: callers.header(caller) }) },
    body: JSON.stringify({ request: { method, path, ...(query !== undefined ? { query } : {}) } })
  })
  return await res.json() as Record<string, any>
}

const decodeFilter = (value: string | null): unknown => value === null ? null : JSON.parse(Buffer.from(value, 'base64url').toString('utf8'))

const CASES: Array<[CallerName, string, string]> = [
  ['power bi (entra)', 'GET', '/cmictest/pm-rest-api/rest/1/scmast?limit=500'],
  ['power bi (entra)', 'GET', '/cmictest/jc-rest-api/rest/1/jcjob'],
  ['power bi (entra)', 'GET', '/cmictest/ap-rest-api/rest/1/apvendor'],
  ['payroll (basic)', 'GET', '/cmictest/hcm-rest-api/rest/1/pyemptimesheet'],
  ['procore (local)', 'GET', '/cmictest/jc-rest-api/rest/1/jcjob/23-410'],
  ['procore (local)', 'POST', '/cmictest/jc-rest-api/rest/1/jcjob'],
  ['payroll (basic)', 'DELETE', '/cmictest/jc-rest-api/rest/1/jcjob/23-410'],
  ['payroll, wrong secret (basic)', 'GET', '/cmictest/jc-rest-api/rest/1/jcjob'],
  ['none', 'GET', '/cmictest/jc-rest-api/rest/1/jcjob']
]

t.test('each gateway shape answers what /v1/decide decides', async (t) => {
  const seen = new Set<string>()
  for (const [caller, method, uri] of CASES) {
    const [path, search] = uri.split('?') as [string, string | undefined]
    const query = search === undefined ? undefined : Object.fromEntries(new URLSearchParams(search))
    const d = await decide(caller, method, path, query)
    const kind = d.allow === true ? `allow:${String(d.rows.kind)}` : String(d.status)
    seen.add(kind)
    for (const shape of SHAPES) {
      const res = await ask(shape, method, uri, caller === 'none' ? '' : callers.header(caller))
      const label = `${shape}: ${caller} ${method} ${uri} (${kind})`
      t.equal(res.status, d.status, `${label}: the decision's status`)
      t.equal(res.headers.get('cache-control'), 'no-store', `${label}: not cached`)
      t.match(res.headers.get('x-verdict-decision-id'), /^[0-9a-f-]{36}$/, `${label}: a decision id`)
      if (d.allow === true) {
        t.equal(res.headers.get('x-verdict-principal'), d.principal.id, `${label}: the principal`)
        t.equal(res.headers.get('x-verdict-rows'), d.rows.kind, `${label}: the row scope`)
        t.same(decodeFilter(res.headers.get('x-verdict-filter')), d.rows.kind === 'conditional' ? d.rows.filter : null, `${label}: the filter`)
      } else {
        t.equal(res.headers.get('x-verdict-rows'), null, `${label}: no scope on a refusal`)
        t.equal(res.headers.get('x-verdict-principal'), null, `${label}: no principal on a refusal`)
        const body = await res.json() as Record<string, unknown>
        t.same(body, { decision_id: res.headers.get('x-verdict-decision-id'), allow: false, status: d.status }, `${label}: a small body`)
      }
      if (d.status === 401) {
        t.same(res.headers.get('www-authenticate'), 'Bearer realm="verdict", Basic realm="verdict", charset="UTF-8"', `${label}: the challenges`)
      } else {
        t.equal(res.headers.get('www-authenticate'), null, `${label}: no challenge`)
      }
    }
  }
  t.same([...seen].sort(), ['401', '403', 'allow:all', 'allow:conditional'], 'the cases cover allow (all and conditional), deny and unauthenticated')
})

t.test('the query of the forwarded URI is the request query', async (t) => {
  // Through the decision log: the event's input holds what the policy saw.
  const lines: unknown[] = []
  const record = app.decisionLog.record
  app.decisionLog.record = (request, outcome) => { lines.push(outcome.request); record(request, outcome) }
  t.teardown(() => { app.decisionLog.record = record })
  for (const shape of SHAPES) {
    const res = await ask(shape, 'GET', '/cmictest/jc-rest-api/rest/1/jcjob?limit=100&filter=a%20b', callers.header('power bi (entra)'))
    t.equal(res.status, 200, shape)
  }
  t.same(lines, SHAPES.map(() => ({ request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob', query: { limit: '100', filter: 'a b' } } })), 'recorded with its query')
})

t.test('malformed forwarded requests are refused with 403, never a 2xx', async (t) => {
  const auth = callers.header('power bi (entra)')
  const JCJOB = '/cmictest/jc-rest-api/rest/1/jcjob'
  const cases: Array<[string, () => Promise<Response>, string]> = [
    ['no forwarded request at all', async () => await fetch(`${base}/v1/forward-auth`, { headers: { authorization: auth } }), 'REQUEST_INVALID'],
    ['nginx: a URI without its method', async () => await fetch(`${base}/v1/forward-auth`, { headers: { authorization: auth, 'x-original-uri': JCJOB } }), 'REQUEST_INVALID'],
    ['Traefik: a method without its URI', async () => await fetch(`${base}/v1/forward-auth`, { headers: { authorization: auth, 'x-forwarded-method': 'GET' } }), 'REQUEST_INVALID'],
    ['nginx and Traefik headers at once', async () => await ask('nginx', 'GET', JCJOB, auth, { 'x-forwarded-method': 'GET', 'x-forwarded-uri': JCJOB }), 'REQUEST_INVALID'],
    ['an Envoy path with a smuggled X-Forwarded-Uri', async () => await ask('envoy', 'DELETE', '/cmictest/jc-rest-api/rest/1/jcjob/23-410', auth, { 'x-forwarded-method': 'GET', 'x-forwarded-uri': JCJOB }), 'REQUEST_INVALID'],
    ['a path that is not an API path', async () => await ask('nginx', 'GET', '/admin/../cmictest/jc-rest-api/rest/1/jcjob', auth), 'PATH_NOT_CANONICAL'],
    ['a path of nothing', async () => await ask('traefik', 'GET', '/favicon.ico', auth), 'PATH_NOT_API'],
    ['an encoded segment', async () => await ask('envoy', 'GET', '/cmictest/jc-rest-api/rest/1/jc%6Aob', auth), 'PATH_NOT_CANONICAL'],
    ['a method that is not an action', async () => await ask('nginx', 'TRACE', JCJOB, auth), 'METHOD_UNKNOWN'],
    ['Envoy: OPTIONS', async () => await ask('envoy', 'OPTIONS', JCJOB, auth), 'METHOD_UNKNOWN'],
    ['a repeated query key', async () => await ask('traefik', 'GET', `${JCJOB}?limit=1&limit=1000`, auth), 'REQUEST_INVALID'],
    ['a fragment', async () => await ask('nginx', 'GET', `${JCJOB}#x`, auth), 'REQUEST_INVALID'],
    ['an unknown env', async () => await ask('nginx', 'GET', '/elsewhere/jc-rest-api/rest/1/jcjob', auth), 'PATH_UNKNOWN'],
    ['Envoy: a body of any type is ignored, the path still decides', async () => await fetch(`${base}/v1/forward-auth/nope`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/xml' }, body: '<x/>' }), 'PATH_NOT_API']
  ]
  for (const [label, send, code] of cases) {
    const res = await send()
    t.equal(res.status, 403, `${label}: 403`)
    t.match(await res.json(), { code, message: String }, `${label}: ${code}`)
    t.equal(res.headers.get('x-verdict-rows'), null, `${label}: no scope`)
  }
})

t.test('a filter over the header bound is refused (500), never passed on without it', async (t) => {
  const small = await build(t, { authn: callers.authn, forwardAuth: { maxFilterBytes: 256 } })
  const d = await decide('power bi (entra)', 'GET', '/cmictest/pm-rest-api/rest/1/scmast')
  t.equal(d.rows.kind, 'conditional')
  t.ok(Buffer.from(JSON.stringify(d.rows.filter)).toString('base64url').length > 256, 'this filter is over 256 characters')
  const res = await small.inject({
    method: 'GET',
    url: '/v1/forward-auth',
    headers: { authorization: callers.header('power bi (entra)'), 'x-original-method': 'GET', 'x-original-uri': '/cmictest/pm-rest-api/rest/1/scmast' }
  })
  t.equal(res.statusCode, 500)
  t.same(res.json(), { code: 'ROW_FILTER_TOO_LARGE', message: 'the decision could not be made; see the service log' })
  t.equal(res.headers['x-verdict-rows'], undefined, 'no scope')
  t.equal(res.headers['x-verdict-principal'], undefined, 'no principal')
  const within = await small.inject({
    method: 'GET',
    url: '/v1/forward-auth',
    headers: { authorization: callers.header('power bi (entra)'), 'x-original-method': 'GET', 'x-original-uri': '/cmictest/ap-rest-api/rest/1/apvendor' }
  })
  t.equal(within.statusCode, 200, 'an allow without a filter still passes')
  t.equal(within.headers['x-verdict-rows'], 'all')
})

t.test('the path is configurable', async (t) => {
  const moved = await build(t, { authn: callers.authn, forwardAuth: { path: '/authz/check' } })
  const nginx = await moved.inject({ method: 'GET', url: '/authz/check', headers: { authorization: callers.header('power bi (entra)'), 'x-original-method': 'GET', 'x-original-uri': '/cmictest/jc-rest-api/rest/1/jcjob' } })
  t.equal(nginx.statusCode, 200)
  const envoy = await moved.inject({ method: 'DELETE', url: '/authz/check/cmictest/jc-rest-api/rest/1/jcjob/23-410', headers: { authorization: callers.header('power bi (entra)') } })
  t.equal(envoy.statusCode, 403)
  const old = await moved.inject({ method: 'GET', url: '/v1/forward-auth', headers: { 'x-original-method': 'GET', 'x-original-uri': '/cmictest/jc-rest-api/rest/1/jcjob' } })
  t.equal(old.statusCode, 404, 'nothing at the default path')
})

t.test('principal header values', async (t) => {
  t.equal(headerSafe('ACME||SVC_POWERBI'), 'ACME||SVC_POWERBI', 'visible ASCII as it is')
  for (const id of ['ACME||Jöhn Smith', '100%', 'a\r\nX-Verdict-Rows: all', '公司\u{1F3D7}']) {
    const value = headerSafe(id)
    t.match(value, /^[\x21-\x7e]+$/, `${JSON.stringify(id)}: a valid header value`)
    t.equal(decodeURIComponent(value), id, `${JSON.stringify(id)}: decodes back`)
  }
})
