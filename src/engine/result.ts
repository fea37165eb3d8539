// The check that turns whatever the WASM returned into a typed policy result
// (the contract: src/contract/policy.ts, docs/POLICY-CONTRACT.md). A result that does not
// have the contract's shape is an engine failure (5xx), never an allow.
import type { Reason, SqlMapping } from '../contract/policy.js'
import type { Rows } from '../contract/rows.js'
import { PolicyEvaluationError } from '../errors.js'
import { canonicalRows, isRows } from '../rows/ucast.js'

export type { Action, Endpoint, Layer, PolicyInput, Reason } from '../contract/policy.js'

/** The policy's answer, checked: the contract's result with the SQL mapping kept apart. */
export interface PolicyResult {
  allow: boolean
  status: 200 | 403
  principal?: { id: string, kind: string }
  reasons: Reason[]
  rows: Rows
  /**
   * The object's SQL column mapping (policy data), or null when it declares
   * none. Used only to render `rows` as SQL; never answered as is.
   */
  sqlMapping: SqlMapping | null
}

/** What an undefined policy result means: deny, said plainly. */
export function undefinedResultDeny (): PolicyResult {
  return {
    allow: false,
    status: 403,
    reasons: [{ layer: 'policy', code: 'policy_undefined', message: 'the policy produced no decision for this request; denied by default' }],
    rows: { kind: 'none' },
    sqlMapping: null
  }
}

const LAYERS = new Set<string>(['authentication', 'api', 'application', 'policy'])

export function toPolicyResult (value: unknown): PolicyResult {
  if (value === null || typeof value !== 'object') throw malformed('is not an object')
  const r = value as Record<string, unknown>
  if (typeof r.allow !== 'boolean') throw malformed('has no boolean allow')
  const status = r.status
  if (status !== 200 && status !== 403) throw malformed('has a status other than 200 or 403')
  if ((r.allow && status !== 200) || (!r.allow && status === 200)) throw malformed('has allow and status that disagree')
  if (!Array.isArray(r.reasons) || !r.reasons.every(isReason)) throw malformed('has malformed reasons')
  if (!isRows(r.rows)) throw malformed('has malformed rows')
  const reasons = r.reasons.map((x: Reason) => ({ layer: x.layer, code: x.code, message: x.message }))
  const result: PolicyResult = { allow: r.allow, status, reasons, rows: canonicalRows(r.rows), sqlMapping: toSqlMapping(r.sql_mapping) }
  const p = r.principal as Record<string, unknown> | undefined
  if (p && typeof p.id === 'string' && typeof p.kind === 'string') result.principal = { id: p.id, kind: p.kind }
  return result
}

// Absent (a policy written before the field existed) or null: no mapping.
function toSqlMapping (value: unknown): SqlMapping | null {
  if (value === undefined || value === null) return null
  if (typeof value !== 'object' || Array.isArray(value)) throw malformed('has a sql_mapping that is not an object')
  const m = value as Record<string, unknown>
  if (typeof m.table !== 'string') throw malformed('has a sql_mapping without a table name')
  const columns = m.columns
  if (columns === null || typeof columns !== 'object' || Array.isArray(columns) ||
    !Object.values(columns).every((c) => typeof c === 'string')) {
    throw malformed('has a sql_mapping whose columns are not field -> column names')
  }
  return { table: m.table, columns: { ...(columns as Record<string, string>) } }
}

function isReason (value: unknown): value is Reason {
  const r = value as Record<string, unknown> | null
  return r !== null && typeof r === 'object' && typeof r.layer === 'string' && LAYERS.has(r.layer) &&
    typeof r.code === 'string' && typeof r.message === 'string'
}

function malformed (what: string): Error {
  return new PolicyEvaluationError(`the policy result ${what}`)
}
