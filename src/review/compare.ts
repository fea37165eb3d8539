// Compares two revisions' answers over the same access space, and their data,
// into the access diff of the report: rights granted and revoked (with the role
// that grants them), job scope gained and lost, decisions that changed otherwise,
// principals and roles added, removed or changed, and the two matrices.
import type { Action } from '../engine/result.js'
import { cellKey, type Cell, type Evaluation } from './evaluate.js'
import { assignedRoles, grantingRoles, type ErpModel } from './model.js'
import { compareRecords, describeRecords, describeRecordScope } from './records.js'
import type {
  AccessDiff, ClientChange, DecisionChange, MatrixCell, PrincipalChange, PrincipalEntry, RecordChange, RightChange, RoleRight, ScopeChange
} from './report.js'
import { compareScopes, describeKept, describePart, describeScope } from './scope.js'
import { ACTIONS, type Space } from './space.js'
import { Grouped } from './grouped.js'

export interface Side { model: ErpModel, evaluation: Evaluation }

const UNRESOLVED = '(unresolved)'
const BYPASS = '(bypass list)'

function decisionText (cell: Cell): string {
  return `${cell.allow ? 'allow' : 'deny'} (${cell.codes.join(', ')})`
}

export function compareAccess (space: Space, base: Side, head: Side): AccessDiff {
  const granted = new Grouped<RightChange>()
  const revoked = new Grouped<RightChange>()
  const gained = new Grouped<ScopeChange>()
  const lost = new Grouped<ScopeChange>()
  const recordsGained = new Grouped<RecordChange>()
  const recordsLost = new Grouped<RecordChange>()
  const decisions = new Grouped<DecisionChange>()
  const matrix = new Map<string, MatrixCell>()

  for (const route of space.routes) {
    for (const endpoint of space.endpoints) {
      const records = space.records.get(endpoint.key) ?? []
      for (const action of ACTIONS) {
        const key = cellKey(route.key, endpoint.key, action)
        const b = base.evaluation.get(key) as Cell
        const h = head.evaluation.get(key) as Cell
        for (const [cell, side] of [[b, 'base'], [h, 'head']] as const) {
          if (!cell.api || cell.account === null) continue
          const m = `${cell.account}\0${endpoint.key}\0${action}`
          const entry = matrix.get(m) ?? { row: cell.account, endpoint: endpoint.key, action, base: false, head: false }
          entry[side] = true
          matrix.set(m, entry)
        }
        const right = (cell: Cell, model: ErpModel): RightChange => ({
          principal: cell.account ?? UNRESOLVED,
          kind: cell.kind,
          endpoint: endpoint.key,
          action,
          roles: grantingRoles(model, cell.account ?? undefined, endpoint.key, action),
          via: [],
          rows: cell.scope ? describeScope(cell.scope) : records.length > 0 ? `records: ${describeRecordScope(records, cell.records)}` : null
        })
        const rightKey = (cell: Cell): string => `${cell.account ?? UNRESOLVED}\0${endpoint.key}\0${action}`
        if (!b.api && h.api) {
          granted.add(rightKey(h), () => right(h, head.model), route.via)
        } else if (b.api && !h.api) {
          revoked.add(rightKey(b), () => right(b, base.model), route.via)
        } else if (b.api && h.api) {
          let explained = false
          if (b.scope && h.scope) {
            const delta = compareScopes(b.scope, h.scope)
            explained = delta.gained.length > 0 || delta.lost.length > 0
            const principal = h.account ?? UNRESOLVED
            for (const [parts, into] of [[delta.gained, gained], [delta.lost, lost]] as const) {
              for (const part of parts) {
                const scope = describePart(part)
                into.add(`${principal}\0${endpoint.key}\0${action}\0${part.company ?? ''}\0${scope}`, () => ({
                  principal,
                  endpoint: endpoint.key,
                  action,
                  company: part.company,
                  scope,
                  companyWide: part.companyWide,
                  jobs: part.jobs,
                  blankJob: part.blankJob,
                  nonJobRows: part.nonJobRows,
                  allRows: part.allRows,
                  filter: part.filter,
                  keeps: describeKept(delta.kept, part.company),
                  via: []
                }), route.via)
              }
            }
          }
          // Single records, every action: a write lost on one job shows as such.
          const principal = h.account ?? UNRESOLVED
          for (const c of compareRecords(records, b.records, h.records)) {
            const keeps = describeRecords(c.kept, records, c.company)
            for (const [labels, into, model] of [[c.gained, recordsGained, head.model], [c.lost, recordsLost, base.model]] as const) {
              if (labels.length === 0) continue
              const scope = labels.join(', ')
              into.add(`${principal}\0${endpoint.key}\0${action}\0${c.company}\0${scope}\0${keeps}`, () => ({
                principal,
                endpoint: endpoint.key,
                action,
                company: c.company,
                records: [...labels],
                scope,
                keeps,
                roles: grantingRoles(model, principal, endpoint.key, action),
                via: []
              }), route.via)
            }
          }
          if (!explained && b.allow !== h.allow) {
            decisions.add(`${h.account ?? UNRESOLVED}\0${endpoint.key}\0${action}\0${decisionText(b)}\0${decisionText(h)}`, () => ({
              principal: h.account ?? UNRESOLVED, endpoint: endpoint.key, action, base: decisionText(b), head: decisionText(h), via: []
            }), route.via)
          }
        }
      }
    }
  }

  const stripVia = <T extends { via: string[] }>(rows: T[]): T[] => rows.map((r) => ({ ...r, via: r.via.sort() }))
  return {
    rights: { granted: stripVia(granted.list()), revoked: stripVia(revoked.list()) },
    scope: { gained: stripVia(gained.list()), lost: stripVia(lost.list()) },
    records: { gained: stripVia(recordsGained.list()), lost: stripVia(recordsLost.list()) },
    decisions: stripVia(decisions.list()),
    principals: comparePrincipals(base.model, head.model),
    roles: compareRoles(base.model, head.model),
    roleMatrix: roleMatrix(base.model, head.model),
    principalMatrix: [...matrix.values()].sort(byCell),
    space: {
      routes: space.routes.length,
      accounts: new Set([...base.model.accounts.keys(), ...head.model.accounts.keys()]).size,
      endpoints: space.endpoints.length,
      actions: ACTIONS.length,
      evaluations: space.routes.length * space.endpoints.length * ACTIONS.length,
      records: [...space.records.values()].reduce((n, list) => n + list.length, 0),
      recordEvaluations: space.routes.length * ACTIONS.length * [...space.records.values()].reduce((n, list) => n + list.length, 0)
    }
  }
}

const ACTION_ORDER = new Map<string, number>(ACTIONS.map((a, i) => [a, i]))
function byCell (a: MatrixCell, b: MatrixCell): number {
  return a.row.localeCompare(b.row) || a.endpoint.localeCompare(b.endpoint) ||
    (ACTION_ORDER.get(a.action) ?? 9) - (ACTION_ORDER.get(b.action) ?? 9)
}

function entry (model: ErpModel, id: string): PrincipalEntry {
  const account = model.accounts.get(id)
  return { id, kind: account?.kind ?? 'unknown', idps: account?.idps ?? null, roles: assignedRoles(model, id) }
}

function diffList (what: string, before: string[], after: string[]): string[] {
  const out: string[] = []
  const added = after.filter((x) => !before.includes(x))
  const removed = before.filter((x) => !after.includes(x))
  if (added.length > 0) out.push(`${what} added: ${added.join(', ')}`)
  if (removed.length > 0) out.push(`${what} removed: ${removed.join(', ')}`)
  return out
}

function comparePrincipals (base: ErpModel, head: ErpModel): AccessDiff['principals'] {
  const ids = [...new Set([...base.accounts.keys(), ...head.accounts.keys()])].sort()
  const added: PrincipalEntry[] = []
  const removed: PrincipalEntry[] = []
  const changed: PrincipalChange[] = []
  for (const id of ids) {
    const b = base.accounts.get(id)
    const h = head.accounts.get(id)
    if (!b) {
      added.push(entry(head, id))
      continue
    }
    if (!h) {
      removed.push(entry(base, id))
      continue
    }
    const changes: string[] = []
    if (b.kind !== h.kind) changes.push(`kind ${b.kind} → ${h.kind}`)
    if (b.idps === null || h.idps === null) {
      if (b.idps !== h.idps) changes.push(`identity providers ${b.idps?.join(', ') ?? '(any)'} → ${h.idps?.join(', ') ?? '(any)'}`)
    } else {
      changes.push(...diffList('identity providers', b.idps, h.idps))
    }
    changes.push(...diffList('roles', assignedRoles(base, id), assignedRoles(head, id)))
    if (changes.length > 0) changed.push({ id, changes })
  }
  const clients: ClientChange[] = []
  for (const idp of [...new Set([...base.clients.keys(), ...head.clients.keys()])].sort()) {
    const b = base.clients.get(idp) ?? new Map<string, string>()
    const h = head.clients.get(idp) ?? new Map<string, string>()
    for (const client of [...new Set([...b.keys(), ...h.keys()])].sort()) {
      if (b.get(client) !== h.get(client)) clients.push({ idp, client, base: b.get(client) ?? null, head: h.get(client) ?? null })
    }
  }
  return { added, removed, changed, clients }
}

/** role (and "(bypass list)") → endpoint → actions, as the data lists them. */
function roleRights (model: ErpModel): Set<string> {
  const out = new Set<string>()
  for (const [role, eps] of model.roles) for (const [ep, acts] of eps) for (const a of acts) out.add(`${role}\0${ep}\0${a}`)
  for (const [ep, acts] of model.bypass) for (const a of acts) out.add(`${BYPASS}\0${ep}\0${a}`)
  return out
}

function toRight (key: string): RoleRight {
  const [role, endpoint, action] = key.split('\0') as [string, string, string]
  return { role, endpoint, action }
}

function compareRoles (base: ErpModel, head: ErpModel): AccessDiff['roles'] {
  const b = roleRights(base)
  const h = roleRights(head)
  const sortRights = (list: string[]): RoleRight[] => list.map(toRight).sort((x, y) =>
    x.role.localeCompare(y.role) || x.endpoint.localeCompare(y.endpoint) || (ACTION_ORDER.get(x.action) ?? 9) - (ACTION_ORDER.get(y.action) ?? 9))
  return {
    added: [...head.roles.keys()].filter((r) => !base.roles.has(r)).sort(),
    removed: [...base.roles.keys()].filter((r) => !head.roles.has(r)).sort(),
    rightsAdded: sortRights([...h].filter((x) => !b.has(x))),
    rightsRemoved: sortRights([...b].filter((x) => !h.has(x)))
  }
}

function roleMatrix (base: ErpModel, head: ErpModel): MatrixCell[] {
  const b = roleRights(base)
  const h = roleRights(head)
  return [...new Set([...b, ...h])].map((key) => {
    const r = toRight(key)
    return { row: r.role, endpoint: r.endpoint, action: r.action as Action, base: b.has(key), head: h.has(key) }
  }).sort(byCell)
}
