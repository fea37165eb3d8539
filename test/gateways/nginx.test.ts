// A real nginx (Debian's package; test/helpers/nginx.ts finds or fetches it) in
// front of a small upstream, with `auth_request` to Verdict — configured with the
// nginx snippet of docs/API.md, "Gateways", so the documented configuration is
// the tested one. Allowed requests get the upstream's answer (with Verdict's
// principal and row scope, never the client's own X-Verdict-* headers); denied,
// unauthenticated and malformed-path requests get 403, 401 and 403 and never
// reach the upstream; with Verdict down nginx answers 5xx (fails closed).
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { build } from '../helpers/build.js'
import { startCallers } from '../helpers/callers.js'
import { freePort, startNginx } from '../helpers/nginx.js'

const API_DOC = new URL('../../docs/API.md', import.meta.url)

/** The nginx snippet of docs/API.md with the test's ports in place of the documented ones. */
export function documentedNginx (ports: { verdict: number, upstream: number, nginx: number }): string {
  const doc = readFileSync(API_DOC, 'utf8')
  const m = /### nginx\s+```nginx\n([\s\S]*?)```/.exec(doc)
  if (m === null) throw new Error('docs/API.md has no ```nginx block under "### nginx"')
  let conf = m[1] as string
  const swaps: Array<[string, string]> = [
    ['server 127.0.0.1:8181;', `server 127.0.0.1:${ports.verdict};`],
    ['server 127.0.0.1:9000;', `server 127.0.0.1:${ports.upstream};`],
    ['listen 127.0.0.1:8080;', `listen 127.0.0.1:${ports.nginx};`]
  ]
  for (const [from, to] of swaps) {
    if (conf.split(from).length !== 2) throw new Error(`the nginx snippet of docs/API.md must hold "${from}" exactly once`)
    conf = conf.replace(from, to)
  }
  return conf
}

const callers = await startCallers()
t.teardown(() => callers.close())
const app = await build(t, { authn: callers.authn })
await app.listen({ port: 0, host: '127.0.0.1' })
const verdictPort = (app.server.address() as AddressInfo).port

// The upstream: answers with what it was sent.
const received: Array<{ method: string, url: string, headers: IncomingMessage['headers'] }> = []
const upstream = createServer((req, res) => {
  received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers })
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify({ upstream: true, method: req.method, url: req.url }))
})
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
t.teardown(() => new Promise<void>((resolve) => { upstream.closeAllConnections(); upstream.close(() => { resolve() }) }))
const upstreamPort = (upstream.address() as AddressInfo).port

const live = await freePort()
const down = await freePort()
const nobody = await freePort() // Verdict "down": nothing listens here
const nginxUp = await startNginx(documentedNginx({ verdict: verdictPort, upstream: upstreamPort, nginx: live }), [live])
t.teardown(() => nginxUp.close())
const nginxDown = await startNginx(documentedNginx({ verdict: nobody, upstream: upstreamPort, nginx: down }), [down])
t.teardown(() => nginxDown.close())

const SCMAST = '/cmictest/pm-rest-api/rest/1/scmast?limit=500'
const JCJOB = '/cmictest/jc-rest-api/rest/1/jcjob'

async function viaNginx (port: number, method: string, uri: string, headers: Record<string, string> = {}): Promise<{ status: number, headers: Headers, text: string, reached: boolean }> {
  const before = received.length
  const res = await fetch(`http://127.0.0.1:${port}${uri}`, { method, headers })
  const text = await res.text()
  return { status: res.status, headers: res.headers, text, reached: received.length > before }
}

async function decision (authorization: string, method: string, path: string, query?: Record<string, string>): Promise<Record<string, any>> {
  const res = await app.inject({ method: 'POST', url: '/v1/decide', headers: { authorization }, payload: { request: { method, path, ...(query ? { query } : {}) } } })
  return res.json()
}

t.test('allowed: the upstream answers, and gets Verdict\'s principal and row scope', async (t) => {
  const auth = callers.header('power bi (entra)')
  const expected = await decision(auth, 'GET', '/cmictest/pm-rest-api/rest/1/scmast', { limit: '500' })
  t.equal(expected.allow, true, 'the policy allows this request')
  t.equal(expected.rows.kind, 'conditional', 'with a row filter')
  // The client's own X-Verdict-* headers must not reach the upstream.
  const r = await viaNginx(live, 'GET', SCMAST, { authorization: auth, 'x-verdict-rows': 'all', 'x-verdict-principal': 'ACME||SECADMIN', 'x-verdict-filter': 'e30' })
  t.equal(r.status, 200)
  t.same(JSON.parse(r.text), { upstream: true, method: 'GET', url: SCMAST }, 'the upstream\'s answer')
  const seen = received.at(-1)?.headers ?? {}
  t.equal(seen['x-verdict-principal'], 'ACME||SVC_POWERBI', 'Verdict\'s principal, not the client\'s')
  t.equal(seen['x-verdict-rows'], 'conditional', 'Verdict\'s row scope, not the client\'s')
  t.same(JSON.parse(Buffer.from(String(seen['x-verdict-filter']), 'base64url').toString('utf8')), expected.rows.filter, 'the filter /v1/decide gives')
  t.match(seen['x-verdict-decision-id'], /^[0-9a-f-]{36}$/)
  t.equal(seen.authorization, auth, 'the upstream still gets the caller\'s credential')
})

t.test('allowed with no row restriction: no filter reaches the upstream, even one the client sent', async (t) => {
  const r = await viaNginx(live, 'GET', '/cmictest/ap-rest-api/rest/1/apvendor', { authorization: callers.header('power bi (entra)'), 'x-verdict-filter': 'e30' })
  t.equal(r.status, 200)
  const seen = received.at(-1)?.headers ?? {}
  t.equal(seen['x-verdict-rows'], 'all')
  t.equal(seen['x-verdict-filter'], undefined)
})

t.test('denied: 403 from nginx, the upstream never asked', async (t) => {
  const auth = callers.header('procore (local)')
  t.match(await decision(auth, 'POST', JCJOB), { allow: false, status: 403 })
  const r = await viaNginx(live, 'POST', JCJOB, { authorization: auth, 'content-type': 'application/json' })
  t.equal(r.status, 403)
  t.notOk(r.reached, 'the upstream was not asked')
  const smuggled = await viaNginx(live, 'DELETE', `${JCJOB}/23-410`, { authorization: callers.header('power bi (entra)'), 'x-forwarded-method': 'GET', 'x-forwarded-uri': JCJOB })
  t.equal(smuggled.status, 403, 'a client\'s X-Forwarded-* header does not decide instead of nginx\'s')
  t.notOk(smuggled.reached)
})

t.test('unauthenticated: 401 from nginx with Verdict\'s challenge', async (t) => {
  const cases: Array<Record<string, string>> = [{}, { authorization: callers.header('payroll, wrong secret (basic)') }]
  for (const headers of cases) {
    const r = await viaNginx(live, 'GET', JCJOB, headers)
    t.equal(r.status, 401)
    t.match(r.headers.get('www-authenticate'), /Bearer realm="verdict"/)
    t.notOk(r.reached, 'the upstream was not asked')
  }
})

t.test('malformed path: 403 from nginx, the upstream never asked', async (t) => {
  const auth = callers.header('power bi (entra)')
  for (const uri of ['/cmictest/jc-rest-api/rest/1/jc%6Aob', '/favicon.ico', '/cmictest/jc-rest-api/rest/1/jcjob;x=1', `${JCJOB}?limit=1&limit=2`]) {
    const r = await viaNginx(live, 'GET', uri, { authorization: auth })
    t.equal(r.status, 403, uri)
    t.notOk(r.reached, `${uri}: the upstream was not asked`)
  }
})

t.test('Verdict down: 5xx from nginx, the upstream never asked', async (t) => {
  const r = await viaNginx(down, 'GET', SCMAST, { authorization: callers.header('power bi (entra)') })
  t.ok(r.status >= 500 && r.status <= 599, `HTTP ${r.status}`)
  t.notOk(r.reached, 'the upstream was not asked')
})
