// Reads a collection decision's row filter (UCAST) back into what an auditor asks
// about: per company, all jobs (company-wide) or which jobs, plus the rows without
// a job (blank job, rows that are not job rows). A filter of a shape this reader
// does not know stays "uninterpreted" and is compared as it is, never guessed.
import type { Condition, Rows } from '../rows/ucast.js'
import type { BusinessObject } from './model.js'

export interface CompanyScope {
  /** every row of the company (a group holding all jobs, or an object without a job key) */
  companyWide: boolean
  jobs: string[]
  /** rows whose job is blank (null or "") */
  blankJob: boolean
  /** rows the job field does not apply to (job_when) */
  nonJobRows: boolean
}

export type Scope =
  | { kind: 'all' }
  | { kind: 'none' }
  | { kind: 'companies', companies: Record<string, CompanyScope> }
  | { kind: 'uninterpreted', filter: string }

const emptyCompany = (): CompanyScope => ({ companyWide: false, jobs: [], blankJob: false, nonJobRows: false })

export function readScope (rows: Rows, object: BusinessObject | undefined): Scope {
  if (rows.kind === 'all' || rows.kind === 'none') return { kind: rows.kind }
  const raw: Scope = { kind: 'uninterpreted', filter: JSON.stringify(rows.filter) }
  if (!object?.companyField) return raw
  const parts = rows.filter.type === 'compound' && rows.filter.operator === 'or' ? rows.filter.value : [rows.filter]
  const companies: Record<string, CompanyScope> = {}
  for (const part of parts) {
    if (!readCompany(part, object, companies)) return raw
  }
  for (const c of Object.values(companies)) c.jobs = [...new Set(c.jobs)].sort()
  return { kind: 'companies', companies }
}

function isField (c: Condition, field: string | null, operator: string): c is Condition & { type: 'field' } {
  return c.type === 'field' && field !== null && c.field === field && c.operator === operator
}

function readCompany (c: Condition, object: BusinessObject, into: Record<string, CompanyScope>): boolean {
  const company = (cond: Condition): string | undefined =>
    isField(cond, object.companyField, 'eq') && typeof cond.value === 'string' ? cond.value : undefined
  const alone = company(c)
  if (alone !== undefined) {
    const scope = into[alone] ??= emptyCompany()
    scope.companyWide = true
    return true
  }
  if (c.type !== 'compound' || c.operator !== 'and' || c.value.length !== 2) return false
  const [first, rest] = c.value as [Condition, Condition]
  const code = company(first)
  if (code === undefined) return false
  const alternatives = rest.type === 'compound' && rest.operator === 'or' ? rest.value : [rest]
  const scope = into[code] ??= emptyCompany()
  return alternatives.every((alt) => readAlternative(alt, object, scope))
}

function readAlternative (c: Condition, object: BusinessObject, scope: CompanyScope): boolean {
  if (isField(c, object.jobField, 'in') && Array.isArray(c.value) && c.value.every((j) => typeof j === 'string')) {
    scope.jobs.push(...c.value)
    return true
  }
  if (isField(c, object.jobField, 'eq') && (c.value === null || c.value === '')) {
    scope.blankJob = true
    return true
  }
  if (object.jobWhen && isField(c, object.jobWhen.field, 'ne') && c.value === object.jobWhen.equals) {
    scope.nonJobRows = true
    return true
  }
  return false
}

// --- Comparing scopes -------------------------------------------------------

/** One company's part of a scope change (or `company: null` for "all rows" / an uninterpreted filter). */
export interface ScopePart {
  company: string | null
  companyWide: boolean
  jobs: string[]
  blankJob: boolean
  nonJobRows: boolean
  /** every row of the object (an object without company or job key) */
  allRows: boolean
  /** a filter this reader does not interpret, as the policy returned it */
  filter: string | null
}

// A scope as a set of atoms: "*" every row, "c\0*" company-wide, "c\0job\0j",
// "c\0blank", "c\0nonjob", "filter\0<json>". An atom covered by a wider one of the
// other side (a job under a company-wide grant) is not a change.
function atoms (scope: Scope): Set<string> {
  if (scope.kind === 'all') return new Set(['*'])
  if (scope.kind === 'none') return new Set()
  if (scope.kind === 'uninterpreted') return new Set([`filter\0${scope.filter}`])
  const out = new Set<string>()
  for (const [c, s] of Object.entries(scope.companies)) {
    if (s.companyWide) out.add(`${c}\0*`)
    for (const j of s.jobs) out.add(`${c}\0job\0${j}`)
    if (s.blankJob) out.add(`${c}\0blank`)
    if (s.nonJobRows) out.add(`${c}\0nonjob`)
  }
  return out
}

function covered (atom: string, by: Set<string>): boolean {
  if (by.has(atom) || by.has('*')) return true
  const [company, what] = atom.split('\0')
  return what !== '*' && company !== 'filter' && by.has(`${company}\0*`)
}

function toParts (list: string[]): ScopePart[] {
  const parts = new Map<string, ScopePart>()
  const part = (company: string | null, filter: string | null = null): ScopePart => {
    const key = `${company ?? ''}\0${filter ?? ''}`
    let p = parts.get(key)
    if (!p) {
      p = { company, companyWide: false, jobs: [], blankJob: false, nonJobRows: false, allRows: false, filter }
      parts.set(key, p)
    }
    return p
  }
  for (const atom of list) {
    const [a, b, c] = atom.split('\0') as [string, string | undefined, string | undefined]
    if (a === '*') part(null).allRows = true
    else if (a === 'filter') part(null, b ?? '')
    else if (b === '*') part(a).companyWide = true
    else if (b === 'job') part(a).jobs.push(c ?? '')
    else if (b === 'blank') part(a).blankJob = true
    else part(a).nonJobRows = true
  }
  for (const p of parts.values()) p.jobs.sort()
  return [...parts.values()].sort((x, y) => (x.company ?? '').localeCompare(y.company ?? ''))
}

export function compareScopes (from: Scope, to: Scope): { gained: ScopePart[], lost: ScopePart[], kept: ScopePart[] } {
  const a = atoms(from)
  const b = atoms(to)
  // What both allow: an atom of one side inside the other, unless a wider kept atom holds it.
  const both = new Set([...a].filter((x) => covered(x, b)).concat([...b].filter((x) => covered(x, a))))
  const kept = [...both].filter((x) => !covered(x, new Set([...both].filter((y) => y !== x))))
  return {
    gained: toParts([...b].filter((x) => !covered(x, a))),
    lost: toParts([...a].filter((x) => !covered(x, b))),
    kept: toParts(kept)
  }
}

/** What `kept` leaves of the company of `part` ("jobs 23-410, 24-101"), "nothing" when none. */
export function describeKept (kept: ScopePart[], company: string | null): string {
  const same = kept.filter((k) => k.company === company || k.allRows)
  return same.length > 0 ? same.map(describePart).join('; ') : 'nothing'
}

/** "01: all jobs; 02: jobs 23-801, 24-803, rows without a job" */
export function describeScope (scope: Scope): string {
  if (scope.kind === 'all') return 'all rows'
  if (scope.kind === 'none') return 'no rows'
  if (scope.kind === 'uninterpreted') return `rows matching ${scope.filter}`
  return Object.entries(scope.companies).sort(([x], [y]) => x.localeCompare(y))
    .map(([c, s]) => `${c}: ${describeCompany(s)}`).join('; ')
}

export function describeCompany (s: { companyWide: boolean, jobs: string[], blankJob: boolean, nonJobRows: boolean }): string {
  if (s.companyWide) return 'all jobs (company-wide)'
  const bits: string[] = []
  if (s.jobs.length > 0) bits.push(`job${s.jobs.length === 1 ? '' : 's'} ${s.jobs.join(', ')}`)
  if (s.blankJob) bits.push('rows without a job')
  if (s.nonJobRows) bits.push('rows that are not job rows')
  return bits.join(', ') || 'no jobs'
}

export function describePart (p: ScopePart): string {
  if (p.allRows) return 'all rows'
  if (p.filter !== null) return `rows matching ${p.filter} (filter not interpreted)`
  return describeCompany(p)
}
