// Number formats and the markdown tables the benchmark prints (and writes with --markdown).

export const fmtRate = (n) => Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—'
export const fmtMs = (n) => Number.isFinite(n) ? (n < 1 ? n.toFixed(3) : n < 100 ? n.toFixed(2) : Math.round(n).toLocaleString('en-US')) : '—'
export const fmtRatio = (a, b) => Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}` : '—'
export const fmtBytes = (n) => !Number.isFinite(n) ? '—' : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`
export const fmtSeconds = (ms) => Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : '—'

/** Median of the finite numbers (NaN when there are none). */
export function median (values) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** A markdown table, columns padded; numbers (all but the first column) right-aligned. */
export function table (header, rows) {
  const all = [header, ...rows]
  const widths = header.map((_, c) => Math.max(3, ...all.map((r) => String(r[c]).length)))
  const line = (r) => '| ' + r.map((cell, c) => c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c])).join(' | ') + ' |'
  const rule = '|' + widths.map((w, c) => c === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':').join('|') + '|'
  return [line(header), rule, ...rows.map(line)].join('\n')
}
