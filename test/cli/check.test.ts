// `verdict check`: opa check --strict over every file, then the WASM build Verdict
// serves. Errors come out as file:line:col: code: message; exit 1 when the
// policies do not compile, 2 for bad usage.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { run } from '../../src/cli/check.js'
import { POLICY_DIR } from '../helpers/app.js'
import { capture, copyPolicies } from '../engine/helpers.js'

t.test('the example policies check', async (t) => {
  const r = await capture(run, ['--policies', POLICY_DIR])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /compiles \(opa check --strict, WASM build of verdict\/decision\)/)
})

t.test('what fails, with file and line', async (t) => {
  const cases: Array<[string, string, string, RegExp[]]> = [
    ['a syntax error', 'broken.rego', 'package verdict.broken\n\nx := {\n', [/broken\.rego:4(:\d+)?: rego_parse_error: /]],
    ['a strict-mode error (unused argument)', 'broken.rego', 'package verdict.broken\n\nf(x) := 1\n', [/broken\.rego:3:1: rego_compile_error: unused argument x/]],
    ['a broken test file (tests are checked too)', 'decision_test.rego', 'package verdict_test\n\ntest_x if {\n', [/decision_test\.rego:4(:\d+)?: rego_parse_error/]]
  ]
  for (const [name, file, text, messages] of cases) {
    const policies = await copyPolicies(t)
    await writeFile(join(policies, 'verdict', file), text)
    const r = await capture(run, ['--policies', policies])
    t.equal(r.code, 1, name)
    for (const m of messages) t.match(r.stderr, m, name)
    t.match(r.stderr, `${join(policies, 'verdict', file)}:`, `${name}: the path as given`)
  }
})

t.test('a built-in the WASM runtime lacks: the WASM build fails, with a hint', async (t) => {
  const fixture = new URL('../fixtures/wasm-unsupported', import.meta.url).pathname
  const r = await capture(run, ['--policies', fixture, '--entrypoint', 'fixture/decision'])
  t.equal(r.code, 1)
  t.match(r.stderr, /fixture\/decision\.rego:\d+: rego_type_error: undefined function time\.now_ns/)
  t.match(r.stderr, /built-ins the WASM runtime does not implement: time\.now_ns/)
})

t.test('an entrypoint the policies do not have', async (t) => {
  const r = await capture(run, ['--policies', POLICY_DIR, '--entrypoint', 'verdict/nothing'])
  t.equal(r.code, 1)
  t.match(r.stderr, /WASM build of .* failed/)
})

t.test('usage', async (t) => {
  const help = await capture(run, ['-h'])
  t.equal(help.code, 0)
  t.match(help.stdout, /usage: verdict check/)
  const bad = await capture(run, ['--strict'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /Unknown option '--strict'/)
  const missing = await capture(run, ['--policies', '/nonexistent/policies'])
  t.equal(missing.code, 2, 'a directory that does not exist is an operational error')
  t.match(missing.stderr, /verdict check: \/nonexistent\/policies does not exist/)
})
