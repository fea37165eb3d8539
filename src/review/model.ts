// The ERP data of one revision (data.erp.* as compiled into its bundle), read into
// the few facts the enumeration needs: accounts and how credentials reach them,
// API roles and assignments, the bypass list, the business objects. Anything whose
// shape is not understood is returned as a "not covered" note instead of being
// guessed at or dropped.

export interface NotCovered {
  /** what the enumeration could not cover */
  item: string
  /** why, and what that means for the report */
  reason: string
}

export interface Account { kind: string, idps: string[] | null }

export interface BusinessObject {
  module: string
  companyField: string | null
  jobField: string | null
  jobWhen: { field: string, equals: unknown } | null
}

export interface ErpModel {
  accounts: Map<string, Account>
  /** idp -> client id -> account */
  clients: Map<string, Map<string, string>>
  /** role -> endpoint ("module/resource") -> actions */
  roles: Map<string, Map<string, string[]>>
  /** account -> role names as listed */
  assignments: Map<string, string[]>
  /** endpoint -> actions */
  bypass: Map<string, string[]>
  /** resource -> declaration */
  objects: Map<string, BusinessObject>
  /** company -> the job codes the data names in it (job catalogue and job security groups) */
  companies: Map<string, string[]>
  notCovered: NotCovered[]
}

type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v)
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string')

const KNOWN_KEYS: Record<string, string[]> = {
  erp: ['accounts', 'api', 'security', 'objects'],
  'erp.accounts': ['users', 'clients'],
  'erp.api': ['roles', 'assignments', 'bypass'],
  'erp.security': ['companies', 'jobs', 'groups', 'access']
}
const OBJECT_KEYS = new Set(['module', 'description', 'scope', 'company_field', 'job_field', 'rows_without_job', 'job_when', 'sql'])

export function readModel (data: unknown, label: string): ErpModel {
  const notCovered: NotCovered[] = []
  const note = (item: string, reason: string): void => { notCovered.push({ item: `${item} (${label})`, reason }) }
  const model: ErpModel = {
    accounts: new Map(),
    clients: new Map(),
    roles: new Map(),
    assignments: new Map(),
    bypass: new Map(),
    objects: new Map(),
    companies: new Map(),
    notCovered
  }
  const root = isObj(data) ? data : {}
  for (const key of Object.keys(root)) {
    if (key !== 'erp') note(`data.${key}`, 'data outside data.erp is not enumerated; its effect is seen only through the principals, endpoints and objects of data.erp')
  }
  const section = (path: string): Obj => {
    const parts = path.split('.')
    let cur: unknown = root
    for (const p of parts) cur = isObj(cur) ? cur[p] : undefined
    if (cur === undefined) return {}
    if (!isObj(cur)) {
      note(`data.${path}`, 'is not a mapping: not understood, not enumerated')
      return {}
    }
    for (const key of Object.keys(cur)) {
      if (KNOWN_KEYS[path] && !KNOWN_KEYS[path].includes(key)) {
        note(`data.${path}.${key}`, 'not a data key the enumeration knows: its effect is seen only on the principals, endpoints and objects enumerated')
      }
    }
    return cur
  }
  section('erp')

  const users = section('erp.accounts').users
  if (users !== undefined && !isObj(users)) note('data.erp.accounts.users', 'is not a mapping of accounts: no account enumerated from it')
  for (const [id, raw] of Object.entries(isObj(users) ? users : {})) {
    const rec = isObj(raw) ? raw : {}
    let idps: string[] | null = null
    if (rec.idps !== undefined) {
      if (isStrings(rec.idps)) idps = rec.idps
      else note(`account ${id} idps`, 'is not a list of identity provider names: evaluated as if it listed none')
    }
    model.accounts.set(id, { kind: typeof rec.kind === 'string' ? rec.kind : 'unknown', idps })
  }

  const clients = section('erp.accounts').clients
  for (const [idp, raw] of Object.entries(isObj(clients) ? clients : {})) {
    const byClient = new Map<string, string>()
    for (const [client, account] of Object.entries(isObj(raw) ? raw : {})) {
      if (typeof account === 'string') byClient.set(client, account)
      else note(`client ${client} of identity provider ${idp}`, 'maps to something that is not an account name: not enumerated')
    }
    if (isObj(raw)) model.clients.set(idp, byClient)
    else note(`data.erp.accounts.clients.${idp}`, 'is not a mapping of client ids: not enumerated')
  }

  const api = section('erp.api')
  for (const [role, raw] of Object.entries(isObj(api.roles) ? api.roles : {})) {
    const endpoints = new Map<string, string[]>()
    const eps = isObj(raw) && isObj(raw.endpoints) ? raw.endpoints : {}
    for (const [ep, actions] of Object.entries(eps)) {
      if (isStrings(actions)) endpoints.set(ep, actions)
      else note(`role ${role} endpoint ${ep}`, 'its actions are not a list of names: not read from the role data (still evaluated)')
    }
    model.roles.set(role, endpoints)
  }
  for (const [account, raw] of Object.entries(isObj(api.assignments) ? api.assignments : {})) {
    if (isStrings(raw)) model.assignments.set(account, raw)
    else note(`role assignment of ${account}`, 'is not a list of role names: not read from the role data (still evaluated)')
  }
  for (const [ep, raw] of Object.entries(isObj(api.bypass) ? api.bypass : {})) {
    if (isStrings(raw)) model.bypass.set(ep, raw)
    else note(`bypass entry ${ep}`, 'its actions are not a list of names: not read from the data (still evaluated)')
  }

  // Companies, jobs and groups are decided on by the policy alone; here they only
  // name the records the enumeration asks about (every company and job the data
  // names), so their effect shows in the row scopes and the record decisions.
  readCompanies(section('erp.security'), model.companies)

  const objects = section('erp.objects')
  for (const [resource, raw] of Object.entries(objects)) {
    if (!isObj(raw) || typeof raw.module !== 'string') {
      note(`business object ${resource}`, 'has no module: its endpoint cannot be named, not enumerated')
      continue
    }
    for (const key of Object.keys(raw)) {
      if (!OBJECT_KEYS.has(key)) note(`business object ${resource} key ${key}`, 'not a declaration key the scope reading knows: row scopes of this object are compared as the policy returns them')
    }
    const str = (v: unknown): string | null => typeof v === 'string' && v !== '' ? v : null
    const when = isObj(raw.job_when) && typeof raw.job_when.field === 'string'
      ? { field: raw.job_when.field, equals: raw.job_when.equals }
      : null
    model.objects.set(resource, { module: raw.module, companyField: str(raw.company_field), jobField: str(raw.job_field), jobWhen: when })
  }
  return model
}

function readCompanies (security: Obj, into: Map<string, string[]>): void {
  const jobs = new Map<string, Set<string>>()
  const company = (code: string): Set<string> => {
    let set = jobs.get(code)
    if (!set) {
      set = new Set()
      jobs.set(code, set)
    }
    return set
  }
  for (const code of Object.keys(isObj(security.companies) ? security.companies : {})) company(code)
  for (const [code, list] of Object.entries(isObj(security.jobs) ? security.jobs : {})) {
    const set = company(code)
    for (const job of Object.keys(isObj(list) ? list : {})) set.add(job)
  }
  for (const [code, groups] of Object.entries(isObj(security.groups) ? security.groups : {})) {
    const set = company(code)
    for (const group of Object.values(isObj(groups) ? groups : {})) {
      if (isObj(group) && isStrings(group.jobs)) for (const job of group.jobs) set.add(job)
    }
  }
  for (const byCompany of Object.values(isObj(security.access) ? security.access : {})) {
    for (const code of Object.keys(isObj(byCompany) ? byCompany : {})) company(code)
  }
  for (const [code, set] of [...jobs].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)) into.set(code, [...set].sort())
}

/** Roles of `account` (as assigned, defined ones only) that list `action` on `endpoint`, plus "bypass". */
export function grantingRoles (model: ErpModel, account: string | undefined, endpoint: string, action: string): string[] {
  const found: string[] = []
  for (const role of account !== undefined ? model.assignments.get(account) ?? [] : []) {
    if (model.roles.get(role)?.get(endpoint)?.includes(action) && !found.includes(role)) found.push(role)
  }
  if (model.bypass.get(endpoint)?.includes(action)) found.push('(bypass list)')
  return found.sort()
}

/** The defined roles assigned to `account`. */
export function assignedRoles (model: ErpModel, account: string): string[] {
  return [...new Set((model.assignments.get(account) ?? []).filter((r) => model.roles.has(r)))].sort()
}
