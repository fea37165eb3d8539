// The `sql` option through POST /v1/decide: the example policies' filters in each
// dialect, `all` and `none` as 1=1 and 1=0, the column mapping never leaving the
// service except as rendered SQL; and, with policies written here at test time,
// what a missing or malformed mapping gets (a 500, never an allow without the
// filter the caller asked for).
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { buildApp } from '../helpers/app.js'
import { startCallers } from '../helpers/callers.js'

const JCJOB = '/cmictest/jc-rest-api/rest/1/jcjob'

t.test('SQL from the example policies', async (t) => {
  const callers = await startCallers()
  const app = await buildApp({ authn: callers.authn })
  t.teardown(async () => { await app.close(); await callers.close() })
  const decide = async (caller: Parameters<typeof callers.header>[0], body: object): Promise<any> => {
    const res = await app.inject({ method: 'POST', url: '/v1/decide', headers: { authorization: callers.header(caller) }, payload: body })
    t.equal(res.statusCode, 200, 'a decision was made')
    t.notMatch(res.body, /sql_mapping|sqlMapping|"columns"/, 'the mapping itself is never answered')
    return res.json()
  }

  // Power BI: HEALTHCARE + COMMERCIAL in 01, WATER in 02.
  const params = ['01', '23-410', '23-415', '23-502', '24-118', '02', '23-812', '24-820']
  const expected: Record<string, string> = {
    postgresql: '(("job_comp_code" = $1 AND "job_code" IN ($2, $3, $4, $5)) OR ("job_comp_code" = $6 AND "job_code" IN ($7, $8)))',
    mysql: '((`job_comp_code` = ? AND `job_code` IN (?, ?, ?, ?)) OR (`job_comp_code` = ? AND `job_code` IN (?, ?)))',
    sqlite: '(("job_comp_code" = ? AND "job_code" IN (?, ?, ?, ?)) OR ("job_comp_code" = ? AND "job_code" IN (?, ?)))',
    sqlserver: '(([job_comp_code] = @p1 AND [job_code] IN (@p2, @p3, @p4, @p5)) OR ([job_comp_code] = @p6 AND [job_code] IN (@p7, @p8)))'
  }
  for (const [dialect, where] of Object.entries(expected)) {
    t.test(`a conditional filter in ${dialect}`, async (t) => {
      const d = await decide('power bi (entra)', { request: { method: 'GET', path: JCJOB }, sql: dialect })
      t.equal(d.allow, true)
      t.same(Object.keys(d.rows), ['kind', 'filter', 'sql'])
      t.equal(d.rows.kind, 'conditional', 'the UCAST filter is still there')
      t.same(d.rows.sql, { dialect, where, params })
    })
  }

  t.test('the job-type rule of timesheets and blank vouchers, null-safe', async (t) => {
    const sheets = await decide('power bi (entra)', { request: { method: 'GET', path: '/cmictest/hcm-rest-api/rest/1/pyemptimesheet' }, sql: 'postgresql' })
    t.same(sheets.rows.sql, {
      dialect: 'postgresql',
      where: '(("tsh_comp_code" = $1 AND ("tsh_jobdeptwo_id" IN ($2, $3, $4, $5) OR ("tsh_type_code" <> $6 OR "tsh_type_code" IS NULL))) OR ' +
        '("tsh_comp_code" = $7 AND ("tsh_jobdeptwo_id" IN ($8, $9) OR ("tsh_type_code" <> $10 OR "tsh_type_code" IS NULL))))',
      params: ['01', '23-410', '23-415', '23-502', '24-118', 'J', '02', '23-812', '24-820', 'J']
    })
    const vouchers = await decide('power bi (entra)', { request: { method: 'GET', path: '/cmictest/ap-rest-api/rest/1/apvoucher' }, sql: 'mysql' })
    t.same(vouchers.rows.sql, {
      dialect: 'mysql',
      where: '((`vou_comp_code` = ? AND (`vou_job_code` IN (?, ?, ?, ?) OR `vou_job_code` IS NULL OR `vou_job_code` = ?)) OR ' +
        '(`vou_comp_code` = ? AND (`vou_job_code` IN (?, ?) OR `vou_job_code` IS NULL OR `vou_job_code` = ?)))',
      params: ['01', '23-410', '23-415', '23-502', '24-118', '', '02', '23-812', '24-820', '']
    })
  })

  t.test('a MASTER grant is one company condition per company', async (t) => {
    const d = await decide('payroll (basic)', { request: { method: 'GET', path: '/cmictest/hcm-rest-api/rest/1/pyemptimesheet' }, sql: 'sqlite' })
    t.same(d.rows.sql, { dialect: 'sqlite', where: '("tsh_comp_code" = ? OR "tsh_comp_code" = ?)', params: ['01', '02'] })
  })

  t.test('kind all is 1=1, a deny is 1=0, no sql without asking', async (t) => {
    const all = await decide('legacy ftp (basic)', { request: { method: 'GET', path: '/cmictest/sys-rest-api/rest/1/currency' }, sql: 'sqlserver' })
    t.same(all.rows, { kind: 'all', sql: { dialect: 'sqlserver', where: '1=1', params: [] } })
    const denied = await decide('hr writer (basic)', { request: { method: 'GET', path: '/cmictest/hcm-rest-api/rest/1/pyemployee' }, sql: 'mysql' })
    t.equal(denied.status, 403)
    t.same(denied.rows, { kind: 'none', sql: { dialect: 'mysql', where: '1=0', params: [] } })
    const record = await decide('power bi (entra)', { request: { method: 'GET', path: JCJOB + '/24-101' }, resource: { company: '01', job: '24-101' }, sql: 'postgresql' })
    t.equal(record.status, 403)
    t.same(record.rows, { kind: 'none', sql: { dialect: 'postgresql', where: '1=0', params: [] } })
    const plain = await decide('power bi (entra)', { request: { method: 'GET', path: JCJOB } })
    t.same(Object.keys(plain.rows), ['kind', 'filter'])
  })
})

// A policy whose answer per resource exercises the service's handling of the mapping.
const FIXTURE_POLICY = `package fixture

_filter := {"type": "field", "field": "Co", "operator": "eq", "value": "01"}

_allow(rows) := {"allow": true, "status": 200, "reasons": [], "rows": rows}

decision := object.union(_allow({"kind": "conditional", "filter": _filter}), {"sql_mapping": null}) if input.endpoint.resource == "nomapping"

decision := _allow({"kind": "conditional", "filter": _filter}) if input.endpoint.resource == "absent"

decision := object.union(_allow({"kind": "all"}), {"sql_mapping": null}) if input.endpoint.resource == "allnomapping"

decision := object.union(_allow({"kind": "conditional", "filter": _filter}), {"sql_mapping": {"table": "t", "columns": {"Other": "other"}}}) if input.endpoint.resource == "missingcolumn"

decision := object.union(_allow({"kind": "conditional", "filter": _filter}), {"sql_mapping": {"table": "t", "columns": {"Co": 1}}}) if input.endpoint.resource == "badcolumns"

decision := object.union(_allow({"kind": "conditional", "filter": _filter}), {"sql_mapping": "t"}) if input.endpoint.resource == "notobject"

decision := object.union(_allow({"kind": "conditional", "filter": _filter}), {"sql_mapping": {"columns": {"Co": "co"}}}) if input.endpoint.resource == "notable"

decision := object.union(_allow({"kind": "conditional", "filter": _filter}), {"sql_mapping": {"table": "t", "columns": {"Co": "co\\"; DROP TABLE t; --"}}}) if input.endpoint.resource == "hostile"
`

t.test('missing or malformed mappings', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-sql-policy-'))
  await mkdir(join(dir, 'fixture'))
  await writeFile(join(dir, 'fixture', 'decision.rego'), FIXTURE_POLICY)
  const callers = await startCallers()
  const app = await buildApp({ authn: callers.authn, policy: { dir, entrypoint: 'fixture/decision' } })
  t.teardown(async () => { await app.close(); await callers.close(); await rm(dir, { recursive: true, force: true }) })
  const decide = (resource: string, sql?: string) => app.inject({
    method: 'POST',
    url: '/v1/decide',
    headers: { authorization: callers.header('payroll (basic)') },
    payload: { request: { method: 'GET', path: `/cmictest/jc-rest-api/rest/1/${resource}` }, ...(sql ? { sql } : {}) }
  })
  const HIDDEN = 'the decision could not be made; see the service log'

  interface Case { resource: string, sql?: string, status: number, body: unknown }
  const cases: Case[] = [
    // no mapping: fine without SQL, a 500 when SQL of a conditional filter is asked
    { resource: 'nomapping', status: 200, body: { allow: true, rows: { kind: 'conditional', filter: { field: 'Co' } } } },
    { resource: 'nomapping', sql: 'postgresql', status: 500, body: { code: 'SQL_RENDER_FAILED', message: HIDDEN } },
    { resource: 'absent', sql: 'sqlite', status: 500, body: { code: 'SQL_RENDER_FAILED', message: HIDDEN } },
    { resource: 'allnomapping', sql: 'mysql', status: 200, body: { allow: true, rows: { kind: 'all', sql: { dialect: 'mysql', where: '1=1', params: [] } } } },
    { resource: 'missingcolumn', sql: 'sqlserver', status: 500, body: { code: 'SQL_RENDER_FAILED', message: HIDDEN } },
    // a malformed mapping is a malformed policy result, asked for SQL or not
    { resource: 'badcolumns', status: 500, body: { code: 'POLICY_EVALUATION_FAILED', message: HIDDEN } },
    { resource: 'notobject', status: 500, body: { code: 'POLICY_EVALUATION_FAILED', message: HIDDEN } },
    { resource: 'notable', sql: 'postgresql', status: 500, body: { code: 'POLICY_EVALUATION_FAILED', message: HIDDEN } },
    // a hostile column name from policy data stays quoted
    { resource: 'hostile', sql: 'postgresql', status: 200, body: { rows: { sql: { where: '"co""; DROP TABLE t; --" = $1', params: ['01'] } } } }
  ]
  for (const c of cases) {
    const res = await decide(c.resource, c.sql)
    const name = `${c.resource}${c.sql ? ' as ' + c.sql : ''}`
    t.equal(res.statusCode, c.status, `${name}: status`)
    if (c.status >= 500) t.same(res.json(), c.body, `${name}: no decision, no internals`)
    else t.match(res.json(), c.body, `${name}: body`)
  }
})
