// The report as Markdown for a pull-request comment (GitHub-flavoured tables).
// Every value from data is escaped for a table cell: account names such as
// ACME||SVC_PAYROLL carry pipes, and a comment must not render data as HTML.
import type { Flip, RecordChange, Report, RevisionInfo, ScopeChange, RightChange, Summary } from './report.js'

const MAX_ROWS = 100

function cell (value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/\r?\n/g, ' ').replace(/`/g, '\\`')
}

const code = (value: string): string => value === '' ? '' : `\`${value.replace(/`/g, "'").replace(/\|/g, '\\|')}\``
const list = (values: string[]): string => values.map(cell).join(', ')

function table (head: string[], rows: string[][], more = 0): string {
  if (rows.length === 0) return '_none_\n'
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.slice(0, MAX_ROWS).map((r) => `| ${r.join(' | ')} |`)]
  const hidden = Math.max(rows.length - MAX_ROWS, 0) + more
  if (hidden > 0) lines.push('', `… and ${hidden} more: see \`--format json\` or \`--format html\`.`)
  return lines.join('\n') + '\n'
}

function fence (text: string, lang: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length))
  const f = '`'.repeat(longest + 1)
  return `${f}${lang}\n${text.replace(/\n$/, '')}\n${f}`
}

export function summaryRows (s: Summary, report: Report): Array<[string, number]> {
  const rows: Array<[string, number]> = []
  if (report.access) {
    rows.push(['rights granted', s.rightsGranted], ['rights revoked', s.rightsRevoked],
      ['job scope gained', s.scopeGained], ['job scope lost', s.scopeLost],
      ['single-record access gained', s.recordsGained], ['single-record access lost', s.recordsLost],
      ['other decisions changed', s.decisionsChanged],
      ['principals added', s.principalsAdded], ['principals removed', s.principalsRemoved],
      ['principals changed', s.principalsChanged], ['client mappings changed', s.clientMappingsChanged],
      ['roles added', s.rolesAdded], ['roles removed', s.rolesRemoved],
      ['role rights added', s.roleRightsAdded], ['role rights removed', s.roleRightsRemoved])
  }
  if (report.replay) {
    rows.push(['replayed decisions that flip allow→deny', s.replayAllowToDeny], ['replayed decisions that flip deny→allow', s.replayDenyToAllow],
      ['replayed decisions whose rows change', s.replayRowsChanged], ['log events not replayable', s.replayUnreplayable])
  }
  rows.push(['not covered by the enumeration', s.notCovered])
  return rows
}

const rightRow = (r: RightChange): string[] =>
  [cell(r.principal), code(r.endpoint), r.action, r.roles.length > 0 ? list(r.roles) : '_no role data grants it_', list(r.via), r.rows === null ? '' : cell(r.rows)]
const scopeRow = (s: ScopeChange): string[] =>
  [cell(s.principal), code(s.endpoint), s.action, s.company === null ? '' : code(s.company), cell(s.scope), cell(s.keeps), list(s.via)]
const recordRow = (r: RecordChange): string[] =>
  [cell(r.principal), code(r.endpoint), r.action, code(r.company), cell(r.scope), cell(r.keeps), list(r.roles), list(r.via)]

/** "company 01, job 23-410, id 7" for a record, "collection" without one. */
export function recordLabel (record: Flip['record']): string {
  if (record === null) return 'collection'
  const bits = [`company ${record.company ?? '(none)'}`, `job ${record.job ?? '(none)'}`]
  if (record.id !== null) bits.push(`id ${record.id}`)
  return bits.join(', ')
}

/** "`main` 1a2b3c4d5e6f “subject” by author", or "`working tree`"; `label` and `text` escape for the target format. */
export function revisionLine (r: RevisionInfo, label: (v: string) => string, text: (v: string) => string): string {
  if (r.commit === null) return label(r.label)
  const subject = r.subject ? ` “${text(r.subject)}”` : ''
  const author = r.author ? ` by ${text(r.author)}` : ''
  return `${label(r.label)} ${r.commit.slice(0, 12)}${subject}${author}`
}

export function renderMarkdown (report: Report): string {
  const s = report.summary
  const out: string[] = []
  const title = report.command === 'diff' ? 'What this policy change does' : 'Decision log replay'
  out.push(`## Verdict: ${title}`, '')
  out.push(`- Base: ${revisionLine(report.base, code, cell)}`, `- Head: ${revisionLine(report.head, code, cell)}`, '')
  out.push(s.changed ? '**Access changes.** Review the tables below.' : '**No change in access.**', '')
  out.push(table(['', 'count'], summaryRows(s, report).map(([k, v]) => [k, String(v)])))

  const a = report.access
  if (a) {
    out.push(`Evaluated ${a.space.evaluations} decisions: ${a.space.routes} credential routes to ${a.space.accounts} accounts × ${a.space.endpoints} endpoints × ${a.space.actions} actions, and the row scope of every collection read; and ${a.space.recordEvaluations} single-record decisions (${a.space.records} records × the routes × the actions).`, '')
    out.push(`### Rights granted (${a.rights.granted.length})`, '', table(['principal', 'endpoint', 'action', 'granted by', 'via', 'rows'], a.rights.granted.map(rightRow)))
    out.push(`### Rights revoked (${a.rights.revoked.length})`, '', table(['principal', 'endpoint', 'action', 'was granted by', 'via', 'rows'], a.rights.revoked.map(rightRow)))
    out.push(`### Job scope gained (${a.scope.gained.length})`, '', 'Collection reads, from the row filter.', '', table(['principal', 'endpoint', 'action', 'company', 'gains', 'keeps', 'via'], a.scope.gained.map(scopeRow)))
    out.push(`### Job scope lost (${a.scope.lost.length})`, '', 'Collection reads, from the row filter.', '', table(['principal', 'endpoint', 'action', 'company', 'loses', 'keeps', 'via'], a.scope.lost.map(scopeRow)))
    out.push(`### Single-record access gained (${a.records.gained.length})`, '', 'One record per request (every action), where the endpoint right is held before and after.', '',
      table(['principal', 'endpoint', 'action', 'company', 'gains', 'keeps', 'role', 'via'], a.records.gained.map(recordRow)))
    out.push(`### Single-record access lost (${a.records.lost.length})`, '', table(['principal', 'endpoint', 'action', 'company', 'loses', 'keeps', 'role', 'via'], a.records.lost.map(recordRow)))
    if (a.decisions.length > 0) {
      out.push(`### Other decisions changed (${a.decisions.length})`, '', table(['principal', 'endpoint', 'action', 'base', 'head', 'via'],
        a.decisions.map((d) => [cell(d.principal), code(d.endpoint), d.action, cell(d.base), cell(d.head), list(d.via)])))
    }
    const p = a.principals
    out.push('### Principals', '')
    out.push(table(['change', 'principal', 'kind', 'identity providers', 'roles'], [
      ...p.added.map((e) => ['added', cell(e.id), cell(e.kind), e.idps === null ? '(any)' : list(e.idps), list(e.roles)]),
      ...p.removed.map((e) => ['removed', cell(e.id), cell(e.kind), e.idps === null ? '(any)' : list(e.idps), list(e.roles)]),
      ...p.changed.map((c) => ['changed', cell(c.id), '', '', list(c.changes)])
    ]))
    if (p.clients.length > 0) {
      out.push('Client mappings:', '', table(['identity provider', 'client', 'base', 'head'],
        p.clients.map((c) => [cell(c.idp), cell(c.client), c.base === null ? '' : cell(c.base), c.head === null ? '' : cell(c.head)])))
    }
    out.push('### Roles', '')
    if (a.roles.added.length > 0) out.push(`Roles added: ${list(a.roles.added)}`, '')
    if (a.roles.removed.length > 0) out.push(`Roles removed: ${list(a.roles.removed)}`, '')
    out.push(table(['change', 'role', 'endpoint', 'action'], [
      ...a.roles.rightsAdded.map((r) => ['added', cell(r.role), code(r.endpoint), cell(r.action)]),
      ...a.roles.rightsRemoved.map((r) => ['removed', cell(r.role), code(r.endpoint), cell(r.action)])
    ]))
  }

  const r = report.replay
  if (r) {
    out.push(`### Replay of ${r.events} logged decisions`, '')
    out.push(`${r.replayed} replayed under base and head; ${r.unreplayable.length} not replayable; ${r.recordedDiffers} recorded results differ from the base revision's (the log came from another policy revision).`, '')
    out.push(table(['account', 'endpoint', 'record', 'action', 'change', 'roles', 'base', 'head', 'event'], r.flips.map((f) => [
      cell(f.principal), code(f.endpoint), cell(recordLabel(f.record)), f.action, f.change, list(f.roles), cell(f.base), cell(f.head), `${cell(f.decision_id ?? '')} (${cell(f.log)}:${f.line})`
    ])))
    const counts = (title: string, rec: Record<string, { allowToDeny: number, denyToAllow: number, rowsChanged: number }>): void => {
      out.push(title, '', table(['', 'allow→deny', 'deny→allow', 'rows changed'],
        Object.entries(rec).sort(([x], [y]) => x.localeCompare(y)).map(([k, c]) => [cell(k), String(c.allowToDeny), String(c.denyToAllow), String(c.rowsChanged)])))
    }
    counts('Per endpoint:', r.byEndpoint)
    counts('Per role:', r.byRole)
    out.push('Not replayable:', '', table(['event', 'why'], r.unreplayable.map((u) => [`${cell(u.decision_id ?? '')} (${cell(u.log)}:${u.line})`, cell(u.reason)])))
  }

  out.push(`### Not covered (${report.notCovered.length})`, '')
  out.push(table(['what', 'why'], report.notCovered.map((n) => [cell(n.item), cell(n.reason)])))
  if (report.limits.length > 0) out.push('Limits of the enumeration:', '', ...report.limits.map((l) => `- ${l}`), '')
  out.push('### Policy text diff', '')
  if (report.textDiff === '') out.push('_The policy text is identical._', '')
  else out.push('<details><summary>git diff of the policies</summary>', '', fence(report.textDiff, 'diff'), '', '</details>', '')
  return out.join('\n').replace(/\n*$/, '\n')
}
