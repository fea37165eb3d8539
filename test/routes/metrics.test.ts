// GET /metrics after real decisions: every named series is there with the value
// the decisions, the authentication counters and the policy store say.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { AUDIENCE, startCallers, type CallerName } from '../helpers/callers.js'
import { POLICY_DIR } from '../helpers/app.js'
import { startJwksServer } from '../helpers/jwks-server.js'
import { metricValue } from '../helpers/prometheus.js'
import { buildLoggingApp, jcjobList } from '../decision-log/app.js'

const callers = await startCallers()
t.teardown(() => callers.close())

t.test('decisions, latency, JWKS and process series', async (t) => {
  // An issuer whose JWKS answers 500: a real fetch failure.
  const broken = await startJwksServer()
  t.teardown(() => broken.close())
  broken.setFailStatus(500)
  const authn = {
    ...callers.authn,
    issuers: [...(callers.authn.issuers as object[]), { name: 'broken', profile: 'oidc', issuer: broken.issuer, audience: AUDIENCE, jwksUri: broken.jwksUri }]
  }
  const app = await buildLoggingApp({ authn, decisionLogs: {} })
  t.teardown(() => app.close())

  const now = Math.floor(Date.now() / 1000)
  const brokenToken = 'Bearer ' + broken.sign({ iss: broken.issuer, aud: AUDIENCE, client_id: 'x', sub: 'x', iat: now, exp: now + 600 })
  const names: CallerName[] = ['power bi (entra)', 'power bi (entra)', 'procore (local)', 'payroll (basic)', 'hr writer (basic)',
    'payroll, wrong secret (basic)', 'none', 'unknown erp user (local)']
  const headers = [...names.map((n) => n === 'none' ? {} : { authorization: callers.header(n) }), { authorization: brokenToken }]
  const expected = new Map<string, number>()
  for (const h of headers) {
    const d = (await app.inject({ method: 'POST', url: '/v1/decide', headers: h, payload: jcjobList })).json()
    const key = `verdict_decisions_total{result="${d.allow ? 'allow' : 'deny'}",status="${d.status}",layer="${d.reasons.at(-1).layer}"}`
    expected.set(key, (expected.get(key) ?? 0) + 1)
  }
  t.ok(expected.size >= 3, 'the callers produce several kinds of decision')

  const res = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const text = res.body
  for (const [series, count] of expected) t.equal(metricValue(text, series), count, series)
  const total = [...text.matchAll(/^verdict_decisions_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0)
  t.equal(total, headers.length, 'no other decision series')

  t.equal(metricValue(text, 'verdict_decision_duration_seconds_count'), headers.length, 'one latency observation per decision')
  t.ok((metricValue(text, 'verdict_decision_duration_seconds_sum') ?? 0) > 0)
  t.equal(metricValue(text, 'verdict_decision_duration_seconds_bucket{le="+Inf"}'), headers.length)

  const counters = app.authnCounters
  t.ok(counters.jwksFetches >= 3, 'entra, local and broken issuers were fetched')
  t.ok(counters.jwksFailures >= 1, 'the broken issuer failed')
  t.equal(metricValue(text, 'verdict_jwks_fetches_total'), counters.jwksFetches)
  t.equal(metricValue(text, 'verdict_jwks_fetch_failures_total'), counters.jwksFailures)

  t.equal(metricValue(text, 'verdict_policy_activations_total{source="dir"}'), 1, 'the policy loaded at start')
  t.match(text, /^process_cpu_user_seconds_total \d/m, 'default process metrics')
  t.match(text, /^nodejs_heap_size_total_bytes \d/m)
  t.match(text, /# HELP verdict_decision_log_dropped_total /, 'the decision-log series are declared')
})

t.test('policy activations and failures follow the policy store', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-metrics-policy-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await cp(POLICY_DIR, dir, { recursive: true })
  const { parseConfig } = await import('../../src/config.js')
  const Fastify = (await import('fastify')).default
  const fp = (await import('fastify-plugin')).default
  const verdictApp = (await import('../../src/app.js')).default
  const app = Fastify({ logger: false })
  await app.register(fp(verdictApp), { config: parseConfig({ server: { logLevel: 'silent' }, policy: { dir, watch: false } }) })
  await app.ready()
  t.teardown(() => app.close())

  // A changed file (unchanged files are not recompiled): a real activation.
  await writeFile(join(dir, 'verdict', 'decision.rego'), `${await readFile(join(dir, 'verdict', 'decision.rego'), 'utf8')}\n# changed\n`)
  await app.policy.load()
  await writeFile(join(dir, 'verdict', 'broken.rego'), 'package verdict.broken\n\nthis is not rego\n')
  await t.rejects(app.policy.load(), 'a syntax error is refused')
  const text = (await app.inject('/metrics')).body
  t.equal(metricValue(text, 'verdict_policy_activations_total{source="dir"}'), 2)
  t.equal(metricValue(text, 'verdict_policy_activation_failures_total{source="dir"}'), 1)
})

t.test('a policy that fails at start is counted as a failure', async (t) => {
  const { parseConfig } = await import('../../src/config.js')
  const Fastify = (await import('fastify')).default
  const fp = (await import('fastify-plugin')).default
  const verdictApp = (await import('../../src/app.js')).default
  const broken = Fastify({ logger: false })
  await broken.register(fp(verdictApp), { config: parseConfig({ server: { logLevel: 'silent' }, policy: { bundleFile: '/nonexistent/bundle.tar.gz' } }) })
  await broken.ready()
  t.teardown(() => broken.close())
  const text = (await broken.inject('/metrics')).body
  t.equal(metricValue(text, 'verdict_policy_activation_failures_total{source="file"}'), 1)
  t.equal(metricValue(text, 'verdict_policy_activations_total{source="file"}'), undefined)
})
