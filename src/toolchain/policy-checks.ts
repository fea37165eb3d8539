// The checks a security team runs on a policy directory before shipping it, one
// function each, for `verdict check` and `verdict test` (and through them
// `npm run test:policies`): formatting, strict compile, unit tests, coverage of
// the policy files, the WASM build the engine serves, and the Rego lint.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildWasm, isTestFile } from './compiler.js'
import { runOpaExit } from './opa-cli.js'
import { RegoLintError, lintRego as lintRegoFiles, lintReport } from './rego-lint.js'

export { checkPolicies, formatProblem, type PolicyProblem } from './compiler.js'

/** Files `opa fmt` would change (paths as OPA prints them for `dir`). */
export async function unformattedFiles (dir: string): Promise<string[]> {
  const r = await runOpaExit(['fmt', '--list', dir])
  if (r.code !== 0) throw new Error(`opa fmt failed:\n${r.stderr || r.stdout}`)
  return r.stdout.split('\n').filter(Boolean)
}

export interface TestFailure { name: string, location: string, error?: string }
export interface TestReport { passed: number, failed: TestFailure[], skipped: number }

interface OpaTestResult {
  package?: string
  name?: string
  fail?: boolean
  skip?: boolean
  error?: { message?: string }
  location?: { file?: string, row?: number }
}

/** `opa test`: pass/fail counts and each failure with its file and line. */
export async function runPolicyTests (dir: string, timeout: string): Promise<TestReport> {
  const r = await runOpaExit(['test', '--timeout', timeout, '--format', 'json', dir])
  let results: OpaTestResult[]
  try {
    results = JSON.parse(r.stdout) as OpaTestResult[]
  } catch {
    throw new Error(`opa test did not run:\n${r.stdout}${r.stderr}`)
  }
  const failed = results.filter((t) => t.fail || t.error).map((t) => {
    const f: TestFailure = { name: `${t.package ?? '?'}.${t.name ?? '?'}`, location: `${t.location?.file ?? '?'}:${t.location?.row ?? '?'}` }
    if (t.error) f.error = t.error.message ?? JSON.stringify(t.error)
    return f
  })
  const skipped = results.filter((t) => t.skip).length
  if (r.code !== 0 && failed.length === 0) throw new Error(`opa test failed:\n${r.stderr || r.stdout}`)
  return { passed: results.length - failed.length - skipped, failed, skipped }
}

export interface CoverageReport {
  /** Coverage of the policy files alone: test files are always near 100% and would inflate it. */
  percent: number
  covered: number
  total: number
  /** OPA's own figure, test files included. */
  opaTotal: number
  /** `file (pct%): lines a, b-c` for each policy file with uncovered lines. */
  gaps: string[]
}

interface OpaCoverage {
  coverage?: number
  files?: Record<string, {
    coverage?: number
    covered_lines?: number
    not_covered_lines?: number
    not_covered?: Array<{ start: { row: number }, end: { row: number } }>
  }>
}

export async function policyCoverage (dir: string, timeout: string): Promise<CoverageReport> {
  const r = await runOpaExit(['test', '--timeout', timeout, '--coverage', '--format', 'json', dir])
  let report: OpaCoverage
  try {
    report = JSON.parse(r.stdout) as OpaCoverage
  } catch {
    throw new Error(`opa test --coverage did not run:\n${r.stdout}${r.stderr}`)
  }
  let covered = 0
  let total = 0
  const gaps: string[] = []
  for (const [file, c] of Object.entries(report.files ?? {})) {
    if (isTestFile(file)) continue
    const notCovered = c.not_covered ?? []
    const missed = c.not_covered_lines ?? notCovered.reduce((n, x) => n + x.end.row - x.start.row + 1, 0)
    covered += c.covered_lines ?? 0
    total += (c.covered_lines ?? 0) + missed
    if (notCovered.length > 0) {
      const lines = notCovered.map((x) => x.start.row === x.end.row ? `${x.start.row}` : `${x.start.row}-${x.end.row}`)
      gaps.push(`${file} (${(c.coverage ?? 0).toFixed(1)}%): lines ${[...new Set(lines)].join(', ')}`)
    }
  }
  return { percent: total === 0 ? 0 : (100 * covered) / total, covered, total, opaTotal: Number(report.coverage ?? 0), gaps }
}

export interface WasmBuildProblem {
  message: string
  /** Built-ins the policies call that the WASM runtime lacks. */
  missingBuiltins: string[]
}

/** Builds the served WASM bundle and throws it away: undefined when it builds, else why not. */
export async function wasmBuildProblem (dir: string, entrypoint: string): Promise<WasmBuildProblem | undefined> {
  const tmp = await mkdtemp(join(tmpdir(), 'verdict-wasm-'))
  try {
    await buildWasm(dir, entrypoint, join(tmp, 'bundle.tar.gz'))
    return undefined
  } catch (err) {
    const message = (err as Error).message
    const missingBuiltins = [...new Set([...message.matchAll(/undefined function ([\w.]+)/g)].map((m) => m[1] as string))]
    return { message, missingBuiltins }
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}

/** The Rego lint (rego-lint.ts: package paths, test placement, METADATA, imports), in this process. */
export async function lintRego (dir: string): Promise<{ ok: boolean, output: string }> {
  try {
    return lintReport(dir, lintRegoFiles(dir))
  } catch (err) {
    if (err instanceof RegoLintError) return { ok: false, output: `lint-rego: ${err.message}\n` }
    throw err
  }
}
