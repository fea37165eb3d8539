// POST /v1/explain: off by default, only callers holding a configured admin role,
// the explanation's decision equal to the served one (/v1/decide), a policy
// directory edited but not reloaded refused rather than explained.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import verdictApp from '../../src/app.js'
import { parseConfig } from '../../src/config.js'
import { buildApp, POLICY_DIR } from '../helpers/app.js'
import { startCallers, type CallerName } from '../helpers/callers.js'

t.setTimeout(180_000)

const callers = await startCallers()
const dir = await mkdtemp(join(tmpdir(), 'verdict-explain-route-'))
await cp(POLICY_DIR, join(dir, 'policies'), { recursive: true })
const policies = join(dir, 'policies')
t.teardown(async () => {
  await callers.close()
  await rm(dir, { recursive: true, force: true })
})

// The Entra test tokens carry the app role Verdict.Decide; Basic callers carry none.
const ADMIN = 'Verdict.Decide'
async function explainApp (dir: string): Promise<FastifyInstance> {
  const config = parseConfig({ server: { logLevel: 'silent' }, policy: { dir, watch: false }, authn: callers.authn, explain: { enabled: true, adminRoles: [ADMIN] } })
  const app = Fastify({ logger: false })
  await app.register(verdictApp, { config })
  await app.ready()
  return app
}
const JSMITH_RECORD = { account: 'ACME||JSMITH', idp: 'local', method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob/24-101', company: '01', job: '24-101' }

t.test('off unless configured', async (t) => {
  const app = await buildApp({ authn: callers.authn })
  t.teardown(async () => await app.close())
  const res = await app.inject({ method: 'POST', url: '/v1/explain', headers: { authorization: callers.header('power bi (entra)') }, payload: JSMITH_RECORD })
  t.equal(res.statusCode, 404)
  t.equal(res.json().code, 'NOT_FOUND')
  t.throws(() => parseConfig({ policy: { dir: POLICY_DIR }, explain: { enabled: true } }), /explain\/adminRoles: name the IdP app roles/)
  t.throws(() => parseConfig({ policy: { bundleFile: 'x.tar.gz' }, explain: { enabled: true, adminRoles: [ADMIN] } }), /POST \/v1\/explain needs policy\.dir/)
})

t.test('admins only; the explanation is the served decision with each layer\'s evidence', async (t) => {
  const app = await explainApp(policies)
  t.teardown(async () => await app.close())
  const ask = async (caller: CallerName | null, payload: object, to = app): Promise<{ statusCode: number, json: () => any }> =>
    await to.inject({ method: 'POST', url: '/v1/explain', headers: caller ? { authorization: callers.header(caller) } : {}, payload })

  const none = await ask(null, JSMITH_RECORD)
  t.equal(none.statusCode, 401)
  t.equal(none.json().code, 'EXPLAIN_UNAUTHENTICATED')
  const basic = await ask('payroll (basic)', JSMITH_RECORD)
  t.equal(basic.statusCode, 403, 'a valid caller without an admin role')
  t.equal(basic.json().code, 'EXPLAIN_FORBIDDEN')

  const res = await ask('power bi (entra)', JSMITH_RECORD)
  t.equal(res.statusCode, 200)
  const x = res.json()
  const decided = (await app.inject({
    method: 'POST',
    url: '/v1/decide',
    headers: { authorization: callers.header('jane smith (local)') },
    payload: { request: { method: 'GET', path: JSMITH_RECORD.path }, resource: { company: '01', job: '24-101' } }
  })).json()
  t.same({ allow: x.decision.allow, status: x.decision.status, reasons: x.decision.reasons }, { allow: decided.allow, status: decided.status, reasons: decided.reasons })
  t.same(x.decision.reasons.map((r: { code: string }) => r.code), ['role_grants_action', 'job_not_in_groups'])
  t.same([x.identity.account, x.identity.resolved_by, x.api.granting_roles, x.application.groups], ['ACME||JSMITH', 'erp_user', ['PROJECT_VIEWER'], { '01': { HEALTHCARE: ['23-410', '23-415'] } }])
  t.same(x.policy.digest, decided.policy.digest)

  const bad = await ask('power bi (entra)', { ...JSMITH_RECORD, method: 'BREW' })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().code, 'REQUEST_INVALID')
  const extra = await ask('power bi (entra)', { ...JSMITH_RECORD, principal: {} })
  t.equal(extra.statusCode, 400)

  // The directory edited but not reloaded (no watch) before a second service first
  // explains: its explanation would be of another policy than the one deciding, so it is refused.
  const second = await explainApp(policies)
  t.teardown(async () => await second.close())
  const security = join(policies, 'erp', 'security', 'data.yaml')
  await writeFile(security, (await readFile(security, 'utf8')).replace('"ACME||JSMITH":\n    "01": { groups: [HEALTHCARE] }', '"ACME||JSMITH":\n    "01": { groups: [EDUCATION] }'))
  const stale = await ask('power bi (entra)', JSMITH_RECORD, second)
  t.equal(stale.statusCode, 409)
  t.equal(stale.json().code, 'EXPLAIN_STALE')
  t.match(stale.json().message, /differs from the served policy/)
})
