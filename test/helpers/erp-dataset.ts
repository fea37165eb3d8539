// A seeded, deterministic CMiC-shaped dataset for the database tests. Rows are
// keyed by the business objects' own field names (JobCompCode, VouJobCode, …), as
// the policy sees a record; test/helpers/erp-db.ts stores them under the columns
// of each object's `sql.columns` mapping in policies/erp/objects/data.yaml.
//
// What it holds, and why:
//   - the companies of policies/erp/security/data.yaml, plus company "03" that no
//     policy knows (nobody may see it);
//   - every job of the policy data, and generated jobs that are in no group except
//     MASTER — among them a job code of company 01 reused by companies 02 and 03,
//     so a filter that forgets the company would leak;
//   - subcontracts (scmast), some without a job (only MASTER covers those);
//   - AP vouchers, some with VouJobCode NULL and some '' (company scope), a few
//     without a company;
//   - timesheet lines of type J (job lines, a few without a job), G and others
//     or NULL, whose TshJobdeptwoId holds department or work-order codes that may
//     look like job codes: the job id is meaningful only on J lines.
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'

export const ERP_OBJECTS = ['jcjob', 'scmast', 'apvoucher', 'pyemptimesheet'] as const
export type ErpObject = typeof ERP_OBJECTS[number]

/** One row: its primary key plus the object's logical fields (strings or NULL). */
export type ErpRow = { id: number } & Record<string, string | null | number>

export type ErpDataset = Record<ErpObject, ErpRow[]>

export interface ObjectDeclaration {
  module: string
  company_field?: string
  job_field?: string
  rows_without_job?: string
  job_when?: { field: string, equals: string }
  sql: { table: string, columns: Record<string, string> }
}

export interface ErpPolicyData {
  objects: Record<string, ObjectDeclaration>
  security: {
    companies: Record<string, unknown>
    jobs: Record<string, Record<string, unknown>>
    groups: Record<string, Record<string, { all_jobs?: boolean, jobs?: string[] }>>
    access: Record<string, Record<string, { groups: string[] }>>
  }
  accounts: { users: Record<string, { kind: string, idps?: string[] }>, clients?: unknown }
  api: { roles: Record<string, unknown>, assignments: Record<string, string[]>, bypass?: unknown }
}

const POLICY_DATA = new URL('../../policies/erp/', import.meta.url)

/** The example policy data as the YAML files say (data.erp.*). */
export function readErpPolicyData (): ErpPolicyData {
  const read = (name: string): any => parse(readFileSync(new URL(`${name}/data.yaml`, POLICY_DATA), 'utf8'))
  return { objects: read('objects'), security: read('security'), accounts: read('accounts'), api: read('api') }
}

// mulberry32: small, fast, and the same numbers on every machine for a seed.
export function seededRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

export interface DatasetOptions {
  seed?: number
  /** jobs per company from the policy data; the generated ones are added */
  policyJobs: Record<string, string[]>
  /** generated jobs of the policy's companies (in no group but MASTER) */
  generatedJobs?: number
  scmast?: number
  apvoucher?: number
  pyemptimesheet?: number
}

export const DEFAULT_SEED = 20250603
export const UNKNOWN_COMPANY = '03'

export interface Job { company: string, code: string }

export function generateErpDataset (options: DatasetOptions): { jobs: Job[], rows: ErpDataset } {
  const random = seededRandom(options.seed ?? DEFAULT_SEED)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
  const chance = (p: number): boolean => random() < p

  const companies = Object.keys(options.policyJobs).sort()
  const jobs: Job[] = []
  for (const company of companies) {
    for (const code of options.policyJobs[company] ?? []) jobs.push({ company, code })
  }
  const firstPolicyJob = jobs[0]
  const generated = options.generatedJobs ?? 190
  for (let i = 0; i < generated; i++) {
    const company = companies[i % companies.length] as string
    jobs.push({ company, code: `${20 + (i % 7)}-${String(300 + i).padStart(3, '0')}` })
  }
  // The same job code in another company (known and unknown): the company decides.
  if (firstPolicyJob !== undefined) {
    for (const company of [...companies.filter((c) => c !== firstPolicyJob.company), UNKNOWN_COMPANY]) {
      jobs.push({ company, code: firstPolicyJob.code })
    }
  }
  for (let i = 0; i < 9; i++) jobs.push({ company: UNKNOWN_COMPANY, code: `30-${String(100 + i)}` })

  const policyJobs = jobs.filter((j) => options.policyJobs[j.company]?.includes(j.code) ?? false)
  // Half of the rows on the policy's own jobs, so every group's filter has hits.
  const someJob = (): Job => chance(0.5) && policyJobs.length > 0 ? pick(policyJobs) : pick(jobs)

  const rows: ErpDataset = { jcjob: [], scmast: [], apvoucher: [], pyemptimesheet: [] }
  let id = 0
  for (const job of jobs) rows.jcjob.push({ id: ++id, JobCompCode: job.company, JobCode: job.code })

  id = 0
  for (let i = 0; i < (options.scmast ?? 2400); i++) {
    const job = someJob()
    const blank = chance(0.04) ? pick([null, '']) : undefined
    rows.scmast.push({ id: ++id, ScmstCompCode: job.company, ScmstJobCode: blank !== undefined ? blank : job.code })
  }

  id = 0
  for (let i = 0; i < (options.apvoucher ?? 3600); i++) {
    const job = someJob()
    const r = random()
    // ~8% NULL job and ~5% '' (overhead vouchers: company scope), ~1% no company
    const jobCode = r < 0.08 ? null : r < 0.13 ? '' : job.code
    const company = chance(0.01) ? pick([null, '']) : job.company
    rows.apvoucher.push({ id: ++id, VouCompCode: company, VouJobCode: jobCode })
  }

  id = 0
  for (let i = 0; i < (options.pyemptimesheet ?? 4800); i++) {
    const job = someJob()
    const r = random()
    let type: string | null
    let jobdeptwo: string | null
    if (r < 0.6) {
      type = 'J'
      jobdeptwo = chance(0.03) ? pick([null, '']) : job.code
    } else if (r < 0.8) {
      // General (non-job) time: a department code, sometimes one that looks like a job
      type = 'G'
      jobdeptwo = chance(0.3) ? job.code : chance(0.5) ? `D-${String(Math.floor(random() * 40)).padStart(3, '0')}` : null
    } else if (r < 0.9) {
      type = pick(['W', 'E', 'j', ''])
      jobdeptwo = chance(0.5) ? job.code : `WO-${Math.floor(random() * 900)}`
    } else {
      type = null
      jobdeptwo = chance(0.5) ? job.code : null
    }
    rows.pyemptimesheet.push({ id: ++id, TshCompCode: chance(0.005) ? null : job.company, TshJobdeptwoId: jobdeptwo, TshTypeCode: type })
  }
  return { jobs, rows }
}

/** Job codes per company as the example policy data lists them. */
export function policyJobsOf (data: ErpPolicyData): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const company of Object.keys(data.security.companies)) {
    out[company] = Object.keys(data.security.jobs[company] ?? {})
  }
  return out
}

/** The example dataset of the agreement tests. */
export function exampleDataset (data: ErpPolicyData = readErpPolicyData(), seed = DEFAULT_SEED): { jobs: Job[], rows: ErpDataset } {
  return generateErpDataset({ seed, policyJobs: policyJobsOf(data) })
}

/** A row as input.resource of a single-record decision: the object's own fields. */
export function rowResource (row: ErpRow, fields: readonly string[]): Record<string, string | null | number> {
  const resource: Record<string, string | null | number> = {}
  for (const field of fields) resource[field] = row[field] ?? null
  return resource
}
