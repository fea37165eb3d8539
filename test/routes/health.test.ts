// /health is ready only while a policy is loaded; without one, decisions are 503
// (never an allow) and /health says why. A prebuilt bundle serves like a directory.
// /ready is 200 exactly while a policy is active (degraded included).
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { wasmBuildArgs } from '../../src/toolchain/compiler.js'
import { runOpa } from '../../src/toolchain/opa-cli.js'
import { buildApp, POLICY_DIR } from '../helpers/app.js'

const decideBody = { request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob' } }
const brokenPolicies = new URL('../fixtures/wasm-unsupported', import.meta.url).pathname

t.test('a policy that fails to load: 503 for health and decisions', async (t) => {
  const app = await buildApp({ policy: { dir: brokenPolicies, entrypoint: 'fixture/decision' } })
  t.teardown(() => app.close())

  const health = await app.inject({ method: 'GET', url: '/health' })
  t.equal(health.statusCode, 503)
  t.match(health.json(), { status: 'failed', policy: { state: 'failed', error: /time\.now_ns/ } })

  const res = await app.inject({ method: 'POST', url: '/v1/decide', payload: decideBody })
  t.equal(res.statusCode, 503)
  t.same(res.json(), { code: 'POLICY_NOT_LOADED', message: 'no policy is loaded yet' })

  const ready = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(ready.statusCode, 503, 'not ready without a policy')
  t.same(ready.json(), { ready: false })
})

t.test('a policy directory: ready, with source and load time', async (t) => {
  const app = await buildApp()
  t.teardown(() => app.close())
  const health = await app.inject({ method: 'GET', url: '/health' })
  t.equal(health.statusCode, 200)
  t.match(health.json(), { status: 'ready', policy: { state: 'ready', source: 'dir', revision: /^[0-9a-f]{12}$/, loadedAt: /Z$/ } })
  t.notOk('error' in health.json().policy)
  const ready = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { ready: true })
})

t.test('a verification key that cannot be used stops the start', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-key-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const notPem = join(dir, 'not.pem')
  await writeFile(notPem, 'not a key')
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a missing file', { bundleFile: 'b.tar.gz', verificationKey: join(dir, 'missing.pem') }, /\/policy\/verificationKey: cannot read .*missing\.pem/],
    ['not a PEM key', { bundleFile: 'b.tar.gz', verificationKey: notPem }, /\/policy\/verificationKey: .*not\.pem/]
  ]
  for (const [name, policy, message] of cases) {
    await t.rejects(buildApp({ policy }), { code: 'CONFIG_INVALID', message }, name)
  }
})

t.test('a bundle built by opa build serves decisions', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-bundle-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const bundleFile = join(dir, 'bundle.tar.gz')
  await runOpa(wasmBuildArgs('verdict/decision', bundleFile, 'release-42'), { cwd: POLICY_DIR })

  const app = await buildApp({ policy: { bundleFile } })
  t.teardown(() => app.close())
  const health = await app.inject({ method: 'GET', url: '/health' })
  t.equal(health.statusCode, 200)
  t.match(health.json(), { status: 'ready', policy: { revision: 'release-42', digest: /^sha256:[0-9a-f]{64}$/, source: 'file', verified: false, loadedAt: /^\d{4}-\d\d-\d\dT[\d:.]+Z$/ } })
  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200)

  const d = (await app.inject({ method: 'POST', url: '/v1/decide', payload: decideBody })).json()
  t.match(d, { allow: false, status: 401, policy: { revision: 'release-42' } }, 'the manifest revision names the policy')
})

t.test('a policy directory that does not exist (watched by default)', async (t) => {
  const app = await buildApp({ policy: { dir: '/nonexistent/policies' } })
  t.teardown(() => app.close())
  const health = await app.inject({ method: 'GET', url: '/health' })
  t.equal(health.statusCode, 503, 'the service starts and says why')
  t.match(health.json(), { status: 'failed', policy: { source: 'dir', error: /nonexistent/ } })
  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 503)
})

t.test('a bundle file that does not exist', async (t) => {
  const app = await buildApp({ policy: { bundleFile: '/nonexistent/bundle.tar.gz' } })
  t.teardown(() => app.close())
  const health = await app.inject({ method: 'GET', url: '/health' })
  t.equal(health.statusCode, 503)
  t.match(health.json(), { status: 'failed', policy: { error: /ENOENT/ } })
})
