// The pieces of `verdict diff` that need no compile: reading a row filter back
// into per-company job scope (and refusing shapes it does not know), comparing
// scopes, and reading the ERP data with every shape it does not understand named.
import t from 'tap'
import { readModel, grantingRoles, assignedRoles } from '../../src/review/model.js'
import { compareScopes, describeKept, describePart, describeScope, readScope, type Scope } from '../../src/review/scope.js'
import { recordOf } from '../../src/review/replay.js'
import { enumerateSpace, inputFor, UNLISTED_JOB } from '../../src/review/space.js'
import type { Condition } from '../../src/rows/ucast.js'

const eq = (field: string, value: unknown): Condition => ({ type: 'field', field, operator: 'eq', value })
const ne = (field: string, value: unknown): Condition => ({ type: 'field', field, operator: 'ne', value })
const isIn = (field: string, value: unknown[]): Condition => ({ type: 'field', field, operator: 'in', value })
const and = (...value: Condition[]): Condition => ({ type: 'compound', operator: 'and', value })
const or = (...value: Condition[]): Condition => ({ type: 'compound', operator: 'or', value })
const cond = (filter: Condition): { kind: 'conditional', filter: Condition } => ({ kind: 'conditional', filter })

const voucher = { module: 'ap', companyField: 'VouCompCode', jobField: 'VouJobCode', jobWhen: null }
const timesheet = { module: 'hcm', companyField: 'TshCompCode', jobField: 'TshJobdeptwoId', jobWhen: { field: 'TshTypeCode', equals: 'J' } }

t.test('row filters read back into per-company scope', async (t) => {
  t.same(readScope({ kind: 'all' }, voucher), { kind: 'all' })
  t.same(readScope({ kind: 'none' }, voucher), { kind: 'none' })
  t.same(readScope(cond(eq('VouCompCode', '01')), voucher), { kind: 'companies', companies: { '01': { companyWide: true, jobs: [], blankJob: false, nonJobRows: false } } })
  t.same(readScope(cond(or(
    and(eq('VouCompCode', '01'), or(isIn('VouJobCode', ['23-502', '23-410']), eq('VouJobCode', null), eq('VouJobCode', ''))),
    eq('VouCompCode', '02'))), voucher), {
    kind: 'companies',
    companies: {
      '01': { companyWide: false, jobs: ['23-410', '23-502'], blankJob: true, nonJobRows: false },
      '02': { companyWide: true, jobs: [], blankJob: false, nonJobRows: false }
    }
  })
  t.same(readScope(cond(and(eq('TshCompCode', '01'), ne('TshTypeCode', 'J'))), timesheet),
    { kind: 'companies', companies: { '01': { companyWide: false, jobs: [], blankJob: false, nonJobRows: true } } })

  // Shapes the reader does not know stay uninterpreted, compared as they are.
  const unknown: Condition[] = [
    eq('Other', '01'),
    and(eq('VouCompCode', '01')),
    and(eq('VouCompCode', '01'), eq('VouJobCode', 'X')),
    and(eq('VouCompCode', 1), isIn('VouJobCode', ['a'])),
    and(eq('VouCompCode', '01'), isIn('VouJobCode', [1])),
    and(eq('VouCompCode', '01'), ne('TshTypeCode', 'J'))
  ]
  for (const filter of unknown) t.same(readScope(cond(filter), voucher), { kind: 'uninterpreted', filter: JSON.stringify(filter) }, JSON.stringify(filter))
  t.equal(readScope(cond(eq('VouCompCode', '01')), undefined).kind, 'uninterpreted', 'no declaration: no field names to read by')
})

t.test('scope changes: wider grants cover narrower ones', async (t) => {
  const jobs = (list: string[], extra: Partial<{ blankJob: boolean, nonJobRows: boolean }> = {}): Scope =>
    ({ kind: 'companies', companies: { '01': { companyWide: false, jobs: list, blankJob: false, nonJobRows: false, ...extra } } })
  const wide: Scope = { kind: 'companies', companies: { '01': { companyWide: true, jobs: [], blankJob: false, nonJobRows: false } } }
  t.same(compareScopes(jobs(['a']), jobs(['a'])), { gained: [], lost: [], kept: [{ company: '01', companyWide: false, jobs: ['a'], blankJob: false, nonJobRows: false, allRows: false, filter: null }] })
  const d = compareScopes(jobs(['a', 'b']), jobs(['b', 'c'], { blankJob: true, nonJobRows: true }))
  t.same(d.gained.map(describePart), ['job c, rows without a job, rows that are not job rows'])
  t.same(d.lost.map(describePart), ['job a'])
  t.equal(describeKept(d.kept, '01'), 'job b', 'what remains of the company')
  t.equal(describeKept(d.kept, '02'), 'nothing')
  t.equal(describeKept(compareScopes(wide, jobs(['a', 'b'])).kept, '01'), 'jobs a, b', 'a company-wide grant narrowed keeps the jobs it still names')
  t.equal(describeKept(compareScopes(wide, wide).kept, '01'), 'all jobs (company-wide)')
  t.same(compareScopes(jobs(['a']), wide).gained.map(describePart), ['all jobs (company-wide)'])
  t.same(compareScopes(jobs(['a']), wide).lost, [], 'job a is inside the company-wide grant')
  t.same(compareScopes(wide, jobs(['a'])).lost.map(describePart), ['all jobs (company-wide)'])
  t.same(compareScopes({ kind: 'none' }, { kind: 'all' }).gained.map(describePart), ['all rows'])
  t.same(compareScopes({ kind: 'all' }, wide), {
    gained: [],
    lost: [{ company: null, companyWide: false, jobs: [], blankJob: false, nonJobRows: false, allRows: true, filter: null }],
    kept: [{ company: '01', companyWide: true, jobs: [], blankJob: false, nonJobRows: false, allRows: false, filter: null }]
  })
  const raw: Scope = { kind: 'uninterpreted', filter: '{"x":1}' }
  t.same(compareScopes({ kind: 'none' }, raw).gained.map(describePart), ['rows matching {"x":1} (filter not interpreted)'])
  t.equal(describeScope(raw), 'rows matching {"x":1}')
  t.equal(describeScope({ kind: 'none' }), 'no rows')
  t.equal(describeScope(jobs([])), '01: no jobs')
})

t.test('the data model names what it does not understand', async (t) => {
  const m = readModel({
    other: {},
    erp: {
      extra: 1,
      accounts: {
        users: { A: { kind: 'user', idps: 'basic' }, B: 'x' },
        clients: { entra: { c1: 'A', c2: 7 }, bad: 'nope' }
      },
      api: {
        roles: { R: { endpoints: { 'jc/jcjob': 'retrieve', 'pm/scmast': ['retrieve'] } } },
        assignments: { A: ['R', 'R', 'GHOST'], B: 'R' },
        bypass: { 'sys/currency': 'retrieve' }
      },
      security: 5,
      objects: { jcjob: { module: 'jc', company_field: 'C', job_field: '', weird: true }, nomod: {} }
    }
  }, 'head')
  t.same(m.notCovered.map((n) => n.item), [
    'data.other (head)',
    'data.erp.extra (head)',
    'account A idps (head)',
    'client c2 of identity provider entra (head)',
    'data.erp.accounts.clients.bad (head)',
    'role R endpoint jc/jcjob (head)',
    'role assignment of B (head)',
    'bypass entry sys/currency (head)',
    'data.erp.security (head)',
    'business object jcjob key weird (head)',
    'business object nomod (head)'
  ])
  t.same([...m.accounts.entries()], [['A', { kind: 'user', idps: null }], ['B', { kind: 'unknown', idps: null }]])
  t.same(m.objects.get('jcjob'), { module: 'jc', companyField: 'C', jobField: null, jobWhen: null })
  t.same(grantingRoles(m, 'A', 'pm/scmast', 'retrieve'), ['R'])
  t.same(grantingRoles(m, undefined, 'pm/scmast', 'retrieve'), [])
  t.same(assignedRoles(m, 'A'), ['R'], 'undefined roles and duplicates are not roles')
  t.same(readModel(null, 'x').accounts.size, 0)
  t.same(readModel({ erp: { accounts: { users: [] } } }, 'x').notCovered.map((n) => n.item), ['data.erp.accounts.users (x)'])

  const space = enumerateSpace(m, readModel({ erp: { api: { bypass: { 'sys/currency': ['list'] } } } }, 'base'))
  t.same(space.routes.map((r) => r.key), ['basic:A', 'claim:entra:A', 'basic:B', 'claim:entra:B', 'client:entra:c1'],
    'accounts without idps are evaluated for every provider the data names')
  t.same(space.notCovered.map((n) => n.item), ['account A', 'account B', 'bypass action "list" on sys/currency (head)'])
})

t.test('the records of the space: per company the jobs the data names and the stand-ins, per object kind', async (t) => {
  const data = (extra: Record<string, unknown> = {}): unknown => ({
    erp: {
      accounts: { users: { A: { kind: 'user', idps: ['basic'] } } },
      api: { roles: {}, assignments: {}, bypass: {} },
      security: {
        companies: { '01': {} },
        jobs: { '01': { 'j-2': {} } },
        groups: { '01': { G: { jobs: ['j-1'] } }, '03': { H: { jobs: ['j-9'] } } },
        access: { A: { '02': { groups: [] } } },
        ...extra
      },
      objects: {
        job: { module: 'jc', company_field: 'C', job_field: 'J' },
        sheet: { module: 'hcm', company_field: 'C', job_field: 'J', job_when: { field: 'T', equals: 'J' } },
        emp: { module: 'hcm', company_field: 'C' },
        free: { module: 'sys' }
      }
    }
  })
  const m = readModel(data(), 'x')
  t.same([...m.companies], [['01', ['j-1', 'j-2']], ['02', []], ['03', ['j-9']]], 'companies and jobs from the catalogue, groups and access')
  const space = enumerateSpace(m, readModel(data({ jobs: { '01': { 'j-3': {} } } }), 'y'))
  const labels = (key: string): string[] => (space.records.get(key) ?? []).map((r) => `${r.company}:${r.label}`)
  t.same(labels('jc/job'), [
    '01:j-1', '01:j-2', '01:j-3', '01:jobs not in the data', '01:records without a job',
    '02:jobs not in the data', '02:records without a job',
    '03:j-9', '03:jobs not in the data', '03:records without a job'
  ], 'jobs of both revisions, an unlisted job, a blank job')
  t.same(labels('hcm/sheet').filter((l) => l.startsWith('01:')), ['01:j-1', '01:j-2', '01:j-3', '01:jobs not in the data', '01:records without a job', '01:records that are not job records'])
  t.same(labels('hcm/emp'), ['01:company records', '02:company records', '03:company records'])
  t.same(labels('sys/free'), [], 'no company key: nothing to ask per record')
  const sheet = space.records.get('hcm/sheet') ?? []
  t.same(sheet.map((r) => r.resource).slice(3, 6), [{ company: '01', job: UNLISTED_JOB }, { company: '01', job: '' }, { company: '01' }])
  const route = space.routes[0]
  const endpoint = space.endpoints.find((e) => e.key === 'hcm/sheet')
  if (!route || !endpoint) throw new Error('no route or endpoint')
  t.same(inputFor(route, endpoint, 'update', { company: '01', job: 'j-1' }).resource, { company: '01', job: 'j-1' })
  t.notOk('resource' in inputFor(route, endpoint, 'update'), 'a collection request has no resource')

  // A logged record is named as the policy reads it: own fields first, then the generic keys.
  const input = (resource?: Record<string, unknown>, id?: string): ReturnType<typeof inputFor> => {
    const i = inputFor(route, endpoint, 'update', resource)
    if (id !== undefined) i.endpoint.id = id
    return i
  }
  t.same(recordOf(input({ C: '01', J: 'j-1', company: '02' }, '7'), m), { company: '01', job: 'j-1', id: '7' })
  t.same(recordOf(input({ company: '02', job: 5 }), m), { company: '02', job: '5', id: null })
  t.same(recordOf(input(undefined, '7'), m), { company: null, job: null, id: '7' })
  t.equal(recordOf(input(), m), null)
})
