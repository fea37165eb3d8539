// The agreement property with random policy data and random rows, on SQLite and
// PostgreSQL. Each case draws companies, job security groups (some holding all
// jobs), jobs per group, accounts with company access, group memberships
// (including groups and companies that do not exist) and a role, and rows of
// jcjob, scmast, apvoucher and pyemptimesheet with unknown companies, NULL and
// blank jobs and non-J timesheet lines. The example policy is compiled once and
// loaded with each case's data (no recompilation). For every account and
// object: SQL rows (both dialects) = rows whose single-record decision allows
// retrieve = rows the independent reading of the data allows.
//
// The seed is fixed (and printed on failure by fast-check, with the path of
// the shrunk case); VERDICT_PROPERTY_SEED explores another one.
import fc from 'fast-check'
import t from 'tap'
import { ERP_OBJECTS, type ErpDataset, type ErpObject, type ErpPolicyData, type ErpRow } from '../helpers/erp-dataset.js'
import { createPostgresTables, erpTable, openSqlite } from '../helpers/erp-db.js'
import { startTestPostgres } from '../helpers/postgres.js'
import { checkAgreement, compileExamplePolicy, policyWithData } from '../helpers/policy-variants.js'

const SEED = Number(process.env.VERDICT_PROPERTY_SEED ?? 1893)
const NUM_RUNS = 80

const COMPANIES = ['01', '02', 'C3'] as const
const JOBS = ['23-410', '23-415', 'J-3', 'J-4', 'J-5'] as const
const GROUPS = ['MASTER', 'G1', 'G2', 'G3'] as const

const started = Date.now()
const compiled = await compileExamplePolicy()
const base = compiled.data.erp
const tables = ERP_OBJECTS.map((o) => erpTable(o, base.objects[o] as NonNullable<ErpPolicyData['objects'][string]>))
const sqlite = openSqlite(tables)
const server = await startTestPostgres()
t.teardown(() => server.close())
await createPostgresTables(server.pool, tables)
t.comment(`policy compiled and databases ready in ${Date.now() - started} ms`)

const group = fc.record({
  all_jobs: fc.constantFrom(false, false, false, true),
  jobs: fc.subarray([...JOBS])
})
const companyGroups = fc.dictionary(fc.constantFrom(...GROUPS), group, { maxKeys: GROUPS.length })
const account = fc.record({
  // a company the data does not know, and a group no company has, may be listed too
  access: fc.dictionary(fc.constantFrom(...COMPANIES, 'ZZ'), fc.subarray([...GROUPS, 'NOPE']), { maxKeys: 4 }),
  // BI_READER retrieves all four objects; PROJECT_VIEWER only jcjob and scmast
  role: fc.constantFrom('BI_READER', 'BI_READER', 'PROJECT_VIEWER')
})
// Known companies more often than unknown or blank ones, so most rows are in play.
const company = fc.constantFrom<string | null>(...COMPANIES, ...COMPANIES, 'ZZ', null, '')
const job = fc.constantFrom<string | null>(...JOBS, 'J-9', null, '')
const typeCode = fc.constantFrom<string | null>('J', 'J', 'G', 'W', null, '')

const rowsOf = (fields: (id: number) => fc.Arbitrary<ErpRow>): fc.Arbitrary<ErpRow[]> =>
  fc.integer({ min: 4, max: 30 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => fields(i + 1))))
const dataset: fc.Arbitrary<Record<ErpObject, ErpRow[]>> = fc.record({
  jcjob: rowsOf((id) => fc.record({ id: fc.constant(id), JobCompCode: company, JobCode: job })),
  scmast: rowsOf((id) => fc.record({ id: fc.constant(id), ScmstCompCode: company, ScmstJobCode: job })),
  apvoucher: rowsOf((id) => fc.record({ id: fc.constant(id), VouCompCode: company, VouJobCode: job })),
  pyemptimesheet: rowsOf((id) => fc.record({ id: fc.constant(id), TshCompCode: company, TshJobdeptwoId: job, TshTypeCode: typeCode }))
})

const scenario = fc.record({
  companies: fc.subarray([...COMPANIES], { minLength: 1 }),
  groups: fc.record({ '01': companyGroups, '02': companyGroups, C3: companyGroups }),
  accounts: fc.array(account, { minLength: 1, maxLength: 3 }),
  rows: dataset
})
type Scenario = typeof scenario extends fc.Arbitrary<infer S> ? S : never

/** The example data with the scenario's security data, accounts and role assignments. */
function policyData (s: Scenario): { erp: ErpPolicyData, accounts: string[] } {
  const names = s.accounts.map((_, i) => `ACME||RANDOM_${i}`)
  const users: ErpPolicyData['accounts']['users'] = {}
  const assignments: Record<string, string[]> = {}
  const access: ErpPolicyData['security']['access'] = {}
  s.accounts.forEach((a, i) => {
    const name = names[i] as string
    users[name] = { kind: 'service_account', idps: ['basic'] }
    assignments[name] = [a.role]
    access[name] = Object.fromEntries(Object.entries(a.access).map(([c, groups]) => [c, { groups }]))
  })
  const erp: ErpPolicyData = {
    objects: base.objects,
    api: { ...base.api, assignments },
    accounts: { users, clients: {} },
    security: {
      companies: Object.fromEntries(s.companies.map((c) => [c, { name: `Company ${c}` }])),
      jobs: Object.fromEntries(COMPANIES.map((c) => [c, Object.fromEntries(JOBS.map((j) => [j, { name: j }]))])),
      groups: s.groups,
      access
    }
  }
  return { erp, accounts: names }
}

t.test(`random groups, assignments and rows: SQL rows = single-record allows (fast-check seed ${SEED}, ${NUM_RUNS} runs)`, async (t) => {
  let pairs = 0
  let partial = 0
  const runStart = Date.now()
  await fc.assert(fc.asyncProperty(scenario, async (s) => {
    const { erp, accounts } = policyData(s)
    const policy = await policyWithData(compiled, erp)
    const report = await checkAgreement(policy, erp, accounts, s.rows as Partial<ErpDataset>, { sqlite, pool: server.pool, tables })
    pairs += report.pairs
    partial += report.partial
    if (report.problems.length > 0) throw new Error(report.problems.slice(0, 5).join('\n'))
  }), { seed: SEED, numRuns: NUM_RUNS })
  t.comment(`${NUM_RUNS} cases, ${pairs} account/object pairs, ${partial} of them partly visible, in ${Date.now() - runStart} ms`)
  t.ok(partial >= 2 * NUM_RUNS, `the cases have teeth: ${partial} pairs see some rows but not all`)
})

t.test('the check fails when the SQL and the decisions disagree', async (t) => {
  // The same machinery on a policy whose data the rows were not checked
  // against would pass vacuously if checkAgreement could not fail: hand it an
  // account the SQL filter covers but whose single records it denies — by
  // giving the independent reading different data than the policy.
  const s: Scenario = {
    companies: ['01'],
    groups: { '01': { G1: { all_jobs: false, jobs: ['J-3'] } }, '02': {}, C3: {} },
    accounts: [{ access: { '01': ['G1'] }, role: 'BI_READER' }],
    rows: { jcjob: [{ id: 1, JobCompCode: '01', JobCode: 'J-3' }, { id: 2, JobCompCode: '01', JobCode: 'J-4' }], scmast: [], apvoucher: [], pyemptimesheet: [] }
  }
  const { erp, accounts } = policyData(s)
  const policy = await policyWithData(compiled, erp)
  const ok = await checkAgreement(policy, erp, accounts, s.rows as Partial<ErpDataset>, { sqlite, pool: server.pool, tables })
  t.same(ok.problems, [], 'agreement on the case itself')
  t.equal(ok.partial, 1, 'jcjob is partly visible')
  const other = structuredClone(erp)
  const g1 = other.security.groups['01']?.G1
  if (g1 !== undefined) g1.jobs = ['J-4']
  const bad = await checkAgreement(policy, other, accounts, s.rows as Partial<ErpDataset>, { sqlite, pool: server.pool, tables })
  t.match(bad.problems, [/jcjob: single records allow \[1\], the data says \[2\]/], 'a disagreement is reported')
})
