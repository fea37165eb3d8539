// AuthZEN over the ERP policy (model cmic), over real HTTP: subjects are ERP
// accounts, actions create/retrieve/update/delete, resources endpoints
// ("module/resource") or business records (type = object, properties = company
// and job fields). Every search answer is checked against single evaluations:
// each result evaluates to true and each candidate left out to false.
//
// The example accounts opt in to AuthZEN questions by naming the `authzen`
// identity provider in their `idps`; the test's copy of the policy directory adds
// it to every account but the retired legacy FTP bridge, which shows that an
// account that did not opt in is never answered true.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { parse, stringify } from 'yaml'
import { REPO, startAuthzen } from './harness.js'

const dir = await mkdtemp(join(tmpdir(), 'verdict-authzen-cmic-'))
await cp(join(REPO, 'policies'), dir, { recursive: true })
const accountsFile = join(dir, 'erp/accounts/data.yaml')
const accountsData = parse(await readFile(accountsFile, 'utf8')) as { users: Record<string, { idps?: string[] }> }
const LEGACY = 'ACME||SVC_LEGACY_FTP'
for (const [name, account] of Object.entries(accountsData.users)) {
  if (name !== LEGACY) account.idps = [...(account.idps ?? []), 'authzen']
}
await writeFile(accountsFile, stringify(accountsData))
const security = parse(await readFile(join(dir, 'erp/security/data.yaml'), 'utf8')) as { jobs: Record<string, Record<string, unknown>> }
const ACCOUNTS = Object.keys(accountsData.users).sort()
const ACTIONS = ['create', 'retrieve', 'update', 'delete']

const decisionLogFile = join(dir, 'decisions.log')
const pdp = await startAuthzen({ policyDir: dir, model: 'cmic', decisionLogs: { file: { path: decisionLogFile } } })
let closed = false
t.teardown(async () => {
  if (!closed) await pdp.close()
  await rm(dir, { recursive: true, force: true })
})

const account = (id: string): Record<string, string> => ({ type: 'account', id })
const job = (company: string, code: string): Record<string, unknown> => ({ type: 'jcjob', id: code, properties: { JobCompCode: company, JobCode: code } })

async function evaluation (body: Record<string, unknown>): Promise<{ decision: boolean, context?: { reasons: Array<{ id: string, reason_admin: { en: string } }> } }> {
  const res = await pdp.post('/access/v1/evaluation', { ...body, options: { include_reasons: true } })
  if (res.status !== 200) throw new Error(`evaluation answered ${res.status}: ${res.text}`)
  return res.json
}
const decision = async (body: Record<string, unknown>): Promise<boolean> => (await evaluation(body)).decision
const reasonIds = async (body: Record<string, unknown>): Promise<string[]> => ((await evaluation(body)).context?.reasons ?? []).map((r) => r.id)

t.test('single evaluations', async (t) => {
  const procore = account('ACME||SVC_PROCORE')
  t.equal(await decision({ subject: procore, action: { name: 'retrieve' }, resource: { type: 'endpoint', id: 'jc/jcjob' } }), true, 'an endpoint the account may call')
  t.equal(await decision({ subject: procore, action: { name: 'delete' }, resource: { type: 'endpoint', id: 'jc/jcjob' } }), false, 'an action its roles do not grant')
  const jobs01 = Object.keys(security.jobs['01'] ?? {})
  const allowed = []
  for (const code of jobs01) if (await decision({ subject: procore, action: { name: 'retrieve' }, resource: job('01', code) })) allowed.push(code)
  t.ok(allowed.length > 0 && allowed.length < jobs01.length, 'some jobs of company 01, not all: the record decides')
  t.equal(await decision({ subject: procore, action: { name: 'retrieve' }, resource: { type: 'jcjob', id: allowed[0] } }), false,
    'a record without its company and job is never answered with the collection\'s "some rows"')
  t.equal(await decision({ subject: procore, action: { name: 'retrieve' }, resource: { type: 'jcjob', id: 'x', properties: { JobCompCode: ['01'] } } }), false, 'fields must be scalars')

  t.same(await reasonIds({ subject: account(LEGACY), action: { name: 'retrieve' }, resource: { type: 'endpoint', id: 'jc/jcjob' } }), ['idp_not_allowed'],
    'an account that does not name the authzen provider is not answered')
  t.same(await reasonIds({ subject: account('ACME||NOBODY'), action: { name: 'retrieve' }, resource: { type: 'endpoint', id: 'jc/jcjob' } }), ['account_unknown'])
  t.same(await reasonIds({ subject: { type: 'user', id: 'ACME||SVC_PROCORE' }, action: { name: 'retrieve' }, resource: { type: 'endpoint', id: 'jc/jcjob' } }), ['subject_type_unsupported'])
  t.same(await reasonIds({ subject: procore, action: { name: 'read' }, resource: { type: 'endpoint', id: 'jc/jcjob' } }), ['action_unknown'])
  t.same(await reasonIds({ subject: procore, action: { name: 'retrieve' }, resource: { type: 'widget', id: '1' } }), ['object_unknown'])
  t.same(await reasonIds({ subject: procore, action: { name: 'retrieve' }, resource: { type: 'endpoint', id: '../jc/jcjob' } }), ['resource_invalid'])
  t.same(await reasonIds({ subject: procore, action: { name: 'retrieve' }, resource: { type: 'endpoint', id: 'zz/nothing' } }), ['path_unknown'],
    'an endpoint the policy does not know: the decision service\'s refusal, as a deny')
})

t.test('which jobs of company 01 may each account retrieve, create, update, delete', async (t) => {
  for (const name of ACCOUNTS) {
    for (const action of ACTIONS) {
      const res = await pdp.post('/access/v1/search/resource', { subject: account(name), action: { name: action }, resource: { type: 'jcjob', properties: { JobCompCode: '01' } } })
      t.equal(res.status, 200)
      const found = new Set(res.json.results.map((r: { id: string, properties: Record<string, string> }) => {
        t.equal(r.properties.JobCompCode, '01', 'only jobs of company 01')
        return r.id
      }))
      for (const code of Object.keys(security.jobs['01'] ?? {})) {
        t.equal(await decision({ subject: account(name), action: { name: action }, resource: job('01', code) }), found.has(code), `${name} ${action} job 01/${code}`)
      }
      if (name === LEGACY) t.equal(found.size, 0, 'nothing for an account that did not opt in')
    }
  }
})

t.test('which accounts may delete apvoucher', async (t) => {
  const questions = [
    { type: 'endpoint', id: 'ap/apvoucher' },
    { type: 'apvoucher', id: 'V-1', properties: { VouCompCode: '01', VouJobCode: '23-410' } },
    { type: 'apvoucher', id: 'V-2', properties: { VouCompCode: '02', VouJobCode: null } }
  ]
  for (const resource of questions) {
    const res = await pdp.post('/access/v1/search/subject', { subject: { type: 'account' }, action: { name: 'delete' }, resource })
    t.equal(res.status, 200)
    const found = new Set(res.json.results.map((r: { type: string, id: string }) => {
      t.same(Object.keys(r), ['type', 'id'])
      return r.id
    }))
    for (const name of ACCOUNTS) {
      t.equal(await decision({ subject: account(name), action: { name: 'delete' }, resource }), found.has(name), `${name} delete ${JSON.stringify(resource)}`)
    }
  }
})

t.test('which actions, and which endpoints', async (t) => {
  for (const name of ACCOUNTS) {
    const resource = job('01', '23-410')
    const res = await pdp.post('/access/v1/search/action', { subject: account(name), resource })
    const found = new Set(res.json.results.map((r: { name: string }) => r.name))
    for (const action of ACTIONS) t.equal(await decision({ subject: account(name), action: { name: action }, resource }), found.has(action), `${name} ${action} on job 01/23-410`)
  }
  const admin = account('ACME||SECADMIN')
  const res = await pdp.post('/access/v1/search/resource', { subject: admin, action: { name: 'retrieve' }, resource: { type: 'endpoint' }, page: { limit: 1000 } })
  t.ok(res.json.page.total > 0)
  const found = new Set(res.json.results.map((r: { id: string }) => r.id))
  const api = parse(await readFile(join(dir, 'erp/api/data.yaml'), 'utf8')) as { roles: Record<string, { endpoints?: Record<string, unknown> }>, bypass?: Record<string, unknown> }
  const objects = parse(await readFile(join(dir, 'erp/objects/data.yaml'), 'utf8')) as Record<string, { module: string }>
  const endpoints = new Set([
    ...Object.values(api.roles).flatMap((r) => Object.keys(r.endpoints ?? {})),
    ...Object.keys(api.bypass ?? {}),
    ...Object.entries(objects).map(([name, o]) => `${o.module}/${name}`)
  ])
  t.equal(res.json.page.total, res.json.results.length, 'one page')
  for (const id of endpoints) {
    t.equal(await decision({ subject: admin, action: { name: 'retrieve' }, resource: { type: 'endpoint', id } }), found.has(id), `retrieve ${id}`)
  }
})

// Last: closing the app flushes the decision log.
t.test('ERP questions are decided by the decision service and written to the decision log', async (t) => {
  const res = await pdp.post('/access/v1/evaluation', { subject: account('ACME||JSMITH'), action: { name: 'retrieve' }, resource: job('01', '23-410') }, { 'x-request-id': 'log-check' })
  t.equal(res.status, 200)
  await pdp.close()
  closed = true
  const events = (await readFile(decisionLogFile, 'utf8')).trim().split('\n').map((line) => JSON.parse(line))
  const mine = events.filter((e) => e.input?.principal?.erp_user === 'ACME||JSMITH' && e.input?.resource?.JobCode === '23-410')
  t.ok(mine.length >= 1, 'the evaluation is in the decision log')
  const last = mine[mine.length - 1]
  t.equal(last.path, 'verdict/decision')
  t.equal(last.result.allow, res.json.decision, 'the logged decision is the one answered')
  t.match(last.input, { action: 'retrieve', endpoint: { module: 'jc', resource: 'jcjob' }, principal: { idp: 'authzen', erp_user: 'ACME||JSMITH' } })
})
