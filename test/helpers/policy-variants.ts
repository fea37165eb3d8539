// The example policy compiled once, then loaded with other data: the property
// and injection tests put random or hostile companies, jobs, groups and accounts
// into data.erp.security (and the accounts and role assignments) and load the
// same policy.wasm with it — assembleBundle + loadDecisionPolicy, no
// recompilation per case. checkAgreement() then holds the agreement property
// for a policy and a set of rows on both real databases.
import type Database from 'better-sqlite3'
import type pg from 'pg'
import { makePrincipal, type Principal } from '../../src/authn/principal.js'
import { assembleBundle, type PolicyBundle } from '../../src/bundle/bundle.js'
import { compilePolicies } from '../../src/toolchain/compiler.js'
import { decideOnce } from '../../src/decision/decide.js'
import { loadDecisionPolicy, type DecisionPolicy } from '../../src/engine/policy.js'
import { parseDecisionRequest } from '../../src/decision/parse.js'
import { POLICY_DIR } from './app.js'
import { rowResource, type ErpDataset, type ErpPolicyData } from './erp-dataset.js'
import { fillPostgres, fillSqlite, postgresIds, sqliteIds, type ErpTable } from './erp-db.js'
import { mayRetrieve } from './erp-oracle.js'

export const ENTRYPOINT = 'verdict/decision'

export interface CompiledPolicy {
  bundle: PolicyBundle
  /** data.json of the bundle, parsed: `{ erp: { objects, security, accounts, api } }` */
  data: { erp: ErpPolicyData } & Record<string, unknown>
}

export async function compileExamplePolicy (): Promise<CompiledPolicy> {
  const bundle = await compilePolicies({ dir: POLICY_DIR, entrypoint: ENTRYPOINT, check: false })
  return { bundle, data: JSON.parse(bundle.dataJson.toString('utf8')) }
}

/** The compiled policy with `erp` replaced: a new WASM instance, same policy.wasm. */
export async function policyWithData (compiled: CompiledPolicy, erp: ErpPolicyData): Promise<DecisionPolicy> {
  const data = { ...compiled.data, erp }
  const bundle = assembleBundle(compiled.bundle.wasm, Buffer.from(JSON.stringify(data)), Buffer.from(JSON.stringify(compiled.bundle.manifest)))
  return await loadDecisionPolicy(bundle, ENTRYPOINT)
}

/** The principal HTTP Basic authentication makes for an ERP user (src/authn/basic.ts). */
export function basicPrincipal (account: string): Principal {
  return makePrincipal({ method: 'basic', idp: 'basic', subject: account, erp_user: account, roles: [], scopes: [] })
}

export interface AgreementTargets {
  sqlite: Database.Database
  pool: pg.Pool
  tables: ErpTable[]
}

export interface AgreementReport {
  /** what disagreed, one line each; empty when the property holds */
  problems: string[]
  /** account/object pairs that see some rows but not all (the check had teeth) */
  partial: number
  pairs: number
}

/**
 * Loads `rows` into both databases and, for every account and table, compares
 * the rows the collection decision's SQL selects (sqlite and postgresql) with
 * the rows whose single-record decision allows retrieve, and both with the
 * independent reading of the data.
 */
export async function checkAgreement (policy: DecisionPolicy, erp: ErpPolicyData, accounts: string[], rows: Partial<ErpDataset>, targets: AgreementTargets): Promise<AgreementReport> {
  fillSqlite(targets.sqlite, targets.tables, rows)
  await fillPostgres(targets.pool, targets.tables, rows)
  const report: AgreementReport = { problems: [], partial: 0, pairs: 0 }
  for (const account of accounts) {
    const principal = basicPrincipal(account)
    for (const table of targets.tables) {
      const decl = erp.objects[table.object]
      if (decl === undefined) throw new Error(`no object ${table.object} in the data`)
      const path = `/cmictest/${decl.module}-rest-api/rest/1/${table.object}`
      const list = rows[table.object] ?? []
      const allowed: number[] = []
      const oracle: number[] = []
      for (const row of list) {
        const resource = rowResource(row, table.fields)
        const { decision } = await decideOnce(policy, { ok: true, principal }, parseDecisionRequest({ request: { method: 'GET', path: `${path}/${row.id}` }, resource }))
        if (decision.allow) allowed.push(row.id)
        if (mayRetrieve(erp, account, table.object, resource)) oracle.push(row.id)
      }
      const sql = {
        sqlite: (await decideOnce(policy, { ok: true, principal }, parseDecisionRequest({ request: { method: 'GET', path }, sql: 'sqlite' }))).decision.rows.sql,
        postgresql: (await decideOnce(policy, { ok: true, principal }, parseDecisionRequest({ request: { method: 'GET', path }, sql: 'postgresql' }))).decision.rows.sql
      }
      if (sql.sqlite === undefined || sql.postgresql === undefined) {
        report.problems.push(`${account} ${table.object}: the decision carries no SQL`)
        continue
      }
      const want = JSON.stringify(allowed)
      const got = {
        sqlite: sqliteIds(targets.sqlite, table.table, sql.sqlite.where, sql.sqlite.params),
        postgresql: await postgresIds(targets.pool, table.table, sql.postgresql.where, sql.postgresql.params)
      }
      for (const [dialect, rendered] of [['sqlite', sql.sqlite], ['postgresql', sql.postgresql]] as const) {
        if (JSON.stringify(got[dialect]) !== want) {
          report.problems.push(`${account} ${table.object} ${dialect}: SQL selects ${JSON.stringify(got[dialect])}, single records allow ${want}; WHERE ${rendered.where} ${JSON.stringify(rendered.params)}`)
        }
      }
      if (JSON.stringify(oracle) !== want) {
        report.problems.push(`${account} ${table.object}: single records allow ${want}, the data says ${JSON.stringify(oracle)}`)
      }
      report.pairs++
      if (allowed.length > 0 && allowed.length < list.length) report.partial++
    }
  }
  return report
}
