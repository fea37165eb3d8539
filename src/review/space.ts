// The access space two revisions define together: every credential route to an
// account (Basic, a token naming the ERP user, a mapped OAuth client), every
// endpoint named in the data (roles, the bypass list, business objects), every
// action. Each point is turned into the policy input authentication and request
// parsing would produce for it, so both revisions are asked the same questions
// through the real entrypoint. What cannot be synthesized is named, not skipped.
import { makePrincipal, type Principal } from '../authn/principal.js'
import type { Action, PolicyInput } from '../engine/result.js'
import type { ErpModel, NotCovered } from './model.js'

export const ACTIONS: readonly Action[] = ['create', 'retrieve', 'update', 'delete']
const METHOD: Record<Action, string> = { create: 'POST', retrieve: 'GET', update: 'PUT', delete: 'DELETE' }
// The policy contract gives env and version no meaning; a fixed pair stands for all.
const ENV = 'cmictest'
const VERSION = '1'
const ENDPOINT_KEY = /^([a-z][a-z0-9]{0,15})\/([A-Za-z][A-Za-z0-9_]{0,63})$/

/** One way a credential reaches the policy, with the principal authentication would build. */
export interface Route {
  key: string
  /** how the report names the route: "basic", "local token (cmicuser)", "entra client 8a4f…" */
  via: string
  principal: Principal
}

export interface EndpointRef { key: string, module: string, resource: string }

/** One record a single-record decision is asked about (input.resource, generic keys). */
export interface RecordRef {
  /** company + what the label names, unique within an endpoint */
  key: string
  company: string
  /** a job code, or one of the labels below */
  label: string
  resource: Record<string, unknown>
}

/** A job code no data names: stands for the jobs a group holding all jobs covers, including jobs created later. */
export const UNLISTED_JOB = 'verdict-diff-unlisted-job'
export const RECORD_LABELS = {
  unlisted: 'jobs not in the data',
  blank: 'records without a job',
  nonJob: 'records that are not job records',
  company: 'company records'
} as const

export interface Space {
  routes: Route[]
  endpoints: EndpointRef[]
  /** endpoint key -> the records asked about (none for an object without a company key or not declared) */
  records: Map<string, RecordRef[]>
  notCovered: NotCovered[]
}

/** What no enumeration of the data covers; printed with every report. */
export const LIMITS: readonly string[] = [
  'single records are asked about per company the data names: every job it names, a job it does not name (what a group holding all jobs covers), a record without a job and, for objects with `job_when`, a record that is not a job record; records of companies the data does not name are not asked about',
  'requests are synthesized without a record id, query parameters or `sql`, with env `cmictest` and version `1`; a record is given by the generic keys `company` and `job`',
  'JWT principals carry a placeholder issuer and no IdP roles, scopes or tenant; a policy that reads those claims is not covered',
  'endpoints and accounts named nowhere in the data are not enumerated (the policy denies unknown accounts and undeclared objects)'
]

export function basicPrincipal (account: string): Principal {
  return makePrincipal({ method: 'basic', idp: 'basic', subject: account, erp_user: account, roles: [], scopes: [] })
}

// An issuer configured with an ERP-user claim (CMiC's cmicuser) names the account;
// the client id is then irrelevant to the policy, so a placeholder stands in.
export function claimPrincipal (idp: string, account: string): Principal {
  return makePrincipal({ method: 'jwt', idp, issuer: `urn:verdict-diff:${idp}`, subject: 'verdict-diff', client_id: 'verdict-diff', erp_user: account, roles: [], scopes: [] })
}

// An issuer without the claim: the client id is looked up in data.erp.accounts.clients.
export function clientPrincipal (idp: string, client: string): Principal {
  return makePrincipal({ method: 'jwt', idp, issuer: `urn:verdict-diff:${idp}`, subject: client, client_id: client, roles: [], scopes: [] })
}

const union = <T>(...lists: Iterable<T>[]): T[] => [...new Set(lists.flatMap((l) => [...l]))]

export function enumerateSpace (base: ErpModel, head: ErpModel): Space {
  const notCovered: NotCovered[] = []
  const models = [base, head]
  const knownIdps = union(['basic'], ...models.flatMap((m) => [m.clients.keys(), ...[...m.accounts.values()].map((a) => a.idps ?? [])])).sort()

  const routes: Route[] = []
  for (const account of union(...models.map((m) => m.accounts.keys())).sort()) {
    const lists = models.map((m) => m.accounts.get(account)).filter((a) => a !== undefined).map((a) => a.idps)
    let idps = union(...lists.map((l) => l ?? []))
    if (lists.some((l) => l === null)) {
      idps = knownIdps
      notCovered.push({
        item: `account ${account}`,
        reason: `lists no idps, so every configured identity provider may authenticate it; evaluated for the providers the data names (${knownIdps.join(', ')}), not for others configured only in Verdict's configuration`
      })
    }
    for (const idp of idps.sort()) {
      routes.push(idp === 'basic'
        ? { key: `basic:${account}`, via: 'basic', principal: basicPrincipal(account) }
        : { key: `claim:${idp}:${account}`, via: `${idp} token (cmicuser)`, principal: claimPrincipal(idp, account) })
    }
  }
  for (const idp of union(...models.map((m) => m.clients.keys())).sort()) {
    for (const client of union(...models.map((m) => m.clients.get(idp)?.keys() ?? [])).sort()) {
      routes.push({ key: `client:${idp}:${client}`, via: `${idp} client ${client}`, principal: clientPrincipal(idp, client) })
    }
  }

  const endpointKeys = union(
    ...models.flatMap((m) => [...m.roles.values()].map((eps) => eps.keys())),
    ...models.map((m) => m.bypass.keys()),
    ...models.map((m) => [...m.objects].map(([resource, o]) => `${o.module}/${resource}`))
  ).sort()
  const endpoints: EndpointRef[] = []
  for (const key of endpointKeys) {
    const m = ENDPOINT_KEY.exec(key)
    if (!m) {
      notCovered.push({ item: `endpoint ${JSON.stringify(key)}`, reason: 'is not "module/resource" as a REST path would give it: no request can name it, not evaluated' })
      continue
    }
    endpoints.push({ key, module: m[1] as string, resource: m[2] as string })
  }

  const actions = new Set<string>(ACTIONS)
  for (const [label, model] of [['base', base], ['head', head]] as const) {
    for (const [role, eps] of model.roles) {
      for (const [ep, acts] of eps) {
        for (const a of acts) if (!actions.has(a)) notCovered.push({ item: `role ${role} action ${JSON.stringify(a)} on ${ep} (${label})`, reason: 'not one of create, retrieve, update, delete: no HTTP method maps to it, not evaluated' })
      }
    }
    for (const [ep, acts] of model.bypass) {
      for (const a of acts) if (!actions.has(a)) notCovered.push({ item: `bypass action ${JSON.stringify(a)} on ${ep} (${label})`, reason: 'not one of create, retrieve, update, delete: no HTTP method maps to it, not evaluated' })
    }
  }
  const records = new Map<string, RecordRef[]>()
  for (const endpoint of endpoints) records.set(endpoint.key, recordsOf(endpoint, models))
  return { routes, endpoints, records, notCovered }
}

/**
 * The records of an endpoint's object, from its declarations in either revision:
 * per company, each job the data names, an unlisted job and a record without a
 * job (job-keyed objects), a record that is not a job record (objects with
 * job_when), or one company record (objects with a company key only).
 */
function recordsOf (endpoint: EndpointRef, models: ErpModel[]): RecordRef[] {
  const declared = models.map((m) => m.objects.get(endpoint.resource)).filter((o) => o?.module === endpoint.module && o.companyField !== null)
  if (declared.length === 0) return []
  const jobKeyed = declared.some((o) => o?.jobField !== null)
  const jobWhen = declared.some((o) => o?.jobWhen !== null)
  const out: RecordRef[] = []
  const add = (company: string, label: string, resource: Record<string, unknown>): void => {
    out.push({ key: `${company}\0${label}`, company, label, resource })
  }
  for (const company of union(...models.map((m) => m.companies.keys())).sort()) {
    if (!jobKeyed) {
      add(company, RECORD_LABELS.company, { company })
      continue
    }
    for (const job of union(...models.map((m) => m.companies.get(company) ?? [])).sort()) add(company, job, { company, job })
    add(company, RECORD_LABELS.unlisted, { company, job: UNLISTED_JOB })
    // A generic job key makes a job record (on a job_when object, of the job type).
    add(company, RECORD_LABELS.blank, { company, job: '' })
    if (jobWhen) add(company, RECORD_LABELS.nonJob, { company })
  }
  return out
}

/** The policy input of a collection request by `route` on `endpoint` with `action`, or of one record when given. */
export function inputFor (route: Route, endpoint: EndpointRef, action: Action, resource?: Record<string, unknown>): PolicyInput {
  const input: PolicyInput = {
    principal: route.principal,
    action,
    request: { method: METHOD[action], path: `/${ENV}/${endpoint.module}-rest-api/rest/${VERSION}/${endpoint.resource}` },
    endpoint: { env: ENV, module: endpoint.module, version: VERSION, resource: endpoint.resource }
  }
  if (resource !== undefined) input.resource = resource
  return input
}
