// Single-record decisions read back per company: which records of a company an
// account may act on in one revision, what a change takes or gives, and what it
// leaves ("keeps 23-410, 24-101; loses 23-415"). Records are the space's
// (src/review/space.ts): each job the data names, and the labelled stand-ins for
// jobs it does not name, records without a job, records that are not job records.
import { RECORD_LABELS, type RecordRef } from './space.js'

export interface CompanyRecords {
  company: string
  gained: string[]
  lost: string[]
  /** allowed in both revisions */
  kept: string[]
}

/** Per company, the records gained, lost and kept; companies without a change are left out. */
export function compareRecords (records: RecordRef[], base: Map<string, boolean>, head: Map<string, boolean>): CompanyRecords[] {
  const byCompany = new Map<string, CompanyRecords>()
  for (const r of records) {
    let c = byCompany.get(r.company)
    if (!c) {
      c = { company: r.company, gained: [], lost: [], kept: [] }
      byCompany.set(r.company, c)
    }
    const b = base.get(r.key) === true
    const h = head.get(r.key) === true
    if (b && h) c.kept.push(r.label)
    else if (h) c.gained.push(r.label)
    else if (b) c.lost.push(r.label)
  }
  return [...byCompany.values()].filter((c) => c.gained.length > 0 || c.lost.length > 0)
}

/** The records of `company` allowed in one revision. */
export function allowedRecords (records: RecordRef[], allowed: Map<string, boolean>, company: string): string[] {
  return records.filter((r) => r.company === company && allowed.get(r.key) === true).map((r) => r.label)
}

/**
 * "23-410, 24-101, records without a job"; "all records (company-wide)" when the
 * list is every record of the company the space asks about (the unlisted job
 * included, so a group holding all jobs); "nothing" when empty.
 */
export function describeRecords (labels: string[], records: RecordRef[], company: string): string {
  if (labels.length === 0) return 'nothing'
  const all = records.filter((r) => r.company === company).map((r) => r.label)
  if (all.length > 0 && all.every((l) => labels.includes(l))) {
    return all.length === 1 && all[0] === RECORD_LABELS.company ? RECORD_LABELS.company : 'all records (company-wide)'
  }
  return labels.join(', ')
}

/** "01: 23-410, 23-502; 02: all records (company-wide)" over every company with an allowed record; "no records" when none. */
export function describeRecordScope (records: RecordRef[], allowed: Map<string, boolean>): string {
  const companies = [...new Set(records.map((r) => r.company))]
  const parts = companies.map((c) => [c, allowedRecords(records, allowed, c)] as const).filter(([, l]) => l.length > 0)
    .map(([c, l]) => `${c}: ${describeRecords(l, records, c)}`)
  return parts.length > 0 ? parts.join('; ') : 'no records'
}
