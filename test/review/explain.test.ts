// `verdict explain` held to /v1/decide: every case of the decision table
// (test/decisions/cases.ts) is asked of the real service with real credentials,
// its policy input taken from the decision log the service wrote, and explained;
// the explanation's decision must be the service's (allow, status, reasons,
// principal, rows), and its evidence must agree with it layer by layer.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import t from 'tap'
import verdictApp from '../../src/app.js'
import { run as explainCommand } from '../../src/cli/explain.js'
import { parseConfig } from '../../src/config.js'
import { inputFromFlags, inputFromLog, loadExplainer } from '../../src/review/explain.js'
import { cases } from '../decisions/cases.js'
import { POLICY_DIR } from '../helpers/app.js'
import { startCallers } from '../helpers/callers.js'

t.setTimeout(180_000)

const work = await mkdtemp(join(tmpdir(), 'verdict-explain-'))
const callers = await startCallers()
t.teardown(async () => {
  await callers.close()
  await rm(work, { recursive: true, force: true })
})
const log = join(work, 'decisions.log')

// Every case through POST /v1/decide, the file sink recording each input.
const answers = new Map<string, Record<string, unknown>>()
const app = Fastify({ logger: false })
await app.register(verdictApp, {
  config: parseConfig({ server: { logLevel: 'silent' }, policy: { dir: POLICY_DIR }, authn: callers.authn, decisionLogs: { file: { path: log } } })
})
await app.ready()
try {
  for (const c of cases) {
    const [module, resource, id] = c.endpoint.split('/') as [string, string, string?]
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (c.caller !== 'none') headers.authorization = callers.header(c.caller)
    const res = await app.inject({
      method: 'POST',
      url: '/v1/decide',
      headers,
      payload: { request: { method: c.method, path: `/cmictest/${module}-rest-api/rest/1/${resource}${id ? '/' + id : ''}` }, ...(c.resource ? { resource: c.resource } : {}) }
    })
    const d = res.json() as Record<string, unknown>
    if (res.statusCode !== 200 || d.status !== c.status) throw new Error(`${c.caller} ${c.method} ${c.endpoint}: ${res.body}`)
    answers.set(d.decision_id as string, d)
  }
} finally {
  await app.close()
}
const explainer = await loadExplainer({ policies: POLICY_DIR })

t.test('explain agrees with /v1/decide on every case of the decision table', async (t) => {
  const events = (await readFile(log, 'utf8')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
  t.equal(events.length, cases.length, 'one logged event per case')
  let explained = 0
  let authnFailures = 0
  for (const [i, event] of events.entries()) {
    const d = answers.get(event.decision_id as string)
    if (!d) throw new Error(`no answer for ${String(event.decision_id)}`)
    if (d.status === 401) {
      // Authentication failed: the policy never ran, so there is nothing to explain.
      authnFailures++
      await t.rejects(inputFromLog(log, { line: i + 1 }), /without a replayable input/)
      continue
    }
    const input = await inputFromLog(log, { line: i + 1 })
    const x = explainer.explain(input)
    const name = `${String(event.decision_id)} ${input.action} ${input.endpoint.module}/${input.endpoint.resource}`
    t.same({ allow: x.decision.allow, status: x.decision.status, reasons: x.decision.reasons, rows: x.decision.rows },
      { allow: d.allow, status: d.status, reasons: d.reasons, rows: d.rows }, name)
    // The service names a caller the policy resolved to no account by its credential; the policy names none.
    if (x.decision.principal) t.same(x.decision.principal, { id: (d.principal as { id?: string }).id, kind: (d.principal as { kind?: string }).kind }, `${name}: principal`)
    else t.equal(x.identity?.account, null, `${name}: no account`)
    // The evidence is the decision's own: each layer's reason is the one decided.
    const reasons = d.reasons as Array<{ layer: string, code: string }>
    const api = reasons.find((r) => r.layer === 'api')
    const application = reasons.find((r) => r.layer === 'application')
    if (api) t.equal((x.api?.reason as { code?: string }).code, api.code, `${name}: api evidence`)
    if (application) {
      t.equal((x.application?.reason as { code?: string }).code, application.code, `${name}: application evidence`)
      t.equal(x.application?.consulted, true)
    }
    if (x.identity?.account !== null) t.equal(x.identity?.account, (d.principal as { id?: string }).id, `${name}: the account`)
    explained++
  }
  t.ok(explained >= 40, `${explained} decisions explained`)
  t.ok(authnFailures >= 1, `${authnFailures} authentication failures have nothing to explain`)
})

t.test('the text names each layer\'s evidence: a denied record read', async (t) => {
  const out = join(work, 'explain.txt')
  const code = await explainCommand(['--policies', POLICY_DIR, '--account', 'ACME||JSMITH', '--idp', 'local', '--method', 'GET',
    '--path', '/cmictest/jc-rest-api/rest/1/jcjob/24-101', '--company', '01', '--job', '24-101', '-o', out])
  t.equal(code, 0)
  const text = await readFile(out, 'utf8')
  t.match(text, /^## Explain: deny \(403\) — retrieve jc\/jcjob record/m)
  t.match(text, /1\. Identity: a jwt token of identity provider local naming ERP user ACME\|\|JSMITH\. Account ACME\|\|JSMITH \(user\) lists identity providers local, basic; local may speak for it\./)
  t.match(text, /2\. API security, retrieve on jc\/jcjob: API roles PROJECT_VIEWER \(retrieve on jc\/jcjob\); granting PROJECT_VIEWER;/)
  t.match(text, /3\. Application security: .*companies 01; job security groups 01: HEALTHCARE \(jobs 23-410, 23-415\)\..*Denies — job_not_in_groups/)

  // A client mapping, and an input file holding a decision-log event.
  const mapped = explainer.explain(inputFromFlags({ idp: 'entra', client: '8a4f2c71-3d5e-4b9a-9c1f-6e2d7b0a5f13', method: 'GET', path: '/cmictest/pm-rest-api/rest/1/scmast' }))
  t.same([mapped.identity?.resolved_by, mapped.identity?.account, mapped.decision.allow], ['client_mapping', 'ACME||SVC_POWERBI', true])
  const eventFile = join(work, 'event.json')
  await writeFile(eventFile, (await readFile(log, 'utf8')).split('\n')[0] ?? '')
  t.equal(await explainCommand(['--policies', POLICY_DIR, '--input', eventFile, '--format', 'json', '-o', join(work, 'x.json')]), 0)
  const json = JSON.parse(await readFile(join(work, 'x.json'), 'utf8')) as { decision: { allow: boolean }, identity: object, api: object, application: object }
  t.ok(json.identity && json.api && json.application && typeof json.decision.allow === 'boolean')
})

t.test('bad usage and bad input exit 2', async (t) => {
  const write = process.stderr.write
  let stderr = ''
  process.stderr.write = ((chunk: string | Uint8Array) => { stderr += String(chunk); return true }) as typeof process.stderr.write
  const codes: number[] = []
  try {
    codes.push(await explainCommand([]))
    codes.push(await explainCommand(['--account', 'A', '--method', 'GET']))
    codes.push(await explainCommand(['--policies', POLICY_DIR, '--account', 'A', '--method', 'BREW', '--path', '/cmictest/jc-rest-api/rest/1/jcjob']))
    codes.push(await explainCommand(['--policies', POLICY_DIR, '--log', log]))
    codes.push(await explainCommand(['--policies', POLICY_DIR, '--input', join(work, 'missing.json')]))
  } finally {
    process.stderr.write = write
  }
  t.same(codes, [2, 2, 2, 2, 2])
  t.match(stderr, /give one input/)
  t.match(stderr, /--method and --path are needed/)
  t.match(stderr, /--method BREW/)
  t.match(stderr, /holds \d+ events: pick one with --line or --decision-id/)
  t.match(stderr, /cannot read .*missing\.json/)
})
