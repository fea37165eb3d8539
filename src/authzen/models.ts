// How an AuthZEN request becomes a policy input, and which subjects, resources
// and actions a search considers. Two models:
//
//   cmic      the ERP policy (verdict/decision): subjects are ERP accounts
//             (type "account"), actions create/retrieve/update/delete, resources
//             endpoints (type "endpoint", id "module/resource") or business
//             records (type = the object's name, properties = its company and job
//             fields). Candidates come from the policy data (accounts, endpoints
//             in API roles and the bypass list, companies and jobs).
//   entities  the request {subject, action, resource, context} is the input as is
//             (the interop scenarios). Candidates are the keys of
//             data.authzen.subjects[type] and data.authzen.resources[type], and
//             the list data.authzen.actions[resource type].
//
// A search never decides by itself: every candidate is evaluated exactly like a
// single evaluation, so a search answer cannot disagree with the evaluations.
import { makePrincipal } from '../authn/principal.js'
import type { Principal, Resource as RecordFields } from '../contract/policy.js'
import type { ParsedRequest } from '../decision/index.js'
import { knownEndpoints } from '../engine/input.js'
import type { PolicyResult } from '../engine/result.js'
import type { Action, Context, Resource, Subject } from './schema.js'

export interface Query {
  subject: Subject
  action: Action
  resource: Resource
  context?: Context | undefined
}

export interface ModelReason { code: string, message: string }

/**
 * What to evaluate: an ERP decision request for the decision service (cmic), a
 * policy input as is (entities), or the reason the request cannot be one (a deny).
 */
export type Prepared =
  | { ok: true, erp: { parsed: ParsedRequest, principal: Principal } }
  | { ok: true, input: unknown }
  | { ok: false, reason: ModelReason }

export interface ResourceCandidate { type: string, id: string, properties?: Record<string, string> }

export interface Model {
  prepare (query: Query, data: unknown): Prepared
  /** The AuthZEN decision a policy result stands for (entities). */
  decision (result: PolicyResult): boolean
  subjects (type: string, data: unknown): string[]
  resources (resource: { type: string, properties?: Record<string, unknown> | undefined }, data: unknown): ResourceCandidate[]
  actions (resourceType: string, data: unknown): string[]
}

export interface CmicModelOptions {
  /** the identity-provider name subjects count as authenticated by */
  subjectIdp: string
  /** the {env} segment of the REST path */
  env: string
}

/** A member of a JSON object by own key only (never an inherited one). */
export function member (value: unknown, ...keys: string[]): unknown {
  let current = value
  for (const key of keys) {
    if (current === null || typeof current !== 'object' || Array.isArray(current) || !Object.hasOwn(current, key)) return undefined
    current = (current as Record<string, unknown>)[key]
  }
  return current
}

function keysOf (value: unknown): string[] {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : []
}

/** Numbers by value ("9" before "10"), then everything else by code unit: a stable order for pages. */
export function naturalCompare (a: string, b: string): number {
  const an = /^\d+$/.test(a)
  const bn = /^\d+$/.test(b)
  if (an && bn && a.length !== b.length) return a.length - b.length
  if (an !== bn) return an ? -1 : 1
  return a < b ? -1 : a > b ? 1 : 0
}

const sorted = (values: Iterable<string>): string[] => [...new Set(values)].sort(naturalCompare)

// ---- cmic ----

export const CMIC_ACTIONS = ['create', 'retrieve', 'update', 'delete'] as const
const METHOD_OF: Record<string, string> = { create: 'POST', retrieve: 'GET', update: 'PUT', delete: 'DELETE' }
const ENDPOINT_ID = /^([a-z][a-z0-9]{0,15})\/([A-Za-z][A-Za-z0-9_]{0,63})$/
const OBJECT_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/
const MAX_RECORD_FIELDS = 32

const deny = (code: string, message: string): Prepared => ({ ok: false, reason: { code, message } })

function recordOf (properties: Record<string, unknown> | undefined): RecordFields | undefined {
  const record: RecordFields = {}
  const entries = Object.entries(properties ?? {})
  if (entries.length > MAX_RECORD_FIELDS) return undefined
  for (const [key, value] of entries) {
    const scalar = value === null || typeof value === 'number' || typeof value === 'boolean' || (typeof value === 'string' && value.length <= 256)
    if (!scalar || key.length > 64) return undefined
    record[key] = value as RecordFields[string]
  }
  return record
}

export function cmicModel (options: CmicModelOptions): Model {
  return {
    prepare (query, data) {
      if (query.subject.type !== 'account') return deny('subject_type_unsupported', 'subjects are ERP accounts: type "account", id the account name')
      if (!(CMIC_ACTIONS as readonly string[]).includes(query.action.name)) return deny('action_unknown', `actions are ${CMIC_ACTIONS.join(', ')}`)
      const action = query.action.name as ParsedRequest['action']
      // The account as the policy's principal. `method` is nominal (the policy
      // never reads it); `idp` is what the account's `idps` list must name.
      const principal = makePrincipal({
        method: 'jwt',
        idp: options.subjectIdp,
        subject: query.subject.id,
        erp_user: query.subject.id,
        roles: [],
        scopes: []
      })
      const { type, id } = query.resource
      if (type === 'endpoint') {
        const m = ENDPOINT_ID.exec(id)
        if (!m) return deny('resource_invalid', 'an endpoint resource has the id "module/resource", e.g. "jc/jcjob"')
        const [, module, resource] = m as unknown as [string, string, string]
        const endpoint = { env: options.env, module, version: '1', resource }
        const request = { method: METHOD_OF[action] as string, path: `/${options.env}/${module}-rest-api/rest/1/${resource}` }
        return { ok: true, erp: { principal, parsed: { body: { request }, action, endpoint } } }
      }
      const object = OBJECT_NAME.test(type) ? member(data, 'erp', 'objects', type) : undefined
      const module = member(object, 'module')
      if (typeof module !== 'string') return deny('object_unknown', `${type.slice(0, 64)} is neither "endpoint" nor a declared business object`)
      // A record question is always asked with the record, even an empty one: a
      // collection answer ("some rows") must never pass for "this row".
      const record = recordOf(query.resource.properties)
      if (record === undefined) return deny('resource_invalid', `the properties of a ${type} record are its fields: at most ${MAX_RECORD_FIELDS} scalars`)
      const endpoint: ParsedRequest['endpoint'] = { env: options.env, module, version: '1', resource: type }
      let path = `/${options.env}/${module}-rest-api/rest/1/${type}`
      if (id !== '') {
        endpoint.id = id
        path += `/${encodeURIComponent(id)}`
      }
      const request = { method: METHOD_OF[action] as string, path }
      return { ok: true, erp: { principal, parsed: { body: { request, resource: record }, action, endpoint } } }
    },

    decision (result) {
      // With input.resource the policy's allow is the single-record check (its
      // rows are the caller's collection filter, for information).
      return result.allow
    },

    subjects (type, data) {
      return type === 'account' ? sorted(keysOf(member(data, 'erp', 'accounts', 'users'))) : []
    },

    resources (resource, data) {
      if (resource.type === 'endpoint') {
        return sorted(knownEndpoints(data) ?? [])
          .filter((id) => ENDPOINT_ID.test(id))
          .map((id) => ({ type: 'endpoint', id }))
      }
      return recordCandidates(resource, data)
    },

    actions () {
      return [...CMIC_ACTIONS]
    }
  }
}

/**
 * The records of a business object a search considers: one per job of each
 * company (objects with a job field), or one per company (company scope only),
 * narrowed by the company and job the search names in properties (the object's
 * own field names, or `company`/`job`). Objects without a company field have no
 * records to tell apart: none.
 */
function recordCandidates (resource: { type: string, properties?: Record<string, unknown> | undefined }, data: unknown): ResourceCandidate[] {
  const object = OBJECT_NAME.test(resource.type) ? member(data, 'erp', 'objects', resource.type) : undefined
  const companyField = member(object, 'company_field')
  if (typeof companyField !== 'string') return []
  const jobField = member(object, 'job_field')
  const jobWhen = member(object, 'job_when')
  const wanted = (field: unknown, alias: string): unknown => {
    const p = resource.properties ?? {}
    return typeof field === 'string' && Object.hasOwn(p, field) ? p[field] : Object.hasOwn(p, alias) ? p[alias] : undefined
  }
  const company = wanted(companyField, 'company')
  const job = wanted(jobField, 'job')
  const companies = sorted(keysOf(member(data, 'erp', 'security', 'companies'))).filter((c) => company === undefined || c === company)
  const out: ResourceCandidate[] = []
  for (const c of companies) {
    if (typeof jobField !== 'string') {
      out.push({ type: resource.type, id: c, properties: { [companyField]: c } })
      continue
    }
    for (const j of sorted(keysOf(member(data, 'erp', 'security', 'jobs', c)))) {
      if (job !== undefined && j !== job) continue
      const properties: Record<string, string> = { [companyField]: c, [jobField]: j }
      const when = member(jobWhen, 'field')
      const equals = member(jobWhen, 'equals')
      if (typeof when === 'string' && typeof equals === 'string') properties[when] = equals
      out.push({ type: resource.type, id: j, properties })
    }
  }
  return out
}

// ---- entities ----

export function entitiesModel (): Model {
  return {
    prepare (query) {
      const input: Record<string, unknown> = { subject: query.subject, action: query.action, resource: query.resource }
      if (query.context !== undefined) input.context = query.context
      return { ok: true, input }
    },
    decision (result) {
      return result.allow
    },
    subjects (type, data) {
      return sorted(keysOf(member(data, 'authzen', 'subjects', type)))
    },
    resources (resource, data) {
      return sorted(keysOf(member(data, 'authzen', 'resources', resource.type))).map((id) => ({ type: resource.type, id }))
    },
    actions (resourceType, data) {
      const list = member(data, 'authzen', 'actions', resourceType)
      return Array.isArray(list) ? [...new Set(list.filter((a): a is string => typeof a === 'string'))] : []
    }
  }
}
