// Seeded generators of hostile decision requests (fast-check), and the oracle the
// fuzz holds every allow to. A case is one HTTP request: to /v1/decide, or to
// /v1/decide/batch with several items. Paths start canonical and are then often
// broken the ways a path gets a second spelling (encodings, dot-segments,
// backslashes, `;`, full-width and look-alike characters, control characters,
// lone surrogates, traversal into another endpoint); bodies get wrong types,
// lone surrogates, invalid UTF-8, deep nesting, wrong media types.
//
// The oracle is independent of the code under test: its own reading of the
// canonical grammar (docs/API.md), and test/helpers/erp-oracle.ts's reading of the
// example policy data. An allow is right only when the path is canonical, the
// caller's account may use its identity provider, one of its roles grants the
// action on the endpoint (or the bypass list does), and a record, when sent, is
// one the account may see.
import fc from 'fast-check'
import type { ErpPolicyData, ObjectDeclaration } from '../helpers/erp-dataset.js'
import { apiAllows, rowAllowed } from '../helpers/erp-oracle.js'
import type { CallerName } from '../helpers/callers.js'

/** Who each example caller is, as the policy data says (null: no account may be allowed). */
export const CALLER_ACCOUNTS: Record<CallerName, { account: string, idp: string } | null> = {
  'payroll (basic)': { account: 'ACME||SVC_PAYROLL', idp: 'basic' },
  'hr writer (basic)': { account: 'ACME||SVC_HRWRITER', idp: 'basic' },
  'legacy ftp (basic)': { account: 'ACME||SVC_LEGACY_FTP', idp: 'basic' },
  'payroll, wrong secret (basic)': null,
  'power bi (entra)': { account: 'ACME||SVC_POWERBI', idp: 'entra' },
  'unmapped app (entra)': null,
  'procore (local)': { account: 'ACME||SVC_PROCORE', idp: 'local' },
  'security admin (local)': { account: 'ACME||SECADMIN', idp: 'local' },
  'jane smith (local)': { account: 'ACME||JSMITH', idp: 'local' },
  'unknown erp user (local)': { account: 'ACME||NOBODY', idp: 'local' },
  'payroll named by a token (local)': { account: 'ACME||SVC_PAYROLL', idp: 'local' },
  none: null
}
const CALLERS = Object.keys(CALLER_ACCOUNTS) as CallerName[]

const ACTION_OF: Record<string, string> = { POST: 'create', GET: 'retrieve', HEAD: 'retrieve', PUT: 'update', PATCH: 'update', DELETE: 'delete' }

// ---- the oracle ---------------------------------------------------------------

// The canonical grammar, written again from docs/API.md (not imported), with the
// default env and version lists.
export const CANONICAL = /^\/(cmictest|cmicprod)\/([a-z][a-z0-9]{0,15})-rest-api\/rest\/1\/([A-Za-z][A-Za-z0-9_]{0,63})(?:\/([A-Za-z0-9_~-]+(?:\.[A-Za-z0-9_~-]+)*))?$/

export interface DecisionItem {
  request: { method: unknown, path: unknown, query?: unknown }
  resource?: unknown
  sql?: unknown
  id?: unknown
}

/** Why an allow for this item by this caller would be wrong, or undefined when it may be right. */
export function wrongAllow (data: ErpPolicyData, caller: CallerName, item: DecisionItem): string | undefined {
  const who = CALLER_ACCOUNTS[caller]
  if (who === null) return `caller ${caller} has no account`
  const user = data.accounts.users[who.account]
  if (user === undefined) return `account ${who.account} is unknown`
  if (user.idps !== undefined && !user.idps.includes(who.idp)) return `account ${who.account} may not use ${who.idp}`
  const path = item.request.path
  const m = typeof path === 'string' ? CANONICAL.exec(path) : null
  if (m === null) return `path ${JSON.stringify(path)} is not canonical`
  const [, , module, resource, id] = m
  if (typeof id === 'string' && id.length > 128) return 'id longer than 128'
  const method = item.request.method
  const action = typeof method === 'string' && Object.hasOwn(ACTION_OF, method) ? ACTION_OF[method] : undefined
  if (action === undefined) return `method ${JSON.stringify(method)} is not an action`
  const endpoint = `${module ?? ''}/${resource ?? ''}`
  if (!apiAllows(data, who.account, endpoint, action)) return `no role grants ${action} on ${endpoint} to ${who.account}`
  const decl = data.objects[resource ?? '']
  if (decl === undefined || decl.module !== module) return `${endpoint} is not a declared object`
  if (item.resource !== undefined) {
    if (item.resource === null || typeof item.resource !== 'object') return 'resource is not a record'
    if (!rowAllowed(data, who.account, decl, recordOf(decl, item.resource as Record<string, unknown>))) return `${who.account} may not see the record ${JSON.stringify(item.resource)}`
  }
  return undefined
}

// The record as the policy reads it: the object's own fields, `company` and `job`
// standing in for its company and job fields when those are absent.
function recordOf (decl: ObjectDeclaration, resource: Record<string, unknown>): Record<string, unknown> {
  const aliases: Record<string, unknown> = {}
  if (decl.company_field !== undefined && Object.hasOwn(resource, 'company')) aliases[decl.company_field] = resource.company
  if (Object.hasOwn(resource, 'job') && resource.job !== false) {
    if (decl.job_field !== undefined) aliases[decl.job_field] = resource.job
    if (decl.job_when !== undefined) aliases[decl.job_when.field] = decl.job_when.equals
  }
  return { ...aliases, ...resource }
}

// ---- the generators -------------------------------------------------------------

// Ways a path segment gets a second spelling somewhere between caller and backend.
const HOSTILE = [
  '..', '.', '%2e', '%2e%2e', '%2E%2E%2F', '%252e%252e%252f', '%25252e%25252e', '%5c', '%5C', '\\', '..\\', ';', '..;', ';jsessionid=1',
  '%2f', '%2F', '%3f', '%23', '?', '#', '?x=1', '#frag', '．．／', '．', '／', '＼', '\u2215', '\u2024\u2024', '%c0%ae%c0%ae', '%ef%bc%8e',
  '\u0000', '%00', '\t', '\n', '\r', ' ', '%20', '+', '%', '%zz', '\ud800', '\udc00', '\ud83d', '\u0430', 'ｊ', '\u200b', '\u202e',
  '//', '/./', '/../', '/', 'A', '~', '-', '.x', 'x.', '...', '\u00e9', 'e\u0301', ':', '@', '*', '|', '"', "'", '<', '>', '{', '}'
]

const GARBAGE_STRINGS = ['', '\ud800', '\udfff', 'x\ud83d', '\u0000', 'A'.repeat(300), '\u202e01', '０１', '01 ', ' 01', '*', '%', '$ne', 'null']

/** `arb` in about `percent` % of the cases, otherwise undefined. */
function sometimes<T> (arb: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ arbitrary: fc.constant(undefined), weight: 100 - percent }, { arbitrary: arb, weight: percent })
}

const Identifier = fc.stringMatching(/^[A-Za-z0-9_~-]{1,16}$/)

function pathParts (data: ErpPolicyData): fc.Arbitrary<{ env: string, module: string, version: string, resource: string, id: string | undefined }> {
  const endpoints = Object.entries(data.objects).map(([resource, decl]) => ({ module: decl.module, resource }))
  const unknown = [{ module: 'gl', resource: 'glaccount' }, { module: 'jc', resource: 'pyemptimesheet' }, { module: 'JC', resource: 'jcjob' }, { module: 'jc', resource: 'JCJOB' }]
  return fc.record({
    env: fc.oneof({ arbitrary: fc.constant('cmictest'), weight: 8 }, { arbitrary: fc.constantFrom('cmicprod', 'cmicdev', 'CMICTEST', 'x'), weight: 2 }),
    endpoint: fc.oneof({ arbitrary: fc.constantFrom(...endpoints), weight: 9 }, { arbitrary: fc.constantFrom(...unknown), weight: 1 }),
    version: fc.oneof({ arbitrary: fc.constant('1'), weight: 9 }, { arbitrary: fc.constantFrom('2', 'latest', 'v1', '01'), weight: 1 }),
    id: fc.option(fc.oneof(Identifier, fc.constantFrom('23-410', 'CO-17', '1.2', 'a.b.c')), { nil: undefined, freq: 2 })
  }).map(({ env, endpoint, version, id }) => ({ env, module: endpoint.module, version, resource: endpoint.resource, id }))
}

/** A path: canonical, or broken one of the ways above. */
function pathArbitrary (data: ErpPolicyData): fc.Arbitrary<string> {
  const modules = [...new Set(Object.values(data.objects).map((d) => d.module))]
  const resources = Object.keys(data.objects)
  const canonical = pathParts(data).map((p) => `/${p.env}/${p.module}-rest-api/rest/${p.version}/${p.resource}${p.id !== undefined ? '/' + p.id : ''}`)
  // one hostile piece inserted at a random place (or several)
  const inserted = fc.tuple(canonical, fc.array(fc.tuple(fc.constantFrom(...HOSTILE), fc.nat()), { minLength: 1, maxLength: 3 }))
    .map(([path, edits]) => edits.reduce((p, [piece, at]) => { const i = at % (p.length + 1); return p.slice(0, i) + piece + p.slice(i) }, path))
  // traversal from a granted endpoint into another one, encoded several ways
  const traversal = fc.tuple(canonical, fc.constantFrom(...modules), fc.constantFrom(...resources), fc.constantFrom('..%5c', '..\\', '../', '%2e%2e%2f', '%252e%252e%252f', '..;/', '．．／', '%c0%ae%c0%ae/'), fc.integer({ min: 1, max: 4 }), fc.constantFrom('%5c', '/', '%2f', '\\', '／'))
    .map(([path, module, resource, up, times, sep]) => `${path}/${up.repeat(times)}${module}-rest-api${sep}rest${sep}1${sep}${resource}`)
  // a character of the path replaced by a look-alike or its encoding
  const respelled = fc.tuple(canonical, fc.nat(), fc.constantFrom('encode', 'fullwidth', 'upper', 'double-encode'))
    .map(([path, at, how]) => {
      const i = 1 + (at % (path.length - 1))
      const ch = path[i] ?? 'a'
      const hex = ch.charCodeAt(0).toString(16).padStart(2, '0')
      const replacement = how === 'encode' ? `%${hex}` : how === 'double-encode' ? `%25${hex}` : how === 'upper' ? ch.toUpperCase() : String.fromCharCode(ch.charCodeAt(0) + 0xfee0)
      return path.slice(0, i) + replacement + path.slice(i + 1)
    })
  const anything = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 60 }), fc.constantFrom('', '/', '/etc/passwd', 'https://evil.example/cmictest/jc-rest-api/rest/1/jcjob', '//cmictest/jc-rest-api/rest/1/jcjob', '/cmictest/jc-rest-api/rest/1/jcjob/'.repeat(20)))
  return fc.oneof(
    { arbitrary: canonical, weight: 10 },
    { arbitrary: inserted, weight: 6 },
    { arbitrary: traversal, weight: 2 },
    { arbitrary: respelled, weight: 2 },
    { arbitrary: anything, weight: 1 }
  )
}

function resourceArbitrary (data: ErpPolicyData): fc.Arbitrary<Record<string, unknown>> {
  const fields = [...new Set(Object.values(data.objects).flatMap((d) => [d.company_field, d.job_field, d.job_when?.field].filter((f): f is string => f !== undefined)))]
  const companies = Object.keys(data.security.companies)
  const jobs = [...new Set(Object.values(data.security.groups).flatMap((g) => Object.values(g).flatMap((x) => x.jobs ?? [])))]
  const value = fc.oneof(
    { arbitrary: fc.constantFrom(...companies, '03', '1'), weight: 40 },
    { arbitrary: fc.constantFrom(...jobs, '24-101', '99-999', 'J', 'G'), weight: 40 },
    { arbitrary: fc.constantFrom(...GARBAGE_STRINGS), weight: 20 },
    { arbitrary: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.double()), weight: 10 },
    { arbitrary: fc.oneof(fc.array(fc.string(), { maxLength: 2 }), fc.object({ maxDepth: 1 })), weight: 3 }
  )
  const key = fc.oneof({ arbitrary: fc.constantFrom(...fields, 'company', 'job'), weight: 20 }, { arbitrary: fc.constantFrom('\ud800', '__proto__', 'constructor', '', 'x'.repeat(70)), weight: 1 }, { arbitrary: fc.string({ maxLength: 8 }), weight: 1 })
  return fc.dictionary(key, value, { maxKeys: 4 })
}

function queryArbitrary (): fc.Arbitrary<Record<string, unknown>> {
  const text = fc.oneof(fc.constantFrom('100', '0', 'JobCode eq "23-410"', ...GARBAGE_STRINGS), fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 8 }))
  return fc.dictionary(fc.oneof(fc.constantFrom('limit', 'offset', 'q', '$filter', '\udc00'), fc.string({ maxLength: 6 })), fc.oneof({ arbitrary: text, weight: 30 }, { arbitrary: fc.oneof(fc.integer(), fc.constant(null)), weight: 1 }), { maxKeys: 3 })
}

export function itemArbitrary (data: ErpPolicyData): fc.Arbitrary<DecisionItem> {
  const method = fc.oneof({ arbitrary: fc.constantFrom('GET', 'GET', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'), weight: 25 }, { arbitrary: fc.oneof(fc.constantFrom('get', 'OPTIONS', 'TRACE', '', 'GET ', 'constructor'), fc.integer(), fc.constant(null)), weight: 1 })
  return fc.record({
    method,
    path: fc.oneof({ arbitrary: pathArbitrary(data), weight: 30 }, { arbitrary: fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 })), weight: 1 }),
    query: sometimes(queryArbitrary(), 25),
    resource: sometimes(fc.oneof({ arbitrary: resourceArbitrary(data), weight: 20 }, { arbitrary: fc.oneof(fc.string(), fc.integer(), fc.array(fc.nat(), { maxLength: 2 }), fc.constant(null)), weight: 1 }), 40),
    sql: sometimes(fc.oneof({ arbitrary: fc.constantFrom('postgresql', 'mysql', 'sqlite', 'sqlserver'), weight: 6 }, { arbitrary: fc.constantFrom('oracle', '', 'POSTGRESQL', '\ud800'), weight: 1 }), 20),
    extra: sometimes(fc.constantFrom({ allow: true }, { decision: { allow: true } }, { principal: { erp_user: 'ACME||SECADMIN' } }), 3)
  }).map(({ method, path, query, resource, sql, extra }) => {
    const item: DecisionItem = { request: { method, path } }
    if (query !== undefined) item.request.query = query
    if (resource !== undefined) item.resource = resource
    if (sql !== undefined) item.sql = sql
    return extra !== undefined ? { ...item, ...extra } : item
  })
}

/** What goes on the wire: a JSON text (or raw bytes) and its content type. */
export interface FuzzCase {
  caller: CallerName
  route: '/v1/decide' | '/v1/decide/batch'
  /** the decision items the body holds, when it is well-formed JSON of items */
  items: DecisionItem[]
  payload: string | Buffer
  contentType: string | undefined
}

// Bodies that are broken below the level of a decision request.
const BROKEN_BODIES: Array<string | Buffer> = [
  '', '{', '{"request":', 'null', '[]', '"text"', '{"request":{"method":"GET","path":"/cmictest/jc-rest-api/rest/1/jcjob"},}',
  '{"request":' + '['.repeat(200) + ']'.repeat(200) + '}', '{"items":' + '{"a":'.repeat(100) + '1' + '}'.repeat(101),
  '{"__proto__":{"allow":true},"request":{"method":"GET","path":"/cmictest/jc-rest-api/rest/1/jcjob"}}',
  '{"constructor":{"prototype":{"allow":true}}}', '{"items":"x"}', '{"items":[]}', '{"items":null}',
  Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), Buffer.from('{"request":{"method":"GET","path":"/cmictest/jc-rest-api/rest/1/jcjob/\xff"}}', 'latin1'),
  JSON.stringify({ items: Array.from({ length: 101 }, () => ({ request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob' } })) })
]

export function caseArbitrary (data: ErpPolicyData): fc.Arbitrary<FuzzCase> {
  const caller = fc.constantFrom(...CALLERS)
  const contentType = fc.oneof({ arbitrary: fc.constant('application/json'), weight: 30 }, { arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-8', 'APPLICATION/JSON', undefined), weight: 1 })
  const single = fc.record({ caller, item: itemArbitrary(data), contentType }).map(({ caller, item, contentType }): FuzzCase => ({ caller, route: '/v1/decide', items: [item], payload: JSON.stringify(item), contentType }))
  const batch = fc.record({ caller, items: fc.array(fc.tuple(itemArbitrary(data), fc.option(fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.constant('\ud800')), { nil: undefined })), { minLength: 1, maxLength: 8 }), contentType })
    .map(({ caller, items, contentType }): FuzzCase => {
      const withIds = items.map(([item, id]) => (id !== undefined ? { ...item, id } : item))
      return { caller, route: '/v1/decide/batch', items: withIds, payload: JSON.stringify({ items: withIds }), contentType }
    })
  const broken = fc.record({ caller, route: fc.constantFrom('/v1/decide' as const, '/v1/decide/batch' as const), payload: fc.constantFrom(...BROKEN_BODIES) })
    .map(({ caller, route, payload }): FuzzCase => ({ caller, route, items: [], payload, contentType: 'application/json' }))
  return fc.oneof({ arbitrary: single, weight: 14 }, { arbitrary: batch, weight: 5 }, { arbitrary: broken, weight: 1 })
}
