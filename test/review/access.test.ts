// `verdict who-can` and `verdict can` held against single decisions: every
// answer is compared with what POST /v1/decide answers the real credentials of
// test/helpers/callers.ts (HTTP Basic, Entra and local tokens, a mapped client),
// for every endpoint × action of the data, collections and single records.
import t from 'tap'
import { can, loadAccessTable, whoCan } from '../../src/review/access.js'
import { ACTIONS } from '../../src/review/space.js'
import type { Action } from '../../src/engine/result.js'
import { buildApp, POLICY_DIR } from '../helpers/app.js'
import { startCallers, type CallerName } from '../helpers/callers.js'

t.setTimeout(180_000)

const callers = await startCallers()
const app = await buildApp({ authn: callers.authn })
t.teardown(async () => {
  await app.close()
  await callers.close()
})
const table = await loadAccessTable({ policies: POLICY_DIR, entrypoint: 'verdict/decision' })

// Each caller, the account it is and the route the enumeration names for it.
const CALLERS: Array<[CallerName, string, string]> = [
  ['payroll (basic)', 'ACME||SVC_PAYROLL', 'basic'],
  ['hr writer (basic)', 'ACME||SVC_HRWRITER', 'basic'],
  ['legacy ftp (basic)', 'ACME||SVC_LEGACY_FTP', 'basic'],
  ['power bi (entra)', 'ACME||SVC_POWERBI', 'entra client 8a4f2c71-3d5e-4b9a-9c1f-6e2d7b0a5f13'],
  ['procore (local)', 'ACME||SVC_PROCORE', 'local client procore-sync'],
  ['security admin (local)', 'ACME||SECADMIN', 'local token (cmicuser)'],
  ['jane smith (local)', 'ACME||JSMITH', 'local token (cmicuser)'],
  // Payroll may use Basic only: a token naming it must never show up.
  ['payroll named by a token (local)', 'ACME||SVC_PAYROLL', 'local token (cmicuser)']
]
const METHOD: Record<Action, string> = { create: 'POST', retrieve: 'GET', update: 'PUT', delete: 'DELETE' }
// Jobs of both companies, a job no data names, and a record without a job.
const RECORDS = [
  { company: '01', job: '23-410' }, { company: '01', job: '23-415' }, { company: '01', job: '24-101' }, { company: '01', job: '' },
  { company: '02', job: '23-801' }, { company: '02', job: '24-820' }, { company: '02', job: '99-999' }, { company: '03', job: '23-410' }
]

async function decide (caller: CallerName, action: Action, endpoint: string, resource?: Record<string, unknown>): Promise<boolean> {
  const [module, name] = endpoint.split('/')
  const res = await app.inject({
    method: 'POST',
    url: '/v1/decide',
    headers: { authorization: callers.header(caller), 'content-type': 'application/json' },
    payload: { request: { method: METHOD[action], path: `/cmictest/${module ?? ''}-rest-api/rest/1/${name ?? ''}${resource ? '/x' : ''}` }, ...(resource ? { resource } : {}) }
  })
  if (res.statusCode !== 200) throw new Error(`${caller} ${action} ${endpoint}: HTTP ${res.statusCode} ${res.body}`)
  return (res.json() as { allow: boolean }).allow
}

const listed = (accounts: Array<{ account: string, via: string[] }>, account: string, via: string): boolean =>
  accounts.some((a) => a.account === account && a.via.includes(via))

t.test('who-can on one record: listed exactly when /v1/decide allows that caller', async (t) => {
  let allowed = 0
  let checked = 0
  for (const endpoint of table.space.endpoints) {
    for (const action of ACTIONS) {
      for (const record of RECORDS) {
        const answer = whoCan(table, action, endpoint, record)
        for (const [caller, account, via] of CALLERS) {
          const allow = await decide(caller, action, endpoint.key, record)
          checked++
          if (allow) allowed++
          if (listed(answer.accounts, account, via) !== allow) {
            t.fail(`${caller} ${action} ${endpoint.key} ${JSON.stringify(record)}: /v1/decide ${allow ? 'allows' : 'denies'}, who-can ${allow ? 'omits' : 'lists'} it`)
          }
        }
      }
    }
  }
  t.ok(allowed > 50 && allowed < checked / 2, `a real mix of allows and denies (${allowed} of ${checked})`)
  const payroll = whoCan(table, 'update', { key: 'hcm/pyemptimesheet', module: 'hcm', resource: 'pyemptimesheet' }, { company: '02', job: '23-812' })
  t.same(payroll.accounts.map((a) => [a.account, a.via, a.roles]), [['ACME||SVC_PAYROLL', ['basic'], ['PAYROLL_IMPORT']]])
  t.match(payroll.accounts[0]?.scope, /^job_in_group: job 23-812 of company 02 is in group MASTER/)
})

t.test('who-can and can without a record: listed exactly when some decision of that caller allows', async (t) => {
  for (const endpoint of table.space.endpoints) {
    for (const action of ACTIONS) {
      const answer = whoCan(table, action, endpoint, null)
      for (const [caller, account, via] of CALLERS) {
        // A read: the collection decision. A write: any record (or the collection, for an object without a company key).
        let allow = await decide(caller, action, endpoint.key)
        if (action !== 'retrieve' && !allow) {
          for (const record of RECORDS) if (await decide(caller, action, endpoint.key, record)) allow = true
        }
        t.equal(listed(answer.accounts, account, via), allow, `${caller} ${action} ${endpoint.key}`)
        const rights = can(table, account).rights
        if (allow) t.ok(rights.some((r) => r.endpoint === endpoint.key && r.action === action && r.via.includes(via) && !/^no (rows|records)$/.test(r.scope)), `can ${account} lists ${action} ${endpoint.key} via ${via}`)
      }
    }
  }
})

t.test('the answers read as an auditor needs them', async (t) => {
  const reads = whoCan(table, 'retrieve', { key: 'jc/jcjob', module: 'jc', resource: 'jcjob' }, null)
  t.same(reads.accounts.map((a) => `${a.account} via ${a.via.join(' + ')} (${a.roles.join(', ')}): ${a.scope}`), [
    'ACME||JSMITH via basic + local token (cmicuser) (PROJECT_VIEWER): 01: jobs 23-410, 23-415',
    'ACME||SECADMIN via basic + local token (cmicuser) (SECURITY_ADMIN): 01: all jobs (company-wide); 02: all jobs (company-wide)',
    'ACME||SVC_POWERBI via entra client 8a4f2c71-3d5e-4b9a-9c1f-6e2d7b0a5f13 + entra token (cmicuser) + local token (cmicuser) (BI_READER): 01: jobs 23-410, 23-415, 23-502, 24-118; 02: jobs 23-812, 24-820',
    'ACME||SVC_PROCORE via local client procore-sync + local token (cmicuser) (PM_SYNC): 01: jobs 23-410, 23-502, 24-205'
  ])
  const payroll = can(table, 'ACME||SVC_PAYROLL')
  t.same(payroll.routes, ['basic'])
  t.same(payroll.rights.map((r) => `${r.action} ${r.endpoint}: ${r.scope}`), [
    'retrieve hcm/pyemployee: 01: all jobs (company-wide); 02: all jobs (company-wide)',
    'create hcm/pyemptimesheet: records: 01: all records (company-wide); 02: all records (company-wide)',
    'retrieve hcm/pyemptimesheet: 01: all jobs (company-wide); 02: all jobs (company-wide)',
    'update hcm/pyemptimesheet: records: 01: all records (company-wide); 02: all records (company-wide)',
    'retrieve sys/currency: all rows'
  ])
  // HR writer may create employees but holds no job: its company access alone decides.
  t.same(can(table, 'ACME||SVC_HRWRITER').rights.map((r) => `${r.action} ${r.endpoint}: ${r.scope}`), [
    'create hcm/pyemployee: records: 01: company records; 02: company records',
    'retrieve sys/currency: all rows'
  ])
  t.throws(() => can(table, 'ACME||NOBODY'), /"ACME\|\|NOBODY" is not an account/)
})
