// The engine adapter over a real WASM build: thrown strings and objects become
// typed errors, an undefined result is a deny, a malformed result is an error —
// no path through the adapter can be read as an allow.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { readBundle } from '../../src/bundle/bundle.js'
import { compilePolicies } from '../../src/toolchain/compiler.js'
import { runOpa } from '../../src/toolchain/opa-cli.js'
import { describe, loadDecisionPolicy } from '../../src/engine/policy.js'
import type { PolicyInput } from '../../src/engine/result.js'

const fixtures = new URL('../fixtures/', import.meta.url).pathname

// Built without the WASM capabilities file on purpose, so that the call to a
// built-in the runtime lacks reaches evaluation time.
async function buildFixture (): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-fixture-'))
  try {
    const out = join(dir, 'bundle.tar.gz')
    await runOpa(['build', '-t', 'wasm', '-e', 'fixture/decision', '-o', out, join(fixtures, 'adapter')])
    return await readFile(out)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const input = (mode: string): PolicyInput => ({ mode } as unknown as PolicyInput)

t.test('adapter', async (t) => {
  const bundle = await readBundle(await buildFixture())
  const policy = await loadDecisionPolicy(bundle, 'fixture/decision')

  t.match(policy.digest, /^sha256:[0-9a-f]{64}$/, 'digest is a sha256 of the content')
  t.equal(policy.revision, policy.digest.slice(7, 19), 'revision defaults to the short digest')

  const cases: Array<{ mode: string, expect: 'allow' | 'deny' | 'error', code?: string, message?: RegExp }> = [
    { mode: 'allow', expect: 'allow' },
    { mode: 'nothing-matches', expect: 'deny', code: 'policy_undefined' },
    { mode: 'malformed', expect: 'error', message: /no boolean allow/ },
    { mode: 'disagree', expect: 'error', message: /allow and status that disagree/ },
    { mode: 'conflict', expect: 'error', message: /conflict/i },
    { mode: 'builtin', expect: 'error', message: /time\.now_ns/ }
  ]
  for (const c of cases) {
    t.test(c.mode, async (t) => {
      if (c.expect === 'error') {
        t.throws(() => policy.evaluate(input(c.mode)), { code: 'POLICY_EVALUATION_FAILED', statusCode: 500, message: c.message })
        return
      }
      const result = policy.evaluate(input(c.mode))
      t.equal(result.allow, c.expect === 'allow')
      if (c.code) t.equal(result.reasons[0]?.code, c.code)
      if (c.expect === 'deny') t.same(result.rows, { kind: 'none' })
    })
  }

  t.rejects(loadDecisionPolicy(bundle, 'fixture/missing'), { code: 'POLICY_BUNDLE_INVALID', message: /no entrypoint fixture\/missing/ })
})

t.test('a policy calling a built-in the WASM runtime lacks fails the build', async (t) => {
  await t.rejects(compilePolicies({ dir: join(fixtures, 'wasm-unsupported'), entrypoint: 'fixture/decision' }),
    { code: 'POLICY_COMPILE_FAILED', message: /time\.now_ns/ })
})

t.test('describe() reads whatever opa-wasm throws', async (t) => {
  t.equal(describe('opa_abort: boom'), 'opa_abort: boom')
  t.equal(describe(new Error('e')), 'e')
  t.equal(describe({ message: 'not implemented: built-in function x' }), 'not implemented: built-in function x')
  t.equal(describe({ other: 1 }), '{"other":1}')
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  t.equal(describe(cyclic), '[object Object]')
})

t.test('bundles that cannot be used are refused with a reason', async (t) => {
  await t.rejects(readBundle(Buffer.from('not a tarball')), { code: 'POLICY_BUNDLE_INVALID' })
  const { assembleBundle } = await import('../../src/bundle/bundle.js')
  t.throws(() => assembleBundle(undefined, Buffer.from('{}'), undefined), { message: /no policy.wasm/ })
  t.throws(() => assembleBundle(Buffer.from('x'), Buffer.from('{'), undefined), { message: /data.json is not valid JSON/ })
  t.throws(() => assembleBundle(Buffer.from('x'), undefined, Buffer.from('nope')), { message: /.manifest is not valid JSON/ })
  const withRevision = assembleBundle(Buffer.from('x'), undefined, Buffer.from('{"revision":"abc123"}'))
  t.equal(withRevision.revision, 'abc123')
  await t.rejects(loadDecisionPolicy(withRevision, 'fixture/decision'), { code: 'POLICY_BUNDLE_INVALID', message: /does not load/ })
})

t.test('the digest depends on the policies, not on where they are checked out', async (t) => {
  const { cp } = await import('node:fs/promises')
  const elsewhere = await mkdtemp(join(tmpdir(), 'verdict-elsewhere-'))
  t.teardown(() => rm(elsewhere, { recursive: true, force: true }))
  const here = new URL('../../policies', import.meta.url).pathname
  await cp(here, join(elsewhere, 'somewhere', 'else'), { recursive: true })
  const a = await compilePolicies({ dir: here, entrypoint: 'verdict/decision' })
  const b = await compilePolicies({ dir: join(elsewhere, 'somewhere', 'else'), entrypoint: 'verdict/decision' })
  t.equal(a.digest, b.digest)
  t.notOk(a.wasm.includes(Buffer.from(here)), 'no absolute path inside policy.wasm')
})
