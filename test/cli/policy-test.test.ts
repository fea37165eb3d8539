// `verdict test` on small policy directories written now, one per way a policy
// change can fail: formatting, a failing unit test, the coverage gate, a built-in
// the WASM runtime lacks, the Rego lint. Each stops with exit 1 and says what to
// fix; a good directory passes every step.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { run } from '../../src/cli/policy-test.js'
import { runOpa } from '../../src/toolchain/opa-cli.js'
import { capture, tempDir } from '../engine/helpers.js'

const POLICY = `# METADATA
# description: A small fixture package.
package fixture

# METADATA
# description: The decision.
decision := {"allow": allow}

# METADATA
# description: Only admins are allowed.
default allow := false

allow if input.role == "admin"
`

const TESTS = `package fixture_test

import data.fixture

test_admin if fixture.allow with input as {"role": "admin"}

test_guest if not fixture.allow with input as {"role": "guest"}

test_decision if fixture.decision == {"allow": false}
`

/** A policy directory with fixture/decision.rego and its test, formatted by opa fmt unless told not to. */
async function policies (t: Parameters<typeof tempDir>[0], policy = POLICY, tests = TESTS, format = true): Promise<string> {
  const root = join(await tempDir(t, 'verdict-policy-test-'), 'policies')
  await mkdir(join(root, 'fixture'), { recursive: true })
  await writeFile(join(root, 'fixture', 'decision.rego'), policy)
  await writeFile(join(root, 'fixture', 'decision_test.rego'), tests)
  if (format) await runOpa(['fmt', '-w', root])
  return root
}

const common = ['--entrypoint', 'fixture/decision', '--timeout', '30s']

t.test('a good policy directory passes every step', async (t) => {
  const dir = await policies(t)
  const r = await capture(run, [dir, ...common])
  t.equal(r.code, 0, r.stderr)
  for (const line of [/all files formatted/, /opa test: 3 passed, 0 failed/, /policy files: 100\.00% \(\d+\/\d+ lines\)/, /lint-rego: 2 files OK/, /verdict test: all checks passed/]) {
    t.match(r.stdout, line)
  }
})

t.test('each failing step: exit 1 and what to fix', async (t) => {
  const cases: Array<[string, () => Promise<string>, string[], RegExp, RegExp?]> = [
    ['unformatted', () => policies(t, POLICY.replace('decision := {"allow": allow}', 'decision:={"allow":allow}'), TESTS, false), [],
      /these files need formatting .*\n\s+.*decision\.rego/],
    ['a failing unit test', () => policies(t, POLICY, TESTS.replace('not fixture.allow', 'fixture.allow')), [],
      /1 policy test\(s\) failed/, /FAIL: data\.fixture_test\.test_guest \(.*decision_test\.rego:7\)/],
    ['below the coverage gate', () => policies(t, POLICY + '\n# METADATA\n# description: Never tested.\nbanned if input.role == "banned"\n'), ['--min-coverage', '100'],
      /coverage \d+\.\d\d% is below 100%/, /not covered:\n\s+.*decision\.rego \([\d.]+%\): lines 17/],
    ['a built-in the WASM runtime lacks', () => policies(t, POLICY.replace('allow if input.role == "admin"', 'allow if {\n\tinput.role == "admin"\n\ttime.now_ns() > 0\n}')), [],
      /built-ins the WASM runtime does not implement: time\.now_ns/],
    ['a Rego lint violation (no METADATA on a public rule)', () => policies(t, POLICY.replace('# METADATA\n# description: The decision.\n', '')), [],
      /the Rego lint found violations/, /metadata: public rule fixture\.decision has no METADATA/]
  ]
  for (const [name, make, args, message, output] of cases) {
    const dir = await make()
    const r = await capture(run, ['--policies', dir, ...common, ...args])
    t.equal(r.code, 1, name)
    t.match(r.stderr, message, name)
    if (output) t.match(r.stdout + r.stderr, output, name)
  }
})

t.test('--skip-lint leaves the lint out', async (t) => {
  const dir = await policies(t, POLICY.replace('# METADATA\n# description: The decision.\n', ''))
  const r = await capture(run, [dir, ...common, '--skip-lint'])
  t.equal(r.code, 0, r.stderr)
  t.notMatch(r.stdout, /Rego lint/)
})

t.test('usage', async (t) => {
  const help = await capture(run, ['--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /usage: verdict test/)
  for (const args of [['a', 'b'], ['--min-coverage', 'lots'], ['--min-coverage', '101'], ['--policies', 'a', 'b'], ['--bogus']]) {
    const r = await capture(run, args)
    t.equal(r.code, 2, args.join(' '))
  }
  const missing = await capture(run, ['/nonexistent/policies'])
  t.equal(missing.code, 2, 'a directory OPA cannot read is an operational error')
})
