// The interop scenario policy sets pass the same checks as policies/ in
// `npm run test:policies` (src/toolchain/policy-checks.ts): formatted, strict
// check, their own Rego tests, full coverage of the policy files, the WASM build
// of the authzen/decision entrypoint, and the Rego lint (package = folder,
// x_test.rego beside x.rego, METADATA on packages and public rules).
import t from 'tap'
import { checkPolicies, lintRego, policyCoverage, runPolicyTests, unformattedFiles, wasmBuildProblem } from '../../src/toolchain/policy-checks.js'
import { scenarioDir } from './harness.js'

for (const name of ['todo', 'gateway', 'search'] as const) {
  t.test(`examples/authzen/${name}`, async (t) => {
    const dir = scenarioDir(name)
    t.same(await unformattedFiles(dir), [], 'opa fmt')
    t.same(await checkPolicies(dir, { includeTests: true }), [], 'opa check --strict')
    const tests = await runPolicyTests(dir, '60s')
    t.same(tests.failed, [], 'opa test')
    t.ok(tests.passed >= 5, `${tests.passed} Rego tests pass`)
    const cov = await policyCoverage(dir, '60s')
    t.equal(cov.percent, 100, `coverage of the policy files (${cov.gaps.join(', ') || 'no gaps'})`)
    t.equal(await wasmBuildProblem(dir, 'authzen/decision'), undefined, 'the WASM build')
    const lint = await lintRego(dir)
    t.ok(lint.ok, lint.output)
  })
}
