#!/usr/bin/env node
// tap 21 can only demand 100% coverage or nothing; Verdict's threshold is set here,
// on purpose, and checked against the summary tap writes (.tap/report, reporter
// json-summary in the tap config). Lines and statements must stay at or above 90%,
// branches at or above 80%: the remaining lines are defensive paths (I/O failures,
// impossible states) we choose not to fake.
import { readFileSync } from 'node:fs'

const THRESHOLDS = { lines: 90, statements: 90, branches: 80, functions: 85 }
const summaryFile = new URL('../.tap/report/coverage-summary.json', import.meta.url)

let total
try {
  total = JSON.parse(readFileSync(summaryFile, 'utf8')).total
} catch (err) {
  console.error(`check-coverage: no coverage summary (${err.message}); run the tap suite first`)
  process.exit(1)
}

let failed = false
for (const [metric, minimum] of Object.entries(THRESHOLDS)) {
  const pct = total[metric]?.pct ?? 0
  const ok = pct >= minimum
  if (!ok) failed = true
  console.log(`coverage ${metric}: ${pct}% (minimum ${minimum}%)${ok ? '' : '  <- below the threshold'}`)
}
process.exit(failed ? 1 : 0)
