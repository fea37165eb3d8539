// Issue 9, item 1: the policy data has a schema (src/contract/policy-data.ts,
// committed as schemas/policy-data.json) and references that must resolve. The
// data check names the file, the line, the key path and what is wrong; `verdict
// check` and the loader refuse the data, and a loaded policy keeps serving while
// /health says degraded.
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { run as check } from '../../src/cli/check.js'
import { createPolicyStore } from '../../src/lifecycle/store.js'
import { formatProblem } from '../../src/toolchain/compiler.js'
import { checkPolicyData } from '../../src/toolchain/policy-data-check.js'
import { SCHEMA_FILES, schemaText } from '../../src/toolchain/schema-files.js'
import { buildApp, POLICY_DIR } from '../helpers/app.js'
import { buildAppWithInternals } from '../helpers/app-internals.js'
import { capture, copyPolicies } from '../engine/helpers.js'

const REPO = new URL('../..', import.meta.url).pathname
const GLOBEX = new URL('tenants/globex', import.meta.url).pathname

/** Replaces `from` (which must occur) in a data file of the copy. */
async function edit (policies: string, section: string, from: string | RegExp, to: string): Promise<string> {
  const file = join(policies, 'erp', section, 'data.yaml')
  const text = await readFile(file, 'utf8')
  const next = text.replace(from, to)
  if (next === text) throw new Error(`${String(from)} not found in ${file}`)
  await writeFile(file, next)
  return file
}

t.test('the committed schemas are what their TypeBox sources generate', async (t) => {
  for (const [path, schema] of Object.entries(SCHEMA_FILES)) {
    t.equal(await readFile(join(REPO, path), 'utf8'), schemaText(schema), `${path} is up to date (run node scripts/write-schemas.mjs)`)
  }
})

t.test('the example data and a second tenant\'s data pass', async (t) => {
  t.same(await checkPolicyData(POLICY_DIR), [])
  t.same(await checkPolicyData(GLOBEX), [])
})

t.test('each kind of mistake: file, line, key path and message', async (t) => {
  const cases: Array<[string, string, string | RegExp, string, string, RegExp]> = [
    ['an unknown key (the misspelt company_field of issue 9)', 'objects', '  company_field: EmpCompCode\n', '  company_fiel: EmpCompCode\n',
      'objects', /:\d+:3: data_schema: data\.erp\.objects\.pyemployee\.company_fiel: unknown key/],
    ['a wrong type', 'security', '    all_jobs: true\n', '    all_jobs: "yes"\n',
      'security', /:\d+:\d+: data_schema: data\.erp\.security\.groups\["01"\]\.MASTER\.all_jobs: expected boolean \(is "yes"\)/],
    ['a value outside its list', 'objects', 'rows_without_job: company', 'rows_without_job: companies',
      'objects', /data\.erp\.objects\.apvoucher\.rows_without_job: is "companies"; expected one of "none", "company"/],
    ['a list where one name was meant', 'accounts', 'idps: [basic]\n    name: Payroll import', 'idps: basic\n    name: Payroll import',
      'accounts', /data\.erp\.accounts\.users\["ACME\|\|SVC_PAYROLL"\]\.idps: expected array \(is "basic"\)/],
    ['a missing required key', 'accounts', '    idps: [entra, local]\n', '',
      'accounts', /data\.erp\.accounts\.users\["ACME\|\|SVC_POWERBI"\]\.idps: required key is missing/],
    ['a role naming a missing endpoint', 'api', '      hcm/pyemployee: [create]', '      hcm/pyemployees: [create]',
      'api', /:\d+:7: data_reference: data\.erp\.api\.roles\.HR_WRITER\.endpoints\["hcm\/pyemployees"\]: endpoint hcm\/pyemployees names no business object/],
    ['an endpoint in the wrong module', 'api', 'sys/currency: [retrieve]', 'ap/currency: [retrieve]',
      'api', /data\.erp\.api\.bypass\["ap\/currency"\]: endpoint ap\/currency: business object currency is declared in module sys, not ap/],
    ['an account assigned a missing role', 'api', '"ACME||JSMITH": [PROJECT_VIEWER]', '"ACME||JSMITH": [PROJECT_VIEWR]',
      'api', /data\.erp\.api\.assignments\["ACME\|\|JSMITH"\]\[0\]: role "PROJECT_VIEWR" is not defined in api\.roles/],
    ['roles assigned to a missing account', 'api', '"ACME||JSMITH": [PROJECT_VIEWER]', '"ACME||JSMYTH": [PROJECT_VIEWER]',
      'api', /data\.erp\.api\.assignments\["ACME\|\|JSMYTH"\]: assigns roles to "ACME\|\|JSMYTH", which is not an account/],
    ['a group naming a missing job', 'security', 'jobs: ["24-101"]', 'jobs: ["24-109"]',
      'security', /data\.erp\.security\.groups\["01"\]\.EDUCATION\.jobs\[0\]: job "24-109" is not in the job catalogue of company 01/],
    ['access to a missing group', 'security', '"01": { groups: [HEALTHCARE] }', '"01": { groups: [HEALTHCARE, HEALTH] }',
      'security', /data\.erp\.security\.access\["ACME\|\|JSMITH"\]\["01"\]\.groups\[1\]: group "HEALTH" is not a job security group of company 01/],
    ['access to a missing company', 'security', '"01": { groups: [HEALTHCARE] }', '"03": { groups: [HEALTHCARE] }',
      'security', /data\.erp\.security\.access\["ACME\|\|JSMITH"\]\["03"\]: company "03" is not in security\.companies/],
    ['a client mapped to a missing account', 'accounts', 'procore-sync: "ACME||SVC_PROCORE"', 'procore-sync: "ACME||SVC_PROCOR"',
      'accounts', /data\.erp\.accounts\.clients\.local\["procore-sync"\]: maps to "ACME\|\|SVC_PROCOR", which is not an account/],
    ['a client of a provider the account does not accept', 'accounts', 'procore-sync: "ACME||SVC_PROCORE"', 'procore-sync: "ACME||SVC_PAYROLL"',
      'accounts', /data\.erp\.accounts\.clients\.local\["procore-sync"\]: maps to ACME\|\|SVC_PAYROLL, whose idps do not list local/],
    ['a job object without its job field (it would read as company scope)', 'objects', '  job_field: JobCode\n', '',
      'objects', /data\.erp\.objects\.jcjob\.job_field: scope job needs job_field/],
    ['fields its scope does not take', 'objects', /(currency:\n[^]*?)scope: all/, '$1scope: all\n  company_field: CurrComp',
      'objects', /data\.erp\.objects\.currency\.company_field: scope all takes no company_field/],
    ['a filter field without a column', 'objects', 'columns: { EmpCompCode: emp_comp_code }', 'columns: { EmpComp: emp_comp_code }',
      'objects', /data\.erp\.objects\.pyemployee\.sql\.columns: has no column for field EmpCompCode/]
  ]
  for (const [name, section, from, to, fileSection, message] of cases) {
    const policies = await copyPolicies(t)
    await edit(policies, section, from, to)
    const problems = (await checkPolicyData(policies)).map(formatProblem)
    const found = problems.find((p) => message.test(p))
    t.ok(found, `${name}:\n${problems.join('\n')}`)
    t.ok(found?.startsWith(`${join(policies, 'erp', fileSection, 'data.yaml')}:`), `${name}: names the file`)
    t.equal(new Set(problems).size, problems.length, `${name}: each problem once`)
  }
})

t.test('data that is not YAML, or a data.json, is located too', async (t) => {
  const policies = await copyPolicies(t)
  await writeFile(join(policies, 'erp', 'api', 'data.yaml'), 'roles: [unclosed\n')
  const [problem] = (await checkPolicyData(policies)).map(formatProblem)
  t.match(problem, /erp\/api\/data\.yaml:\d+: data_schema: not YAML/)

  const json = await copyPolicies(t)
  await rm(join(json, 'erp', 'api', 'data.yaml'))
  const api = { roles: {}, assignments: {}, bypass: { 'sys/currency': ['retrieve'] }, extra: 1 }
  await writeFile(join(json, 'erp', 'api', 'data.json'), JSON.stringify(api))
  const problems = (await checkPolicyData(json)).map(formatProblem)
  t.match(problems, [/erp\/api\/data\.json(:0)?: data_schema: data\.erp\.api\.extra: unknown key/])
})

t.test('`verdict check` refuses the data with file, line and key path', async (t) => {
  const policies = await copyPolicies(t)
  const file = await edit(policies, 'objects', '  company_field: EmpCompCode\n', '  company_fiel: EmpCompCode\n')
  const r = await capture(check, ['--policies', policies])
  t.equal(r.code, 1)
  t.match(r.stderr, `${file}:`)
  t.match(r.stderr, /data_schema: data\.erp\.objects\.pyemployee\.company_fiel: unknown key/)
})

t.test('the loader refuses it: the last good policy keeps serving, /health says degraded', async (t) => {
  const policies = await copyPolicies(t)
  const store = createPolicyStore({ dir: policies, entrypoint: 'verdict/decision' })
  const good = await store.load()
  await edit(policies, 'api', '"ACME||JSMITH": [PROJECT_VIEWER]', '"ACME||JSMITH": [PROJECT_VIEWR]')
  await t.rejects(store.load(), { message: /data\.yaml:\d+:\d+: data_reference: data\.erp\.api\.assignments\["ACME\|\|JSMITH"\]\[0\]/ })
  t.equal(store.current(), good, 'the good policy is still the active one')
  t.match(store.status(), { state: 'degraded', revision: good.revision, error: /PROJECT_VIEWR/ })

  const app = await buildApp({ policy: { dir: policies } })
  t.teardown(() => app.close())
  const health = await app.inject({ method: 'GET', url: '/health' })
  t.equal(health.statusCode, 503, 'a policy directory whose data fails never becomes the first policy')
  t.match(health.json(), { policy: { state: 'failed', error: /PROJECT_VIEWR/ } })
})

t.test('a running app: a bad data change leaves the last good policy serving, degraded', async (t) => {
  const policies = await copyPolicies(t)
  const app = await buildAppWithInternals({ policy: { dir: policies, watch: false } })
  t.teardown(() => app.close())
  const before = (await app.inject({ method: 'GET', url: '/health' })).json()
  t.match(before, { status: 'ready', policy: { state: 'ready' } })
  await edit(policies, 'objects', '  job_field: JobCode\n', '  job_fiel: JobCode\n')
  await app.policy.load().catch(() => undefined)
  await app.policy.idle()
  const health = await app.inject({ method: 'GET', url: '/health' })
  t.match(health.json(), { status: 'degraded', policy: { state: 'degraded', revision: before.policy.revision, error: /data\.erp\.objects\.jcjob\.job_fiel: unknown key/ } })
  t.equal(app.policy.current()?.digest, before.policy.digest, 'decisions are still answered by the last good policy')
})

t.test('`verdict check` type-checks the Rego\'s input references against schemas/policy-input.json', async (t) => {
  const policies = await copyPolicies(t)
  const file = join(policies, 'verdict', 'application', 'application.rego')
  const text = await readFile(file, 'utf8')
  await writeFile(file, text.replace('data.erp.objects[input.endpoint.resource]', 'data.erp.objects[input.endpoint.resourse]'))
  const r = await capture(check, ['--policies', policies])
  t.equal(r.code, 1)
  t.match(r.stderr, `${file}:`)
  t.match(r.stderr, /rego_type_error: undefined ref: input\.endpoint\.resourse/)
  const other = await capture(check, ['--policies', policies, '--entrypoint', 'verdict/other'])
  t.notMatch(other.stderr, /undefined ref/, 'the schema is the contract of verdict/decision only')
})
