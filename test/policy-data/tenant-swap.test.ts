// Issue 11, item 4: the product policy stands apart from the tenant's data. The
// product's Rego tests (policies/verdict/**) use fixtures, so with another
// tenant's data in place of the example's — its own data and its own tests,
// test/policy-data/tenants/globex/erp — `verdict test` passes: formatting,
// strict check (data check included), tests, coverage of the policy files, the
// WASM build, the lint.
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { run as verdictTest } from '../../src/cli/policy-test.js'
import { POLICY_DIR } from '../helpers/app.js'
import { capture } from '../engine/helpers.js'

const GLOBEX = new URL('tenants/globex/erp', import.meta.url).pathname

t.setTimeout(240_000)

t.test('`verdict test` passes on the product policy with a second tenant\'s data', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-tenant-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await cp(join(POLICY_DIR, 'verdict'), join(dir, 'verdict'), { recursive: true })
  await cp(GLOBEX, join(dir, 'erp'), { recursive: true })
  t.same((await readdir(join(dir, 'erp'))).sort(), ['accounts', 'api', 'globex_test.rego', 'objects', 'security'], 'no ACME file came along')

  const r = await capture(verdictTest, ['--policies', dir])
  t.equal(r.code, 0, r.stdout + r.stderr)
  t.match(r.stdout, /opa test: \d+ passed, 0 failed/)
  t.match(r.stdout, /verdict test: all checks passed/)
  const coverage = /policy files: ([\d.]+)%/.exec(r.stdout)
  t.comment(`${/opa test: .*/.exec(r.stdout)?.[0] ?? ''}; policy files covered: ${coverage?.[1] ?? '?'}%`)
})
