// Who can do what under one policy revision: `verdict who-can` and `verdict can`.
// Both read the access space `verdict diff` enumerates (src/review/space.ts) and
// its evaluation (src/review/evaluate.ts), asked of one revision instead of two,
// so the answers and the diff cannot disagree about what the policy allows.
import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Action } from '../engine/result.js'
import { cellKey, evaluateSpace, type Cell, type Evaluation } from './evaluate.js'
import { repoRoot } from './git.js'
import { grantingRoles, readModel, type ErpModel, type NotCovered } from './model.js'
import { describeRecordScope } from './records.js'
import type { RevisionInfo } from './report.js'
import { ReviewError } from './review-error.js'
import { loadDirectory, loadRevision, type Revision } from './revision.js'
import { describeScope } from './scope.js'
import { applyData } from './what-if.js'
import { ACTIONS, enumerateSpace, inputFor, type EndpointRef, type RecordRef, type Route, type Space } from './space.js'
import { Grouped } from './grouped.js'

export interface AccessOptions {
  /** the policies directory (default: policies); with `ref`, its path in the repository */
  policies: string
  entrypoint: string
  /** a git revision; undefined: the directory as it is on disk */
  ref?: string
  /** a directory in the git repository (with `ref`; default: the current directory) */
  repo?: string
  /** what-if data laid over the policies (src/review/what-if.ts) */
  data?: string
}

/** One revision asked every question of its access space. */
export interface AccessTable {
  revision: RevisionInfo
  model: ErpModel
  space: Space
  evaluation: Evaluation
  policy: Revision['policy']
  notCovered: NotCovered[]
}

export async function loadAccessTable (options: AccessOptions): Promise<AccessTable> {
  let revision: Revision
  if (options.ref === undefined && options.data === undefined) {
    revision = await loadDirectory(options.policies, options.entrypoint)
  } else {
    const scratch = await mkdtemp(join(tmpdir(), 'verdict-access-'))
    try {
      if (options.ref === undefined) {
        // What-if on the directory: a scratch copy takes the edited data, the directory stays as it is.
        const copy = join(scratch, 'policies')
        await cp(options.policies, copy, { recursive: true }).catch((err: Error) => { throw new ReviewError(`cannot read ${options.policies}: ${err.message}`) })
        await applyData(copy, options.data as string)
        revision = { ...await loadDirectory(copy, options.entrypoint), label: `${options.policies} with --data ${options.data as string}` }
      } else {
        const repo = await repoRoot(options.repo ?? process.cwd())
        revision = await loadRevision({ repo, ref: options.ref, policiesPath: options.policies, entrypoint: options.entrypoint, ...(options.data !== undefined ? { data: options.data } : {}) }, scratch, 'rev')
      }
    } finally {
      await rm(scratch, { recursive: true, force: true })
    }
  }
  const model = readModel(revision.data, revision.label)
  const space = enumerateSpace(model, model)
  return {
    revision: { label: revision.label, commit: revision.commit, subject: revision.subject, author: revision.author, digest: revision.policy.digest },
    model,
    space,
    evaluation: evaluateSpace(revision, model, space),
    policy: revision.policy,
    notCovered: [...model.notCovered, ...space.notCovered]
  }
}

/**
 * What one credential route may do on an endpoint with an action, as the
 * evaluated space says: the row scope of a collection read, the records a write
 * may act on, "all records" for an object without a company key; null when the
 * route can do none of it.
 */
export function heldScope (cell: Cell, records: RecordRef[]): string | null {
  if (cell.scope) return cell.allow ? describeScope(cell.scope) : null
  if (records.length > 0) {
    if (!cell.api || ![...cell.records.values()].some((allowed) => allowed)) return null
    return `records: ${describeRecordScope(records, cell.records)}`
  }
  return cell.allow ? 'all records' : null
}

export interface WhoCanRow {
  account: string
  kind: string
  /** the credential routes: "basic", "entra token (cmicuser)", "entra client 8a4f…" */
  via: string[]
  /** the account's roles that grant the action on the endpoint, or "(bypass list)" */
  roles: string[]
  /** what it may do: the row scope, the records, or (for one record) the application layer's reason */
  scope: string
}

export interface WhoCanAnswer {
  revision: RevisionInfo
  action: Action
  endpoint: string
  record: { company: string, job?: string } | null
  accounts: WhoCanRow[]
  notCovered: NotCovered[]
}

const ENDPOINT_KEY = /^([a-z][a-z0-9]{0,15})\/([A-Za-z][A-Za-z0-9_]{0,63})$/

export function parseEndpoint (key: string): EndpointRef {
  const m = ENDPOINT_KEY.exec(key)
  if (!m) throw new ReviewError(`"${key}" is not an endpoint: give module/resource, e.g. jc/jcjob`)
  return { key, module: m[1] as string, resource: m[2] as string }
}

export function parseAction (value: string): Action {
  if (!(ACTIONS as readonly string[]).includes(value)) throw new ReviewError(`"${value}" is not an action: one of ${ACTIONS.join(', ')}`)
  return value as Action
}

const withSortedVia = <T extends { via: string[] }>(rows: T[]): T[] => rows.map((r) => ({ ...r, via: [...r.via].sort() }))

/**
 * The accounts (and the routes each takes) that may do `action` on `endpoint`:
 * for one record when `record` is given (asked of the policy through the same
 * input the diff builds, so any company and job can be named), else as the
 * enumeration evaluated it.
 */
export function whoCan (table: AccessTable, action: Action, endpoint: EndpointRef, record: WhoCanAnswer['record']): WhoCanAnswer {
  const rows = new Grouped<WhoCanRow>()
  const records = table.space.records.get(endpoint.key) ?? []
  for (const route of table.space.routes) {
    let account: string | undefined
    let kind = 'unknown'
    let scope: string | null
    if (record !== null) {
      const resource: Record<string, unknown> = { company: record.company }
      if (record.job !== undefined) resource.job = record.job
      const result = table.policy.evaluate(inputFor(route, endpoint, action, resource))
      account = result.principal?.id
      kind = result.principal?.kind ?? kind
      const application = result.reasons.find((r) => r.layer === 'application')
      scope = result.allow ? `${application?.code ?? 'allowed'}: ${application?.message ?? ''}` : null
    } else {
      const cell = cellOf(table, route, endpoint, action)
      account = cell.account ?? undefined
      kind = cell.kind
      scope = heldScope(cell, records)
    }
    if (scope === null || account === undefined) continue
    const roles = grantingRoles(table.model, account, endpoint.key, action)
    rows.add(`${account}\0${scope}`, () => ({ account: account as string, kind, via: [], roles, scope: scope as string }), route.via)
  }
  return { revision: table.revision, action, endpoint: endpoint.key, record, accounts: withSortedVia(rows.list()), notCovered: table.notCovered }
}

function cellOf (table: AccessTable, route: Route, endpoint: EndpointRef, action: Action): Cell {
  const cell = table.evaluation.get(cellKey(route.key, endpoint.key, action))
  if (cell !== undefined) return cell
  // An endpoint the data names nowhere: asked of the policy the same way (it denies undeclared objects).
  const result = table.policy.evaluate(inputFor(route, endpoint, action))
  return {
    account: result.principal?.id ?? null,
    kind: result.principal?.kind ?? 'unknown',
    api: result.allow || result.reasons.some((r) => r.layer === 'application'),
    allow: result.allow,
    codes: result.reasons.map((r) => `${r.layer}:${r.code}`),
    scope: null,
    records: new Map()
  }
}

export interface CanRow {
  endpoint: string
  action: Action
  via: string[]
  roles: string[]
  /** the row scope, the records per company, or "no rows"/"no records" when the endpoint right is held without data */
  scope: string
}

export interface CanAnswer {
  revision: RevisionInfo
  account: string
  kind: string
  /** identity providers that may authenticate it; null: any configured */
  idps: string[] | null
  /** every credential route to the account the data defines */
  routes: string[]
  rights: CanRow[]
  notCovered: NotCovered[]
}

/** Every endpoint × action `account` holds (through any route) and its scope; throws when the data names no such account. */
export function can (table: AccessTable, account: string): CanAnswer {
  const known = table.model.accounts.get(account)
  // The account a route resolves to does not depend on the endpoint: read it from any evaluated cell.
  const probe = table.space.endpoints[0]
  const routes = probe === undefined ? [] : table.space.routes.filter((r) => cellOf(table, r, probe, 'retrieve').account === account)
  if (!known && routes.length === 0) throw new ReviewError(`"${account}" is not an account of ${table.revision.label} (data.erp.accounts.users)`)
  const rows = new Grouped<CanRow>()
  for (const endpoint of table.space.endpoints) {
    const records = table.space.records.get(endpoint.key) ?? []
    for (const action of ACTIONS) {
      for (const route of routes) {
        const cell = cellOf(table, route, endpoint, action)
        if (cell.account !== account || !cell.api) continue
        const scope = heldScope(cell, records) ?? (cell.scope ? 'no rows' : 'no records')
        rows.add(`${endpoint.key}\0${ACTIONS.indexOf(action)}\0${scope}`, () => ({
          endpoint: endpoint.key, action, via: [], roles: grantingRoles(table.model, account, endpoint.key, action), scope
        }), route.via)
      }
    }
  }
  return {
    revision: table.revision,
    account,
    kind: known?.kind ?? 'unknown',
    idps: known?.idps ?? null,
    routes: routes.map((r) => r.via),
    rights: withSortedVia(rows.list()),
    notCovered: table.notCovered
  }
}
