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
import { knownEndpoints } from '../../src/engine/input.js'
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
  t.rejects(loadDecisionPolicy(bundle, 'fixture/missing', { isolate: {} }), { code: 'POLICY_BUNDLE_INVALID', message: /no entrypoint fixture\/missing/ })

  // The request path: the thread answers the WASM's JSON text, checked here the same way.
  const isolated = await loadDecisionPolicy(bundle, 'fixture/decision', { isolate: {} })
  t.teardown(() => isolated.close())
  for (const c of cases) {
    t.test(`${c.mode}, in the evaluator thread`, async (t) => {
      if (c.expect === 'error') {
        await t.rejects(isolated.decide(input(c.mode)), { code: 'POLICY_EVALUATION_FAILED', statusCode: 500, message: c.message })
        return
      }
      const result = await isolated.decide(input(c.mode))
      t.equal(result.allow, c.expect === 'allow')
      if (c.code) t.equal(result.reasons[0]?.code, c.code)
      if (c.expect === 'deny') t.same(result.rows, { kind: 'none' })
      t.same(isolated.evaluate(input(c.mode)), result, 'the in-thread instance, made when first asked, agrees')
    })
  }
})

t.test('the served policy: its thread holds the data and lists the endpoints; this thread only when a tool asks', async (t) => {
  const bundle = await compilePolicies({ dir: new URL('../../policies', import.meta.url).pathname, entrypoint: 'verdict/decision' })
  const policy = await loadDecisionPolicy(bundle, 'verdict/decision', { isolate: {} })
  t.teardown(() => policy.close())
  t.same([...policy.endpoints ?? []].sort(), [...knownEndpoints(JSON.parse(bundle.dataJson.toString('utf8'))) ?? ['none']].sort(), 'the endpoints the data names')
  t.equal(policy.dataJson.buffer instanceof SharedArrayBuffer, true, 'data.json is shared with the thread, not copied to it')
  t.equal(policy.dataJson.toString('utf8'), bundle.dataJson.toString('utf8'))
  // Allowed only through the data (an account's API role): a policy loaded without its data would deny.
  const payroll = {
    principal: { method: 'basic', idp: 'basic', subject: 'ACME||SVC_PAYROLL', erp_user: 'ACME||SVC_PAYROLL', roles: [], scopes: [] },
    action: 'retrieve',
    request: { method: 'GET', path: '/cmicprod/hcm-rest-api/rest/1/pyemployee' },
    endpoint: { env: 'cmicprod', module: 'hcm', version: '1', resource: 'pyemployee' }
  } as unknown as PolicyInput
  const decided = await policy.decide(payroll)
  t.equal(decided.allow, true, 'the thread has the data')
  t.same(policy.evaluate(payroll), decided, 'so has the in-thread instance, made from the shared copy')
  const unknown = { ...payroll, principal: { ...payroll.principal, subject: 'ACME||NOBODY', erp_user: 'ACME||NOBODY' } } as unknown as PolicyInput
  t.equal((await policy.decide(unknown)).allow, false)
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
  // data.json is checked by the load (in the evaluator thread when served), not while the bundle is read.
  const wasm = (await readBundle(await buildFixture())).wasm
  const notJson = assembleBundle(wasm, Buffer.from('{'), undefined)
  await t.rejects(loadDecisionPolicy(notJson, 'fixture/decision'), { code: 'POLICY_BUNDLE_INVALID', message: /data.json is not valid JSON/ })
  await t.rejects(loadDecisionPolicy(notJson, 'fixture/decision', { isolate: {} }), { code: 'POLICY_BUNDLE_INVALID', message: /data.json is not valid JSON/ })
  await t.rejects(loadDecisionPolicy(assembleBundle(wasm, Buffer.from('{"a":"\\ud800"}'), undefined), 'fixture/decision', { isolate: {} }),
    { code: 'POLICY_BUNDLE_INVALID', message: /does not load/ }, 'JSON that OPA cannot read (a lone surrogate) is refused too')
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
