// Issue 9, item 2: a typo in the policy data never widens access. For every key
// of the example data (field names like company_field, and names like accounts,
// roles, groups, companies, endpoints), one at a time: misspell it, drop it, and
// change the type of its value. Each mutation must be refused by the data check
// the loader runs (src/toolchain/policy-data-check.ts), or grant nothing the
// original did not, compared over the access space `verdict diff` enumerates
// (src/review: every credential route × every endpoint × every action, with the
// row scope of collection reads).
//
// The policy is compiled once; each mutation that passes the check is loaded
// into the same policy.wasm as data (no recompilation), as the data check runs
// on data alone.
import t from 'tap'
import { assembleBundle } from '../../src/bundle/bundle.js'
import { loadDecisionPolicy, type DecisionPolicy } from '../../src/engine/policy.js'
import { evaluateSpace, type Cell, type Evaluation } from '../../src/review/evaluate.js'
import { readModel, type ErpModel } from '../../src/review/model.js'
import type { Revision } from '../../src/review/revision.js'
import { compareScopes } from '../../src/review/scope.js'
import { enumerateSpace } from '../../src/review/space.js'
import { compilePolicies } from '../../src/toolchain/compiler.js'
import { checkErpData, keyPath } from '../../src/toolchain/policy-data-check.js'
import { POLICY_DIR } from '../helpers/app.js'

const ENTRYPOINT = 'verdict/decision'
t.setTimeout(300_000)

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type Obj = { [key: string]: Json }
const isObj = (v: Json | undefined): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v)

const bundle = await compilePolicies({ dir: POLICY_DIR, entrypoint: ENTRYPOINT })
const document = JSON.parse(bundle.dataJson.toString('utf8')) as Obj
const original = document.erp as Obj

async function policyFor (erp: Json): Promise<DecisionPolicy> {
  const data = Buffer.from(JSON.stringify({ ...document, erp }))
  return await loadDecisionPolicy(assembleBundle(bundle.wasm, data, Buffer.from(JSON.stringify(bundle.manifest))), ENTRYPOINT)
}

// --- mutations ---------------------------------------------------------------

interface Mutation { kind: 'misspell' | 'drop' | 'retype', path: string[], erp: Obj }

/** Every key of every mapping in the data, as a path from data.erp (list items are walked, not keys). */
function keyPaths (value: Json, path: string[] = []): string[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => keyPaths(v, [...path, String(i)]))
  if (!isObj(value)) return []
  return Object.entries(value).flatMap(([k, v]) => [[...path, k], ...keyPaths(v, [...path, k])])
}

/** A typo: the last two characters swapped (or, when they are equal, the last one dropped). */
function misspell (key: string, siblings: Obj): string {
  const chars = [...key]
  const n = chars.length
  let typo = n >= 2 && chars[n - 1] !== chars[n - 2] ? [...chars.slice(0, -2), chars[n - 1], chars[n - 2]].join('') : chars.slice(0, -1).join('')
  if (typo === '' || Object.hasOwn(siblings, typo)) typo = `${key}x`
  return typo
}

/** The same value as another JSON type: a list written as its first item, a scalar as another scalar. */
function retype (value: Json): Json {
  if (Array.isArray(value)) return value.length > 0 && !Array.isArray(value[0]) ? value[0] as Json : ''
  if (isObj(value)) return Object.keys(value).length > 0 ? Object.keys(value) : 'x'
  if (typeof value === 'string') return value === '' ? 0 : 1
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return 'null'
}

function mutate (path: string[], change: (parent: Json[] | Obj, key: string) => void): Obj {
  const copy = structuredClone(original)
  let parent: Json = copy
  for (const k of path.slice(0, -1)) parent = Array.isArray(parent) ? parent[Number(k)] as Json : (parent as Obj)[k] as Json
  change(parent as Json[] | Obj, path[path.length - 1] as string)
  return copy
}

function mutations (): Mutation[] {
  const out: Mutation[] = []
  for (const path of keyPaths(original)) {
    out.push({
      kind: 'misspell',
      path,
      erp: mutate(path, (parent, key) => {
        const obj = parent as Obj
        // Rebuilt in the same order: only the name changes.
        const entries = Object.entries(obj).map(([k, v]): [string, Json] => [k === key ? misspell(key, obj) : k, v])
        for (const k of Object.keys(obj)) delete obj[k]
        Object.assign(obj, Object.fromEntries(entries))
      })
    })
    out.push({ kind: 'drop', path, erp: mutate(path, (parent, key) => { delete (parent as Obj)[key] }) })
    out.push({ kind: 'retype', path, erp: mutate(path, (parent, key) => { (parent as Obj)[key] = retype((parent as Obj)[key] as Json) }) })
  }
  return out
}

// --- what an account may do, over the access space of `verdict diff` ---------

const asRevision = (policy: DecisionPolicy): Revision => ({ label: 'mutation', ref: null, commit: null, subject: null, author: null, policy, data: null, dir: '' })

/**
 * Per (account, identity provider, endpoint, action): the strongest answer any
 * credential route gives. Routes are how a credential reaches an account (Basic,
 * a token naming the user, a mapped client id); a client id that is renamed is
 * the same provider speaking for the same account, not a new right.
 */
function rights (evaluation: Evaluation, routeIdp: Map<string, string>): Map<string, Cell> {
  const out = new Map<string, Cell>()
  for (const [key, cell] of evaluation) {
    if (cell.account === null) continue
    const [route, endpoint, action] = key.split('\0') as [string, string, string]
    const k = `${cell.account}\0${routeIdp.get(route) ?? '?'}\0${endpoint}\0${action}`
    const had = out.get(k)
    if (!had) {
      out.set(k, { ...cell, records: new Map(cell.records) })
      continue
    }
    had.api ||= cell.api
    had.allow ||= cell.allow
    had.scope ??= cell.scope
    for (const [record, allowed] of cell.records) if (allowed) had.records.set(record, true)
  }
  return out
}

const baseRights = new Map<string, Map<string, Cell>>()

/**
 * What `head` grants that `base` did not: a right, an allow, row scope, or a
 * single record. Empty when nothing widened. Single-record decisions cost about
 * fifteen times the collection questions, so they are asked only with
 * `records` (see the test below).
 */
function widenings (baseModel: ErpModel, basePolicy: DecisionPolicy, headModel: ErpModel, headPolicy: DecisionPolicy, records = true): string[] {
  const enumerated = enumerateSpace(baseModel, headModel)
  const space = records ? enumerated : { ...enumerated, records: new Map() }
  const routeIdp = new Map(space.routes.map((r) => [r.key, r.principal.idp]))
  // The original's answers depend only on the questions asked: evaluated once per space.
  const signature = `${records}\0${space.routes.map((r) => r.key).join('\n')}\0${space.endpoints.map((e) => e.key).join('\n')}`
  let base = baseRights.get(signature)
  if (!base) {
    base = rights(evaluateSpace(asRevision(basePolicy), baseModel, space), routeIdp)
    baseRights.set(signature, base)
  }
  const head = rights(evaluateSpace(asRevision(headPolicy), headModel, space), routeIdp)
  const out: string[] = []
  for (const [k, h] of head) {
    const b = base.get(k)
    const what = k.replaceAll('\0', ' ')
    if (h.api && !b?.api) out.push(`${what}: API right gained`)
    if (h.allow && !b?.allow) out.push(`${what}: allowed (${h.codes.join(', ')}), was ${b ? b.codes.join(', ') : 'unreachable'}`)
    if (h.scope) {
      const gained = compareScopes(b?.scope ?? { kind: 'none' }, h.scope).gained
      if (gained.length > 0) out.push(`${what}: row scope gained ${JSON.stringify(gained)}`)
    }
    for (const [record, allowed] of h.records) {
      if (allowed && b?.records.get(record) !== true) out.push(`${what}: record ${record.replace('\0', ' ')} allowed`)
    }
  }
  return out
}

const baseModel = readModel(document, 'example')
const basePolicy = await policyFor(original)

t.test('the comparison has teeth: a widened right and a widened scope are found', async (t) => {
  const moreRights = structuredClone(original) as { api: { roles: { PM_SYNC: { endpoints: Record<string, string[]> } } } } & Obj
  moreRights.api.roles.PM_SYNC.endpoints['pm/scmast']?.push('delete')
  t.same(checkErpData(moreRights), [], 'valid data: the check has nothing to say about a change of rights')
  const found = widenings(baseModel, basePolicy, readModel({ erp: moreRights }, 'x'), await policyFor(moreRights))
  t.ok(found.some((w) => w.startsWith('ACME||SVC_PROCORE local pm/scmast delete: API right gained')), found.join('\n'))

  const moreScope = structuredClone(original) as { security: { access: Record<string, Record<string, { groups: string[] }>> } } & Obj
  moreScope.security.access['ACME||JSMITH'] = { '01': { groups: ['MASTER'] } }
  const scoped = widenings(baseModel, basePolicy, readModel({ erp: moreScope }, 'x'), await policyFor(moreScope))
  t.ok(scoped.some((w) => /^ACME\|\|JSMITH basic jc\/jcjob retrieve: row scope gained/.test(w)), scoped.join('\n'))
  t.ok(scoped.some((w) => w.startsWith('ACME||JSMITH basic jc/jcjob retrieve: record 01 24-101 allowed')), 'and single records it may now read')
  t.same(widenings(baseModel, basePolicy, baseModel, basePolicy), [], 'the original against itself: nothing')
})

// Every mutation that loads is compared over the collection questions of the
// space (API right, decision and row scope per account, provider, endpoint and
// action). Single records (every company and job the data names, per endpoint)
// are compared too for the keys the record check reads beyond the row scope —
// the row filter and the record check agree for any data (the policy tests hold
// it) — or for every mutation with VERDICT_MUTATIONS_RECORDS=1 (some minutes).
const RECORD_KEYS = new Set(['rows_without_job', 'job_when', 'field', 'equals', 'company_field', 'job_field', 'scope'])
const ALL_RECORDS = process.env.VERDICT_MUTATIONS_RECORDS === '1'

t.test('every misspelt, dropped or retyped key is refused at load or grants nothing new', async (t) => {
  const started = performance.now()
  const all = mutations()
  const counts = { tried: 0, refused: 0, harmless: 0, widened: 0, withRecords: 0 }
  const byKind: Record<string, { refused: number, harmless: number }> = {}
  const widened: string[] = []
  const harmless: string[] = []
  for (const m of all) {
    counts.tried++
    const kind = byKind[m.kind] ??= { refused: 0, harmless: 0 }
    const label = `${m.kind} data.erp.${keyPath(original, m.path)}`
    if (checkErpData(m.erp).length > 0) {
      counts.refused++
      kind.refused++
      continue
    }
    const records = ALL_RECORDS || RECORD_KEYS.has(m.path[m.path.length - 1] as string)
    if (records) counts.withRecords++
    const found = widenings(baseModel, basePolicy, readModel({ erp: m.erp }, 'mutation'), await policyFor(m.erp), records)
    if (found.length > 0) {
      counts.widened++
      widened.push(`${label}:\n    ${found.slice(0, 5).join('\n    ')}`)
    } else {
      counts.harmless++
      kind.harmless++
      harmless.push(label)
    }
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  t.comment(`data mutations: ${counts.tried} tried, ${counts.refused} refused at load, ${counts.harmless} harmless, ${counts.widened} widened (${seconds} s); ` +
    `${counts.withRecords} of those that load compared on single records too${ALL_RECORDS ? ' (all)' : ''}`)
  for (const [kind, c] of Object.entries(byKind)) t.comment(`  ${kind}: ${c.refused} refused, ${c.harmless} harmless`)
  t.comment(`harmless: ${harmless.join('; ')}`)
  t.same(widened, [], 'no mutation widens access')
  t.equal(counts.tried, counts.refused + counts.harmless + counts.widened)
  // Teeth: the property was exercised both ways.
  t.ok(counts.refused > 100, `${counts.refused} refused`)
  t.ok(counts.harmless > 10, `${counts.harmless} evaluated over the access space and found harmless`)
  t.equal(byKind.misspell?.harmless !== undefined && byKind.drop?.harmless !== undefined, true)
})
