#!/usr/bin/env node
// Policy checks for policies/, in the order a security team fixes them:
//   1. opa fmt --list          every file formatted
//   2. opa check --strict      compiles, OPA 1.0 syntax, strict checks
//   3. opa test                unit tests (prints pass/fail counts)
//   4. opa test --coverage     coverage of the policy files >= 90 %
//   5. opa build -t wasm       with the WASM runtime's capabilities, so a call
//                              to a built-in @open-policy-agent/opa-wasm lacks
//                              fails here instead of at evaluation time
// Exits 1 on the first failing step, with a message saying what to fix.
//
// Usage: node scripts/test-policies.mjs [policies-dir]
// OPA binary: $OPA_BIN, else .tools/bin/opa in the repository (npm install).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const MIN_COVERAGE = 90
const ENTRYPOINT = 'verdict/decision'
// Per-test timeout (OPA's default is 5s). The row-filter agreement tests evaluate
// thousands of rows, and coverage tracing makes them several times slower.
const TEST_TIMEOUT = '120s'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const policies = resolve(process.argv[2] ?? join(repo, 'policies'))
// Written by scripts/setup-opa.mjs (npm install): opa-wasm's built-ins list plus
// the parser features OPA 1.x needs. The engine's compiler uses the same file.
const wasmCapabilities = join(repo, '.tools', 'wasm-capabilities.json')
const rel = (p) => relative(process.cwd(), p) || '.'

function opaBinary () {
  if (process.env.OPA_BIN) return process.env.OPA_BIN
  const local = join(repo, '.tools', 'bin', 'opa')
  if (existsSync(local)) return local
  fail(`no OPA binary: OPA_BIN is unset and ${rel(local)} is missing. Run \`npm install\` (it builds the pinned OPA).`)
}

function fail (message) {
  console.error(`\ntest-policies: FAILED: ${message}`)
  process.exit(1)
}

const opa = opaBinary()

function run (args) {
  const r = spawnSync(opa, args, { encoding: 'utf8', maxBuffer: 256 << 20 })
  if (r.error) fail(`cannot run ${opa}: ${r.error.message}. Run \`npm install\` (or set OPA_BIN).`)
  return r
}

function step (title) {
  console.log(`\n== ${title}`)
}

// 1. formatting
step('opa fmt --list')
{
  const r = run(['fmt', '--list', policies])
  if (r.status !== 0) fail(`opa fmt failed:\n${r.stderr}`)
  const unformatted = r.stdout.split('\n').filter(Boolean)
  if (unformatted.length > 0) {
    fail(`these files need formatting (run \`${rel(opa)} fmt -w ${rel(policies)}\`):\n  ${unformatted.map(rel).join('\n  ')}`)
  }
  console.log('all files formatted')
}

// 2. compile, strict
step('opa check --strict')
{
  const r = run(['check', '--strict', policies])
  if (r.status !== 0) fail(`opa check --strict:\n${r.stdout}${r.stderr}`)
  console.log('ok')
}

// 3. tests
step('opa test')
{
  const r = run(['test', '--timeout', TEST_TIMEOUT, '--format', 'json', policies])
  let results
  try {
    results = JSON.parse(r.stdout)
  } catch {
    fail(`opa test did not run:\n${r.stdout}${r.stderr}`)
  }
  const failed = results.filter((t) => t.fail || t.error)
  const skipped = results.filter((t) => t.skip)
  const passed = results.length - failed.length - skipped.length
  for (const t of failed) {
    const why = t.error ? `ERROR ${t.error.message ?? JSON.stringify(t.error)}` : 'FAIL'
    console.log(`  ${why}: ${t.package}.${t.name} (${t.location?.file ? rel(t.location.file) : '?'}:${t.location?.row ?? '?'})`)
  }
  console.log(`opa test: ${passed} passed, ${failed.length} failed${skipped.length ? `, ${skipped.length} skipped` : ''}`)
  if (failed.length > 0 || r.status !== 0) fail(`${failed.length} policy test(s) failed`)
}

// 4. coverage: gate on the policy files (test files are always ~100 % and
// would inflate the total); OPA's own total is printed too.
step(`opa test --coverage (minimum ${MIN_COVERAGE}%)`)
{
  const r = run(['test', '--timeout', TEST_TIMEOUT, '--coverage', '--format', 'json', policies])
  let report
  try {
    report = JSON.parse(r.stdout)
  } catch {
    fail(`opa test --coverage did not run:\n${r.stdout}${r.stderr}`)
  }
  let covered = 0
  let total = 0
  const gaps = []
  for (const [file, c] of Object.entries(report.files ?? {})) {
    if (file.endsWith('_test.rego')) continue
    const notCovered = c.not_covered ?? []
    const missed = c.not_covered_lines ?? notCovered.reduce((n, x) => n + x.end.row - x.start.row + 1, 0)
    covered += c.covered_lines ?? 0
    total += (c.covered_lines ?? 0) + missed
    if (notCovered.length > 0) {
      const lines = notCovered.map((x) => x.start.row === x.end.row ? `${x.start.row}` : `${x.start.row}-${x.end.row}`)
      gaps.push(`  ${rel(file)} (${(c.coverage ?? 0).toFixed(1)}%): lines ${[...new Set(lines)].join(', ')}`)
    }
  }
  const pct = total === 0 ? 0 : (100 * covered) / total
  console.log(`policy files: ${pct.toFixed(2)}% (${covered}/${total} lines); OPA total incl. tests: ${Number(report.coverage ?? 0).toFixed(2)}%`)
  if (gaps.length > 0) console.log(`not covered:\n${gaps.join('\n')}`)
  if (pct < MIN_COVERAGE) {
    fail(`coverage ${pct.toFixed(2)}% is below ${MIN_COVERAGE}%: add tests for the lines listed above`)
  }
}

// 5. WASM build with the opa-wasm runtime's capabilities, exactly as the engine
// builds it (tests left out of the bundle).
step(`opa build -t wasm -e ${ENTRYPOINT} --capabilities .tools/wasm-capabilities.json`)
{
  if (!existsSync(wasmCapabilities)) fail(`${rel(wasmCapabilities)} is missing: run \`npm install\``)
  const tmp = mkdtempSync(join(tmpdir(), 'verdict-wasm-'))
  try {
    const out = join(tmp, 'bundle.tar.gz')
    const r = run(['build', '-t', 'wasm', '-e', ENTRYPOINT, '--capabilities', wasmCapabilities,
      '--ignore', '*_test.rego', '-o', out, policies])
    if (r.status !== 0) {
      const text = `${r.stdout}${r.stderr}`
      const missing = [...text.matchAll(/undefined function ([\w.]+)/g)].map((m) => m[1])
      if (missing.length > 0) {
        fail(`the policies call built-ins the WASM runtime does not implement: ${[...new Set(missing)].join(', ')}\n` +
          `(pass such values in the input instead, e.g. the current time or verified token claims)\n${text}`)
      }
      fail(`opa build -t wasm:\n${text}`)
    }
    console.log('ok')
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

console.log('\ntest-policies: all checks passed')
