// The report for tools: the Report object as it is (src/review/report.ts is the
// documented shape; `format` names its version), two-space indented, one trailing newline.
import type { Report } from './report.js'

export function renderJson (report: Report): string {
  return JSON.stringify(report, null, 2) + '\n'
}
