// `verdict diff` semantics over a temporary git repository with real commits:
// each commit's diff reports exactly that commit's effects (the full lists, not
// just one expected row), and the pure Rego refactor reports nothing.
import t from 'tap'
import { renderMarkdown } from '../../src/review/render-markdown.js'
import { exitCode, type Report } from '../../src/review/report.js'
import { review } from '../../src/review/review.js'
import { FIELDVIEW, FIELDVIEW_CLIENT, makeReviewRepo } from '../helpers/review-repo.js'

// Every revision compiles once (about a second or two each); leave room on a busy machine.
t.setTimeout(180_000)

const repo = await makeReviewRepo()
t.teardown(repo.cleanup)

const diff = async (base: string, head: string): Promise<Report> => await review({ repo: repo.dir, base, head, access: true })

const ZERO = {
  rightsGranted: 0,
  rightsRevoked: 0,
  scopeGained: 0,
  scopeLost: 0,
  recordsGained: 0,
  recordsLost: 0,
  decisionsChanged: 0,
  principalsAdded: 0,
  principalsRemoved: 0,
  principalsChanged: 0,
  clientMappingsChanged: 0,
  rolesAdded: 0,
  rolesRemoved: 0,
  roleRightsAdded: 0,
  roleRightsRemoved: 0,
  replayFlips: 0,
  replayAllowToDeny: 0,
  replayDenyToAllow: 0,
  replayRowsChanged: 0,
  replayUnreplayable: 0,
  notCovered: 0
}
const changedCells = (r: Report, which: 'roleMatrix' | 'principalMatrix'): unknown[] =>
  (r.access?.[which] ?? []).filter((c) => c.base !== c.head)
const gates = (r: Report): Record<string, number> => ({ any: exitCode(r, 'any'), grants: exitCode(r, 'grants'), revokes: exitCode(r, 'revokes') })

t.test('a permission added to a role: one right granted, through the role that grants it', async (t) => {
  const r = await diff(repo.baseline, repo.permission)
  t.same(r.summary, { ...ZERO, changed: true, rightsGranted: 1, roleRightsAdded: 1 })
  t.same(r.access?.rights.granted, [{
    principal: 'ACME||SVC_PROCORE',
    kind: 'service_account',
    endpoint: 'pm/scmast',
    action: 'delete',
    roles: ['PM_SYNC'],
    via: ['local client procore-sync', 'local token (cmicuser)'],
    rows: 'records: 01: 23-410, 23-502, 24-205'
  }])
  t.same(r.access?.rights.revoked, [])
  t.same(r.access?.scope, { gained: [], lost: [] })
  t.same(r.access?.records, { gained: [], lost: [] }, 'a new right is a right granted, not record access gained')
  t.same(r.access?.decisions, [])
  t.same(r.access?.principals, { added: [], removed: [], changed: [], clients: [] })
  t.same(r.access?.roles, { added: [], removed: [], rightsAdded: [{ role: 'PM_SYNC', endpoint: 'pm/scmast', action: 'delete' }], rightsRemoved: [] })
  t.same(changedCells(r, 'roleMatrix'), [{ row: 'PM_SYNC', endpoint: 'pm/scmast', action: 'delete', base: false, head: true }])
  t.same(changedCells(r, 'principalMatrix'), [{ row: 'ACME||SVC_PROCORE', endpoint: 'pm/scmast', action: 'delete', base: false, head: true }])
  t.same(r.notCovered, [])
  t.match(r.textDiff, /^-\s+pm\/scmast: \[create, retrieve, update\]$/m)
  t.match(r.textDiff, /^\+\s+pm\/scmast: \[create, retrieve, update, delete\]$/m)
  t.match(r.textDiff, /^diff --git a\/policies\/erp\/api\/data\.yaml b\/policies\/erp\/api\/data\.yaml$/m)
  t.same(gates(r), { any: 1, grants: 1, revokes: 0 })
  t.equal(r.base.commit, repo.baseline)
  t.equal(r.head.commit, repo.permission)
})

t.test('a job moved between groups: exactly the job scope it takes from the one account that loses it', async (t) => {
  const r = await diff(repo.permission, repo.jobMove)
  t.same(r.summary, { ...ZERO, changed: true, scopeLost: 3, recordsLost: 3 })
  // Jane Smith holds HEALTHCARE only; Power BI holds HEALTHCARE and COMMERCIAL, so it keeps the job.
  const lost = (endpoint: string): object => ({
    principal: 'ACME||JSMITH',
    endpoint,
    action: 'retrieve',
    company: '01',
    scope: 'job 23-415',
    companyWide: false,
    jobs: ['23-415'],
    blankJob: false,
    nonJobRows: false,
    allRows: false,
    filter: null,
    keeps: 'job 23-410',
    via: ['basic', 'local token (cmicuser)']
  })
  t.same(r.access?.scope.lost, [lost('cm/cmmast'), lost('jc/jcjob'), lost('pm/scmast')])
  t.same(r.access?.scope.gained, [])
  // The single records say the same: her reads of job 23-415 are refused, of 23-410 kept.
  t.same(r.access?.records.lost, ['cm/cmmast', 'jc/jcjob', 'pm/scmast'].map((endpoint) => ({
    principal: 'ACME||JSMITH',
    endpoint,
    action: 'retrieve',
    company: '01',
    records: ['23-415'],
    scope: '23-415',
    keeps: '23-410',
    roles: ['PROJECT_VIEWER'],
    via: ['basic', 'local token (cmicuser)']
  })))
  t.same(r.access?.records.gained, [])
  t.same(r.access?.rights, { granted: [], revoked: [] })
  t.same(r.access?.decisions, [])
  t.same(r.access?.principals, { added: [], removed: [], changed: [], clients: [] })
  t.same(changedCells(r, 'roleMatrix'), [])
  t.same(changedCells(r, 'principalMatrix'), [])
  t.same(gates(r), { any: 1, grants: 0, revokes: 1 })
})

t.test('a service account added: the principal, its client mapping and every right it gains with its rows', async (t) => {
  const r = await diff(repo.jobMove, repo.serviceAccount)
  t.same(r.summary, { ...ZERO, changed: true, rightsGranted: 4, principalsAdded: 1, clientMappingsChanged: 1 })
  t.same(r.access?.principals, {
    added: [{ id: FIELDVIEW, kind: 'service_account', idps: ['entra'], roles: ['PROJECT_VIEWER'] }],
    removed: [],
    changed: [],
    clients: [{ idp: 'entra', client: FIELDVIEW_CLIENT, base: null, head: FIELDVIEW }]
  })
  const via = [`entra client ${FIELDVIEW_CLIENT}`, 'entra token (cmicuser)']
  const bridges = '02: jobs 23-801, 24-803'
  t.same(r.access?.rights.granted, [
    { principal: FIELDVIEW, kind: 'service_account', endpoint: 'cm/cmmast', action: 'retrieve', roles: ['PROJECT_VIEWER'], via, rows: bridges },
    { principal: FIELDVIEW, kind: 'service_account', endpoint: 'jc/jcjob', action: 'retrieve', roles: ['PROJECT_VIEWER'], via, rows: bridges },
    { principal: FIELDVIEW, kind: 'service_account', endpoint: 'pm/scmast', action: 'retrieve', roles: ['PROJECT_VIEWER'], via, rows: bridges },
    { principal: FIELDVIEW, kind: 'service_account', endpoint: 'sys/currency', action: 'retrieve', roles: ['(bypass list)'], via, rows: 'all rows' }
  ])
  t.same(r.access?.rights.revoked, [])
  t.same(r.access?.scope, { gained: [], lost: [] })
  t.same(r.access?.roles, { added: [], removed: [], rightsAdded: [], rightsRemoved: [] })
  t.same(changedCells(r, 'principalMatrix'), ['cm/cmmast', 'jc/jcjob', 'pm/scmast', 'sys/currency'].map((endpoint) =>
    ({ row: FIELDVIEW, endpoint, action: 'retrieve', base: false, head: true })))
  t.same(gates(r), { any: 1, grants: 1, revokes: 0 })
})

t.test('a pure Rego refactor: a text diff, and no change in access', async (t) => {
  const r = await diff(repo.serviceAccount, repo.refactor)
  t.same(r.summary, { ...ZERO, changed: false })
  t.same(r.access?.rights, { granted: [], revoked: [] })
  t.same(r.access?.scope, { gained: [], lost: [] })
  t.same(r.access?.decisions, [])
  t.same(changedCells(r, 'principalMatrix'), [])
  t.match(r.textDiff, /^\+_sorted_names\(set\) := concat/m)
  t.match(r.textDiff, /^diff --git a\/policies\/verdict\/api\/api\.rego b\/policies\/verdict\/api\/api\.rego$/m)
  t.same(gates(r), { any: 0, grants: 0, revokes: 0 })
  // The whole space was asked, not a sample: every route × endpoint × action.
  t.equal(r.access?.space.evaluations, (r.access?.space.routes ?? 0) * (r.access?.space.endpoints ?? 0) * 4)
  t.ok((r.access?.space.routes ?? 0) >= 10)
})

t.test('the reverse diff reports the opposite: revoked rights, removed principal', async (t) => {
  const r = await diff(repo.serviceAccount, repo.jobMove)
  t.same(r.summary, { ...ZERO, changed: true, rightsRevoked: 4, principalsRemoved: 1, clientMappingsChanged: 1 })
  t.same(r.access?.rights.revoked.map((x) => `${x.principal} ${x.endpoint} ${x.action} ${x.roles.join(',')}`), [
    `${FIELDVIEW} cm/cmmast retrieve PROJECT_VIEWER`,
    `${FIELDVIEW} jc/jcjob retrieve PROJECT_VIEWER`,
    `${FIELDVIEW} pm/scmast retrieve PROJECT_VIEWER`,
    `${FIELDVIEW} sys/currency retrieve (bypass list)`
  ])
  t.same(gates(r), { any: 1, grants: 0, revokes: 1 })
  const back = await diff(repo.jobMove, repo.permission)
  t.same(back.access?.scope.gained.map((x) => `${x.principal} ${x.endpoint} ${x.company} ${x.scope}`), [
    'ACME||JSMITH cm/cmmast 01 job 23-415', 'ACME||JSMITH jc/jcjob 01 job 23-415', 'ACME||JSMITH pm/scmast 01 job 23-415'
  ])
})

t.test('several commits at once add up', async (t) => {
  const r = await diff(repo.baseline, repo.refactor)
  t.same(r.summary, { ...ZERO, changed: true, rightsGranted: 5, scopeLost: 3, recordsLost: 3, principalsAdded: 1, clientMappingsChanged: 1, roleRightsAdded: 1 })
})

t.test('a job group change: the writes lost on single records, and what remains, per company', async (t) => {
  // SVC_PAYROLL held MASTER in company 02 and now holds BRIDGES (23-801, 24-803).
  // Its timesheet writes on the other jobs of 02 are refused; no right is revoked.
  const r = await diff(repo.refactor, repo.payrollGroups)
  t.same(r.summary, { ...ZERO, changed: true, scopeLost: 1, recordsLost: 3 })
  t.same(r.access?.rights, { granted: [], revoked: [] })
  const lost = ['create', 'retrieve', 'update'].map((action) => ({
    principal: 'ACME||SVC_PAYROLL',
    endpoint: 'hcm/pyemptimesheet',
    action,
    company: '02',
    records: ['23-812', '24-820', 'jobs not in the data', 'records without a job'],
    scope: '23-812, 24-820, jobs not in the data, records without a job',
    keeps: '23-801, 24-803, records that are not job records',
    roles: ['PAYROLL_IMPORT'],
    via: ['basic']
  }))
  t.same(r.access?.records, { gained: [], lost })
  t.same(r.access?.scope.lost.map((x) => `${x.principal} ${x.endpoint} ${x.company}: loses ${x.scope}; keeps ${x.keeps}`), [
    'ACME||SVC_PAYROLL hcm/pyemptimesheet 02: loses all jobs (company-wide); keeps jobs 23-801, 24-803, rows that are not job rows'
  ])
  // Employees have no job key: company access alone decides, and it is unchanged.
  t.notOk(r.access?.records.lost.some((x) => x.endpoint === 'hcm/pyemployee'))
  t.same(gates(r), { any: 1, grants: 0, revokes: 1 })
  // Every record of the space was asked under each revision.
  t.equal(r.access?.space.recordEvaluations, (r.access?.space.routes ?? 0) * 4 * (r.access?.space.records ?? 0))
  t.ok((r.access?.space.records ?? 0) >= 40)
  const back = await diff(repo.payrollGroups, repo.refactor)
  t.same(back.access?.records.gained.map((x) => `${x.action} ${x.company}: gains ${x.scope}; keeps ${x.keeps}`), [
    'create 02: gains 23-812, 24-820, jobs not in the data, records without a job; keeps 23-801, 24-803, records that are not job records',
    'retrieve 02: gains 23-812, 24-820, jobs not in the data, records without a job; keeps 23-801, 24-803, records that are not job records',
    'update 02: gains 23-812, 24-820, jobs not in the data, records without a job; keeps 23-801, 24-803, records that are not job records'
  ])
  t.same(gates(back), { any: 1, grants: 1, revokes: 0 })
})

t.test('reports name both commits with subject and author', async (t) => {
  const r = await diff(repo.refactor, repo.payrollGroups)
  t.same({ ...r.head, digest: '' }, { label: repo.payrollGroups, commit: repo.payrollGroups, subject: 'payroll import: company 02 limited to the bridge jobs', author: 'Verdict Test', digest: '' })
  t.equal(r.base.subject, 'api.rego: clearer helper names')
  const md = renderMarkdown(r)
  t.match(md, `- Base: \`${repo.refactor}\` ${repo.refactor.slice(0, 12)} “api.rego: clearer helper names” by Verdict Test`)
  t.match(md, `- Head: \`${repo.payrollGroups}\` ${repo.payrollGroups.slice(0, 12)} “payroll import: company 02 limited to the bridge jobs” by Verdict Test`)
  t.match(md, /^\| ACME\\\|\\\|SVC_PAYROLL \| `hcm\/pyemptimesheet` \| update \| `02` \| 23-812, 24-820, jobs not in the data, records without a job \| 23-801, 24-803, records that are not job records \| PAYROLL_IMPORT \| basic \|$/m)
})
