// Checks the tenant's policy data (data.erp, from policies/erp/**/data.yaml)
// before a policy is compiled or loaded: the JSON Schema of src/contract
// (schemas/policy-data.json) — no unknown key, every key the policy reads of the
// right type — and what a schema cannot say: references between the sections
// (a role naming an endpoint no business object declares, a group naming a job
// the catalogue lacks, an account assigned a role that does not exist, …) and
// each business object's `scope` agreeing with its fields. Each problem names the
// data file, the line, the key path and what is wrong. `verdict check`, `verdict
// test` and the loader (compilePolicies) all run it, so data that fails it never
// serves: the last good policy keeps serving and /health says degraded.
//
// Files are read as OPA reads them: every data.json / data.yaml / data.yml under
// the directory, placed at its folder's path (policies/erp/api/data.yaml ->
// data.erp.api).
import { readdir, readFile, stat } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml'
import { PolicyData } from '../contract/policy-data.js'
import type { PolicyProblem } from './compiler.js'

/** Problem codes: the data breaks the schema, or names something that does not exist. */
export const DATA_SCHEMA = 'data_schema'
export const DATA_REFERENCE = 'data_reference'

const DATA_FILES = new Set(['data.json', 'data.yaml', 'data.yml'])

/** One data file: where OPA mounts it and how to find a key's line in it. */
interface DataSource {
  file: string
  mount: string[]
  doc?: Document
  lines?: LineCounter
}

export interface PolicyDataFiles {
  /** the data document OPA builds from the files (the data root) */
  data: Record<string, unknown>
  sources: DataSource[]
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v)

/** Places a file's value at its folder's path, merging mappings as OPA does. */
function mountAt (data: Obj, mount: readonly string[], value: unknown): void {
  let parent = data
  for (const key of mount.slice(0, -1)) {
    if (!isObj(parent[key])) parent[key] = {}
    parent = parent[key] as Obj
  }
  const last = mount[mount.length - 1]
  if (last === undefined) {
    if (isObj(value)) Object.assign(data, value)
  } else {
    parent[last] = isObj(value) && isObj(parent[last]) ? { ...parent[last], ...value } : value
  }
}

// As the compiler reads them: hidden files and folders left out (compiler.ts,
// HIDDEN_FILES), links followed (a Kubernetes volume links every entry through
// ..data). Folders are read side by side: a hot reload waits on this.
async function dataFiles (dir: string): Promise<string[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).filter((entry) => !entry.name.startsWith('.'))
  const found = await Promise.all(entries.map(async (entry): Promise<string[]> => {
    const path = join(dir, entry.name)
    const kind = entry.isSymbolicLink() ? await stat(path) : entry
    if (kind.isDirectory()) return await dataFiles(path)
    return kind.isFile() && DATA_FILES.has(entry.name) ? [path] : []
  }))
  return found.flat().sort()
}

/**
 * Reads every data file of `dir` into one document. A file that does not parse is
 * returned as a problem (OPA's build reports it as well, with less context).
 */
export async function readPolicyData (dir: string): Promise<PolicyDataFiles & { problems: PolicyProblem[] }> {
  const data: Obj = {}
  const sources: DataSource[] = []
  const problems: PolicyProblem[] = []
  const files = await dataFiles(dir)
  const texts = await Promise.all(files.map(async (file) => await readFile(file, 'utf8')))
  for (const [i, file] of files.entries()) {
    const mount = relative(dir, join(file, '..')).split(sep).filter(Boolean)
    const text = texts[i] as string
    const source: DataSource = { file, mount }
    let value: unknown
    if (file.endsWith('.json')) {
      try {
        value = JSON.parse(text)
      } catch (err) {
        problems.push({ file, code: DATA_SCHEMA, message: `not JSON: ${(err as Error).message}` })
        continue
      }
    } else {
      const lines = new LineCounter()
      // YAML 1.1, as OPA reads data files (yes/no/on/off are booleans there).
      const doc = parseDocument(text, { lineCounter: lines, version: '1.1' })
      if (doc.errors.length > 0) {
        const e = doc.errors[0]
        problems.push({ file, row: e?.linePos?.[0].line ?? 1, code: DATA_SCHEMA, message: `not YAML: ${e?.message ?? 'parse error'}` })
        continue
      }
      value = doc.toJS()
      source.doc = doc
      source.lines = lines
    }
    sources.push(source)
    // An empty file holds no data (as for OPA).
    if (value !== null && value !== undefined) mountAt(data, mount, value)
  }
  return { data, sources, problems }
}

/**
 * `erp.accounts.users["ACME||X"].idps[0]` from path segments, read against the
 * data so that a list index and a numeric key ("100", a company code) differ.
 */
export function keyPath (data: unknown, path: readonly string[]): string {
  let at = data
  return path.map((k, i) => {
    const inList = Array.isArray(at)
    at = inList ? (at as unknown[])[Number(k)] : isObj(at) ? at[k] : undefined
    if (inList) return `[${k}]`
    return /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `${i === 0 ? '' : '.'}${k}` : `[${JSON.stringify(k)}]`
  }).join('')
}

/** The file (and line) that holds `path` of the data document, as near as it exists. */
function locate (sources: readonly DataSource[], path: readonly string[]): Pick<PolicyProblem, 'file' | 'row' | 'col'> {
  let best: DataSource | undefined
  for (const s of sources) {
    if (s.mount.length <= path.length && s.mount.every((k, i) => path[i] === k) && (!best || s.mount.length > best.mount.length)) best = s
  }
  if (!best) return {}
  const where: Pick<PolicyProblem, 'file' | 'row' | 'col'> = { file: best.file }
  if (!best.doc || !best.lines) return where
  // Walk the YAML maps down the rest of the path; the deepest key found is the line.
  let node: unknown = best.doc.contents
  let offset: number | undefined
  for (const key of path.slice(best.mount.length)) {
    if (isSeq(node)) {
      const item = node.items[Number(key)] as Node | undefined
      if (!item) break
      offset = item.range?.[0]
      node = item
      continue
    }
    if (!isMap(node)) break
    const pair = node.items.find((p) => isScalar(p.key) ? String(p.key.value) === key : false)
    if (!pair) break
    offset = (pair.key as Node).range?.[0]
    node = pair.value
  }
  const pos = best.lines.linePos(offset ?? (best.doc.contents as Node | null)?.range?.[0] ?? 0)
  where.row = pos.line
  where.col = pos.col
  return where
}

/** A problem at a key path of data.erp. */
interface Finding { path: string[], code: string, message: string }

// Compiled once: valid data (the usual case) is checked in one pass.
let compiled: ReturnType<typeof TypeCompiler.Compile<typeof PolicyData>> | undefined

/** Checks data.erp (the value, not its files): schema first, then references and scopes. */
export function checkErpData (erp: unknown): Finding[] {
  const findings: Finding[] = []
  compiled ??= TypeCompiler.Compile(PolicyData)
  for (const e of compiled.Check(erp) ? [] : compiled.Errors(erp)) {
    const path = ['erp', ...e.path.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))]
    findings.push({ path, code: DATA_SCHEMA, message: schemaMessage(e.message, e.schema as { anyOf?: Array<{ const?: unknown }> }, e.value) })
  }
  if (isObj(erp)) findings.push(...referenceFindings(erp))
  const seen = new Set<string>()
  return findings.filter((f) => {
    const key = `${f.path.join('\0')}\0${f.message}`
    return seen.has(key) ? false : Boolean(seen.add(key))
  })
}

function schemaMessage (message: string, schema: { anyOf?: Array<{ const?: unknown }> }, value: unknown): string {
  if (message === 'Unexpected property') return 'unknown key (misspelt, or not part of the data format): remove or correct it'
  if (Array.isArray(schema.anyOf) && schema.anyOf.every((s) => s.const !== undefined)) {
    return `is ${JSON.stringify(value)}; expected one of ${schema.anyOf.map((s) => JSON.stringify(s.const)).join(', ')}`
  }
  if (value === undefined) return 'required key is missing'
  return `${message[0]?.toLowerCase()}${message.slice(1)} (is ${JSON.stringify(value)})`
}

const obj = (v: unknown): Obj => isObj(v) ? v : {}
const strings = (v: unknown): string[] => Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []
const has = (o: Obj, key: string): boolean => Object.hasOwn(o, key)

function referenceFindings (erp: Obj): Finding[] {
  const out: Finding[] = []
  const ref = (path: string[], message: string): void => { out.push({ path: ['erp', ...path], code: DATA_REFERENCE, message }) }
  const users = obj(obj(erp.accounts).users)
  const roles = obj(obj(erp.api).roles)
  const objects = obj(erp.objects)
  const security = obj(erp.security)
  const companies = obj(security.companies)
  const jobs = obj(security.jobs)
  const groups = obj(security.groups)

  const account = (path: string[], name: string, what: string): void => {
    if (!has(users, name)) ref(path, `${what} ${JSON.stringify(name)}, which is not an account in accounts.users`)
  }
  const endpoint = (path: string[], key: string): void => {
    const [module, resource] = key.split('/') as [string, string | undefined]
    const declared = resource !== undefined && has(objects, resource) ? obj(objects[resource]) : undefined
    if (!declared) ref(path, `endpoint ${key} names no business object in objects (${resource ?? key} is not declared)`)
    else if (declared.module !== module) ref(path, `endpoint ${key}: business object ${resource} is declared in module ${String(declared.module)}, not ${module}`)
  }
  const company = (path: string[], code: string): boolean => {
    if (has(companies, code)) return true
    ref(path, `company ${JSON.stringify(code)} is not in security.companies`)
    return false
  }

  for (const [idp, byClient] of Object.entries(obj(obj(erp.accounts).clients))) {
    for (const [client, name] of Object.entries(obj(byClient))) {
      if (typeof name !== 'string') continue
      const path = ['accounts', 'clients', idp, client]
      if (!has(users, name)) account(path, name, 'maps to')
      else if (!strings(obj(users[name]).idps).includes(idp)) ref(path, `maps to ${name}, whose idps do not list ${idp}: the mapping could never be used`)
    }
  }
  for (const [role, raw] of Object.entries(roles)) {
    for (const key of Object.keys(obj(obj(raw).endpoints))) endpoint(['api', 'roles', role, 'endpoints', key], key)
  }
  for (const [name, held] of Object.entries(obj(obj(erp.api).assignments))) {
    account(['api', 'assignments', name], name, 'assigns roles to')
    strings(held).forEach((role, i) => {
      if (!has(roles, role)) ref(['api', 'assignments', name, String(i)], `role ${JSON.stringify(role)} is not defined in api.roles`)
    })
  }
  for (const key of Object.keys(obj(obj(erp.api).bypass))) endpoint(['api', 'bypass', key], key)

  for (const code of Object.keys(jobs)) company(['security', 'jobs', code], code)
  for (const [code, byGroup] of Object.entries(groups)) {
    if (!company(['security', 'groups', code], code)) continue
    for (const [group, raw] of Object.entries(obj(byGroup))) {
      const g = obj(raw)
      const path = ['security', 'groups', code, group]
      if (g.all_jobs === true && has(g, 'jobs')) ref(path, 'has both all_jobs: true and jobs: give one')
      else if (g.all_jobs !== true && !has(g, 'jobs')) ref(path, 'holds no job: give all_jobs: true or a list of jobs')
      strings(g.jobs).forEach((job, i) => {
        if (!has(obj(jobs[code]), job)) ref([...path, 'jobs', String(i)], `job ${JSON.stringify(job)} is not in the job catalogue of company ${code} (security.jobs)`)
      })
    }
  }
  for (const [name, byCompany] of Object.entries(obj(security.access))) {
    account(['security', 'access', name], name, 'gives company access to')
    for (const [code, raw] of Object.entries(obj(byCompany))) {
      if (!company(['security', 'access', name, code], code)) continue
      strings(obj(raw).groups).forEach((group, i) => {
        if (!has(obj(groups[code]), group)) ref(['security', 'access', name, code, 'groups', String(i)], `group ${JSON.stringify(group)} is not a job security group of company ${code} (security.groups)`)
      })
    }
  }
  for (const [resource, raw] of Object.entries(objects)) out.push(...scopeFindings(resource, obj(raw)))
  return out
}

/** An object's fields must be exactly those its scope needs, and its SQL mapping must map them. */
function scopeFindings (resource: string, o: Obj): Finding[] {
  const out: Finding[] = []
  const path = ['erp', 'objects', resource]
  const scope = o.scope
  const needs: Record<string, string[]> = { all: [], company: ['company_field'], job: ['company_field', 'job_field'] }
  if (typeof scope !== 'string' || !needs[scope]) return out
  const allowed = new Set(needs[scope])
  if (scope === 'job') ['rows_without_job', 'job_when'].forEach((k) => allowed.add(k))
  for (const key of needs[scope] ?? []) {
    if (!has(o, key)) out.push({ path: [...path, key], code: DATA_REFERENCE, message: `scope ${scope} needs ${key}` })
  }
  for (const key of ['company_field', 'job_field', 'rows_without_job', 'job_when']) {
    if (has(o, key) && !allowed.has(key)) out.push({ path: [...path, key], code: DATA_REFERENCE, message: `scope ${scope} takes no ${key}${scope === 'all' ? ' (an object with a company or job key is scope company or job)' : ''}` })
  }
  if (isObj(o.sql) && isObj(o.sql.columns)) {
    const columns = o.sql.columns
    const fields = [o.company_field, o.job_field, isObj(o.job_when) ? o.job_when.field : undefined]
    for (const field of fields) {
      if (typeof field === 'string' && !has(columns, field)) {
        out.push({ path: [...path, 'sql', 'columns'], code: DATA_REFERENCE, message: `has no column for field ${field}, which row filters of ${resource} name` })
      }
    }
  }
  return out
}

/** Turns findings about `data` into problems located in the data files. */
export function locateFindings (sources: readonly DataSource[], data: unknown, findings: readonly Finding[]): PolicyProblem[] {
  return findings.map((f) => ({ ...locate(sources, f.path), code: f.code, message: `data.${keyPath(data, f.path)}: ${f.message}` }))
}

/**
 * The data check of a built bundle (the loader's): its data.json is exactly what
 * will be evaluated, and JSON reads fast, so a reload under load pays little.
 * Only when something is wrong are the data files of `dir` read, to say where.
 */
export async function checkBundleData (dir: string, dataJson: Buffer): Promise<PolicyProblem[]> {
  let data: unknown
  try {
    data = JSON.parse(dataJson.toString('utf8'))
  } catch (err) {
    return [{ code: DATA_SCHEMA, message: `the bundle's data.json is not JSON: ${(err as Error).message}` }]
  }
  if (!isObj(data) || !has(data, 'erp')) return []
  const findings = checkErpData(data.erp)
  if (findings.length === 0) return []
  const files = await readPolicyData(dir).catch(() => ({ sources: [] as DataSource[] }))
  return locateFindings(files.sources, data, findings)
}

/**
 * The data check of a policy directory: problems with file, line, key path and
 * message; none when the data is valid or the directory holds no data.erp (a
 * policy that is not Verdict's product policy has its own data).
 */
export async function checkPolicyData (dir: string): Promise<PolicyProblem[]> {
  let files: Awaited<ReturnType<typeof readPolicyData>>
  try {
    files = await readPolicyData(dir)
  } catch (err) {
    // A directory that is not there: OPA's check, run beside this one, says so.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  if (files.problems.length > 0) return files.problems
  if (!has(files.data, 'erp')) return []
  return locateFindings(files.sources, files.data, checkErpData(files.data.erp))
}
