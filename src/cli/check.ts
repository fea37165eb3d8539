// `verdict check`: do the policies compile? `opa check --strict` over every file
// (tests included), then the WASM build the engine serves (with the WASM
// runtime's capabilities). Errors are printed as file:line:col: code: message.
// Exit 0 when both pass, 1 when not, 2 for bad usage or a missing OPA.
import { parseCommandArgs } from './args.js'
import { checkPolicies, formatProblem, wasmBuildProblem } from '../toolchain/policy-checks.js'

const USAGE = `usage: verdict check [options]

Checks that the policies compile: opa check --strict (tests included), then the
WASM build Verdict serves. Prints each error as file:line:col: code: message.

options:
  --policies <dir>     policy directory (default: policies)
  --entrypoint <path>  WASM entrypoint (default: verdict/decision)
  -h, --help           this text
`

export async function run (args: string[]): Promise<number> {
  const parsed = parseCommandArgs('check', USAGE, {
    args,
    options: {
      policies: { type: 'string', default: 'policies' },
      entrypoint: { type: 'string', default: 'verdict/decision' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (typeof parsed === 'number') return parsed
  const { values } = parsed
  try {
    const problems = await checkPolicies(values.policies, { includeTests: true, entrypoint: values.entrypoint })
    if (problems.length > 0) {
      for (const p of problems) process.stderr.write(formatProblem(p) + '\n')
      process.stderr.write(`verdict check: ${problems.length} error(s) in ${values.policies}\n`)
      return 1
    }
    const wasm = await wasmBuildProblem(values.policies, values.entrypoint)
    if (wasm) {
      process.stderr.write(wasm.message + '\n')
      if (wasm.missingBuiltins.length > 0) {
        process.stderr.write(`the policies call built-ins the WASM runtime does not implement: ${wasm.missingBuiltins.join(', ')} ` +
          '(pass such values in the input instead, e.g. the current time or verified token claims)\n')
      }
      process.stderr.write(`verdict check: the WASM build of ${values.policies} failed\n`)
      return 1
    }
  } catch (err) {
    process.stderr.write(`verdict check: ${(err as Error).message}\n`)
    return 2
  }
  process.stdout.write(`verdict check: ${values.policies} compiles (opa check --strict, WASM build of ${values.entrypoint})\n`)
  return 0
}
