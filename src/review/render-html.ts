// The report as one self-contained HTML page for an auditor's browser: inline
// CSS, no script, no external asset, nothing fetched. Every value from policy data
// or a log goes through esc(), so data cannot become markup.
import type { MatrixCell, RecordChange, Report, RightChange, ScopeChange } from './report.js'
import { recordLabel, revisionLine, summaryRows } from './render-markdown.js'
import { ACTIONS } from './space.js'

export function esc (value: unknown): string {
  return String(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;').replace(/'/g, '&#39;')
}

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d1d1f;max-width:1400px}
.scroll{max-width:100%;overflow:auto;max-height:80vh;margin:.5rem 0 1rem}.scroll>table{margin:0}
.scroll .matrix thead th{position:sticky;top:0;z-index:1}.scroll .matrix tbody th{position:sticky;left:0;background:#f4f4f6}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;vertical-align:top;text-align:left}
th{background:#f4f4f6}code{font-family:ui-monospace,monospace;font-size:.92em}
.verdict{font-weight:600;padding:.5rem .75rem;display:inline-block;border-radius:4px}
.verdict.changed{background:#fff3cd}.verdict.unchanged{background:#e6f4ea}
.added,.granted{background:#e6f4ea;color:#0b6b2b}.removed,.revoked{background:#fde8e8;color:#a01818;text-decoration:line-through}
td.changed{outline:2px solid #d08700;outline-offset:-2px}
.held{color:#555}.matrix td{font-size:.85em;white-space:nowrap}.num{text-align:right}
pre.diff{background:#f6f8fa;padding:.75rem;overflow:auto;font-size:.85em}
pre.diff .add{color:#0b6b2b;background:#e6f4ea;display:block}pre.diff .del{color:#a01818;background:#fde8e8;display:block}
pre.diff .hunk{color:#6f42c1;display:block}
.none{color:#777;font-style:italic}`

// Every table sits in a box that scrolls: a wide matrix or a long account name
// scrolls within the page instead of pushing it sideways.
function table (head: string[], rows: string[][], cls = ''): string {
  if (rows.length === 0) return '<p class="none">none</p>'
  return `<div class="scroll"><table${cls ? ` class="${cls}"` : ''}><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.join('')}</tr>`).join('') + '</tbody></table></div>'
}

const td = (value: unknown, cls = ''): string => `<td${cls ? ` class="${cls}"` : ''}>${esc(value)}</td>`
const tdCode = (value: string): string => `<td><code>${esc(value)}</code></td>`

/** rows × endpoints, each cell the actions; cells with a granted or revoked action are marked. */
function matrix (cells: MatrixCell[], rowTitle: string): string {
  if (cells.length === 0) return '<p class="none">none</p>'
  const rows = [...new Set(cells.map((c) => c.row))].sort()
  const endpoints = [...new Set(cells.map((c) => c.endpoint))].sort()
  const at = new Map(cells.map((c) => [`${c.row}\0${c.endpoint}\0${c.action}`, c]))
  const order = [...ACTIONS, ...new Set(cells.map((c) => c.action).filter((a) => !(ACTIONS as readonly string[]).includes(a)))]
  const body = rows.map((row) => {
    const tds = endpoints.map((ep) => {
      const present = order.map((a) => at.get(`${row}\0${ep}\0${a}`)).filter((c) => c !== undefined)
      const changed = present.some((c) => c.base !== c.head)
      const inner = present.map((c) => {
        if (c.base && c.head) return `<span class="held">${esc(c.action)}</span>`
        if (c.head) return `<ins class="granted" data-change="granted" title="granted">+${esc(c.action)}</ins>`
        return `<del class="revoked" data-change="revoked" title="revoked">−${esc(c.action)}</del>`
      }).join(' ')
      return `<td${changed ? ' class="changed" data-changed="true"' : ''}>${inner}</td>`
    }).join('')
    return `<tr><th scope="row">${esc(row)}</th>${tds}</tr>`
  }).join('')
  return `<div class="scroll"><table class="matrix"><thead><tr><th>${esc(rowTitle)}</th>${endpoints.map((e) => `<th><code>${esc(e)}</code></th>`).join('')}</tr></thead><tbody>${body}</tbody></table></div>`
}

const rightRow = (r: RightChange, cls: string): string[] => [
  td(r.principal, cls), tdCode(r.endpoint), td(r.action, cls), td(r.roles.length > 0 ? r.roles.join(', ') : 'no role data grants it'), td(r.via.join(', ')), td(r.rows ?? '')]
const scopeRow = (s: ScopeChange, cls: string): string[] => [
  td(s.principal), tdCode(s.endpoint), td(s.action), td(s.company ?? ''), td(s.scope, cls), td(s.keeps), td(s.via.join(', '))]
const recordRow = (r: RecordChange, cls: string): string[] => [
  td(r.principal), tdCode(r.endpoint), td(r.action), td(r.company), td(r.scope, cls), td(r.keeps), td(r.roles.join(', ')), td(r.via.join(', '))]

function diffBlock (text: string): string {
  if (text === '') return '<p class="none">The policy text is identical.</p>'
  const lines = text.replace(/\n$/, '').split('\n').map((line) => {
    const cls = line.startsWith('+++') || line.startsWith('---') ? '' : line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : line.startsWith('@@') ? 'hunk' : ''
    return cls ? `<span class="${cls}">${esc(line)}</span>` : esc(line) + '\n'
  })
  return `<pre class="diff">${lines.join('')}</pre>`
}

export function renderHtml (report: Report): string {
  const s = report.summary
  const parts: string[] = []
  const title = report.command === 'diff' ? 'What this policy change does' : 'Decision log replay'
  const rev = (r: Report['base']): string => revisionLine(r, (v) => `<code>${esc(v)}</code>`, esc)
  parts.push(`<h1>Verdict: ${esc(title)}</h1>`, `<ul class="revisions"><li>Base: ${rev(report.base)}</li><li>Head: ${rev(report.head)}</li></ul>`)
  parts.push(`<p class="verdict ${s.changed ? 'changed' : 'unchanged'}">${s.changed ? 'Access changes: review below.' : 'No change in access.'}</p>`)
  parts.push('<h2>Summary</h2>', table(['', 'count'], summaryRows(s, report).map(([k, v]) => [td(k), td(v, 'num')]), 'summary'))

  const a = report.access
  if (a) {
    parts.push(`<p>Evaluated ${a.space.evaluations} decisions: ${a.space.routes} credential routes to ${a.space.accounts} accounts × ${a.space.endpoints} endpoints × ${a.space.actions} actions, and the row scope of every collection read; and ${a.space.recordEvaluations} single-record decisions (${a.space.records} records × the routes × the actions).</p>`)
    parts.push(`<h2>Rights granted (${a.rights.granted.length})</h2>`, table(['principal', 'endpoint', 'action', 'granted by', 'via', 'rows'], a.rights.granted.map((r) => rightRow(r, 'granted'))))
    parts.push(`<h2>Rights revoked (${a.rights.revoked.length})</h2>`, table(['principal', 'endpoint', 'action', 'was granted by', 'via', 'rows'], a.rights.revoked.map((r) => rightRow(r, 'revoked'))))
    parts.push(`<h2>Job scope changes per principal (${a.scope.gained.length} gained, ${a.scope.lost.length} lost)</h2>`)
    const principals = [...new Set([...a.scope.gained, ...a.scope.lost].map((x) => x.principal))].sort()
    if (principals.length === 0) parts.push('<p class="none">none</p>')
    for (const p of principals) {
      parts.push(`<h3>${esc(p)}</h3>`, table(['principal', 'endpoint', 'action', 'company', 'jobs', 'keeps', 'via'], [
        ...a.scope.gained.filter((x) => x.principal === p).map((x) => scopeRow(x, 'added')),
        ...a.scope.lost.filter((x) => x.principal === p).map((x) => scopeRow(x, 'removed'))
      ]))
    }
    parts.push(`<h2>Single-record access (${a.records.gained.length} gained, ${a.records.lost.length} lost)</h2>`,
      table(['principal', 'endpoint', 'action', 'company', 'records', 'keeps', 'role', 'via'], [
        ...a.records.gained.map((x) => recordRow(x, 'added')),
        ...a.records.lost.map((x) => recordRow(x, 'removed'))
      ]))
    if (a.decisions.length > 0) {
      parts.push(`<h2>Other decisions changed (${a.decisions.length})</h2>`, table(['principal', 'endpoint', 'action', 'base', 'head', 'via'],
        a.decisions.map((d) => [td(d.principal), tdCode(d.endpoint), td(d.action), td(d.base), td(d.head), td(d.via.join(', '))])))
    }
    const p = a.principals
    parts.push('<h2>Principals</h2>', table(['change', 'principal', 'kind', 'identity providers', 'roles'], [
      ...p.added.map((e) => [td('added', 'added'), td(e.id, 'added'), td(e.kind), td(e.idps === null ? '(any)' : e.idps.join(', ')), td(e.roles.join(', '))]),
      ...p.removed.map((e) => [td('removed', 'removed'), td(e.id, 'removed'), td(e.kind), td(e.idps === null ? '(any)' : e.idps.join(', ')), td(e.roles.join(', '))]),
      ...p.changed.map((c) => [td('changed'), td(c.id), td(''), td(''), td(c.changes.join('; '))])
    ]))
    if (p.clients.length > 0) {
      parts.push('<h3>Client mappings</h3>', table(['identity provider', 'client', 'base', 'head'],
        p.clients.map((c) => [td(c.idp), td(c.client), td(c.base ?? ''), td(c.head ?? '')])))
    }
    parts.push('<h2>Role × endpoint × action (API role data)</h2>')
    if (a.roles.added.length > 0) parts.push(`<p>Roles added: ${esc(a.roles.added.join(', '))}</p>`)
    if (a.roles.removed.length > 0) parts.push(`<p>Roles removed: ${esc(a.roles.removed.join(', '))}</p>`)
    parts.push(matrix(a.roleMatrix, 'role'))
    parts.push('<h2>Principal × endpoint × action (as evaluated)</h2>', matrix(a.principalMatrix, 'principal'))
  }

  const r = report.replay
  if (r) {
    parts.push(`<h2>Replay of ${r.events} logged decisions</h2>`,
      `<p>${r.replayed} replayed under base and head; ${r.unreplayable.length} not replayable; ${r.recordedDiffers} recorded results differ from the base revision's.</p>`)
    parts.push(table(['account', 'endpoint', 'record', 'action', 'change', 'roles', 'base', 'head', 'event'], r.flips.map((f) => [
      td(f.principal), tdCode(f.endpoint), td(recordLabel(f.record)), td(f.action), td(f.change, f.change === 'deny→allow' ? 'added' : f.change === 'allow→deny' ? 'removed' : ''),
      td(f.roles.join(', ')), td(f.base), td(f.head), td(`${f.decision_id ?? ''} (${f.log}:${f.line})`)])))
    for (const [title, rec] of [['Per endpoint', r.byEndpoint], ['Per role', r.byRole]] as const) {
      parts.push(`<h3>${title}</h3>`, table(['', 'allow→deny', 'deny→allow', 'rows changed'], Object.entries(rec).sort(([x], [y]) => x.localeCompare(y))
        .map(([k, c]) => [td(k), td(c.allowToDeny, 'num'), td(c.denyToAllow, 'num'), td(c.rowsChanged, 'num')])))
    }
    parts.push('<h3>Not replayable</h3>', table(['event', 'why'], r.unreplayable.map((u) => [td(`${u.decision_id ?? ''} (${u.log}:${u.line})`), td(u.reason)])))
  }

  parts.push(`<h2>Not covered (${report.notCovered.length})</h2>`, table(['what', 'why'], report.notCovered.map((n) => [td(n.item), td(n.reason)])))
  if (report.limits.length > 0) parts.push('<h3>Limits of the enumeration</h3>', `<ul>${report.limits.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>`)
  parts.push('<h2>Policy text diff</h2>', diffBlock(report.textDiff))

  return '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">' +
    // No script, no external load: the page works from a file, offline.
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">' +
    `<title>${esc(title)}: ${esc(report.base.label)} → ${esc(report.head.label)}</title><style>${CSS}</style></head><body>\n` +
    parts.join('\n') + '\n</body></html>\n'
}
