// An independent reading of the example policy's rules, written from the
// comments in policies/erp/**/data.yaml and docs/ARCHITECTURE.md rather than from the Rego:
// may this account retrieve this row of this object? The database tests hold the
// engine's single-record decisions and the rendered SQL to it, so that the two
// cannot agree with each other on a shared mistake unnoticed.
import type { ErpPolicyData, ObjectDeclaration } from './erp-dataset.js'

const blank = (v: unknown): boolean => v === null || v === undefined || v === ''

/** API security: one of the account's roles grants `action` on module/resource, or the endpoint bypasses. */
export function apiAllows (data: ErpPolicyData, account: string, endpoint: string, action: string): boolean {
  const bypass = (data.api.bypass ?? {}) as Record<string, string[]>
  if (bypass[endpoint]?.includes(action) === true) return true
  const roles = data.api.roles as Record<string, { endpoints?: Record<string, string[]> }>
  return (data.api.assignments[account] ?? []).some((role) => roles[role]?.endpoints?.[endpoint]?.includes(action) === true)
}

/** Application security for one row (the account is known and API security allowed). */
export function rowAllowed (data: ErpPolicyData, account: string, decl: ObjectDeclaration, row: Record<string, unknown>): boolean {
  if (decl.company_field === undefined && decl.job_field === undefined) return true
  const company = decl.company_field !== undefined ? row[decl.company_field] : undefined
  if (blank(company) || typeof company !== 'string') return false
  const access = data.security.access[account]
  if (access === undefined || !Object.hasOwn(access, company) || !Object.hasOwn(data.security.companies, company)) return false
  if (decl.job_field === undefined) return true
  const groups = (access[company]?.groups ?? [])
    .map((g) => data.security.groups[company]?.[g])
    .filter((g): g is { all_jobs?: boolean, jobs?: string[] } => g !== undefined)
  if (groups.some((g) => g.all_jobs === true)) return true
  if (decl.job_when !== undefined && (row[decl.job_when.field] ?? null) !== decl.job_when.equals) return true
  const job = row[decl.job_field]
  if (blank(job)) return decl.rows_without_job === 'company'
  return groups.some((g) => (g.jobs ?? []).includes(job as string))
}

/** The whole retrieve decision for a row of `object`, for a known account. */
export function mayRetrieve (data: ErpPolicyData, account: string, object: string, row: Record<string, unknown>): boolean {
  const decl = data.objects[object]
  if (decl === undefined || !Object.hasOwn(data.accounts.users, account)) return false
  return apiAllows(data, account, `${decl.module}/${object}`, 'retrieve') && rowAllowed(data, account, decl, row)
}
