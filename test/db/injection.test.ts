// Company and job codes that are SQL: quotes, semicolons, comment markers,
// unicode, SQL keywords, placeholder and LIKE characters. They are put into the
// policy data (companies, jobs, groups, access) and into the rows, and the
// example policy is loaded with that data (no recompilation). On SQLite and
// PostgreSQL the rendered filters and the Kysely helper select exactly the rows
// each account should see — written out below from how the data was built, and
// equal to the single-record decisions — never a hostile value in the SQL
// text, and every table intact afterwards.
import t from 'tap'
import { applyRows } from '../../packages/client/src/kysely.js'
import { decideOnce } from '../../src/decision/decide.js'
import { parseDecisionRequest } from '../../src/decision/parse.js'
import { ERP_OBJECTS, type ErpDataset, type ErpPolicyData, type ErpRow } from '../helpers/erp-dataset.js'
import { createPostgresTables, erpTable, openKysely, openSqlite, postgresIds, sqliteIds } from '../helpers/erp-db.js'
import { startTestPostgres } from '../helpers/postgres.js'
import { basicPrincipal, checkAgreement, compileExamplePolicy, policyWithData } from '../helpers/policy-variants.js'

const HOSTILE_COMPANIES = [
  "0'1",
  "02'; DROP TABLE jcjob; --",
  '/* c */ 03',
  'Ünïcødé 公司 🏗️',
  'SELECT',
  "' OR '1'='1",
  '"quoted"',
  'back\\slash\\',
  '$1 ? :name @p1'
]
const HOSTILE_JOBS = [
  "23-410'--",
  'J; DELETE FROM scmast WHERE 1=1',
  '/* J */',
  'ジョブ-1',
  'NULL',
  "' OR ''='",
  'OR 1=1 --',
  '%_%',
  ']] [x] `y`',
  'ok-job'
]
// Values no row or grant uses, as single-record inputs and in rows only.
const COMPANY_OUTSIDERS = ['01', "0'1 ", '0’1']

// Who may see what, by construction:
//   ACME||INJ_JOBS  company "0'1": group G holds jobs 0..4; company "' OR '1'='1": group H holds job 5
//   ACME||INJ_WIDE  company "02'; DROP TABLE jcjob; --" with MASTER, and "SELECT" with a group that
//                   holds no job
//   ACME||INJ_NONE  access only to a company the data does not know
const [C_QUOTE, C_DROP, C_COMMENT, C_UNICODE, C_SELECT, C_OR] = HOSTILE_COMPANIES as [string, string, string, string, string, string]
const G_JOBS = HOSTILE_JOBS.slice(0, 5)
const H_JOBS = HOSTILE_JOBS.slice(5, 6)
const ACCOUNTS = ['ACME||INJ_JOBS', 'ACME||INJ_WIDE', 'ACME||INJ_NONE']
const SQL_TOKENS = /\b(?:AND|OR|IN|IS|NOT|NULL)\b|1=1|1=0|<>|=|\?|\$\d+|[(),\s]/g

const compiled = await compileExamplePolicy()
const base = compiled.data.erp
const erp: ErpPolicyData = {
  objects: base.objects,
  api: { ...base.api, assignments: Object.fromEntries(ACCOUNTS.map((a) => [a, ['BI_READER']])) },
  accounts: { users: Object.fromEntries(ACCOUNTS.map((a) => [a, { kind: 'service_account', idps: ['basic'] }])), clients: {} },
  security: {
    companies: Object.fromEntries(HOSTILE_COMPANIES.map((c) => [c, { name: c }])),
    jobs: Object.fromEntries(HOSTILE_COMPANIES.map((c) => [c, Object.fromEntries(HOSTILE_JOBS.map((j) => [j, { name: j }]))])),
    groups: {
      [C_QUOTE]: { G: { jobs: G_JOBS }, MASTER: { all_jobs: true } },
      [C_OR]: { H: { jobs: H_JOBS } },
      [C_DROP]: { MASTER: { all_jobs: true } },
      [C_SELECT]: { EMPTY: { jobs: [] } },
      [C_COMMENT]: { G: { jobs: HOSTILE_JOBS } }
    },
    access: {
      'ACME||INJ_JOBS': { [C_QUOTE]: { groups: ['G'] }, [C_OR]: { groups: ['H'] } },
      'ACME||INJ_WIDE': { [C_DROP]: { groups: ['MASTER'] }, [C_SELECT]: { groups: ['EMPTY'] } },
      'ACME||INJ_NONE': { "' OR 1=1 --": { groups: ['G'] } }
    }
  }
}

// Every hostile company (and a few look-alikes) with every hostile job, NULL and ''.
const rows: ErpDataset = { jcjob: [], scmast: [], apvoucher: [], pyemptimesheet: [] }
for (const company of [...HOSTILE_COMPANIES, ...COMPANY_OUTSIDERS]) {
  for (const job of [...HOSTILE_JOBS, null, '']) {
    const next = (list: ErpRow[]): number => list.length + 1
    if (job !== null && job !== '') rows.jcjob.push({ id: next(rows.jcjob), JobCompCode: company, JobCode: job })
    rows.scmast.push({ id: next(rows.scmast), ScmstCompCode: company, ScmstJobCode: job })
    rows.apvoucher.push({ id: next(rows.apvoucher), VouCompCode: company, VouJobCode: job })
    for (const type of ['J', 'G']) rows.pyemptimesheet.push({ id: next(rows.pyemptimesheet), TshCompCode: company, TshJobdeptwoId: job, TshTypeCode: type })
  }
}

const blank = (v: unknown): boolean => v === null || v === ''
/** The rows each account should see, from how the data above was built. */
const expected: Record<string, Record<string, (r: ErpRow) => boolean>> = {
  'ACME||INJ_JOBS': {
    jcjob: (r) => (r.JobCompCode === C_QUOTE && G_JOBS.includes(r.JobCode as string)) || (r.JobCompCode === C_OR && H_JOBS.includes(r.JobCode as string)),
    scmast: (r) => (r.ScmstCompCode === C_QUOTE && G_JOBS.includes(r.ScmstJobCode as string)) || (r.ScmstCompCode === C_OR && H_JOBS.includes(r.ScmstJobCode as string)),
    apvoucher: (r) => (r.VouCompCode === C_QUOTE && (G_JOBS.includes(r.VouJobCode as string) || blank(r.VouJobCode))) ||
      (r.VouCompCode === C_OR && (H_JOBS.includes(r.VouJobCode as string) || blank(r.VouJobCode))),
    pyemptimesheet: (r) => (r.TshCompCode === C_QUOTE && (r.TshTypeCode !== 'J' || G_JOBS.includes(r.TshJobdeptwoId as string))) ||
      (r.TshCompCode === C_OR && (r.TshTypeCode !== 'J' || H_JOBS.includes(r.TshJobdeptwoId as string)))
  },
  'ACME||INJ_WIDE': {
    jcjob: (r) => r.JobCompCode === C_DROP,
    scmast: (r) => r.ScmstCompCode === C_DROP,
    apvoucher: (r) => r.VouCompCode === C_DROP || (r.VouCompCode === C_SELECT && blank(r.VouJobCode)),
    pyemptimesheet: (r) => r.TshCompCode === C_DROP || (r.TshCompCode === C_SELECT && r.TshTypeCode !== 'J')
  },
  'ACME||INJ_NONE': { jcjob: () => false, scmast: () => false, apvoucher: () => false, pyemptimesheet: () => false }
}

const tables = ERP_OBJECTS.map((o) => erpTable(o, base.objects[o] as NonNullable<ErpPolicyData['objects'][string]>))
const sqlite = openSqlite(tables)
const server = await startTestPostgres()
t.teardown(() => server.close())
await createPostgresTables(server.pool, tables)
const policy = await policyWithData(compiled, erp)
const { sqlite: kyselySqlite, pg: kyselyPg, destroy: closeKysely } = openKysely(sqlite, server.poolConfig)
t.teardown(closeKysely)

t.test('the hostile data is loaded and the rows agree with the single-record decisions', async (t) => {
  const report = await checkAgreement(policy, erp, ACCOUNTS, rows, { sqlite, pool: server.pool, tables })
  t.same(report.problems, [], 'SQL rows = allowed records = the data, on both databases')
  t.ok(report.partial >= 6, `${report.partial} account/object pairs partly visible`)
  t.equal(sqliteIds(sqlite, 'jcjob', undefined).length, rows.jcjob.length)
  t.equal((await postgresIds(server.pool, 'pyemptimesheet', undefined)).length, rows.pyemptimesheet.length)
})

for (const account of ACCOUNTS) {
  t.test(`${account}: exactly the rows it should see, and nothing else`, async (t) => {
    const principal = basicPrincipal(account)
    for (const table of tables) {
      const decl = erp.objects[table.object] as NonNullable<ErpPolicyData['objects'][string]>
      const path = `/cmictest/${decl.module}-rest-api/rest/1/${table.object}`
      const want = rows[table.object].filter(expected[account]?.[table.object] ?? (() => true)).map((r) => r.id)
      for (const dialect of ['sqlite', 'postgresql'] as const) {
        const { decision } = await decideOnce(policy, { ok: true, principal }, parseDecisionRequest({ request: { method: 'GET', path }, sql: dialect }))
        const sql = decision.rows.sql
        if (sql === undefined) {
          t.fail(`${table.object} ${dialect}: no SQL`)
          continue
        }
        // Nothing in the text but quoted mapping columns, placeholders, operators
        // and keywords: no value can have found its way in.
        const rest = sql.where.replace(/"(?:[^"]|"")*"/g, ' ').replace(SQL_TOKENS, ' ').trim()
        t.equal(rest, '', `${table.object} ${dialect}: the SQL text is only structure: ${sql.where}`)
        t.ok(sql.params.every((p) => typeof p === 'string'), `${table.object} ${dialect}: the codes travel as params`)
        const got = dialect === 'sqlite'
          ? sqliteIds(sqlite, table.table, sql.where, sql.params)
          : await postgresIds(server.pool, table.table, sql.where, sql.params)
        t.same(got, want, `${table.object} ${dialect}: ${want.length} rows`)
      }
      const columns = decl.sql.columns
      const { decision } = await decideOnce(policy, { ok: true, principal }, parseDecisionRequest({ request: { method: 'GET', path } }))
      for (const [name, db] of [['SQLite', kyselySqlite], ['PostgreSQL', kyselyPg]] as const) {
        const found = await applyRows(db.selectFrom(table.table).select('id').orderBy('id'), decision.rows, { columns }).execute()
        t.same(found.map((r) => Number(r.id)), want, `${table.object} Kysely on ${name}`)
      }
    }
  })
}

t.test('a hostile code in a single-record request decides like any other code', async (t) => {
  const principal = basicPrincipal('ACME||INJ_JOBS')
  const path = '/cmictest/jc-rest-api/rest/1/jcjob'
  // The record is named by `resource`; the path's id segment holds safe characters only.
  const allows = async (company: string, job: string): Promise<boolean> =>
    (await decideOnce(policy, { ok: true, principal }, parseDecisionRequest({ request: { method: 'GET', path: `${path}/record-1` }, resource: { company, job } }))).decision.allow
  t.throws(() => parseDecisionRequest({ request: { method: 'GET', path: `${path}/${encodeURIComponent("23-410'--")}` } }), { code: 'PATH_NOT_CANONICAL' },
    'a hostile code in the path itself is refused before any decision')
  t.equal(await allows(C_QUOTE, G_JOBS[0] as string), true, 'a job of its group in a quoted company')
  t.equal(await allows(C_QUOTE, H_JOBS[0] as string), false, 'a job of another company\'s group')
  t.equal(await allows(C_OR, H_JOBS[0] as string), true, "company ' OR '1'='1 is a name, not a condition")
  t.equal(await allows("' OR '1'='1' --", H_JOBS[0] as string), false, 'a look-alike company is another company')
  t.equal(await allows(C_UNICODE, 'ok-job'), false, 'no access to the unicode company')
})

t.test('the tables are intact afterwards', async (t) => {
  const sqliteTables = (sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name)
  t.same(sqliteTables, tables.map((x) => x.table).sort(), 'SQLite: the same tables')
  const pgTables = (await server.pool.query<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name', [server.schema])).rows.map((r) => r.table_name)
  t.same(pgTables, tables.map((x) => x.table).sort(), 'PostgreSQL: the same tables')
  for (const table of tables) {
    t.equal(sqliteIds(sqlite, table.table, undefined).length, rows[table.object].length, `SQLite ${table.table}: every row`)
    t.equal((await postgresIds(server.pool, table.table, undefined)).length, rows[table.object].length, `PostgreSQL ${table.table}: every row`)
  }
  const stored = await server.pool.query<{ c: string, j: string | null }>('SELECT vou_comp_code AS c, vou_job_code AS j FROM apvoucher ORDER BY id')
  t.same(stored.rows.map((r) => [r.c, r.j]), rows.apvoucher.map((r) => [r.VouCompCode, r.VouJobCode]), 'PostgreSQL stored every hostile value as it was')
})
