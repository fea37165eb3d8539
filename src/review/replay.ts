// Replays a decision log (JSON Lines, one OPA-style decision-log event per line,
// as the file sink writes them) under two revisions: every recorded policy input
// is evaluated again under base and head, and the decisions that flip (allow→deny,
// deny→allow) or whose rows change are listed and counted per endpoint and role.
// Events that carry no replayable input (authentication failures, masked or
// erased input, unreadable lines) are counted and named, never dropped.
import { readFile } from 'node:fs/promises'
import type { PolicyInput, PolicyResult } from '../engine/result.js'
import { grantingRoles, assignedRoles, type ErpModel } from './model.js'
import type { Flip, ReplayCount, ReplayReport } from './report.js'
import type { Revision } from './revision.js'
import { ReviewError } from './review-error.js'
import { compareScopes, describeScope, readScope } from './scope.js'

export interface LogLine { file: string, line: number, text: string }

export interface ReplaySide { revision: Revision, model: ErpModel }

/** Reads the lines of every log; an unreadable file is an error (exit 2), a bad line is named later. */
export async function readDecisionLogs (files: string[]): Promise<LogLine[]> {
  const lines: LogLine[] = []
  for (const file of files) {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      throw new ReviewError(`cannot read decision log ${file}: ${(err as Error).message}`)
    }
    text.split('\n').forEach((t, i) => { if (t.trim() !== '') lines.push({ file, line: i + 1, text: t }) })
  }
  return lines
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v)

/** Why an event cannot be replayed, or its input. */
function replayableInput (event: Obj): PolicyInput | string {
  for (const field of ['masked', 'erased'] as const) {
    const paths = event[field]
    if (Array.isArray(paths)) {
      const hit = paths.find((p) => typeof p === 'string' && (p === '/input' || p.startsWith('/input/')))
      if (hit !== undefined) return `input ${field} at ${String(hit)}: the recorded input is not the input that was evaluated`
    }
  }
  const input = event.input
  // An authentication failure never reaches the policy: the sink then records no
  // input, or only the request part (custom.policy_evaluated: false).
  const result = isObj(event.result) ? event.result : {}
  const reasons = Array.isArray(result.reasons) ? result.reasons : []
  const authn = reasons.find((r) => isObj(r) && r.layer === 'authentication')
  const evaluated = isObj(event.custom) ? event.custom.policy_evaluated : undefined
  if (result.status === 401 || authn !== undefined || evaluated === false) {
    return `authentication failure${isObj(authn) && typeof authn.code === 'string' ? ` (${authn.code})` : ''}: the policy was not evaluated, there is no input to replay`
  }
  if (input === undefined || input === null) return 'no input recorded'
  if (!isObj(input) || !isObj(input.principal) || typeof input.action !== 'string' || !isObj(input.endpoint) ||
      typeof input.endpoint.module !== 'string' || typeof input.endpoint.resource !== 'string') {
    return 'input is not a policy input ({principal, action, request, endpoint, resource?})'
  }
  return input as unknown as PolicyInput
}

const text = (r: PolicyResult): string => `${r.allow ? 'allow' : 'deny'} (${r.reasons.map((x) => `${x.layer}:${x.code}`).join(', ')})`

function sameRows (a: PolicyResult, b: PolicyResult): boolean {
  return JSON.stringify(a.rows) === JSON.stringify(b.rows)
}

function objectOf (model: ErpModel, input: PolicyInput): ReturnType<ErpModel['objects']['get']> {
  const o = model.objects.get(input.endpoint.resource)
  return o?.module === input.endpoint.module ? o : undefined
}

const recordText = (v: unknown): string | null => v === undefined || v === null ? null : typeof v === 'string' ? v : JSON.stringify(v)

/**
 * The record a logged request concerned, read as the policy reads input.resource:
 * the object's own company and job fields, else the generic keys company and job.
 */
export function recordOf (input: PolicyInput, model: ErpModel): Flip['record'] {
  const resource = input.resource
  const id = input.endpoint.id ?? null
  if (!isObj(resource)) return id !== null ? { company: null, job: null, id } : null
  const object = objectOf(model, input)
  const field = (own: string | null | undefined, generic: string): unknown =>
    own != null && resource[own] !== undefined ? resource[own] : resource[generic]
  return { company: recordText(field(object?.companyField, 'company')), job: recordText(field(object?.jobField, 'job')), id }
}

export function replay (lines: LogLine[], base: ReplaySide, head: ReplaySide, logs: string[]): ReplayReport {
  const report: ReplayReport = {
    logs, events: lines.length, replayed: 0, flips: [], rowsWidened: 0, rowsNarrowed: 0, byEndpoint: {}, byRole: {}, unreplayable: [], recordedDiffers: 0
  }
  const count = (into: Record<string, ReplayCount>, key: string, change: Flip['change']): void => {
    const c = into[key] ??= { allowToDeny: 0, denyToAllow: 0, rowsChanged: 0 }
    if (change === 'allow→deny') c.allowToDeny++
    else if (change === 'deny→allow') c.denyToAllow++
    else c.rowsChanged++
  }
  for (const l of lines) {
    let event: unknown
    try {
      event = JSON.parse(l.text)
    } catch {
      report.unreplayable.push({ log: l.file, line: l.line, decision_id: null, reason: 'the line is not JSON' })
      continue
    }
    if (!isObj(event)) {
      report.unreplayable.push({ log: l.file, line: l.line, decision_id: null, reason: 'the line is not a decision-log event (not a JSON object)' })
      continue
    }
    const id = typeof event.decision_id === 'string' ? event.decision_id : null
    const input = replayableInput(event)
    if (typeof input === 'string') {
      report.unreplayable.push({ log: l.file, line: l.line, decision_id: id, reason: input })
      continue
    }
    let b: PolicyResult
    let h: PolicyResult
    try {
      b = base.revision.policy.evaluate(input)
      h = head.revision.policy.evaluate(input)
    } catch (err) {
      report.unreplayable.push({ log: l.file, line: l.line, decision_id: id, reason: `evaluation failed: ${(err as Error).message}` })
      continue
    }
    report.replayed++
    const recorded = isObj(event.result) ? event.result : {}
    const recordedRows = isObj(recorded.rows) ? { kind: recorded.rows.kind, ...(recorded.rows.filter !== undefined ? { filter: recorded.rows.filter } : {}) } : null
    if (recorded.allow !== b.allow || (b.allow && input.resource === undefined && JSON.stringify(recordedRows) !== JSON.stringify(b.rows))) {
      report.recordedDiffers++
    }

    let change: Flip['change'] | null = null
    if (b.allow && !h.allow) change = 'allow→deny'
    else if (!b.allow && h.allow) change = 'deny→allow'
    // Rows are the answer of a collection read. An allowed single record also
    // carries the caller's scope, but its answer is the allow, compared above.
    else if (b.allow && h.allow && input.resource === undefined && !sameRows(b, h)) change = 'rows'
    if (change === null) continue

    const endpoint = `${input.endpoint.module}/${input.endpoint.resource}`
    const [side, result] = change === 'allow→deny' ? [base, b] : [head, h]
    const account = result.principal?.id ?? input.principal.erp_user
    let roles = grantingRoles(side.model, account, endpoint, input.action)
    if (roles.length === 0 && account !== undefined) roles = assignedRoles(side.model, account)
    if (roles.length === 0) roles = ['(no role)']
    let baseText = text(b)
    let headText = text(h)
    if (change === 'rows') {
      const delta = compareScopes(readScope(b.rows, objectOf(base.model, input)), readScope(h.rows, objectOf(head.model, input)))
      if (delta.gained.length > 0) report.rowsWidened++
      if (delta.lost.length > 0) report.rowsNarrowed++
      baseText = `rows: ${describeScope(readScope(b.rows, objectOf(base.model, input)))}`
      headText = `rows: ${describeScope(readScope(h.rows, objectOf(head.model, input)))}`
    }
    report.flips.push({
      log: l.file, line: l.line, decision_id: id, principal: account ?? '(unresolved)', endpoint, record: recordOf(input, side.model), action: input.action, roles, change, base: baseText, head: headText
    })
    count(report.byEndpoint, endpoint, change)
    for (const role of roles) count(report.byRole, role, change)
  }
  return report
}
