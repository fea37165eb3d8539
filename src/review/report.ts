// The report of `verdict diff` / `verdict replay`: one data shape that every
// renderer reads (and that `--format json` prints as it is), its summary counts,
// and the CI gate (which changes make the command exit 1 under --fail-on).
import type { NotCovered } from './model.js'
import type { ScopePart } from './scope.js'

export const REPORT_FORMAT = 'verdict-review/1'

export interface RevisionInfo {
  /** the ref as given, or "working tree" */
  label: string
  commit: string | null
  /** the commit's subject line and author name; null for the working tree */
  subject: string | null
  author: string | null
  digest: string
}

export interface RightChange {
  /** the account (principal.id), or "(unresolved)" */
  principal: string
  kind: string
  endpoint: string
  action: string
  /** roles of the account that grant it, from the API role data; "(bypass list)"; empty when no role data explains it */
  roles: string[]
  /** the credential routes that gain or lose it */
  via: string[]
  /** for a retrieve: the row scope that comes with it; for a write on an object with a company key: the records it may write */
  rows: string | null
}

export interface ScopeChange extends ScopePart {
  principal: string
  endpoint: string
  action: string
  /** "all jobs (company-wide)", "jobs 23-410, 23-415", "all rows", … */
  scope: string
  /** what the company's scope holds in both revisions: "jobs 23-410, 24-101", "nothing" */
  keeps: string
  via: string[]
}

/**
 * Single-record decisions of one account, endpoint, action and company that a
 * change turns (gained: deny→allow, lost: allow→deny) while the endpoint right
 * is held in both revisions. Records are job codes or the labels of
 * src/review/space.ts (jobs not in the data, records without a job, …).
 */
export interface RecordChange {
  principal: string
  endpoint: string
  action: string
  company: string
  records: string[]
  /** the records gained or lost, "23-415, 24-101" */
  scope: string
  /** the company's records allowed in both revisions, "23-410, 24-101", "nothing" */
  keeps: string
  roles: string[]
  via: string[]
}

/** A decision that changed though neither the right nor the row scope did (e.g. a write without a record). */
export interface DecisionChange {
  principal: string
  endpoint: string
  action: string
  base: string
  head: string
  via: string[]
}

export interface PrincipalEntry { id: string, kind: string, idps: string[] | null, roles: string[] }
export interface PrincipalChange { id: string, changes: string[] }
export interface ClientChange { idp: string, client: string, base: string | null, head: string | null }
export interface RoleRight { role: string, endpoint: string, action: string }
export interface MatrixCell { row: string, endpoint: string, action: string, base: boolean, head: boolean }

export interface AccessDiff {
  rights: { granted: RightChange[], revoked: RightChange[] }
  scope: { gained: ScopeChange[], lost: ScopeChange[] }
  records: { gained: RecordChange[], lost: RecordChange[] }
  decisions: DecisionChange[]
  principals: { added: PrincipalEntry[], removed: PrincipalEntry[], changed: PrincipalChange[], clients: ClientChange[] }
  roles: { added: string[], removed: string[], rightsAdded: RoleRight[], rightsRemoved: RoleRight[] }
  /** role × endpoint × action from the API role data (and the bypass list) */
  roleMatrix: MatrixCell[]
  /** account × endpoint × action as evaluated (held through any route) */
  principalMatrix: MatrixCell[]
  /** evaluations: collection decisions; recordEvaluations: single-record decisions (per revision) */
  space: { routes: number, accounts: number, endpoints: number, actions: number, evaluations: number, records: number, recordEvaluations: number }
}

export interface Flip {
  /** the log file and line of the event */
  log: string
  line: number
  decision_id: string | null
  /** the account (principal.id) */
  principal: string
  endpoint: string
  /** the record the request concerned (company and job as the object's fields or the generic keys give them); null for a collection */
  record: { company: string | null, job: string | null, id: string | null } | null
  action: string
  roles: string[]
  change: 'allow→deny' | 'deny→allow' | 'rows'
  base: string
  head: string
}

export interface Unreplayable { log: string, line: number, decision_id: string | null, reason: string }

export interface ReplayCount { allowToDeny: number, denyToAllow: number, rowsChanged: number }

export interface ReplayReport {
  logs: string[]
  events: number
  replayed: number
  flips: Flip[]
  /** rows changes that widen access (scope gained) and that narrow it (scope lost); one change may do both */
  rowsWidened: number
  rowsNarrowed: number
  byEndpoint: Record<string, ReplayCount>
  byRole: Record<string, ReplayCount>
  unreplayable: Unreplayable[]
  /** recorded results that the base revision does not reproduce (the log came from another policy) */
  recordedDiffers: number
}

export interface Summary {
  changed: boolean
  rightsGranted: number
  rightsRevoked: number
  scopeGained: number
  scopeLost: number
  recordsGained: number
  recordsLost: number
  decisionsChanged: number
  principalsAdded: number
  principalsRemoved: number
  principalsChanged: number
  clientMappingsChanged: number
  rolesAdded: number
  rolesRemoved: number
  roleRightsAdded: number
  roleRightsRemoved: number
  replayFlips: number
  replayAllowToDeny: number
  replayDenyToAllow: number
  replayRowsChanged: number
  replayUnreplayable: number
  notCovered: number
}

export interface Report {
  format: typeof REPORT_FORMAT
  command: 'diff' | 'replay'
  base: RevisionInfo
  head: RevisionInfo
  summary: Summary
  access: AccessDiff | null
  replay: ReplayReport | null
  notCovered: NotCovered[]
  limits: string[]
  /** `git diff` of the policies directory between base and head; empty when equal */
  textDiff: string
}

export type FailOn = 'grants' | 'revokes' | 'any'
export const FAIL_ON: readonly FailOn[] = ['grants', 'revokes', 'any']

export function summarize (access: AccessDiff | null, replay: ReplayReport | null, notCovered: NotCovered[]): Summary {
  const flips = replay?.flips ?? []
  const s: Summary = {
    changed: false,
    rightsGranted: access?.rights.granted.length ?? 0,
    rightsRevoked: access?.rights.revoked.length ?? 0,
    scopeGained: access?.scope.gained.length ?? 0,
    scopeLost: access?.scope.lost.length ?? 0,
    recordsGained: access?.records.gained.length ?? 0,
    recordsLost: access?.records.lost.length ?? 0,
    decisionsChanged: access?.decisions.length ?? 0,
    principalsAdded: access?.principals.added.length ?? 0,
    principalsRemoved: access?.principals.removed.length ?? 0,
    principalsChanged: access?.principals.changed.length ?? 0,
    clientMappingsChanged: access?.principals.clients.length ?? 0,
    rolesAdded: access?.roles.added.length ?? 0,
    rolesRemoved: access?.roles.removed.length ?? 0,
    roleRightsAdded: access?.roles.rightsAdded.length ?? 0,
    roleRightsRemoved: access?.roles.rightsRemoved.length ?? 0,
    replayFlips: flips.length,
    replayAllowToDeny: flips.filter((f) => f.change === 'allow→deny').length,
    replayDenyToAllow: flips.filter((f) => f.change === 'deny→allow').length,
    replayRowsChanged: flips.filter((f) => f.change === 'rows').length,
    replayUnreplayable: replay?.unreplayable.length ?? 0,
    notCovered: notCovered.length
  }
  s.changed = changeCount(s, 'any', access, replay) > 0
  return s
}

/**
 * How many changes count for the gate. `grants`: new access only (rights
 * granted, job scope gained, records gained, principals added, decisions that now allow, replayed
 * deny→allow and widened rows). `revokes`: lost access. `any`: every change,
 * including role data, client mappings and principal attributes.
 */
export function changeCount (s: Summary, failOn: FailOn, access: AccessDiff | null, replay: ReplayReport | null): number {
  const decisionsAllowing = access?.decisions.filter((d) => d.head.startsWith('allow')).length ?? 0
  const decisionsDenying = s.decisionsChanged - decisionsAllowing
  const widened = replay?.rowsWidened ?? 0
  const narrowed = replay?.rowsNarrowed ?? 0
  const grants = s.rightsGranted + s.scopeGained + s.recordsGained + s.principalsAdded + decisionsAllowing + s.replayDenyToAllow + widened
  const revokes = s.rightsRevoked + s.scopeLost + s.recordsLost + s.principalsRemoved + decisionsDenying + s.replayAllowToDeny + narrowed
  if (failOn === 'grants') return grants
  if (failOn === 'revokes') return revokes
  return grants + revokes + s.principalsChanged + s.clientMappingsChanged + s.rolesAdded + s.rolesRemoved +
    s.roleRightsAdded + s.roleRightsRemoved
}

export function exitCode (report: Report, failOn: FailOn): 0 | 1 {
  return changeCount(report.summary, failOn, report.access, report.replay) > 0 ? 1 : 0
}
