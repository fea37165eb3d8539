// `verdict test`: the policy checks in the order a security team fixes them, and
// `npm run test:policies` (scripts/test-policies.mjs runs this command):
//   1. opa fmt --list          every file formatted
//   2. opa check --strict      compiles, OPA 1.0 syntax, strict checks
//   3. opa test                unit tests (pass/fail counts)
//   4. opa test --coverage     coverage of the policy files >= the minimum
//   5. WASM build              as the engine serves it (WASM runtime capabilities)
//   6. Rego lint               scripts/lint-rego.mjs
// Stops at the first failing step with what to fix. Exit 0 when all pass, 1 when
// a step fails, 2 for bad usage or a missing OPA.
import { parseCommandArgs } from './args.js'
import { opaBinary } from '../toolchain/opa-cli.js'
import {
  checkPolicies, formatProblem, lintRego, policyCoverage, runPolicyTests, unformattedFiles, wasmBuildProblem
} from '../toolchain/policy-checks.js'

const USAGE = `usage: verdict test [options] [policies-dir]

Runs the policy checks: opa fmt, opa check --strict, opa test, coverage of the
policy files (test files excluded), the WASM build Verdict serves, the Rego lint.

options:
  --policies <dir>       policy directory (default: policies; or as the argument)
  --entrypoint <path>    WASM entrypoint (default: verdict/decision)
  --min-coverage <pct>   coverage gate for the policy files (default: 90)
  --timeout <duration>   per-test timeout for opa test (default: 120s; the
                         row-filter agreement tests evaluate thousands of rows)
  --skip-lint            leave out the Rego lint
  -h, --help             this text
`

class StepFailed extends Error {}

export async function run (args: string[]): Promise<number> {
  const parsed = parseCommandArgs('test', USAGE, {
    args,
    allowPositionals: true,
    options: {
      policies: { type: 'string' },
      entrypoint: { type: 'string', default: 'verdict/decision' },
      'min-coverage': { type: 'string', default: '90' },
      timeout: { type: 'string', default: '120s' },
      'skip-lint': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (typeof parsed === 'number') return parsed
  const { values, positionals } = parsed
  const minCoverage = Number(values['min-coverage'])
  if (positionals.length > 1 || (positionals.length === 1 && values.policies !== undefined) ||
      !Number.isFinite(minCoverage) || minCoverage < 0 || minCoverage > 100) {
    process.stderr.write(`verdict test: give one policy directory and a coverage between 0 and 100\n\n${USAGE}`)
    return 2
  }
  const dir = values.policies ?? positionals[0] ?? 'policies'
  const out = (line: string): void => { process.stdout.write(line + '\n') }
  const step = (title: string): void => out(`\n== ${title}`)

  try {
    step('opa fmt --list')
    const unformatted = await unformattedFiles(dir)
    if (unformatted.length > 0) {
      throw new StepFailed(`these files need formatting (run \`${opaBinary()} fmt -w ${dir}\`):\n  ${unformatted.join('\n  ')}`)
    }
    out('all files formatted')

    step('opa check --strict')
    const problems = await checkPolicies(dir, { includeTests: true, entrypoint: values.entrypoint })
    if (problems.length > 0) throw new StepFailed(`opa check --strict:\n${problems.map(formatProblem).join('\n')}`)
    out('ok')

    step('opa test')
    const tests = await runPolicyTests(dir, values.timeout)
    for (const f of tests.failed) out(`  ${f.error ? `ERROR ${f.error}` : 'FAIL'}: ${f.name} (${f.location})`)
    out(`opa test: ${tests.passed} passed, ${tests.failed.length} failed${tests.skipped ? `, ${tests.skipped} skipped` : ''}`)
    if (tests.failed.length > 0) throw new StepFailed(`${tests.failed.length} policy test(s) failed`)

    step(`opa test --coverage (minimum ${minCoverage}%)`)
    const cov = await policyCoverage(dir, values.timeout)
    out(`policy files: ${cov.percent.toFixed(2)}% (${cov.covered}/${cov.total} lines); OPA total incl. tests: ${cov.opaTotal.toFixed(2)}%`)
    if (cov.gaps.length > 0) out(`not covered:\n  ${cov.gaps.join('\n  ')}`)
    if (cov.percent < minCoverage) {
      throw new StepFailed(`coverage ${cov.percent.toFixed(2)}% is below ${minCoverage}%: add tests for the lines listed above`)
    }

    step(`WASM build (entrypoint ${values.entrypoint}, WASM runtime capabilities)`)
    const wasm = await wasmBuildProblem(dir, values.entrypoint)
    if (wasm) {
      throw new StepFailed(wasm.missingBuiltins.length > 0
        ? `the policies call built-ins the WASM runtime does not implement: ${wasm.missingBuiltins.join(', ')}\n` +
          `(pass such values in the input instead, e.g. the current time or verified token claims)\n${wasm.message}`
        : `opa build -t wasm:\n${wasm.message}`)
    }
    out('ok')

    if (!values['skip-lint']) {
      step('Rego lint')
      const lint = await lintRego(dir)
      out(lint.output.trimEnd())
      if (!lint.ok) throw new StepFailed('the Rego lint found violations (listed above)')
    }
  } catch (err) {
    if (err instanceof StepFailed) {
      process.stderr.write(`\nverdict test: FAILED: ${err.message}\n`)
      return 1
    }
    process.stderr.write(`\nverdict test: ${(err as Error).message}\n`)
    return 2
  }
  out('\nverdict test: all checks passed')
  return 0
}
