// The agreement property of docs/ARCHITECTURE.md on real databases: for every example
// account of policies/erp/accounts/data.yaml and each of jcjob, scmast,
// apvoucher and pyemptimesheet, the rows the rendered SQL selects are exactly
// the rows a single-record decision allows to retrieve — on SQLite
// (better-sqlite3) and on a PostgreSQL server, through the raw WHERE fragment
// and through the Kysely helper.
//
// The collection decision comes from the real app (POST /v1/decide with `sql`,
// real credentials). The ~11,000 single-record decisions per account are made
// with the app's own DecisionPolicy (synchronous WASM), with the request parsed
// and the input built by the same functions the route uses and the principal
// that authentication produced for the caller's credential; a sample of them is
// also asked over HTTP (with the record id in the path) to show the two paths
// answer alike. Both answers are
// also held to an independent reading of the policy data (erp-oracle.ts).
import t from 'tap'
import type { Principal } from '../../src/authn/principal.js'
import { applyRows } from '../../packages/client/src/kysely.js'
import { policyInput } from '../../src/engine/decide.js'
import { parseDecisionRequest } from '../../src/decision/parse.js'
import { buildAppWithInternals } from '../helpers/app-internals.js'
import { startCallers, type CallerName } from '../helpers/callers.js'
import { ERP_OBJECTS, exampleDataset, readErpPolicyData, rowResource, type ErpObject, type ErpRow } from '../helpers/erp-dataset.js'
import { createPostgresTables, erpTable, fillPostgres, fillSqlite, idDifference, openKysely, openSqlite, postgresIds, sqliteIds } from '../helpers/erp-db.js'
import { mayRetrieve } from '../helpers/erp-oracle.js'
import { startTestPostgres } from '../helpers/postgres.js'

// The test caller holding each example account's credential.
const CALLER_OF: Record<string, CallerName> = {
  'ACME||SVC_PROCORE': 'procore (local)',
  'ACME||SVC_PAYROLL': 'payroll (basic)',
  'ACME||SVC_POWERBI': 'power bi (entra)',
  'ACME||SVC_HRWRITER': 'hr writer (basic)',
  'ACME||SVC_LEGACY_FTP': 'legacy ftp (basic)',
  'ACME||SECADMIN': 'security admin (local)',
  'ACME||JSMITH': 'jane smith (local)'
}

const started = Date.now()
const data = readErpPolicyData()
const accounts = Object.keys(data.accounts.users)
const tables = ERP_OBJECTS.map((o) => {
  const decl = data.objects[o]
  if (decl === undefined) throw new Error(`policies/erp/objects/data.yaml does not declare ${o}`)
  return erpTable(o, decl)
})
const { jobs, rows } = exampleDataset(data)

const callers = await startCallers()
t.teardown(() => callers.close())
const app = await buildAppWithInternals({ authn: callers.authn })
t.teardown(() => app.close())
const policy = app.policy.current()
if (policy === undefined) throw new Error('the app loaded no policy')

const appReady = Date.now()
const sqlite = openSqlite(tables)
fillSqlite(sqlite, tables, rows)
const server = await startTestPostgres()
t.teardown(() => server.close())
await createPostgresTables(server.pool, tables)
await fillPostgres(server.pool, tables, rows)

const { sqlite: kyselySqlite, pg: kyselyPg, destroy: closeKysely } = openKysely(sqlite, server.poolConfig)
t.teardown(closeKysely)

const totalRows = ERP_OBJECTS.reduce((n, o) => n + rows[o].length, 0)
t.comment(`dataset: ${Object.keys(data.security.companies).length} companies (+1 unknown), ${jobs.length} jobs, ` +
  ERP_OBJECTS.map((o) => `${o} ${rows[o].length}`).join(', ') + `, ${totalRows} rows; app and callers ready in ${appReady - started} ms, both databases loaded ${Date.now() - appReady} ms later`)

const principals = new Map<string, Principal>()
for (const account of accounts) {
  const caller = CALLER_OF[account]
  if (caller === undefined) throw new Error(`no test caller holds the credential of example account ${account}: add one to CALLER_OF`)
  const authn = await app.authenticate({ headers: { authorization: callers.header(caller) }, ip: '127.0.0.1' })
  if (!authn.ok) throw new Error(`caller ${caller} did not authenticate: ${authn.code}`)
  principals.set(account, authn.principal)
}

t.test('the dataset has the shape the tests need', async (t) => {
  t.ok(Object.keys(data.security.companies).length >= 2, 'at least 2 companies')
  const known = jobs.filter((j) => Object.hasOwn(data.security.companies, j.company))
  t.ok(known.length >= 200, `${known.length} jobs of the policy's companies`)
  t.ok(totalRows >= 10_000, `${totalRows} rows`)
  const vouJobs = rows.apvoucher.map((r) => r.VouJobCode)
  t.ok(vouJobs.includes(null) && vouJobs.includes(''), 'vouchers with a NULL and with a blank job')
  const types = new Set(rows.pyemptimesheet.map((r) => r.TshTypeCode))
  t.ok(types.has('J') && types.has('G') && types.has(null) && types.has('W'), 'timesheet lines of type J, G, other and NULL')
  t.ok(rows.pyemptimesheet.some((r) => r.TshTypeCode === 'G' && jobs.some((j) => j.code === r.TshJobdeptwoId)), 'G lines whose department code looks like a job')
  const firstJob = jobs[0]
  t.ok(firstJob !== undefined && jobs.filter((j) => j.code === firstJob.code).length >= 3, 'one job code in several companies')
  // (compared as text: a deep comparison of 11,000 rows is needlessly slow)
  t.equal(JSON.stringify(exampleDataset(data).rows), JSON.stringify(rows), 'the same seed makes the same rows')
  t.not(JSON.stringify(exampleDataset(data, 7).rows.scmast), JSON.stringify(rows.scmast), 'another seed makes other rows')
  t.same(sqliteIds(sqlite, 'apvoucher', undefined).length, rows.apvoucher.length, 'SQLite holds every voucher')
  t.same((await postgresIds(server.pool, 'pyemptimesheet', undefined)).length, rows.pyemptimesheet.length, 'PostgreSQL holds every timesheet line')
})

interface Outcome { account: string, object: ErpObject, kind: string, allowed: number, total: number }
const outcomes: Outcome[] = []
let evaluations = 0
let decisionsMade = 0

for (const account of accounts) {
  t.test(account, async (t) => {
    const caller = CALLER_OF[account] as CallerName
    const principal = principals.get(account) as Principal
    for (const table of tables) {
      const decl = data.objects[table.object] as NonNullable<typeof data.objects[string]>
      const path = `/cmictest/${decl.module}-rest-api/rest/1/${table.object}`

      // The collection decision, through the app, in both dialects.
      const decisions: Record<'sqlite' | 'postgresql', any> = { sqlite: undefined, postgresql: undefined }
      for (const dialect of ['sqlite', 'postgresql'] as const) {
        const res = await app.inject({ method: 'POST', url: '/v1/decide', headers: { authorization: callers.header(caller) }, payload: { request: { method: 'GET', path }, sql: dialect } })
        t.equal(res.statusCode, 200, `${table.object} ${dialect}: HTTP 200`)
        decisions[dialect] = res.json()
        t.equal(decisions[dialect].principal?.id, account, `${table.object} ${dialect}: decided for ${account}`)
      }
      t.same({ ...decisions.sqlite.rows, sql: undefined }, { ...decisions.postgresql.rows, sql: undefined }, `${table.object}: one filter whatever the dialect`)

      // A single-record decision for every row, as the route would make it:
      // GET on the object with the row as `resource`. Rows with the same fields
      // make the same policy input; the decision is a pure function of the
      // input, so each distinct input is evaluated once.
      const allowed: number[] = []
      const oracle: number[] = []
      const decided = new Map<string, boolean>()
      const list: ErpRow[] = rows[table.object]
      for (const row of list) {
        const resource = rowResource(row, table.fields)
        const input = policyInput(principal, parseDecisionRequest({ request: { method: 'GET', path }, resource }))
        const key = JSON.stringify(input)
        let allow = decided.get(key)
        if (allow === undefined) {
          allow = policy.evaluate(input).allow
          decided.set(key, allow)
        }
        if (allow) allowed.push(row.id)
        if (mayRetrieve(data, account, table.object, resource)) oracle.push(row.id)
      }
      evaluations += decided.size
      decisionsMade += list.length
      t.same(idDifference(allowed, oracle), { missing: [], extra: [] }, `${table.object}: single-record decisions follow the policy data (${allowed.length} allowed)`)

      const viaSqlite = sqliteIds(sqlite, table.table, decisions.sqlite.rows.sql.where, decisions.sqlite.rows.sql.params)
      t.same(idDifference(viaSqlite, allowed), { missing: [], extra: [] }, `${table.object}: SQLite rows = allowed records (${viaSqlite.length}/${list.length})`)
      const viaPg = await postgresIds(server.pool, table.table, decisions.postgresql.rows.sql.where, decisions.postgresql.rows.sql.params)
      t.same(idDifference(viaPg, allowed), { missing: [], extra: [] }, `${table.object}: PostgreSQL rows = allowed records (${viaPg.length}/${list.length})`)

      const columns = data.objects[table.object]?.sql.columns ?? {}
      for (const [name, db] of [['SQLite', kyselySqlite], ['PostgreSQL', kyselyPg]] as const) {
        const found = await applyRows(db.selectFrom(table.table).select('id').orderBy('id'), decisions.sqlite.rows, { columns }).execute()
        t.same(idDifference(found.map((r) => Number(r.id)), allowed), { missing: [], extra: [] }, `${table.object}: Kysely on ${name} = allowed records`)
      }

      // A sample of single-record decisions over HTTP answers like the engine.
      const allowedSet = new Set(allowed)
      const sample = [...list.filter((r) => allowedSet.has(r.id)).slice(0, 3), ...list.filter((r) => !allowedSet.has(r.id)).slice(0, 3)]
      for (const row of sample) {
        const res = await app.inject({ method: 'POST', url: '/v1/decide', headers: { authorization: callers.header(caller) }, payload: { request: { method: 'GET', path: `${path}/${row.id}` }, resource: rowResource(row, table.fields) } })
        t.equal(res.json().allow, allowedSet.has(row.id), `${table.object} row ${row.id}: HTTP decision = engine decision`)
      }
      outcomes.push({ account, object: table.object, kind: decisions.sqlite.rows.kind, allowed: allowed.length, total: list.length })
    }
  })
}

t.test('the comparisons above can tell a filter from no filter', async (t) => {
  // Without these, "SQL rows = allowed rows" could hold because both are empty or full.
  const partial = outcomes.filter((o) => o.allowed > 0 && o.allowed < o.total)
  t.ok(partial.length >= 8, `${partial.length} account/object pairs see some rows but not all`)
  t.ok(outcomes.some((o) => o.kind === 'none' && o.allowed === 0), 'some pair sees nothing')
  const powerbi = outcomes.find((o) => o.account === 'ACME||SVC_POWERBI' && o.object === 'apvoucher')
  t.ok(powerbi !== undefined && powerbi.kind === 'conditional' && powerbi.allowed > 0 && powerbi.allowed < powerbi.total, 'the BI reader is visibly filtered')
  t.comment(outcomes.map((o) => `${o.account} ${o.object}: ${o.kind} ${o.allowed}/${o.total}`).join('\n'))
  t.comment(`${decisionsMade} single-record decisions from ${evaluations} distinct policy evaluations; whole file ${Date.now() - started} ms`)
})
