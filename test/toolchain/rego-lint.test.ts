// The Rego lint (src/toolchain/rego-lint.ts), rule by rule, on small policy trees
// written here and parsed by the real OPA: each rule reports its violation with
// file and line, a clean tree passes, and a missing OPA is an error, not a pass.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import t from 'tap'
import { RegoLintError, lintRego, lintReport } from '../../src/toolchain/rego-lint.js'

const root = mkdtempSync(join(tmpdir(), 'verdict-rego-lint-'))
t.teardown(() => rmSync(root, { recursive: true, force: true }))

const GOOD = `# METADATA
# description: A package.
package app.api

# METADATA
# description: A rule.
allow if input.ok

_helper := 1
`
const GOOD_TEST = `package app.api_test

import data.app.api

test_allow if api.allow with input as {"ok": true}
`

let n = 0
function tree (files: Record<string, string>): string {
  const dir = join(root, `t${n++}`)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  return dir
}

const violations = (dir: string): string[] => lintRego(dir).violations.map((v) => v.replace(relative(process.cwd(), dir) + '/', ''))

t.test('a clean tree passes', async (t) => {
  const dir = tree({ 'app/api/api.rego': GOOD, 'app/api/api_test.rego': GOOD_TEST })
  const result = lintRego(dir)
  t.same(result, { violations: [], files: 2 })
  t.same(lintReport(dir, result), { ok: true, output: 'lint-rego: 2 files OK\n' })
})

t.test('each rule reports its violation with file and line', async (t) => {
  t.same(violations(tree({ 'app/web/api.rego': GOOD })), ['app/web/api.rego:3: package-path: package app.api should be app.web (its folder)'])
  t.same(violations(tree({ 'top.rego': GOOD })), ['top.rego:3: package-path: Rego files belong in a folder under policies/ that names their package'])
  t.same(violations(tree({ 'app/api/api.rego': GOOD, 'app/api/other_test.rego': GOOD_TEST })),
    ["app/api/other_test.rego:1: test-placement: other_test.rego has no other.rego beside it (nor is it a tenant's test beside its data)"])
  t.same(violations(tree({ 'app/api/api.rego': GOOD, 'app/api/api_test.rego': GOOD_TEST.replace('app.api_test', 'app.apitests') })),
    ['app/api/api_test.rego:1: test-placement: test package app.apitests should be app.api_test'])
  t.same(violations(tree({ 'app/api/api.rego': GOOD.replace('# METADATA\n# description: A rule.\n', '') })),
    ['app/api/api.rego:5: metadata: public rule app.api.allow has no METADATA with a description (or make it _private)'])
  t.same(violations(tree({ 'app/api/api.rego': GOOD.replace('# METADATA\n# description: A package.\n', '') })),
    ['app/api/api.rego:1: metadata: package app.api has no METADATA block with a description'])
  t.same(violations(tree({ 'app/api/api.rego': GOOD.replace('package app.api\n', 'package app.api\n\nimport rego.v1\n') })),
    ['app/api/api.rego:5: import: import rego.v1 is redundant in OPA 1.0: remove it'])
  const parse = violations(tree({ 'app/api/api.rego': 'package app.api\n\nallow if {\n' }))
  t.equal(parse.length, 1)
  t.match(parse[0], /^app\/api\/api\.rego:\d+: parse: /)
})

t.test("a tenant's tests may sit beside its data", async (t) => {
  const tenant = `package erp_test

test_data if data.erp.x == 1
`
  t.same(violations(tree({ 'erp/data.yaml': 'x: 1\n', 'erp/acme_test.rego': tenant })), [])
  t.equal(violations(tree({ 'erp/acme_test.rego': tenant })).length, 1, 'without data beside it, it is misplaced')
})

t.test('violations make the report fail; no OPA is an error, never a pass', async (t) => {
  const dir = tree({ 'app/web/api.rego': GOOD })
  const report = lintReport(dir, lintRego(dir))
  t.equal(report.ok, false)
  t.match(report.output, /lint-rego: 1 violation\(s\) in /)
  const missing = (() => { try { lintRego(dir, join(root, 'no-opa')); return undefined } catch (err) { return err } })()
  t.ok(missing instanceof RegoLintError, String(missing))
})
